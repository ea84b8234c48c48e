// The attacks that broke trusted runtimes, as tests that must hold: each asserts that
// the attack fails and that the host is unchanged.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ContainerError, createContainer, defineProfile, mknodInside } from '../lib';
import { removeStaleCgroups } from '../lib/cgroup';
import { hostInfo } from '../lib/host';
import { busyboxRootfs, cgroupPaths, EXCHANGE_SCRIPT, leftovers, nodeEnv, PYTHON, removeRootfs, sh, textOf, exited, within, run } from './helpers';

const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('leaked fds (CVE-2024-21626 class): a non-close-on-exec fd to the host "/" is not visible inside, to the init or to exec\'d processes', async (t) => {
  const out = execFileSync(process.execPath, [join(fixtures, 'leaked-fd.js')], {
    stdio: ['ignore', 'pipe', 'inherit', openSync('/', 'r')], env: nodeEnv(),
  }).toString();
  const r = JSON.parse(out);
  t.is(r.hostFd3, '/', 'the fixture really holds a leaked fd 3');
  // In `created`, the init holds stdio and the handshake socket, nothing else.
  const initFds = (r.initFds as [string, string][]).filter(([fd]) => Number(fd) > 2);
  t.is(initFds.length, 1, JSON.stringify(r.initFds));
  t.regex(initFds[0][1], /^socket:/);
  t.deepEqual(r.inside.trim().split('\n'), ['0', '1', '2', '/'], 'only stdio inside, cwd the container\'s root');
  t.deepEqual(r.exec.trim().split('\n'), ['0', '1', '2', '/'], 'an exec\'d process too');
  t.true(['ENOENT', 'ENOTDIR'].includes(r.cwdError), `exec with cwd /proc/self/fd/3: ${r.cwdError}`);
});

test('cwd /proc/self/fd/N for N in 3..64 fails to create (nothing of the host is open by then)', async (t) => {
  for (let n = 3; n <= 64; n++) {
    const id = `cwdfd-${process.pid}-${n}`;
    const e = await t.throwsAsync(createContainer({ command: ['true'], cwd: `/proc/self/fd/${n}`, id }), { instanceOf: ContainerError });
    t.true(['ENOENT', 'ENOTDIR'].includes(e!.code), `${n}: ${e!.message}`);
    t.is(e!.step, 'cwd');
    t.deepEqual(leftovers(id), []);
  }
});

test('host binary overwrite (CVE-2019-5736 class): #!/proc/self/exe and writes to /proc/*/exe change nothing', async (t) => {
  const addon = join(__dirname, '..', '..', 'build', 'Release', 'nsbox.node');
  const before = [sha256(process.execPath), sha256(addon)];
  const root = busyboxRootfs();
  writeFileSync(join(root, 'evil'), '#!/proc/self/exe\n');
  chmodSync(join(root, 'evil'), 0o755);
  writeFileSync(join(root, 'attack'), [
    '#!/bin/sh',
    'end=$(( $(date +%s) + 2 ))',
    'while [ $(date +%s) -lt $end ]; do',
    '  for p in /proc/[0-9]*; do',
    '    if (echo pwned >> $p/exe) 2>/dev/null; then echo "WROTE $p $(readlink $p/exe)"; fi',
    '  done',
    '  /evil 2>/dev/null &',
    'done',
  ].join('\n'));
  chmodSync(join(root, 'attack'), 0o755);
  symlinkSync('busybox', join(root, 'bin', 'date'));
  // The helper the library execs: a created container's init is it, from a sealed memfd.
  const probe = await createContainer({ command: ['true'], rootfs: root, stdio: 'ignore' });
  t.teardown(() => probe.destroy());
  t.regex(readFileSync(`/proc/${probe.pid}/cmdline`, 'latin1'), /^nsbox-init/);
  t.regex(readlinkSync(`/proc/${probe.pid}/exe`), /^\/memfd:nsbox-init/);
  const helperBefore = sha256(`/proc/${probe.pid}/exe`);
  try {
    const results = await Promise.all([1, 2, 3].map(() => run({ command: ['/attack'], rootfs: root, profile: 'privileged' })));
    for (const r of results) t.false(r.stdout.includes('WROTE'), r.stdout);
    // The script as the entrypoint itself: /proc/self/exe is then our helper, which refuses to run as an interpreter.
    const direct = await run({ command: ['/evil'], rootfs: root, profile: 'privileged' });
    t.is(direct.exitCode, 126);
    t.is(sha256(`/proc/${probe.pid}/exe`), helperBefore, 'the helper image is unchanged');
  } finally {
    await probe.destroy();
    removeRootfs(root);
  }
  t.deepEqual([sha256(process.execPath), sha256(addon)], before);
});

