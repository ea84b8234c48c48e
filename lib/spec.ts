// The container spec: its type, and its validation into a fully resolved config.
// Pure: the host's limits come in as an argument, nothing touches the system.
import { ContainerError, quote } from './errors';
import { type CapabilityLimits, type CapabilityMasks, type CapabilitySets, fromMask, resolveCapabilities } from './policy/capabilities';
import { type DeviceRule, type DeviceRuleInput, parseDeviceRules } from './policy/devices';
import { type MountSpec, type ResolvedMount, resolveMount, resolveRootfsPropagation, type RootfsPropagation } from './policy/mounts';
import { type DeviceNode, nodeRule } from './policy/nodes';
import { onlyKnownKeys, own } from './policy/fields';
import { validatePath } from './policy/paths';
import { type ResolvedRlimit, type ResolvedSysctl, resolveCgroupPath, resolveCgroupPathFrom, resolveRlimits, resolveSysctls, type RlimitSpec } from './policy/process';
import { type Profile, type ProfileName, resolveProfile } from './policy/profiles';
import { mergeResources, type ResourcesSpec } from './policy/resources';
import { resolveSeccomp, type SeccompSpec } from './policy/seccomp';
import { type HooksSpec, type ResolvedHooks, resolveHooks } from './policy/hooks';
import { type ResolvedUserns, resolveUserns, type UsernsSpec } from './policy/userns';

/** 'user' is never named in `namespaces`: the spec's `userns` asks for it, with its maps. */
export type NamespaceName = 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'user';
/**
 * The namespaces a container can join by path. A joined mount namespace (another
 * container's, or one a tool made) gets the container's root pivoted in it as its own
 * would; the creator's own mount namespace is refused, since that would pivot the host.
 */
export type JoinableNamespace = 'mount' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'pid';
export const JOINABLE_NAMESPACES: readonly JoinableNamespace[] = ['mount', 'uts', 'ipc', 'net', 'cgroup', 'pid'];
export const NAMESPACES: readonly NamespaceName[] = ['mount', 'pid', 'uts', 'ipc', 'net', 'cgroup'];
export const DEFAULT_NAMESPACES: readonly NamespaceName[] = NAMESPACES;

export interface UserSpec {
  uid: number;
  gid?: number;
  groups?: number[];
}

export type StdioMode = 'pipe' | 'inherit' | 'ignore';

