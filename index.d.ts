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
  | 'ERR_INVALID_MODE'
  | 'ERR_INVALID_PROFILE'
  | 'ERR_INVALID_MOUNT'
  | 'ERR_MOUNT_SOURCE_NOT_FOUND'
  | 'ERR_INVALID_OCI_CONFIG'
  | 'ERR_INVALID_SIGNAL'
  | 'ERR_INVALID_ARG'
  | 'ERR_UNSUPPORTED'
  | 'ERR_CGROUP_UNAVAILABLE'
  | 'ERR_CONTAINER_STATE'
  | 'ERR_CONTAINER_GONE'
  | 'ERR_CONTAINER_EXISTS'
  | 'ERR_CONTAINER_NOT_FOUND'
  | 'ERR_NOT_ROOT'
  | 'ERR_INTERNAL'
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
/** A change in Docker's terms (--cap-add, --cap-drop), or a whole new list. */
export type CapabilityChange = { add?: readonly string[]; drop?: readonly string[] } | readonly string[];

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

export interface DeviceNode {
  readonly path: string;
  readonly type: 'b' | 'c';
  readonly major: number;
  readonly minor: number;
  /** Permission bits, 0..0o7777; default 0o666. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** A node as a caller describes it: mode 0o666 and owner 0:0 unless given. */
export type DeviceNodeSpec = Omit<DeviceNode, 'path' | 'mode' | 'uid' | 'gid'> & { mode?: number; uid?: number; gid?: number };
export type DeviceNodeInput = DeviceNodeSpec & { path: string };

export interface Profile {
  readonly name: string;
  /** 'ALL' in a set stands for every capability the kernel and this process have. */
  readonly capabilities: CapabilitySets;
  /** Device cgroup rules, in order (see devices.ts for their meaning). */
  readonly devices: readonly DeviceRule[];
  /** Device nodes created in the rootfs at setup (each gets an rwm rule, as in runc). */
  readonly nodes: readonly DeviceNode[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly MountSpec[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysReadonly: boolean;
  readonly noNewPrivileges: boolean;
}
export declare const profiles: Readonly<{
  /** The seed model: Docker's 14 capabilities (CAP_MKNOD included), create any node, use the whitelist. */
  default: Profile;
  /** Every capability, every device, nothing masked, /sys writable. */
  privileged: Profile;
  /** For systemd as init: no CAP_MKNOD (systemd then skips udev and device units), tmpfs /run, /run/lock, /tmp. */
  systemd: Profile;
  /** systemd-nspawn's closed device policy and capability set: no wildcard mknod. */
  nspawn: Profile;
  /** No capabilities, no mknod at all, the whitelist read/write only, no_new_privs. */
  strict: Profile;
}>;
export type ProfileName = keyof typeof profiles;

export interface ProfileDefinition {
  name?: string;
  /** The profile to start from; 'default' when omitted. */
  extends?: ProfileName | Profile;
  /** Applied to bounding, effective and permitted (Docker's --cap-add/--cap-drop; 'ALL' works). */
  capabilities?: { add?: string[]; drop?: string[] };
  /** Rules appended to the base's: the allows, then the denies. */
  devices?: { allow?: DeviceRuleInput[]; deny?: DeviceRuleInput[] };
  nodes?: DeviceNodeInput[];
  env?: Record<string, string>;
  mounts?: MountSpec[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysReadonly?: boolean;
  noNewPrivileges?: boolean;
}
/** Composes a profile from a base and changes; every field is validated. */
export declare function defineProfile(def: ProfileDefinition): Profile;

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
/** The OCI fields of a profile ('ALL' expanded to every capability name known). */
export declare function toOciConfig(profile: Profile): OciConfigFragment;
/** A profile from an OCI config (or the fragment toOciConfig makes). */
export declare function fromOciConfig(json: unknown, name?: string): Profile;

/** What explain() looks at: a Profile, or a Container (its current rules and sets). */
export interface ExplainSubject {
  readonly devices: readonly DeviceRule[];
  readonly capabilities: CapabilitySets;
  /** The container's uid; a profile is explained for root. */
  readonly uid?: number;
}
export interface ExplainQuery {
  /** 'c 10:232', 'b 7:0', or a path such as '/dev/kvm'. */
  device: string;
  /** A non-empty subset of 'rwm' asked as one request, as open(2) asks for rw. */
  access: string;
}
export interface Explanation {
  allowed: boolean;
  /** The rule that decided, or null when no rule named the device. */
  rule: DeviceRule | null;
  reason: string;
}
/** Why `subject` may or may not use a device, with the kernel's semantics. */
export declare function explain(subject: ExplainSubject, query: ExplainQuery): Explanation;

// ---- spec -------------------------------------------------------------------

export type NamespaceName = 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup';
/** The namespaces a container can join by path (its mount and pid namespaces are always its own). */
export type JoinableNamespace = 'uts' | 'ipc' | 'net' | 'cgroup';
export type AtimeMode = 'relatime' | 'strictatime' | 'noatime';
/** Flags every mount may carry; a tmpfs is always nosuid and nodev. Unknown fields are errors. */
export interface MountFlags {
  readonly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** The kernel's default (relatime) when omitted. */
  atime?: AtimeMode;
}
export type MountSpec =
  | ({
    type: 'bind'; source: string; destination: string; recursive?: boolean;
    /** 'slave' when omitted: host mounts made later below the source appear inside; 'private': they do not. */
    propagation?: 'private' | 'slave';
  } & MountFlags)
  | ({ type: 'tmpfs'; destination: string; mode?: number; size?: number | string } & MountFlags);
export interface HostRootfs {
  host: true;
  /** Paths of the host masked inside (an empty directory, or /dev/null for a file); HOST_HIDDEN_PATHS when omitted. */
  hide?: string[];
}
/** Password hashes, host keys, homes and other runtimes' state: hidden from the host-rootfs view by default. */
export declare const HOST_HIDDEN_PATHS: readonly string[];
export interface UserSpec {
  uid: number;
  gid?: number;
  groups?: number[];
}
export type StdioMode = 'pipe' | 'inherit' | 'ignore';
/** A resource limit: type 'RLIMIT_NOFILE' or 'NOFILE'; limits are numbers, bigints or 'unlimited'. */
export interface RlimitSpec {
  type: string;
  soft: number | bigint | 'unlimited';
  hard: number | bigint | 'unlimited';
}

export interface ContainerSpec {
  /** argv of the container's process; a name without '/' is looked up in the container's PATH. */
  command: string[];
  /** [A-Za-z0-9_.-], 1..64 characters; random when omitted. */
  id?: string;
  profile?: ProfileName | Profile;
  /** A directory, or { host: true }: the host's own filesystem, read-only, with fresh /dev, /proc, /sys, /tmp, /run. */
  /** A directory, or the host's own filesystem read-only, with `hide` (default HOST_HIDDEN_PATHS) masked. */
  rootfs?: string | HostRootfs;
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
  /** Resource limits set before the command runs (raising a hard limit needs CAP_SYS_RESOURCE here). */
  rlimits?: RlimitSpec[];
  /** Namespaced sysctls ("net.ipv4.ip_forward": "1"), written in the container's own namespaces. */
  sysctl?: Record<string, string>;
  /** The cgroup directory below each hierarchy's root (OCI linux.cgroupsPath); "nsbox/<id>" by default. */
  cgroupPath?: string;
  /** Existing namespaces to join instead of new ones, e.g. { net: '/proc/1234/ns/net' } (OCI linux.namespaces[].path). */
  joinNamespaces?: Partial<Record<JoinableNamespace, string>>;
  /** A pty inside the container; its master is sent over the unix socket at consoleSocket; /dev/console is its slave. */
  terminal?: { consoleSocket: string };
  /** The container outlives its creator and is started by a byte written to startFifo, from any process. */
  detached?: { startFifo: string };
}

// ---- lifecycle --------------------------------------------------------------

export type ContainerState = 'created' | 'running' | 'stopped' | 'destroyed';
export interface ExitStatus {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A host device handed to the container, like docker run --device. */
export interface DevicePassthrough {
  /** The host's node; symlinks are resolved. */
  hostPath: string;
  /** Where the node appears in the container; the host path when omitted. */
  path?: string;
  /** Default 'rwm'. */
  access?: string;
}
/** What attachContainer() needs to take a container over from another process; plain JSON. */
export interface ContainerHandle {
  id: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat, against pid reuse. */
  pidStartTime: string;
  namespaces: NamespaceName[];
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  deviceBackend: 'v1' | 'v2';
  devices: DeviceRule[];
  capabilities: CapabilitySets;
  user: { uid: number; gid: number; groups: number[] };
  env: string[];
  /** Present until the container is started. */
  startFifo: string | null;
}

/** A process to run inside a running container; its stdio is the caller's fds 0..2 (or the terminal). */
export interface ExecSpec {
  command: string[];
  env?: Record<string, string> | string[];
  cwd?: string;
  user?: UserSpec;
  capabilities?: Partial<CapabilitySets>;
  noNewPrivileges?: boolean;
  rlimits?: RlimitSpec[];
  terminal?: { consoleSocket: string };
  /**
   * 'pipe' (default): stdin/stdout/stderr streams. 'inherit': this process's own fds
   * 0..2, which the command can then read, write and reopen: only for commands trusted
   * with them. 'ignore': /dev/null.
   */
  stdio?: StdioMode;
  /** Leave the process to itself (it goes to the nearest subreaper when the caller exits); no wait(). */
  detach?: boolean;
}
export interface ExecProcess {
  pid: number;
  /** Pipes to the process's fds 0..2 when its stdio is 'pipe', else null. */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  wait(): Promise<ExitStatus>;
}

export declare class Container {
  readonly id: string;
  /** The init's pid on the host. */
  readonly pid: number;
  /** A pipe to the container's fd 0 when stdio is 'pipe', else null. */
  get stdin(): Writable | null;
  /** A pipe from the container's fd 1 when stdio is 'pipe', else null. */
  get stdout(): Readable | null;
  /** A pipe from the container's fd 2 when stdio is 'pipe', else null. */
  get stderr(): Readable | null;
  get state(): ContainerState;
  /** The device rules in force, the profile's first, live changes last. */
  get devices(): readonly DeviceRule[];
  /** The capability sets the command runs (or will run) with. */
  get capabilities(): CapabilitySets;
  /** The uid the command runs as. */
  get uid(): number;
  /** What attachContainer() needs to take this container over from another process. */
  get handle(): ContainerHandle;
  /** Changes bounding, effective and permitted before start; 'created' only. */
  setCapabilities(change: CapabilityChange): CapabilitySets;
  /** Allows a device now, live for the next open(); a rule or a host node to pass through. */
  allowDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void>;
  /** Takes a device away again (a deny rule). */
  denyDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void>;
  /** Creates a node as the container would: its mount namespace, device cgroup, ids and capabilities. */
  mknodInside(path: string, node: DeviceNodeSpec): Promise<void>;
  /** Executes the command. Only from 'created'. */
  start(): Promise<void>;
  /** Resolves once, when the container's init exits; output may still be on its way (see run()). */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to the container's init; false when it is not running any more. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Runs another process in the running container: its namespaces, cgroups, user and capabilities. */
  exec(spec: ExecSpec): Promise<ExecProcess>;
  /** The host pids of every process in the container's cgroup. */
  processes(): Promise<number[]>;
  /** Freezes every process of the container (cgroup2 freezer). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  paused(): Promise<boolean>;
  /** Kills whatever still runs, reaps, removes cgroups, closes fds and pipes. Idempotent. */
  destroy(): Promise<void>;
}

/** Creates a container in state 'created': everything is in place, the command runs at start(). */
export declare function createContainer(spec: ContainerSpec): Promise<Container>;
/** Takes over a detached container from its handle; ERR_CONTAINER_GONE when its init has exited. */
export declare function attachContainer(handle: ContainerHandle): Container;

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

export declare function setCapabilities(c: Container, change: CapabilityChange): CapabilitySets;
export declare function allowDevice(c: Container, rule: DeviceRuleInput | DevicePassthrough): Promise<void>;
export declare function denyDevice(c: Container, rule: DeviceRuleInput | DevicePassthrough): Promise<void>;
export declare function mknodInside(c: Container, path: string, node: DeviceNodeSpec): Promise<void>;
