// The runtime core from the inside: namespaces, capabilities, /dev, /proc, mounts,
// users, stdio and the lifecycle, each observed by processes in the container.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachContainer, ContainerError, type ContainerHandle, createContainer, mknodInside } from '../lib';
import { pidStartTime } from '../lib/container';
import { DOCKER_DEFAULT_CAPABILITIES, toMask } from '../lib/policy/capabilities';
import { hostInfo } from '../lib/host';
import { resolveSpec } from '../lib/spec';
import { busyboxRootfs, cgroupPaths, exchangeRacer, leftovers, nodeEnv, onUnifiedHost, removeRootfs, sh, textOf, exited, within, run } from './helpers';

function capLine(status: string, name: string): bigint {
  const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  if (!m) throw new Error(`no ${name} in ${status}`);
  return BigInt(`0x${m[1]}`);
}

test('default profile: exactly Docker\'s 14 capabilities in bounding, effective and permitted; inheritable and ambient empty', async (t) => {
  const r = await sh('cat /proc/self/status');
  const want = toMask(DOCKER_DEFAULT_CAPABILITIES);
  for (const set of ['CapBnd', 'CapEff', 'CapPrm']) t.is(capLine(r.stdout, set), want, set);
  t.is(capLine(r.stdout, 'CapInh'), 0n);
  t.is(capLine(r.stdout, 'CapAmb'), 0n);
});

test('privileged: every capability this process holds', async (t) => {
  const r = await sh('cat /proc/self/status', { profile: 'privileged' });
  t.is(capLine(r.stdout, 'CapBnd'), hostInfo().capBounding);
  t.is(capLine(r.stdout, 'CapEff'), hostInfo().capBounding);
  t.is(capLine(r.stdout, 'CapInh'), 0n);
});

test('a non-root user keeps the bounding set but has no effective capabilities; ids and groups are applied', async (t) => {
  const r = await sh('id -u; id -g; id -G; cat /proc/self/status', { user: { uid: 1000, gid: 1001, groups: [1001, 27] } });
  const [uid, gid, groups] = r.stdout.split('\n');
  t.is(uid, '1000');
  t.is(gid, '1001');
  t.deepEqual(groups.split(' ').sort(), ['1001', '27']);
  t.is(capLine(r.stdout, 'CapEff'), 0n);
  t.is(capLine(r.stdout, 'CapInh'), 0n);
  t.is(capLine(r.stdout, 'CapAmb'), 0n);
  t.is(capLine(r.stdout, 'CapBnd'), toMask(DOCKER_DEFAULT_CAPABILITIES));
});

test('ambient capabilities reach a non-root process when asked for', async (t) => {
  const caps = ['CAP_NET_BIND_SERVICE'];
  const r = await sh('cat /proc/self/status', {
    user: { uid: 1000 },
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
  });
  t.is(capLine(r.stdout, 'CapAmb'), toMask(caps));
  t.is(capLine(r.stdout, 'CapEff'), toMask(caps));
});

test('noNewPrivileges sets NoNewPrivs', async (t) => {
  const on = await sh('grep NoNewPrivs /proc/self/status', { noNewPrivileges: true });
  const off = await sh('grep NoNewPrivs /proc/self/status');
  t.regex(on.stdout, /NoNewPrivs:\s*1/);
  t.regex(off.stdout, /NoNewPrivs:\s*0/);
});

test('pid namespace: the command is pid 1; uts: the hostname is set', async (t) => {
  const r = await sh('echo $$; hostname', { hostname: 'box-1' });
  t.is(r.stdout, '1\nbox-1\n');
});

test('only fds 0, 1 and 2 are open inside: none of Node\'s own fds reach the container', async (t) => {
  const { openSync, closeSync, readdirSync } = await import('node:fs');
  const held = openSync('/', 'r');
  t.true(readdirSync('/proc/self/fd').length > 5, 'Node holds more fds than stdio');
  const r = await sh('ls /proc/$$/fd');
  closeSync(held);
  t.deepEqual(r.stdout.trim().split('\n').sort(), ['0', '1', '2']);
});

test('network namespace: only loopback, and it is up', async (t) => {
  const r = await sh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags');
  const [ifaces, , flags] = [r.stdout.split('\n')[0], null, r.stdout.split('\n')[2]];
  t.is(ifaces, 'lo');
  t.is(Number(flags) & 1, 1, 'IFF_UP');
});

test('/dev: the standard nodes with the right numbers, the symlinks, devpts, shm and mqueue', async (t) => {
  const r = await sh('stat -c "%n %F %t:%T" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; ' +
    'readlink /dev/ptmx /dev/fd /dev/stdin /dev/stdout /dev/stderr; ' +
    'grep -E " /dev/(pts|shm|mqueue) " /proc/self/mountinfo | sed "s/.* \\(\\/dev\\/[a-z]*\\) .* - \\([a-z]*\\) .*/\\1 \\2/" | sort');
  const lines = r.stdout.trim().split('\n');
  t.deepEqual(lines.slice(0, 6), [
    '/dev/null character special file 1:3', '/dev/zero character special file 1:5',
    '/dev/full character special file 1:7', '/dev/random character special file 1:8',
    '/dev/urandom character special file 1:9', '/dev/tty character special file 5:0',
  ]);
  t.deepEqual(lines.slice(6, 11), ['pts/ptmx', '/proc/self/fd', '/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2']);
  t.deepEqual(lines.slice(11), ['/dev/mqueue mqueue', '/dev/pts devpts', '/dev/shm tmpfs']);
});

test('/proc is fresh with masked and read-only paths; /sys is read-only', async (t) => {
  const r = await sh('cat /proc/keys | wc -c; ls /proc/acpi 2>/dev/null | wc -l; ' +
    'echo 1 > /proc/sys/kernel/domainname 2>&1 || echo sys-ro; touch /sys/x 2>&1 || echo sysfs-ro; ' +
    'ls /proc | grep -cE "^[0-9]+$"');
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], '0', '/proc/keys reads as /dev/null');
  t.is(lines[1], '0', '/proc/acpi is empty');
  t.true(lines.includes('sys-ro'), r.stdout + r.stderr);
  t.true(lines.includes('sysfs-ro'));
  t.true(Number(lines.at(-1)) <= 3, `only the container's processes are in /proc: ${lines.at(-1)}`);
});

test('privileged: nothing masked and /sys writable', async (t) => {
  const r = await sh('grep -c " /proc/keys " /proc/self/mountinfo; grep " /sys " /proc/self/mountinfo | grep -c " rw,"', { profile: 'privileged' });
  t.deepEqual(r.stdout.trim().split('\n'), ['0', '1']);
});

