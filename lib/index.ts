// Public API: everything a user imports comes from here (and is typed in ../index.d.ts).
export { ContainerError, type ContainerErrorCode } from './errors';
export { Container, createContainer, type ContainerState, type ExitStatus } from './container';
export { run, type RunResult, type RunSpec } from './run';
export type { ContainerSpec, MountSpec, NamespaceName, StdioMode, UserSpec } from './spec';
export { profiles, type Profile, type ProfileName } from './policy/profiles';
export { CAPABILITY_NAMES, normalizeCapability, type CapabilitySets } from './policy/capabilities';
export { parseDeviceRule, formatDeviceRule, type DeviceRule, type DeviceRuleInput } from './policy/devices';
