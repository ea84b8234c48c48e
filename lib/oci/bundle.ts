// An OCI bundle's config.json as a container spec, for the runtime command line.
//
// Every field of the runtime spec is either carried over with its meaning (read by
// config.ts, the one reader) or refused by name: a config that asks for what this
// runtime does not do fails before anything is created instead of running with less
// isolation than it says. Pure: the bundle's path is an argument, nothing is read here.
import { isAbsolute, resolve } from 'node:path';
import { quote } from '../errors';
import type { HostLsm } from '../host';
import type { CapabilitySets } from '../policy/capabilities';
import type { DeviceRule } from '../policy/devices';
import type { IdMapping } from '../policy/userns';
import { ROOTFS_PROPAGATIONS, type RootfsPropagation } from '../policy/mounts';
import { type Profile, profiles } from '../policy/profiles';
import type { RlimitSpec } from '../policy/process';
import { type HooksSpec, resolveHooks } from '../policy/hooks';
import { type ContainerSpec, JOINABLE_NAMESPACES, type JoinableNamespace, type NamespaceName } from '../spec';
import {
  array, checkJsonDepth, collectRefusals, invalid, type Json, object, onlyKnown, readCapabilities, readDeviceRules, readEnv, readLimits, readNoNewPrivileges, readPolicy, readRlimits,
  strings, unsupported, withoutNonSpecProperties,
} from './config';

const NAMESPACE_TYPES: Record<string, NamespaceName> = {
  mount: 'mount', pid: 'pid', uts: 'uts', ipc: 'ipc', network: 'net', cgroup: 'cgroup',
};

export interface OciBundleSpec {
  spec: ContainerSpec & { profile: Profile; rootfs: string };
  /** What a reader of the result should know: accepted fields whose options the runtime sets its own way. */
  notes: string[];
}

/**
 * What `update --resources` is given (an OCI linux.resources): its device rules, in
 * order, and its limits, each read as config.json's are; any other resource is
 * refused by name.
 */
export function readResourcesUpdate(value: unknown): { rules: DeviceRule[]; limits: Record<string, unknown> } {
  checkJsonDepth(value, 'resources');
  const resources = object(value, 'linux.resources');
  return { limits: readLimits(resources), rules: readDeviceRules(resources) };
}

/**
 * The container spec for a bundle: `config` is config.json parsed, `bundle` its
 * directory. Device rules are the config's, then the runtime's default ones (the
 * standard nodes and the right to mknod), as runc and crun append theirs.
 */
/**
 * `lsm`: which LSMs the host runs (host.ts detectLsm). A profile or label for one that
 * is off asks for nothing this host could do and is accepted with a note, as runc
 * accepts it; for one that is on it is refused, since this runtime applies none.
 * Unknown (omitted), both count as on. `devicesV1`: the host has the v1 devices
 * controller (host.ts hostInfo().devicesV1).
 */
export function specFromOciConfig(config: unknown, bundle: string, id: string, lsm: HostLsm = { apparmor: true, selinux: true }, devicesV1 = false): OciBundleSpec {
  checkJsonDepth(config, 'config.json');
  const ignored: string[] = [];
  const known = withoutNonSpecProperties(config, ignored);
  const read = collectRefusals((section) => readBundleSpec(known, bundle, id, section, lsm, devicesV1));
  return { ...read, notes: [...ignored, ...read.notes] };
}

/** process.apparmorProfile, process.selinuxLabel, linux.mountLabel: noted when their LSM is off, refused when on. */
function readLsmFields(proc: Json, linux: Json, lsm: HostLsm, notes: string[], section: Section): void {
  const fields: [string, unknown, boolean, string][] = [
    ['process.apparmorProfile', proc.apparmorProfile, lsm.apparmor, 'AppArmor'],
    ['process.selinuxLabel', proc.selinuxLabel, lsm.selinux, 'SELinux'],
    ['linux.mountLabel', linux.mountLabel, lsm.selinux, 'SELinux'],
  ];
  for (const [field, value, on, name] of fields) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') invalid(`${field} must be a string, got ${quote(value)}`);
    if (on) section(() => unsupported(field, `is not supported by this runtime: ${name} is on here and this runtime applies no ${name} policy`), undefined);
    else notes.push(`${field} ${quote(value)} not applied: this host runs no ${name}`);
  }
}

