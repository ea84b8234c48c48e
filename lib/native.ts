// The addon, loaded once from the package root (prebuilds/ first, then build/).
import { join } from 'node:path';
import nodeGypBuild from 'node-gyp-build';

/** The plan object src-native/plan_from_js.cc reads. */
export interface NativePlan {
  id: string;
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
  loopbackUp: boolean;
  mounts: { kind: string; source: string; destination: string; readonly: boolean; recursive: boolean; mode: string; size: string }[];
  readonlyRootfs: boolean;
  sysReadonly: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges: boolean;
  dieWithParent: boolean;
  stdio: string;
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  deviceBackend: 'v1' | 'v2';
  deviceRules: { type: string; major: number; minor: number; access: number; allow: boolean }[];
}

export interface NativeContainer {
  readonly pid: number;
  takeStdio(): [number, number, number];
  start(): Promise<void>;
  signal(sig: number): boolean;
  killAll(): void;
  onExit(cb: (code: number | null, signal: number | null) => void): void;
  release(): Promise<void>;
}

interface Binding {
  create(plan: NativePlan): Promise<NativeContainer>;
}

export const binding: Binding = nodeGypBuild(join(__dirname, '..', '..'));
