// The container lifecycle: created -> running -> stopped -> destroyed. Devices, exec
// and the handle have files of their own; this one owns the state and its changes.
import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import { cgroupFrozen, cgroupProcesses, cgroupStats, freezeCgroup, oomKills, updateLimits, watchOomKills } from '../cgroup';
import type { ContainerStats } from '../cgroup-stats';
import { hostInfo } from '../host';
import { ContainerError, fromNative } from '../errors';
import type { NativeContainer, NativeExec, NativeListener } from '../native';
import type { DeviceNodeSpec } from '../policy/nodes';
import { applyCapabilityChange, type CapabilityChange, type CapabilityMasks, type CapabilitySets, fromMask, toMask } from '../policy/capabilities';
import type { DeviceRule, DeviceRuleInput } from '../policy/devices';
import type { ResourcesSpec } from '../policy/resources';
import { nativeFilter } from '../plan';
import { resolveSeccomp, type SeccompFilter, type SeccompSpec } from '../policy/seccomp';
import { pidStartTime } from '../proc';
import type { Readable, Writable } from 'node:stream';
import { type DevicePassthrough, LiveDevices } from './devices';
import { type ExecProcess, type ExecSpec, resolveExec, resolveHookExec, startExec } from './exec';
import { removeFifo, startThroughFifo } from './fifo';
import type { ContainerHandle } from './handle';
import { releaseRange } from '../userns-ranges';
import { capabilitySets, type ContainerRecord, type ContainerStart, freezeRecord } from './record';
import { type ExitStatus, signalNumber, statusAfterExit } from './signals';
import { StdioPipes } from './stdio';
import { type HookState, hookState, runHooks, runHooksWarning, superviseHook } from './hooks';
import { HOOK_KINDS, pausesForHooks, type ResolvedHook } from '../policy/hooks';

const debug = createDebug('nsbox:container');

export type ContainerState = 'created' | 'running' | 'stopped' | 'destroyed';

/** An OOM kill in the container's memory cgroup: how many processes this time, and since it was made. */
export interface OomEvent {
  kills: number;
  total: number;
}

export interface ContainerEvents {
  /**
   * The kernel's OOM killer killed in the container (any process: an exec'd one, a
   * child of the init; the init's own kill shows in wait() too). Watched while a
   * listener is there, counted from the first read of the counter after the first
   * listener is added: on cgroup2 memory.events is notified, on v1 its counter read
   * every 100 ms.
   */
  oom: [OomEvent];
}

export class Container extends EventEmitter<ContainerEvents> {
  readonly id: string;
  /** The init's pid on the host. */
  readonly pid: number;

