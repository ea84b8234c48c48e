#!/usr/bin/env node
// nsbox-runtime: an OCI runtime command line (runc's) on the library, for callers such
// as containerd's io.containerd.runc.v2 shim. Containers outlive this process: create
// leaves the init waiting on its start FIFO, and later invocations find it through
// the state directory (--root).
// First: it gives SIGUSR1 a listener before anything else runs (see signals.ts).
import { forwardSignals } from './signals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import {
  attachContainer, type Container, ContainerError, CAPABILITY_NAMES, createContainer, profiles, toOciConfig,
} from '../index';
import { cgroupFrozenSync, signalCgroup } from '../cgroup';
import { detectLsm, hostInfo } from '../host';
import { pidStartTime, releaseDeadContainer, signalNumber } from '../container';
import { OCI_SYSTEM_MOUNTS } from '../oci/config';
import { SECCOMP_FLAGS } from '../policy/seccomp';
import { execFromOciProcess, readResourcesUpdate, specFromOciConfig } from '../oci/bundle';
import { parseArgs, str, type FlagSpec, type Flags } from './args';
import { Log, type LogFormat } from './log';
import { StateStore, type StoredState, writePidFile } from './state';
import { limitsFromFlags, UPDATE_FLAGS } from './update';
import { eventLine, parseDuration, runcStats, streamEvents } from './events';

const OCI_VERSION = '1.0.2';
const VERSION = '0.1.0';
const DEFAULT_ROOT = '/run/nsbox-runtime';

type Status = 'created' | 'running' | 'paused' | 'stopped';

interface Ctx {
  store: StateStore;
  log: Log;
}

function fail(code: string, message: string): never {
  throw new ContainerError(code, message);
}

function statusOf(ctx: Ctx, s: StoredState): Status {
  const h = s.handle;
  if (pidStartTime(h.pid) !== h.pidStartTime) return 'stopped';
  if (existsSync(ctx.store.fifo(s.id))) return 'created';
  if (cgroupFrozenSync(h)) return 'paused';
  return 'running';
}

/** SIGKILL to `pid` if it is still the process that started at `startTime`; resolves once it is gone (10 s at most). */
async function killInit(pid: number, startTime: string): Promise<void> {
  if (pidStartTime(pid) !== startTime) return;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 1000 && pidStartTime(pid) === startTime; i++) {
    // A zombie keeps its start time until its parent reaps it; state "Z" is gone enough.
    let stat = '';
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      return;
    }
    if (/\) Z /.test(stat)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function attach(ctx: Ctx, s: StoredState): Container {
  return attachContainer({ ...s.handle, startFifo: existsSync(ctx.store.fifo(s.id)) ? ctx.store.fifo(s.id) : null });
}

function one(rest: string[], usage: string): string {
  if (rest.length < 1) fail('ERR_INVALID_ARG', `"${usage}" requires a container id`);
  return rest[0];
}

/** The container a command names (its first argument), its stored state and its status now. */
function named(ctx: Ctx, rest: string[], usage: string): { id: string; s: StoredState; status: Status } {
  const id = one(rest, usage);
  const s = ctx.store.load(id);
  return { id, s, status: statusOf(ctx, s) };
}

/** The same, for the commands that need its init alive. */
function live(ctx: Ctx, rest: string[], usage: string): { id: string; s: StoredState; status: Status } {
  const n = named(ctx, rest, usage);
  if (n.status === 'stopped') fail('ERR_CONTAINER_STATE', 'container not running');
  return n;
}

/** The user owning a container's state directory: its name from /etc/passwd, or "#uid". */
function ownerOf(dir: string): string {
  const uid = statSync(dir).uid;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
  return line ? line.split(':')[0] : `#${uid}`;
}

