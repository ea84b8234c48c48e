// The one reader of an OCI config.json (runtime-spec 1.x): each field it knows has
// one meaning here, used by the profile import (profile.ts) and the runtime command
// line (bundle.ts) alike. Strict: a value this library cannot carry out is refused
// by name, never dropped. Pure.
import { ContainerError, quote } from '../errors';
import { CAPABILITY_SET_NAMES, type CapabilitySets, normalizeCapability } from '../policy/capabilities';
import { DEFAULT_DEVICE_RULES, type DeviceRule, parseDeviceRule } from '../policy/devices';
import type { MountFlags, MountSpec, Propagation } from '../policy/mounts';
import { type DeviceNode, parseDeviceNode } from '../policy/nodes';
import type { RlimitSpec } from '../policy/process';
import { filterFromOci, type OciSeccomp, type SeccompSpec } from '../policy/seccomp';

export type Json = Record<string, unknown>;

export function unsupported(field: string, why = 'is not supported by this runtime'): never {
  throw new ContainerError('ERR_UNSUPPORTED', `config.json: ${field} ${why}`);
}

export function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_OCI_CONFIG', `config.json: ${message}`);
}

export function object(v: unknown, field: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) invalid(`${field} must be an object, got ${quote(v)}`);
  return v as Json;
}

export function array(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) invalid(`${field} must be an array, got ${quote(v)}`);
  return v;
}

export function strings(v: unknown, field: string): string[] {
  return array(v, field).map((s, i) => (typeof s === 'string' ? s : invalid(`${field}[${i}] must be a string, got ${quote(s)}`)));
}

/** True for a value that asks for nothing: absent, null, false, 0, '', [] or {} all the way down. */
export function empty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.every(empty);
  if (typeof v === 'object') return Object.values(v as Json).every(empty);
  return false;
}

/** Refuses every key of `o` not in `known`, unless its value asks for nothing. */
export function onlyKnown(o: Json, known: readonly string[], prefix: string): void {
  const extra = Object.entries(o).filter(([k, v]) => !known.includes(k) && !empty(v)).map(([k]) => `${prefix}${k}`);
  if (extra.length === 1) unsupported(extra[0]);
  if (extra.length > 1) unsupported(extra.join(', '), 'are not supported by this runtime');
}

/**
 * The properties the runtime spec (1.2) defines, by where they sit ("[]" for an array's
 * items). The spec says a runtime MUST ignore a property it does not define, and MUST
 * refuse a value it cannot apply: so a property outside this table is dropped with a
 * note before the config is read, and one inside it that this runtime does not take is
 * refused by name (onlyKnown). linux.seccomp is not here: its reader refuses what it
 * does not know, since a filter read in part is a weaker filter.
 */
const SPEC_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  '': ['ociVersion', 'process', 'root', 'hostname', 'domainname', 'mounts', 'hooks', 'annotations', 'linux', 'solaris', 'windows', 'vm', 'zos'],
  process: ['terminal', 'consoleSize', 'cwd', 'env', 'args', 'commandLine', 'rlimits', 'apparmorProfile', 'capabilities', 'noNewPrivileges',
    'oomScoreAdj', 'scheduler', 'selinuxLabel', 'ioPriority', 'execCPUAffinity', 'user'],
  'process.user': ['uid', 'gid', 'umask', 'additionalGids', 'username'],
  'process.consoleSize': ['height', 'width'],
  'process.capabilities': ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'],
  'process.rlimits[]': ['type', 'soft', 'hard'],
  root: ['path', 'readonly'],
  'mounts[]': ['destination', 'source', 'options', 'type', 'uidMappings', 'gidMappings'],
  hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
  linux: ['namespaces', 'uidMappings', 'gidMappings', 'timeOffsets', 'devices', 'netDevices', 'cgroupsPath', 'rootfsPropagation', 'seccomp',
    'sysctl', 'resources', 'intelRdt', 'personality', 'mountLabel', 'maskedPaths', 'readonlyPaths'],
  'linux.namespaces[]': ['type', 'path'],
  'linux.devices[]': ['type', 'path', 'major', 'minor', 'fileMode', 'uid', 'gid'],
  'linux.personality': ['domain', 'flags'],
  'linux.resources': ['devices', 'memory', 'cpu', 'blockIO', 'hugepageLimits', 'network', 'pids', 'rdma', 'unified'],
  'linux.resources.devices[]': ['allow', 'type', 'major', 'minor', 'access'],
  'linux.resources.memory': ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'],
  'linux.resources.cpu': ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems', 'idle'],
  'linux.resources.pids': ['limit'],
  'linux.resources.blockIO': ['weight', 'leafWeight', 'weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice',
    'throttleWriteIOPSDevice'],
};
for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
  (SPEC_PROPERTIES as Record<string, readonly string[]>)[`hooks.${kind}[]`] = ['path', 'args', 'env', 'timeout'];
}

