// The container lifecycle: created -> running -> stopped -> destroyed.
import { stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import createDebug from 'debug';
import { ContainerError, fromNative, quote } from './errors';
import { defaultDeviceBackend, type HostInfo, hostInfo } from './host';
import { binding, type NativeContainer } from './native';
import { toNativePlan } from './plan';
import { type ContainerSpec, type ResolvedSpec, resolveSpec } from './spec';

const debug = createDebug('nsbox:container');

export type ContainerState = 'created' | 'running' | 'stopped' | 'destroyed';

export interface ExitStatus {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([n, v]) => [v, n as NodeJS.Signals]),
);

export function signalNumber(signal: unknown): number {
  if (typeof signal === 'number' && Number.isInteger(signal) && signalNames.has(signal)) return signal;
  if (typeof signal === 'string' && Object.hasOwn(constants.signals, signal)) {
    return constants.signals[signal as keyof typeof constants.signals];
  }
  throw new ContainerError('ERR_INVALID_SIGNAL', `unknown signal ${quote(signal)}`);
}

function abortError(id: string): ContainerError {
  return new ContainerError('ABORT_ERR', `container ${id}: aborted`);
}

export class Container {
  readonly id: string;
  /** The init's pid on the host. */
  readonly pid: number;
  /** Pipes to the container's fds 0..2 when stdio is 'pipe', else null. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;

  #state: ContainerState = 'created';
  readonly #native: NativeContainer;
  readonly #exit: Promise<ExitStatus>;
  #destroying: Promise<void> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    this.destroy().catch((e) => debug('%s: destroy on abort failed: %s', this.id, e));
  };

  /** @internal Use createContainer(). */
  constructor(id: string, native: NativeContainer, stdio: ResolvedSpec['stdio'], signal: AbortSignal | undefined) {
    this.id = id;
    this.#native = native;
    this.pid = native.pid;
    this.#exit = new Promise((resolve) => {
      native.onExit((code, sig) => {
        if (this.#state !== 'destroyed') this.#state = 'stopped';
        const status = { exitCode: code, signal: sig === null ? null : signalNames.get(sig) ?? null };
        debug('%s: exited %o', id, status);
        resolve(status);
      });
    });
    const fds = native.takeStdio();
    const pipe = stdio === 'pipe';
    this.stdin = pipe ? new Socket({ fd: fds[0], readable: false, writable: true }) : null;
    this.stdout = pipe ? new Socket({ fd: fds[1], readable: true, writable: false }) : null;
    this.stderr = pipe ? new Socket({ fd: fds[2], readable: true, writable: false }) : null;
    // An EPIPE on stdin because the container stopped reading is the container's business.
    this.stdin?.on('error', (e) => debug('%s: stdin: %s', id, e.message));
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get state(): ContainerState {
    return this.#state;
  }

  /** Executes the command. Only from 'created'. */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: start() needs state "created", it is "${this.#state}"`);
    }
    this.#state = 'running';
    try {
      await this.#native.start();
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
    debug('%s: started', this.id);
  }

  /** Resolves once, when the container's init exits. */
  wait(): Promise<ExitStatus> {
    return this.#exit;
  }

  /** Sends a signal to the container's init; false when it is not running any more. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const sig = signalNumber(signal);
    if (this.#state === 'stopped' || this.#state === 'destroyed') return false;
    try {
      return this.#native.signal(sig);
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
  }

  /**
   * Kills every process of the container if any still runs, reaps the init, removes
   * its cgroups and closes its fds and pipes. Mounts lived only in its mount namespace
   * and are gone with it. Safe to call more than once.
   */
  destroy(): Promise<void> {
    this.#destroying ??= this.#destroy();
    return this.#destroying;
  }

  async #destroy(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#native.killAll();
    await this.#exit;
    this.#state = 'destroyed';
    for (const s of [this.stdin, this.stdout, this.stderr]) s?.destroy();
    try {
      await this.#native.release();
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
    debug('%s: destroyed', this.id);
  }
}

async function checkHostPaths(r: ResolvedSpec): Promise<void> {
  if ('path' in r.rootfs) {
    const st = await stat(r.rootfs.path).catch(() => null);
    if (!st) throw new ContainerError('ERR_ROOTFS_NOT_FOUND', `rootfs ${quote(r.rootfs.path)} does not exist`);
    if (!st.isDirectory()) throw new ContainerError('ERR_INVALID_ROOTFS', `rootfs ${quote(r.rootfs.path)} is not a directory`);
  }
  for (const m of r.mounts) {
    if (m.kind === 'bind' && !(await stat(m.source).catch(() => null))) {
      throw new ContainerError('ERR_MOUNT_SOURCE_NOT_FOUND', `mount source ${quote(m.source)} does not exist`);
    }
  }
}

function deviceBackend(r: ResolvedSpec, host: HostInfo): 'v1' | 'v2' {
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
  const r = resolveSpec(spec, { lastCap: host.lastCap, available: host.capBounding });
  const signal = spec.signal;
  if (signal?.aborted) throw abortError(r.id);
  const backend = deviceBackend(r, host);
  await checkHostPaths(r);
  debug('%s: creating (%s backend)', r.id, backend);
  let native: NativeContainer;
  try {
    native = await binding.create(toNativePlan(r, host, backend));
  } catch (e) {
    throw fromNative(e, `container ${r.id}`);
  }
  const container = new Container(r.id, native, r.stdio, signal);
  if (signal?.aborted) {
    await container.destroy();
    throw abortError(r.id);
  }
  debug('%s: created, init pid %d', r.id, container.pid);
  return container;
}