export interface ContainerSpec {
  /** argv of the container's process; a name without '/' is looked up in the container's PATH. */
  command: string[];
  /** [A-Za-z0-9_.-], 1..64 characters; random when omitted. */
  id?: string;
  profile?: ProfileName | Profile;
  /**
   * A directory, or { host: true }: the host's own filesystem, read-only, with fresh
   * /dev, /proc, /sys, /tmp, /run, and the paths in `hide` (HOST_HIDDEN_PATHS by
   * default) masked: an empty directory, or /dev/null for a file.
   */
  rootfs?: string | HostRootfs;
  env?: Record<string, string> | string[];
  cwd?: string;
  hostname?: string;
  /** The NIS domain name of the container's uts namespace (OCI domainname); the host's is kept when omitted without one. */
  domainname?: string;
  /** The execution domain the command starts in (OCI linux.personality): 'LINUX32' makes uname report i686. */
  personality?: 'LINUX' | 'LINUX32';
  user?: UserSpec;
  namespaces?: NamespaceName[];
  /**
   * A user namespace: the container's root is an unprivileged id of the host. 'auto'
   * takes a free range of 65536 ids (the caller's /etc/subuid and /etc/subgid entries,
   * else the library's pool, NSBOX_USERNS_POOL="start:count"), or give the maps. Device
   * nodes are then the host's, bound at the same path (the kernel lets no one make a
   * node in a user namespace), and mknod inside fails whatever the capabilities.
   */
  userns?: UsernsSpec;
  mounts?: MountSpec[];
  readonlyRootfs?: boolean;
  /**
   * The root mount's propagation (OCI linux.rootfsPropagation): 'rslave' by default, so
   * the host's new mounts reach the container and nothing goes back; 'private' cuts both
   * ways; 'shared' adds a peer group of the container's own (its mounts propagate between
   * its own bind mounts, never to the host); 'unbindable'. Each with or without "r"
   * (recursive), as OCI spells them.
   */
  rootfsPropagation?: RootfsPropagation;
  stdio?: StdioMode;
  signal?: AbortSignal;
  /** Replaces the named sets of the profile. */
  capabilities?: Partial<CapabilitySets>;
  /** Device cgroup rules appended to the profile's (like docker --device-cgroup-rule). */
  devices?: DeviceRuleInput[];
  noNewPrivileges?: boolean;
  /** The command's umask (OCI process.user.umask), 0..0o777; 0o022 when omitted. */
  umask?: number;
  /** Which device cgroup enforces the rules: 'auto' picks cgroup2 (BPF) when the host has it. */
  deviceBackend?: 'auto' | 'v1' | 'v2';
  /** Resource limits set before the command runs (raising a hard limit needs CAP_SYS_RESOURCE here). */
  rlimits?: RlimitSpec[];
  /** Namespaced sysctls ("net.ipv4.ip_forward": "1"), written in the container's own namespaces. */
  sysctl?: Record<string, string>;
  /** The cgroup directory below each hierarchy's root (OCI linux.cgroupsPath); "nsbox/<id>" by default. */
  cgroupPath?: string;
  /**
   * Where `cgroupPath` starts: 'root' (each hierarchy's root, the default) or 'self', the
   * creating process's own cgroup in each hierarchy, as a relative OCI linux.cgroupsPath is
   * read (a service confined to its cgroup puts its containers below it).
   */
  cgroupPathFrom?: 'root' | 'self';
  /**
   * Existing namespaces to join instead of making new ones (OCI linux.namespaces[].path),
   * e.g. { net: '/proc/1234/ns/net' } for a pod's shared network. A namespace joined is
   * not also in `namespaces`.
   */
  joinNamespaces?: Partial<Record<JoinableNamespace, string>>;
  /**
   * A pty for the command, allocated inside the container: its master is sent (SCM_RIGHTS)
   * over the unix socket at consoleSocket, /dev/console is the slave, and so are fds 0..2.
   */
  terminal?: { consoleSocket: string };
  /**
   * The container outlives its creator: its init is not tied to the creating process,
   * and it is started by writing a byte to startFifo (which createContainer makes, and
   * which must not exist), from this or any other process: see Container.handle and
   * attachContainer().
   */
  detached?: { startFifo: string };
  /**
   * The syscall filter: 'default' (the default profile's, Docker's semantics), 'strict'
   * (tighter), 'unconfined', or an OCI linux.seccomp object; the profile's when
   * omitted. Its capability-conditional rules follow the bounding set at start.
   */
  seccomp?: SeccompSpec;
  /**
   * OCI hooks: prestart and createRuntime run once the container's namespaces and
   * mounts exist, before createContainer() resolves; startContainer inside the
   * container before its command; poststart after start(); poststop after destroy().
   * Each gets the container's state as JSON on its stdin.
   */
  hooks?: HooksSpec;
  /** The bundle directory and annotations the hooks' state names (the command line's; the rootfs's directory otherwise). */
  bundle?: string;
  annotations?: Record<string, string>;
  /** The command's oom_score_adj, -1000..1000 (OCI process.oomScoreAdj); the creator's when omitted. Lowering it needs CAP_SYS_RESOURCE. */
  oomScoreAdj?: number;
  /**
   * Limits, shaped like OCI linux.resources (memory, cpu, pids, blockIO,
   * hugepageLimits, unified), each written to the controller wherever the host has it
   * (cgroup2 or its v1 hierarchy); one the host cannot enforce is an error.
   */
  resources?: ResourcesSpec;
}

export interface HostRootfs {
  host: true;
  hide?: string[];
}

/**
 * What the host's read-only view hides unless told otherwise: password hashes, host
 * keys, users' and root's homes, and the state of other container runtimes (their
 * containers' root filesystems). /tmp, /run (this library's own state), /proc, /sys
 * and /dev are fresh ones anyway.
 */
export const HOST_HIDDEN_PATHS: readonly string[] = Object.freeze([
  '/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/security/opasswd', '/etc/ssh', '/etc/ssl/private',
  '/etc/kubernetes', '/var/backups', '/root', '/home',
  '/var/lib/docker', '/var/lib/containerd', '/var/lib/containers', '/var/lib/kubelet', '/var/lib/lxc', '/var/lib/machines',
]);