type Section = <S>(f: () => S, fallback: S) => S;

/** The annotation that picks a config's device guard: "v1" (the devices controller) or "v2" (a BPF program on cgroup2). */
export const DEVICE_BACKEND_ANNOTATION = 'run.nsbox.device-backend';

function readBundleSpec(config: unknown, bundle: string, id: string, section: Section, lsm: HostLsm, devicesV1: boolean): OciBundleSpec {
  const c = object(config, 'the config');
  const notes: string[] = [];
  section(() => onlyKnown(c, ['ociVersion', 'process', 'root', 'hostname', 'domainname', 'mounts', 'linux', 'annotations', 'hooks'], ''), undefined);
  // Checked now, with the config's field names (the spec checks them again).
  resolveHooks(c.hooks, 'hooks');
  if (typeof c.ociVersion !== 'string' || !/^1\./.test(c.ociVersion)) invalid(`ociVersion must be a 1.x version, got ${quote(c.ociVersion)}`);

  const proc = object(c.process, 'process');
  section(() => onlyKnown(proc, ['terminal', 'consoleSize', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges', 'oomScoreAdj',
    'apparmorProfile', 'selinuxLabel'], 'process.'), undefined);
  if (proc.consoleSize !== undefined) notes.push('process.consoleSize is left to the terminal\'s reader (the console socket\'s end)');
  const args = strings(proc.args, 'process.args');
  if (args.length === 0) invalid('process.args must name the command');
  const user = object(proc.user, 'process.user');
  section(() => onlyKnown(user, ['uid', 'gid', 'additionalGids', 'umask'], 'process.user.'), undefined);
  if (typeof proc.cwd !== 'string' || !proc.cwd.startsWith('/')) invalid(`process.cwd must be an absolute path, got ${quote(proc.cwd)}`);

  const root = object(c.root, 'root');
  section(() => onlyKnown(root, ['path', 'readonly'], 'root.'), undefined);
  if (typeof root.path !== 'string' || root.path === '') invalid(`root.path must be a path, got ${quote(root.path)}`);
  const rootfs = isAbsolute(root.path) ? root.path : resolve(bundle, root.path);

  const linux = object(c.linux, 'linux');
  section(() => onlyKnown(linux, ['namespaces', 'uidMappings', 'gidMappings', 'devices', 'resources', 'cgroupsPath', 'sysctl', 'maskedPaths', 'readonlyPaths',
    'rootfsPropagation', 'seccomp', 'personality', 'mountLabel'], 'linux.'), undefined);
  readLsmFields(proc, linux, lsm, notes, section);
  const personality = section(() => readPersonality(linux.personality), undefined);
  const rootfsPropagation = linux.rootfsPropagation === undefined || linux.rootfsPropagation === '' ? undefined
    : ROOTFS_PROPAGATIONS.includes(linux.rootfsPropagation as string) ? linux.rootfsPropagation as RootfsPropagation
      : invalid(`linux.rootfsPropagation must be one of ${ROOTFS_PROPAGATIONS.join(', ')}, got ${quote(linux.rootfsPropagation)}`);
  const namespaces: NamespaceName[] = [];
  const joinNamespaces: Partial<Record<JoinableNamespace, string>> = {};
  let userNamespace = false;
  array(linux.namespaces, 'linux.namespaces').forEach((raw, i) => section(() => {
    const n = object(raw, `linux.namespaces[${i}]`);
    onlyKnown(n, ['type', 'path'], `linux.namespaces[${i}].`);
    if (n.type === 'user') {
      userNamespace = true;  // (also when refused below: no other error hides the refusal)
      if (n.path !== undefined && n.path !== '') unsupported(`linux.namespaces[${i}].path (joining a user namespace)`, 'is not supported by this runtime: it makes its own from linux.uidMappings and gidMappings');
      return;
    }
    const t = NAMESPACE_TYPES[n.type as string];
    if (!t) unsupported(`linux.namespaces[${i}] (type ${quote(n.type)})`);
    if (n.path === undefined || n.path === '') {
      namespaces.push(t);
      return;
    }
    if (!(JOINABLE_NAMESPACES as readonly string[]).includes(t)) {
      namespaces.push(t);  // refused below; counted as present so that no other error hides the refusal
      unsupported(`linux.namespaces[${i}].path (joining a ${n.type} namespace)`, 'is not supported by this runtime: it joins mount, network, ipc, uts, cgroup and pid namespaces');
    }
    if (typeof n.path !== 'string') invalid(`linux.namespaces[${i}].path must be a path, got ${quote(n.path)}`);
    joinNamespaces[t as JoinableNamespace] = n.path;
  }, undefined));
  // A user namespace of the container's own, with the config's maps (the runtime, as root,
  // writes them). Maps without the namespace, or the namespace without maps, say nothing
  // this runtime could do.
  const hasMaps = linux.uidMappings !== undefined || linux.gidMappings !== undefined;
  if (hasMaps && !userNamespace) invalid('linux.uidMappings and gidMappings need a user namespace in linux.namespaces');
  if (userNamespace && !hasMaps) invalid('a user namespace needs linux.uidMappings and linux.gidMappings');
  // The rootfs as it is, as runc takes it (OCI idmaps only mounts that ask, in mounts[]).
  const userns = userNamespace ? { uidMappings: linux.uidMappings as IdMapping[], gidMappings: linux.gidMappings as IdMapping[], idmapRootfs: false } : undefined;
  // Absolute: below each hierarchy's root; relative: below the runtime's own cgroup in
  // each hierarchy, as runc reads it. A systemd slice ("slice:prefix:name") is refused:
  // no systemd manages cgroups here.
  let cgroupPath: string | undefined;
  let cgroupPathFrom: 'root' | 'self' = 'root';
  if (linux.cgroupsPath !== undefined && linux.cgroupsPath !== '') {
    cgroupPath = section(() => {
      if (typeof linux.cgroupsPath !== 'string') invalid(`linux.cgroupsPath must be a path, got ${quote(linux.cgroupsPath)}`);
      if (/^[^/]*:[^/]*:/.test(linux.cgroupsPath)) {
        unsupported(`linux.cgroupsPath ${quote(linux.cgroupsPath)}`, 'is a systemd slice, and this runtime manages cgroups without systemd');
      }
      if (!linux.cgroupsPath.startsWith('/')) cgroupPathFrom = 'self';
      return linux.cgroupsPath.replace(/^\/+/, '');
    }, undefined);
  }
  const sysctl = object(linux.sysctl, 'linux.sysctl') as Record<string, string>;
  const policy = section(() => readPolicy(c), null);
  if (policy === null) return null as never;  // refused: collectRefusals throws with the rest
  notes.push(...policy.notes);

  if (typeof c.hostname === 'string' && c.hostname !== '' && !namespaces.includes('uts') && !joinNamespaces.uts) {
    invalid('hostname needs a uts namespace: the container\'s own, or one it joins');
  }
  // The command's environment is the spec's; the profile holds the rest of the policy.
  const { env, notes: _, resources, ...rest } = policy;
  const profile: Profile = Object.freeze({
    ...profiles.default,
    ...rest,
    // Checked and merged with the spec's (none) when the spec is resolved.
    resources: resources as Profile['resources'],
    name: 'oci',
    devices: Object.freeze(rest.devices),
    nodes: Object.freeze(rest.nodes),
    env: Object.freeze({}),
    mounts: Object.freeze(rest.mounts),
    maskedPaths: Object.freeze(rest.maskedPaths),
    readonlyPaths: Object.freeze(rest.readonlyPaths),
  });
  const gids = array(user.additionalGids, 'process.user.additionalGids') as number[];
  // Where the host has the v1 devices controller, a config's device rules go there, as
  // runc and crun put them on such a host (tools read the container's devices.list);
  // elsewhere, and when the annotation says "v2", a BPF program on cgroup2 guards them.
  const annotations = c.annotations !== undefined && c.annotations !== null ? object(c.annotations, 'annotations') : {};
  const asked = annotations[DEVICE_BACKEND_ANNOTATION];
  if (asked !== undefined && asked !== 'v1' && asked !== 'v2') invalid(`annotations["${DEVICE_BACKEND_ANNOTATION}"] must be "v1" or "v2", got ${quote(asked)}`);
  const deviceBackend = (asked as 'v1' | 'v2' | undefined) ?? (devicesV1 ? 'v1' : 'auto');
  return {
    spec: {
      id,
      profile,
      rootfs,
      command: args,
      env,
      cwd: proc.cwd,
      user: { uid: (user.uid ?? 0) as number, gid: (user.gid ?? 0) as number, groups: gids },
      ...(typeof c.hostname === 'string' && c.hostname !== '' ? { hostname: c.hostname } : {}),
      ...(typeof c.domainname === 'string' && c.domainname !== '' ? { domainname: c.domainname } : {}),
      ...(personality ? { personality } : {}),
      namespaces: namespaces.includes('mount') || joinNamespaces.mount ? namespaces
        : unsupported('linux.namespaces without a mount namespace', 'is not supported by this runtime: the container would share the runtime\'s, where its mounts would stay on the host and only a chroot would hold it'),
      ...(Object.keys(joinNamespaces).length ? { joinNamespaces } : {}),
      ...(userns ? { userns } : {}),
      readonlyRootfs: root.readonly === true,
      deviceBackend,
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
      rlimits: readRlimits(proc),
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      ...(cgroupPath ? { cgroupPath, cgroupPathFrom } : {}),
      noNewPrivileges: policy.noNewPrivileges,
      ...(user.umask !== undefined && user.umask !== null ? { umask: user.umask as number } : {}),
      ...(c.hooks !== undefined && c.hooks !== null ? { hooks: c.hooks as HooksSpec } : {}),
      bundle,
      ...(c.annotations !== undefined && c.annotations !== null ? { annotations: c.annotations as Record<string, string> } : {}),
      // Checked with the spec (-1000..1000); absent, the container keeps the caller's.
      ...(proc.oomScoreAdj !== undefined && proc.oomScoreAdj !== null ? { oomScoreAdj: proc.oomScoreAdj as number } : {}),
    },
    notes,
  };
}

