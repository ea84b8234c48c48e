// Profiles to and from the OCI fields they correspond to: process.capabilities,
// process.noNewPrivileges, process.env, mounts, linux.resources.devices,
// linux.devices, linux.maskedPaths, linux.readonlyPaths. The import reads through
// the same reader as the runtime command line, so a config means the same in both.
import { ContainerError, quote } from '../errors';
import { CAPABILITY_NAMES, CAPABILITY_SET_NAMES, normalizeCapability } from '../policy/capabilities';
import type { DeviceRule } from '../policy/devices';
import type { MountSpec } from '../policy/mounts';
import { defineProfile, type Profile } from '../policy/profiles';
import type { ResourcesSpec } from '../policy/resources';
import { checkJsonDepth, type Json, type OciMount, readPolicy, withoutNonSpecProperties } from './config';
import { filterToOci, type OciSeccomp, resolveSeccomp } from '../policy/seccomp';

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
  mounts: OciMount[];
  linux: {
    resources: { devices: OciDeviceCgroupRule[] } & ResourcesSpec;
    devices: { path: string; type: 'b' | 'c' | 'p'; major: number; minor: number; fileMode: number; uid: number; gid: number }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    /** The profile's filter, built for its own bounding set; absent when unconfined. */
    seccomp?: OciSeccomp;
  };
}

function ociRule(r: DeviceRule): OciDeviceCgroupRule {
  const out: OciDeviceCgroupRule = { allow: r.allow, type: r.type };
  if (r.major !== '*') out.major = r.major;
  if (r.minor !== '*') out.minor = r.minor;
  out.access = r.access;
  return out;
}

/** A mount's flags as options, each the reader maps back to the same flag. */
function flagOptions(m: Exclude<MountSpec, { type: 'cgroup' }>): string[] {
  return [...(m.readonly ? ['ro'] : ['rw']), ...(['nosuid', 'nodev', 'noexec'] as const).filter((f) => m[f]), ...(m.atime ? [m.atime] : [])];
}

function ociMount(m: MountSpec): OciMount {
  if (m.type === 'cgroup') {
    return { destination: m.destination, type: 'cgroup', source: 'cgroup', options: [m.readonly === false ? 'rw' : 'ro', 'nosuid', 'nodev', 'noexec'] };
  }
  if (m.type === 'bind') {
    const propagation = m.propagation ? [`r${m.propagation}`] : [];
    return { destination: m.destination, type: 'bind', source: m.source, options: [m.recursive === false ? 'bind' : 'rbind', ...flagOptions(m), ...propagation] };
  }
  const options = ['nosuid', 'nodev', ...flagOptions(m).filter((o) => o !== 'nosuid' && o !== 'nodev')];
  if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8)}`);
  if (m.size !== undefined) options.push(`size=${m.size}`);
  if (m.copyUp) options.push('tmpcopyup');
  return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options };
}

/** The OCI fields of a profile ('ALL' expanded to every capability name known). */
export function toOciConfig(profile: Profile): OciConfigFragment {
  const expand = (set: readonly string[]) => (set.includes('ALL') ? [...CAPABILITY_NAMES] : set.map((n) => normalizeCapability(n)));
  const capabilities = Object.fromEntries(CAPABILITY_SET_NAMES.map((s) => [s, expand(profile.capabilities[s])])) as OciConfigFragment['process']['capabilities'];
  const seccomp = resolveSeccomp(profile.seccomp ?? 'default', capabilities.bounding);
  return {
    process: {
      capabilities,
      noNewPrivileges: profile.noNewPrivileges,
      env: Object.entries(profile.env).map(([k, v]) => `${k}=${v}`),
    },
    mounts: profile.mounts.map(ociMount),
    linux: {
      // The limits as OCI spells them (the same shape), without the unset ones.
      resources: { devices: profile.devices.map(ociRule), ...JSON.parse(JSON.stringify(profile.resources ?? {})) },
      devices: profile.nodes.map((n) => ({ path: n.path, type: n.type, major: n.major, minor: n.minor, fileMode: n.mode, uid: n.uid, gid: n.gid })),
      maskedPaths: [...profile.maskedPaths],
      readonlyPaths: [...profile.readonlyPaths],
      ...(seccomp ? { seccomp: filterToOci(seccomp) } : {}),
    },
  };
}

/**
 * A profile from an OCI config (a whole config.json, or the fragment toOciConfig
 * makes): the policy a runtime would give its container, read as the command line
 * reads it. Fields outside the policy (process.args, root, hooks...) are not a
 * profile's and are left to whoever runs the config.
 */
export function fromOciConfig(json: unknown, name = 'oci'): Profile {
  let cfg = json;
  if (typeof json === 'string') {
    try {
      cfg = JSON.parse(json);
    } catch (e) {
      throw new ContainerError('ERR_INVALID_OCI_CONFIG', `not JSON: ${(e as Error).message}`);
    }
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new ContainerError('ERR_INVALID_OCI_CONFIG', `an OCI config is an object, got ${quote(cfg)}`);
  checkJsonDepth(cfg, 'the OCI config');
  // As the runtime reads it: what the runtime spec does not define is ignored.
  const p = readPolicy(withoutNonSpecProperties(cfg, []) as Json);
  const env: Record<string, string> = {};
  for (const e of p.env) env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  // defineProfile checks the paths, mounts and environment as for any profile.
  const base = defineProfile({
    extends: 'default', name, env, mounts: p.mounts, maskedPaths: p.maskedPaths, readonlyPaths: p.readonlyPaths,
    sysReadonly: p.sysReadonly, noNewPrivileges: p.noNewPrivileges, nodes: p.nodes, resources: p.resources as ResourcesSpec, seccomp: p.seccomp,
  });
  return Object.freeze({
    ...base,
    capabilities: p.capabilities,
    // The config's rules (with the runtime's standard ones after them), not the base's.
    devices: Object.freeze(p.devices),
    // defineProfile appended the nodes to the base's none; their rules come with the spec.
    nodes: Object.freeze(p.nodes),
  });
}