test('a mount destination swapped for a symlink to "/" while containers are created adds nothing to the host (CVE-2021-30465 class)', async (t) => {
  const root = busyboxRootfs();
  const source = mkdtempSync(join(tmpdir(), 'nsbox-src-'));
  mkdirSync(join(root, 'mnt'));
  const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8');
  // A racer flips /mnt/target between a directory and a symlink to "/" as fast as it can.
  // Its own process group, so that the mkdir/mv/ln in flight die with it.
  const racer = spawn('sh', ['-c', 'cd "$1"; while :; do mkdir -p d.tmp; mv -T d.tmp target 2>/dev/null; ln -sfn / l.tmp; mv -T l.tmp target 2>/dev/null; done', 'racer', join(root, 'mnt')], { stdio: 'ignore', detached: true });
  const racerGone = new Promise((resolve) => racer.once('exit', resolve));
  try {
    let created = 0;
    for (let i = 0; i < 40; i++) {
      try {
        const r = await run({ command: ['true'], rootfs: root, mounts: [{ type: 'bind', source, destination: '/mnt/target' }] });
        if (r.exitCode === 0) created++;
      } catch (e) {
        t.true(e instanceof ContainerError, String(e));
      }
    }
    t.log(`${created} of 40 created while racing`);
  } finally {
    process.kill(-racer.pid!, 'SIGKILL');
    await racerGone;
  }
  t.is(readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore);
  // A child of the racer killed in the middle of its mkdir may still finish it.
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  removeRootfs(source);
});

// Serial: its attacker's fds would count as a leak in the fd census of the tests beside it.
test.serial('/proc swapped for an empty directory while containers are created never gives a writable /proc/sys (CVE-2019-16884 class)', async (t) => {
  // The attacker is a container too: a read-write bind of the directory that holds the
  // victims' rootfs, where it exchanges the rootfs's "proc" with an empty directory in a loop.
  const shared = mkdtempSync(join(tmpdir(), 'nsbox-shared-'));
  const root = busyboxRootfs();
  execFileSync('mv', [root, join(shared, 'rootfs')]);
  mkdirSync(join(shared, 'rootfs', 'decoy'));
  const attacker = await createContainer({
    // The script's text, not its path: a checkout under /tmp is not in the host view (its /tmp is fresh).
    command: ['python3', '-c', EXCHANGE_SCRIPT, '/tmp/shared/rootfs/proc', '/tmp/shared/rootfs/decoy', '/tmp/shared/stop'], stdio: 'pipe',
    mounts: [{ type: 'bind', source: shared, destination: '/tmp/shared' }],
  });
  const swaps = textOf(attacker.stdout);
  await attacker.start();
  const tries = 150;
  let won = 0, created = 0, refused = 0, byMountId = 0;
  try {
    for (let i = 0; i < tries; i++) {
      try {
        const r = await run({ command: ['sh', '-c', 'echo nsbox > /proc/sys/kernel/hostname && echo WRITABLE'], rootfs: join(shared, 'rootfs') });
        created++;
        if (r.stdout.includes('WRITABLE')) won++;
      } catch (e) {
        t.true(e instanceof ContainerError, String(e));
        refused++;
        if ((e as ContainerError).syscall === 'verify-mount') byMountId++;
      }
    }
  } finally {
    writeFileSync(join(shared, 'stop'), '');
    await exited(attacker);
    await attacker.destroy();
  }
  t.log(`${tries} tries: ${created} created, ${refused} refused (${byMountId} at the mount-id check), ${won} with a writable /proc/sys; the attacker made ${(await swaps).trim()} swaps`);
  t.true(Number((await swaps).trim()) > 1000, 'the attacker really raced');
  t.true(byMountId > 0, 'the race reached the mount-id check');
  t.is(won, 0);
  rmSync(shared, { recursive: true, force: true });
});