export interface ResolvedSpec {
  id: string;
  profile: Profile;
  argv: string[];
  execCandidates: string[];
  env: string[];
  cwd: string;
  hostname: string;
  domainname: string;
  personality: 'LINUX' | 'LINUX32' | null;
  uid: number;
  gid: number;
  groups: number[];
  namespaces: NamespaceName[];
  joinNamespaces: { type: JoinableNamespace; path: string }[];
  /** 'auto' until create finds the range. */
  userns: ResolvedUserns | 'auto' | null;
  rootfs: { host: true; hide: string[] } | { path: string };
  mounts: ResolvedMount[];
  readonlyRootfs: boolean;
  rootfsPropagation: RootfsPropagation;
  stdio: StdioMode;
  caps: CapabilityMasks;
  devices: DeviceRule[];
  nodes: DeviceNode[];
  noNewPrivileges: boolean;
  umask: number;
  deviceBackend: 'auto' | 'v1' | 'v2';
  rlimits: ResolvedRlimit[];
  sysctl: ResolvedSysctl[];
  cgroupPath: string;
  cgroupPathFrom: 'root' | 'self';
  terminal: { consoleSocket: string } | null;
  detached: { startFifo: string } | null;
  oomScoreAdj: number | null;
  resources: ResourcesSpec;
  /** The spec's (or profile's) `seccomp` as given (checked here; built for the capabilities the container starts with). */
  seccompSpec: SeccompSpec;
  hooks: ResolvedHooks;
  bundle: string;
  annotations: Record<string, string>;
}

const SPEC_KEYS = new Set([
  'command', 'id', 'profile', 'rootfs', 'env', 'cwd', 'hostname', 'domainname', 'personality', 'user', 'namespaces', 'mounts', 'readonlyRootfs', 'rootfsPropagation',
  'stdio', 'signal', 'capabilities', 'devices', 'noNewPrivileges', 'umask', 'deviceBackend', 'rlimits', 'sysctl', 'cgroupPath', 'cgroupPathFrom',
  'terminal', 'detached', 'joinNamespaces', 'userns', 'oomScoreAdj', 'resources', 'seccomp', 'hooks', 'bundle', 'annotations',
]);
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** A container id: names its cgroup directories and state, so never "." or "..". */
export function isContainerId(v: unknown): v is string {
  return typeof v === 'string' && ID_RE.test(v) && v !== '.' && v !== '..';
}
const MAX_ID = 2 ** 32 - 2;

function fail(code: string, message: string): never {
  throw new ContainerError(code, message);
}


export function resolveBool(v: unknown, what: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail('ERR_INVALID_SPEC', `${what} must be a boolean, got ${quote(v)}`);
  return v;
}

function id32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ID) {
    fail('ERR_INVALID_SPEC', `${what} must be an integer 0..${MAX_ID}, got ${quote(v)}`);
  }
  return v;
}

/** The kernel's MAX_ARG_STRLEN: execve fails with E2BIG on a longer argument or env string. */
export const MAX_ARG_BYTES = 131072;

function fitsExecve(s: string): boolean {
  return s.length < MAX_ARG_BYTES / 3 || Buffer.byteLength(s) < MAX_ARG_BYTES;
}

export function resolveCommand(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 65536) {
    fail('ERR_INVALID_COMMAND', `command must be a non-empty array of strings, got ${quote(v)}`);
  }
  for (const a of v) {
    if (typeof a !== 'string' || a.includes('\0')) fail('ERR_INVALID_COMMAND', `command arguments are strings without NUL, got ${quote(a)}`);
    if (!fitsExecve(a)) fail('ERR_INVALID_COMMAND', `a command argument of ${Buffer.byteLength(a)} bytes is more than execve takes (${MAX_ARG_BYTES - 1}: E2BIG)`);
  }
  if (v[0] === '') fail('ERR_INVALID_COMMAND', 'command[0] must not be empty');
  return [...v];
}