/** Columns padded to their widest cell, three spaces apart. */
function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i] + 3))).join('')).map((l) => `${l}\n`).join('');
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    return fail('ERR_INVALID_ARG', `${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail('ERR_INVALID_OCI_CONFIG', `${what} ${file}: not JSON: ${(e as Error).message}`);
  }
}

/**
 * ps(1) with the caller's options (-ef unless given), cut to the container's processes
 * by its PID column, as runc's table. ps reads the host's /proc; the pids are the host's.
 */
function psTable(args: string[], pids: Set<number>): string {
  // Without a preloaded library of the runtime's own (a sanitizer's runtime in its tests): ps is not ours.
  const { LD_PRELOAD: _, ...env } = process.env;
  const r = spawnSync('ps', args, { encoding: 'utf8', timeout: 10_000, env });
  if (r.error || r.status !== 0) fail('ERR_INVALID_ARG', `ps ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
  const [header, ...lines] = r.stdout.split('\n');
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) fail('ERR_INVALID_ARG', `ps ${args.join(' ')}: its output has no PID column`);
  return [header, ...lines.filter((l) => pids.has(Number(l.trim().split(/\s+/)[column])))].map((l) => `${l}\n`).join('');
}

function signalArg(v: string | undefined): number {
  if (v === undefined) return constants.signals.SIGTERM;
  if (/^\d+$/.test(v)) return signalNumber(Number(v));
  const name = v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`;
  return signalNumber(name);
}


const commands: Record<string, { flags: Record<string, FlagSpec>; run(ctx: Ctx, f: Flags, rest: string[]): Promise<number> }> = {
  create: {
    flags: {
      bundle: { alias: 'b' }, 'pid-file': {}, 'console-socket': {}, 'no-pivot': { bool: true }, 'no-new-keyring': { bool: true },
      'preserve-fds': {},
    },
    async run(ctx, f, rest) {
      await create(ctx, f, one(rest, 'create'), false);
      return 0;
    },
  },
  run: {
    flags: {
      bundle: { alias: 'b' }, 'pid-file': {}, 'console-socket': {}, detach: { alias: 'd', bool: true }, 'no-pivot': { bool: true },
      'no-new-keyring': { bool: true }, 'preserve-fds': {},
    },
    async run(ctx, f, rest) {
      const id = one(rest, 'run');
      const c = await create(ctx, f, id, true);
      await c.start();
      const s = ctx.store.load(id);
      ctx.store.save({ ...s, handle: { ...s.handle, startFifo: null } });
      if (f.detach) return 0;
      // In the foreground, the signals a terminal or a supervisor sends go to the container, as runc passes them on.
      const forward = (sig: NodeJS.Signals) => {
        try {
          c.kill(sig);
        } catch (e) {
          ctx.log.warn(`forwarding ${sig}: ${(e as Error).message}`);
        }
      };
      const stop = forwardSignals(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'], forward);
      const status = await c.wait();
      stop();
      await c.destroy();
      ctx.store.remove(id);
      return status.exitCode ?? 128 + (status.signal ? constants.signals[status.signal] : 0);
    },
  },
  start: {
    flags: {},
    async run(ctx, _f, rest) {
      const { s, status: st } = named(ctx, rest, 'start');
      if (st !== 'created') fail('ERR_CONTAINER_STATE', `cannot start a container that has ${st === 'stopped' ? 'stopped' : 'already started'} (${st})`);
      await attach(ctx, s).start();
      ctx.store.save({ ...s, handle: { ...s.handle, startFifo: null } });
      return 0;
    },
  },
  state: {
    flags: {},
    async run(ctx, _f, rest) {
      const { s, status } = named(ctx, rest, 'state');
      const out = {
        ociVersion: s.ociVersion, id: s.id, pid: status === 'stopped' ? 0 : s.handle.pid, status, bundle: s.bundle, rootfs: s.rootfs,
        created: s.created, owner: '', annotations: s.annotations,
      };
      writeFileSync(1, `${JSON.stringify(out, null, 2)}\n`);
      return 0;
    },
  },
  kill: {
    flags: { all: { alias: 'a', bool: true } },
    async run(ctx, f, rest) {
      const sig = signalArg(rest[1]);
      const { id, s } = live(ctx, rest, 'kill');
      if (f.all) {
        // attach() checks the state file's cgroup paths against the init's own first.
        attach(ctx, s);
        await signalCgroup(s.handle, id, sig, constants.signals.SIGKILL);
        return 0;
      }
      if (!attach(ctx, s).kill(sig)) fail('ERR_CONTAINER_STATE', 'container not running');
      return 0;
    },
  },
  delete: {
    flags: { force: { alias: 'f', bool: true } },
    async run(ctx, f, rest) {
      const id = one(rest, 'delete');
      let s: StoredState;
      try {
        s = ctx.store.load(id);
      } catch (e) {
        // A create that failed leaves no state, and its caller's cleanup (podman's, the
        // shim's) deletes with --force: that says nothing and succeeds, as with runc. A
        // directory left without a state file (a create killed while writing it) goes too.
        if (!(e instanceof ContainerError) || e.code !== 'ERR_CONTAINER_NOT_FOUND') throw e;
        ctx.store.remove(id);
        if (f.force) return 0;
        throw e;
      }
      const st = statusOf(ctx, s);
      // A created container too needs --force, as the runtime spec says of every state
      // but stopped (runc deletes a created one without it).
      if (st !== 'stopped') {
        if (!f.force) fail('ERR_CONTAINER_STATE', `cannot delete container ${id} that is not stopped: ${st}`);
        let c: Container;
        try {
          c = attach(ctx, s);
        } catch (e) {
          // Its init was moved out of one of its cgroups by someone else: nothing is
          // written through those directories, but the init (its pid and start time
          // checked) is killed, and what is left goes as for a dead container.
          if (!(e instanceof ContainerError) || e.code !== 'ERR_INVALID_ARG' || !/is not in it/.test(e.message)) throw e;
          ctx.log.warn(`${e.message}: killing the init by its pid`);
          await killInit(s.handle.pid, s.handle.pidStartTime);
          await releaseDeadContainer(s.handle);
          ctx.store.remove(id);
          return 0;
        }
        if (st === 'paused') await c.resume();
        await c.destroy();
      } else {
        await releaseDeadContainer(s.handle);
      }
      ctx.store.remove(id);
      return 0;
    },
  },
  exec: {
    flags: {
      process: { alias: 'p' }, detach: { alias: 'd', bool: true }, 'pid-file': {}, 'console-socket': {}, tty: { alias: 't', bool: true },
      cwd: {}, env: { alias: 'e', repeat: true }, user: { alias: 'u' }, cap: { alias: 'c', repeat: true },
      'no-new-privs': { bool: true }, 'preserve-fds': {}, 'process-label': {}, apparmor: {},
    },
    async run(ctx, f, rest) {
      const id = one(rest, 'exec');
      // As a config's labels: moot where the LSM is off (noted), refused where it is on.
      const lsm = detectLsm();
      for (const [k, on] of [['process-label', lsm.selinux], ['apparmor', lsm.apparmor]] as const) {
        if (!str(f, k)) continue;
        if (on) fail('ERR_UNSUPPORTED', `--${k} is not supported by this runtime`);
        ctx.log.warn(`--${k} ${str(f, k)} not applied: this host runs no ${k === 'apparmor' ? 'AppArmor' : 'SELinux'}`);
      }
      if (str(f, 'preserve-fds') && str(f, 'preserve-fds') !== '0') fail('ERR_UNSUPPORTED', '--preserve-fds is not supported by this runtime');
      const s = ctx.store.load(id);
      const st = statusOf(ctx, s);
      if (st !== 'running') fail('ERR_CONTAINER_STATE', st === 'stopped' ? 'container not running' : `cannot exec in a ${st} container`);
      const p = str(f, 'process')
        ? execFromOciProcess(readJsonFile(str(f, 'process') as string, 'process'))
        : {
          command: rest.slice(1), env: [...s.handle.env], cwd: '/', user: s.handle.user, noNewPrivileges: false, rlimits: [],
          terminal: f.tty === true,
        };
      if (!str(f, 'process')) {
        if (p.command.length === 0) fail('ERR_INVALID_ARG', 'exec needs a command (or --process)');
        if (str(f, 'cwd')) p.cwd = str(f, 'cwd') as string;
        for (const e of (f.env as string[] | undefined) ?? []) p.env.push(e);
        const u = str(f, 'user');
        if (u) {
          const [uid, gid] = u.split(':').map(Number);
          p.user = { uid, gid: gid ?? uid, groups: [] };
        }
        if (f['no-new-privs']) p.noNewPrivileges = true;
      }
      const consoleSocket = str(f, 'console-socket');
      if (p.terminal && !consoleSocket) fail('ERR_UNSUPPORTED', 'a terminal needs --console-socket');
      const caps = (f.cap as string[] | undefined) ?? [];
      // process.json's sets, within the container's bounding set: callers copy the
      // container's process (containerd does), whose capabilities were cut to what this
      // host holds when it was created.
      const bounding = new Set(s.handle.capabilities.bounding);
      const base = 'capabilities' in p && p.capabilities
        ? Object.fromEntries(Object.entries(p.capabilities).map(([set, list]) => [set, list.filter((n) => bounding.has(n))]))
        : s.handle.capabilities;
      const capabilities = caps.length
        ? Object.fromEntries(Object.entries(base).map(([set, list]) => [set, set === 'ambient' || set === 'inheritable' ? list : [...list, ...caps]]))
        : base;
      const c = attach(ctx, s);
      const proc = await c.exec({
        command: p.command, env: p.env, cwd: p.cwd, user: p.user, capabilities, noNewPrivileges: p.noNewPrivileges, rlimits: p.rlimits,
        ...('umask' in p && p.umask !== undefined ? { umask: p.umask } : {}),
        ...(p.terminal && consoleSocket ? { terminal: { consoleSocket: resolve(consoleSocket) } } : {}), detach: f.detach === true,
        // As runc: the process's stdio is the runtime's own (the shim's pipes or fifos).
        stdio: 'inherit',
      });
      const pidFile = str(f, 'pid-file');
      if (pidFile) writePidFile(pidFile, proc.pid);
      if (f.detach) return 0;
      const status = await proc.wait();
      return status.exitCode ?? 128 + (status.signal ? constants.signals[status.signal] : 0);
    },
  },
  ps: {
    flags: { format: { alias: 'f' } },
    async run(ctx, f, rest) {
      const { s, status } = named(ctx, rest, 'ps');
      const format = str(f, 'format') ?? 'table';
      if (format !== 'json' && format !== 'table') fail('ERR_INVALID_ARG', `invalid format option ${format}`);
      if (format === 'json' && rest.length > 1) fail('ERR_INVALID_ARG', 'ps options cannot be used with json format');
      const pids = status === 'stopped' ? [] : await attach(ctx, s).processes();
      if (format === 'json') writeFileSync(1, `${JSON.stringify(pids)}\n`);
      else writeFileSync(1, psTable(rest.length > 1 ? rest.slice(1) : ['-ef'], new Set(pids)));
      return 0;
    },
  },
  list: {
    flags: { format: { alias: 'f' }, quiet: { alias: 'q', bool: true } },
    async run(ctx, f, rest) {
      if (rest.length > 0) fail('ERR_INVALID_ARG', '"list" takes no arguments');
      const format = str(f, 'format') ?? 'table';
      if (format !== 'table' && format !== 'json') fail('ERR_INVALID_ARG', `invalid format option ${format}`);
      const states = ctx.store.ids().map((id) => {
        const s = ctx.store.load(id);
        const status = statusOf(ctx, s);
        return { ociVersion: s.ociVersion, id, pid: status === 'stopped' ? 0 : s.handle.pid, status, bundle: s.bundle, rootfs: s.rootfs,
          created: s.created, ...(Object.keys(s.annotations ?? {}).length ? { annotations: s.annotations } : {}), owner: ownerOf(ctx.store.dir(id)) };
      });
      if (f.quiet) writeFileSync(1, states.map((s) => `${s.id}\n`).join(''));
      else if (format === 'json') writeFileSync(1, `${JSON.stringify(states)}\n`);
      else writeFileSync(1, table(['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])));
      return 0;
    },
  },
  pause: {
    flags: {},
    async run(ctx, _f, rest) {
      const { s } = live(ctx, rest, 'pause');
      await attach(ctx, s).pause();
      return 0;
    },
  },
  resume: {
    flags: {},
    async run(ctx, _f, rest) {
      const { s, status } = named(ctx, rest, 'resume');
      if (status !== 'paused') fail('ERR_CONTAINER_STATE', 'container not paused');
      await attach(ctx, s).resume();
      return 0;
    },
  },
  update: {
    flags: { resources: { alias: 'r' }, ...Object.fromEntries(UPDATE_FLAGS.map((k) => [k, {}])) },
    async run(ctx, f, rest) {
      const id = one(rest, 'update');
      const file = str(f, 'resources');
      const flagged = limitsFromFlags(f);
      if (!file && Object.keys(flagged).length === 0) fail('ERR_INVALID_ARG', 'update needs --resources FILE (or - for stdin) or a limit flag (--memory, --pids-limit, ...)');
      const s = ctx.store.load(id);
      if (statusOf(ctx, s) === 'stopped') fail('ERR_CONTAINER_STATE', 'container not running');
      // The file first, read as config.json's linux.resources is; the flags on top of it.
      const { rules, limits } = file ? readResourcesUpdate(readJsonFile(file, 'resources')) : { rules: [], limits: {} };
      const change: Record<string, unknown> = { ...limits };
      for (const [group, fields] of Object.entries(flagged)) {
        change[group] = { ...(limits[group] as object | undefined), ...fields };
      }
      const c = attach(ctx, s);
      // Each checked in full before anything is written: the limits as one change, then
      // the device rules in order on top of those in force, as allowDevice/denyDevice do.
      if (Object.keys(change).length) await c.updateResources(change);
      for (const r of rules) await (r.allow ? c.allowDevice(r) : c.denyDevice(r));
      ctx.store.save({ ...s, handle: { ...s.handle, devices: c.handle.devices, resources: c.handle.resources } });
      return 0;
    },
  },
  events: {
    flags: { stats: { bool: true }, interval: {} },
    async run(ctx, f, rest) {
      const intervalMs = parseDuration(str(f, 'interval') ?? '5s');
      const { id, s, status } = named(ctx, rest, 'events');
      if (status === 'stopped') fail('ERR_CONTAINER_STATE', `container with id ${id} is not running`);
      const c = attach(ctx, s);
      if (f.stats) {
        writeFileSync(1, eventLine({ type: 'stats', id, data: runcStats(await c.stats()) }));
        return 0;
      }
      await streamEvents(c, intervalMs);
      return 0;
    },
  },
  features: {
    flags: {},
    async run() {
      const features = {
        ociVersionMin: '1.0.0',
        ociVersionMax: OCI_VERSION,
        hooks: ['prestart', 'createRuntime', 'startContainer', 'poststart', 'poststop'],
        mountOptions: ['bind', 'rbind', 'ro', 'rw', 'nosuid', 'nodev', 'noexec', 'strictatime', 'relatime', 'mode', 'size'],
        linux: {
          namespaces: ['mount', 'pid', 'uts', 'ipc', 'network', 'cgroup'],
          capabilities: [...CAPABILITY_NAMES],
          cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
          seccomp: {
            enabled: true,
            actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'],
            operators: ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'],
            archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
            knownFlags: Object.keys(SECCOMP_FLAGS), supportedFlags: Object.keys(SECCOMP_FLAGS),
          },
          apparmor: { enabled: false },
          selinux: { enabled: false },
        },
        annotations: { 'org.nsbox.runtime.version': VERSION },
      };
      writeFileSync(1, `${JSON.stringify(features, null, 2)}\n`);
      return 0;
    },
  },
  spec: {
    flags: { bundle: { alias: 'b' }, rootless: { bool: true } },
    async run(_ctx, f) {
      if (f.rootless) fail('ERR_UNSUPPORTED', '--rootless is not supported by this runtime');
      const file = join(resolve(str(f, 'bundle') ?? '.'), 'config.json');
      if (existsSync(file)) fail('ERR_INVALID_ARG', `File ${file} exists. Remove it first`);
      writeFileSync(file, `${JSON.stringify(defaultConfig(), null, 2)}\n`);
      return 0;
    },
  },
};

/** The config `spec` writes: the default profile, a shell, the rootfs in ./rootfs. */
function defaultConfig(): Record<string, unknown> {
  const p = toOciConfig(profiles.default);
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true, user: { uid: 0, gid: 0 }, args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'], cwd: '/',
      capabilities: { ...p.process.capabilities, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }], noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'nsbox',
    mounts: OCI_SYSTEM_MOUNTS.map((m) => ({ ...m, options: [...m.options] })),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      maskedPaths: p.linux.maskedPaths,
      readonlyPaths: p.linux.readonlyPaths,
      // The default profile's filter, as Docker sends its own: a config from here is
      // filtered unless its writer takes it out.
      seccomp: p.linux.seccomp,
    },
  };
}

async function create(ctx: Ctx, f: Flags, id: string, owned: boolean): Promise<Container> {
  if (str(f, 'preserve-fds') && str(f, 'preserve-fds') !== '0') fail('ERR_UNSUPPORTED', '--preserve-fds is not supported by this runtime');
  if (f['no-pivot']) ctx.log.warn('--no-pivot: this runtime always uses pivot_root');
  const bundle = resolve(str(f, 'bundle') ?? '.');
  const config = readJsonFile(join(bundle, 'config.json'), 'config') as { ociVersion?: string; process?: { terminal?: boolean }; annotations?: Record<string, string> };
  // A relative root.path is joined to the bundle's real path (as runc's chdir into the
  // bundle does): the library takes a rootfs only by its real path.
  const { spec, notes } = specFromOciConfig(config, realpathSync(bundle), id, detectLsm(), hostInfo().devicesV1 !== null);
  for (const n of notes) ctx.log.debug(n);
  const terminal = config.process?.terminal === true;
  const consoleSocket = str(f, 'console-socket');
  if (terminal && !consoleSocket) fail('ERR_UNSUPPORTED', 'process.terminal needs --console-socket: this runtime does not relay a terminal itself');
  if (!terminal && consoleSocket) fail('ERR_INVALID_ARG', '--console-socket was given but process.terminal is false');
  ctx.store.reserve(id);
  let c: Container;
  try {
    c = await createContainer({
      ...spec, stdio: 'inherit', detached: { startFifo: ctx.store.fifo(id) },
      ...(consoleSocket ? { terminal: { consoleSocket: resolve(consoleSocket) } } : {}),
    });
  } catch (e) {
    ctx.store.remove(id);
    throw e;
  }
  ctx.store.save({
    ociVersion: config.ociVersion ?? OCI_VERSION, id, bundle, rootfs: spec.rootfs, created: new Date().toISOString(),
    annotations: config.annotations ?? {}, handle: c.handle,
  });
  const pidFile = str(f, 'pid-file');
  if (pidFile) writePidFile(resolve(pidFile), c.pid);
  ctx.log.debug(`created ${id}: init pid ${c.pid}${owned ? '' : ', waiting for start'}`);
  return c;
}

const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  root: {}, log: {}, 'log-format': {}, 'systemd-cgroup': { bool: true }, debug: { bool: true }, criu: {}, rootless: {},
  version: { alias: 'v', bool: true }, help: { alias: 'h', bool: true },
};

const USAGE = `usage: nsbox-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [flags] ID
commands: ${Object.keys(commands).join(', ')}
`;

export async function main(argv: readonly string[]): Promise<number> {
  let log = new Log(null, 'text', false);
  try {
    const { flags: g, rest } = parseArgs(argv, GLOBAL_FLAGS);
    const format = (str(g, 'log-format') ?? 'text') as LogFormat;
    if (format !== 'text' && format !== 'json') fail('ERR_INVALID_ARG', `unknown log format ${format}`);
    log = new Log(str(g, 'log') ?? null, format, g.debug === true);
    if (g.version) {
      writeFileSync(1, `nsbox-runtime version ${VERSION}\nspec: ${OCI_VERSION}\n`);
      return 0;
    }
    if (g.help || rest.length === 0) {
      writeFileSync(rest.length === 0 && !g.help ? 2 : 1, USAGE);
      return rest.length === 0 && !g.help ? 1 : 0;
    }
    if (g['systemd-cgroup']) fail('ERR_UNSUPPORTED', '--systemd-cgroup is not supported by this runtime: it manages cgroupfs directories itself');
    if (str(g, 'rootless') && str(g, 'rootless') !== 'false' && str(g, 'rootless') !== 'auto') fail('ERR_UNSUPPORTED', '--rootless is not supported by this runtime');
    const [name, ...args] = rest;
    const cmd = Object.hasOwn(commands, name) ? commands[name] : fail('ERR_INVALID_ARG', `No help topic for '${name}'`);
    const { flags, rest: positional } = parseArgs(args, cmd.flags);
    const ctx: Ctx = { store: new StateStore(resolve(str(g, 'root') ?? DEFAULT_ROOT)), log };
    log.debug(`${name} ${args.join(' ')}`);
    return await cmd.run(ctx, flags, positional);
  } catch (e) {
    log.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

if (require.main === module) {
  // Exit as soon as the command is done: handles on containers (their pidfds) would
  // otherwise keep this process alive as long as they run.
  main(process.argv.slice(2)).then((code) => process.exit(code), () => process.exit(1));
}