test('the host rootfs view is read-only, with its own /tmp and /run', async (t) => {
  const r = await sh('touch /etc/nsbox-test 2>&1; touch /tmp/x && echo tmp-ok; ls /run');
  t.regex(r.stdout, /Read-only file system/);
  t.regex(r.stdout, /tmp-ok/);
  t.is(r.stdout.split('tmp-ok\n')[1], '');
});

test('a directory rootfs: pivoted into, with mounts: bind ro, bind rw, tmpfs; readonlyRootfs', async (t) => {
  const root = busyboxRootfs();
  const shared = join(root, '..', `${root.split('/').pop()}-shared`);
  mkdirSync(shared);
  writeFileSync(join(shared, 'hello'), 'world');
  try {
    const r = await run({
      command: ['sh', '-c', 'cat /data/hello; echo x > /data/new 2>&1 || echo data-ro; echo y > /rw/new && echo rw-ok; ' +
        'echo z > /scratch/f && echo tmpfs-ok; touch /x 2>&1 || echo root-ro; ls /'],
      rootfs: root,
      readonlyRootfs: true,
      mounts: [
        { type: 'bind', source: shared, destination: '/data', readonly: true },
        { type: 'bind', source: shared, destination: '/rw' },
        { type: 'tmpfs', destination: '/scratch', mode: 0o1777, size: '1m' },
      ],
    });
    t.is(r.exitCode, 0, r.stderr);
    t.regex(r.stdout, /^world/);
    for (const s of ['data-ro', 'rw-ok', 'tmpfs-ok', 'root-ro']) t.true(r.stdout.includes(s), `${s} in ${r.stdout}`);
    t.is(readFileSync(join(shared, 'new'), 'utf8'), 'y\n', 'written through the rw bind only');
  } finally {
    removeRootfs(root);
    removeRootfs(shared);
  }
});

test('a mount destination that is a symlink to /etc lands in the rootfs\'s own /etc', async (t) => {
  const root = busyboxRootfs();
  const src = `${root}-src`;
  mkdirSync(src);
  writeFileSync(join(src, 'marker'), 'm');
  symlinkSync('/etc', join(root, 'link'));
  try {
    const r = await run({ command: ['ls', '/etc'], rootfs: root, mounts: [{ type: 'bind', source: src, destination: '/link' }] });
    t.is(r.stdout.trim(), 'marker');
    t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(src));
  } finally {
    removeRootfs(root);
    removeRootfs(src);
  }
});

for (const dir of ['proc', 'sys', 'dev']) {
  test(`a rootfs whose /${dir} is a symlink is refused, naming the step and path`, async (t) => {
    const root = busyboxRootfs();
    const { rmdirSync } = await import('node:fs');
    rmdirSync(join(root, dir));
    symlinkSync('/tmp', join(root, dir));
    try {
      const e = await t.throwsAsync(run({ command: ['true'], rootfs: root, id: `symlink-${dir}-${process.pid}` }), { instanceOf: ContainerError });
      t.is(e?.code, 'ELOOP');
      t.is(e?.step, 'rootfs-check');
      t.is(e?.path, `/${dir}`);
      t.deepEqual(leftovers(`symlink-${dir}-${process.pid}`), []);
    } finally {
      removeRootfs(root);
    }
  });
}

test('env, cwd and PATH lookup inside the container', async (t) => {
  const r = await run({ command: ['sh', '-c', 'echo "$FOO $HOME $(pwd)"'], env: { FOO: 'bar' }, cwd: '/tmp' });
  t.is(r.stdout, 'bar /root /tmp\n');
});

test('a failing setup step reports step, errno and path, and leaves nothing behind', async (t) => {
  const id = `badcwd-${process.pid}`;
  const e = await t.throwsAsync(createContainer({ command: ['true'], cwd: '/does/not/exist', id }), { instanceOf: ContainerError });
  t.is(e?.code, 'ENOENT');
  t.is(e?.step, 'cwd');
  t.is(e?.syscall, 'chdir');
  t.is(e?.path, '/does/not/exist');
  t.deepEqual(leftovers(id), []);
});

