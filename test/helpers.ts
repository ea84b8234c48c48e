// Shared test helpers: a busybox rootfs, shell runs, and checks that a container
// left nothing behind on the host.
import type { ExecutionContext } from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, copyFileSync, symlinkSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libraryParents } from '../lib/cgroup';
import { hostInfo } from '../lib/host';
import { CAPABILITY_NAMES } from '../lib/policy/capabilities';
import { Container, type ExecProcess, type ExitStatus } from '../lib/container';
import { run as libRun, type RunResult, type RunSpec } from '../lib/run';

/**
 * Under `npm run test:asan` the sanitizer runtimes are preloaded into Node. Programs
 * the tests start (ps, sh, python3, mv) must not get them (some hang with them), but
 * Node processes that load the instrumented addon need them: nodeEnv() gives them back.
 */
const SANITIZER_PRELOAD = process.env.LD_PRELOAD;
delete process.env.LD_PRELOAD;
export function nodeEnv(): NodeJS.ProcessEnv {
  return SANITIZER_PRELOAD ? { ...process.env, LD_PRELOAD: SANITIZER_PRELOAD } : process.env;
}

export const BUSYBOX = '/bin/busybox';

/** How long a test waits for a process it started before it kills it and fails. */
export const PROCESS_WAIT_MS = 60_000;

/**
 * The python3 that containers on the host's view run: Debian's. One under a path the
 * view hides by default (a pyenv in /root) would not be there inside.
 */
export const PYTHON = '/usr/bin/python3';
const APPLETS = ['sh', 'cat', 'ls', 'mknod', 'echo', 'id', 'hostname', 'head', 'od', 'grep', 'true', 'false', 'sleep',
  'stat', 'readlink', 'touch', 'dd', 'wc', 'test', 'env', 'ps', 'mount', 'pwd', 'mkdir', 'rm', 'ln', 'printf', 'kill', 'unshare', 'tail'];

