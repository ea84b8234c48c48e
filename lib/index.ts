// Public API: everything a user imports comes from here. Its declarations, made by tsc
// (dist/lib/index.d.ts), are the package's types: there is no second copy to drift.
export { ContainerError, type ContainerErrorCode, type ContainerErrorDetails } from './errors';
export {
  Container, createContainer, attachContainer, type ContainerEvents, type ContainerState, type ContainerHandle, type OomEvent, type DevicePassthrough, type ExecProcess,
  type ExecSpec, type ExitStatus,
} from './container';
export { run, type RunResult, type RunSpec } from './run';
export { setCapabilities, allowDevice, denyDevice, mknodInside } from './control';
export { explain, type ExplainQuery, type ExplainSyscallQuery } from './explain';
export type { ContainerSpec, HostRootfs, JoinableNamespace, NamespaceName, StdioMode, UserSpec } from './spec';
export { HOST_HIDDEN_PATHS } from './spec';
export type { AtimeMode, MountFlags, MountSpec, Propagation, RootfsPropagation } from './policy/mounts';
export type { RlimitSpec } from './policy/process';
export type { IdMapping, UsernsSpec } from './policy/userns';
export type { ResourcesSpec, ThrottleDevice } from './policy/resources';
export type { ContainerStats } from './cgroup-stats';
export type { DeviceNode, DeviceNodeInput, DeviceNodeSpec } from './policy/nodes';
export type { ExplainSubject, Explanation, SyscallExplanation } from './policy/explain';
export type { OciSeccomp, SeccompArch, SeccompSpec } from './policy/seccomp';
export { profiles, defineProfile, type Profile, type ProfileName, type ProfileDefinition } from './policy/profiles';
export { toOciConfig, fromOciConfig, type OciConfigFragment, type OciDeviceCgroupRule } from './oci/profile';
export { CAPABILITY_NAMES, normalizeCapability, type CapabilitySetName, type CapabilitySets, type CapabilityChange } from './policy/capabilities';
export {
  parseDeviceRule, formatDeviceRule, type DeviceNumber, type DeviceRule, type DeviceRuleInput, type DeviceType,
} from './policy/devices';
