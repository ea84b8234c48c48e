// The container lifecycle: created -> running -> stopped -> destroyed.
import { closeSync, constants as fsConstants, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import createDebug from 'debug';
import { ContainerError, fromNative, quote } from './errors';
import { defaultDeviceBackend, type HostInfo, hostInfo, pidStartTime } from './host';

export { pidStartTime } from './host';
import { hostDevice } from './explain';
import { Limiter } from './limiter';
import { binding, type NativeContainer } from './native';
import { cgroupDirs, type HostPaths, nativeException, nativePolicy, toNativeExec, toNativePlan } from './plan';
import {
  applyCapabilityChange, type CapabilityChange, type CapabilityLimits, type CapabilityMasks, type CapabilitySets,
  fromMask, resolveCapabilities, toMask,
} from './policy/capabilities';
import {
  applyDeviceRule, compileDeviceRules, type DevicePolicy, type DeviceRule, type DeviceRuleInput, formatDeviceRule,
  normalizeAccess, parseDeviceRule, singleChange, v1Write,
} from './policy/devices';
import { explainAccess } from './policy/explain';
import { type DeviceNode, type DeviceNodeSpec, parseDeviceNode } from './policy/nodes';
import { validatePath } from './policy/paths';
import type { RlimitSpec } from './policy/process';
import {
  type ContainerSpec, isContainerId, type NamespaceName, NAMESPACES, type ResolvedSpec, resolveSpec, type StdioMode, type UserSpec,
} from './spec';

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

/** A host device handed to the container, like docker run --device. */
export interface DevicePassthrough {
  /** The host's node; symlinks are resolved. */
  hostPath: string;
  /** Where the node appears in the container; the host path when omitted. */
  path?: string;
  /** Default 'rwm'. */
  access?: string;
}

/**
 * Everything another process needs to take over a container that outlives its
 * creator (attachContainer()). Plain JSON: store it where the container's manager
 * keeps its state.
 */
export interface ContainerHandle {
  id: string;
  /** The init's host pid, and its start time (field 22 of /proc/<pid>/stat) against pid reuse. */
  pid: number;
  pidStartTime: string;
  namespaces: NamespaceName[];
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  deviceBackend: 'v1' | 'v2';
  /** The device rules in force, in order. */
  devices: DeviceRule[];
  capabilities: CapabilitySets;
  user: { uid: number; gid: number; groups: number[] };
  /** The command's environment, the default of exec(). */
  env: string[];
  /** Present until the container is started. */
  startFifo: string | null;
}

/** A process to run inside a running container. */
export interface ExecSpec {
  command: string[];
  /** Replaces the container's environment when given. */
  env?: Record<string, string> | string[];
  cwd?: string;
  /** The container's user when omitted. */
  user?: UserSpec;
  /** Replaces the named sets of the container's. */
  capabilities?: Partial<CapabilitySets>;
  noNewPrivileges?: boolean;
  rlimits?: RlimitSpec[];
  terminal?: { consoleSocket: string };
  /**
   * 'pipe' (the default): stdin/stdout/stderr streams on the process, as for a
   * container. 'inherit' gives it this process's own fds 0..2, whatever they are
   * (a file, a terminal, a log): the container can then read or write them, reopen them
   * through /proc/self/fd and signal a terminal's foreground group; give it only to
   * processes you trust with them. 'ignore': /dev/null.
   */
  stdio?: StdioMode;
  /**
   * Leave the process to itself once it runs: wait() is not available, and when the
   * caller exits it goes to the nearest child subreaper (as with runc exec --detach).
   */
  detach?: boolean;
}

export interface ExecProcess {
  /** The process's host pid. */
  pid: number;
  /** Pipes to the process's fds 0..2 when its stdio is 'pipe', else null. */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Its exit; for a detached process, rejects with ERR_CONTAINER_STATE. */
  wait(): Promise<ExitStatus>;
}

/** What a Container is made from: a fresh create, or a handle of another process's. */
interface ContainerInit {
  id: string;
  uid: number;
  gid: number;
  groups: readonly number[];
  namespaces: readonly NamespaceName[];
  env: readonly string[];
  backend: 'v1' | 'v2';
  limits: CapabilityLimits;
  caps: CapabilityMasks;
  rules: readonly DeviceRule[];
  policy: DevicePolicy;
  stdio: ContainerSpec['stdio'];
  cgroupV2Dir: string;
  cgroupV1Devices: string;
  startFifo: string | null;
  state: 'created' | 'running';
  signal?: AbortSignal;
}

/**
 * Removes a start FIFO, and nothing else: a path from a handle or a state file that
 * names another kind of file (a handle edited to name /etc/passwd) is left alone.
 */
function removeFifo(path: string, id: string): void {
  try {
    if (lstatSync(path).isFIFO()) unlinkSync(path);
    else debug('%s: %s is not a FIFO: left alone', id, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') debug('%s: unlink %s: %s', id, path, (e as Error).message);
  }
}

/** True when `pid` holds `path` open (the same inode in /proc/<pid>/fd). */
function holdsOpen(pid: number, path: string): boolean {
  const want = statSync(path);
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    const st = statSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false });
    return st !== undefined && st.dev === want.dev && st.ino === want.ino;
  });
}

