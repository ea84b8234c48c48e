// attachContainer(): a container another process made, taken over from its handle;
// and what is left of one whose init has exited.
import { isReservation, releaseRange } from '../userns-ranges';
import { readFileSync } from 'node:fs';
import { checkCgroupMembers, releaseDeadCgroups, v1DirList } from '../cgroup';
import { ContainerError, fromNative, quote } from '../errors';
import { hostInfo } from '../host';
import { binding, type NativeContainer } from '../native';
import { compileDeviceRules } from '../policy/devices';
import { pidStartTime } from '../proc';
import { isContainerId } from '../spec';
import { Container } from './container';
import { removeFifo } from './fifo';
import { hookState, runHooksWarning } from './hooks';
import { resolveHooks } from '../policy/hooks';
import { checkHandle, checkStartFifo, type ContainerHandle, handleError } from './handle';

/**
 * True when `pid` is pid 1 of a pid namespace of its own (the last NSpid is 1): its
 * death ends every process in it. An init that joined a pod's namespace is not.
 */
function leadsPidNamespace(pid: number): boolean {
  const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/) ?? [];
  return nspid.length > 1 && nspid[nspid.length - 1] === '1';
}

/**
 * Takes over a container that outlives its creator, from its handle (Container.handle,
 * stored by whoever created it). Checks that the init still runs, by pid and start
 * time; throws ERR_CONTAINER_GONE when it does not. wait() of an attached container
 * resolves with a null exitCode and signal: its status goes to its parent.
 */
export function attachContainer(handle: ContainerHandle): Container {
  const host = hostInfo();
  const limits = { lastCap: host.lastCap, available: host.capBounding };
  const { handle: h, user, caps, rules, resources, seccompSpec, hooks, bundle, annotations } = checkHandle(handle, host, limits);
  const { id, pid } = h;
  const gone = () => new ContainerError('ERR_CONTAINER_GONE', `container ${id}: its init (pid ${pid}) has exited`);
  const started = pidStartTime(pid);
  if (started === null || started !== h.pidStartTime) throw gone();
  checkCgroupMembers(h, host, pid, handleError);
  checkStartFifo(h.startFifo, pid);
  let native: NativeContainer;
  try {
    native = binding.attach({
      pid, cgroupV2Dir: h.cgroupV2Dir, cgroupV1Devices: h.cgroupV1Devices, cgroupV1: v1DirList(h), deviceBackend: h.deviceBackend,
      // From the kernel, not the handle: how destroy() kills depends on it.
      pidNamespace: leadsPidNamespace(pid),
    });
  } catch (e) {
    const err = fromNative(e, `container ${id}`);
    if (err.errno === 3) throw gone();
    throw err;
  }
  return new Container({
    id, user, namespaces: h.namespaces, env: h.env, backend: h.deviceBackend, limits,
    cgroups: { cgroupV2Dir: h.cgroupV2Dir, cgroupV1Devices: h.cgroupV1Devices, cgroupV1: { ...h.cgroupV1 } }, stdio: 'ignore', seccompSpec, hooks, bundle, annotations,
    idRange: h.idRange ?? null,
  }, { caps, rules, policy: compileDeviceRules(rules), resources, startFifo: h.startFifo, state: h.startFifo !== null ? 'created' : 'running' }, native);
}

/**
 * What is left of a container whose init has exited, from its handle (the runtime
 * command line's delete): processes that outlived it are killed, its cgroups and its
 * start FIFO removed. Not part of the public API: attachContainer(...).destroy() does
 * this for a container that still runs.
 */
export async function releaseDeadContainer(handle: ContainerHandle): Promise<void> {
  if (!isContainerId(handle.id)) handleError(`bad id ${quote(handle.id)}`);
  await releaseDeadCgroups(handle, handle.id, hostInfo(), handleError);
  if (handle.startFifo) removeFifo(handle.startFifo, handle.id);
  if (handle.idRange !== undefined && !isReservation(handle.idRange)) handleError(`bad idRange ${quote(handle.idRange)}`);
  await releaseRange(handle.idRange);
  let hooks;
  try {
    hooks = resolveHooks(handle.hooks);
  } catch (e) {
    return handleError(`bad hooks: ${(e as Error).message}`);
  }
  if (hooks.poststop.length) {
    await runHooksWarning('poststop', hooks.poststop, hookState(handle.id, 'stopped', handle.pid, handle.bundle ?? '/', handle.annotations ?? {}),
      (e) => process.emitWarning(e.message, 'NsboxHookWarning'));
  }
}
