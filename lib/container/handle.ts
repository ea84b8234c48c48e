// A container's handle: what another process needs to take it over (attachContainer()),
// and its checks. A handle comes from a state file or a caller: every field is checked
// before anything is done through it.
import { lstatSync } from 'node:fs';
import { checkCgroupDirs, type CgroupDirs } from '../cgroup';
import { ContainerError, quote } from '../errors';
import type { DeviceBackend, HostInfo } from '../host';
import { type CapabilityLimits, type CapabilitySets, fromMask, resolveCapabilities } from '../policy/capabilities';
import { type DeviceRule, parseDeviceRule } from '../policy/devices';
import { profiles } from '../policy/profiles';
import { resolveResources, type ResourcesSpec } from '../policy/resources';
import { resolveSeccomp, type SeccompSpec } from '../policy/seccomp';
import { type HooksSpec, type ResolvedHooks, resolveHooks } from '../policy/hooks';
import { isContainerId, type NamespaceName, NAMESPACES, resolveUser } from '../spec';
import { holdsOpen } from './fifo';
import { isReservation } from '../userns-ranges';

/**
 * Everything another process needs to take over a container that outlives its
 * creator (attachContainer()). Plain JSON: store it where the container's manager
 * keeps its state.
 */
export interface ContainerHandle extends CgroupDirs {
  id: string;
  /** The init's host pid, and its start time (field 22 of /proc/<pid>/stat) against pid reuse. */
  pid: number;
  pidStartTime: string;
  namespaces: NamespaceName[];
  deviceBackend: DeviceBackend;
  /** The device rules in force, in order. */
  devices: DeviceRule[];
  capabilities: CapabilitySets;
  /** The limits in force; none when left out. */
  resources?: ResourcesSpec;
  /** OCI hooks still to run (startContainer, poststart, poststop), and the bundle and annotations their state names. */
  hooks?: HooksSpec;
  bundle?: string;
  annotations?: Record<string, string>;
  /** The syscall filter as the spec gave it ('default', 'strict', 'unconfined' or an OCI object); exec() applies it again. */
  seccomp?: SeccompSpec;
  user: { uid: number; gid: number; groups: number[] };
  /** The command's environment, the default of exec(). */
  env: string[];
  /** Present until the container is started. */
  startFifo: string | null;
  /** An 'auto' user namespace's reservation of its ids, released when the container goes. */
  idRange?: string;
}

export function handleError(message: string): never {
  throw new ContainerError('ERR_INVALID_ARG', `attachContainer(): ${message}`);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The form of every field, and the cgroup paths' (membership is checked once the init is known to run). */
export function checkHandle(handle: unknown, host: HostInfo, limits: CapabilityLimits) {
  if (typeof handle !== 'object' || handle === null) handleError(`a handle is an object, got ${quote(handle)}`);
  const h = handle as ContainerHandle;
  if (!isContainerId(h.id)) handleError(`bad id ${quote(h.id)}`);
  if (!Number.isInteger(h.pid) || h.pid <= 0) handleError(`bad pid ${quote(h.pid)}`);
  if (typeof h.pidStartTime !== 'string') handleError(`bad pidStartTime ${quote(h.pidStartTime)}`);
  if (h.deviceBackend !== 'v1' && h.deviceBackend !== 'v2') handleError(`bad deviceBackend ${quote(h.deviceBackend)}`);
  if (!Array.isArray(h.namespaces) || h.namespaces.some((n) => !(NAMESPACES as readonly string[]).includes(n) && n !== 'user')) {
    handleError(`bad namespaces ${quote(h.namespaces)}`);
  }
  if (!isStrings(h.env) || !Array.isArray(h.devices)) handleError('env must be an array of strings and devices an array');
  if (h.startFifo !== null && typeof h.startFifo !== 'string') handleError(`bad startFifo ${quote(h.startFifo)}`);
  if (h.idRange !== undefined && !isReservation(h.idRange)) handleError(`bad idRange ${quote(h.idRange)}`);
  checkCgroupDirs(h, host, handleError);
  const user = resolveUser(h.user ?? handleError('user is missing'));
  // A set the handle leaves out is the default profile's, as for a fresh container.
  const caps = resolveCapabilities(profiles.default.capabilities, h.capabilities, limits);
  const rules = h.devices.map((d) => parseDeviceRule(d));
  // A handle from before filters existed: its container has none.
  const seccompSpec = h.seccomp ?? 'unconfined';
  try {
    resolveSeccomp(seccompSpec, fromMask(caps.bounding));
  } catch (e) {
    return handleError(`bad seccomp: ${(e as Error).message}`);
  }
  let resources: ResourcesSpec;
  try {
    resources = resolveResources(h.resources ?? {});
  } catch (e) {
    return handleError(`bad resources: ${(e as Error).message}`);
  }
  let hooks: ResolvedHooks;
  try {
    hooks = resolveHooks(h.hooks);
  } catch (e) {
    return handleError(`bad hooks: ${(e as Error).message}`);
  }
  if (h.bundle !== undefined && typeof h.bundle !== 'string') handleError(`bad bundle ${quote(h.bundle)}`);
  if (h.annotations !== undefined && (typeof h.annotations !== 'object' || h.annotations === null || Object.values(h.annotations).some((v) => typeof v !== 'string'))) {
    handleError('bad annotations');
  }
  return { handle: h, user, caps, rules, resources, seccompSpec, hooks, bundle: h.bundle ?? '/', annotations: { ...h.annotations } };
}

/** The FIFO the init waits on, not any file the handle names (start() writes to it, destroy() removes it). */
export function checkStartFifo(fifo: string | null, pid: number): void {
  if (fifo === null) return;
  const st = lstatSync(fifo, { throwIfNoEntry: false });
  if (st && (!st.isFIFO() || !holdsOpen(pid, fifo))) handleError(`bad startFifo ${quote(fifo)}: not the FIFO pid ${pid} waits on`);
}