test('exec of a missing binary rejects start() with ENOENT and the container exits 127', async (t) => {
  const c = await createContainer({ command: ['/no/such/binary'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  const e = await t.throwsAsync(c.start(), { instanceOf: ContainerError });
  t.is(e?.code, 'ENOENT');
  t.is(e?.step, 'exec');
  t.deepEqual(await exited(c), { exitCode: 127, signal: null, oomKilled: false });
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('exec of a file that is not executable rejects start() with EACCES and the container exits 126, as runc\'s clients count it', async (t) => {
  const c = await createContainer({ command: ['/dev/null'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  const e = await t.throwsAsync(c.start(), { instanceOf: ContainerError });
  t.like(e, { code: 'EACCES', step: 'exec' });
  t.deepEqual(await exited(c), { exitCode: 126, signal: null, oomKilled: false });
  await c.destroy();
});

test('lifecycle: created -> running -> stopped -> destroyed; start twice is a state error; wait resolves once', async (t) => {
  const c = await createContainer({ command: ['sh', '-c', 'read x; echo got $x'] });
  t.teardown(() => c.destroy());
  t.is(c.state, 'created');
  t.true(c.pid > 0);
  const out = textOf(c.stdout);
  await c.start();
  t.is(c.state, 'running');
  await t.throwsAsync(c.start(), { code: 'ERR_CONTAINER_STATE' });
  c.stdin!.end('hello\n');
  const status = await exited(c);
  t.deepEqual(status, { exitCode: 0, signal: null, oomKilled: false });
  t.is(await exited(c), status);
  t.is(c.state, 'stopped');
  t.is(await out, 'got hello\n');
  // Its status was read, the task is freed by destroy() on a worker: a zombie until then.
  t.is(readFileSync(`/proc/${c.pid}/stat`, 'latin1').split(') ')[1][0], 'Z');
  await c.destroy();
  t.is(c.state, 'destroyed');
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('destroy() after wait() lets the output being read arrive in full', async (t) => {
  for (let i = 0; i < 5; i++) {
    const c = await createContainer({ command: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x'] });
    t.teardown(() => c.destroy());
    let bytes = 0;
    c.stdout!.on('data', (d: Buffer) => (bytes += d.length));
    await c.start();
    await exited(c);
    await c.destroy();
    t.is(bytes, 300000);
  }
});

test('kill() delivers the signal; wait() reports it', async (t) => {
  const c = await createContainer({ command: ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  await c.start();
  await new Promise((r) => setTimeout(r, 200));
  t.true(c.kill('SIGTERM'));
  t.deepEqual(await exited(c), { exitCode: 7, signal: null, oomKilled: false });
  t.false(c.kill('SIGKILL'));
  await c.destroy();
  const d = await createContainer({ command: ['sleep', '100'], stdio: 'ignore' });
  t.teardown(() => d.destroy());
  await d.start();
  d.kill(9);
  t.deepEqual(await exited(d), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  await d.destroy();
  t.throws(() => d.kill('SIGNOPE' as NodeJS.Signals), { code: 'ERR_INVALID_SIGNAL' });
});

test('destroy() of a created (never started) container and of a running one leaves nothing', async (t) => {
  const a = await createContainer({ command: ['sleep', '100'] });
  t.teardown(() => a.destroy());
  await a.destroy();
  t.deepEqual(await exited(a), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  t.deepEqual(leftovers(a.id, a.pid), []);
  const b = await createContainer({ command: ['sh', '-c', 'sleep 100 & sleep 100 & wait'], stdio: 'ignore' });
  t.teardown(() => b.destroy());
  await b.start();
  await b.destroy();
  t.deepEqual(leftovers(b.id, b.pid), []);
});

test('an AbortSignal destroys the container', async (t) => {
  const ac = new AbortController();
  const c = await createContainer({ command: ['sleep', '100'], signal: ac.signal, stdio: 'ignore' });
  t.teardown(() => c.destroy());
  await c.start();
  ac.abort();
  t.deepEqual(await exited(c), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
  await t.throwsAsync(createContainer({ command: ['true'], signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
});

test('stdio inherit and ignore', async (t) => {
  const ignored = await run({ command: ['sh', '-c', 'echo out; echo err >&2'], stdio: 'ignore' });
  t.deepEqual([ignored.stdout, ignored.stderr, ignored.exitCode], ['', '', 0]);
  const inherited = await createContainer({ command: ['true'], stdio: 'inherit' });
  t.teardown(() => inherited.destroy());
  t.is(inherited.stdout, null);
  await inherited.start();
  t.is((await exited(inherited)).exitCode, 0);
  await inherited.destroy();
});

test('ipc and cgroup namespaces: own SysV ipc, cgroup root is the container\'s own', async (t) => {
  const r = await sh('cat /proc/self/cgroup | grep "^0::"; ls /proc/sysvipc/shm | wc -l');
  t.is(r.stdout.split('\n')[0], '0::/');
});

test('containers from worker threads and the main thread at once: each environment its own', async (t) => {
  const { Worker } = await import('node:worker_threads');
  const lib = require.resolve('../lib');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { run } = require(${JSON.stringify(lib)});
    Promise.all([1, 2, 3].map(() => run({ command: ['sh', '-c', 'echo $$'] })))
      .then((rs) => parentPort.postMessage(rs.map((r) => r.stdout.trim())));`;
  const workers: InstanceType<typeof Worker>[] = [];
  const fromWorkers = within(Promise.all([1, 2].map(() => new Promise<string[]>((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    workers.push(w);
    w.once('message', (m) => {
      resolve(m);
      w.terminate();
    });
    w.once('error', reject);
  }))), 'the workers\' containers', () => Promise.all(workers.map((w) => w.terminate())));
  const fromMain = await Promise.all([1, 2, 3].map(() => run({ command: ['sh', '-c', 'echo $$'] })));
  t.deepEqual(fromMain.map((r) => r.stdout.trim()), ['1', '1', '1']);
  t.deepEqual(await fromWorkers, [['1', '1', '1'], ['1', '1', '1']]);
});

test('joinNamespaces: a second container shares the first one\'s network and uts namespaces; a wrong path fails before clone', async (t) => {
  const first = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore' });
  t.teardown(() => first.destroy());
  await first.start();
  const { readlinkSync } = await import('node:fs');
  const want = ['net', 'uts', 'ipc'].map((ns) => readlinkSync(`/proc/${first.pid}/ns/${ns}`));
  const r = await sh('readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc; hostname', {
    namespaces: ['mount', 'pid', 'ipc', 'cgroup'], joinNamespaces: { net: `/proc/${first.pid}/ns/net`, uts: `/proc/${first.pid}/ns/uts` },
  });
  const [net, uts, ipc, hostname] = r.stdout.trim().split('\n');
  t.is(net, want[0]);
  t.is(uts, want[1]);
  t.not(ipc, want[2]);  // its own
  t.is(hostname, first.id.replace(/[^A-Za-z0-9.-]/g, '-'));
  const wrongKind = await t.throwsAsync(sh('true', { namespaces: ['mount'], joinNamespaces: { net: `/proc/${first.pid}/ns/uts` } }));
  t.like(wrongKind, { code: 'EINVAL', step: 'namespace-join' });
  const notNs = await t.throwsAsync(sh('true', { namespaces: ['mount'], joinNamespaces: { ipc: '/etc/hostname' } }));
  t.like(notNs, { code: 'ENOTTY', step: 'namespace-join', path: '/etc/hostname: not a namespace' });
  await first.destroy();
  t.deepEqual(leftovers(first.id, first.pid), []);
});

test('a worker thread terminated while it holds containers: the process lives on, its containers die with it, detached ones stay', async (t) => {
  const fifoDir = mkdtempSync(join(tmpdir(), 'nsbox-wexit-'));
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'test', 'fixtures', 'worker-exit.js'), fifoDir], { env: nodeEnv(), timeout: 60_000 });
  t.is(r.signal, null, `the process was not killed: ${r.stderr}`);
  t.is(r.status, 0, String(r.stderr));
  const made: { mode: string; id: string; pid: number; handle?: ContainerHandle }[] = JSON.parse(r.stdout.toString());
  t.deepEqual(made.map((m) => m.mode), ['created', 'running', 'exited', 'detached', 'in-flight']);
  for (const m of made.filter((x) => x.mode !== 'detached')) {
    t.deepEqual(leftovers(m.id, m.pid || undefined), [], `${m.mode} ${m.pid}`);
  }
  const detached = made.find((m) => m.mode === 'detached')!;
  t.is(pidStartTime(detached.pid), detached.handle!.pidStartTime, 'the detached container still waits for its start');
  await attachContainer(detached.handle!).destroy();
  // Its parent is gone, so whoever adopted it (pid 1 here) reaps it.
  t.is(pidStartTime(detached.pid), null, 'destroyed');
  t.deepEqual(leftovers(detached.id), []);
  rmSync(fifoDir, { recursive: true, force: true });
});

test('mount flags: noexec, nodev and nosuid on binds and tmpfs are the kernel\'s, and a misspelt flag is an error', async (t) => {
  const root = busyboxRootfs();
  const data = mkdtempSync(join(tmpdir(), 'nsbox-flags-'));
  writeFileSync(join(data, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  try {
    const r = await run({
      rootfs: root,
      command: ['sh', '-c', '/data/run.sh; /bin/busybox cp /bin/busybox /t/bb && /t/bb true; mknod /data/null c 1 3 && (echo x > /data/null) 2>&1; grep -E " /(data|t) " /proc/self/mountinfo | cut -d" " -f5,6'],
      mounts: [
        { type: 'bind', source: data, destination: '/data', noexec: true, nodev: true, nosuid: true },
        { type: 'tmpfs', destination: '/t', noexec: true },
      ],
    });
    t.regex(r.stderr, /\/data\/run.sh: Permission denied/);
    t.regex(r.stderr, /\/t\/bb: Permission denied/);
    t.regex(r.stdout, /can't create \/data\/null: Permission denied/);
    const flags = Object.fromEntries(r.stdout.trim().split('\n').slice(-2).map((l) => l.split(' ')));
    t.regex(flags['/data'], /nosuid,nodev,noexec/);
    t.regex(flags['/t'], /nosuid,nodev,noexec/);
    const e = await t.throwsAsync(run({ rootfs: root, command: ['true'], mounts: [{ type: 'bind', source: data, destination: '/data', readOnly: true } as never] }));
    t.is((e as ContainerError).code, 'ERR_INVALID_MOUNT');
    t.regex(e!.message, /\(a bind mount\): unknown field "readOnly"/);
  } finally {
    removeRootfs(root);
    rmSync(data, { recursive: true, force: true });
  }
});

test('a rootfs that is the host\'s root in another spelling is refused before anything is made', async (t) => {
  const link = join(tmpdir(), `nsbox-rootlink-${process.pid}`);
  symlinkSync('/', link);
  try {
    for (const rootfs of [link, `${link}/`, '/tmp/..', '//']) {
      const id = `hostroot-${process.pid}`;
      const e = await t.throwsAsync(createContainer({ command: ['true'], rootfs, id }), { instanceOf: ContainerError });
      t.true(['ERR_INVALID_ROOTFS', 'ERR_INVALID_PATH'].includes(e!.code), `${rootfs}: ${e!.code} ${e!.message}`);
      t.deepEqual(leftovers(id), []);
    }
  } finally {
    rmSync(link);
  }
});

test('a rootfs swapped for a symlink to "/" while containers are created never gives the container the host\'s root', async (t) => {
  // A racer exchanges the rootfs directory with a symlink to "/" (renameat2 RENAME_EXCHANGE)
  // as fast as it can; the library's own check sees a directory, the init must not open "/".
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-rootswap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));  // also when the test fails midway
  execFileSync('mv', [busyboxRootfs(), join(dir, 'rootfs')]);
  symlinkSync('/', join(dir, 'other'));
  const probe = `/nsbox-host-root-probe-${process.pid}`;
  const racer = exchangeRacer(join(dir, 'rootfs'), join(dir, 'other'));
  let created = 0, refused = 0, byInit = 0, tries = 0;
  // At least 100 tries; more (bounded by count and time) until the race has both let a
  // container through and reached the init's own check, since which of the library's check
  // and the init's the racer hits is chance: a run that never reached the init proves nothing.
  const deadline = Date.now() + 30_000;
  try {
    for (; tries < 100 || ((created === 0 || byInit === 0) && tries < 1000 && Date.now() < deadline); tries++) {
      try {
        await run({ command: ['/bin/sh', '-c', `touch ${probe} 2>/dev/null; true`], rootfs: join(dir, 'rootfs') });
        created++;
      } catch (e) {
        t.true(e instanceof ContainerError, String(e));
        refused++;
        // Refused by the init, on what it opened (the library's check saw a directory).
        if ((e as ContainerError).step === 'rootfs') byInit++;
      }
    }
  } finally {
    t.true(await racer.stop() > 1000, 'the racer really raced');
  }
  t.log(`${tries} tries while racing: ${created} created, ${refused} refused (${byInit} by the init's own check)`);
  t.false(existsSync(probe), 'nothing was written to the host\'s root');
  t.true(created > 0 && byInit > 0, 'containers were made, and the race reached the init');
  rmSync(probe, { force: true });
});

test('a cgroup that exists already is never removed by a create that fails on it; a duplicate id fails at once', async (t) => {
  const h = hostInfo();
  const name = `nsbox-existing-${process.pid}`;
  const existing = [h.cgroup2 && join(h.cgroup2, name), h.devicesV1 && join(h.devicesV1, name)].filter((p): p is string => !!p);
  for (const dir of existing) {
    mkdirSync(dir);
    try {
      // The v1 backend: a directory in both hierarchies.
      const e = await t.throwsAsync(createContainer({ command: ['true'], cgroupPath: name, deviceBackend: 'v1' }), { instanceOf: ContainerError });
      t.is(e!.code, 'ERR_CONTAINER_EXISTS', e!.message);
      t.true(existsSync(dir), `${dir} is still there`);
      // And the other hierarchy's directory, which this create did make, is gone again.
      for (const other of existing.filter((o) => o !== dir)) t.false(existsSync(other), other);
    } finally {
      rmdirSync(dir);
    }
  }
  const c = await createContainer({ command: ['sleep', '10'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  try {
    const e = await t.throwsAsync(createContainer({ command: ['true'], id: c.id }), { instanceOf: ContainerError });
    t.is(e!.code, 'ERR_CONTAINER_EXISTS');
    t.true(cgroupPaths(c.id).some(existsSync), 'the live container keeps its cgroup');
    await c.start();
    t.true(c.kill('SIGKILL'));
  } finally {
    await c.destroy();
  }
  t.deepEqual(leftovers(c.id), []);
});

test('destroy() with exec\'d commands running ends and reaps them with the container, not through the host\'s pid 1', async (t) => {
  for (const deviceBackend of ['v2', 'v1'] as const) {
    const c = await createContainer({ command: ['sleep', '30'], stdio: 'ignore', deviceBackend });
    t.teardown(() => c.destroy());
    await c.start();
    const procs = await Promise.all([1, 2, 3].map(() => c.exec({ command: ['sleep', '30'] })));
    const start = process.hrtime.bigint();
    await c.destroy();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    for (const p of procs) t.deepEqual(await exited(p), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
    // Orphaned to the host's pid 1, the commands' zombies held the namespace's end for 1.5-2 s here.
    t.true(ms < 1000, `${deviceBackend}: destroy() took ${ms.toFixed(1)} ms`);
    t.deepEqual(procs.flatMap((p) => leftovers(c.id, p.pid)), []);
  }
});

test('bind propagation: "slave" binds see mounts the host makes later below the source, "private" ones do not; atime modes are applied', async (t) => {
  const root = busyboxRootfs();
  const src = mkdtempSync(join(tmpdir(), 'nsbox-prop-'));
  mkdirSync(join(src, 'later'));
  // The source is a shared mount (this host's are private): what propagation is about.
  const mountCall = (call: string) => execFileSync('python3', ['-c', `import ctypes; l = ctypes.CDLL(None, use_errno=True); r = ${call}; assert r == 0, ctypes.get_errno()`]);
  mountCall(`l.mount(b"${src}", b"${src}", None, 4096, None)`);  // MS_BIND
  mountCall(`l.mount(None, b"${src}", None, 1 << 20, None)`);  // MS_SHARED
  const c = await createContainer({
    rootfs: root, command: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.01; done; echo "S $(ls /s/later)"; echo "P $(ls /p/later)"; grep -E " /(s|p|a) " /proc/self/mountinfo | cut -d" " -f5,6'],
    mounts: [
      { type: 'bind', source: src, destination: '/s', propagation: 'slave' },
      { type: 'bind', source: src, destination: '/p', propagation: 'private' },
      { type: 'tmpfs', destination: '/a', atime: 'noatime' },
    ],
  });
  const out = textOf(c.stdout);
  // A mount the host makes after the container was created, below the bind's source.
  mountCall(`l.mount(b"tmpfs", b"${join(src, 'later')}", b"tmpfs", 0, b"size=1m")`);
  writeFileSync(join(src, 'later', 'file'), '');
  try {
    await c.start();
    await mknodInside(c, '/tmp/go', { type: 'c', major: 1, minor: 3 });
    await exited(c);
    const text = await out;
    const [s, p] = text.split('\n');
    t.is(s, 'S file', 'the slave bind sees the host\'s later mount');
    t.is(p, 'P ', 'the private bind does not');
    t.regex(text, /\/a rw,nosuid,nodev,noatime/);
  } finally {
    await c.destroy();
    mountCall(`l.umount2(b"${join(src, 'later')}", 2)`);
    mountCall(`l.umount2(b"${src}", 2)`);
    rmSync(src, { recursive: true, force: true });
    removeRootfs(root);
  }
});

test('on a unified host (cgroup2 mounted over /sys/fs/cgroup in a private mount namespace) the hidden v1 hierarchies are not used, and device rules hold', async (t) => {
  const r = await onUnifiedHost('unified-host.js');
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  t.like(got, { layout: 'unified', cgroup2: '/sys/fs/cgroup', devicesV1: null });
  t.regex(got.out, /\/dev\/kvm.*Operation not permitted/);
  t.regex(got.out, /^0::\/$/m, 'the container is in its own cgroup namespace');
  // (By its id: other tests' containers come and go in the v1 hierarchies meanwhile.)
  t.false(existsSync(`/sys/fs/cgroup/devices/nsbox/${got.id}`), 'nothing was left in the v1 devices hierarchy');
});

test('a rootfs reached through a symlink to a host directory is refused; a bind source exchanged with another directory during setup fails', async (t) => {
  // A container that can write the rootfs's parent points the rootfs at /usr.
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-rootusr-'));
  symlinkSync('/usr', join(dir, 'rootfs'));
  try {
    const e = await t.throwsAsync(createContainer({ command: ['true'], rootfs: join(dir, 'rootfs'), id: `rootusr-${process.pid}` }), { instanceOf: ContainerError });
    t.is(e!.code, 'ERR_INVALID_ROOTFS');
    t.regex(e!.message, /reached through a symlink/);
    t.deepEqual(leftovers(`rootusr-${process.pid}`), []);
    t.false(existsSync('/usr/proc') || existsSync('/usr/dev'), 'nothing was made in /usr');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A bind source exchanged with another directory between the library's check and the
  // init's open: the init finds another inode there and fails, naming the step.
  const src = mkdtempSync(join(tmpdir(), 'nsbox-srcswap-'));
  mkdirSync(join(src, 'a'));
  mkdirSync(join(src, 'b'));
  writeFileSync(join(src, 'b', 'secret'), 'not for the container');
  const racer = exchangeRacer(join(src, 'a'), join(src, 'b'));
  let stale = 0;
  try {
    for (let i = 0; i < 60; i++) {
      try {
        // Whatever "a" is when the library looks is what the container gets, or nothing.
        await run({ command: ['true'], mounts: [{ type: 'bind', source: join(src, 'a'), destination: '/tmp/data' }] });
      } catch (e) {
        t.true(e instanceof ContainerError, String(e));
        if ((e as ContainerError).syscall === 'verify-source') stale++;
      }
    }
  } finally {
    await racer.stop();
  }
  t.log(`60 tries while racing: ${stale} refused by the init's check`);
  t.true(stale > 0, 'the init found another directory than the library checked, and refused it');
  rmSync(src, { recursive: true, force: true });
});

test('destroy() of a container without a pid namespace whose init exited kills what it left running', async (t) => {
  const c = await createContainer({ command: ['sh', '-c', 'sleep 30 & echo $!'], namespaces: ['mount', 'uts', 'ipc', 'net'], stdio: 'pipe' });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  await c.start();
  await exited(c);
  const left = Number((await out).trim());
  t.true(left > 0 && existsSync(`/proc/${left}`), 'the sleep outlived the init');
  await c.destroy();
  // Killed; its parent (the init) is gone, so the host's pid 1 reaps it, in its own time.
  t.is(pidStartTime(left), null, 'the sleep is dead');
  t.deepEqual(leftovers(c.id), []);
});

test('exec() of a command that cannot run rejects with its errno and step, as create does', async (t) => {
  const c = await createContainer({ command: ['sleep', '30'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  try {
    await c.start();
    const missing = await t.throwsAsync(c.exec({ command: ['/no/such/binary'] }), { instanceOf: ContainerError });
    t.is(missing!.code, 'ENOENT');
    t.is(missing!.step, 'exec');
    const cwd = await t.throwsAsync(c.exec({ command: ['true'], cwd: '/no/such/dir' }), { instanceOf: ContainerError });
    t.is(cwd!.code, 'ENOENT');
    t.is(cwd!.step, 'cwd');
  } finally {
    await c.destroy();
  }
});

test('a bind source through /proc\'s magic links is followed as the kernel resolves them, never renamed by its text', async (t) => {
  // readlink of another container's /proc/<pid>/root is "/": a path rewritten from
  // the link's text would bind the host's /etc/shadow. Followed by the kernel, it leads
  // into that container's mount namespace, which no bind may take from.
  const root = busyboxRootfs();
  writeFileSync(join(root, 'etc', 'shadow'), 'inside-x\n');
  const x = await createContainer({ rootfs: root, command: ['sleep', '30'], stdio: 'ignore' });
  t.teardown(() => x.destroy());
  try {
    await x.start();
    const e = await t.throwsAsync(sh('cat /tmp/marker', { mounts: [{ type: 'bind', source: `/proc/${x.pid}/root/etc/shadow`, destination: '/tmp/marker', readonly: true }] }),
      { instanceOf: ContainerError });
    t.is(e!.code, 'EINVAL', e!.message);
    t.is(e!.step, 'mounts');
  } finally {
    await x.destroy();
    removeRootfs(root);
  }
});

test('oomScoreAdj: the command runs with it (the kernel\'s own file says so); omitted, it keeps the creator\'s; lowering it needs CAP_SYS_RESOURCE', async (t) => {
  const mine = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  const raised = await sh('cat /proc/self/oom_score_adj', { oomScoreAdj: 500 });
  t.is(raised.stdout, '500\n', raised.stderr);
  t.is((await sh('cat /proc/self/oom_score_adj')).stdout, `${mine}\n`);
  // Through a pid namespace or not, the init writes its own.
  t.is((await sh('cat /proc/self/oom_score_adj', { oomScoreAdj: 123, namespaces: ['mount', 'uts', 'ipc', 'net'] })).stdout, '123\n');
  const holdsSysResource = ((hostInfo().capBounding >> 24n) & 1n) === 1n;
  const id = `oom-low-${process.pid}`;
  if (holdsSysResource) {
    t.is((await sh('cat /proc/self/oom_score_adj', { oomScoreAdj: -500, id })).stdout, '-500\n');
  } else {
    const e = await t.throwsAsync(createContainer({ command: ['true'], oomScoreAdj: -500, id }), { instanceOf: ContainerError });
    t.is(e?.code, 'EACCES');
    t.is(e?.step, 'oom-score-adj');
    t.regex(e!.message, /oom_score_adj/);
  }
  t.deepEqual(leftovers(id), []);
  await t.throwsAsync(createContainer({ command: ['true'], oomScoreAdj: 1001 }), { code: 'ERR_INVALID_SPEC', message: /oomScoreAdj/ });
});

test('joinNamespaces.pid: a second container in the first one\'s pid namespace sees its processes, exec lands there too, and destroying it ends only its own', async (t) => {
  const first = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore' });
  t.teardown(() => first.destroy());
  await first.start();
  const { readlinkSync } = await import('node:fs');
  const pidns = readlinkSync(`/proc/${first.pid}/ns/pid`);
  const second = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore', namespaces: ['mount', 'uts', 'ipc', 'net', 'cgroup'],
    joinNamespaces: { pid: `/proc/${first.pid}/ns/pid` } });
  t.teardown(() => second.destroy());
  await second.start();
  // The kernel's word: the second init is in the first one's pid namespace, and not its pid 1.
  t.is(readlinkSync(`/proc/${second.pid}/ns/pid`), pidns);
  const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${second.pid}/status`, 'utf8'))![1].trim().split(/\s+/);
  t.is(nspid.length, 2);
  t.not(nspid[1], '1');
  // Every worker thread went back to its own pid namespace: the next containers (on
  // whichever of the pool's threads) get new ones.
  const fresh = await Promise.all(Array.from({ length: 8 }, () => sh('echo $$')));
  t.deepEqual(fresh.map((r) => r.stdout), Array(8).fill('1\n'));
  // Its /proc is the pod's: pid 1 is the first container's sleep.
  const p = await second.exec({ command: ['/bin/sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$; readlink /proc/self/ns/pid'] });
  const out = await textOf(p.stdout);
  t.deepEqual(await exited(p), { exitCode: 0, signal: null, oomKilled: false });
  const [cmd, pid, ns] = out.trim().split('\n');
  t.is(cmd.trim(), '/bin/sleep 60');
  t.not(pid, '1');
  t.is(ns, pidns);
  // Destroying the second (the init is not pid 1 there: its cgroup is killed) leaves the first running.
  await second.destroy();
  t.deepEqual(leftovers(second.id, second.pid), []);
  t.is(first.state, 'running');
  t.not(pidStartTime(first.pid), null, 'its init still runs');
  // A pid namespace both new and joined is an error before anything exists; a path of another kind fails before clone.
  await t.throwsAsync(createContainer({ command: ['true'], joinNamespaces: { pid: `/proc/${first.pid}/ns/pid` } }), { code: 'ERR_INVALID_SPEC' });
  const wrong = await t.throwsAsync(sh('true', { namespaces: ['mount'], joinNamespaces: { pid: `/proc/${first.pid}/ns/net` } }));
  t.like(wrong, { code: 'EINVAL', step: 'namespace-join' });
  await first.destroy();
  t.deepEqual(leftovers(first.id, first.pid), []);
});

test('on a host with v1 hierarchies the container is in its own cgroup in each (memory, pids, cpu...), exec\'d commands too; destroy removes them all', async (t) => {
  const h = hostInfo();
  const v1 = Object.keys(h.v1).filter((c) => c !== 'devices');
  if (v1.length === 0) {
    t.log('no v1 hierarchies here: nothing to join');
    t.pass();
    return;
  }
  const c = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  await c.start();
  // The kernel's word, from /proc/<pid>/cgroup: every v1 controller names the container's directory.
  const placed = (pid: number) => Object.fromEntries(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean)
    .map((l) => l.split(':')).flatMap(([, ctrls, path]) => ctrls.split(',').map((ctrl) => [ctrl, path])));
  const init = placed(c.pid);
  for (const ctrl of v1) t.is(init[ctrl], `/nsbox/${c.id}`, ctrl);
  t.deepEqual(c.handle.cgroupV1, Object.fromEntries(v1.map((ctrl) => [ctrl, `${h.v1[ctrl]}/nsbox/${c.id}`])));
  const p = await c.exec({ command: ['/bin/sleep', '30'], stdio: 'ignore', detach: true });
  const cmd = placed(p.pid);
  for (const ctrl of v1) t.is(cmd[ctrl], `/nsbox/${c.id}`, `exec ${ctrl}`);
  if (h.v1.cpuset) t.not(readFileSync(`${h.v1.cpuset}/nsbox/${c.id}/cpuset.cpus`, 'utf8').trim(), '', 'a cpuset directory gets its parent\'s CPUs');
  if (h.v1.pids) t.true(Number(readFileSync(`${h.v1.pids}/nsbox/${c.id}/pids.current`, 'utf8')) >= 2, 'the init and the exec\'d command count there');
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
  for (const ctrl of v1) t.false(existsSync(`${h.v1[ctrl]}/nsbox/${c.id}`), ctrl);
});

test('the runtime\'s own mounts come in the order OCI configs list them (proc, dev, dev/pts, dev/shm, dev/mqueue, sys), /dev/shm named "shm"', async (t) => {
  const r = await sh('cat /proc/self/mountinfo');
  const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
  const at = (dir: string) => lines.findIndex((f) => f[4] === dir);
  const order = ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys'].map(at);
  t.true(order.every((i) => i >= 0), JSON.stringify(order));
  t.deepEqual([...order].sort((a, b) => a - b), order, JSON.stringify(order));
  const shm = lines[at('/dev/shm')];
  t.is(shm[shm.indexOf('-') + 2], 'shm', shm.join(' '));
});

test('umask: the command\'s and an exec\'d process\'s (0o022 unless given), as a file made inside shows it', async (t) => {
  const made = 'touch /dev/shm/f; mkdir /dev/shm/d; stat -c "%a" /dev/shm/f /dev/shm/d | tr "\\n" " "; umask';
  const own = await sh(made, { umask: 0o077 });
  t.is(own.stdout.trim(), '600 700 0077', own.stderr);
  const dflt = await sh(made);
  t.is(dflt.stdout.trim(), '644 755 0022', dflt.stderr);
  const c = await createContainer({ command: ['/bin/sleep', '30'], umask: 0o077 });
  t.teardown(() => c.destroy());
  await c.start();
  for (const [umask, want] of [[undefined, '0022'], [0o027, '0027']] as const) {
    const p = await c.exec({ command: ['/bin/sh', '-c', 'umask'], ...(umask !== undefined ? { umask } : {}) });
    const out = textOf(p.stdout);
    await exited(p);
    t.is((await out).trim(), want);
  }
  t.throws(() => resolveSpec({ command: ['true'], umask: 0o1000 }, { lastCap: 40, available: 0n }), { code: 'ERR_INVALID_SPEC' });
  await c.destroy();
});

test('a tmpfs with copyUp (OCI tmpcopyup) starts with what it covers: files, links, directories with their modes and owners; writes stay in it', async (t) => {
  const root = busyboxRootfs();
  t.teardown(() => removeRootfs(root));
  mkdirSync(join(root, 'etc', 'conf.d'), { recursive: true });
  writeFileSync(join(root, 'etc', 'conf.d', 'a.conf'), 'x=1\n', { mode: 0o640 });
  execFileSync('chown', ['-R', '1000:1001', join(root, 'etc', 'conf.d')]);
  execFileSync('chmod', ['0750', join(root, 'etc', 'conf.d')]);
  symlinkSync('conf.d/a.conf', join(root, 'etc', 'a-link'));
  const script = 'stat -c "%n %a %u:%g" /etc/conf.d /etc/conf.d/a.conf; readlink /etc/a-link; cat /etc/a-link; echo new > /etc/new && echo wrote; grep " /etc " /proc/self/mounts | cut -d" " -f3';
  const r = await run({ command: ['/bin/sh', '-c', script], rootfs: root, readonlyRootfs: true, mounts: [{ type: 'tmpfs', destination: '/etc', copyUp: true }] });
  t.deepEqual(r.stdout.trim().split('\n'), ['/etc/conf.d 750 1000:1001', '/etc/conf.d/a.conf 640 1000:1001', 'conf.d/a.conf', 'x=1', 'wrote', 'tmpfs'], r.stderr);
  t.false(existsSync(join(root, 'etc', 'new')), 'the write went to the tmpfs, not the rootfs');
  const ro = await run({ command: ['/bin/sh', '-c', 'cat /etc/conf.d/a.conf; echo new > /etc/new || echo refused'], rootfs: root,
    mounts: [{ type: 'tmpfs', destination: '/etc', copyUp: true, readonly: true }] });
  t.deepEqual(ro.stdout.trim().split('\n'), ['x=1', 'refused']);
});

test('domainname and personality: the container\'s uts namespace gets the domain name, LINUX32 makes uname say i686; neither touches the host', async (t) => {
  const r = await sh('uname -m; cat /proc/sys/kernel/domainname', { domainname: 'tenant7.example', personality: 'LINUX32' });
  t.deepEqual(r.stdout.trim().split('\n'), ['i686', 'tenant7.example'], r.stderr);
  const plain = await sh('uname -m');
  t.is(plain.stdout.trim(), 'x86_64');
  t.not(readFileSync('/proc/sys/kernel/domainname', 'utf8').trim(), 'tenant7.example');
  t.throws(() => resolveSpec({ command: ['true'], domainname: 'x', namespaces: ['mount', 'pid'] }, { lastCap: 40, available: 0n }), { code: 'ERR_INVALID_SPEC' });
});

test('a bind\'s propagation: shared makes a peer group of the container\'s own (still a slave of the host\'s), unbindable refuses binds of it; a tmpfs takes them too', async (t) => {
  const src = mkdtempSync(join(tmpdir(), 'nsbox-prop-'));
  t.teardown(() => rmSync(src, { recursive: true, force: true }));
  const rootfs = busyboxRootfs();
  t.teardown(() => removeRootfs(rootfs));
  const fields = (dest: string) => `grep " ${dest} " /proc/self/mountinfo | sed "s/ - .*//" | tr " " "\\n" | grep -Eo "^(shared|master|unbindable)" | sort | tr "\\n" " "; echo`;
  const r = await run({
    command: ['/bin/sh', '-c', [fields('/s'), fields('/u'), fields('/t'), 'mkdir -p /tmp/b && mount --bind /u /tmp/b 2>/dev/null && echo bound || echo bind-refused'].join('; ')],
    rootfs, profile: 'privileged', mounts: [
      { type: 'bind', source: src, destination: '/s', propagation: 'shared' }, { type: 'bind', source: src, destination: '/u', propagation: 'unbindable' },
      { type: 'tmpfs', destination: '/t', propagation: 'shared' },
    ],
  });
  const lines = r.stdout.trim().split('\n').map((l) => l.trim());
  const hostShared = /shared:/.test(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/') ?? '');
  t.is(lines[0], hostShared ? 'master shared' : 'shared', r.stderr);
  t.is(lines[1], 'unbindable');
  t.is(lines[2], 'shared');
  t.is(lines[3], 'bind-refused');
});

test('rootfsPropagation: rslave by default, private cuts the host off, shared adds a peer group of the container\'s own that its binds of / join, unbindable refuses a bind of /; the host\'s mounts are untouched', async (t) => {
  const rootfs = busyboxRootfs();
  t.teardown(() => removeRootfs(rootfs));
  const before = readFileSync('/proc/self/mountinfo', 'utf8');
  const hostShared = /shared:/.test(before.split('\n').find((l) => l.split(' ')[4] === '/') ?? '');
  // The root's optional fields, then what a bind of / sees of a mount made after it.
  const script = [
    'awk \'$5 == "/"\' /proc/self/mountinfo | sed "s/ - .*//" | tr " " "\\n" | grep -Eo "^(shared|master|unbindable)" | sort | tr "\\n" " "; echo',
    'mkdir -p /target /src /at && mount -t tmpfs t /src && touch /src/seen',
    'if mount --bind / /target 2>/dev/null; then mount --bind /src /at && { [ -e /target/at/seen ] && echo propagated || echo kept; }; else echo bind-refused; fi',
  ].join('; ');
  const answers: Record<string, string> = {};
  for (const p of [undefined, 'private', 'shared', 'unbindable'] as const) {
    const r = await run({ command: ['/bin/sh', '-c', script], rootfs, profile: 'privileged', ...(p ? { rootfsPropagation: p } : {}) });
    t.is(r.exitCode, 0, r.stderr);
    answers[p ?? 'default'] = r.stdout.replace(/\n$/, '').split('\n').map((l) => l.trim()).join(' / ');
  }
  t.deepEqual(answers, {
    default: `${hostShared ? 'master' : ''} / kept`,
    private: ' / kept',
    shared: `${hostShared ? 'master shared' : 'shared'} / propagated`,
    unbindable: 'unbindable / bind-refused',
  });
  // (Other tests mount and unmount meanwhile: only what lies in this rootfs counts.)
  t.deepEqual(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(rootfs)), [], 'nothing reached the host');
  t.false(before.includes(rootfs));
  t.throws(() => resolveSpec({ command: ['true'], rootfsPropagation: 'rshared-ish' as never }, { lastCap: 40, available: 0n }), { code: 'ERR_INVALID_SPEC', message: /rootfsPropagation must be one of/ });
});

test('cgroupPathFrom "self": the container\'s cgroups are below the creator\'s own in each hierarchy (a relative OCI cgroupsPath), and destroy() removes them', async (t) => {
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  const path = `nsbox-self-test-${process.pid}/c1`;
  const c = await createContainer({ command: ['/bin/sleep', '30'], cgroupPath: path, cgroupPathFrom: 'self' });
  const parents: string[] = [];
  t.teardown(async () => {
    await c.destroy().catch(() => {});
    for (const p of parents) try { rmdirSync(p); } catch { /* gone or in use */ }
  });
  const theirs = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').split('\n').filter(Boolean);
  const mine = own.split('\n').filter(Boolean);
  t.is(theirs.length, mine.length);
  for (const line of mine) {
    const [n, controllers, base] = line.split(':');
    const got = theirs.find((l) => l.startsWith(`${n}:${controllers}:`));
    if (controllers === 'name=systemd') continue;  // not a hierarchy the library manages
    if (controllers === 'devices' && c.handle.cgroupV1Devices === '') continue;  // the cgroup2 device backend: no v1 devices directory
    t.is(got, `${n}:${controllers}:${base.replace(/\/$/, '')}/${path}`, controllers || 'cgroup2');
    const mount = controllers === '' ? hostInfo().cgroup2 : hostInfo().v1[controllers.split(',')[0]];
    if (mount) parents.push(join(mount, base, `nsbox-self-test-${process.pid}`));
  }
  await c.start();
  await c.destroy();
  for (const p of parents) t.false(existsSync(join(p, 'c1')), p);
  t.throws(() => resolveSpec({ command: ['true'], cgroupPathFrom: 'here' as never }, { lastCap: 40, available: 0n }), { code: 'ERR_INVALID_SPEC', message: /cgroupPathFrom/ });
});

test('joinNamespaces.mount: a container pivots its own root in a mount namespace another process made; a hostname is set in a joined uts namespace; the creator\'s own mount or uts namespace is refused', async (t) => {
  const first = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore' });
  t.teardown(() => first.destroy());
  await first.start();
  const { readlinkSync } = await import('node:fs');
  const rootfs = busyboxRootfs();
  t.teardown(() => removeRootfs(rootfs));
  writeFileSync(join(rootfs, 'marker'), 'second\n');
  // A mount namespace made by a tool (as runtime-tools and pod sandboxes make them): a
  // copy of the host's, where the rootfs path resolves as on the host.
  const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  const deadline = Date.now() + 5000;
  const ready = () => { try { return readlinkSync(`/proc/${holder.pid}/ns/mnt`) !== readlinkSync('/proc/self/ns/mnt'); } catch { return false; } };
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('unshare did not make its mount namespace within 5 s');
    await new Promise((res) => setTimeout(res, 10));
  }
  const mnt = readlinkSync(`/proc/${holder.pid}/ns/mnt`);
  const hostMountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const r = await run({
    command: ['/bin/sh', '-c', 'readlink /proc/self/ns/mnt; cat /marker; hostname'], rootfs, hostname: 'joined-uts',
    namespaces: ['pid', 'ipc', 'net', 'cgroup'], joinNamespaces: { mount: `/proc/${holder.pid}/ns/mnt`, uts: `/proc/${first.pid}/ns/uts` },
  });
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), [mnt, 'second', 'joined-uts']);
  // The first container's namespace got the name; the host kept its own.
  const p = await first.exec({ command: ['/bin/hostname'] });
  const [name] = await Promise.all([textOf(p.stdout), p.wait()]);
  t.is(name.trim(), 'joined-uts');
  t.not(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), 'joined-uts');
  t.deepEqual(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(rootfs)), [], 'the host\'s mounts are untouched');
  t.false(hostMountinfo.includes(rootfs));
  const ownMount = await t.throwsAsync(run({ command: ['true'], rootfs, namespaces: ['pid'], joinNamespaces: { mount: '/proc/self/ns/mnt' } }));
  t.like(ownMount, { code: 'EPERM', step: 'namespace-join' });
  t.regex(ownMount?.message ?? '', /the runtime's own mount namespace/);
  const ownUts = await t.throwsAsync(run({ command: ['true'], rootfs, hostname: 'x', namespaces: ['mount', 'pid'], joinNamespaces: { uts: '/proc/self/ns/uts' } }));
  t.like(ownUts, { code: 'EPERM', step: 'namespace-join' });
  // Joining the host's uts namespace without naming a hostname leaves the names alone.
  const plain = await run({ command: ['/bin/hostname'], rootfs, namespaces: ['mount', 'pid'], joinNamespaces: { uts: '/proc/self/ns/uts' } });
  t.is(plain.stdout.trim(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
  t.throws(() => resolveSpec({ command: ['true'], namespaces: ['pid'] }, { lastCap: 40, available: 0n }), { code: 'ERR_INVALID_SPEC', message: /must include "mount"/ });
  await first.destroy();
  t.deepEqual(leftovers(first.id, first.pid), []);
});