/** A minimal rootfs: busybox-static and its applets. The caller removes it with removeRootfs(). */
export function busyboxRootfs(): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install busybox-static (.ci/run does)`);
  const root = mkdtempSync(join(tmpdir(), 'nsbox-rootfs-'));
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) mkdirSync(join(root, d));
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  return root;
}

export function removeRootfs(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/**
 * Runs a shell script in a container with `spec`; the default rootfs is the host's. A
 * script still running after PROCESS_WAIT_MS is destroyed (its result then shows SIGKILL).
 */
export function sh(script: string, spec: Partial<RunSpec> = {}): Promise<RunResult> {
  return run({ command: ['/bin/sh', '-c', script], ...spec });
}

/** The library's run(), with the container destroyed if it still runs after PROCESS_WAIT_MS. */
export function run(spec: RunSpec): Promise<RunResult> {
  return libRun({ signal: AbortSignal.timeout(PROCESS_WAIT_MS), ...spec });
}

/** Paths a container with this id may own on the host. */
export function cgroupPaths(id: string): string[] {
  const h = hostInfo();
  return libraryParents(h).map((p) => join(p, id));
}

/**
 * Removes an empty cgroup directory a test's cgroupPath made the parent of its
 * containers, from every hierarchy (the library leaves such parents, as runc does).
 */
export function removeCgroupParent(name: string): void {
  const h = hostInfo();
  for (const root of new Set([h.cgroup2, h.devicesV1, ...Object.values(h.v1)])) {
    if (root && existsSync(join(root, name))) rmdirSync(join(root, name));
  }
}

/**
 * Removes the cgroup directories `names` (and what is below them, once empty) from
 * every cgroup hierarchy mounted, name=systemd's included: clients and runc make their
 * parents in each. Busy ones stay.
 */
export function pruneCgroupParents(names: readonly string[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '))
    .filter((f) => { const dash = f.indexOf('-'); return dash > 0 && /^cgroup2?$/.test(f[dash + 1]); }).map((f) => f[4]);
  const prune = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) prune(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      // busy, or not ours to remove
    }
  };
  for (const m of new Set(mounts)) for (const n of names) if (existsSync(join(m, n))) prune(join(m, n));
}

/** What of a container is still on the host: cgroup dirs, its init process, mounts under the staging dir. */
export function leftovers(id: string, pid?: number): string[] {
  const left = cgroupPaths(id).filter((p) => existsSync(p)).map((p) => `cgroup ${p}`);
  if (pid !== undefined && existsSync(`/proc/${pid}`)) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    left.push(`process ${pid}: ${stat.slice(0, 60)}`);
  }
  const staging = hostInfo().stagingDir;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.split(' ')[4]?.startsWith(staging)) left.push(`mount ${line}`);
  }
  return left;
}

/** mulberry32: a small, seeded, reproducible random source for property tests. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The whole of a stream, once it ends; a stream still open after `ms` (a process that
 * hangs, or one that left its pipe to a child) is destroyed and the read rejects.
 */
export function textOf(stream: NodeJS.ReadableStream | null, ms = PROCESS_WAIT_MS): Promise<string> {
  if (!stream) return Promise.resolve('');
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  const ended = new Promise<string>((resolve) => stream.once('end', () => resolve(Buffer.concat(chunks).toString())));
  return within(ended, 'a stream', () => (stream as NodeJS.ReadableStream & { destroy(): void }).destroy(), ms);
}

export function openFds(): string[] {
  return readdirSync('/proc/self/fd');
}

/** The first block device of the host, as "major minor" (e.g. vda). */
export function firstBlockDevice(): { name: string; major: number; minor: number } {
  for (const line of readFileSync('/proc/partitions', 'utf8').split('\n').slice(2)) {
    const [major, minor, , name] = line.trim().split(/\s+/);
    if (name) return { name, major: Number(major), minor: Number(minor) };
  }
  throw new Error('no block device in /proc/partitions');
}

export const BACKENDS = ['v2', 'v1'] as const;

/**
 * A capability the kernel knows but this process does not hold (this project's test
 * machines lack CAP_SYS_RESOURCE), or undefined where root holds them all; then the
 * cases built on it cannot exist, and policy.test.ts covers the error with a made-up limit.
 */
export function unheldCapability(): string | undefined {
  const h = hostInfo();
  return CAPABILITY_NAMES.slice(0, h.lastCap + 1).find((_, i) => !((h.capBounding >> BigInt(i)) & 1n));
}

/** Device nodes the tests open, made once per test file in a host directory. */
export const FIXTURE_NODES = [
  { name: 'null', type: 'c', major: 1, minor: 3 },
  { name: 'zero', type: 'c', major: 1, minor: 5 },
  { name: 'full', type: 'c', major: 1, minor: 7 },
  { name: 'random', type: 'c', major: 1, minor: 8 },
  { name: 'mem', type: 'c', major: 1, minor: 1 },
  { name: 'fuse', type: 'c', major: 10, minor: 229 },
  { name: 'kvm', type: 'c', major: 10, minor: 232 },
  { name: 'loop0', type: 'b', major: 7, minor: 0 },
  { name: 'loop1', type: 'b', major: 7, minor: 1 },
] as const;

/**
 * A host directory holding FIXTURE_NODES, made by a privileged container (the tests,
 * like the library, run no mknod binary). Containers bind it at /tmp/n, so a device
 * can be opened whether or not the container itself may create its node.
 */
export async function deviceFixture(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-nodes-'));
  const script = FIXTURE_NODES.map((n) => `mknod /tmp/n/${n.name} ${n.type} ${n.major} ${n.minor}`).join(' && ');
  const r = await run({ command: ['/bin/sh', '-c', `${script} && chmod 666 /tmp/n/*`], profile: 'privileged',
    mounts: [{ type: 'bind', source: dir, destination: '/tmp/n' }] });
  if (r.exitCode !== 0) throw new Error(`device fixture: ${r.stderr}`);
  return dir;
}

export function fixtureMount(dir: string) {
  return { type: 'bind' as const, source: dir, destination: '/tmp/n' };
}

/** The runtime command line, built from this checkout. */
export const RUNTIME_JS = join(__dirname, '..', 'lib', 'cli', 'main.js');
export const RUNTIME_BIN = join(__dirname, '..', '..', 'bin', 'nsbox-runtime');

