// An OCI bundle's config.json as a container spec, for the runtime command line.
//
// Every field of the runtime spec is either carried over with its meaning or
// refused by name: a config that asks for what this runtime does not do (seccomp,
// hooks, user namespaces, memory limits...) fails before anything is created
// instead of running with less isolation than it says. Pure: the bundle's path is an
// argument, nothing is read here.
import { isAbsolute, resolve } from 'node:path';
import { ContainerError, quote } from '../errors';
import { type ContainerSpec, JOINABLE_NAMESPACES, type JoinableNamespace, type NamespaceName } from '../spec';
import { CAPABILITY_SET_NAMES, type CapabilitySets, normalizeCapability } from './capabilities';
import { checkJsonDepth } from './oci';
import { DEFAULT_DEVICE_RULES, type DeviceRule, parseDeviceRule } from './devices';
import type { MountFlags, MountSpec } from './mounts';
import { type DeviceNode, parseDeviceNode } from './nodes';
import type { RlimitSpec } from './process';
import { type Profile, profiles } from './profiles';

type Json = Record<string, unknown>;

function unsupported(field: string, why = 'is not supported by this runtime'): never {
  throw new ContainerError('ERR_UNSUPPORTED', `config.json: ${field} ${why}`);
}

function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_OCI_CONFIG', `config.json: ${message}`);
}

function object(v: unknown, field: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) invalid(`${field} must be an object, got ${quote(v)}`);
  return v as Json;
}

function array(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) invalid(`${field} must be an array, got ${quote(v)}`);
  return v;
}

function strings(v: unknown, field: string): string[] {
  return array(v, field).map((s, i) => (typeof s === 'string' ? s : invalid(`${field}[${i}] must be a string, got ${quote(s)}`)));
}

/** True for a value that asks for nothing: absent, null, false, 0, '', [] or {} all the way down. */
function empty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.every(empty);
  if (typeof v === 'object') return Object.values(v as Json).every(empty);
  return false;
}

/** Refuses every key of `o` not in `known`, unless its value asks for nothing. */
function onlyKnown(o: Json, known: readonly string[], prefix: string): void {
  for (const [k, v] of Object.entries(o)) if (!known.includes(k) && !empty(v)) unsupported(`${prefix}${k}`);
}

const NAMESPACE_TYPES: Record<string, NamespaceName> = {
  mount: 'mount', pid: 'pid', uts: 'uts', ipc: 'ipc', network: 'net', cgroup: 'cgroup',
};

/** The filesystems every container here gets from the runtime itself, at these places. */
const BUILTIN_MOUNTS: Record<string, readonly string[]> = {
  '/proc': ['proc'], '/dev': ['tmpfs'], '/dev/pts': ['devpts'], '/dev/shm': ['tmpfs', 'shm'],
  '/dev/mqueue': ['mqueue'], '/sys': ['sysfs'],
};

/** Nodes the runtime makes in every /dev (a config's copy of one of them is redundant). */
const BUILTIN_NODES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx']);

export interface OciBundleSpec {
  spec: ContainerSpec & { profile: Profile; rootfs: string };
  /** What a reader of the result should know: accepted fields whose options the runtime sets its own way. */
  notes: string[];
}

const ATIME_OPTIONS = ['relatime', 'strictatime', 'noatime'] as const;

/** The flags a mount's options name; each is applied (mount_setattr), none dropped. */
function mountFlags(options: string[]): MountFlags {
  const flags: MountFlags = {};
  for (const f of ['nosuid', 'nodev', 'noexec'] as const) if (options.includes(f)) flags[f] = true;
  if (options.includes('ro')) flags.readonly = true;
  for (const a of ATIME_OPTIONS) if (options.includes(a)) flags.atime = a;
  return flags;
}