export function resolveEnvList(v: unknown): string[] {
  if (v === undefined) return [];
  const entries: [string, unknown][] = Array.isArray(v)
    ? v.map((e) => {
      if (typeof e !== 'string' || !e.includes('=')) fail('ERR_INVALID_SPEC', `env entries look like "NAME=value", got ${quote(e)}`);
      const i = e.indexOf('=');
      return [e.slice(0, i), e.slice(i + 1)];
    })
    : typeof v === 'object' && v !== null ? Object.entries(v) : fail('ERR_INVALID_SPEC', `env must be an object or an array, got ${quote(v)}`);
  return entries.map(([k, val]) => {
    if (!k || k.includes('=') || k.includes('\0') || typeof val !== 'string' || val.includes('\0')) {
      fail('ERR_INVALID_SPEC', `env ${quote(k)} must map a name without "=" to a string without NUL, got ${quote(val)}`);
    }
    if (!fitsExecve(`${k}=${val}`)) fail('ERR_INVALID_SPEC', `env ${quote(k)} is more than execve takes (${MAX_ARG_BYTES - 1} bytes: E2BIG)`);
    return `${k}=${val}`;
  });
}

function namespaces(v: unknown): NamespaceName[] {
  if (v === undefined) return [...DEFAULT_NAMESPACES];
  if (!Array.isArray(v)) fail('ERR_INVALID_SPEC', `namespaces must be an array, got ${quote(v)}`);
  for (const n of v) {
    if (n === 'user') fail('ERR_UNSUPPORTED', 'user namespaces are not supported yet');
    if (!(NAMESPACES as readonly unknown[]).includes(n)) {
      fail('ERR_INVALID_SPEC', `unknown namespace ${quote(n)}; known: ${NAMESPACES.join(', ')}`);
    }
  }
  return [...new Set(v as NamespaceName[])];
}

/** { uid, gid, groups }: gid defaults to uid, groups to none. */
export function resolveUser(user: unknown): { uid: number; gid: number; groups: number[] } {
  if (user === undefined) return { uid: 0, gid: 0, groups: [] };
  if (typeof user !== 'object' || user === null) fail('ERR_INVALID_SPEC', `user must be { uid, gid, groups }, got ${quote(user)}`);
  onlyKnownKeys(user, ['uid', 'gid', 'groups'], 'user', 'ERR_INVALID_SPEC');
  const uid = id32(own(user, 'uid'), 'user.uid');
  const gid = own(user, 'gid') === undefined ? uid : id32(own(user, 'gid'), 'user.gid');
  const g = own(user, 'groups') ?? [];
  if (!Array.isArray(g) || g.length > 65536) fail('ERR_INVALID_SPEC', `user.groups must be an array, got ${quote(g)}`);
  return { uid, gid, groups: g.map((x, i) => id32(x, `user.groups[${i}]`)) };
}

/** PATH and HOME as a shell would expect them, unless the environment sets them. */
export function withDefaultEnv(env: string[], uid: number): string[] {
  const has = (name: string) => env.some((e) => e.startsWith(`${name}=`));
  return [...(has('PATH') ? [] : [`PATH=${DEFAULT_PATH}`]), ...(has('HOME') ? [] : [`HOME=${uid === 0 ? '/root' : '/'}`]), ...env];
}

export function resolveStdio(v: unknown): StdioMode {
  const stdio = v ?? 'pipe';
  if (stdio !== 'pipe' && stdio !== 'inherit' && stdio !== 'ignore') {
    fail('ERR_INVALID_SPEC', `stdio must be "pipe", "inherit" or "ignore", got ${quote(stdio)}`);
  }
  return stdio;
}

/** `{ [field]: an absolute path }` under `key`, or null when absent. */
function pathObject(v: unknown, key: string, field: string): Record<string, string> | null {
  if (v === undefined) return null;
  const p = typeof v === 'object' && v !== null ? own(v, field) : undefined;
  if (typeof p !== 'string' || !p.startsWith('/')) fail('ERR_INVALID_SPEC', `${key} must be { ${field}: an absolute path }, got ${quote(v)}`);
  onlyKnownKeys(v as object, [field], key, 'ERR_INVALID_SPEC');
  return { [field]: validatePath(p, `${key}.${field}`) };
}

export function resolveTerminal(v: unknown): { consoleSocket: string } | null {
  return pathObject(v, 'terminal', 'consoleSocket') as { consoleSocket: string } | null;
}

