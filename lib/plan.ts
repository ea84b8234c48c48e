// Turns a resolved spec and the host's facts into the addon's plan.
import { formatMap, mapToHost } from './policy/userns';
import os from 'node:os';
import { type CgroupDirs, v1DirList } from './cgroup';
import type { HostInfo } from './host';
import { COMMAND_AS_RESOLVED, CONTAINER_AS_RESOLVED, type NativeCaps, type NativeCommand, type NativeException, type NativeExec, type NativeListener, type NativePlan, type NativePolicy } from './native';
import { accessBits, type DeviceException, type DevicePolicy, v1Writes } from './policy/devices';
import { pausesForHooks } from './policy/hooks';
import { compileSeccomp, installFlags, listenerMessage, packSeccomp, type SeccompFilter } from './policy/seccomp';
import type { ResolvedSpec } from './spec';

function pick<T, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

export function nativeException(e: DeviceException): NativeException {
  return { type: e.type, major: e.major === '*' ? -1 : e.major, minor: e.minor === '*' ? -1 : e.minor, access: accessBits(e.access) };
}

export function nativePolicy(p: DevicePolicy): NativePolicy {
  return { defaultAllow: p.defaultAllow, exceptions: p.exceptions.map(nativeException) };
}

/** A host path as the library resolved it: no symlink left, and the file found there. */
export interface ResolvedHostPath {
  path: string;
  dev: bigint;
  ino: bigint;
}

/** The spec's host paths, resolved (container.ts): the rootfs directory, and each mount's source (null for a tmpfs). */
export interface HostPaths {
  rootfs: ResolvedHostPath | null;
  mounts: (ResolvedHostPath | null)[];
}

/** The resolved fields of what to run: a container's command, or an exec'd one's (container/exec.ts). */
export type ResolvedCommand = Pick<ResolvedSpec, (typeof COMMAND_AS_RESOLVED)[number] | 'terminal'> & {
  /** The syscall filter this process installs before exec; null for none. */
  seccomp: SeccompFilter | null;
};

/**
 * A filter as the addon takes it: its program (compiled once per distinct filter, the
 * compiler caches by content), the flags it is installed with, and where a notifying
 * one's listener fd goes with `state`. For the init's start message and exec alike.
 */
export function nativeFilter(f: SeccompFilter | null, state: object | null): { seccomp: Uint32Array; seccompFlags: number; listener: NativeListener | null } {
  if (!f) return { seccomp: new Uint32Array(0), seccompFlags: 0, listener: null };
  return { seccomp: packSeccomp(compileSeccomp(f)), seccompFlags: installFlags(f), listener: state ? listenerMessage(f, state) : null };
}

/** What to run, for create() and exec(). `state`: what a notifying filter's listener gets with its fd. */
function nativeCommand(r: ResolvedCommand, state: object | null = null): NativeCommand {
  const { seccomp, seccompFlags, listener } = nativeFilter(r.seccomp, state);
  return {
    ...pick(r, COMMAND_AS_RESOLVED),
    terminal: r.terminal !== null,
    consoleSocket: r.terminal?.consoleSocket ?? '',
    priority: os.getPriority(),
    seccomp,
    seccompFlags,
    seccompListenerPath: listener?.path ?? '', seccompListenerHead: listener?.head ?? '', seccompListenerTail: listener?.tail ?? '',
  };
}

/** `caps`: the sets the process runs with; `detach`: the helper leaves once it started. */
export function toNativeExec(r: ResolvedCommand, caps: NativeCaps, detach: boolean, state: object | null = null, joinUser = false): NativeExec {
  return { ...nativeCommand(r, state), caps, detach, joinUser };
}

/** The name a v1 directory's hierarchy has under /sys/fs/cgroup: its mount point's last component. */
function hierarchyName(dir: string, host: HostInfo): string {
  const mount = [host.devicesV1, ...Object.values(host.v1)].find((m): m is string => !!m && dir.startsWith(`${m}/`));
  return mount ? mount.slice(mount.lastIndexOf('/') + 1) : '';
}

