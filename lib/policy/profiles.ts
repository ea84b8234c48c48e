// Profiles: plain, frozen, JSON-serializable data naming a container's capabilities,
// device rules and filesystem hardening. defineProfile() composes them; the spec's
// own fields apply on top.
import { ContainerError, quote } from '../errors';
import { mergeResources, type ResourcesSpec } from './resources';
import { resolveSeccomp, type SeccompSpec } from './seccomp';
import { applyCapabilityChange, type CapabilitySets, DOCKER_DEFAULT_CAPABILITIES } from './capabilities';
import { DEFAULT_DEVICE_RULES, type DeviceRule, type DeviceRuleInput, PRIVILEGED_DEVICE_RULES, parseDeviceRules } from './devices';
import { type DeviceNode, type DeviceNodeInput, parseDeviceNodes } from './nodes';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, validatePathList } from './paths';
import { type MountSpec, validateMounts } from './mounts';

export interface Profile {
  readonly name: string;
  /** 'ALL' in a set stands for every capability the kernel and this process have. */
  readonly capabilities: CapabilitySets;
  /** Device cgroup rules, in order (see devices.ts for their meaning). */
  readonly devices: readonly DeviceRule[];
  /** Device nodes created in the rootfs at setup (each gets an rwm rule, as in runc). */
  readonly nodes: readonly DeviceNode[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly MountSpec[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysReadonly: boolean;
  readonly noNewPrivileges: boolean;
  /** Limits (the spec's `resources`); a spec's own replace them group by group. The named profiles have none, as Docker's. */
  readonly resources?: ResourcesSpec;
  /** The syscall filter (policy/seccomp.ts); 'default' when left out. */
  readonly seccomp?: SeccompSpec;
}

function sets(list: readonly string[]): CapabilitySets {
  return Object.freeze({ bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] });
}

const rules = (list: string[]) => Object.freeze(parseDeviceRules(list));

function profile(p: Profile): Profile {
  return Object.freeze({ ...p, env: Object.freeze({ ...p.env }), mounts: Object.freeze(p.mounts.map((m) => Object.freeze({ ...m }))) });
}

const base = {
  nodes: Object.freeze([]) as readonly DeviceNode[],
  env: {},
  mounts: [] as MountSpec[],
  maskedPaths: DEFAULT_MASKED_PATHS,
  readonlyPaths: DEFAULT_READONLY_PATHS,
  sysReadonly: true,
  noNewPrivileges: false,
};

/** systemd-nspawn's default capability set. */
const NSPAWN_CAPABILITIES = Object.freeze([
  'CAP_AUDIT_CONTROL', 'CAP_AUDIT_WRITE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER',
  'CAP_FSETID', 'CAP_IPC_OWNER', 'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MKNOD', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_RAW', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_NICE', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TTY_CONFIG',
]);

/** The devices every profile may use: null, zero, full, random, urandom, tty, console, ptmx, pts, tun. */
const WHITELIST = ['c 1:3', 'c 1:5', 'c 1:7', 'c 1:8', 'c 1:9', 'c 5:0', 'c 5:1', 'c 5:2', 'c 136:*', 'c 10:200'];

export const profiles = Object.freeze({
  /** The seed model: Docker's 14 capabilities (CAP_MKNOD included), create any node, use the whitelist. */
  default: profile({ name: 'default', capabilities: sets(DOCKER_DEFAULT_CAPABILITIES), devices: DEFAULT_DEVICE_RULES, ...base, seccomp: 'default' }),
  /** Every capability, every device, nothing masked, /sys writable. */
  privileged: profile({
    ...base, name: 'privileged', capabilities: sets(['ALL']), devices: PRIVILEGED_DEVICE_RULES,
    maskedPaths: [], readonlyPaths: [], sysReadonly: false, seccomp: 'unconfined',
  }),
  /** For systemd as init: no CAP_MKNOD (systemd then skips udev and device units), tmpfs /run, /run/lock, /tmp. */
  systemd: profile({
    ...base, name: 'systemd',
    capabilities: sets(DOCKER_DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD')),
    devices: DEFAULT_DEVICE_RULES,
    env: { container: 'nsbox' }, seccomp: 'default',
    mounts: ['/run', '/run/lock', '/tmp'].map((destination) => ({ type: 'tmpfs', destination, mode: destination === '/tmp' ? 0o1777 : 0o755 })),
  }),
  /** systemd-nspawn's closed device policy and capability set: no wildcard mknod. */
  nspawn: profile({
    ...base, name: 'nspawn', capabilities: sets(NSPAWN_CAPABILITIES),
    devices: rules(['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 10:200 rwm', 'c 136:* rw']),
    // The default filter, whose rules follow nspawn's capabilities (CAP_SYS_ADMIN opens
    // mount and unshare, as nspawn's own list does for a container that holds it).
    seccomp: 'default',
  }),
  /** No capabilities, no mknod at all, the whitelist read/write only, no_new_privs. */
  strict: profile({
    ...base, name: 'strict', capabilities: sets([]), devices: rules(WHITELIST.map((d) => `${d} rw`)), noNewPrivileges: true, seccomp: 'strict',
  }),
});

export type ProfileName = keyof typeof profiles;

export interface ProfileDefinition {
  name?: string;
  /** The profile to start from; 'default' when omitted. */
  extends?: ProfileName | Profile;
  /** Applied to bounding, effective and permitted (Docker's --cap-add/--cap-drop; 'ALL' works). */
  capabilities?: { add?: string[]; drop?: string[] };
  /** Rules appended to the base's: the allows, then the denies. */
  devices?: { allow?: DeviceRuleInput[]; deny?: DeviceRuleInput[] };
  nodes?: DeviceNodeInput[];
  env?: Record<string, string>;
  mounts?: MountSpec[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysReadonly?: boolean;
  noNewPrivileges?: boolean;
  /** Each group given (memory, cpu, pids, ...) replaces the base's. */
  resources?: ResourcesSpec;
  /** Replaces the base's filter. */
  seccomp?: SeccompSpec;
}

const DEFINITION_KEYS = new Set(['name', 'extends', 'capabilities', 'devices', 'nodes', 'env', 'mounts', 'maskedPaths',
  'readonlyPaths', 'sysReadonly', 'noNewPrivileges', 'resources', 'seccomp']);

function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_PROFILE', message);
}

/** A profile name or object, checked to have a profile's shape. */
export function resolveProfile(v: unknown): Profile {
  if (v === undefined) return profiles.default;
  if (typeof v === 'string') {
    if (Object.hasOwn(profiles, v)) return profiles[v as ProfileName];
    invalid(`unknown profile ${quote(v)}; known: ${Object.keys(profiles).join(', ')}`);
  }
  const p = v as Profile;
  if (typeof v !== 'object' || v === null || typeof p.name !== 'string' || typeof p.capabilities !== 'object' ||
      p.capabilities === null || !Array.isArray(p.devices) || !Array.isArray(p.nodes) || !Array.isArray(p.maskedPaths) ||
      !Array.isArray(p.readonlyPaths) || !Array.isArray(p.mounts) || typeof p.env !== 'object' || p.env === null ||
      typeof p.sysReadonly !== 'boolean' || typeof p.noNewPrivileges !== 'boolean' ||
      (p.resources !== undefined && (typeof p.resources !== 'object' || p.resources === null))) {
    invalid(`profile must be a profile name or a profile object (see defineProfile), got ${quote(v)}`);
  }
  return p;
}

/** Composes a profile from a base and changes; every field is validated. */
export function defineProfile(def: ProfileDefinition): Profile {
  if (typeof def !== 'object' || def === null) invalid(`defineProfile takes an object, got ${quote(def)}`);
  for (const key of Object.keys(def)) if (!DEFINITION_KEYS.has(key)) invalid(`unknown profile field ${quote(key)}`);
  const from = resolveProfile(def.extends ?? 'default');
  const name = def.name ?? `${from.name}+`;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.+-]{1,64}$/.test(name)) invalid(`name must be 1..64 of [A-Za-z0-9_.+-], got ${quote(name)}`);
  const bool = (v: unknown, what: string, dflt: boolean) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') invalid(`${what} must be a boolean, got ${quote(v)}`);
    return v;
  };
  let capabilities = from.capabilities;
  if (def.capabilities !== undefined) {
    const list = applyCapabilityChange(from.capabilities.bounding, def.capabilities);
    capabilities = Object.freeze({ ...from.capabilities, bounding: list, effective: list, permitted: list });
  }
  let devices = from.devices;
  if (def.devices !== undefined) {
    const d = def.devices as Record<string, unknown>;
    if (typeof d !== 'object' || d === null || Object.keys(d).some((k) => k !== 'allow' && k !== 'deny')) {
      throw new ContainerError('ERR_INVALID_DEVICE_RULE', `devices is { allow, deny }, got ${quote(def.devices)}`);
    }
    devices = [
      ...from.devices,
      ...(d.allow === undefined ? [] : parseDeviceRules(d.allow, 'devices.allow')),
      ...(d.deny === undefined ? [] : parseDeviceRules(d.deny, 'devices.deny').map((r) => Object.freeze({ ...r, allow: false }))),
    ];
  }
  if (def.env !== undefined && (typeof def.env !== 'object' || def.env === null || Array.isArray(def.env) ||
      Object.entries(def.env).some(([k, v]) => !k || k.includes('=') || k.includes('\0') || typeof v !== 'string' || v.includes('\0')))) {
    invalid(`env must map names without "=" to strings, got ${quote(def.env)}`);
  }
  return profile({
    name,
    capabilities,
    devices: Object.freeze(devices),
    nodes: def.nodes === undefined ? from.nodes : Object.freeze([...from.nodes, ...parseDeviceNodes(def.nodes)]),
    env: { ...from.env, ...def.env },
    mounts: def.mounts === undefined ? from.mounts : [...from.mounts, ...validateMounts(def.mounts)],
    maskedPaths: def.maskedPaths === undefined ? from.maskedPaths : Object.freeze(validatePathList(def.maskedPaths, 'maskedPaths')),
    readonlyPaths: def.readonlyPaths === undefined ? from.readonlyPaths : Object.freeze(validatePathList(def.readonlyPaths, 'readonlyPaths')),
    sysReadonly: bool(def.sysReadonly, 'sysReadonly', from.sysReadonly),
    noNewPrivileges: bool(def.noNewPrivileges, 'noNewPrivileges', from.noNewPrivileges),
    ...(def.resources !== undefined || from.resources !== undefined ? { resources: mergeResources(from.resources, def.resources) } : {}),
    // Checked now (with no capabilities: the form, not the rules a container gets).
    seccomp: def.seccomp === undefined ? from.seccomp ?? 'default' : (resolveSeccomp(def.seccomp, []), def.seccomp),
  });
}