/**
 * The runtime binary for a caller that starts it with its own environment (containerd's
 * shim): bin/nsbox-runtime, or under test:asan a wrapper in `dir` that gives the Node
 * process the sanitizer runtimes the instrumented addon needs.
 */
export function runtimeBinFor(dir: string): string {
  if (!SANITIZER_PRELOAD) return RUNTIME_BIN;
  const wrapper = join(dir, 'nsbox-runtime-asan');
  // The sanitizers' options too: some callers (podman's conmon) give the runtime an
  // environment of their own, and LeakSanitizer then fails every call (Node leaks at exit).
  const opts = ['ASAN_OPTIONS', 'UBSAN_OPTIONS'].map((k) => (process.env[k] ? `${k}='${process.env[k]}' ` : '')).join('');
  writeFileSync(wrapper, `#!/bin/sh\n${opts}LD_PRELOAD='${SANITIZER_PRELOAD}' exec '${process.execPath}' '${RUNTIME_JS}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its exit. stdout/stderr are collected unless a file descriptor is
 * given for them (a container created by the command inherits them and may hold
 * them open long after the command exited).
 */
/**
 * The child's exit, within `ms`: past that it is killed (SIGKILL) and the wait rejects
 * naming it, so a hung process fails its test instead of the whole run.
 */
export function exitOf(child: ChildProcess, what: string, ms = PROCESS_WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} (pid ${child.pid}) did not exit within ${ms} ms: killed`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/**
 * `p` within `ms`: past that, `stop` ends what the test started (a container is
 * destroyed, a process killed) and the wait rejects naming it, so a hung process fails
 * its test, leaves nothing running, and never holds up the whole run.
 */
export function within<T>(p: Promise<T>, what: string, stop: () => unknown, ms = PROCESS_WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      // Past the bound, what `p` does next (a destroyed container's exit) is not the answer.
      late = true;
      Promise.resolve().then(stop).catch(() => undefined).finally(() => reject(new Error(`${what} did not finish within ${ms} ms: stopped`)));
    }, ms);
    p.then((v) => {
      if (!late) clearTimeout(timer), resolve(v);
    }, (e) => {
      if (!late) clearTimeout(timer), reject(e);
    });
  });
}

/** The exit of a container (destroyed past `ms`) or of an exec'd process (SIGKILLed past `ms`). */
export function exited(x: Container | ExecProcess, ms = PROCESS_WAIT_MS): Promise<ExitStatus> {
  if (x instanceof Container) return within(x.wait(), `container ${x.id}`, () => x.destroy(), ms);
  return within(x.wait(), `exec'd pid ${x.pid}`, () => process.kill(x.pid, 'SIGKILL'), ms);
}

const EXCHANGE = join(__dirname, '..', '..', 'test', 'fixtures', 'exchange.py');

/** The racer's script, for a container that runs it with `python3 -c TEXT A B STOP`. */
export const EXCHANGE_SCRIPT = readFileSync(EXCHANGE, 'utf8');

/**
 * A racer on the host that exchanges the names `a` and `b` as fast as it can
 * (fixtures/exchange.py); stop() ends it and gives how many exchanges it made.
 */