function mountsOf(config: Json, notes: string[]): { mounts: MountSpec[]; sysReadonly: boolean } {
  const mounts: MountSpec[] = [];
  let sysReadonly = true;
  array(config.mounts, 'mounts').forEach((raw, i) => {
    const m = object(raw, `mounts[${i}]`);
    onlyKnown(m, ['destination', 'type', 'source', 'options'], `mounts[${i}].`);
    const dest = m.destination;
    if (typeof dest !== 'string' || !dest.startsWith('/')) invalid(`mounts[${i}].destination must be an absolute path, got ${quote(dest)}`);
    const type = typeof m.type === 'string' ? m.type : '';
    const options = strings(m.options, `mounts[${i}].options`);
    const builtin = BUILTIN_MOUNTS[dest.replace(/\/+$/, '')];
    if (builtin && builtin.includes(type)) {
      if (dest === '/sys') sysReadonly = options.includes('ro');
      notes.push(`mounts[${i}] ${dest} (${type}) is the runtime's own, with its own options`);
      return;
    }
    const bind = type === 'bind' || options.includes('bind') || options.includes('rbind');
    if (bind) {
      if (typeof m.source !== 'string') invalid(`mounts[${i}].source must be a path, got ${quote(m.source)}`);
      for (const o of options) {
        if (!['bind', 'rbind', 'ro', 'rw', 'nosuid', 'nodev', 'noexec', 'private', 'rprivate', 'rslave', 'slave', ...ATIME_OPTIONS].includes(o)) {
          unsupported(`mounts[${i}].options "${o}"`, `(bind mount of ${dest}) is not supported by this runtime`);
        }
      }
      const propagation = options.some((o) => o === 'private' || o === 'rprivate') ? 'private'
        : options.some((o) => o === 'slave' || o === 'rslave') ? 'slave' : undefined;
      mounts.push({
        type: 'bind', source: m.source, destination: dest, ...mountFlags(options), ...(propagation ? { propagation } : {}),
        recursive: !options.includes('bind') || options.includes('rbind'),
      });
      return;
    }
    if (type === 'tmpfs') {
      let mode: number | undefined;
      let size: string | undefined;
      for (const o of options) {
        if (o.startsWith('mode=')) mode = parseInt(o.slice(5), 8);
        else if (o.startsWith('size=')) size = o.slice(5);
        // A new tmpfs is private by construction (its parent here is no shared mount).
        else if (!['nosuid', 'nodev', 'noexec', ...ATIME_OPTIONS, 'ro', 'rw', 'private', 'rprivate'].includes(o)) {
          unsupported(`mounts[${i}].options "${o}"`, `(tmpfs at ${dest}) is not supported by this runtime`);
        }
      }
      mounts.push({ type: 'tmpfs', destination: dest, ...mountFlags(options), ...(mode !== undefined ? { mode } : {}), ...(size ? { size } : {}) });
      return;
    }
    unsupported(`mounts[${i}] (type ${quote(type)} at ${dest})`, 'is not supported by this runtime: it mounts bind and tmpfs, and its own /proc, /sys and /dev');
  });
  return { mounts, sysReadonly };
}

function capabilitiesOf(proc: Json): CapabilitySets {
  const caps = object(proc.capabilities, 'process.capabilities');
  onlyKnown(caps, CAPABILITY_SET_NAMES, 'process.capabilities.');
  const entries = CAPABILITY_SET_NAMES.map((s) => [s, Object.freeze(strings(caps[s], `process.capabilities.${s}`).map((n) => normalizeCapability(n)))]);
  return Object.freeze(Object.fromEntries(entries)) as unknown as CapabilitySets;
}

function rlimitsOf(proc: Json): RlimitSpec[] {
  return array(proc.rlimits, 'process.rlimits').map((raw, i) => {
    const l = object(raw, `process.rlimits[${i}]`);
    onlyKnown(l, ['type', 'soft', 'hard'], `process.rlimits[${i}].`);
    return { type: l.type as string, soft: l.soft as number, hard: l.hard as number };
  });
}

/**
 * The device rules of a linux.resources object (config.json's, or what `update
 * --resources` is given), in order; every other resource is refused by name.
 */
export function resourcesDeviceRules(value: unknown): DeviceRule[] {
  const resources = object(value, 'linux.resources');
  // cpu.shares of 1024 is the kernel's default weight, which is what a container
  // here gets; anything else would be a limit this runtime does not set.
  const cpu = object(resources.cpu, 'linux.resources.cpu');
  if (!empty({ ...cpu, shares: cpu.shares === 1024 ? 0 : cpu.shares })) unsupported('linux.resources.cpu', 'is not supported by this runtime (only the default shares, 1024)');
  onlyKnown(resources, ['devices', 'cpu'], 'linux.resources.');
  return array(resources.devices, 'linux.resources.devices').map((raw, i) => {
    const o = object(raw, `linux.resources.devices[${i}]`);
    onlyKnown(o, ['allow', 'type', 'major', 'minor', 'access'], `linux.resources.devices[${i}].`);
    if (typeof o.allow !== 'boolean') invalid(`linux.resources.devices[${i}].allow must be a boolean, got ${quote(o.allow)}`);
    const wildcard = (v: unknown) => (v === undefined || v === null || v === -1 ? '*' : v);
    return parseDeviceRule({ type: o.type ?? 'a', major: wildcard(o.major), minor: wildcard(o.minor), access: o.access ?? 'rwm', allow: o.allow });
  });
}

