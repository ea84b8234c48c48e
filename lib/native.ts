// The addon, loaded once from the package root (prebuilds/ first, then build/).
import { join } from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { CapabilityMasks } from './policy/capabilities';
import type { V1Write } from './policy/devices';
import type { ResolvedMount } from './policy/mounts';
import type { DeviceNode } from './policy/nodes';
import type { ResolvedSpec } from './spec';

/**
 * The resolved spec's fields the addon reads as they are, same name and same shape
 * (src-native/plan.h: NSBOX_COMMAND_FIELDS, then NSBOX_CONTAINER_FIELDS; the addon
 * ignores keys it does not list). lib/plan.ts copies them; every other field of the
 * native plan is mapped there.
 */
export const COMMAND_AS_RESOLVED = ['execCandidates', 'argv', 'env', 'cwd', 'uid', 'gid', 'groups', 'noNewPrivileges', 'umask', 'rlimits', 'stdio'] as const;
export const CONTAINER_AS_RESOLVED = ['id', 'namespaces', 'joinNamespaces', 'readonlyRootfs', 'rootfsPropagation', 'nodes', 'sysctl', 'oomScoreAdj'] as const;

/** What to run, in a new container or an existing one. */
export type NativeCommand = Pick<ResolvedSpec, (typeof COMMAND_AS_RESOLVED)[number]> & {
  terminal: boolean;
  /** Where the terminal's master goes ("" without a terminal). */
  consoleSocket: string;
  /** The creator's nice value: setup runs lower, the command gets this back. */
  priority: number;
  /** The compiled syscall filter, two words per instruction (policy/seccomp.ts packSeccomp); empty for none. */
  seccomp: Uint32Array;
  seccompFlags: number;
  /**
   * A notifying filter's listener socket ("" for none), and the message around the
   * process's pid that goes with the fd (policy/seccomp.ts listenerMessage).
   */
  seccompListenerPath: string;
  seccompListenerHead: string;
  seccompListenerTail: string;
};

/** The plan object src-native/plan_from_js.cc reads for create(). */
export type NativePlan = NativeCommand & Pick<ResolvedSpec, (typeof CONTAINER_AS_RESOLVED)[number]> & {
  creator: string;
  rootfs: string;
  rootfsDev: bigint;
  rootfsIno: bigint;
  hostRoot: boolean;
  stagingDir: string;
  /** The init waits before pivot_root until resume(), for the runtime's hooks. */
  hooksPause: boolean;
  hostname: string;
  domainname: string;
  personality: number;
  loopbackUp: boolean;
  /** With 'user' among the namespaces: the maps the addon writes for the init, as /proc/<pid>/uid_map takes them. */
  uidMap: string;
  gidMap: string;
  /** The tty group of /dev/pts; -1 where the user namespace maps no gid 5. */
  devptsGid: number;
  /** A user namespace's directory rootfs through an idmapped mount the addon makes. */
  idmapRootfs: boolean;
  /** The source as the library resolved it, and the file found there. */
  mounts: (ResolvedMount & { sourceDev: bigint; sourceIno: bigint })[];
  sysReadonly: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  dieWithParent: boolean;
  /** Detached containers: the FIFO the init waits on after the start message ("" otherwise). */
  startFifo: string;
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  /** Every v1 directory the init joins, the devices one included. */
  cgroupV1: { dir: string }[];
  /** Limits the parent writes before the clone, in order. */
  cgroupWrites: { path: string; value: string }[];
  deviceBackend: 'v1' | 'v2';
  devicePolicy: NativePolicy;
  v1Writes: V1Write[];
};

export type NativeCaps = CapabilityMasks;

/** A process to run in a running container (src-native/init/exec.cc). */
/** `joinUser`: the container has a user namespace, which the process enters first. */
export type NativeExec = NativeCommand & { caps: NativeCaps; detach: boolean; joinUser: boolean };

export interface NativeAttach {
  pid: number;
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  /** Every v1 directory, the devices one included. */
  cgroupV1: string[];
  deviceBackend: 'v1' | 'v2';
  /** The init leads a pid namespace of its own (its death ends every process in it). */
  pidNamespace: boolean;
}

/** -1 for '*'; access is the BPF_DEVCG_ACC_* bits. */
export interface NativeException {
  type: 'b' | 'c';
  major: number;
  minor: number;
  access: number;
}

export interface NativePolicy {
  defaultAllow: boolean;
  exceptions: NativeException[];
}

export type NativeJoin = Pick<ResolvedSpec, 'uid' | 'gid' | 'groups'> & {
  node: DeviceNode;
  asContainer: boolean;
  /** Effective and permitted. */
  caps: bigint;
  /** A container with a user namespace: the host's node at this path is bound at node.path instead of made ("" otherwise). */
  bindHost: string;
};

/** Where a filter's listener fd goes, and the message around the process's pid that goes with it. */
export interface NativeListener {
  path: string;
  head: string;
  tail: string;
}

export interface NativeContainer {
  readonly pid: number;
  takeStdio(): [number, number, number];
  /** Detached: sends the capability sets and lets go; the init then waits on its FIFO. */
  /** `seccomp`: the filter built for `caps` (packSeccomp), empty for none; installed by the init right before exec. */
  /** A plan with hooksPause: the init goes on from its pause; resolves once its setup is done. */
  resume(): Promise<void>;
  /** `listener`: where the init's listener fd goes (a notifying filter), handed on before start resolves. */
  start(caps: NativeCaps, detached: boolean, seccomp: Uint32Array, seccompFlags: number, listener: NativeListener | null): Promise<void>;
  /** stdio: our ends of the command's pipes, -1 each unless stdio is 'pipe'. */
  exec(plan: NativeExec): Promise<{ pid: number; helper: NativeContainer | null; stdio: [number, number, number] }>;
  /** `single`: the one exception that changed (access 0: gone), updated in place on the v2 backend. */
  updateDevices(policy: NativePolicy, v1Writes: V1Write[], single: NativeException | null): Promise<void>;
  join(plan: NativeJoin): Promise<void>;
  signal(sig: number): boolean;
  killAll(): void;
  onExit(cb: (code: number | null, signal: number | null) => void): void;
  release(): Promise<void>;
}

interface Binding {
  create(plan: NativePlan): Promise<NativeContainer>;
  attach(target: NativeAttach): NativeContainer;
  /** Kills what is left in a dead container's cgroups and removes them. */
  releaseCgroups(cgroupV2Dir: string, cgroupV1: string[]): Promise<void>;
  /** The markers of a cgroup directory the library made: its container's id and creator ("<pid> <start time>"); "" when missing. */
  cgroupMarkers(dir: string): { id: string; creator: string };
}

export const binding: Binding = nodeGypBuild(join(__dirname, '..', '..'));
