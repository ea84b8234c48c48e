// Public type surface of nsbox. Kept equal to what lib/index.ts exports; the test
// test/api-surface.test.ts compares the two member by member.
/// <reference types="node" />
import type { Readable, Writable } from 'node:stream';

// ---- errors -----------------------------------------------------------------

/** Stable codes for errors raised before anything is created. Setup failures use the errno name (e.g. 'EPERM'). */
export type ContainerErrorCode =
  | 'ERR_INVALID_SPEC'
  | 'ERR_INVALID_COMMAND'
  | 'ERR_INVALID_ROOTFS'
  | 'ERR_ROOTFS_NOT_FOUND'
  | 'ERR_INVALID_PATH'
  | 'ERR_INVALID_CAPABILITY'
  | 'ERR_CAPABILITY_UNAVAILABLE'
  | 'ERR_INVALID_DEVICE_RULE'
  | 'ERR_INVALID_PROFILE'
  | 'ERR_INVALID_MOUNT'
  | 'ERR_MOUNT_SOURCE_NOT_FOUND'
  | 'ERR_UNSUPPORTED'
  | 'ERR_CGROUP_UNAVAILABLE'
  | 'ERR_CONTAINER_STATE'
  | 'ERR_NOT_ROOT'
  | 'ABORT_ERR'
  | (string & {});

export interface ContainerErrorDetails {
  errno?: number;
  syscall?: string;
  step?: string;
  path?: string;
  cause?: unknown;
}

/** The one error type of the library: a stable `code`, and for setup failures the step, call and errno. */
export declare class ContainerError extends Error {
  readonly code: ContainerErrorCode;
  readonly errno?: number;
  readonly syscall?: string;
  readonly step?: string;
  readonly path?: string;
  constructor(code: ContainerErrorCode, message: string, details?: ContainerErrorDetails);
}

// ---- policy -----------------------------------------------------------------

export type CapabilitySetName = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';
/** The five sets as capability names (any accepted spelling on input, CAP_* on output). */
export type CapabilitySets = Record<CapabilitySetName, readonly string[]>;

/** Capability names indexed by number. */
export declare const CAPABILITY_NAMES: readonly string[];
/** 'CAP_SYS_ADMIN', 'SYS_ADMIN' and 'sys_admin' all become 'CAP_SYS_ADMIN'. */
export declare function normalizeCapability(name: unknown, lastCap?: number): string;

export type DeviceType = 'a' | 'b' | 'c';
export type DeviceNumber = number | '*';
export interface DeviceRule {
  readonly type: DeviceType;
  readonly major: DeviceNumber;
  readonly minor: DeviceNumber;
  /** A non-empty subset of 'rwm', in that order once normalized. */
  readonly access: string;
  /** false for a deny rule; default true. */
  readonly allow: boolean;
}
export type DeviceRuleInput = string | {
  type: DeviceType;
  major: DeviceNumber;
  minor: DeviceNumber;
  access: string;
  allow?: boolean;
};
/** Accepts 'c 10:232 rwm', 'a', or { type, major, minor, access, allow }. */
export declare function parseDeviceRule(input: unknown): DeviceRule;
export declare function formatDeviceRule(r: DeviceRule): string;

export interface Profile {
  readonly name: string;
  /** 'ALL' in a set stands for every capability the kernel and this process have. */
  readonly capabilities: CapabilitySets;
  readonly devices: readonly DeviceRule[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysReadonly: boolean;
  readonly noNewPrivileges: boolean;
}
export declare const profiles: Readonly<{
  /** The seed model: Docker's 14 capabilities (CAP_MKNOD included), create any node, use the whitelist. */
  default: Readonly<Profile>;
  /** Every capability, every device, nothing masked, /sys writable. */
  privileged: Readonly<Profile>;
}>;
export type ProfileName = keyof typeof profiles;

// ---- spec -------------------------------------------------------------------

export type NamespaceName = 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup';
export type MountSpec =
  | { type: 'bind'; source: string; destination: string; readonly?: boolean; recursive?: boolean }
  | { type: 'tmpfs'; destination: string; readonly?: boolean; mode?: number; size?: number | string };
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
  /** A directory, or { host: true }: the host's own filesystem, read-only, with fresh /dev, /proc, /sys, /tmp, /run. */
  rootfs?: string | { host: true };
  env?: Record<string, string> | string[];
  cwd?: string;
  hostname?: string;
  user?: UserSpec;
  namespaces?: NamespaceName[];
  mounts?: MountSpec[];
  readonlyRootfs?: boolean;
  stdio?: StdioMode;
  signal?: AbortSignal;
  /** Replaces the named sets of the profile. */
  capabilities?: Partial<CapabilitySets>;
  /** Device cgroup rules appended to the profile's (like docker --device-cgroup-rule). */
  devices?: DeviceRuleInput[];
  noNewPrivileges?: boolean;
  /** Which device cgroup enforces the rules: 'auto' picks cgroup2 (BPF) when the host has it. */
  deviceBackend?: 'auto' | 'v1' | 'v2';
}

// ---- lifecycle --------------------------------------------------------------

export type ContainerState = 'created' | 'running' | 'stopped' | 'destroyed';
export interface ExitStatus {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export declare class Container {
  readonly id: string;
  /** The init's pid on the host. */
  readonly pid: number;
  /** Pipes to the container's fds 0..2 when stdio is 'pipe', else null. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  get state(): ContainerState;
  /** Executes the command. Only from 'created'. */
  start(): Promise<void>;
  /** Resolves once, when the container's init exits. */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to the container's init; false when it is not running any more. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Kills whatever still runs, reaps, removes cgroups, closes fds and pipes. Idempotent. */
  destroy(): Promise<void>;
}

/** Creates a container in state 'created': everything is in place, the command runs at start(). */
export declare function createContainer(spec: ContainerSpec): Promise<Container>;

export interface RunSpec extends ContainerSpec {
  /** Written to the container's stdin, which is then closed. */
  input?: string | Uint8Array;
}
export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
}
/** create + start + wait + destroy, collecting output. */
export declare function run(spec: RunSpec): Promise<RunResult>;
