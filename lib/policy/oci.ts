// Profiles to and from the OCI runtime-spec fields they correspond to:
// process.capabilities, process.noNewPrivileges, process.env, mounts,
// linux.resources.devices, linux.devices, linux.maskedPaths, linux.readonlyPaths.
import { ContainerError, quote } from '../errors';
import { CAPABILITY_NAMES, CAPABILITY_SET_NAMES, type CapabilitySets, normalizeCapability } from './capabilities';
import { type DeviceRule, parseDeviceRule } from './devices';
import type { MountSpec } from './mounts';
import { type DeviceNode, parseDeviceNode } from './nodes';
import { defineProfile, type Profile } from './profiles';

export interface OciDeviceCgroupRule {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciConfigFragment {
  process: {
    capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
    noNewPrivileges: boolean;
    env: string[];
  };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    resources: { devices: OciDeviceCgroupRule[] };
    devices: { path: string; type: 'b' | 'c'; major: number; minor: number; fileMode: number; uid: number; gid: number }[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/**
 * The filesystems an OCI config lists for every Linux container (/proc, /dev and its
 * pts, shm, mqueue, /sys read-only), with the options containerd writes. This runtime
 * makes them itself; configs written for peers and by `nsbox-runtime spec` list them.
 */
export const OCI_SYSTEM_MOUNTS: readonly Readonly<OciConfigFragment['mounts'][number]>[] = Object.freeze([
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
].map((m) => Object.freeze(m)));

function ociRule(r: DeviceRule): OciDeviceCgroupRule {
  const out: OciDeviceCgroupRule = { allow: r.allow, type: r.type };
  if (r.major !== '*') out.major = r.major;
  if (r.minor !== '*') out.minor = r.minor;
  out.access = r.access;
  return out;
}

function ociMount(m: MountSpec): OciConfigFragment['mounts'][number] {
  if (m.type === 'bind') {
    return { destination: m.destination, type: 'bind', source: m.source,
      options: [m.recursive === false ? 'bind' : 'rbind', m.readonly ? 'ro' : 'rw'] };
  }
  const options = ['nosuid', 'nodev', ...(m.readonly ? ['ro'] : [])];
  if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8)}`);
  if (m.size !== undefined) options.push(`size=${m.size}`);
  return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options };
}

/** The OCI fields of a profile ('ALL' expanded to every capability name known). */
export function toOciConfig(profile: Profile): OciConfigFragment {
  const expand = (set: readonly string[]) => (set.includes('ALL') ? [...CAPABILITY_NAMES] : set.map((n) => normalizeCapability(n)));
  const capabilities = Object.fromEntries(CAPABILITY_SET_NAMES.map((s) => [s, expand(profile.capabilities[s])])) as OciConfigFragment['process']['capabilities'];
  return {
    process: {
      capabilities,
      noNewPrivileges: profile.noNewPrivileges,
      env: Object.entries(profile.env).map(([k, v]) => `${k}=${v}`),
    },
    mounts: profile.mounts.map(ociMount),
    linux: {
      resources: { devices: profile.devices.map(ociRule) },
      devices: profile.nodes.map((n) => ({ path: n.path, type: n.type, major: n.major, minor: n.minor, fileMode: n.mode, uid: n.uid, gid: n.gid })),
      maskedPaths: [...profile.maskedPaths],
      readonlyPaths: [...profile.readonlyPaths],
    },
  };
}

function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_OCI_CONFIG', message);
}

function array(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) invalid(`${what} must be an array, got ${quote(v)}`);
  return v;
}

function fromOciRule(r: unknown, i: number): DeviceRule {
  if (typeof r !== 'object' || r === null) invalid(`linux.resources.devices[${i}] must be an object, got ${quote(r)}`);
  const o = r as Record<string, unknown>;
  if (typeof o.allow !== 'boolean') invalid(`linux.resources.devices[${i}].allow must be a boolean, got ${quote(o.allow)}`);
  const type = o.type ?? 'a';
  const wildcard = (v: unknown) => (v === undefined || v === null || v === -1 ? '*' : v);
  return parseDeviceRule({ type, major: wildcard(o.major), minor: wildcard(o.minor), access: o.access ?? 'rwm', allow: o.allow });
}

function fromOciMount(m: unknown, i: number): MountSpec {
  const o = (typeof m === 'object' && m !== null ? m : invalid(`mounts[${i}] must be an object`)) as Record<string, unknown>;
  const options = array(o.options, `mounts[${i}].options`) as string[];
  if (o.type === 'tmpfs') {
    const mode = options.find((x) => x.startsWith('mode='));
    const size = options.find((x) => x.startsWith('size='));
    return { type: 'tmpfs', destination: o.destination as string, readonly: options.includes('ro'),
      ...(mode ? { mode: parseInt(mode.slice(5), 8) } : {}), ...(size ? { size: size.slice(5) } : {}) };
  }
  if (o.type === 'bind' || options.includes('bind') || options.includes('rbind')) {
    return { type: 'bind', source: o.source as string, destination: o.destination as string,
      readonly: options.includes('ro'), recursive: !options.includes('bind') };
  }
  invalid(`mounts[${i}]: only bind and tmpfs mounts are supported, got type ${quote(o.type)}`);
}

/** A profile from an OCI config (or the fragment toOciConfig makes). */
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

export function fromOciConfig(json: unknown, name = 'oci'): Profile {
  const cfg = typeof json === 'string' ? (() => { try { return JSON.parse(json); } catch (e) { return invalid(`not JSON: ${(e as Error).message}`); } })() : json;
  if (typeof cfg !== 'object' || cfg === null) invalid(`an OCI config is an object, got ${quote(cfg)}`);
  checkJsonDepth(cfg, 'the OCI config');
  const c = cfg as { process?: Record<string, unknown>; linux?: Record<string, unknown>; mounts?: unknown };
  const proc = c.process ?? {};
  const linux = c.linux ?? {};
  const capsIn = (proc.capabilities ?? {}) as Record<string, unknown>;
  const capabilities = Object.fromEntries(CAPABILITY_SET_NAMES.map((s) =>
    [s, Object.freeze((array(capsIn[s], `process.capabilities.${s}`)).map((n) => normalizeCapability(n)))])) as unknown as CapabilitySets;
  const env: Record<string, string> = {};
  for (const e of array(proc.env, 'process.env')) {
    if (typeof e !== 'string' || !e.includes('=')) invalid(`process.env entries look like "NAME=value", got ${quote(e)}`);
    env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  }
  const resources = (linux.resources ?? {}) as Record<string, unknown>;
  const nodes: DeviceNode[] = array(linux.devices, 'linux.devices').map((d, i) => {
    const o = (d ?? {}) as Record<string, unknown>;
    return parseDeviceNode({ path: o.path, type: o.type, major: o.major, minor: o.minor, mode: o.fileMode ?? 0o666,
      uid: o.uid ?? 0, gid: o.gid ?? 0 }, `linux.devices[${i}]`);
  });
  const base = defineProfile({
    extends: 'default',
    name,
    env,
    mounts: array(c.mounts, 'mounts').map(fromOciMount),
    maskedPaths: array(linux.maskedPaths, 'linux.maskedPaths') as string[],
    readonlyPaths: array(linux.readonlyPaths, 'linux.readonlyPaths') as string[],
    noNewPrivileges: proc.noNewPrivileges === undefined ? false : proc.noNewPrivileges as boolean,
    nodes,
  });
  return Object.freeze({
    ...base,
    capabilities: Object.freeze(capabilities),
    // The devices of a config replace the base's: the config says it all.
    devices: Object.freeze(array(resources.devices, 'linux.resources.devices').map(fromOciRule)),
    // defineProfile appended the nodes to the base's none; their rules come with the spec.
    nodes: Object.freeze(nodes),
  });
}