/** A user namespace's part of the plan: 'user' among the namespaces and the maps the addon writes. */
function usernsPlan(r: ResolvedSpec): Pick<NativePlan, 'namespaces' | 'uidMap' | 'gidMap' | 'devptsGid' | 'idmapRootfs'> {
  if (r.userns === 'auto') throw new Error('internal: an "auto" user namespace reaches the plan before its range was found');
  if (!r.userns) return { namespaces: r.namespaces, uidMap: '', gidMap: '', devptsGid: 5, idmapRootfs: false };
  return {
    // The host's own view stays as the host has it (its root's files read as nobody).
    idmapRootfs: r.userns.idmapRootfs && 'path' in r.rootfs,
    namespaces: [...r.namespaces, 'user'],
    uidMap: formatMap(r.userns.uidMappings),
    gidMap: formatMap(r.userns.gidMappings),
    // devpts refuses a tty group the namespace does not map.
    devptsGid: mapToHost(r.userns.gidMappings, 5) === null ? -1 : 5,
  };
}

/** `policy` is compileDeviceRules(r.devices) and `dirs` the container's cgroups, made once by the caller, who keeps them. */
export function toNativePlan(r: ResolvedSpec, host: HostInfo, backend: 'v1' | 'v2', policy: DevicePolicy, paths: HostPaths, dirs: CgroupDirs, cgroupWrites: NativePlan['cgroupWrites']): NativePlan {
  return {
    // The init's filter comes with its start message, built for the capabilities it starts with.
    ...nativeCommand({ ...r, seccomp: null }),
    ...pick(r, CONTAINER_AS_RESOLVED),
    rootfs: paths.rootfs?.path ?? '/',
    rootfsDev: paths.rootfs?.dev ?? 0n,
    rootfsIno: paths.rootfs?.ino ?? 0n,
    hostRoot: 'host' in r.rootfs,
    stagingDir: host.stagingDir,
    hooksPause: pausesForHooks(r.hooks),
    // Empty unless the container has a uts namespace of its own or names one to join.
    hostname: r.namespaces.includes('uts') || r.joinNamespaces.some((j) => j.type === 'uts') ? r.hostname : '',
    domainname: r.domainname,
    // PER_LINUX and PER_LINUX32 (linux/personality.h); -1 leaves the creator's.
    personality: r.personality === 'LINUX32' ? 8 : r.personality === 'LINUX' ? 0 : -1,
    loopbackUp: r.namespaces.includes('net'),
    ...usernsPlan(r),
    mounts: r.mounts.map((m, i) => {
      const src = paths.mounts[i];
      return { ...m, source: src?.path ?? m.source, sourceDev: src?.dev ?? 0n, sourceIno: src?.ino ?? 0n };
    }),
    sysReadonly: r.profile.sysReadonly,
    // The host's view also hides its private files, with the same masks.
    maskedPaths: 'host' in r.rootfs ? [...r.profile.maskedPaths, ...r.rootfs.hide] : [...r.profile.maskedPaths],
    readonlyPaths: [...r.profile.readonlyPaths],
    // A detached container outlives its creator; its start FIFO replaces the handshake.
    dieWithParent: !r.detached,
    creator: r.detached ? '' : host.creator,
    startFifo: r.detached?.startFifo ?? '',
    cgroupV2Dir: dirs.cgroupV2Dir,
    cgroupV1Devices: dirs.cgroupV1Devices,
    cgroupV1: v1DirList(dirs).map((dir) => ({ dir, name: hierarchyName(dir, host) })),
    cgroupWrites,
    deviceBackend: backend,
    devicePolicy: nativePolicy(policy),
    v1Writes: backend === 'v1' ? v1Writes(r.devices) : [],
  };
}
