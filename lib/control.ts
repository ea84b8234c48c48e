// The device and capability API as functions: setCapabilities(container, change) and
// friends, for callers who hold a container and a policy decision apart.
import { Container, type DevicePassthrough } from './container';
import type { DeviceNodeSpec } from './policy/nodes';
import { ContainerError, quote } from './errors';
import type { CapabilityChange, CapabilitySets } from './policy/capabilities';
import type { DeviceRuleInput } from './policy/devices';

function container(c: unknown): Container {
  if (!(c instanceof Container)) throw new ContainerError('ERR_INVALID_ARG', `expected a Container, got ${quote(c)}`);
  return c;
}

/** See Container.setCapabilities. */
export function setCapabilities(c: Container, change: CapabilityChange): CapabilitySets {
  return container(c).setCapabilities(change);
}

/** See Container.allowDevice. */
export async function allowDevice(c: Container, rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
  return container(c).allowDevice(rule);
}

/** See Container.denyDevice. */
export async function denyDevice(c: Container, rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
  return container(c).denyDevice(rule);
}

/** See Container.mknodInside. */
export async function mknodInside(c: Container, path: string, node: DeviceNodeSpec): Promise<void> {
  return container(c).mknodInside(path, node);
}