export function exchangeRacer(a: string, b: string): { stop(): Promise<number> } {
  const stopFile = `${a}.stop`;
  const racer = spawn('python3', [EXCHANGE, a, b, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const count = textOf(racer.stdout);
  return {
    async stop() {
      writeFileSync(stopFile, '');
      await exitOf(racer, 'exchange.py');
      rmSync(stopFile, { force: true });
      return Number((await count).trim());
    },
  };
}

export function runCommand(file: string, args: string[], opts: { stdio?: [number | 'ignore' | 'pipe', number | 'pipe', number | 'pipe']; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const stdio = opts.stdio ?? [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    const child = spawn(file, args, { stdio, env: opts.env ?? process.env });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const line = `${file} ${args.join(' ')}`;
      reject(new Error(`${line.length > 400 ? `${line.slice(0, 150)} ... ${line.slice(-250)}` : line} did not exit within ${opts.timeoutMs ?? PROCESS_WAIT_MS} ms: killed${stderr ? `; its stderr: ${stderr.slice(-400)}` : ''}`));
    }, opts.timeoutMs ?? PROCESS_WAIT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // 'exit', not 'close': with a collected stream the command's output is complete once
    // its pipes end, which we wait for only when nobody else holds them.
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const done = () => resolve({ code: code ?? (signal ? 128 : null), stdout, stderr });
      const open = [child.stdout, child.stderr].filter((s) => s && !s.readableEnded);
      if (open.length === 0 || stdio[1] !== 'pipe') done();
      else Promise.all(open.map((s) => new Promise((r) => s!.once('close', r)))).then(done);
    });
  });
}

/**
 * Runs test/fixtures/`fixture` with Node on a simulated pure cgroup2 host: a private
 * mount namespace (made by a python launcher: the test's own tool, not the library's)
 * where cgroup2 is mounted over /sys/fs/cgroup, hiding the v1 hierarchies.
 */
export function onUnifiedHost(fixture: string): Promise<Ran> {
  const launcher = [
    'import ctypes, os, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'assert libc.unshare(0x00020000) == 0, ctypes.get_errno()',  // CLONE_NEWNS
    'assert libc.mount(None, b"/", None, (1 << 14) | (1 << 18), None) == 0, ctypes.get_errno()',  // MS_REC | MS_PRIVATE
    'assert libc.mount(b"cgroup2", b"/sys/fs/cgroup", b"cgroup2", 0, None) == 0, ctypes.get_errno()',
    'os.execv(sys.argv[1], sys.argv[1:])',
  ].join('\n');
  return runCommand('python3', ['-c', launcher, process.execPath, join(__dirname, '..', '..', 'test', 'fixtures', fixture)], { env: nodeEnv() });
}

/** nsbox-runtime with `--root root` and a json log; the log's text comes back too. */
export async function runtime(root: string, args: string[], opts: Parameters<typeof runCommand>[2] = {}): Promise<Ran & { log: string }> {
  const log = join(root, 'log.json');
  const r = await runCommand(process.execPath, [RUNTIME_JS, '--root', root, '--log', log, '--log-format', 'json', ...args],
    { ...opts, env: nodeEnv() });
  return { ...r, log: existsSync(log) ? readFileSync(log, 'utf8') : '' };
}

/** A bundle directory: config.json from `nsbox-runtime spec`, the rootfs and the process as given. */
export async function makeBundle(rootfs: string, process: Record<string, unknown>, change: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-bundle-'));
  const r = await runCommand(globalThis.process.execPath, [RUNTIME_JS, 'spec', '--bundle', dir], { env: nodeEnv() });
  if (r.code !== 0) throw new Error(`spec: ${r.stderr}`);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: false };
  config.process = { ...config.process, terminal: false, ...process };
  change(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const SECCOMP_AGENT = join(__dirname, '..', '..', 'test', 'fixtures', 'seccomp-agent.py');
/** The errno the agent answers with: nothing else in a container returns it. */
export const AGENT_ERRNO = 54;

/** A seccomp agent listening at a socket of a fresh directory; killed at teardown. */
export async function startSeccompAgent(t: ExecutionContext): Promise<{ sock: string; seen: () => Record<string, any>[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-agent-'));
  const sock = join(dir, 'agent.sock');
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const agent = spawn(PYTHON, [SECCOMP_AGENT, sock, log, String(AGENT_ERRNO)], { stdio: 'ignore' });
  t.teardown(async () => {
    agent.kill('SIGKILL');
    await exitOf(agent, 'the seccomp agent').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; !existsSync(sock); i++) {
    if (i > 200) throw new Error('the seccomp agent did not listen within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { sock, seen: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}
