// createContainer(): a spec, checked and resolved, made into a container in state 'created'.
import { realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import createDebug from 'debug';
import { cgroupDirs, limitWrites, missingCgroupFile, ownCgroupBase, ROOT_BASE } from '../cgroup';
import { ContainerError, fromNative, quote } from '../errors';
import { checkMapped, type ResolvedUserns } from '../policy/userns';
import { releaseRange, reserveRange } from '../userns-ranges';
import { defaultDeviceBackend, type DeviceBackend, type HostInfo, hostInfo } from '../host';
import { Limiter } from '../limiter';
import { binding, type NativeContainer, type NativePlan } from '../native';
import { type HostPaths, toNativePlan } from '../plan';
import { compileDeviceRules } from '../policy/devices';
import { type ContainerSpec, type ResolvedSpec, resolveSpec } from '../spec';
import { Container } from './container';

const debug = createDebug('nsbox:container');

/**
 * Setups in flight: one CPU fewer than the machine has, so one stays for the event loop
 * that drives them (see limiter.ts), and at least one. NSBOX_MAX_SETUPS overrides it.
 */
const setups = new Limiter(Number(process.env.NSBOX_MAX_SETUPS) > 0 ? Number(process.env.NSBOX_MAX_SETUPS)
  : Math.max(1, availableParallelism() - 1));

function abortError(id: string): ContainerError {
  return new ContainerError('ABORT_ERR', `container ${id}: aborted`);
}

/**
 * The host paths of a spec (rootfs, bind sources), checked once here: what is there.
 * The init opens each path once and checks it finds the same file (child_mounts.cc),
 * so a path exchanged in between (by a container sharing its directory) fails
 * creation. The rootfs must be named by its real path, which the init opens without
 * following any symlink; a bind source follows its links (as Docker and runc do), and
 * is what the kernel resolves it to: realpath would misread /proc's magic links.
 */
async function resolveHostPaths(r: ResolvedSpec, host: HostInfo): Promise<HostPaths> {
  const resolved = async (path: string, real: boolean) => {
    const name = real ? await realpath(path).catch(() => null) : path;
    const st = name === null ? null : await stat(name, { bigint: true }).catch(() => null);
    return name === null || st === null ? null : { path: name, dev: st.dev, ino: st.ino, dir: st.isDirectory() };
  };
  let rootfs: HostPaths['rootfs'] = null;
  if ('path' in r.rootfs) {
    const got = await resolved(r.rootfs.path, true);
    if (!got) throw new ContainerError('ERR_ROOTFS_NOT_FOUND', `rootfs ${quote(r.rootfs.path)} does not exist`);
    if (!got.dir) throw new ContainerError('ERR_INVALID_ROOTFS', `rootfs ${quote(r.rootfs.path)} is not a directory`);
    // The host's root in another spelling (a symlink to "/", "/tmp/.."): refused here with
    // a clear error; the init checks what it really opened again (child_mounts.cc).
    if (got.dev === host.root.dev && got.ino === host.root.ino) {
      throw new ContainerError('ERR_INVALID_ROOTFS', `rootfs ${quote(r.rootfs.path)} is the host's root directory; use { host: true } for its read-only view`);
    }
    // Whoever can write a directory on the way (a container sharing the rootfs's
    // parent) could point a symlink there at any host directory: the rootfs is named by
    // its real path, with no symlink in it.
    if (got.path !== r.rootfs.path) {
      throw new ContainerError('ERR_INVALID_ROOTFS', `rootfs ${quote(r.rootfs.path)} is reached through a symlink; give its real path ${quote(got.path)}`);
    }
    rootfs = got;
  }
  const mounts: HostPaths['mounts'] = [];
  for (const m of r.mounts) {
    if (m.kind !== 'bind') {
      mounts.push(null);
      continue;
    }
    const got = await resolved(m.source, false);
    if (!got) throw new ContainerError('ERR_MOUNT_SOURCE_NOT_FOUND', `mount source ${quote(m.source)} does not exist`);
    mounts.push(got);
  }
  return { rootfs, mounts };
}

function deviceBackend(r: ResolvedSpec, host: HostInfo): DeviceBackend {
  const backend = r.deviceBackend === 'auto' ? defaultDeviceBackend(host) : r.deviceBackend;
  if (backend === 'v2' && !host.cgroup2) throw new ContainerError('ERR_CGROUP_UNAVAILABLE', 'deviceBackend "v2": this host has no cgroup2 hierarchy');
  if (backend === 'v1' && !host.devicesV1) throw new ContainerError('ERR_CGROUP_UNAVAILABLE', 'deviceBackend "v1": this host has no v1 devices controller');
  return backend;
}

/**
 * Creates a container in state 'created': namespaces, cgroups, root filesystem, /dev,
 * capabilities and device rules are in place; the command runs at start().
 */
export async function createContainer(spec: ContainerSpec): Promise<Container> {
  const host = hostInfo();
  const limits = { lastCap: host.lastCap, available: host.capBounding };
  const r = resolveSpec(spec, limits);
  const signal = spec.signal;
  if (signal?.aborted) throw abortError(r.id);
  const backend = deviceBackend(r, host);
  const paths = await resolveHostPaths(r, host);
  const policy = compileDeviceRules(r.devices);
  const base = r.cgroupPathFrom === 'self' ? ownCgroupBase(host) : ROOT_BASE;
  const cgroups = cgroupDirs(r.cgroupPath, host, backend, base);
  const writes = limitWrites(r.resources, [base.v2, r.cgroupPath].filter((p) => p).join('/'), cgroups, host);
  // An 'auto' user namespace takes its free range now, named after the cgroup that shows it live.
  const range = r.userns === 'auto'
    ? await reserveRange(r.id, cgroups.cgroupV2Dir || cgroups.cgroupV1Devices || Object.values(cgroups.cgroupV1)[0] || '') : null;
  const userns = range ? range.maps : r.userns as ResolvedUserns | null;
  debug('%s: creating (%s backend%s)', r.id, backend, userns ? `, root is host uid ${userns.uidMappings[0].hostID}` : '');
  let native: NativeContainer;
  let plan: NativePlan;
  try {
    if (range) checkMapped(range.maps, r);
    plan = toNativePlan({ ...r, userns }, host, backend, policy, paths, cgroups, writes);
    native = await setups.run(() => binding.create(plan));
  } catch (e) {
    await releaseRange(range?.reservation);
    if (e instanceof ContainerError) throw e;
    const err = fromNative(e, `container ${r.id}`);
    if (err.code === 'ENOENT' && err.step === 'cgroup-limits') throw missingCgroupFile(err.path ?? '', err);
    if (err.code === 'EEXIST' && err.step === 'cgroup') {
      throw new ContainerError('ERR_CONTAINER_EXISTS', `container ${r.id}: its cgroup ${err.path} exists already (another container has this id or cgroupPath)`,
        { errno: err.errno, syscall: err.syscall, step: err.step, path: err.path });
    }
    throw err;
  }
  const container = new Container({
    id: r.id, user: r, namespaces: plan.namespaces, env: r.env, backend, limits, cgroups, stdio: r.stdio,
    seccompSpec: r.seccompSpec, hooks: r.hooks, bundle: r.bundle, annotations: r.annotations, idRange: range?.reservation ?? null,
  }, { caps: r.caps, rules: r.devices, policy, resources: r.resources, startFifo: r.detached?.startFifo ?? null, state: 'created', signal }, native);
  // Its namespaces and mounts exist, its root not pivoted yet, its command not begun:
  // prestart, createRuntime and createContainer, then the init goes on.
  try {
    await container.runCreateHooks();
  } catch (e) {
    await container.destroy();
    throw e;
  }
  if (r.detached) {
    // The capability sets go now: whoever starts it later only writes to the FIFO.
    try {
      await native.start(r.caps, true, ...container.startFilter('creating'));
    } catch (e) {
      await container.destroy();
      throw fromNative(e, `container ${r.id}`);
    }
  }
  if (signal?.aborted) {
    await container.destroy();
    throw abortError(r.id);
  }
  debug('%s: created, init pid %d', r.id, container.pid);
  return container;
}