/** Absolute paths execve will try, in order, inside the container (execvp's search, done before clone). */
export function execCandidates(file: string, env: string[]): string[] {
  if (file.includes('/')) return [file];
  const pathEntry = [...env].reverse().find((e) => e.startsWith('PATH='));
  const dirs = (pathEntry ? pathEntry.slice(5) : DEFAULT_PATH).split(':');
  return dirs.map((d) => `${d === '' ? '.' : d.replace(/\/$/, '')}/${file}`);
}

/** The id as a hostname: ids may hold "_", hostnames may not. */
function defaultHostname(id: string): string {
  return id.replace(/[^A-Za-z0-9.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'nsbox';
}

// Random bytes are drawn 4 KiB at a time: one getRandomValues call per id cost more
// than the rest of the spec's validation.
const idPool = new Uint8Array(4096);
let idPoolUsed = idPool.length;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export function randomId(): string {
  if (idPoolUsed + 6 > idPool.length) {
    crypto.getRandomValues(idPool);
    idPoolUsed = 0;
  }
  let id = '';
  for (let i = 0; i < 6; i++) id += HEX[idPool[idPoolUsed++]];
  return id;
}

/**
 * What a user namespace needs of the rest: /proc, /sys and /dev/mqueue are mounted in
 * pid, network and ipc namespaces the user namespace owns, so those are new; a joined
 * namespace belongs to another user namespace, where the container's root has no say.
 * On the host's rootfs, CAP_SYS_ADMIN would let the container unmount its fresh /proc,
 * /sys or /dev and find the host's below (the kernel keeps those locked under ours, not
 * gone): refused rather than given.
 */
function checkUsernsSpec(ns: readonly NamespaceName[], joined: readonly { type: string }[], rootfs: ResolvedSpec['rootfs'], caps: CapabilityMasks): void {
  const missing = (['mount', 'pid', 'net', 'ipc'] as const).filter((n) => !ns.includes(n));
  if (missing.length) fail('ERR_INVALID_SPEC', `userns needs new ${missing.join(', ')} namespaces: /proc, /sys and /dev/mqueue are mounted in namespaces the user namespace owns`);
  if (joined.length) fail('ERR_UNSUPPORTED', `userns with joinNamespaces (${joined.map((j) => j.type).join(', ')}) is not supported: a joined namespace belongs to another user namespace`);
  if ('host' in rootfs && (caps.bounding & (1n << 21n)) !== 0n) {
    fail('ERR_UNSUPPORTED', 'userns on the host\'s rootfs needs CAP_SYS_ADMIN out of the bounding set: with it the container could unmount its own /proc, /sys or /dev and see the host\'s below');
  }
}

/** Validates `spec` completely; throws ContainerError before anything exists. */
export function resolveSpec(spec: unknown, limits: CapabilityLimits): ResolvedSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    fail('ERR_INVALID_SPEC', `the container spec must be an object, got ${quote(spec)}`);
  }
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) fail('ERR_INVALID_SPEC', `unknown spec field ${quote(key)}`);
  }
  const s = spec as Record<string, unknown>;
  const argv = resolveCommand(own(s, 'command'));
  const idValue = own(s, 'id') ?? randomId();
  if (!isContainerId(idValue)) {
    fail('ERR_INVALID_SPEC', `id must match ${ID_RE}, got ${quote(idValue)}`);
  }
  const prof = resolveProfile(own(s, 'profile'));

  const rootfsValue = own(s, 'rootfs') ?? { host: true };
  let rootfs: ResolvedSpec['rootfs'];
  if (typeof rootfsValue === 'object' && rootfsValue !== null && own(rootfsValue, 'host') === true) {
    onlyKnownKeys(rootfsValue, ['host', 'hide'], 'rootfs', 'ERR_INVALID_ROOTFS');
    const hide = own(rootfsValue, 'hide') ?? HOST_HIDDEN_PATHS;
    if (!Array.isArray(hide) || hide.length > 1024) fail('ERR_INVALID_ROOTFS', `rootfs.hide must be an array of paths, got ${quote(hide)}`);
    rootfs = { host: true, hide: hide.map((p, i) => validatePath(p, `rootfs.hide[${i}]`)) };
  } else if (typeof rootfsValue === 'string') {
    if (!rootfsValue.startsWith('/')) fail('ERR_INVALID_ROOTFS', `rootfs must be an absolute path, got ${quote(rootfsValue)}`);
    rootfs = { path: validatePath(rootfsValue, 'rootfs') };
    if (rootfs.path === '/') fail('ERR_INVALID_ROOTFS', 'rootfs "/" is the host itself; use { host: true } for its read-only view');
  } else fail('ERR_INVALID_ROOTFS', `rootfs must be a directory path or { host: true }, got ${quote(rootfsValue)}`);

  const { uid, gid, groups } = resolveUser(own(s, 'user'));

  const env = withDefaultEnv([...Object.entries(prof.env).map(([k, v]) => `${k}=${v}`), ...resolveEnvList(own(s, 'env'))], uid);

  const mountsValue = own(s, 'mounts') ?? [];
  if (!Array.isArray(mountsValue) || mountsValue.length > 1024) fail('ERR_INVALID_MOUNT', `mounts must be an array, got ${quote(mountsValue)}`);
  const stdio = resolveStdio(own(s, 'stdio'));
  const signal = own(s, 'signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) fail('ERR_INVALID_SPEC', `signal must be an AbortSignal, got ${quote(signal)}`);
  const backend = own(s, 'deviceBackend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'v1' && backend !== 'v2') {
    fail('ERR_INVALID_SPEC', `deviceBackend must be "auto", "v1" or "v2", got ${quote(backend)}`);
  }
  const extraDevices = own(s, 'devices');
  const ns = namespaces(own(s, 'namespaces'));
  const joinValue = own(s, 'joinNamespaces') ?? {};
  if (typeof joinValue !== 'object' || joinValue === null || Array.isArray(joinValue)) {
    fail('ERR_INVALID_SPEC', `joinNamespaces must be an object of namespace: path, got ${quote(joinValue)}`);
  }
  const joinNamespaces = Object.entries(joinValue).map(([type, path]) => {
    if (!(JOINABLE_NAMESPACES as readonly string[]).includes(type)) {
      fail('ERR_UNSUPPORTED', `joinNamespaces.${type}: only ${JOINABLE_NAMESPACES.join(', ')} namespaces can be joined`);
    }
    if (ns.includes(type as NamespaceName)) fail('ERR_INVALID_SPEC', `namespace ${type} is both new (namespaces) and joined (joinNamespaces)`);
    if (typeof path !== 'string' || !path.startsWith('/')) fail('ERR_INVALID_SPEC', `joinNamespaces.${type} must be an absolute path, got ${quote(path)}`);
    return { type: type as JoinableNamespace, path: validatePath(path, `joinNamespaces.${type}`) };
  });
  if (!ns.includes('mount') && !joinNamespaces.some((j) => j.type === 'mount')) {
    fail('ERR_INVALID_SPEC', 'namespaces must include "mount" (or joinNamespaces name one): the rootfs is pivoted in it');
  }
  // Set in a uts namespace of the container's own (the id by default), or in a joined one
  // when the spec names it (never the creator's own: the addon checks).
  const joinsUts = joinNamespaces.some((j) => j.type === 'uts');
  const hostname = own(s, 'hostname') ?? (joinsUts ? '' : defaultHostname(idValue));
  if (typeof hostname !== 'string' || (hostname !== '' || !joinsUts) && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?$/.test(hostname)) {
    fail('ERR_INVALID_SPEC', `hostname must be 1..64 letters, digits, "." or "-", got ${quote(hostname)}`);
  }
  const terminal = resolveTerminal(own(s, 'terminal'));
  const detached = pathObject(own(s, 'detached'), 'detached', 'startFifo') as { startFifo: string } | null;

  const caps = resolveCapabilities(prof.capabilities, own(s, 'capabilities'), limits);
  const userns = resolveUserns(own(s, 'userns'), { uid, gid, groups });
  if (userns) checkUsernsSpec(ns, joinNamespaces, rootfs, caps);
  const mounts = [...prof.mounts, ...mountsValue].map((m, i) => resolveMount(m, i < prof.mounts.length
    ? `profile ${prof.name} mounts[${i}]` : `mounts[${i - prof.mounts.length}]`));
  const idmapped = mounts.findIndex((m) => m.idmap);
  if (idmapped >= 0 && !userns) fail('ERR_INVALID_SPEC', `mounts: ${mounts[idmapped].destination} asks for an idmapped bind, which maps ids for a user namespace: give userns too`);
  const seccompSpec = (own(s, 'seccomp') ?? prof.seccomp ?? 'default') as SeccompSpec;
  return {
    id: idValue,
    profile: prof,
    argv,
    execCandidates: execCandidates(argv[0], env),
    env,
    cwd: validatePath(own(s, 'cwd') ?? '/', 'cwd'),
    hostname,
    domainname: resolveDomainname(own(s, 'domainname'), ns),
    personality: resolvePersonality(own(s, 'personality')),
    uid,
    gid,
    groups,
    namespaces: ns,
    joinNamespaces,
    userns,
    rootfs,
    mounts,
    readonlyRootfs: resolveBool(own(s, 'readonlyRootfs'), 'readonlyRootfs', false),
    rootfsPropagation: resolveRootfsPropagation(own(s, 'rootfsPropagation')),
    stdio,
    caps,
    devices: [...prof.devices, ...prof.nodes.map((n) => nodeRule(n)).filter((r): r is DeviceRule => r !== null),
      ...(extraDevices === undefined ? [] : parseDeviceRules(extraDevices))],
    nodes: [...prof.nodes],
    noNewPrivileges: resolveBool(own(s, 'noNewPrivileges'), 'noNewPrivileges', prof.noNewPrivileges),
    umask: resolveUmask(own(s, 'umask')),
    deviceBackend: backend,
    rlimits: resolveRlimits(own(s, 'rlimits')),
    sysctl: resolveSysctls(own(s, 'sysctl'), ns),
    cgroupPath: resolveCgroupPath(own(s, 'cgroupPath'), idValue),
    cgroupPathFrom: resolveCgroupPathFrom(own(s, 'cgroupPathFrom')),
    terminal,
    detached,
    oomScoreAdj: resolveOomScoreAdj(own(s, 'oomScoreAdj')),
    resources: mergeResources(prof.resources, own(s, 'resources')),
    // Checked now, before anything exists; its rules follow the capabilities at start.
    seccompSpec: (resolveSeccomp(seccompSpec, fromMask(caps.bounding)), seccompSpec),
    hooks: resolveHooks(own(s, 'hooks')),
    bundle: resolveBundle(own(s, 'bundle'), rootfs),
    annotations: resolveAnnotations(own(s, 'annotations')),
  };
}

