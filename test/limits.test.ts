// Resource limits in force, by the kernel's verdict inside the container: an OOM kill,
// a fork refused with EAGAIN, the cgroup's own files; and refusals before anything exists.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ContainerError, createContainer } from '../lib';
import { hostInfo } from '../lib/host';
import { exited, leftovers, onUnifiedHost, PYTHON, runCommand, sh, textOf, within } from './helpers';

const h = hostInfo();
const memoryDir = (id: string) => (h.v1.memory ? `${h.v1.memory}/nsbox/${id}` : `${h.cgroup2}/nsbox/${id}`);

test('memory: a container limited to 32 MiB that allocates 200 MB is OOM-killed, the cgroup counts the kill; one under the limit runs', async (t) => {
  const c = await createContainer({ command: [PYTHON, '-c', 'b = bytearray(200 << 20); print("survived")'], resources: { memory: { limit: 32 << 20 } } });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  await c.start();
  t.deepEqual(await exited(c), { exitCode: null, signal: 'SIGKILL', oomKilled: true });
  t.is(await out, '');
  const dir = memoryDir(c.id);
  if (h.v1.memory) {
    t.is(readFileSync(`${dir}/memory.limit_in_bytes`, 'utf8').trim(), String(32 << 20));
    t.regex(readFileSync(`${dir}/memory.oom_control`, 'utf8'), /^oom_kill [1-9]/m);
  } else {
    t.is(readFileSync(`${dir}/memory.max`, 'utf8').trim(), String(32 << 20));
    t.regex(readFileSync(`${dir}/memory.events`, 'utf8'), /^oom_kill [1-9]/m);
  }
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
  const under = await sh(`${PYTHON} -c 'b = bytearray(8 << 20); print("ok")'`, { resources: { memory: { limit: 32 << 20 } } });
  t.is(under.stdout, 'ok\n', under.stderr);
});

test('pids: with a limit of 30 a fork past it fails with EAGAIN inside', async (t) => {
  const script = [
    'import os, errno', 'n = 0', 'try:', '    while n < 100:', '        if os.fork() == 0:', '            os.pause()', '        n += 1',
    'except OSError as e:', '    print(n, errno.errorcode[e.errno])',
  ].join('\n');
  const r = await sh(`${PYTHON} -c '${script}'; kill 0 2>/dev/null; true`, { resources: { pids: { limit: 30 } } });
  const [n, code] = r.stdout.trim().split(' ');
  t.is(code, 'EAGAIN', r.stdout + r.stderr);
  t.true(Number(n) < 30 && Number(n) > 20, n);
});