function abortError(id: string): ContainerError {
  return new ContainerError('ABORT_ERR', `container ${id}: aborted`);
}

// The pipes become Node streams when first asked for: a stream object costs more
// than the container for callers who never read it. `fds[i]` moves into the stream.
function pipeStream(fds: number[], streams: (Writable | Readable | null)[], i: 0 | 1 | 2, id: string): Socket | null {
  if (!streams[i] && fds[i] >= 0) {
    // node:net is loaded on first use: a process that never reads a pipe (the
    // runtime command line) starts faster without it.
    const { Socket: SocketClass } = require('node:net') as typeof import('node:net');
    const s = new SocketClass({ fd: fds[i], readable: i !== 0, writable: i === 0 });
    fds[i] = -1;
    // An EPIPE on stdin because the process stopped reading is the process's business.
    if (i === 0) s.on('error', (e) => debug('%s: stdin: %s', id, e.message));
    streams[i] = s;
  }
  return streams[i] as Socket | null;
}

export class Container {
  readonly id: string;
  /** The init's pid on the host. */
  readonly pid: number;

  #state: ContainerState = 'created';
  /** The parent's ends of the stdio pipes (-1 when stdio is not 'pipe'), wrapped in streams on first use. */
  readonly #fds: [number, number, number];
  readonly #streams: [Writable | null, Readable | null, Readable | null] = [null, null, null];
  readonly #native: NativeContainer;
  readonly #uid: number;
  readonly #gid: number;
  readonly #groups: readonly number[];
  readonly #namespaces: readonly NamespaceName[];
  readonly #env: readonly string[];
  readonly #cgroupV2Dir: string;
  readonly #cgroupV1Devices: string;
  #startFifo: string | null;
  #pidStartTime: string | undefined;
  readonly #backend: 'v1' | 'v2';
  readonly #limits: CapabilityLimits;
  #caps: CapabilityMasks;
  #rules: readonly DeviceRule[];
  #policy: DevicePolicy;
  /** Closes the pipes of exec'd processes that nobody took as streams. */
  readonly #execPipes = new Set<() => void>();
  /** Live device changes run one after another: each replaces the program the previous attached. */
  #updates: Promise<unknown> = Promise.resolve();
  readonly #exit: Promise<ExitStatus>;
  #destroying: Promise<void> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    this.destroy().catch((e) => debug('%s: destroy on abort failed: %s', this.id, e));
  };

  /** @internal Use createContainer() or attachContainer(). */
  constructor(init: ContainerInit, native: NativeContainer) {
    const { id, stdio, signal } = init;
    this.id = id;
    this.#native = native;
    this.#uid = init.uid;
    this.#gid = init.gid;
    this.#groups = Object.freeze([...init.groups]);
    this.#namespaces = Object.freeze([...init.namespaces]);
    this.#env = Object.freeze([...init.env]);
    this.#cgroupV2Dir = init.cgroupV2Dir;
    this.#cgroupV1Devices = init.cgroupV1Devices;
    this.#startFifo = init.startFifo;
    this.#state = init.state;
    this.#backend = init.backend;
    this.#limits = init.limits;
    this.#caps = init.caps;
    this.#rules = Object.freeze([...init.rules]);
    this.#policy = init.policy;
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
    this.#fds = stdio === 'pipe' ? fds : [-1, -1, -1];
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get state(): ContainerState {
    return this.#state;
  }

  /** What attachContainer() needs to take this container over from another process. */
  get handle(): ContainerHandle {
    return {
      id: this.id,
      pid: this.pid,
      // Read when first asked for: a process we have not reaped keeps its pid.
      pidStartTime: (this.#pidStartTime ??= pidStartTime(this.pid) ?? ''),
      namespaces: [...this.#namespaces],
      cgroupV2Dir: this.#cgroupV2Dir,
      cgroupV1Devices: this.#cgroupV1Devices,
      deviceBackend: this.#backend,
      devices: this.#rules.map((r) => ({ ...r })),
      capabilities: this.capabilities,
      user: { uid: this.#uid, gid: this.#gid, groups: [...this.#groups] },
      env: [...this.#env],
      startFifo: this.#state === 'created' ? this.#startFifo : null,
    };
  }

  #stream(i: 0 | 1 | 2): Socket | null {
    return pipeStream(this.#fds, this.#streams, i, this.id);
  }

  /** A pipe to the container's fd 0 when stdio is 'pipe', else null. */
  get stdin(): Writable | null {
    return this.#stream(0);
  }

  /** A pipe from the container's fd 1 when stdio is 'pipe', else null. */
  get stdout(): Readable | null {
    return this.#stream(1);
  }

  /** A pipe from the container's fd 2 when stdio is 'pipe', else null. */
  get stderr(): Readable | null {
    return this.#stream(2);
  }

  /** The device rules in force, the profile's first, live changes last. */
  get devices(): readonly DeviceRule[] {
    return this.#rules;
  }

  /** The capability sets the command runs (or will run) with. */
  get capabilities(): CapabilitySets {
    const c = this.#caps;
    return Object.freeze({
      bounding: fromMask(c.bounding), effective: fromMask(c.effective), permitted: fromMask(c.permitted),
      inheritable: fromMask(c.inheritable), ambient: fromMask(c.ambient),
    });
  }

  /** The uid the command runs as. */
  get uid(): number {
    return this.#uid;
  }

  #requireState(op: string, ...states: ContainerState[]): void {
    if (!states.includes(this.#state)) {
      throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: ${op} needs state ${states.map((s) => `"${s}"`).join(' or ')}, it is "${this.#state}"`);
    }
  }

  /**
   * Changes the capability sets before start: { add, drop } (Docker's terms, 'ALL'
   * works) or a full list, applied to bounding, effective and permitted. A running
   * process's capabilities cannot be raised from outside, so only 'created' accepts it.
   */
  setCapabilities(change: CapabilityChange): CapabilitySets {
    if (this.#state !== 'created') {
      throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: setCapabilities() needs state "created", it is "${this.#state}": ` +
        'a running process\'s capabilities cannot be raised from outside it');
    }
    if (this.#startFifo !== null) {
      throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: the capabilities of a detached container are fixed when it is created`);
    }
    const list = applyCapabilityChange(fromMask(this.#caps.bounding), change, this.#limits.lastCap);
    const mask = toMask(list, this.#limits.lastCap);
    const missing = mask & ~this.#limits.available;
    if (missing) {
      throw new ContainerError('ERR_CAPABILITY_UNAVAILABLE', `${fromMask(missing).join(', ')}: this process does not hold it itself`);
    }
    const inheritable = this.#caps.inheritable;
    this.#caps = { bounding: mask, effective: mask, permitted: mask, inheritable, ambient: this.#caps.ambient & mask & inheritable };
    debug('%s: capabilities %o', this.id, list);
    return this.capabilities;
  }

  /** Applies `rule` to the live device cgroup; serialized with other changes. */
  #changeDevices(rule: DeviceRule): Promise<void> {
    const run = async () => {
      // Queued behind a change that was in flight when destroy() began: nothing to change.
      if (this.#destroying !== undefined) {
        throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: it is being destroyed`);
      }
      const next = applyDeviceRule(this.#policy, rule);
      // v1: the one rule, written as it is; the kernel applies it the way `next` was computed.
      const writes = this.#backend === 'v1' ? [v1Write(rule)] : [];
      // v2: a change of one exception is one update of the program's map.
      const single = this.#backend === 'v2' ? singleChange(this.#policy, next) : null;
      try {
        await this.#native.updateDevices(nativePolicy(next), writes, single && nativeException(single));
      } catch (e) {
        throw fromNative(e, `container ${this.id}: ${formatDeviceRule(rule)}`);
      }
      this.#policy = next;
      this.#rules = Object.freeze([...this.#rules, rule]);
      debug('%s: %s', this.id, formatDeviceRule(rule));
    };
    const p = this.#updates.then(run, run);
    this.#updates = p.catch(() => undefined);
    return p;
  }

  async #passthrough(input: DevicePassthrough, allow: boolean): Promise<{ rule: DeviceRule; node: DeviceNode }> {
    const keys = Object.keys(input);
    const bad = keys.find((k) => k !== 'hostPath' && k !== 'path' && k !== 'access');
    if (bad) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `a passthrough is { hostPath, path, access }, got ${quote(bad)}`);
    const hostPath = validatePath(input.hostPath, 'hostPath');
    const path = validatePath(input.path ?? hostPath, 'path');
    const access = normalizeAccess(input.access ?? 'rwm');
    const real = await realpath(hostPath).catch(() => {
      throw new ContainerError('ENOENT', `hostPath ${quote(hostPath)} does not exist`, { path: hostPath });
    });
    const q = hostDevice(real);
    if (!q) throw new ContainerError('ENOENT', `hostPath ${quote(hostPath)} does not exist`, { path: hostPath });
    const st = await stat(real);
    const rule = parseDeviceRule({ ...q, access, allow });
    return { rule, node: parseDeviceNode({ path, ...q, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }) };
  }

  /**
   * Allows a device, now: live on a running container for the next open(), on both
   * backends. A rule ('c 10:232 rwm', an object) or a host node to pass through
   * ({ hostPath: '/dev/fuse' }: the node is created in the container too).
   */
  async allowDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    this.#requireState('allowDevice()', 'created', 'running');
    if (typeof rule === 'object' && rule !== null && 'hostPath' in rule) {
      const p = await this.#passthrough(rule, true);
      // The node first: a node without its rule grants nothing, a rule without its node
      // would be a grant the caller was told failed. When the rule then fails, the node
      // stays, as useless to the container as one it made itself.
      await this.#join(p.node, false, 'allowDevice()');
      await this.#changeDevices(p.rule);
      return;
    }
    await this.#changeDevices(parseDeviceRule(rule));
  }

  /** Takes a device away again (a deny rule; for a passthrough, of its numbers). The node stays. */
  async denyDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    this.#requireState('denyDevice()', 'created', 'running');
    const parsed = typeof rule === 'object' && rule !== null && 'hostPath' in rule
      ? (await this.#passthrough(rule, false)).rule
      : Object.freeze({ ...parseDeviceRule(rule), allow: false });
    await this.#changeDevices(parsed);
  }

  async #join(node: DeviceNode, asContainer: boolean, op: string): Promise<void> {
    try {
      await this.#native.join({
        node: { ...node }, asContainer, uid: this.#uid, gid: this.#gid, groups: [...this.#groups],
        // What the container's processes hold after exec: root gets the bounding set, others the ambient one.
        caps: this.#uid === 0 ? this.#caps.bounding : this.#caps.ambient,
      });
    } catch (e) {
      const err = fromNative(e, `container ${this.id}: ${op} ${node.path}`);
      // The container went away under the join (destroyed, or its init exited).
      if (err.code === 'ESRCH' || this.#destroying !== undefined || this.#state === 'stopped') {
        throw new ContainerError('ERR_CONTAINER_GONE', `container ${this.id}: ${op} ${node.path}: the container is gone (${err.message})`,
          { errno: err.errno, syscall: err.syscall, step: err.step, path: node.path });
      }
      if (err.code === 'EPERM' && asContainer) {
        const why = explainAccess(this, node, 'm');
        throw new ContainerError('EPERM', `container ${this.id}: mknod ${node.path} (${node.type} ${node.major}:${node.minor}) refused: ${
          why.allowed ? 'the kernel refused although the policy allows it' : why.reason}`, { errno: err.errno, syscall: err.syscall, step: err.step, path: node.path });
      }
      throw err;
    }
  }

  /**
   * Creates a device node as the container would: in its mount namespace (the path
   * resolved inside its root), under its device cgroup, with its ids and capabilities,
   * so the kernel applies the container's own policy.
   */
  async mknodInside(path: string, node: DeviceNodeSpec): Promise<void> {
    // Owned by the container's user unless asked otherwise, as its own mknod(2) would leave it.
    const n = parseDeviceNode({ uid: this.#uid, gid: this.#gid, ...(typeof node === 'object' && node !== null ? node : { type: node }),
      path: validatePath(path, 'path') });
    this.#requireState('mknodInside()', 'created', 'running');
    await this.#join(n, true, 'mknodInside()');
  }

  /** Executes the command. Only from 'created'. */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: start() needs state "created", it is "${this.#state}"`);
    }
    this.#state = 'running';
    if (this.#startFifo !== null) {
      await this.#startDetached(this.#startFifo);
      this.#startFifo = null;
      debug('%s: started through its FIFO', this.id);
      return;
    }
    try {
      await this.#native.start(this.#caps, false);
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
    debug('%s: started', this.id);
  }

  // The init holds the FIFO open for reading: an open that finds no reader (ENXIO)
  // means it is gone. The FIFO goes once the byte is written.
  async #startDetached(fifo: string): Promise<void> {
    let fh;
    try {
      fh = await open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ContainerError(err.code === 'ENXIO' ? 'ERR_CONTAINER_GONE' : err.code === 'ENOENT' ? 'ERR_CONTAINER_STATE' : 'ERR_INTERNAL',
        `container ${this.id}: start: open ${fifo}: ${err.code === 'ENXIO' ? "the container's init is gone" : err.message}`,
        { path: fifo, syscall: 'open', step: 'start' });
    }
    try {
      const st = await fh.stat();
      if (!st.isFIFO()) throw new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: start: ${fifo} is not a FIFO`, { path: fifo });
      await fh.write(new Uint8Array([0x53]));
    } finally {
      await fh.close();
    }
    removeFifo(fifo, this.id);
  }

  /**
   * Runs another process inside the running container, in all its namespaces and
   * cgroups, as its user with its capabilities unless the spec says otherwise. Its
   * stdio is pipes unless the spec says otherwise (or the terminal).
   */
  async exec(spec: ExecSpec): Promise<ExecProcess> {
    this.#requireState('exec()', 'running');
    if (typeof spec !== 'object' || spec === null) throw new ContainerError('ERR_INVALID_SPEC', `exec() takes an object, got ${quote(spec)}`);
    const known = new Set(['command', 'env', 'cwd', 'user', 'capabilities', 'noNewPrivileges', 'rlimits', 'terminal', 'detach', 'stdio']);
    const bad = Object.keys(spec).find((k) => !known.has(k));
    if (bad) throw new ContainerError('ERR_INVALID_SPEC', `unknown exec field ${quote(bad)}`);
    // The container spec's validation, with the container's identity as the base.
    const r = resolveSpec({
      command: spec.command, id: this.id, env: spec.env ?? [...this.#env], cwd: spec.cwd,
      user: spec.user ?? { uid: this.#uid, gid: this.#gid, groups: [...this.#groups] }, noNewPrivileges: spec.noNewPrivileges,
      terminal: spec.terminal, rlimits: spec.rlimits, stdio: spec.stdio,
    }, this.#limits);
    const caps = resolveCapabilities(this.capabilities, spec.capabilities, this.#limits);
    const detach = spec.detach === undefined ? false : spec.detach;
    if (typeof detach !== 'boolean') throw new ContainerError('ERR_INVALID_SPEC', `exec detach must be a boolean, got ${quote(detach)}`);
    let out;
    try {
      out = await this.#native.exec(toNativeExec(r, caps, detach));
    } catch (e) {
      throw fromNative(e, `container ${this.id}: exec ${r.argv[0]}`);
    }
    const { pid, helper } = out;
    const fds = [...out.stdio];
    const streams: (Writable | Readable | null)[] = [null, null, null];
    const id = this.id;
    // Pipes never taken as streams close with the process, or with the container.
    const closeUntaken = () => {
      for (let i = 0; i < 3; i++) if (fds[i] >= 0) closeSync(fds[i]), fds[i] = -1;
    };
    if (fds.some((fd) => fd >= 0)) this.#execPipes.add(closeUntaken);
    debug('%s: exec %s: pid %d', this.id, r.argv[0], pid);
    const exit = helper
      ? new Promise<ExitStatus>((resolve) => {
        helper.onExit((code, sig) => {
          helper.release().catch(() => undefined);
          closeUntaken();
          this.#execPipes.delete(closeUntaken);
          resolve({ exitCode: code, signal: sig === null ? null : signalNames.get(sig) ?? null });
        });
      })
      : null;
    return {
      pid,
      get stdin() {
        return pipeStream(fds, streams, 0, id) as Writable | null;
      },
      get stdout() {
        return pipeStream(fds, streams, 1, id) as Readable | null;
      },
      get stderr() {
        return pipeStream(fds, streams, 2, id) as Readable | null;
      },
      wait: () => exit ?? Promise.reject(new ContainerError('ERR_CONTAINER_STATE', `container ${this.id}: a detached exec cannot be waited for`)),
    };
  }

  /** The pids (host view) of every process in the container's cgroup. */
  async processes(): Promise<number[]> {
    const dir = this.#cgroupV2Dir || this.#cgroupV1Devices;
    if (!dir) throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `container ${this.id}: it has no cgroup to list`);
    const text = await readFile(`${dir}/cgroup.procs`, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENODEV') return '';
      throw fromNative(e, `container ${this.id}: processes`);
    });
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Freezes every process of the container (the cgroup2 freezer). */
  pause(): Promise<void> {
    return this.#freeze(true);
  }

  /** Thaws a paused container. */
  resume(): Promise<void> {
    return this.#freeze(false);
  }

  /** True while the container's cgroup is frozen. */
  async paused(): Promise<boolean> {
    if (!this.#cgroupV2Dir) return false;
    const events = await readFile(`${this.#cgroupV2Dir}/cgroup.events`, 'utf8').catch(() => '');
    return /^frozen 1$/m.test(events);
  }

  async #freeze(on: boolean): Promise<void> {
    this.#requireState(on ? 'pause()' : 'resume()', 'created', 'running');
    if (!this.#cgroupV2Dir) {
      throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `container ${this.id}: pausing needs the cgroup2 freezer, and this host has no cgroup2 hierarchy`);
    }
    try {
      await writeFile(`${this.#cgroupV2Dir}/cgroup.freeze`, on ? '1' : '0');
    } catch (e) {
      throw fromNative(e, `container ${this.id}: ${this.#cgroupV2Dir}/cgroup.freeze`);
    }
    // The write asks; cgroup.events says when every task has stopped (or runs again).
    for (let i = 0; i < 500; i++) {
      if ((await this.paused()) === on) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new ContainerError('ETIMEDOUT', `container ${this.id}: the cgroup did not ${on ? 'freeze' : 'thaw'} within 1 s`);
  }

  /**
   * Resolves once, when the container's init exits. Like a child process's 'exit',
   * output may still be on its way then: read stdout/stderr to their end (or let
   * destroy() wait for the streams being read, or use run()).
   */
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
    await this.#updates;
    this.#state = 'destroyed';
    // Output being read is let through to its end (every writer is gone, so it comes
    // promptly); output nobody reads is discarded.
    const [, out, err] = this.#streams as [Writable | null, Readable | null, Readable | null];
    await Promise.all([out, err].map((s) => (s && s.readableFlowing && !s.readableEnded && !s.destroyed
      ? new Promise((resolve) => s.once('close', resolve))
      : undefined)));
    for (const s of this.#streams) s?.destroy();
    for (const fd of this.#fds) if (fd >= 0) closeSync(fd);
    this.#fds.fill(-1);
    for (const close of this.#execPipes) close();
    this.#execPipes.clear();
    if (this.#startFifo !== null) {
      removeFifo(this.#startFifo, this.id);
      this.#startFifo = null;
    }
    try {
      await this.#native.release();
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
    debug('%s: destroyed', this.id);
  }
}

/**
 * The host paths of a spec (rootfs, bind sources), checked once here: what is there.
 * The init opens each path once and checks it finds the same file (child_mounts.cc),
 * so a path exchanged in between (by a container sharing its directory) fails
 * creation. The rootfs must be named by its real path, which the init opens without
 * following any symlink; a bind source follows its links (as Docker and runc do), and
 * is what the kernel resolves it to: realpath would misread /proc's magic links.
 */
async function resolveHostPaths(r: ResolvedSpec): Promise<HostPaths> {
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
    const host = hostInfo().root;
    if (got.dev === host.dev && got.ino === host.ino) {
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
  const limits = { lastCap: host.lastCap, available: host.capBounding };
  const r = resolveSpec(spec, limits);
  const signal = spec.signal;
  if (signal?.aborted) throw abortError(r.id);
  const backend = deviceBackend(r, host);
  const paths = await resolveHostPaths(r);
  const policy = compileDeviceRules(r.devices);
  debug('%s: creating (%s backend)', r.id, backend);
  let native: NativeContainer;
  try {
    const plan = toNativePlan(r, host, backend, policy, paths);
    native = await setups.run(() => binding.create(plan));
  } catch (e) {
    const err = fromNative(e, `container ${r.id}`);
    if (err.code === 'EEXIST' && err.step === 'cgroup') {
      throw new ContainerError('ERR_CONTAINER_EXISTS', `container ${r.id}: its cgroup ${err.path} exists already (another container has this id or cgroupPath)`,
        { errno: err.errno, syscall: err.syscall, step: err.step, path: err.path });
    }
    throw err;
  }
  const container = new Container({
    id: r.id, uid: r.uid, gid: r.gid, groups: r.groups, namespaces: r.namespaces, env: r.env, backend, limits, caps: r.caps,
    rules: r.devices, policy, stdio: r.stdio, ...cgroupDirs(r.cgroupPath, host, backend),
    startFifo: r.detached?.startFifo ?? null, state: 'created', signal,
  }, native);
  if (r.detached) {
    // The capability sets go now: whoever starts it later only writes to the FIFO.
    try {
      await native.start(r.caps, true);
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

/**
 * Setups in flight: one CPU fewer than the machine has, so one stays for the event loop
 * that drives them (see limiter.ts), and at least one. NSBOX_MAX_SETUPS overrides it.
 */
const setups = new Limiter(Number(process.env.NSBOX_MAX_SETUPS) > 0 ? Number(process.env.NSBOX_MAX_SETUPS)
  : Math.max(1, availableParallelism() - 1));

function handleError(message: string): never {
  throw new ContainerError('ERR_INVALID_ARG', `attachContainer(): ${message}`);
}

/** A handle's cgroup directories, each with the hierarchy it must lie in. */
function handleCgroups(handle: ContainerHandle, host: HostInfo) {
  return [
    { key: 'cgroupV2Dir', dir: handle.cgroupV2Dir as unknown, mount: host.cgroup2, controller: null },
    { key: 'cgroupV1Devices', dir: handle.cgroupV1Devices as unknown, mount: host.devicesV1, controller: 'devices' },
  ] as const;
}
type HandleCgroup = ReturnType<typeof handleCgroups>[number];

/**
 * A cgroup directory named by a handle or a state file, checked before anything is
 * written through it (cgroup.freeze, cgroup.kill, rmdir): '' or a directory strictly
 * below the hierarchy's mount, spelt without "..", ".", "//" or a symlink. One that
 * no longer exists is fine here: nothing is written through it.
 */
function checkCgroupDir({ key, dir, mount }: HandleCgroup): void {
  if (dir === '') return;
  const bad = (why: string): never => handleError(`bad ${key} ${quote(dir)}: ${why}`);
  if (typeof dir !== 'string') return bad('not a string');
  if (!mount) return bad('this host has no such hierarchy');
  if (!dir.startsWith(`${mount}/`) || dir.length <= mount.length + 1) return bad(`not a directory below ${mount}`);
  if (dir.slice(mount.length + 1).split('/').some((c) => c === '' || c === '.' || c === '..')) return bad('not a plain path');
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return;
  }
  if (real !== dir) bad(`it resolves to ${quote(real)}`);
}

/** And, for a live container, that its init is a member of it (/proc/<pid>/cgroup). */
function checkCgroupMember({ key, dir, mount, controller }: HandleCgroup, pid: number): void {
  if (dir === '') return;
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const own = lines.map((l) => l.split(':')).find(([, c]) => (controller === null ? c === '' : c.split(',').includes(controller)));
  if (!own || `${mount}${own.slice(2).join(':')}` !== dir) handleError(`bad ${key} ${quote(dir)}: pid ${pid} is not in it`);
}

/**
 * Takes over a container that outlives its creator, from its handle (Container.handle,
 * stored by whoever created it). Checks that the init still runs, by pid and start
 * time; throws ERR_CONTAINER_GONE when it does not. wait() of an attached container
 * resolves with a null exitCode and signal: its status goes to its parent.
 */
export function attachContainer(handle: ContainerHandle): Container {
  if (typeof handle !== 'object' || handle === null) handleError(`a handle is an object, got ${quote(handle)}`);
  const h = handle as unknown as Record<string, unknown>;
  const { id, pid } = handle;
  if (!isContainerId(id)) handleError(`bad id ${quote(id)}`);
  if (!Number.isInteger(pid) || pid <= 0) handleError(`bad pid ${quote(pid)}`);
  if (typeof h.pidStartTime !== 'string') handleError(`bad pidStartTime ${quote(h.pidStartTime)}`);
  if (handle.deviceBackend !== 'v1' && handle.deviceBackend !== 'v2') handleError(`bad deviceBackend ${quote(handle.deviceBackend)}`);
  if (!Array.isArray(handle.namespaces) || handle.namespaces.some((n) => !(NAMESPACES as readonly string[]).includes(n))) {
    handleError(`bad namespaces ${quote(handle.namespaces)}`);
  }
  if (!Array.isArray(handle.env) || !Array.isArray(handle.devices)) handleError('env and devices must be arrays');
  if (handle.startFifo !== null && typeof handle.startFifo !== 'string') handleError(`bad startFifo ${quote(handle.startFifo)}`);
  const host = hostInfo();
  // The paths' form first; membership once the pid is known to be the init.
  const cgroups = handleCgroups(handle, host);
  for (const c of cgroups) checkCgroupDir(c);
  const limits = { lastCap: host.lastCap, available: host.capBounding };
  const user = handle.user ?? handleError('user is missing');
  const r = resolveSpec({ command: ['/'], id, user, capabilities: handle.capabilities }, limits);
  const rules = handle.devices.map((d) => parseDeviceRule(d));
  const started = pidStartTime(pid);
  if (started === null || started !== handle.pidStartTime) {
    throw new ContainerError('ERR_CONTAINER_GONE', `container ${id}: its init (pid ${pid}) has exited`);
  }
  for (const c of cgroups) checkCgroupMember(c, pid);
  if (handle.startFifo !== null) {
    // The FIFO the init waits on, not any file the handle names (start() writes to it,
    // destroy() removes it).
    const st = lstatSync(handle.startFifo, { throwIfNoEntry: false });
    if (st && (!st.isFIFO() || !holdsOpen(pid, handle.startFifo))) {
      handleError(`bad startFifo ${quote(handle.startFifo)}: not the FIFO pid ${pid} waits on`);
    }
  }
  let native: NativeContainer;
  try {
    native = binding.attach({
      pid, cgroupV2Dir: handle.cgroupV2Dir, cgroupV1Devices: handle.cgroupV1Devices, deviceBackend: handle.deviceBackend,
      // From the kernel, not the handle: how destroy() kills depends on it.
      pidNamespace: statSync(`/proc/${pid}/ns/pid`).ino !== statSync('/proc/self/ns/pid').ino,
    });
  } catch (e) {
    const err = fromNative(e, `container ${id}`);
    if (err.errno === 3) throw new ContainerError('ERR_CONTAINER_GONE', `container ${id}: its init (pid ${pid}) has exited`);
    throw err;
  }
  const startFifo = handle.startFifo;
  return new Container({
    id, uid: r.uid, gid: r.gid, groups: r.groups, namespaces: handle.namespaces, env: handle.env, backend: handle.deviceBackend,
    limits, caps: r.caps, rules, policy: compileDeviceRules(rules), stdio: 'ignore', cgroupV2Dir: handle.cgroupV2Dir,
    cgroupV1Devices: handle.cgroupV1Devices, startFifo, state: startFifo !== null ? 'created' : 'running',
  }, native);
}

/**
 * What is left of a container whose init has exited, from its handle (the runtime
 * command line's delete): processes that outlived it are killed, its cgroups and its
 * start FIFO removed. Not part of the public API: attachContainer(...).destroy() does
 * this for a container that still runs.
 */
export async function releaseDeadContainer(handle: ContainerHandle): Promise<void> {
  const host = hostInfo();
  // The init is gone, so membership cannot be checked: the paths' form can, and the
  // id the create marked each directory with (cgroup.kill and rmdir follow). A
  // directory with no marker (a hierarchy without xattrs, or named by a tampered state
  // file) is left alone: killing it could end a service.
  if (!isContainerId(handle.id)) handleError(`bad id ${quote(handle.id)}`);
  const dirs = { cgroupV2Dir: handle.cgroupV2Dir, cgroupV1Devices: handle.cgroupV1Devices };
  for (const c of handleCgroups(handle, host)) {
    checkCgroupDir(c);
    const dir = c.dir as string;
    if (dir === '' || !existsSync(dir)) continue;
    const marked = binding.cgroupMarkers(dir).id;
    if (marked === '') {
      debug('%s: %s carries no marker of this library: left alone', handle.id, dir);
      dirs[c.key] = '';
    } else if (marked !== handle.id) {
      handleError(`bad ${c.key} ${quote(dir)}: not the cgroup this library made for container ${handle.id}`);
    }
  }
  try {
    await binding.releaseCgroups(dirs.cgroupV2Dir, dirs.cgroupV1Devices);
  } catch (e) {
    throw fromNative(e, `container ${handle.id}`);
  }
  if (handle.startFifo) removeFifo(handle.startFifo, handle.id);
}
