// Profiles: plain frozen data naming capabilities, device rules and the filesystem
// hardening of a container. The spec's own fields are applied on top.
import { type CapabilitySets, DOCKER_DEFAULT_CAPABILITIES } from './capabilities';
import { DEFAULT_DEVICE_RULES, type DeviceRule, PRIVILEGED_DEVICE_RULES } from './devices';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './paths';

export interface Profile {
  readonly name: string;
  /** 'ALL' in a set stands for every capability the kernel and this process have. */
  readonly capabilities: CapabilitySets;
  readonly devices: readonly DeviceRule[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysReadonly: boolean;
  readonly noNewPrivileges: boolean;
}

function sets(list: readonly string[]): CapabilitySets {
  return Object.freeze({ bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] });
}

export const ALL = 'ALL';

export const profiles = Object.freeze({
  /** The seed model: Docker's 14 capabilities (CAP_MKNOD included), create any node, use the whitelist. */
  default: Object.freeze<Profile>({
    name: 'default',
    capabilities: sets(DOCKER_DEFAULT_CAPABILITIES),
    devices: DEFAULT_DEVICE_RULES,
    maskedPaths: DEFAULT_MASKED_PATHS,
    readonlyPaths: DEFAULT_READONLY_PATHS,
    sysReadonly: true,
    noNewPrivileges: false,
  }),
  /** Every capability, every device, nothing masked, /sys writable. */
  privileged: Object.freeze<Profile>({
    name: 'privileged',
    capabilities: sets([ALL]),
    devices: PRIVILEGED_DEVICE_RULES,
    maskedPaths: Object.freeze([]),
    readonlyPaths: Object.freeze([]),
    sysReadonly: false,
    noNewPrivileges: false,
  }),
});

export type ProfileName = keyof typeof profiles;
