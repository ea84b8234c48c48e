// nsbox-runtime, the OCI runtime command line, driven as containerd's shim drives
// runc: separate processes for create, start, state, kill, exec, delete, with the
// container outliving each of them. Verdicts come from the kernel (/proc, the
// cgroup's own files, what the container's processes print).
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostInfo } from '../lib/host';
import { busyboxRootfs, exitOf, makeBundle, nodeEnv, removeRootfs, runCommand, RUNTIME_JS, runtime, within, removeCgroupParent, startSeccompAgent } from './helpers';

const rootfs = busyboxRootfs();
chmodSync(rootfs, 0o755);  // mkdtemp's 0700 would keep the non-root exec out of its own root
const cleanups: (() => void)[] = [];
test.after.always(() => {
  for (const c of cleanups.reverse()) c();
  removeRootfs(rootfs);
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A state root and an output file the containers write their stdout/stderr to. */
function setup(t: ExecutionContext) {
  const root = tempDir('nsbox-rt-');
  // Whatever the test left running goes when it ends, passed or failed.
  t.teardown(() => {
    for (const id of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
      spawnSync(process.execPath, [RUNTIME_JS, '--root', root, 'delete', '--force', id], { env: nodeEnv(), stdio: 'ignore', timeout: 30_000 });
    }
  });
  const outFile = join(root, 'out.txt');
  writeFileSync(outFile, '');
  const out = openSync(outFile, 'a');
  cleanups.push(() => closeSync(out));
  return { root, outFile, stdio: ['ignore', out, out] as ['ignore', number, number], output: () => readFileSync(outFile, 'utf8') };
}

async function until(what: string, check: () => boolean, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function lastError(log: string): string {
  const errors = log.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
  return errors.at(-1)?.msg ?? '';
}

function cgroupDir(path: string): string {
  return join(hostInfo().cgroup2 as string, path);
}

function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

test('spec writes a config for the default profile, and refuses to overwrite it', async (t) => {
  const { root } = setup(t);
  const dir = tempDir('nsbox-spec-');
  t.is((await runtime(root, ['spec', '--bundle', dir])).code, 0);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.is(config.root.path, 'rootfs');
  t.true(config.process.capabilities.bounding.includes('CAP_MKNOD'));
  const again = await runtime(root, ['spec', '--bundle', dir]);
  t.is(again.code, 1);
  t.regex(lastError(again.log), /exists/);
});

test('run: the command\'s output and exit status, with config.json\'s settings in force', async (t) => {
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, {
    args: ['/bin/sh', '-c', 'echo "host=$(hostname) nofile=$(ulimit -n)"; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; exit 7'],
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const r = await runtime(root, ['run', '--bundle', bundle, 'r1'], { stdio });
  t.is(r.code, 7);
  const out = output();
  t.regex(out, /host=nsbox nofile=1024/);
  t.regex(out, /CapEff:\s+00000000a80425fb/);
  t.regex(out, /NoNewPrivs:\s+1/);
  t.deepEqual(readdirSync(root).filter((f) => f === 'r1'), []);
  t.false(existsSync(cgroupDir('nsbox/r1')));
});

/** The child's exit code; killed (and the test failed) if it has not exited in time. */
function exitWithin(child: ReturnType<typeof spawn>): Promise<number | null> {
  return exitOf(child, 'nsbox-runtime').then((r) => r.code);
}

test('run: nosuid, nodev and noexec in a bind\'s options are applied, not dropped', async (t) => {
  const { root, stdio, output } = setup(t);
  const data = tempDir('nsbox-rt-data-');
  writeFileSync(join(data, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', '/data/run.sh; grep " /data " /proc/self/mountinfo | cut -d" " -f6'] }, (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'nosuid', 'nodev', 'noexec'] });
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const r = await runtime(root, ['run', '--bundle', bundle, 'flags1'], { stdio });
  t.is(r.code, 0, r.log);
  t.regex(output(), /\/data\/run.sh: Permission denied/);
  t.regex(output(), /rw,nosuid,nodev,noexec/);
  t.notRegex(output(), /^ran$/m);
});

test('create: a bundle whose rootfs is a symlink to "/" is refused and leaves nothing', async (t) => {
  const { root } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/true'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  symlinkSync('/', join(bundle, 'hostroot'));
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: 'hostroot', readonly: false };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const r = await runtime(root, ['create', '--bundle', bundle, 'hostroot1']);
  t.is(r.code, 1);
  t.regex(lastError(r.log), /is the host's root directory/);
  t.false(existsSync(join(root, 'hostroot1')));
  for (const p of ['nsbox/hostroot1', 'default/hostroot1']) t.false(existsSync(cgroupDir(p)), p);
});

test('run: a bundle reached through a symlinked directory, with a relative root.path, works as with runc', async (t) => {
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/echo', 'through-a-link'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  // root.path relative to the bundle's real directory (both live in the same tmpdir).
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: `../${rootfs.split('/').pop()}`, readonly: false };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  // The bundle is named through a link in another directory.
  const linkDir = tempDir('nsbox-rt-links-');
  const link = join(linkDir, 'bundle');
  symlinkSync(bundle, link);
  const r = await runtime(root, ['run', '--bundle', link, 'viabundlelink1'], { stdio });
  t.is(r.code, 0, r.log);
  t.regex(output(), /through-a-link/);
});

test('run in the foreground passes signals on to the container', async (t) => {
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.05; done'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const log = join(root, 'log.json');
  const child = spawn(process.execPath, [RUNTIME_JS, '--root', root, '--log', log, '--log-format', 'json', 'run', '--bundle', bundle, 'sig1'],
    { stdio, env: nodeEnv() });
  const exited = exitWithin(child);
  await until('the trap to be set', () => output().includes('ready'));
  child.kill('SIGUSR1');
  t.is(await exited, 3);
  t.regex(output(), /got-usr1/);
  t.false(existsSync(join(root, 'sig1')));
});

test('a SIGUSR1 that reaches run before its container starts goes to the container, never to Node\'s inspector', async (t) => {
  const { root, stdio, output } = setup(t);
  // pid 1 ignores a signal it has no handler for: the first may come before the trap is set.
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'trap "echo got-usr1; exit 3" USR1; while :; do sleep 0.01; done'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const child = spawn(process.execPath, [RUNTIME_JS, '--root', root, 'run', '--bundle', bundle, 'sig0'], { stdio, env: nodeEnv() });
  const exited = exitWithin(child);
  // Between create and start: the state file is written, the command has not run.
  await until('the container to be created', () => existsSync(join(root, 'sig0', 'state.json')) || child.exitCode !== null);
  let sent = 0;
  while (child.exitCode === null && sent < 500) {
    child.kill('SIGUSR1');
    sent++;
    await new Promise((r) => setTimeout(r, 2));
  }
  const listening = readFileSync('/proc/net/tcp', 'utf8').split('\n').some((l) => / 0100007F:240D 00000000:0000 0A /.test(l));
  t.is(await exited, 3, output());
  t.regex(output(), /got-usr1/);
  t.false(listening, 'nothing listens on 127.0.0.1:9229');
  t.notRegex(output(), /Debugger listening/);
});

test('create returns with the init waiting; start from another process runs it; kill, state and delete', async (t) => {
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, {
    args: ['/bin/sh', '-c', 'echo started; trap "echo got-term; exit 9" TERM; while :; do sleep 0.05; done'],
  }, (c) => { c.linux.cgroupsPath = '/nsbox-cli-test/c1'; });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const pidFile = join(root, 'c1.pid');
  const created = await runtime(root, ['create', '--bundle', bundle, '--pid-file', pidFile, 'c1'], { stdio });
  t.is(created.code, 0, created.log);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // The creating process is gone; the init is alive, in the cgroup config.json named, and has not run the command.
  // It may still be on its way into the blocking read of its start message when create returns, so its state is
  // read until it sleeps there (bounded); a dead or zombie init fails at once.
  await until('the init to wait for its start', () => {
    const s = processState(pid);
    if (s === null || s === 'Z') throw new Error(`init ${pid} is ${s ?? 'gone'}`);
    return s === 'S';
  }, 5000);
  t.true(readFileSync(join(cgroupDir('nsbox-cli-test/c1'), 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)));
  await new Promise((r) => setTimeout(r, 100));
  t.is(output(), '');
  let state = JSON.parse((await runtime(root, ['state', 'c1'])).stdout);
  t.like(state, { ociVersion: '1.0.2', id: 'c1', pid, status: 'created', bundle, rootfs });
  // list, as runc's: the containers under the root with their status and owner (state leaves owner empty, as runc does).
  const listed = JSON.parse((await runtime(root, ['list', '--format', 'json'])).stdout);
  t.like(listed, [{ ociVersion: '1.0.2', id: 'c1', pid, status: 'created', bundle, rootfs, owner: 'root' }]);
  t.is((await runtime(root, ['list', '-q'])).stdout, 'c1\n');
  t.regex((await runtime(root, ['list'])).stdout, new RegExp(`^ID +PID +STATUS +BUNDLE +CREATED +OWNER\\nc1 +${pid} +created +${bundle} `));

  const dup = await runtime(root, ['create', '--bundle', bundle, 'c1']);
  t.is(dup.code, 1);
  t.regex(lastError(dup.log), /already exists/);

  t.is((await runtime(root, ['start', 'c1'])).code, 0);
  await until('the command to run', () => output().includes('started'));
  state = JSON.parse((await runtime(root, ['state', 'c1'])).stdout);
  t.is(state.status, 'running');
  t.regex(lastError((await runtime(root, ['start', 'c1'])).log), /already started/);

  const notStopped = await runtime(root, ['delete', 'c1']);
  t.is(notStopped.code, 1);
  t.regex(lastError(notStopped.log), /not stopped: running/);

  await new Promise((r) => setTimeout(r, 100));  // the trap is set
  t.is((await runtime(root, ['kill', 'c1', 'TERM'])).code, 0);
  await until('the trap to run', () => output().includes('got-term'));
  await until('the init to end', () => [null, 'Z'].includes(processState(pid)));
  state = JSON.parse((await runtime(root, ['state', 'c1'])).stdout);
  t.like(state, { status: 'stopped', pid: 0 });
  const dead = await runtime(root, ['kill', 'c1', '9']);
  t.is(dead.code, 1);
  t.regex(lastError(dead.log), /container not running/);

  t.is((await runtime(root, ['delete', 'c1'])).code, 0);
  t.false(existsSync(cgroupDir('nsbox-cli-test/c1')));
  t.false(existsSync(join(root, 'c1')));
  t.is((await runtime(root, ['list', '-q'])).stdout, '');
  const gone = await runtime(root, ['state', 'c1']);
  t.is(gone.code, 1);
  t.regex(lastError(gone.log), /container c1 does not exist/);
  removeCgroupParent('nsbox-cli-test');
});

test('delete: a created container only with --force (the runtime spec: every state but stopped); after a failed create, delete --force says nothing and succeeds, as with runc', async (t) => {
  const { root, stdio } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/true'] }, (c) => { c.linux.cgroupsPath = '/nsbox-cli-del/d1'; });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const created = await runtime(root, ['create', '--bundle', bundle, '--pid-file', join(root, 'd1.pid'), 'd1'], { stdio });
  t.is(created.code, 0, created.log);
  const pid = Number(readFileSync(join(root, 'd1.pid'), 'utf8'));
  const refused = await runtime(root, ['delete', 'd1']);
  t.is(refused.code, 1);
  t.regex(lastError(refused.log), /cannot delete container d1 that is not stopped: created/);
  t.is(processState(pid), 'S');
  const del = await runtime(root, ['delete', '--force', 'd1']);
  t.is(del.code, 0, del.log);
  await until('the init to be gone', () => processState(pid) === null, 5000);
  t.false(existsSync(cgroupDir('nsbox-cli-del/d1')));
  t.false(existsSync(join(root, 'd1')));

  // A create the runtime refuses leaves no state; podman and the shim then delete it with --force.
  const bad = await makeBundle(rootfs, { args: ['/bin/true'] }, (c) => { c.linux.resources = { rdma: { mlx5_0: { hcaHandles: 3 } } }; });
  cleanups.push(() => rmSync(bad, { recursive: true, force: true }));
  const failed = await runtime(root, ['create', '--bundle', bad, 'd2']);
  t.is(failed.code, 1);
  t.regex(lastError(failed.log), /rdma/);
  t.false(existsSync(join(root, 'd2')));
  rmSync(join(root, 'log.json'), { force: true });
  const quiet = await runtime(root, ['delete', '--force', 'd2']);
  t.is(quiet.code, 0);
  t.is(quiet.stderr, '');
  t.is(quiet.log, '');
  // A directory a killed create left without a state file goes too.
  mkdirSync(join(root, 'd3'));
  t.is((await runtime(root, ['delete', '--force', 'd3'])).code, 0);
  t.false(existsSync(join(root, 'd3')));
  // Without --force, a container that does not exist is an error, as with runc.
  const missing = await runtime(root, ['delete', 'd2']);
  t.is(missing.code, 1);
  t.regex(lastError(missing.log), /container d2 does not exist/);
  removeCgroupParent('nsbox-cli-del');
});

test('a user namespace from config.json (linux.uidMappings, gidMappings): root inside is the mapped id, exec joins it, mknod is refused', async (t) => {
  const { root, stdio, output } = setup(t);
  const maps = [{ containerID: 0, hostID: 310000, size: 65536 }];
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; mknod /dev/x c 1 3 || echo mknod-refused; sleep 30'] }, (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = maps;
    c.linux.gidMappings = maps;
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const r = await runtime(root, ['run', '-d', '--bundle', bundle, 'un1'], { stdio });
  t.is(r.code, 0, r.log);
  await until('the command to print', () => output().includes('mknod-refused'));
  t.regex(output(), /^0\n\s+0\s+310000\s+65536\nmknod: \/dev\/x: Operation not permitted\nmknod-refused$/m);
  const ex = await runtime(root, ['exec', 'un1', '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map']);
  t.is(ex.code, 0, ex.log);
  t.regex(ex.stdout, /^0\n\s+0\s+310000\s+65536\n$/);
  const state = JSON.parse((await runtime(root, ['state', 'un1'])).stdout);
  t.regex(readFileSync(`/proc/${state.pid}/uid_map`, 'utf8'), /^\s+0\s+310000\s+65536$/m);
  t.regex(readFileSync(`/proc/${state.pid}/status`, 'utf8'), /^Uid:\s+310000\s/m);
  t.is((await runtime(root, ['delete', '--force', 'un1'])).code, 0);
});

test('exec (detached with a pid file, and waited for), ps, pause and resume, delete --force', async (t) => {
  const { root, stdio, output } = setup(t);
  // The init counts; a frozen cgroup stops the count.
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.01; done'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const started = await runtime(root, ['run', '--detach', '--bundle', bundle, 'x1'], { stdio });
  t.is(started.code, 0, started.log);
  const state = JSON.parse((await runtime(root, ['state', 'x1'])).stdout);
  t.is(state.status, 'running');

  const procFile = join(root, 'process.json');
  writeFileSync(procFile, JSON.stringify({ args: ['/bin/sh', '-c', 'echo "exec uid=$(id -u) pid1=$(cat /proc/1/cmdline | head -c 7)"; sleep 30'], cwd: '/tmp',
    user: { uid: 1000, gid: 1000 }, env: ['PATH=/bin'] }));
  const pidFile = join(root, 'exec.pid');
  const ex = await runtime(root, ['exec', '--process', procFile, '--detach', '--pid-file', pidFile, 'x1'], { stdio });
  t.is(ex.code, 0, `${ex.log} ${ex.stderr}`);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  await until('the exec to print', () => output().includes('exec uid='));
  t.regex(output(), /exec uid=1000 pid1=\/bin\/sh/);
  const status = readFileSync(`/proc/${execPid}/status`, 'utf8');
  t.regex(status, /^Uid:\s+1000\s/m);
  t.regex(status, /^NSpid:\s+\d+\s+\d+$/m);  // in the container's pid namespace

  const ps = await runtime(root, ['ps', '--format', 'json', 'x1']);
  const pids = JSON.parse(ps.stdout) as number[];
  t.true(pids.includes(state.pid) && pids.includes(execPid));
  // The table is ps(1)'s, with the caller's options, cut to the container's processes (as runc's).
  const table = (await runtime(root, ['ps', 'x1', '-e', '-o', 'pid,comm'])).stdout.trim().split('\n');
  t.regex(table[0], /^\s*PID\s+COMMAND$/);
  // The init's loop starts short-lived sleeps, so the two reads are compared on the long-lived processes.
  const rows = table.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
  t.true(rows.includes(state.pid) && rows.includes(execPid), table.join('\n'));
  t.true(table.slice(1).every((l) => /\s(sh|sleep)$/.test(l)), table.join('\n'));

  const waited = await runtime(root, ['exec', 'x1', '/bin/sh', '-c', 'exit 4']);
  t.is(waited.code, 4);

  const count = () => Number(readFileSync(join(rootfs, 'tmp/count'), 'utf8') || '0');
  t.is((await runtime(root, ['pause', 'x1'])).code, 0);
  t.regex(readFileSync(join(cgroupDir('nsbox/x1'), 'cgroup.events'), 'utf8'), /^frozen 1$/m);
  t.is(JSON.parse((await runtime(root, ['state', 'x1'])).stdout).status, 'paused');
  const frozenAt = count();
  await new Promise((r) => setTimeout(r, 200));
  t.is(count(), frozenAt);
  const inPause = await runtime(root, ['exec', 'x1', '/bin/true']);
  t.regex(lastError(inPause.log), /paused/);
  t.is((await runtime(root, ['resume', 'x1'])).code, 0);
  await until('the count to go on', () => count() > frozenAt);
  t.is(JSON.parse((await runtime(root, ['state', 'x1'])).stdout).status, 'running');

  // Dead; reaping is up to whoever they were reparented to (here the host's init).
  const dead = (pid: number) => [null, 'Z'].includes(processState(pid));
  // --all: every process of the cgroup gets it; the init, pid 1 of its namespace, ignores a TERM it has no handler for.
  t.is((await runtime(root, ['kill', '--all', 'x1', 'SIGTERM'])).code, 0);
  await until('the exec to die', () => dead(execPid));
  t.false(dead(state.pid));

  t.is((await runtime(root, ['delete', '--force', 'x1'])).code, 0);
  t.true(dead(state.pid));
  t.false(existsSync(cgroupDir('nsbox/x1')));
  rmSync(join(rootfs, 'tmp/count'), { force: true });
});

test('delete of a stopped container without a pid namespace ends what its init left running', async (t) => {
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'sleep 60 & echo "left $!"'] },
    (c) => { c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid'); });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['run', '-d', '--bundle', bundle, 'orphan'], { stdio })).code, 0);
  await until('the command to run', () => output().includes('left'));
  const procs = () => readFileSync(join(cgroupDir('nsbox/orphan'), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  await until('only the sleep to be left', () => procs().length === 1);
  const [sleeper] = procs();
  t.is(JSON.parse((await runtime(root, ['state', 'orphan'])).stdout).status, 'stopped');
  t.is((await runtime(root, ['delete', 'orphan'])).code, 0);
  await until('the sleep to die', () => [null, 'Z'].includes(processState(sleeper)));
  t.false(existsSync(cgroupDir('nsbox/orphan')));
  t.false(existsSync(join(root, 'orphan')));
});

test('update --resources: device rules change live, checked by open() inside, through the v1 devices controller (a config\'s default on this host, as runc\'s) and through cgroup2 (the annotation)', async (t) => {
  const { root, stdio } = setup(t);
  const h = hostInfo();
  for (const backend of ['v1', 'v2'] as const) {
    const id = `u1-${backend}`;
    const bundle = await makeBundle(rootfs, { args: ['/bin/sleep', '60'] }, (c) => {
      c.linux.resources.devices.push({ allow: true, type: 'c', major: 10, minor: 231, access: 'rw' });
      if (backend === 'v2') c.annotations = { 'run.nsbox.device-backend': 'v2' };
    });
    cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
    t.is((await runtime(root, ['run', '-d', '--bundle', bundle, id], { stdio })).code, 0);
    const v1Dir = h.devicesV1 ? join(h.devicesV1, 'nsbox', id) : null;
    if (backend === 'v1' && v1Dir) {
      // The config's rules first, in its order, then the runtime's own (as runtime-tools reads them).
      t.regex(readFileSync(join(v1Dir, 'devices.list'), 'utf8'), /^c 10:231 rw\n/);
    } else if (v1Dir) {
      t.false(existsSync(v1Dir), `${backend}: no v1 devices directory`);
    }
    const open = async () => (await runtime(root, ['exec', id, '/bin/sh', '-c', '[ -e /dev/fuse ] || mknod /dev/fuse c 10 229; exec 3<>/dev/fuse'])).code;
    t.not(await open(), 0, backend);
    const allow = await runtime(root, ['update', '--resources', '-', id], { input: JSON.stringify({ devices: [{ allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }] }) });
    t.is(allow.code, 0, allow.log);
    t.is(await open(), 0, backend);
    t.is((await runtime(root, ['update', '--resources', '-', id], { input: JSON.stringify({ devices: [{ allow: false, type: 'c', major: 10, minor: 229, access: 'rw' }] }) })).code, 0);
    t.not(await open(), 0, backend);
    const other = await runtime(root, ['update', '--resources', '-', id], { input: JSON.stringify({ rdma: { mlx5_1: { hcaHandles: 3 } } }) });
    t.is(other.code, 1);
    t.regex(lastError(other.log), /linux\.resources\.rdma/);
    t.is((await runtime(root, ['delete', '-f', id])).code, 0);
    if (v1Dir) t.false(existsSync(v1Dir), backend);
  }
});

// Forks 40 sleeps in the container (busybox sh, whose subshell exits at a refused
// fork), says how many it got and whether a fork was refused, then kills them. The
// container's init is a shell, which reaps them: a zombie still counts against pids.max.
const FORK40 = 'rm -f /tmp/p; ( n=0; while [ $n -lt 40 ]; do sleep 100 & echo $! >> /tmp/p; n=$((n+1)); done ) 2>/tmp/err; ' +
  'echo "$(wc -l < /tmp/p) $(grep -c "can.t fork" /tmp/err)"; kill $(cat /tmp/p)';
const REAPER = ['/bin/sh', '-c', 'while :; do sleep 1; done'];

test('limits from config.json, changed by update\'s flags, seen by events --stats in runc\'s shape, and an OOM kill streamed by events', async (t) => {
  const { root, stdio } = setup(t);
  const bundle = await makeBundle(rootfs, { args: REAPER }, (c) => {
    c.linux.resources = { ...c.linux.resources, memory: { limit: 32 << 20 }, pids: { limit: 20 }, cpu: { shares: 512, cpus: '0' } };
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['run', '-d', '--bundle', bundle, 'l1'], { stdio })).code, 0);
  const stats = async () => {
    const r = await runtime(root, ['events', '--stats', 'l1']);
    t.is(r.code, 0, r.log);
    const e = JSON.parse(r.stdout);
    t.like(e, { type: 'stats', id: 'l1' });
    return e.data;
  };
  const forks = async () => {
    const r = (await runtime(root, ['exec', 'l1', '/bin/sh', '-c', FORK40])).stdout.trim().split(/\s+/).map(Number);
    // The init reaps the killed sleeps: back to itself and its sleep 1.
    for (let i = 0; (await stats()).pids.current > 2; i++) {
      if (i === 100) throw new Error('the killed sleeps were not reaped');
      await new Promise((done) => setTimeout(done, 50));
    }
    return r;
  };
  let d = await stats();
  t.is(d.memory.usage.limit, 32 << 20);
  t.true(d.memory.usage.usage > 0 && d.memory.usage.usage < 32 << 20);
  t.is(d.pids.limit, 20);
  t.true(d.pids.current >= 1 && d.pids.current <= 2, String(d.pids.current));
  t.true(d.cpu.usage.total > 0);
  let [got, failed] = await forks();
  t.true(got < 20 && failed > 0, `${got} forked, ${failed} refused under pids.max 20`);
  t.is((await runtime(root, ['exec', 'l1', '/bin/sh', '-c', 'grep Cpus_allowed_list /proc/self/status'])).stdout.trim().split(/\s+/)[1], '0');

  const up = await runtime(root, ['update', '--pids-limit', '60', '--memory', '64m', '--cpu-quota', '50000', '--cpu-period', '100000', 'l1']);
  t.is(up.code, 0, up.log);
  d = await stats();
  t.is(d.memory.usage.limit, 64 << 20);
  t.is(d.pids.limit, 60);
  [got, failed] = await forks();
  t.deepEqual([got, failed], [40, 0], 'all 40 forks under pids.max 60');
  const state = JSON.parse(readFileSync(join(root, 'l1', 'state.json'), 'utf8'));
  t.like(state.handle.resources, { memory: { limit: 64 << 20 }, pids: { limit: 60 }, cpu: { quota: 50000, period: 100000, shares: 512 } });

  for (const [args, message] of [
    [['--memory', '64q'], /invalid value for --memory/], [['--cpu-quota', '10'], /cpu\.quota must be an integer 1000\.\./],
    [['--kernel-memory', '1m'], /kernel memory limits are deprecated/], [['--cpuset-cpus', '0-99'], /CPUs this host does not have/],
  ] as const) {
    const r = await runtime(root, ['update', ...args, 'l1']);
    t.is(r.code, 1, args.join(' '));
    t.regex(lastError(r.log), message);
  }
  t.is((await stats()).memory.usage.limit, 64 << 20, 'a refused update changes nothing');

  // events streams an "oom" event when the kernel kills in the container, and ends with it.
  const events = spawn(process.execPath, [RUNTIME_JS, '--root', root, 'events', '--interval', '100ms', 'l1'], { env: nodeEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const ended = exitOf(events, 'events');
  let lines = '';
  events.stdout.on('data', (b: Buffer) => { lines += b.toString(); });
  await until('a stats event', () => lines.includes('"type":"stats"'));
  const hog = await runtime(root, ['exec', 'l1', '/bin/sh', '-c', 'head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null && echo survived']);
  t.not(hog.stdout, 'survived\n');
  await until('an oom event', () => lines.includes('"type":"oom"'), 10_000);
  t.deepEqual(JSON.parse(lines.split('\n').find((l) => l.includes('"oom"')) as string), { type: 'oom', id: 'l1' });
  t.is((await runtime(root, ['delete', '-f', 'l1'])).code, 0);
  t.like(await ended, { code: 0 }, 'events ends when the container does');
});

test('linux.seccomp: the config spec writes (the default filter) holds under nsbox-runtime as under runc, and a config without it is unfiltered', async (t) => {
  const { root, outFile, stdio, output } = setup(t);
  const probe = 'grep "^Seccomp:" /proc/self/status; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused; mknod /tmp/n.$$ c 1 3 && echo mknod-ok; rm -f /tmp/n.$$';
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', probe] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.truthy(JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux.seccomp, 'spec writes the default filter');
  t.is((await runtime(root, ['run', '--bundle', bundle, 'sc1'], { stdio })).code, 0);
  const ours = output().trim().split('\n');
  t.deepEqual(ours, ['Seccomp:\t2', 'unshare-refused', 'mknod-ok']);
  // runc, from Debian, on the same config.
  writeFileSync(outFile, '');
  const runcRoot = tempDir('nsbox-runc-');
  const r = await runCommand('runc', ['--root', runcRoot, 'run', '--bundle', bundle, 'sc1-runc'], { stdio });
  t.is(r.code, 0, output());
  t.deepEqual(output().trim().split('\n'), ours, 'runc gives the same answers');
  // Without linux.seccomp: no filter, as with runc.
  const open = await makeBundle(rootfs, { args: ['/bin/sh', '-c', probe] }, (c) => { delete c.linux.seccomp; });
  cleanups.push(() => rmSync(open, { recursive: true, force: true }));
  writeFileSync(outFile, '');
  t.is((await runtime(root, ['run', '--bundle', open, 'sc2'], { stdio })).code, 0);
  t.deepEqual(output().trim().split('\n'), ['Seccomp:\t0', 'unshare-ok', 'mknod-ok']);
});

test('linux.devices of type p: a FIFO made with its mode and owner, no device rule needed, as with runc', async (t) => {
  const { root, outFile, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'stat -c "%F %a %u:%g" /dev/pipe1; (echo through > /dev/pipe1 &) ; head -n1 /dev/pipe1'] }, (c) => {
    c.linux.devices = [{ path: '/dev/pipe1', type: 'p', fileMode: 0o010000 | 0o640, uid: 7, gid: 8 }];
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['run', '--bundle', bundle, 'fifo1'], { stdio })).code, 0, output());
  const ours = output().trim().split('\n');
  t.deepEqual(ours, ['fifo 640 7:8', 'through']);
  writeFileSync(outFile, '');
  const r = await runCommand('runc', ['--root', tempDir('nsbox-runc-'), 'run', '--bundle', bundle, 'fifo1-runc'], { stdio });
  t.is(r.code, 0, output());
  t.deepEqual(output().trim().split('\n'), ours, 'runc gives the same answers');
});

test('SCMP_ACT_NOTIFY from config.json: the listener gets the fd at create, with the state, and answers the command\'s mkdir, as with runc', async (t) => {
  const { root, outFile, stdio, output } = setup(t);
  const agent = await startSeccompAgent(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'mkdir /tmp/d 2>&1; echo "rc=$?"'] }, (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', listenerPath: agent.sock, listenerMetadata: 'from-config',
      architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    };
    c.annotations = { 'org.example/tenant': '7' };
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['create', '--bundle', bundle, 'nt1'], { stdio })).code, 0);
  // Handed over while create ran: the listener holds the fd before anything starts.
  const atCreate = agent.seen().filter((l) => l.state);
  t.is(atCreate.length, 1);
  const pid = JSON.parse((await runtime(root, ['state', 'nt1'])).stdout).pid;
  t.like(atCreate[0].state, { fds: ['seccompFd'], pid, metadata: 'from-config', state: { id: 'nt1', status: 'creating', pid, bundle, annotations: { 'org.example/tenant': '7' } } });
  t.is((await runtime(root, ['start', 'nt1'])).code, 0);
  await until('the command\'s end', () => output().includes('rc='));
  const ours = output().trim().split('\n');
  t.regex(ours[0], /Exchange full/);
  t.is(ours[1], 'rc=1');
  t.is((await runtime(root, ['delete', '-f', 'nt1'])).code, 0);
  // runc, from Debian, on the same config and agent.
  writeFileSync(outFile, '');
  const runcRoot = tempDir('nsbox-runc-');
  const r = await runCommand('runc', ['--root', runcRoot, 'run', '--bundle', bundle, 'nt1-runc'], { stdio });
  t.is(r.code, 0, output());
  t.deepEqual(output().trim().split('\n'), ours, 'runc gives the same answers');
  const runcState = agent.seen().filter((l) => l.state)[1];
  t.like(runcState?.state, { fds: ['seccompFd'], metadata: 'from-config', state: { id: 'nt1-runc', status: 'creating' } }, 'the same message from runc');
});

