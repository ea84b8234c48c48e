// Resource limits in force, by the kernel's verdict inside the container: an OOM kill,
// a fork refused with EAGAIN, the cgroup's own files; and refusals before anything exists.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ContainerError, createContainer } from '../lib';
import { hostInfo } from '../lib/host';
import { exited, leftovers, PYTHON, sh, textOf, within } from './helpers';

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