test('cpuset and cpu shares land in the container\'s own directories', async (t) => {
  const c = await createContainer({ command: ['/bin/sh', '-c', 'grep Cpus_allowed_list /proc/self/status'], resources: { cpu: { cpus: '0', shares: 512 } } });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  await c.start();
  await exited(c);
  t.regex(await out, /^Cpus_allowed_list:\s+0$/m);
  if (h.v1.cpu) t.is(readFileSync(`${h.v1.cpu}/nsbox/${c.id}/cpu.shares`, 'utf8').trim(), '512');
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('a limit the host cannot enforce or a bad value is a coded error before anything is created', async (t) => {
  const id = `limits-bad-${process.pid}`;
  for (const [resources, code] of [
    [{ memory: { limit: -5 } }, 'ERR_INVALID_RESOURCES'], [{ pids: { limit: 'x' } }, 'ERR_INVALID_RESOURCES'],
    [{ cpu: { cpus: '0-63' } }, 'ERR_INVALID_RESOURCES'], [{ memory: { kernel: 1 << 20 } }, 'ERR_UNSUPPORTED'],
    [{ hugepageLimits: [{ pageSize: '16MB', limit: 0 }] }, 'ERR_INVALID_RESOURCES'], [{ unified: { 'cgroup.procs': '1' } }, 'ERR_INVALID_RESOURCES'],
  ] as const) {
    const e = await t.throwsAsync(createContainer({ command: ['true'], id, resources: resources as never }), { instanceOf: ContainerError });
    t.is(e?.code, code, JSON.stringify(resources));
    t.deepEqual(leftovers(id), []);
  }
  // memory on a host whose memory controller is on v1: a cgroup2-only setting names what is missing.
  if (h.v1.memory) {
    const e = await t.throwsAsync(createContainer({ command: ['true'], id, resources: { unified: { 'memory.high': '1M' } } }), { instanceOf: ContainerError });
    t.is(e?.code, 'ERR_CGROUP_UNAVAILABLE');
    t.deepEqual(leftovers(id), []);
  }
});

test('huge pages on cgroup2: the controller is enabled above the container and its limit written', async (t) => {
  if (!h.cgroup2 || !readFileSync(`${h.cgroup2}/cgroup.controllers`, 'utf8').includes('hugetlb')) {
    t.log('no hugetlb controller on cgroup2 here');
    t.pass();
    return;
  }
  const c = await createContainer({ command: ['true'], resources: { hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] } });
  t.teardown(() => c.destroy());
  t.is(readFileSync(`${h.cgroup2}/nsbox/${c.id}/hugetlb.2MB.max`, 'utf8').trim(), String(4 << 20));
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('stats(): the container\'s own figures, from its own cgroups (the limit, usage under it, pids, CPU time)', async (t) => {
  const c = await createContainer({
    command: [PYTHON, '-c', 'import sys, time\nb = bytearray(16 << 20)\nfor i in range(2000000): pass\nprint("ready", flush=True)\nsys.stdin.read()'],
    resources: { memory: { limit: 64 << 20 }, pids: { limit: 50 } },
  });
  t.teardown(() => c.destroy());
  const ready = new Promise<void>((resolve) => c.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  await c.start();
  await within(ready, `container ${c.id} to be ready`, () => c.destroy());
  // The container's own cgroups, not the caller's: its limit, and its one process.
  const s = await c.stats();
  t.is(s.memory?.limit, 64 << 20);
  t.true((s.memory?.usage ?? 0) > 16 << 20 && (s.memory?.usage ?? 0) < 64 << 20, String(s.memory?.usage));
  t.is(s.memory?.oomKills, 0);
  t.deepEqual(s.pids, { current: 1, limit: 50 });
  t.true((s.cpu?.usage ?? 0) > 1e6, `cpu ${s.cpu?.usage} ns`);
  c.stdin!.end();
  await exited(c);
});

test('oomKilled: an exec\'d process the OOM killer ends says so, a process killed by a signal does not, and run() carries it', async (t) => {
  const c = await createContainer({ command: ['/bin/sleep', '60'], stdio: 'ignore', resources: { memory: { limit: 32 << 20 } } });
  t.teardown(() => c.destroy());
  await c.start();
  const hog = await c.exec({ command: [PYTHON, '-c', 'b = bytearray(200 << 20)'], stdio: 'ignore' });
  t.deepEqual(await exited(hog), { exitCode: null, signal: 'SIGKILL', oomKilled: true });
  t.is(c.state, 'running', 'the init lives on');
  const killed = await c.exec({ command: ['/bin/sleep', '60'], stdio: 'ignore' });
  process.kill(killed.pid, 'SIGKILL');
  t.deepEqual(await exited(killed), { exitCode: null, signal: 'SIGKILL', oomKilled: false }, 'the counter did not move: not an OOM kill');
  await c.destroy();
  const r = await sh(`exec ${PYTHON} -c 'b = bytearray(200 << 20)'`, { resources: { memory: { limit: 32 << 20 } } });
  t.like(r, { exitCode: null, signal: 'SIGKILL', oomKilled: true });
});

test('a profile carries limits: defineProfile({ resources }), a spec\'s own groups replacing the profile\'s', async (t) => {
  const { defineProfile } = await import('../lib');
  const tenant = defineProfile({ name: 'tenant', resources: { pids: { limit: 20 }, memory: { limit: 64 << 20 } } });
  const script = 'import os, errno\nn = 0\ntry:\n    while n < 100:\n        if os.fork() == 0:\n            os.pause()\n        n += 1\nexcept OSError as e:\n    print(n, errno.errorcode[e.errno])';
  const r = await sh(`${PYTHON} -c '${script}'; kill 0 2>/dev/null; true`, { profile: tenant });
  const [n, code] = r.stdout.trim().split(' ');
  t.is(code, 'EAGAIN', r.stdout + r.stderr);
  t.true(Number(n) < 20, n);
  const more = await sh(`${PYTHON} -c '${script}'; kill 0 2>/dev/null; true`, { profile: tenant, resources: { pids: { limit: 40 } } });
  const [m] = more.stdout.trim().split(' ');
  t.true(Number(m) > 20 && Number(m) < 40, m);
  t.throws(() => defineProfile({ resources: { pids: { limit: -3 } } }), { code: 'ERR_INVALID_RESOURCES' });
  t.is(defineProfile({}).resources, undefined, 'the named profiles and those built on them are unlimited');
});

// The children are killed and reaped by their parent: the init (sleep) reaps nothing,
// and a zombie still counts against pids.max.
const FORKS = [
  'import os, errno', 'kids = []', 'try:', '    while len(kids) < 100:', '        p = os.fork()', '        if p == 0:', '            os.pause()',
  '        kids.append(p)', 'except OSError as e:', '    print(len(kids), errno.errorcode[e.errno])',
  'for p in kids:', '    os.kill(p, 9)', '    os.waitpid(p, 0)',
].join('\n');

/** Forks inside `c` until the kernel refuses: how many it got, and the errno's name. */
async function forksInside(c: Awaited<ReturnType<typeof createContainer>>): Promise<[number, string]> {
  const p = await c.exec({ command: [PYTHON, '-c', FORKS] });
  const out = textOf(p.stdout);
  await exited(p);
  const [n, code] = (await out).trim().split(' ');
  return [Number(n), code];
}

test('updateResources(): raising and lowering the memory and pids limits of a running container, the next allocation and fork obey', async (t) => {
  const c = await createContainer({ command: ['/bin/sleep', '120'], stdio: 'ignore', resources: { memory: { limit: 32 << 20 }, pids: { limit: 10 } } });
  t.teardown(() => c.destroy());
  await c.start();
  const alloc = async (mb: number) => exited(await c.exec({ command: [PYTHON, '-c', `b = bytearray(${mb} << 20)`], stdio: 'ignore' }));
  t.like(await alloc(64), { oomKilled: true }, '64 MB under a 32 MiB limit');
  let [n, code] = await forksInside(c);
  t.true(code === 'EAGAIN' && n < 10, `${n} ${code}`);

  const now = await c.updateResources({ memory: { limit: 256 << 20 }, pids: { limit: 40 } });
  t.like(now, { memory: { limit: 256 << 20 }, pids: { limit: 40 } });
  t.like(await alloc(64), { exitCode: 0, oomKilled: false }, '64 MB under 256 MiB');
  [n, code] = await forksInside(c);
  t.true(code === 'EAGAIN' && n > 20 && n < 40, `${n} ${code}`);
  t.is((await c.stats()).memory?.limit, 256 << 20);

  await c.updateResources({ memory: { limit: 16 << 20 } });
  t.like(await alloc(32), { oomKilled: true }, '32 MB under 16 MiB');
  t.deepEqual(c.resources.pids, { limit: 40 }, 'a change of memory keeps the pids limit');
  await c.updateResources({ pids: { limit: 5 } });
  [n, code] = await forksInside(c);
  t.true(code === 'EAGAIN' && n < 5, `${n} ${code}`);
  t.like((await c.stats()).pids, { limit: 5 });
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('updateResources(): a bad value changes nothing; a write the kernel refuses puts back the files already written', async (t) => {
  const c = await createContainer({ command: ['/bin/sleep', '120'], stdio: 'ignore', resources: { memory: { limit: 32 << 20 }, pids: { limit: 10 } } });
  t.teardown(() => c.destroy());
  await c.start();
  for (const change of [{ memory: { limit: -7 } }, { pids: { limit: 0.5 } }, { cpu: { cpus: '0-99' } }, { memory: { kernel: 1 << 20 } }, { nope: 1 }]) {
    await t.throwsAsync(c.updateResources(change as never), { instanceOf: ContainerError }, JSON.stringify(change));
  }
  // Swap without a memory limit large enough under it: the limits in force are checked with the change.
  await t.throwsAsync(c.updateResources({ memory: { swap: 16 << 20 } }), { code: 'ERR_INVALID_RESOURCES' });
  t.like((await c.stats()).memory, { limit: 32 << 20 });
  t.like((await c.stats()).pids, { limit: 10 });
  // The v1 cpu controller's real-time group scheduling: a child may not have run time
  // its parent lacks, so the kernel refuses cpu.rt_runtime_us after memory is written.
  if (h.v1.memory && h.v1.cpu && existsSync(`${h.v1.cpu}/nsbox/cpu.rt_runtime_us`) && readFileSync(`${h.v1.cpu}/nsbox/cpu.rt_runtime_us`, 'utf8').trim() === '0') {
    const e = await t.throwsAsync(c.updateResources({ memory: { limit: 128 << 20 }, cpu: { realtimeRuntime: 10000 } }), { instanceOf: ContainerError });
    t.is(e?.code, 'EINVAL', e?.message);
    t.is(e?.step, 'cgroup-update');
    t.regex(e?.message ?? '', /cpu\.rt_runtime_us = 10000/);
    t.is(readFileSync(`${h.v1.memory}/nsbox/${c.id}/memory.limit_in_bytes`, 'utf8').trim(), String(32 << 20), 'memory got its value back');
    t.deepEqual(c.resources.memory, { limit: 32 << 20 });
  } else {
    t.log('no v1 memory and real-time cpu controllers here: the rollback is not exercised');
  }
  await c.destroy();
  await t.throwsAsync(c.updateResources({ pids: { limit: 20 } }), { code: 'ERR_CONTAINER_STATE' });
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('cpu: a busy loop under quota 20000/100000 gets about 0.2 CPU by its cgroup\'s own counter, and 0.5 once the quota is raised live', async (t) => {
  const c = await createContainer({ command: ['/bin/sh', '-c', 'while :; do :; done'], stdio: 'ignore', resources: { cpu: { quota: 20000, period: 100000 } } });
  t.teardown(() => c.destroy());
  await c.start();
  /** CPU time over wall time, over `ms`, from the cgroup's usage counter. */
  const share = async (ms: number) => {
    const u0 = (await c.stats()).cpu?.usage ?? 0;
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, ms));
    const u1 = (await c.stats()).cpu?.usage ?? 0;
    return (u1 - u0) / Number(process.hrtime.bigint() - t0);
  };
  await new Promise((r) => setTimeout(r, 200));
  const low = await share(1000);
  t.true(low > 0.1 && low < 0.3, `share ${low.toFixed(3)} under quota 0.2`);
  await c.updateResources({ cpu: { quota: 50000 } });
  t.deepEqual(c.resources.cpu, { quota: 50000, period: 100000 }, 'the period in force is kept');
  await new Promise((r) => setTimeout(r, 200));
  const high = await share(1000);
  t.true(high > 0.35 && high < 0.65, `share ${high.toFixed(3)} under quota 0.5`);
  t.log(`cpu share: ${low.toFixed(3)} at quota 0.2, ${high.toFixed(3)} at 0.5`);
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('the \'oom\' event: an OOM kill of a process that is not the init is reported as it happens, and not without one', async (t) => {
  const c = await createContainer({ command: ['/bin/sleep', '120'], stdio: 'ignore', resources: { memory: { limit: 32 << 20 } } });
  t.teardown(() => c.destroy());
  await c.start();
  const events: { kills: number; total: number }[] = [];
  c.on('oom', (e) => events.push(e));
  // Let the first read of the counter set its baseline.
  await new Promise((r) => setTimeout(r, 150));
  const fine = await c.exec({ command: [PYTHON, '-c', 'b = bytearray(4 << 20)'], stdio: 'ignore' });
  t.like(await exited(fine), { exitCode: 0 });
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(events, [], 'no kill, no event');
  const next = new Promise<{ kills: number; total: number }>((resolve) => c.once('oom', resolve));
  const hog = await c.exec({ command: [PYTHON, '-c', 'b = bytearray(200 << 20)'], stdio: 'ignore' });
  t.like(await exited(hog), { oomKilled: true });
  const e = await within(next, 'the oom event', () => c.destroy(), 5000);
  t.true(e.kills >= 1 && e.total >= 1, JSON.stringify(e));
  t.is(c.state, 'running');
  c.removeAllListeners('oom');
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

/** Makes `n` 2 MB huge pages for the test and gives the old count back after it. */
function hugePages(t: ExecutionContext, n: number): boolean {
  const file = '/proc/sys/vm/nr_hugepages';
  if (!existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB')) return false;
  const before = readFileSync(file, 'utf8').trim();
  writeFileSync(file, String(n));
  t.teardown(() => writeFileSync(file, before));
  return Number(readFileSync(file, 'utf8').trim()) >= n;
}

test('a simulated unified host: huge page limits enforced (SIGBUS past the limit) and changed live, unified keys, the v1-held controllers refused by name', async (t) => {
  if (!hugePages(t, 4)) {
    t.fail('this host cannot make four 2 MB huge pages');
    return;
  }
  const r = await onUnifiedHost('unified-limits.js');
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  t.like(got, { layout: 'unified', cgroup2: '/sys/fs/cgroup', v1: [] });
  t.true(got.v2.includes('hugetlb'), got.v2.join(' '));
  t.log(`controllers on cgroup2 here: ${got.v2.join(', ')}`);
  t.like(got.under, { exitCode: 0, stdout: 'touched\n' });
  t.like(got.over, { exitCode: null, signal: 'SIGBUS' }, 'the third page past a 2 MB limit');
  t.deepEqual(got.liveBefore, { file: String(2 << 20), touch: { exitCode: null, signal: 'SIGBUS', oomKilled: false } });
  t.deepEqual(got.liveAfter, { file: String(4 << 20), touch: { exitCode: 0, signal: null, oomKilled: false } });
  t.like(got.liveUnified, { file: String(2 << 20), touch: { signal: 'SIGBUS' } }, 'a unified key, live');
  t.is(got.missingLive?.code, 'ERR_INVALID_RESOURCES');
  t.regex(got.missingLive?.message, /no cgroup file "hugetlb\.2MB\.nosuch"/);
  t.deepEqual(got.stats.hugetlb['2MB'], { usage: 0, limit: 2 << 20 });
  t.true(got.stats.cpu.usage > 0, 'CPU time from cgroup2\'s own cpu.stat, without the cpu controller');
  t.false(got.dirLeft);
  // The controllers this VM keeps on v1 are on no hierarchy there: refused, naming them.
  for (const c of ['memory', 'pids'] as const) {
    if (got.v2.includes(c)) continue;
    t.is(got[c]?.code, 'ERR_CGROUP_UNAVAILABLE', c);
    t.regex(got[c]?.message, new RegExp(`the ${c} controller`));
  }
  t.is(got.missing?.code, 'ERR_INVALID_RESOURCES');
  t.regex(got.missing?.message, /no cgroup file "hugetlb\.2MB\.nosuch"/);
  t.deepEqual(got.refusedLeft, []);
  for (const id of ['unified-memory', 'unified-pids', 'unified-missing']) t.deepEqual(leftovers(id), [], id);
});

/**
 * A loop device over a 64 MiB file, for the test (losetup is the test's tool; this
 * VM's own disk cannot be opened, even by the host's root): its number, detached after.
 */
async function loopDevice(t: ExecutionContext): Promise<{ major: number; minor: number }> {
  const file = join(mkdtempSync(join(tmpdir(), 'nsbox-loop-')), 'disk');
  writeFileSync(file, Buffer.alloc(64 << 20, 1));
  const r = await runCommand('losetup', ['--find', '--show', file]);
  if (r.code !== 0) throw new Error(`losetup: ${r.stderr}`);
  const dev = r.stdout.trim();
  t.teardown(async () => {
    await runCommand('losetup', ['-d', dev]);
    rmSync(dirname(file), { recursive: true, force: true });
  });
  const st = statSync(dev);
  return { major: (st.rdev >> 8) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
}

test('block I/O: a read throttle holds a direct read of a disk to its rate, and lifting it live lets the next read run at full speed', async (t) => {
  const { major, minor } = await loopDevice(t);
  const c = await createContainer({
    command: ['/bin/sleep', '120'], stdio: 'ignore', devices: [`b ${major}:${minor} r`],
    resources: { blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }] } },
  });
  t.teardown(() => c.destroy());
  await c.start();
  await c.mknodInside('/dev/disk0', { type: 'b', major, minor, mode: 0o600 });
  /** Seconds dd itself says 2 MiB of direct reads took. */
  const read = async (skip: number) => {
    const p = await c.exec({ command: ['/bin/sh', '-c', `dd if=/dev/disk0 of=/dev/null bs=256k count=8 skip=${skip} iflag=direct 2>&1`] });
    const out = textOf(p.stdout);
    const status = await exited(p);
    const text = await out;
    t.like(status, { exitCode: 0 }, text);
    const secs = /copied, ([\d.e-]+) s/.exec(text)?.[1];
    t.truthy(secs, text);
    return Number(secs);
  };
  const slow = await read(16);
  t.true(slow >= 1.0, `2 MiB at 1 MiB/s took ${slow} s`);
  await c.updateResources({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 0 }] } });
  const fast = await read(32);
  t.true(fast < slow / 4, `unthrottled: ${fast} s against ${slow} s`);
  t.log(`2 MiB direct read: ${slow} s at 1 MiB/s, ${fast} s once lifted`);
  await c.destroy();
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('a container cannot raise its own limits: no cgroupfs inside, and no mounting one', async (t) => {
  const r = await sh('echo max > /sys/fs/cgroup/pids.max; echo "write $?"; mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg; echo "mount2 $?"; ' +
    'mount -t cgroup -o pids none /tmp/cg; echo "mount1 $?"; cat /sys/fs/cgroup/pids.max 2>/dev/null; true', { resources: { pids: { limit: 30 } } });
  t.regex(r.stdout, /^write [1-9]/m);
  t.regex(r.stdout, /^mount2 [1-9]/m);
  t.regex(r.stdout, /^mount1 [1-9]/m);
  t.regex(r.stderr, /Operation not permitted|permission denied/i);
});

test('a cgroup mount shows the container its own cgroups, read-only: its limits by every hierarchy\'s name, nothing of another container\'s, no write or mkdir', async (t) => {
  const other = await createContainer({ command: ['/bin/sleep', '30'], id: `cgview-other-${process.pid}`, resources: { pids: { limit: 77 } } });
  t.teardown(() => other.destroy());
  const host = hostInfo();
  // Every v1 hierarchy the container is in: devices only on the v1 device backend.
  const names = Object.entries(host.v1).filter(([c]) => c !== 'devices').map(([, m]) => m.slice(m.lastIndexOf('/') + 1));
  const r = await sh([
    'ls /sys/fs/cgroup | tr "\\n" " "; echo',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max',
    'echo 1000 > /sys/fs/cgroup/pids/pids.max 2>/dev/null && echo wrote || echo write-refused',
    'mkdir /sys/fs/cgroup/pids/child 2>/dev/null && echo made || echo mkdir-refused',
    'ls /sys/fs/cgroup/pids | grep -c "^cgview-other" || true',
    'grep -c "pids.max" /proc/self/mountinfo || true',
  ].join('; '), { mounts: [{ type: 'cgroup', destination: '/sys/fs/cgroup' }], resources: { memory: { limit: 48 << 20 }, pids: { limit: 40 } } });
  const lines = r.stdout.trim().split('\n');
  const listed = lines[0].trim().split(' ');
  for (const n of names) t.true(listed.includes(n), `${n} in ${lines[0]}`);
  t.is(listed.includes('unified'), host.cgroup2 !== null);
  t.deepEqual(lines.slice(1), [String(48 << 20), '40', 'write-refused', 'mkdir-refused', '0', '0'], r.stderr);
  // rw, as a privileged config asks: the same view, writable by the container's root.
  const rw = await sh('echo 30 > /sys/fs/cgroup/pids/pids.max && cat /sys/fs/cgroup/pids/pids.max', {
    mounts: [{ type: 'cgroup', destination: '/sys/fs/cgroup', readonly: false }], resources: { pids: { limit: 40 } },
  });
  t.is(rw.stdout.trim(), '30', rw.stderr);
  await other.destroy();
});
