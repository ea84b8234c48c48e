// Containers that outlive their creator, taken over by another process through
// their handle: start through the FIFO, exec, pause and resume, live device changes,
// destroy. The creator is a separate Node process that exits right after create.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { attachContainer, type ContainerHandle, ContainerError, createContainer } from '../lib';
import { releaseDeadContainer } from '../lib/container';
import { hostInfo } from '../lib/host';
import { busyboxRootfs, exitOf, leftovers, nodeEnv, removeRootfs, textOf, exited, removeCgroupParent } from './helpers';

const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');
const rootfs = busyboxRootfs();
chmodSync(rootfs, 0o755);
const dir = mkdtempSync(join(tmpdir(), 'nsbox-detached-'));
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true });
  removeRootfs(rootfs);
});

/** Creates a detached container from another Node process; its output goes to a file. */
async function createElsewhere(name: string, script: string): Promise<{ handle: ContainerHandle; output: () => string; creator: number }> {
  const outFile = join(dir, `${name}.out`);
  writeFileSync(outFile, '');
  const out = openSync(outFile, 'a');
  const child = spawn(process.execPath, [join(fixtures, 'detached-create.js'), rootfs, join(dir, `${name}.fifo`), script],
    { stdio: ['ignore', out, out, 'pipe'], env: nodeEnv() });
  closeSync(out);
  const handleText = textOf(child.stdio[3] as NodeJS.ReadableStream);
  const { code } = await exitOf(child, 'the creating process');
  if (code !== 0) throw new Error(`creator failed: ${readFileSync(outFile, 'utf8')}`);
  return { handle: JSON.parse(await handleText), output: () => readFileSync(outFile, 'utf8'), creator: child.pid as number };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 30000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a detached container outlives its creator and is started, used and destroyed from another process', async (t) => {
  const { handle, output } = await createElsewhere('a', 'echo "started nofile=$(ulimit -Sn)/$(ulimit -Hn) fwd=$(cat /proc/sys/net/ipv4/ip_forward) shm=$(cat /proc/sys/kernel/shmmni)"; sleep 60');
  // The kernel places the init in the cgroup path the spec named.
  t.regex(readFileSync(`/proc/${handle.pid}/cgroup`, 'utf8'), /^0::\/nsbox-detached-test\/\d+$/m);
  t.true(existsSync(`/proc/${handle.pid}`));
  t.is(handle.startFifo, join(dir, 'a.fifo'));
  await new Promise((r) => setTimeout(r, 100));
  t.is(output(), '');  // created, not started

  const c = attachContainer(handle);
  t.is(c.state, 'created');
  await t.throwsAsync(c.exec({ command: ['/bin/true'] }), { code: 'ERR_CONTAINER_STATE' });
  await c.start();
  t.false(existsSync(join(dir, 'a.fifo')));
  // stdio 'inherit' really is the creator's fds; limits and sysctls are in force inside; the host's sysctls are unchanged.
  await until('the command to run', () => output().includes('started'));
  t.regex(output(), /started nofile=256\/512 fwd=1 shm=1234/);
  t.not(readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim(), '1234');

  const p = await c.exec({ command: ['/bin/sh', '-c', 'exit 3'] });
  t.deepEqual(await exited(p), { exitCode: 3, signal: null, oomKilled: false });
  const killed = await c.exec({ command: ['/bin/sh', '-c', 'kill -9 $$'] });
  t.deepEqual(await exited(killed), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  const detached = await c.exec({ command: ['/bin/sleep', '30'], detach: true, user: { uid: 1000 } });
  t.true((await c.processes()).includes(detached.pid));
  t.regex(readFileSync(`/proc/${detached.pid}/status`, 'utf8'), /^Uid:\s+1000\s/m);
  await t.throwsAsync(detached.wait(), { code: 'ERR_CONTAINER_STATE' });

  await c.pause();
  t.true(await c.paused());
  t.regex(readFileSync(join(handle.cgroupV2Dir, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
  await c.resume();
  t.false(await c.paused());

  // Live device changes replace the creator's BPF program (found by query), not stack on it.
  const probe = 'mknod /tmp/fuse c 10 229 2>/dev/null; exec 2>/dev/null 3<>/tmp/fuse';
  t.not((await exited(await c.exec({ command: ['/bin/sh', '-c', probe] }))).exitCode, 0);
  await c.allowDevice('c 10:229 rw');
  t.is((await exited(await c.exec({ command: ['/bin/sh', '-c', probe] }))).exitCode, 0);
  await c.denyDevice('c 10:229 rw');
  t.not((await exited(await c.exec({ command: ['/bin/sh', '-c', probe] }))).exitCode, 0);

  await c.destroy();
  t.false(existsSync(handle.cgroupV2Dir));
  t.throws(() => attachContainer(handle), { code: 'ERR_CONTAINER_GONE' });
  removeCgroupParent('nsbox-detached-test');
});

test('a detached container whose init is gone cannot be started, and destroy cleans up its FIFO', async (t) => {
  const fifo = join(dir, 'b.fifo');
  const c = await createContainer({ rootfs, command: ['/bin/true'], detached: { startFifo: fifo }, stdio: 'ignore' });
  t.teardown(() => c.destroy());
  t.true(existsSync(fifo));
  t.throws(() => c.setCapabilities({ drop: ['CAP_MKNOD'] }), { code: 'ERR_CONTAINER_STATE' });
  const other = attachContainer(c.handle);
  process.kill(c.pid, 'SIGKILL');
  await exited(c);
  // Either the attached handle has seen the exit already (its pidfd), or the FIFO has no reader left.
  const e = await t.throwsAsync(other.start());
  t.true(e instanceof ContainerError && ['ERR_CONTAINER_STATE', 'ERR_CONTAINER_GONE'].includes(e.code), String(e));
  await c.destroy();
  await other.destroy();
  t.false(existsSync(fifo));
  t.deepEqual(leftovers(c.id, c.pid), []);
  // A FIFO path that exists already is refused before anything is made.
  writeFileSync(fifo, '');
  const exists = await t.throwsAsync(createContainer({ rootfs, command: ['/bin/true'], detached: { startFifo: fifo } }));
  t.true(exists instanceof ContainerError && exists.code === 'EEXIST' && exists.step === 'start-fifo', String(exists));
  rmSync(fifo);
});

test('attachContainer refuses a malformed handle', (t) => {
  const base = { id: 'x', pid: process.pid, pidStartTime: '1', namespaces: ['mount'], cgroupV2Dir: '', cgroupV1Devices: '', cgroupV1: {}, deviceBackend: 'v2',
    devices: [], capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] }, user: { uid: 0, gid: 0, groups: [] },
    env: [], startFifo: null } as ContainerHandle;
  for (const bad of [null, { ...base, id: '../x' }, { ...base, pid: -1 }, { ...base, cgroupV2Dir: '/etc' }, { ...base, namespaces: ['time'] },
    { ...base, deviceBackend: 'v3' }]) {
    t.throws(() => attachContainer(bad as ContainerHandle), { code: 'ERR_INVALID_ARG' }, JSON.stringify(bad));
  }
  // Our own pid with a wrong start time: pid reuse is caught.
  t.throws(() => attachContainer(base), { code: 'ERR_CONTAINER_GONE' });
});

test('a handle whose cgroup paths leave the container\'s cgroup is refused before anything is written through it', async (t) => {
  const c = await createContainer({ rootfs, command: ['/bin/sleep', '30'], stdio: 'ignore', deviceBackend: 'v1' });
  t.teardown(() => c.destroy());
  const other = await createContainer({ rootfs, command: ['/bin/sleep', '30'], stdio: 'ignore' });
  t.teardown(() => other.destroy());
  try {
    const h = c.handle;
    const v2 = h.cgroupV2Dir;
    const tmp = mkdtempSync(join(tmpdir(), 'nsbox-fakecg-'));
    for (const [key, value] of [
      ['cgroupV2Dir', `${v2}/../..`], ['cgroupV2Dir', `${v2}/..`], ['cgroupV2Dir', `${v2}/.`], ['cgroupV2Dir', `${v2}//`],
      ['cgroupV2Dir', tmp], ['cgroupV2Dir', dirname(dirname(v2))], ['cgroupV2Dir', other.handle.cgroupV2Dir],
      ['cgroupV1Devices', `${h.cgroupV1Devices}/../../..`], ['cgroupV1Devices', '/sys/fs/cgroup/devices'],
    ] as const) {
      t.throws(() => attachContainer({ ...h, [key]: value }), { code: 'ERR_INVALID_ARG' }, `${key} ${value}`);
      // The command line's delete of a dead container checks the form the same way.
      if (value.includes('..') || value === tmp) {
        await t.throwsAsync(releaseDeadContainer({ ...h, [key]: value }), { code: 'ERR_INVALID_ARG' }, `${key} ${value}`);
      }
    }
    // The other v1 hierarchies' directories are checked the same way, each in its own hierarchy.
    const mem = h.cgroupV1.memory;
    if (mem) {
      for (const v1 of [{ ...h.cgroupV1, memory: `${mem}/../..` }, { ...h.cgroupV1, memory: other.handle.cgroupV1.memory },
        { ...h.cgroupV1, memory: h.cgroupV2Dir }, { ...h.cgroupV1, devices: h.cgroupV1Devices }, { ...h.cgroupV1, nope: mem }]) {
        t.throws(() => attachContainer({ ...h, cgroupV1: v1 }), { code: 'ERR_INVALID_ARG' }, JSON.stringify(v1));
      }
    }
    for (const v1 of [null, [], 'x']) {
      t.throws(() => attachContainer({ ...h, cgroupV1: v1 as never }), { code: 'ERR_INVALID_ARG', message: /cgroupV1/ });
    }
    rmSync(tmp, { recursive: true });
    // A well-formed path to a cgroup this library did not make (a service's): a dead
    // container's delete kills and removes nothing there; one made for another id is an error.
    const foreign = join(hostInfo().cgroup2!, `nsbox-foreign-${process.pid}`);
    mkdirSync(foreign);
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.teardown(() => {
      sleeper.kill('SIGKILL');
      try {
        rmdirSync(foreign);
      } catch {
        // removed by the test, or still holding the sleeper for a moment
      }
    });
    writeFileSync(join(foreign, 'cgroup.procs'), String(sleeper.pid));
    await releaseDeadContainer({ ...h, cgroupV2Dir: foreign, cgroupV1Devices: '', cgroupV1: {} });
    t.true(existsSync(foreign), 'the unmarked cgroup stays');
    t.is(sleeper.exitCode, null);
    t.is(sleeper.signalCode, null, 'and its process lives');
    await t.throwsAsync(releaseDeadContainer({ ...h, id: 'someone-else' }), { code: 'ERR_INVALID_ARG', message: /not the cgroup/ });
    await t.throwsAsync(releaseDeadContainer({ ...h, id: '' }), { code: 'ERR_INVALID_ARG', message: /bad id/ });
    sleeper.kill('SIGKILL');
    await exitOf(sleeper, 'sleep');
    rmdirSync(foreign);
    t.true(existsSync(v2), 'the container\'s cgroup is untouched');
    t.is(readFileSync(`${v2}/cgroup.freeze`, 'utf8').trim(), '0');
    const same = attachContainer(h);  // the real handle still works
    t.is(same.pid, c.pid);
  } finally {
    await c.destroy();
    await other.destroy();
  }
});

test('a handle whose startFifo names another file is refused, and no delete removes anything but a FIFO', async (t) => {
  const fifo = join(dir, `fifo-check-${process.pid}`);
  const c = await createContainer({ rootfs, command: ['/bin/true'], stdio: 'ignore', detached: { startFifo: fifo } });
  t.teardown(() => c.destroy());
  const victim = join(dir, `victim-${process.pid}`);
  writeFileSync(victim, 'keep me');
  const otherFifo = join(dir, `other-fifo-${process.pid}`);
  spawnSync('python3', ['-c', `import os; os.mkfifo(${JSON.stringify(otherFifo)})`]);
  try {
    t.throws(() => attachContainer({ ...c.handle, startFifo: victim }), { code: 'ERR_INVALID_ARG', message: /not the FIFO/ });
    t.throws(() => attachContainer({ ...c.handle, startFifo: otherFifo }), { code: 'ERR_INVALID_ARG', message: /not the FIFO/ });
    const same = attachContainer(c.handle);
    t.is(same.state, 'created');
    // The command line's delete of a dead container with a state file naming a regular file.
    await releaseDeadContainer({ ...c.handle, cgroupV2Dir: '', cgroupV1Devices: '', cgroupV1: {}, startFifo: victim });
    t.is(readFileSync(victim, 'utf8'), 'keep me');
  } finally {
    await c.destroy();
    rmSync(victim, { force: true });
    rmSync(otherFifo, { force: true });
  }
  t.false(existsSync(fifo));
});