test('/dev/null planted as a symlink to /proc/sysrq-trigger (CVE-2025-31133 class): masks use the container\'s own verified node', async (t) => {
  const root = busyboxRootfs();
  symlinkSync('/proc/sysrq-trigger', join(root, 'dev', 'null'));
  try {
    const r = await run({ command: ['sh', '-c', 'stat -c "%F %t:%T" /dev/null; grep " /proc/keys " /proc/self/mountinfo | cut -d" " -f4; (echo x > /proc/sysrq-trigger) 2>&1'], rootfs: root });
    const [node, keysSource] = r.stdout.split('\n');
    t.is(node, 'character special file 1:3', 'the rootfs\'s /dev is covered by a fresh one');
    t.is(keysSource, '/null', '/proc/keys is covered by a bind of that node');
    // Read-only where the kernel has it (this machine's kernel has no magic SysRq).
    t.regex(r.stdout.split('\n')[2], existsSync('/proc/sysrq-trigger') ? /Read-only file system/ : /nonexistent|No such file/);
  } finally {
    removeRootfs(root);
  }
});

test('a process the library joins into a container (mknodInside) is invisible to it, so it cannot be ptraced', async (t) => {
  const python = PYTHON;
  // Inside: watch /proc for any pid that is not the container's own, and try to attach to it.
  const watcher = [
    'import ctypes, os, time',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'mine = {1, os.getpid()}',
    'seen, attached = set(), 0',
    'end = time.time() + 60',
    'while time.time() < end and not os.path.exists("/tmp/stop"):',
    '    for p in os.listdir("/proc"):',
    '        if p.isdigit() and int(p) not in mine:',
    '            seen.add(int(p))',
    '            if libc.ptrace(16, int(p), 0, 0) == 0: attached += 1',
    'print(len(seen), attached)',
  ].join('\n');
  const c = await createContainer({ command: ['sh', '-c', `${python} -c '${watcher}'; true`] });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  await c.start();
  for (let i = 0; i < 100; i++) await mknodInside(c, `/tmp/n${i}`, { type: 'c', major: 1, minor: 3 });
  await mknodInside(c, '/tmp/stop', { type: 'c', major: 1, minor: 3 });
  await exited(c);
  await c.destroy();
  t.is((await out).trim(), '0 0', 'no foreign pid seen, nothing attached');
});

test('a setup step that fails midway (a node that cannot be made) reports the step and leaves nothing', async (t) => {
  const id = `badnode-${process.pid}`;
  const profile = defineProfile({ nodes: [{ path: '/dev/null', type: 'c', major: 1, minor: 5 }] });
  const e = await t.throwsAsync(createContainer({ command: ['true'], profile, id }), { instanceOf: ContainerError });
  t.is(e?.code, 'EEXIST');
  t.is(e?.step, 'nodes');
  t.is(e?.path, '/dev/null');
  t.deepEqual(leftovers(id), []);
});

test('inheritable and ambient capabilities are empty unless asked for, for root and others (CVE-2022-29162 class)', async (t) => {
  for (const user of [undefined, { uid: 1000 }, { uid: 0, gid: 1000 }]) {
    const r = await sh('grep -E "Cap(Inh|Amb)" /proc/self/status', user ? { user } : {});
    t.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1]), ['0000000000000000', '0000000000000000'], JSON.stringify(user));
  }
});

test('escapes by design: no cgroup writes, no BPF, no remounting /sys or /proc, no terminal to inject into', async (t) => {
  const python = PYTHON;
  const bpfProbe = `${python} -c "import ctypes; libc = ctypes.CDLL(None, use_errno=True); r = libc.syscall(321, 5, 0, 0); print(r, ctypes.get_errno())"`;
  const r = await sh([
    'ls /sys/fs/cgroup | wc -l',
    '(echo 0 > /sys/fs/cgroup/cgroup.procs) 2>&1 | tail -1',
    bpfProbe,
    '(mount -o remount,rw /sys) 2>&1 | head -1',
    '(mount -o remount,rw /proc/sys) 2>&1 | head -1',
    '(exec 3</dev/tty) 2>&1 | tail -1',
  ].join('; '));
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], '0', 'no cgroupfs inside');
  t.regex(lines[1], /Read-only file system|No such file|nonexistent/);
  t.is(lines[2], '-1 1', 'bpf() is EPERM');
  t.regex(lines[3], /permission denied|not permitted/i);
  t.regex(lines[4], /permission denied|not permitted/i);
  t.regex(lines[5], /No such device or address/, 'no controlling terminal, so no TIOCSTI');
});

