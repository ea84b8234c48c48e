// What a Container is made from (a fresh create, or a handle of another process's):
// the facts fixed for its life, kept as one record.
import type { CgroupDirs } from '../cgroup';
import type { DeviceBackend } from '../host';
import { type CapabilityLimits, type CapabilityMasks, type CapabilitySets, fromMask } from '../policy/capabilities';
import type { DevicePolicy, DeviceRule } from '../policy/devices';
import type { ResourcesSpec } from '../policy/resources';
import type { SeccompSpec } from '../policy/seccomp';
import type { ResolvedHooks } from '../policy/hooks';
import type { NamespaceName, StdioMode } from '../spec';

export interface ContainerUser {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export interface ContainerRecord {
  readonly id: string;
  readonly user: ContainerUser;
  readonly namespaces: readonly NamespaceName[];
  /** The command's environment, the default of exec(). */
  readonly env: readonly string[];
  readonly backend: DeviceBackend;
  readonly limits: CapabilityLimits;
  readonly cgroups: CgroupDirs;
  readonly stdio: StdioMode;
  /** The syscall filter as the spec gave it; built for the capabilities in force wherever it is installed (the init, exec'd processes). */
  readonly seccompSpec: SeccompSpec;
  /** OCI hooks, and the bundle and annotations their state names. */
  readonly hooks: ResolvedHooks;
  readonly bundle: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** An 'auto' user namespace's reservation of its ids (userns-ranges.ts), released at destroy. */
  readonly idRange: string | null;
}

/** The rest of a Container's beginning: what changes over its life starts from these. */
export interface ContainerStart {
  caps: CapabilityMasks;
  rules: readonly DeviceRule[];
  policy: DevicePolicy;
  /** The limits in force. */
  resources: ResourcesSpec;
  startFifo: string | null;
  state: 'created' | 'running';
  signal?: AbortSignal;
}

export function capabilitySets(c: CapabilityMasks): CapabilitySets {
  return Object.freeze({
    bounding: fromMask(c.bounding), effective: fromMask(c.effective), permitted: fromMask(c.permitted),
    inheritable: fromMask(c.inheritable), ambient: fromMask(c.ambient),
  });
}

/** A frozen copy, so the record cannot be changed through what it was made from. */
export function freezeRecord(r: ContainerRecord): ContainerRecord {
  return Object.freeze({
    ...r,
    user: Object.freeze({ uid: r.user.uid, gid: r.user.gid, groups: Object.freeze([...r.user.groups]) }),
    namespaces: Object.freeze([...r.namespaces]),
    env: Object.freeze([...r.env]),
    cgroups: Object.freeze({ ...r.cgroups }),
  });
}