/**
 * `value` (a config at `where`: '' for config.json, 'process' for an exec's process.json)
 * without the properties the runtime spec does not define, each named in `notes`. A copy:
 * the caller's object is left as it was.
 */
export function withoutNonSpecProperties(value: unknown, notes: string[], where = ''): unknown {
  const walk = (v: unknown, at: string, name: string): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${at}[]`, `${name}[${i}]`));
    const known = SPEC_PROPERTIES[at];
    if (!known || typeof v !== 'object' || v === null) return v;
    const out: Json = {};
    for (const [k, item] of Object.entries(v as Json)) {
      const field = name ? `${name}.${k}` : k;
      if (!known.includes(k)) {
        notes.push(`${field} is not a runtime-spec property: ignored, as the spec has runtimes do`);
        continue;
      }
      out[k] = walk(item, at ? `${at}.${k}` : k, field);
    }
    return out;
  };
  return walk(value, where, where);
}

/**
 * Reads a config with every refusal collected: `read` calls `section` around each
 * part whose refusal should not hide the next one's; if any part was refused, one
 * ERR_UNSUPPORTED names them all (a client then learns everything at once).
 */
export function collectRefusals<T>(read: (section: <S>(f: () => S, fallback: S) => S) => T): T {
  const refused: string[] = [];
  const section = <S>(f: () => S, fallback: S): S => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ContainerError) || e.code !== 'ERR_UNSUPPORTED') throw e;
      refused.push(e.message.replace(/^config\.json: /, ''));
      return fallback;
    }
  };
  const out = read(section);
  if (refused.length === 1) throw new ContainerError('ERR_UNSUPPORTED', `config.json: ${refused[0]}`);
  if (refused.length > 1) throw new ContainerError('ERR_UNSUPPORTED', `config.json: ${refused.length} fields are not supported by this runtime: ${refused.join('; ')}`);
  return out;
}

/**
 * Nesting deeper than any OCI document has is refused before the readers walk it (a
 * walk would overflow the stack with an uncoded RangeError). Iterative on purpose.
 */
export const MAX_JSON_DEPTH = 64;
export function checkJsonDepth(value: unknown, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > MAX_JSON_DEPTH) throw new ContainerError('ERR_INVALID_OCI_CONFIG', `${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/**
 * The filesystems an OCI config lists for every Linux container (/proc, /dev and its
 * pts, shm, mqueue, /sys read-only), with the options containerd writes. This runtime
 * makes them itself: in a config they are recognised by place and type, and skipped.
 */
export const OCI_SYSTEM_MOUNTS: readonly Readonly<OciMount>[] = Object.freeze([
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
].map((m) => Object.freeze(m)));

/** A system mount of a config: its place, and a type it is known by there (/dev/shm is a tmpfs, or "shm"). */
function isSystemMount(dest: string, type: string): boolean {
  return OCI_SYSTEM_MOUNTS.some((m) => m.destination === dest && (m.type === type || m.source === type));
}

/** Nodes the runtime makes in every /dev: a config's copy of one of them is redundant. */
const BUILTIN_NODES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx']);

const ATIME_OPTIONS = ['relatime', 'strictatime', 'noatime'] as const;
const PROPAGATION_OPTIONS: Record<string, Propagation> = {
  private: 'private', rprivate: 'private', slave: 'slave', rslave: 'slave', shared: 'shared', rshared: 'shared', unbindable: 'unbindable', runbindable: 'unbindable',
};
const BIND_OPTIONS = ['bind', 'rbind', 'ro', 'rw', 'nosuid', 'nodev', 'noexec', ...Object.keys(PROPAGATION_OPTIONS), ...ATIME_OPTIONS];
const TMPFS_FLAGS = ['nosuid', 'nodev', 'noexec', ...ATIME_OPTIONS, 'ro', 'rw', ...Object.keys(PROPAGATION_OPTIONS)];

/** The propagation a mount's options ask for, the last one winning as mount(8) applies them. */
function propagationOf(options: string[]): Propagation | undefined {
  const named = options.filter((o) => Object.hasOwn(PROPAGATION_OPTIONS, o));
  return named.length ? PROPAGATION_OPTIONS[named[named.length - 1]] : undefined;
}

// A cgroup view is always nosuid, nodev and noexec.
const CGROUP_OPTIONS = ['ro', 'rw', 'nosuid', 'nodev', 'noexec', ...ATIME_OPTIONS, 'private', 'rprivate', 'slave', 'rslave'];

/** The flags a mount's options name; each is applied (mount_setattr), none dropped. */
function mountFlags(options: string[], tmpfs: boolean): MountFlags {
  const flags: MountFlags = {};
  // A tmpfs is always nosuid and nodev here: the options say nothing more.
  for (const f of tmpfs ? ['noexec'] as const : ['nosuid', 'nodev', 'noexec'] as const) if (options.includes(f)) flags[f] = true;
  if (options.includes('ro')) flags.readonly = true;
  for (const a of ATIME_OPTIONS) if (options.includes(a)) flags.atime = a;
  return flags;
}

/**
 * `mounts`: binds and tmpfs as MountSpecs, every option applied or refused by name;
 * the system mounts are the runtime's own (only /sys's "ro" is carried: sysReadonly).
 * Any other filesystem type is refused.
 */
export function readMounts(config: Json): { mounts: MountSpec[]; sysReadonly: boolean; notes: string[] } {
  const mounts: MountSpec[] = [];
  const notes: string[] = [];
  let sysReadonly = true;
  // Each mount's refusal is named, not only the first's.
  collectRefusals((section) => array(config.mounts, 'mounts').forEach((raw, i) => section(() => {
    const m = object(raw, `mounts[${i}]`);
    onlyKnown(m, ['destination', 'type', 'source', 'options'], `mounts[${i}].`);
    const dest = m.destination;
    if (typeof dest !== 'string' || !dest.startsWith('/')) invalid(`mounts[${i}].destination must be an absolute path, got ${quote(dest)}`);
    const type = typeof m.type === 'string' ? m.type : '';
    const options = strings(m.options, `mounts[${i}].options`);
    const place = dest.replace(/\/+$/, '');
    if (isSystemMount(place, type)) {
      if (place === '/sys') sysReadonly = options.includes('ro');
      notes.push(`mounts[${i}] ${dest} (${type}) is the runtime's own, with its own options`);
      return;
    }
    if (type === 'bind' || options.includes('bind') || options.includes('rbind')) {
      if (typeof m.source !== 'string') invalid(`mounts[${i}].source must be a path, got ${quote(m.source)}`);
      // A filesystem's data options (mode=, size=...) mean nothing to a bind, as mount(2) ignores them there.
      for (const o of options.filter((x) => /^[a-z]+=/.test(x))) notes.push(`mounts[${i}].options "${o}" ignored: a bind mount takes no filesystem options`);
      const bad = options.find((o) => !BIND_OPTIONS.includes(o) && !/^[a-z]+=/.test(o));
      if (bad !== undefined) unsupported(`mounts[${i}].options "${bad}"`, `(bind mount of ${dest}) is not supported by this runtime`);
      const propagation = propagationOf(options);
      mounts.push({
        type: 'bind', source: m.source, destination: dest, ...mountFlags(options, false), ...(propagation ? { propagation } : {}),
        recursive: !options.includes('bind') || options.includes('rbind'),
      });
      return;
    }
    if (type === 'tmpfs') {
      let mode: number | undefined;
      let size: string | undefined;
      let copyUp = false;
      for (const o of options) {
        if (o.startsWith('mode=')) mode = parseInt(o.slice(5), 8);
        else if (o.startsWith('size=')) size = o.slice(5);
        else if (o === 'tmpcopyup') copyUp = true;
        else if (!TMPFS_FLAGS.includes(o)) unsupported(`mounts[${i}].options "${o}"`, `(tmpfs at ${dest}) is not supported by this runtime`);
      }
      const propagation = propagationOf(options);
      mounts.push({ type: 'tmpfs', destination: dest, ...mountFlags(options, true), ...(mode !== undefined ? { mode } : {}), ...(size ? { size } : {}), ...(copyUp ? { copyUp } : {}),
        ...(propagation ? { propagation } : {}) });
      return;
    }
    if (type === 'cgroup' || type === 'cgroup2') {
      // The container's own cgroups (runc's view on a v1 or hybrid host), read-only
      // unless the options say rw, as Docker and podman ask for it.
      const bad = options.find((o) => !CGROUP_OPTIONS.includes(o));
      if (bad !== undefined) unsupported(`mounts[${i}].options "${bad}"`, `(cgroup at ${dest}) is not supported by this runtime`);
      mounts.push({ type: 'cgroup', destination: dest, readonly: !options.includes('rw') });
      return;
    }
    unsupported(`mounts[${i}] (type ${quote(type)} at ${dest})`, 'is not supported by this runtime: it mounts bind, tmpfs and cgroup, and its own /proc, /sys and /dev');
  }, undefined)));
  return { mounts, sysReadonly, notes };
}

/**
 * `process.capabilities`: the five sets, each name checked; an absent set is empty.
 * An ambient capability that is not also permitted and inheritable is left out (with
 * a note), as runc leaves it: the kernel refuses to raise it, and runc goes on without
 * it (buildah sends ambient sets with an empty inheritable one).
 */
export function readCapabilities(proc: Json, notes: string[] = []): CapabilitySets {
  const caps = object(proc.capabilities, 'process.capabilities');
  onlyKnown(caps, CAPABILITY_SET_NAMES, 'process.capabilities.');
  const sets = Object.fromEntries(CAPABILITY_SET_NAMES.map((s) => [s, strings(caps[s], `process.capabilities.${s}`).map((n) => normalizeCapability(n))])) as Record<string, string[]>;
  const stray = sets.ambient.filter((c) => !sets.permitted.includes(c) || !sets.inheritable.includes(c));
  if (stray.length) {
    notes.push(`process.capabilities.ambient: ${stray.join(', ')} left out: not both permitted and inheritable, so the kernel would not raise them (as runc does)`);
    sets.ambient = sets.ambient.filter((c) => !stray.includes(c));
  }
  return Object.freeze(Object.fromEntries(CAPABILITY_SET_NAMES.map((s) => [s, Object.freeze(sets[s])]))) as unknown as CapabilitySets;
}

/** `process.rlimits`, as the spec's RlimitSpecs (checked there). */
export function readRlimits(proc: Json): RlimitSpec[] {
  return array(proc.rlimits, 'process.rlimits').map((raw, i) => {
    const l = object(raw, `process.rlimits[${i}]`);
    onlyKnown(l, ['type', 'soft', 'hard'], `process.rlimits[${i}].`);
    return { type: l.type as string, soft: l.soft as number, hard: l.hard as number };
  });
}

/**
 * `linux.resources.devices`: the rules in order, a missing type "a", missing or -1
 * numbers "*", missing access "rwm". What the container gets is these followed by the
 * runtime's standard rules (deviceRules below).
 */
export function readDeviceRules(resources: Json): DeviceRule[] {
  return array(resources.devices, 'linux.resources.devices').map((raw, i) => {
    const o = object(raw, `linux.resources.devices[${i}]`);
    onlyKnown(o, ['allow', 'type', 'major', 'minor', 'access'], `linux.resources.devices[${i}].`);
    if (typeof o.allow !== 'boolean') invalid(`linux.resources.devices[${i}].allow must be a boolean, got ${quote(o.allow)}`);
    const wildcard = (v: unknown) => (v === undefined || v === null || v === -1 ? '*' : v);
    return parseDeviceRule({ type: o.type ?? 'a', major: wildcard(o.major), minor: wildcard(o.minor), access: o.access ?? 'rwm', allow: o.allow });
  });
}

/**
 * The device rules a config gives its container: its own, then the runtime's standard
 * ones (the standard nodes, /dev/pts, and mknod of any node), as runc and crun append
 * theirs. Clients rely on it: podman's configs deny everything and list nothing more.
 */
export function deviceRules(resources: Json): DeviceRule[] {
  return [...readDeviceRules(resources), ...DEFAULT_DEVICE_RULES];
}

/**
 * `linux.devices`: the nodes to make, type "u" read as "c" (the spec's unbuffered
 * character device), each path once (the last wins), the runtime's own /dev nodes
 * skipped. Each comes with its rwm rule when the spec is resolved.
 */
export function readNodes(linux: Json): DeviceNode[] {
  // fileMode may carry the node's type bits too (podman sends st_mode whole), as runc takes it.
  const TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };
  const byPath = new Map<string, DeviceNode>();
  array(linux.devices, 'linux.devices').forEach((raw, i) => {
    const d = object(raw, `linux.devices[${i}]`);
    onlyKnown(d, ['path', 'type', 'major', 'minor', 'fileMode', 'uid', 'gid'], `linux.devices[${i}].`);
    if (typeof d.path === 'string' && BUILTIN_NODES.has(d.path)) return;
    const type = d.type === 'u' ? 'c' : d.type;
    let mode = d.fileMode ?? 0o666;
    if (typeof mode === 'number' && Number.isInteger(mode) && mode > 0o7777 && typeof d.type === 'string' && (mode & ~0o7777) === TYPE_BITS[d.type]) mode &= 0o7777;
    // A FIFO has no numbers; what a config gives for them is ignored, as runc ignores it.
    byPath.set(d.path as string, parseDeviceNode({ path: d.path, type, major: type === 'p' ? 0 : d.major, minor: type === 'p' ? 0 : d.minor,
      mode, uid: d.uid ?? 0, gid: d.gid ?? 0 }, `linux.devices[${i}]`, true));
  });
  return [...byPath.values()];
}

/** `process.noNewPrivileges`: a boolean, false when absent. */
export function readNoNewPrivileges(proc: Json): boolean {
  const v = proc.noNewPrivileges;
  if (v !== undefined && v !== null && typeof v !== 'boolean') invalid(`process.noNewPrivileges must be a boolean, got ${quote(v)}`);
  return v === true;
}

/** `process.env`: "NAME=value" strings. */
export function readEnv(proc: Json): string[] {
  const env = strings(proc.env, 'process.env');
  const bad = env.find((e) => !e.includes('=') || e.startsWith('='));
  if (bad !== undefined) invalid(`process.env entries look like "NAME=value", got ${quote(bad)}`);
  return env;
}

/** The part of a config a profile holds: the security policy of its process and of its Linux container. */
export interface OciPolicy {
  capabilities: CapabilitySets;
  noNewPrivileges: boolean;
  env: string[];
  mounts: MountSpec[];
  sysReadonly: boolean;
  devices: DeviceRule[];
  nodes: DeviceNode[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** linux.resources' limits, as they are (the spec's `resources` has their shape and checks them). */
  resources: Record<string, unknown>;
  /** linux.seccomp, checked; 'unconfined' when the config has none (as with runc). */
  seccomp: SeccompSpec;
  notes: string[];
}

/** Reads the policy part of a config; the rest of it is the caller's to read or refuse. */
export function readPolicy(config: Json): OciPolicy {
  const proc = object(config.process, 'process');
  const linux = object(config.linux, 'linux');
  const { mounts, sysReadonly, notes } = readMounts(config);
  return {
    capabilities: readCapabilities(proc, notes),
    noNewPrivileges: readNoNewPrivileges(proc),
    env: readEnv(proc),
    mounts,
    sysReadonly,
    devices: deviceRules(object(linux.resources, 'linux.resources')),
    nodes: readNodes(linux),
    maskedPaths: strings(linux.maskedPaths, 'linux.maskedPaths'),
    readonlyPaths: strings(linux.readonlyPaths, 'linux.readonlyPaths'),
    resources: readLimits(linux.resources),
    seccomp: readSeccomp(linux.seccomp),
    notes,
  };
}

/** linux.seccomp: checked in full by the filter's reader, kept as the config says it. */
function readSeccomp(value: unknown): SeccompSpec {
  if (value === undefined || value === null) return 'unconfined';
  filterFromOci(value, 'linux.seccomp');
  return value as OciSeccomp;
}

const LIMIT_KEYS = ['memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'unified'] as const;

/** linux.resources but its devices: the limits; any other resource (rdma, network) is refused by name. */
export function readLimits(value: unknown): Record<string, unknown> {
  const resources = object(value, 'linux.resources');
  onlyKnown(resources, ['devices', ...LIMIT_KEYS], 'linux.resources.');
  const out: Record<string, unknown> = {};
  for (const k of LIMIT_KEYS) if (resources[k] !== undefined && resources[k] !== null) out[k] = resources[k];
  return out;
}