function nodesOf(linux: Json): DeviceNode[] {
  const byPath = new Map<string, DeviceNode>();
  array(linux.devices, 'linux.devices').forEach((raw, i) => {
    const d = object(raw, `linux.devices[${i}]`);
    onlyKnown(d, ['path', 'type', 'major', 'minor', 'fileMode', 'uid', 'gid'], `linux.devices[${i}].`);
    if (typeof d.path === 'string' && BUILTIN_NODES.has(d.path)) return;
    const type = d.type === 'u' ? 'c' : d.type;
    byPath.set(d.path as string, parseDeviceNode({ path: d.path, type, major: d.major, minor: d.minor,
      mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0 }, `linux.devices[${i}]`));
  });
  return [...byPath.values()];
}

/**
 * The container spec for a bundle: `config` is config.json parsed, `bundle` its
 * directory. Device rules are the config's, then the runtime's default ones (the
 * standard nodes and the right to mknod), as runc and crun append theirs.
 */
export function specFromOciConfig(config: unknown, bundle: string, id: string): OciBundleSpec {
  checkJsonDepth(config, 'config.json');
  const c = object(config, 'the config');
  const notes: string[] = [];
  onlyKnown(c, ['ociVersion', 'process', 'root', 'hostname', 'mounts', 'linux', 'annotations'], '');
  if (typeof c.ociVersion !== 'string' || !/^1\./.test(c.ociVersion)) invalid(`ociVersion must be a 1.x version, got ${quote(c.ociVersion)}`);

  const proc = object(c.process, 'process');
  onlyKnown(proc, ['terminal', 'consoleSize', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'], 'process.');
  if (proc.consoleSize !== undefined) notes.push('process.consoleSize is left to the terminal\'s reader (the console socket\'s end)');
  const args = strings(proc.args, 'process.args');
  if (args.length === 0) invalid('process.args must name the command');
  const user = object(proc.user, 'process.user');
  onlyKnown(user, ['uid', 'gid', 'additionalGids', 'umask'], 'process.user.');
  if (user.umask !== undefined && user.umask !== null && user.umask !== 0o022) unsupported('process.user.umask', 'other than 0022 is not supported by this runtime');
  if (typeof proc.cwd !== 'string' || !proc.cwd.startsWith('/')) invalid(`process.cwd must be an absolute path, got ${quote(proc.cwd)}`);

  const root = object(c.root, 'root');
  onlyKnown(root, ['path', 'readonly'], 'root.');
  if (typeof root.path !== 'string' || root.path === '') invalid(`root.path must be a path, got ${quote(root.path)}`);
  const rootfs = isAbsolute(root.path) ? root.path : resolve(bundle, root.path);

  const linux = object(c.linux, 'linux');
  onlyKnown(linux, ['namespaces', 'devices', 'resources', 'cgroupsPath', 'sysctl', 'maskedPaths', 'readonlyPaths', 'rootfsPropagation'], 'linux.');
  if (linux.rootfsPropagation !== undefined && !['', 'private', 'rprivate', 'slave', 'rslave'].includes(linux.rootfsPropagation as string)) {
    unsupported(`linux.rootfsPropagation ${quote(linux.rootfsPropagation)}`, 'is not supported by this runtime (its rootfs is a slave of the host, nothing propagates back)');
  }
  const namespaces: NamespaceName[] = [];
  const joinNamespaces: Partial<Record<JoinableNamespace, string>> = {};
  array(linux.namespaces, 'linux.namespaces').forEach((raw, i) => {
    const n = object(raw, `linux.namespaces[${i}]`);
    onlyKnown(n, ['type', 'path'], `linux.namespaces[${i}].`);
    const t = NAMESPACE_TYPES[n.type as string];
    if (!t) unsupported(`linux.namespaces[${i}] (type ${quote(n.type)})`);
    if (n.path === undefined || n.path === '') {
      namespaces.push(t);
      return;
    }
    if (!(JOINABLE_NAMESPACES as readonly string[]).includes(t)) {
      unsupported(`linux.namespaces[${i}].path (joining a ${n.type} namespace)`, 'is not supported by this runtime: it joins network, ipc, uts and cgroup namespaces');
    }
    if (typeof n.path !== 'string') invalid(`linux.namespaces[${i}].path must be a path, got ${quote(n.path)}`);
    joinNamespaces[t as JoinableNamespace] = n.path;
  });
  let cgroupPath: string | undefined;
  if (linux.cgroupsPath !== undefined && linux.cgroupsPath !== '') {
    if (typeof linux.cgroupsPath !== 'string' || !linux.cgroupsPath.startsWith('/')) {
      unsupported(`linux.cgroupsPath ${quote(linux.cgroupsPath)}`, 'is supported as an absolute path only (no systemd slices)');
    }
    cgroupPath = linux.cgroupsPath.replace(/^\/+/, '');
  }
  const sysctl = object(linux.sysctl, 'linux.sysctl') as Record<string, string>;
  const { mounts, sysReadonly } = mountsOf(c, notes);
  const nodes = nodesOf(linux);
  const devices = [...resourcesDeviceRules(linux.resources), ...DEFAULT_DEVICE_RULES];

  if (typeof c.hostname === 'string' && c.hostname !== '' && !namespaces.includes('uts')) {
    invalid('hostname needs a uts namespace of the container\'s own');
  }
  const base = profiles.default;
  const profile: Profile = Object.freeze({
    ...base,
    name: 'oci',
    capabilities: capabilitiesOf(proc),
    devices: Object.freeze(devices),
    nodes: Object.freeze(nodes),
    env: Object.freeze({}),
    mounts: Object.freeze(mounts),
    maskedPaths: Object.freeze(strings(linux.maskedPaths, 'linux.maskedPaths')),
    readonlyPaths: Object.freeze(strings(linux.readonlyPaths, 'linux.readonlyPaths')),
    sysReadonly,
    noNewPrivileges: proc.noNewPrivileges === true,
  });
  const gids = array(user.additionalGids, 'process.user.additionalGids') as number[];
  return {
    spec: {
      id,
      profile,
      rootfs,
      command: args,
      env: strings(proc.env, 'process.env'),
      cwd: proc.cwd,
      user: { uid: (user.uid ?? 0) as number, gid: (user.gid ?? 0) as number, groups: gids },
      ...(typeof c.hostname === 'string' && c.hostname !== '' ? { hostname: c.hostname } : {}),
      namespaces: namespaces.includes('mount') ? namespaces : invalid('linux.namespaces must include a mount namespace'),
      ...(Object.keys(joinNamespaces).length ? { joinNamespaces } : {}),
      readonlyRootfs: root.readonly === true,
      rlimits: rlimitsOf(proc),
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      ...(cgroupPath ? { cgroupPath } : {}),
      noNewPrivileges: proc.noNewPrivileges === true,
    },
    notes,
  };
}

/** An exec's process.json (the runtime spec's process object) as exec() fields. */
export function execFromOciProcess(process: unknown): {
  command: string[]; env: string[]; cwd: string; user: { uid: number; gid: number; groups: number[] };
  capabilities?: CapabilitySets; noNewPrivileges: boolean; rlimits: RlimitSpec[]; terminal: boolean;
} {
  checkJsonDepth(process, 'process.json');
  const proc = object(process, 'process');
  onlyKnown(proc, ['terminal', 'consoleSize', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'], 'process.');
  const args = strings(proc.args, 'process.args');
  if (args.length === 0) invalid('process.args must name the command');
  const user = object(proc.user, 'process.user');
  onlyKnown(user, ['uid', 'gid', 'additionalGids', 'umask'], 'process.user.');
  const cwd = typeof proc.cwd === 'string' && proc.cwd !== '' ? proc.cwd : '/';
  return {
    command: args,
    env: strings(proc.env, 'process.env'),
    cwd,
    user: { uid: (user.uid ?? 0) as number, gid: (user.gid ?? 0) as number, groups: array(user.additionalGids, 'process.user.additionalGids') as number[] },
    ...(proc.capabilities !== undefined ? { capabilities: capabilitiesOf(proc) } : {}),
    noNewPrivileges: proc.noNewPrivileges === true,
    rlimits: rlimitsOf(proc),
    terminal: proc.terminal === true,
  };
}