test('hooks from config.json: prestart (as Docker sends one) and createRuntime at create, poststart at start, poststop at delete, each process on its own', async (t) => {
  const { root, stdio } = setup(t);
  const log = join(tempDir('nsbox-hooklog-'), 'log');
  writeFileSync(log, '');
  const rec = (kind: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo "$0 $(cat)" >> ${log}`, kind] });
  const bundle = await makeBundle(rootfs, { args: ['/bin/sleep', '60'] }, (c) => {
    c.hooks = { prestart: [rec('prestart')], createRuntime: [rec('createRuntime')], poststart: [rec('poststart')], poststop: [rec('poststop')] };
    c.annotations = { 'org.example/role': 'web' };
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const entries = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => ({ kind: l.slice(0, l.indexOf(' ')), state: JSON.parse(l.slice(l.indexOf(' ') + 1)) }));
  const created = await runtime(root, ['create', '--bundle', bundle, 'hk1'], { stdio });
  t.is(created.code, 0, created.log);
  t.deepEqual(entries().map((e) => e.kind), ['prestart', 'createRuntime']);
  t.like(entries()[0].state, { id: 'hk1', status: 'created', bundle: realpathSync(bundle), annotations: { 'org.example/role': 'web' } });
  t.is((await runtime(root, ['start', 'hk1'])).code, 0);
  t.deepEqual(entries().map((e) => e.kind), ['prestart', 'createRuntime', 'poststart']);
  t.is((await runtime(root, ['delete', '--force', 'hk1'])).code, 0);
  t.deepEqual(entries().map((e) => e.kind), ['prestart', 'createRuntime', 'poststart', 'poststop']);
  t.like(entries()[3].state, { id: 'hk1', status: 'stopped' });
  // A failing prestart fails create, naming the hook, and leaves nothing.
  const failing = await makeBundle(rootfs, { args: ['/bin/true'] }, (c) => { c.hooks = { prestart: [{ path: '/bin/false' }] }; });
  cleanups.push(() => rmSync(failing, { recursive: true, force: true }));
  const r = await runtime(root, ['create', '--bundle', failing, 'hk2'], { stdio });
  t.is(r.code, 1);
  t.regex(lastError(r.log), /prestart hook 0 \(\/bin\/false\) exited with status 1/);
  t.false(existsSync(join(root, 'hk2')));
  t.false(existsSync(cgroupDir('nsbox/hk2')));
});

test('an init someone moved into a cgroup of its own in one hierarchy: start, state and delete --force work, and that cgroup is left alone', async (t) => {
  const pids = hostInfo().v1.pids;
  if (!pids) {
    t.log('no v1 pids hierarchy here: nothing to move the init out of');
    t.pass();
    return;
  }
  const { root, stdio, output } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sh', '-c', 'echo moved-and-started; exec sleep 60'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['create', '--bundle', bundle, 'mv1'], { stdio })).code, 0);
  const state = JSON.parse((await runtime(root, ['state', 'mv1'])).stdout);
  const elsewhere = join(pids, `nsbox-test-elsewhere-${process.pid}`);
  mkdirSync(elsewhere);
  t.teardown(() => rmdirSync(elsewhere));
  writeFileSync(join(elsewhere, 'cgroup.procs'), String(state.pid));
  const started = await runtime(root, ['start', 'mv1']);
  t.is(started.code, 0, started.log);
  await until('the command to run', () => output().includes('moved-and-started'));
  t.is(JSON.parse((await runtime(root, ['state', 'mv1'])).stdout).status, 'running');
  const r = await runtime(root, ['delete', '--force', 'mv1']);
  t.is(r.code, 0, r.log);
  await until('the init to be dead', () => [null, 'Z'].includes(processState(state.pid)));
  t.false(existsSync(join(root, 'mv1')));
  for (const dir of Object.values(hostInfo().v1)) t.false(existsSync(join(dir, 'nsbox', 'mv1')), dir);
  t.false(existsSync(cgroupDir('nsbox/mv1')));
  t.true(existsSync(elsewhere), 'the cgroup the container did not make is still there');
});

// A console socket server as containerd's shim has one: receives the pty master over
// SCM_RIGHTS and prints what the container writes to its terminal.
const CONSOLE_SERVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(64, socket.CMSG_SPACE(4))
fd = array.array('i', anc[0][2][:4])[0]
out = b''
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors='replace'))
`;

test('terminal: the pty master comes over --console-socket, /dev/console is its slave (by rdev)', async (t) => {
  const { root } = setup(t);
  const bundle = await makeBundle(rootfs, {
    terminal: true,
    args: ['/bin/sh', '-c', 'echo "tty=$(tty)"; echo "rdev=$(stat -c %t:%T /dev/console) $(stat -c %t:%T $(tty))"; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty'],
  });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const sock = join(root, 'console.sock');
  const server = spawn('python3', ['-c', CONSOLE_SERVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  server.stdout.on('data', (d: Buffer) => { text += d.toString(); });
  await until('the console socket', () => text.includes('ready'));
  t.teardown(() => server.kill('SIGKILL'));
  const serverDone = within(new Promise((r) => server.once('close', r)), 'the console server', () => server.kill('SIGKILL'));
  const r = await runtime(root, ['run', '--console-socket', sock, '--bundle', bundle, 't1']);
  t.is(r.code, 0, r.log);
  await serverDone;
  t.regex(text, /tty=\/dev\/pts\/0/);
  const m = /rdev=(\S+) (\S+)/.exec(text);
  t.truthy(m);
  t.is(m?.[1], m?.[2]);
  t.is(m?.[1], '88:0');  // pts major 136
  t.regex(text, /stdio-is-tty/);
  const noSocket = await runtime(root, ['create', '--bundle', bundle, 't2']);
  t.regex(lastError(noSocket.log), /console-socket/);
});

test('exec with a terminal: a new pty of the container\'s devpts, its master over --console-socket', async (t) => {
  const { root, stdio } = setup(t);
  const bundle = await makeBundle(rootfs, { args: ['/bin/sleep', '60'] });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  t.is((await runtime(root, ['run', '-d', '--bundle', bundle, 'tx'], { stdio })).code, 0);
  const sock = join(root, 'exec-console.sock');
  const server = spawn('python3', ['-c', CONSOLE_SERVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  server.stdout.on('data', (d: Buffer) => { text += d.toString(); });
  await until('the console socket', () => text.includes('ready'));
  t.teardown(() => server.kill('SIGKILL'));
  const serverDone = within(new Promise((r) => server.once('close', r)), 'the console server', () => server.kill('SIGKILL'));
  const pidFile = join(root, 'exec.pid');
  const r = await runtime(root, ['exec', '--tty', '--detach', '--console-socket', sock, '--pid-file', pidFile, 'tx', '/bin/sh', '-c',
    'echo "tty=$(tty) pid=$$"; [ -t 0 ] && [ -t 2 ] && echo stdio-is-tty']);
  t.is(r.code, 0, r.log);
  await serverDone;
  t.regex(text, /tty=\/dev\/pts\/\d+ pid=\d+/);
  t.regex(text, /stdio-is-tty/);
  t.true(Number(readFileSync(pidFile, 'utf8')) > 0);
  t.is((await runtime(root, ['delete', '-f', 'tx'])).code, 0);
});

test('errors: refused flags and fields say so, leave nothing, and use the wording callers match', async (t) => {
  const { root } = setup(t);
  const missing = await runtime(root, ['state', 'nope']);
  t.is(missing.code, 1);
  t.regex(lastError(missing.log), /does not exist/);
  t.regex(missing.stderr, /does not exist/);
  const systemd = await runtime(root, ['--systemd-cgroup', 'create', 'x']);
  t.regex(lastError(systemd.log), /--systemd-cgroup is not supported/);
  const unknown = await runtime(root, ['create', '--bogus', 'x']);
  t.regex(lastError(unknown.log), /flag provided but not defined: --bogus/);
  const bundle = await makeBundle(rootfs, { args: ['/bin/true'] }, (c) => { c.hooks = { createContainer: [{ path: '/bin/true', timeout: 'soon' }] }; });
  cleanups.push(() => rmSync(bundle, { recursive: true, force: true }));
  const seccomp = await runtime(root, ['create', '--bundle', bundle, 's1']);
  t.is(seccomp.code, 1);
  t.regex(lastError(seccomp.log), /hooks\.createContainer\[0\]\.timeout must be a number of seconds/);
  t.false(existsSync(join(root, 's1')));
  t.false(existsSync(cgroupDir('nsbox/s1')));
  const features = JSON.parse((await runtime(root, ['features'])).stdout);
  t.true(features.linux.namespaces.includes('network'));
  t.false(features.linux.cgroup.systemd);
});