/** linux.personality: the domain (LINUX or LINUX32); flags, which no kernel ABI here defines, are refused as runc refuses them. */
function readPersonality(v: unknown): 'LINUX' | 'LINUX32' | undefined {
  const p = object(v, 'linux.personality');
  if (Object.keys(p).length === 0) return undefined;
  onlyKnown(p, ['domain', 'flags'], 'linux.personality.');
  if (strings(p.flags, 'linux.personality.flags').length) unsupported('linux.personality.flags');
  if (p.domain !== 'LINUX' && p.domain !== 'LINUX32') invalid(`linux.personality.domain must be LINUX or LINUX32, got ${quote(p.domain)}`);
  return p.domain;
}

/** An exec's process.json (the runtime spec's process object) as exec() fields. */
export function execFromOciProcess(process: unknown): {
  command: string[]; env: string[]; cwd: string; user: { uid: number; gid: number; groups: number[] };
  capabilities?: CapabilitySets; noNewPrivileges: boolean; umask?: number; rlimits: RlimitSpec[]; terminal: boolean;
} {
  checkJsonDepth(process, 'process.json');
  const proc = object(withoutNonSpecProperties(process, [], 'process'), 'process');
  onlyKnown(proc, ['terminal', 'consoleSize', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'], 'process.');
  const args = strings(proc.args, 'process.args');
  if (args.length === 0) invalid('process.args must name the command');
  const user = object(proc.user, 'process.user');
  onlyKnown(user, ['uid', 'gid', 'additionalGids', 'umask'], 'process.user.');
  const cwd = typeof proc.cwd === 'string' && proc.cwd !== '' ? proc.cwd : '/';
  return {
    command: args,
    env: readEnv(proc),
    cwd,
    user: { uid: (user.uid ?? 0) as number, gid: (user.gid ?? 0) as number, groups: array(user.additionalGids, 'process.user.additionalGids') as number[] },
    ...(proc.capabilities !== undefined ? { capabilities: readCapabilities(proc) } : {}),
    noNewPrivileges: readNoNewPrivileges(proc),
    ...(user.umask !== undefined && user.umask !== null ? { umask: user.umask as number } : {}),
    rlimits: readRlimits(proc),
    terminal: proc.terminal === true,
  };
}