  readonly #record: ContainerRecord;
  readonly #native: NativeContainer;
  #state: ContainerState;
  #caps: CapabilityMasks;
  #startFifo: string | null;
  #pidStartTime: string | undefined;
  #resources: ResourcesSpec;
  /** Limit changes run one after another, each on top of the last. */
  #limitUpdates: Promise<unknown> = Promise.resolve();
  readonly #stdio: StdioPipes;
  readonly #devices: LiveDevices;
  /** The pipes of exec'd processes that nobody took as streams, closed at destroy. */
  readonly #execPipes = new Set<StdioPipes>();
  readonly #exit: Promise<ExitStatus>;
  #destroying: Promise<void> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    this.destroy().catch((e) => debug('%s: destroy on abort failed: %s', this.id, e));
  };

  /** @internal Use createContainer() or attachContainer(). */
  #stopOomWatch: (() => void) | undefined;

  constructor(record: ContainerRecord, start: ContainerStart, native: NativeContainer) {
    super();
    this.#record = freezeRecord(record);
    this.id = record.id;
    this.pid = native.pid;
    this.#native = native;
    this.#state = start.state;
    this.#caps = start.caps;
    this.#startFifo = start.startFifo;
    this.#resources = start.resources;
    this.#devices = new LiveDevices(this.#record, native, {
      caps: () => this.#caps,
      destroying: () => this.#destroying !== undefined,
      gone: () => this.#destroying !== undefined || this.#state === 'stopped',
    }, start.rules, start.policy);
    this.#exit = new Promise((resolve) => {
      native.onExit((code, sig) => {
        if (this.#state !== 'destroyed') this.#state = 'stopped';
        this.#watchOom(false);
        // The cgroups stay until destroy(), which waits for this: the counter is still there.
        statusAfterExit(code, sig, () => oomKills(this.#record.cgroups, hostInfo())).then((status) => {
          debug('%s: exited %o', this.id, status);
          resolve(status);
        });
      });
    });
    const fds = native.takeStdio();
    this.#stdio = new StdioPipes(record.stdio === 'pipe' ? fds : [-1, -1, -1], this.id);
    this.#signal = start.signal;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    // The emitter's own events, which the typed map of the container's events leaves out.
    const self = this as unknown as EventEmitter;
    self.on('newListener', (event: string) => event === 'oom' && this.#watchOom(true));
    self.on('removeListener', (event: string) => event === 'oom' && this.listenerCount('oom') === 0 && this.#watchOom(false));
  }

  /** Starts or stops watching the OOM counter: only while someone listens and the init lives. */
  #watchOom(on: boolean): void {
    if (on && !this.#stopOomWatch && this.#state !== 'stopped' && this.#state !== 'destroyed') {
      this.#stopOomWatch = watchOomKills(this.#record.cgroups, hostInfo(), (kills, total) => {
        debug('%s: %d OOM kill(s), %d in all', this.id, kills, total);
        this.emit('oom', { kills, total });
      });
    } else if (!on && this.#stopOomWatch) {
      this.#stopOomWatch();
      this.#stopOomWatch = undefined;
    }
  }

  get state(): ContainerState {
    return this.#state;
  }

  /** What attachContainer() needs to take this container over from another process. */
  get handle(): ContainerHandle {
    const r = this.#record;
    return {
      id: this.id,
      pid: this.pid,
      // Read when first asked for: a process we have not reaped keeps its pid.
      pidStartTime: (this.#pidStartTime ??= pidStartTime(this.pid) ?? ''),
      namespaces: [...r.namespaces],
      ...r.cgroups,
      deviceBackend: r.backend,
      devices: this.devices.map((d) => ({ ...d })),
      capabilities: this.capabilities,
      resources: JSON.parse(JSON.stringify(this.#resources)) as ResourcesSpec,
      seccomp: structuredClone(r.seccompSpec),
      ...(HOOK_KINDS.some((k) => r.hooks[k].length) ? { hooks: structuredClone(r.hooks), bundle: r.bundle, annotations: { ...r.annotations } } : {}),
      user: { uid: r.user.uid, gid: r.user.gid, groups: [...r.user.groups] },
      ...(r.idRange ? { idRange: r.idRange } : {}),
      env: [...r.env],
      startFifo: this.#state === 'created' ? this.#startFifo : null,
    };
  }

  /** A pipe to the container's fd 0 when stdio is 'pipe', else null. */
  get stdin(): Writable | null {
    return this.#stdio.stdin;
  }

  /** A pipe from the container's fd 1 when stdio is 'pipe', else null. */
  get stdout(): Readable | null {
    return this.#stdio.stdout;
  }

  /** A pipe from the container's fd 2 when stdio is 'pipe', else null. */
  get stderr(): Readable | null {
    return this.#stdio.stderr;
  }

  /** The device rules in force, the profile's first, live changes last. */
  get devices(): readonly DeviceRule[] {
    return this.#devices.rules;
  }

  /** The limits in force (the spec's, then live changes), shaped like OCI linux.resources. */
  get resources(): ResourcesSpec {
    return JSON.parse(JSON.stringify(this.#resources)) as ResourcesSpec;
  }

  /** The syscall filter as the spec (or profile) gave it. */
  get seccomp(): SeccompSpec {
    return structuredClone(this.#record.seccompSpec);
  }

  /** @internal The filter for the container's capabilities as they are (what start() installs and explain() evaluates). */
  get seccompFilter(): SeccompFilter | null {
    return resolveSeccomp(this.#record.seccompSpec, fromMask(this.#caps.bounding));
  }

  /**
   * @internal The compiled filter, its flags and its listener, for the init's start
   * message; `status` is the state the listener is told (the init hands its fd on as
   * soon as the message arrives: at create for a detached container).
   */
  startFilter(status: HookState['status']): [Uint32Array, number, NativeListener | null] {
    const { seccomp, seccompFlags, listener } = nativeFilter(this.seccompFilter, this.#hookState(status));
    return [seccomp, seccompFlags, listener];
  }

  /** The capability sets the command runs (or will run) with. */
  get capabilities(): CapabilitySets {
    return capabilitySets(this.#caps);
  }

  /** The uid the command runs as. */
  get uid(): number {
    return this.#record.user.uid;
  }

  /** Whether the container has a user namespace (its root an unprivileged host id). */
  get userns(): boolean {
    return this.#record.namespaces.includes('user');
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
    const { limits } = this.#record;
    const list = applyCapabilityChange(fromMask(this.#caps.bounding), change, limits.lastCap);
    const mask = toMask(list, limits.lastCap);
    const missing = mask & ~limits.available;
    if (missing) {
      throw new ContainerError('ERR_CAPABILITY_UNAVAILABLE', `${fromMask(missing).join(', ')}: this process does not hold it itself`);
    }
    const inheritable = this.#caps.inheritable;
    this.#caps = { bounding: mask, effective: mask, permitted: mask, inheritable, ambient: this.#caps.ambient & mask & inheritable };
    debug('%s: capabilities %o', this.id, list);
    return this.capabilities;
  }

  /**
   * Allows a device, now: live on a running container for the next open(), on both
   * backends. A rule ('c 10:232 rwm', an object) or a host node to pass through
   * ({ hostPath: '/dev/fuse' }: the node is created in the container too).
   */
  async allowDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    this.#requireState('allowDevice()', 'created', 'running');
    await this.#devices.allow(rule);
  }

  /** Takes a device away again (a deny rule; for a passthrough, of its numbers). The node stays. */
  async denyDevice(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    this.#requireState('denyDevice()', 'created', 'running');
    await this.#devices.deny(rule);
  }

  /**
   * Changes limits, now, on a created or running container: field by field on top of
   * the limits in force (`{ memory: { limit } }` keeps the swap limit, a quota keeps
   * the period), only the controllers the change names written; the next allocation
   * or fork obeys. Checked in full before any file is written; when the kernel refuses
   * a write, the files already written get their values back. Resolves with the limits
   * now in force.
   */
  async updateResources(change: ResourcesSpec): Promise<ResourcesSpec> {
    this.#requireState('updateResources()', 'created', 'running');
    const next = this.#limitUpdates.then(async () => {
      this.#requireState('updateResources()', 'created', 'running');
      this.#resources = await updateLimits(this.#record.cgroups, this.#resources, change, hostInfo(), this.id);
    });
    this.#limitUpdates = next.catch(() => undefined);
    await next;
    return this.resources;
  }

  /**
   * Creates a device node as the container would: in its mount namespace (the path
   * resolved inside its root), under its device cgroup, with its ids and capabilities,
   * so the kernel applies the container's own policy.
   */
  async mknodInside(path: string, node: DeviceNodeSpec): Promise<void> {
    const n = this.#devices.nodeInside(path, node);
    this.#requireState('mknodInside()', 'created', 'running');
    await this.#devices.mknodInside(n);
  }

  /** The OCI state a hook reads on its stdin. */
  #hookState(status: HookState['status']): HookState {
    return hookState(this.id, status, this.pid, this.#record.bundle, this.#record.annotations);
  }

  /**
   * @internal prestart, createRuntime, then createContainer, while the init waits
   * before pivot_root (the plan's hooksPause), its mounts in place; then the init goes
   * on. Only for a container whose hooks made it pause.
   */
  async runCreateHooks(): Promise<void> {
    const h = this.#record.hooks;
    if (!pausesForHooks(h)) return;
    // Steps 3-5 of the runtime spec's lifecycle, after the environment was created
    // (step 2): the state says "created", as its State section has it (crun too; runc
    // says "creating").
    await runHooks('prestart', h.prestart, this.#hookState('created'));
    await runHooks('createRuntime', h.createRuntime, this.#hookState('created'));
    await runHooks('createContainer', h.createContainer, this.#hookState('created'),
      (hook, name) => this.#hookInside(hook, name, resolveHookExec(hook, this.#record), 'created'));
    try {
      await this.#native.resume();
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
  }

  /**
   * A hook inside the container, its namespaces and cgroups: startContainer with the
   * container's user and capabilities, createContainer as the runtime (resolveHookExec).
   */
  async #hookInside(h: ResolvedHook, name: string, plan: NativeExec, status: HookState['status']): Promise<void> {
    const p = await startExec(this.#native, this.id, plan, () => undefined, () => Promise.resolve(0));
    await superviseHook(name, h, {
      stdin: p.stdin, stdout: p.stdout, stderr: p.stderr,
      kill: () => {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      },
      done: p.wait().then((st) => ({ code: st.exitCode, signal: st.signal })),
    }, this.#hookState(status));
  }

  /**
   * Executes the command. Only from 'created'. startContainer hooks run first, inside
   * the container (a failure stops it and rejects); poststart hooks after, whose
   * failures are warnings.
   */
  async start(): Promise<void> {
    this.#requireState('start()', 'created');
    const hooks = this.#record.hooks;
    if (hooks.startContainer.length) {
      try {
        await runHooks('startContainer', hooks.startContainer, this.#hookState('created'), (h, name) => this.#hookInside(h, name,
          resolveExec({ command: [h.path, ...h.args.slice(1)], ...(h.env ? { env: h.env } : {}) }, this.#record, this.capabilities, this.#hookState('created')), 'created'));
      } catch (e) {
        await this.destroy();
        throw e;
      }
    }
    await this.#start();
    if (hooks.poststart.length) await runHooksWarning('poststart', hooks.poststart, this.#hookState('running'), (e) => process.emitWarning(e.message, 'NsboxHookWarning'));
  }

  async #start(): Promise<void> {
    this.#state = 'running';
    if (this.#startFifo !== null) {
      await startThroughFifo(this.#startFifo, this.id);
      this.#startFifo = null;
      debug('%s: started through its FIFO', this.id);
      return;
    }
    try {
      await this.#native.start(this.#caps, false, ...this.startFilter('created'));
    } catch (e) {
      throw fromNative(e, `container ${this.id}`);
    }
    debug('%s: started', this.id);
  }

  /**
   * Runs another process inside the running container, in all its namespaces and
   * cgroups, as its user with its capabilities unless the spec says otherwise. Its
   * stdio is pipes unless the spec says otherwise (or the terminal).
   */
  async exec(spec: ExecSpec): Promise<ExecProcess> {
    this.#requireState('exec()', 'running');
    const plan = resolveExec(spec, this.#record, this.capabilities, this.#hookState('running'));
    return startExec(this.#native, this.id, plan, (pipes, on) => (on ? this.#execPipes.add(pipes) : this.#execPipes.delete(pipes)),
      () => oomKills(this.#record.cgroups, hostInfo()));
  }

  /** The pids (host view) of every process in the container's cgroup. */
  processes(): Promise<number[]> {
    return cgroupProcesses(this.#record.cgroups, this.id);
  }

  /** Freezes every process of the container (the cgroup2 freezer). */
  async pause(): Promise<void> {
    this.#requireState('pause()', 'created', 'running');
    await freezeCgroup(this.#record.cgroups, this.id, true);
  }

  /** Thaws a paused container. */
  async resume(): Promise<void> {
    this.#requireState('resume()', 'created', 'running');
    await freezeCgroup(this.#record.cgroups, this.id, false);
  }

  /** Memory, CPU, pids, block I/O and huge page figures from the container's own cgroups (bytes, nanoseconds, counts). */
  stats(): Promise<ContainerStats> {
    return cgroupStats(this.#record.cgroups, hostInfo());
  }

  /** True while the container's cgroup is frozen. */
  paused(): Promise<boolean> {
    return cgroupFrozen(this.#record.cgroups);
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
    this.#watchOom(false);
    this.#native.killAll();
    await this.#exit;
    await this.#devices.settled();
    await this.#limitUpdates;
    this.#state = 'destroyed';
    await this.#stdio.close();
    for (const pipes of this.#execPipes) pipes.closeUntaken();
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
    // Its ids are free once nothing of it is left.
    await releaseRange(this.#record.idRange);
    debug('%s: destroyed', this.id);
    const poststop = this.#record.hooks.poststop;
    if (poststop.length) await runHooksWarning('poststop', poststop, this.#hookState('stopped'), (e) => process.emitWarning(e.message, 'NsboxHookWarning'));
  }
}