test('a container started from a terminal cannot signal its creator\'s process group, type into its terminal or use its session keyring (CVE-2017-5226 class)', async (t) => {
  // The creator runs in a session of its own with a pty as its controlling terminal.
  const out = execFileSync('python3', [join(fixtures, 'pty.py'), process.execPath, join(fixtures, 'session.js')], { env: nodeEnv(), timeout: 60_000 }).toString();
  const r = JSON.parse(out.slice(out.indexOf('{')));
  t.deepEqual(r.got, { SIGUSR1: 0, SIGUSR2: 0, SIGTERM: 0 }, 'kill(0, ...) inside reached nothing of the creator');
  for (const c of [r.withPid, r.withoutPid]) {
    t.not(c.session, r.session, 'the init leads a session of its own');
    t.is(c.pgrp, c.session);
    const [tty, sti, key] = c.out.split('|');
    t.is(tty, 'No such device or address', '/dev/tty is no terminal of the host\'s');
    t.is(sti, 'Inappropriate ioctl for device,Inappropriate ioctl for device,Inappropriate ioctl for device');
    t.true(Number(key) > 0, `add_key inside worked: ${c.out}`);
  }
  t.is(r.search, '-1 126', 'the key added inside is not in the creator\'s session keyring (ENOKEY)');
  // With the default filter, the keyring calls are refused outright.
  const probe = await sh(`${PYTHON} -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(248, b"user", b"p", b"s", 1, -3), ctypes.get_errno(), l.syscall(250, 0, 0), ctypes.get_errno())'`);
  t.is(probe.stdout.trim(), '-1 1 -1 1', 'add_key and keyctl are EPERM under the default filter');
});

test('the host-rootfs view hides the host\'s password hashes, homes and other runtimes\' state, even with every capability', async (t) => {
  // A write to the mask (a bind of /dev/null) goes nowhere.
  const script = 'wc -c < /etc/shadow; wc -c < /etc/gshadow; ls -A /root | wc -l; ls -A /home | wc -l; echo x > /etc/shadow; echo $?';
  const before = sha256('/etc/shadow');
  const secret = readFileSync('/etc/shadow').length;
  t.true(secret > 0, 'the host has password hashes to hide');
  for (const profile of ['default', 'privileged'] as const) {
    const r = await sh(script, { profile });
    t.deepEqual(r.stdout.trim().split('\n'), ['0', '0', '0', '0', '0'], `${profile}: ${r.stdout} ${r.stderr}`);
  }
  t.is(sha256('/etc/shadow'), before);
  // Asked to hide nothing, it shows the host as it is.
  const shown = await sh('wc -c < /etc/shadow', { rootfs: { host: true, hide: [] } });
  t.is(Number(shown.stdout.trim()), secret);
  const e = await t.throwsAsync(sh('true', { rootfs: { host: true, hidden: [] } as never }), { instanceOf: ContainerError });
  t.is(e!.code, 'ERR_INVALID_ROOTFS');
});

