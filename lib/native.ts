// The addon, loaded once from the package root (prebuilds/ first, then build/).
import { join } from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { V1Write } from './policy/devices';

/** The plan object src-native/plan_from_js.cc reads. */
export interface NativePlan {
  id: string;
  creator: string;
  rootfs: string;
  hostRoot: boolean;
  stagingDir: string;
  execCandidates: string[];
  argv: string[];
  env: string[];
  cwd: string;
  hostname: string;
  uid: number;
  gid: number;
  groups: number[];
  namespaces: string[];
  /** Namespaces joined by path (the parent opens them, the init enters them first). */
  joinNamespaces: { type: string; path: string }[];
  loopbackUp: boolean;
  rootfsDev: bigint;
  rootfsIno: bigint;
  mounts: { kind: string; source: string; sourceDev: bigint; sourceIno: bigint; destination: string; readonly: boolean; recursive: boolean; nosuid: boolean; nodev: boolean; noexec: boolean; atime: string; propagation: string; mode: string; size: string }[];
  readonlyRootfs: boolean;
  sysReadonly: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  nodes: NativeNode[];
  noNewPrivileges: boolean;
  dieWithParent: boolean;
  /** The creator's nice value: setup runs lower, the command gets this back. */
  priority: number;
  stdio: string;
  rlimits: NativeRlimit[];
  /** Paths below /proc/sys and their values. */
  sysctlKeys: string[];
  sysctlValues: string[];
  /** Detached containers: the FIFO the init waits on after the start message ("" otherwise). */
  execFifo: string;
  terminal: boolean;
  consoleSocket: string;
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  deviceBackend: 'v1' | 'v2';
  devicePolicy: NativePolicy;
  v1Writes: V1Write[];
}

export interface NativeRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** A process to run in a running container (src-native/init/exec.cc). */
export interface NativeExec {
  execCandidates: string[];
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  noNewPrivileges: boolean;
  rlimits: NativeRlimit[];
  terminal: boolean;
  consoleSocket: string;
  priority: number;
  caps: NativeCaps;
  detach: boolean;
  stdio: 'pipe' | 'inherit' | 'ignore';
}

export interface NativeAttach {
  pid: number;
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  deviceBackend: 'v1' | 'v2';
  /** The init leads a pid namespace of its own (its death ends every process in it). */
  pidNamespace: boolean;
}

export interface NativeNode {
  path: string;
  type: 'b' | 'c';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
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

export interface NativeCaps {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface NativeJoin {
  node: NativeNode;
  asContainer: boolean;
  uid: number;
  gid: number;
  groups: number[];
  caps: bigint;
}

export interface NativeContainer {
  readonly pid: number;
  takeStdio(): [number, number, number];
  /** Detached: sends the capability sets and lets go; the init then waits on its FIFO. */
  start(caps: NativeCaps, detached: boolean): Promise<void>;
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
  releaseCgroups(cgroupV2Dir: string, cgroupV1Devices: string): Promise<void>;
  /** The markers of a cgroup directory the library made: its container's id and creator ("<pid> <start time>"); "" when missing. */
  cgroupMarkers(dir: string): { id: string; creator: string };
}

export const binding: Binding = nodeGypBuild(join(__dirname, '..', '..'));