function resolveBundle(v: unknown, rootfs: ResolvedSpec['rootfs']): string {
  if (v === undefined) return 'path' in rootfs ? rootfs.path.replace(/\/[^/]*$/, '') || '/' : '/';
  if (typeof v !== 'string' || !v.startsWith('/')) fail('ERR_INVALID_SPEC', `bundle must be an absolute path, got ${quote(v)}`);
  return validatePath(v, 'bundle');
}

function resolveAnnotations(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    fail('ERR_INVALID_SPEC', `annotations must map names to strings, got ${quote(v)}`);
  }
  return { ...(v as Record<string, string>) };
}

/** A domain name, set only in a uts namespace of the container's own. */
function resolveDomainname(v: unknown, ns: readonly string[]): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,63})?$/.test(v)) fail('ERR_INVALID_SPEC', `domainname must be 1..64 letters, digits, "." or "-", got ${quote(v)}`);
  if (!ns.includes('uts')) fail('ERR_INVALID_SPEC', 'domainname needs a uts namespace of the container\'s own');
  return v;
}

function resolvePersonality(v: unknown): 'LINUX' | 'LINUX32' | null {
  if (v === undefined || v === null) return null;
  if (v !== 'LINUX' && v !== 'LINUX32') fail('ERR_INVALID_SPEC', `personality must be "LINUX" or "LINUX32", got ${quote(v)}`);
  return v;
}

/** A umask, 0..0o777; 0o022 (runc's and Docker's) when omitted. */
export function resolveUmask(v: unknown): number {
  if (v === undefined || v === null) return 0o022;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0o777) fail('ERR_INVALID_SPEC', `umask must be an integer 0..0o777, got ${quote(v)}`);
  return v;
}

function resolveOomScoreAdj(v: unknown): number | null {
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1000 || v > 1000) fail('ERR_INVALID_SPEC', `oomScoreAdj must be an integer -1000..1000, got ${quote(v)}`);
  return v;
}