test('exec() gives the command pipes, never the creator\'s own stdin, stdout or stderr (which it could rewrite or read back)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-execio-'));
  writeFileSync(join(dir, 'stdin'), 'secret-stdin\n');
  writeFileSync(join(dir, 'log'), 'secret-log\n');
  try {
    const ran = spawnSync(process.execPath, [join(fixtures, 'exec-stdio.js')], {
      stdio: [openSync(join(dir, 'stdin'), 'r'), openSync(join(dir, 'log'), 'a'), openSync(join(dir, 'log'), 'a'), 'pipe'], env: nodeEnv(), timeout: 60_000,
    });
    const r = JSON.parse(String(ran.output[3]));
    t.deepEqual(r.status, { exitCode: 0, signal: null, oomKilled: false });
    const [l0, l1, l2, ...rest] = r.out.trim().split('\n');
    for (const l of [l0, l1, l2]) t.regex(l, /^pipe:/);
    t.deepEqual(rest, ['got hello']);
    t.is(r.err, 'err\n');
  } catch (e) {
    t.fail(`${e}\n${readFileSync(join(dir, 'log'), 'utf8')}`);
  } finally {
    t.is(readFileSync(join(dir, 'stdin'), 'utf8'), 'secret-stdin\n', 'the creator\'s stdin file is unchanged');
    t.false(readFileSync(join(dir, 'log'), 'utf8').includes('pwned'));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Node process killed with SIGKILL takes its 20 containers with it; the next start removes their cgroups', async (t) => {
  const child = spawn(process.execPath, [join(fixtures, 'orphans.js')], { stdio: ['ignore', 'pipe', 'inherit'], env: nodeEnv() });
  t.teardown(() => child.kill('SIGKILL'));
  const list: { pid: number; id: string }[] = await within(new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(JSON.parse(text));
    });
    child.on('exit', (code) => reject(new Error(`fixture exited ${code}`)));
  }), 'orphans.js', () => child.kill('SIGKILL'));
  t.is(list.length, 20);
  child.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  const alive = list.filter((c) => {
    try {
      return !readFileSync(`/proc/${c.pid}/stat`, 'utf8').includes(') Z');
    } catch {
      return false;
    }
  });
  t.deepEqual(alive, [], 'no container process survives its creator by a second');
  // Only the dead creator's go. A live container's cgroup stays; so do a stopped detached
  // container's (its manager deletes it), and a directory someone else made there.
  const live = await createContainer({ command: ['sleep', '100'], stdio: 'ignore' });
  t.teardown(() => live.destroy());
  await live.start();
  const fifo = join(mkdtempSync(join(tmpdir(), 'nsbox-stale-')), 'fifo');
  const detached = await createContainer({ command: ['true'], stdio: 'ignore', detached: { startFifo: fifo } });
  t.teardown(() => detached.destroy());
  await detached.start();
  await exited(detached);
  const foreign = join(hostInfo().cgroup2Parent!, `foreign-${process.pid}`);
  mkdirSync(foreign);
  const stale = list.flatMap((c) => cgroupPaths(c.id));
  // Only these ids and ours: other test files create containers meanwhile.
  const removed = removeStaleCgroups(hostInfo(), new Set([...list.map((c) => c.id), live.id, detached.id, `foreign-${process.pid}`]));
  for (const dir of stale) t.true(removed.includes(dir) || !existsSync(dir), dir);
  for (const c of list) t.deepEqual(leftovers(c.id), []);
  t.deepEqual(removed.filter((d) => !stale.includes(d)), [], 'nothing but the dead creator\'s containers');
  t.true(cgroupPaths(live.id).some(existsSync), 'the live container keeps its cgroup');
  t.true(cgroupPaths(detached.id).some(existsSync), 'the stopped detached container keeps its cgroup');
  t.true(existsSync(foreign));
  rmdirSync(foreign);
  await live.destroy();
  await detached.destroy();
  rmSync(dirname(fifo), { recursive: true, force: true });
});

// Serial: the fd census at its start and end must not count the fds of tests beside it.
test.serial('1000 containers at concurrency 8 with random kills: every wait() resolves once, nothing leaks', async (t) => {
  const fds = readdirSync('/proc/self/fd').length;
  let next = 0;
  let resolvedTwice = 0;
  const ids: { id: string; pid: number }[] = [];
  const rand = (() => {
    let s = 42;
    return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  })();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next++ < 1000) {
      const c = await createContainer({ command: ['sh', '-c', 'sleep 0.0$(( RANDOM % 5 ))'], stdio: 'ignore', deviceBackend: rand() < 0.5 ? 'v1' : 'v2' });
      t.teardown(() => c.destroy());
      ids.push({ id: c.id, pid: c.pid });
      let settled = 0;
      c.wait().then(() => settled++);
      const fate = rand();
      if (fate < 0.2) {
        await c.destroy(); // before start
      } else {
        await c.start();
        if (fate < 0.5) c.kill(fate < 0.35 ? 'SIGKILL' : 'SIGTERM');
        if (fate < 0.7) await c.destroy();
        else {
          await exited(c);
          await c.destroy();
        }
      }
      await exited(c);
      await new Promise((r) => setImmediate(r));
      if (settled !== 1) resolvedTwice++;
    }
  }));
  t.is(resolvedTwice, 0);
  const zombies = execFileSync('ps', ['-eo', 'stat=,ppid=']).toString().split('\n').filter((l) => l.trim().startsWith('Z') && l.trim().endsWith(` ${process.pid}`));
  t.deepEqual(zombies, []);
  t.deepEqual(ids.flatMap((c) => leftovers(c.id, c.pid)), []);
  t.is(readdirSync('/proc/self/fd').length, fds);
});
