// OCI hooks by what they saw: each kind at its point of the lifecycle, in order, with
// the container's state on stdin, in the runtime's or the container's namespaces;
// failures and timeouts fail their operation and leave nothing behind.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerError, createContainer } from '../lib';
import { busyboxRootfs, exited, leftovers, PYTHON, removeRootfs, textOf } from './helpers';

/** A hook that appends "<kind> <its mount namespace> <the state it read>" to `log`. */
const recorder = (log: string, kind: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo "$0 $(readlink /proc/self/ns/mnt) $(cat)" >> ${log}`, kind] });

test('each hook kind at its point: prestart, createRuntime and createContainer (in the container\'s mount namespace) before create resolves, startContainer inside before the command, poststart after start, poststop after destroy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-hooks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const c = await createContainer({
    command: ['/bin/sh', '-c', 'cat /dev/shm/state.json'], id: `hooks-${process.pid}`, bundle: dir, annotations: { 'org.example/x': 'y' },
    hooks: {
      prestart: [recorder(log, 'prestart')], createRuntime: [recorder(log, 'createRuntime')], createContainer: [recorder(log, 'createContainer')],
      // Inside the container: it writes what it read where only the container sees it.
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /dev/shm/state.json'] }],
      poststart: [recorder(log, 'poststart')], poststop: [recorder(log, 'poststop')],
    },
  });
  t.teardown(() => c.destroy());
  const lines = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [kind, ns, ...state] = l.split(' ');
    return { kind, ns, state: JSON.parse(state.join(' ')) };
  });
  const host = readlinkSync('/proc/self/ns/mnt');
  let seen = lines();
  t.deepEqual(seen.map((l) => l.kind), ['prestart', 'createRuntime', 'createContainer'], 'all three ran before createContainer() resolved');
  for (const l of seen) {
    t.is(l.ns, l.kind === 'createContainer' ? readlinkSync(`/proc/${c.pid}/ns/mnt`) : host,
      `${l.kind} runs in the ${l.kind === 'createContainer' ? 'container\'s' : 'runtime\'s'} mount namespace`);
    // After the environment was made (the runtime spec's lifecycle, steps 3-5): "created".
    t.deepEqual(l.state, { ociVersion: '1.0.2', id: c.id, status: 'created', pid: c.pid, bundle: dir, annotations: { 'org.example/x': 'y' } });
  }
  t.not(host, readlinkSync(`/proc/${c.pid}/ns/mnt`));
  const out = textOf(c.stdout);
  await c.start();
  t.deepEqual(lines().map((l) => l.kind), ['prestart', 'createRuntime', 'createContainer', 'poststart']);
  t.like(lines()[3].state, { status: 'running', pid: c.pid });
  await exited(c);
  // The command read what the startContainer hook was given, inside the container.
  t.like(JSON.parse(await out), { id: c.id, status: 'created', pid: c.pid, bundle: dir });
  await c.destroy();
  seen = lines();
  t.deepEqual(seen.map((l) => l.kind), ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']);
  t.like(seen[4].state, { status: 'stopped', id: c.id });
  t.false('pid' in seen[4].state);
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test('a failing createRuntime hook fails the create naming it and leaves nothing; a hook past its timeout is killed', async (t) => {
  const id = `hookfail-${process.pid}`;
  const e = await t.throwsAsync(createContainer({
    command: ['true'], id, hooks: { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no network for you >&2; exit 3'] }] },
  }), { instanceOf: ContainerError });
  t.is(e?.code, 'ERR_HOOK_FAILED');
  t.regex(e?.message ?? '', /createRuntime hook 0 \(\/bin\/sh\) exited with status 3: no network for you/);
  t.deepEqual(leftovers(id), []);
  const started = Date.now();
  const slow = await t.throwsAsync(createContainer({ command: ['true'], id, hooks: { prestart: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] } }),
    { instanceOf: ContainerError });
  t.regex(slow?.message ?? '', /prestart hook 0 \(\/bin\/sleep\) timed out after 1 s \(killed\)/);
  t.true(Date.now() - started < 10_000);
  t.deepEqual(leftovers(id), []);
  // A startContainer failure stops the container and rejects start().
  const c = await createContainer({ command: ['/bin/sh', '-c', 'echo ran'], id, hooks: { startContainer: [{ path: '/bin/false' }] } });
  const out = textOf(c.stdout);
  await t.throwsAsync(c.start(), { code: 'ERR_HOOK_FAILED', message: /startContainer hook 0 \(\/bin\/false\) exited with status 1/ });
  t.is(await out, '', 'the command never ran');
  t.is(c.state, 'destroyed');
  t.deepEqual(leftovers(id, c.pid), []);
});

test('hooks are checked before anything is created', async (t) => {
  const id = `hookbad-${process.pid}`;
  for (const [hooks, code] of [
    [{ prestart: [{ path: 'relative' }] }, 'ERR_INVALID_HOOK'], [{ prestart: [{ path: '/bin/true', timeout: 0 }] }, 'ERR_INVALID_HOOK'],
    [{ prestart: [{ path: '/bin/true', env: ['NOEQUALS'] }] }, 'ERR_INVALID_HOOK'], [{ preStart: [] }, 'ERR_INVALID_HOOK'],
    [{ prestart: [{ path: '/bin/true', extra: 1 }] }, 'ERR_INVALID_HOOK'], [{ createContainer: [{ path: '/bin/true', args: 'x' }] }, 'ERR_INVALID_HOOK'],
  ] as const) {
    const e = await t.throwsAsync(createContainer({ command: ['true'], id, hooks: hooks as never }), { instanceOf: ContainerError });
    t.is(e?.code, code, JSON.stringify(hooks));
  }
  t.deepEqual(leftovers(id), []);
});

test('a prestart hook reaches the container through the pid in its state: the container\'s own network namespace, before the command runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-hooks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'ns');
  const c = await createContainer({
    command: ['/bin/true'], hooks: {
      prestart: [{ path: '/usr/bin/python3', args: ['python3', '-c', `import json, os, sys; s = json.load(sys.stdin); open("${out}", "w").write(os.readlink("/proc/%d/ns/net" % s["pid"]))`] }],
    },
  });
  t.teardown(() => c.destroy());
  t.is(readFileSync(out, 'utf8'), readlinkSync(`/proc/${c.pid}/ns/net`));
  t.not(readFileSync(out, 'utf8'), readlinkSync('/proc/self/ns/net'), 'the container\'s own, not the host\'s');
  await c.destroy();
});

// What NVIDIA's and CDI's hooks do: enter the container's mount namespace before
// pivot_root and mount into the rootfs at its own path. The command must find the
// mount, the host must not.
test('a hook\'s mount into the rootfs before pivot_root reaches the container and only it; a failing createContainer hook leaves nothing', async (t) => {
  const rootfs = busyboxRootfs();
  t.teardown(() => removeRootfs(rootfs));
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-hooks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'lib.so'), 'from the host\n');
  mkdirSync(join(rootfs, 'opt', 'vendor'), { recursive: true });
  // createContainer: in the container's namespaces, the host's tree still its root.
  const bindVendor = { path: '/bin/sh', args: ['sh', '-c', `mount --bind ${dir} ${rootfs}/opt/vendor`] };
  // prestart: in the runtime's namespaces, into the container's through its pid.
  const tmpfsData = {
    path: PYTHON, args: ['python3', '-c', `import json, subprocess, sys; s = json.load(sys.stdin)
subprocess.run(["nsenter", "-t", str(s["pid"]), "-m", "sh", "-c", "mkdir -p ${rootfs}/data && mount -t tmpfs -o size=1m hookfs ${rootfs}/data && echo seeded > ${rootfs}/data/f"], check=True)`],
  };
  const c = await createContainer({
    rootfs, command: ['/bin/sh', '-c', 'cat /opt/vendor/lib.so /data/f; grep -c " /data tmpfs" /proc/self/mounts'],
    readonlyRootfs: true, hooks: { prestart: [tmpfsData], createContainer: [bindVendor] },
  });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  await c.start();
  t.like(await exited(c), { exitCode: 0 });
  t.is(await out, 'from the host\nseeded\n1\n');
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(`${rootfs}/`), 'no mount reached the host');
  t.false(existsSync(join(rootfs, 'data', 'f')));
  await c.destroy();
  const id = `hookcc-${process.pid}`;
  const e = await t.throwsAsync(createContainer({ rootfs, command: ['true'], id, hooks: { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }] } }),
    { instanceOf: ContainerError });
  t.is(e?.code, 'ERR_HOOK_FAILED');
  t.regex(e?.message ?? '', /createContainer hook 0 \(\/bin\/sh\) exited with status 4/);
  t.deepEqual(leftovers(id), []);
});
