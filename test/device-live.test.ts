// Live control of a container's devices and capabilities: hot-plug and unplug while
// it runs, mknodInside under the container's own policy, capabilities before start.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allowDevice, type Container, ContainerError, type ContainerSpec, createContainer, denyDevice, mknodInside, setCapabilities,
} from '../lib';
import { toMask } from '../lib/policy/capabilities';
import { BACKENDS, busyboxRootfs, leftovers, removeRootfs, textOf, unheldCapability, exited, within } from './helpers';

/** A shell in the container that answers each line it reads with the outcome of `probe`. */
async function prober(spec: Omit<ContainerSpec, 'command'>, probe: string) {
  const c = await createContainer({
    ...spec,
    command: ['/bin/sh', '-c', `while read l; do if o=$( (${probe}) 2>&1); then echo "ok\${o:+ $o}"; else echo "$o" | tail -n 1; fi; done`],
  });
  let buf = '';
  const waiting: ((line: string) => void)[] = [];
  c.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  await c.start();
  const ask = () => within(new Promise<string>((resolve) => {
    waiting.push(resolve);
    c.stdin!.write('?\n');
  }), `container ${c.id}'s answer`, () => c.destroy());
  return { c, ask };
}

for (const deviceBackend of BACKENDS) {
  test(`hot-plug (${deviceBackend}): /dev/fuse opens after allowDevice({ hostPath }), not after denyDevice`, async (t) => {
    const { c, ask } = await prober({ deviceBackend }, 'exec 3</dev/fuse');
    t.regex(await ask(), /No such file/, 'no node before');
    await allowDevice(c, { hostPath: '/dev/fuse' });
    t.is(await ask(), 'ok');
    await denyDevice(c, { hostPath: '/dev/fuse' });
    t.regex(await ask(), /Operation not permitted/);
    await allowDevice(c, { hostPath: '/dev/fuse', access: 'r' });
    t.is(await ask(), 'ok', 'plugged again, the node already there');
    t.deepEqual(c.devices.slice(-3).map((r) => `${r.allow ? '' : 'deny '}${r.type} ${r.major}:${r.minor} ${r.access}`),
      ['c 10:229 rwm', 'deny c 10:229 rwm', 'c 10:229 r']);
    await c.destroy();
    t.deepEqual(leftovers(c.id, c.pid), []);
  });

  test(`hot-plug (${deviceBackend}): /dev/null stays usable through 100 live updates`, async (t) => {
    const c = await createContainer({
      // Builtins only: the shell opens /dev/null itself, thousands of times a second.
      command: ['/bin/sh', '-c', 'n=0; while [ ! -e /tmp/stop ]; do : </dev/null || echo FAIL; n=$((n+1)); done; echo "opens $n"'],
      deviceBackend,
    });
    const out: Buffer[] = [];
    c.stdout!.on('data', (d: Buffer) => out.push(d));
    c.stderr!.on('data', (d: Buffer) => out.push(d));
    await c.start();
    // The updates are spread over at least 50 ms, so that the loop opens /dev/null
    // hundreds of times while they happen (v1 updates alone take ~0.1 ms each).
    for (let i = 0; i < 50; i++) {
      await allowDevice(c, 'c 10:229 rw');
      await denyDevice(c, 'c 10:229 rw');
      await new Promise((r) => setTimeout(r, 1));
    }
    await mknodInside(c, '/tmp/stop', { type: 'c', major: 1, minor: 3 });
    const status = await exited(c);
    await c.destroy();
    const text = Buffer.concat(out).toString();
    t.is(status.exitCode, 0);
    t.false(text.includes('FAIL'), text.slice(0, 500));
    t.log(text.trim());
    t.true(Number(/opens (\d+)/.exec(text)?.[1]) > 300, `the loop kept opening: ${text.slice(-40)}`);
    t.is(c.devices.length, 12 + 100);
  });

  test(`mknodInside (${deviceBackend}): default profile creates the node; the container still cannot open it`, async (t) => {
    const { c, ask } = await prober({ deviceBackend }, 'stat -c "%F %t:%T %a" /dev/kvm && exec 3</dev/kvm');
    await mknodInside(c, '/dev/kvm', { type: 'c', major: 10, minor: 232, mode: 0o660 });
    t.regex(await ask(), /Operation not permitted/);
    const e = await t.throwsAsync(mknodInside(c, '/dev/kvm', { type: 'c', major: 10, minor: 232 }), { instanceOf: ContainerError });
    t.is(e?.code, 'EEXIST');
    const missing = await t.throwsAsync(mknodInside(c, '/no/such/dir/x', { type: 'c', major: 1, minor: 3 }), { instanceOf: ContainerError });
    t.is(missing?.code, 'ENOENT');
    await c.destroy();
  });
}

test('mknodInside: the node is what was asked for (type, numbers, mode, owner)', async (t) => {
  const { c, ask } = await prober({}, 'stat -c "%F %t:%T %a %u:%g" /dev/k2');
  await mknodInside(c, '/dev/k2', { type: 'b', major: 7, minor: 3, mode: 0o640, uid: 7, gid: 8 });
  t.is(await ask(), 'ok block special file 7:3 640 7:8');
  await c.destroy();
});

test('mknodInside for a non-root container: its ambient CAP_MKNOD decides, and the node is its own', async (t) => {
  const caps = ['CAP_MKNOD'];
  const { c, ask } = await prober({ user: { uid: 1000, gid: 1000 },
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps } }, 'stat -c "%u:%g %t:%T" /tmp/k3');
  const plain = await createContainer({ command: ['sleep', '100'], user: { uid: 1000 }, stdio: 'ignore' });
  t.teardown(() => plain.destroy());
  try {
    // As uid 1000 it can write /tmp but not /dev, like any process of that user.
    await t.throwsAsync(mknodInside(c, '/dev/k3', { type: 'c', major: 10, minor: 232 }), { code: 'EACCES' });
    await mknodInside(c, '/tmp/k3', { type: 'c', major: 10, minor: 232 });
    t.is(await ask(), 'ok 1000:1000 a:e8');
    const e = await t.throwsAsync(mknodInside(plain, '/tmp/k3', { type: 'c', major: 10, minor: 232 }), { instanceOf: ContainerError });
    t.is(e?.code, 'EPERM');
    t.regex(e!.message, /CAP_MKNOD/);
  } finally {
    await c.destroy();
    await plain.destroy();
  }
});

for (const [profile, reason] of [['systemd', /CAP_MKNOD/], ['strict', /CAP_MKNOD.*no rule grants m on c 10:232/], ['nspawn', /no rule grants m on c 10:232/]] as const) {
  test(`mknodInside: EPERM under ${profile}, saying which policy refused`, async (t) => {
    const c = await createContainer({ command: ['sleep', '100'], profile, stdio: 'ignore' });
    t.teardown(() => c.destroy());
    const e = await t.throwsAsync(mknodInside(c, '/dev/kvm', { type: 'c', major: 10, minor: 232 }), { instanceOf: ContainerError });
    t.is(e?.code, 'EPERM');
    t.regex(e!.message, reason);
    if (profile === 'nspawn') t.notRegex(e!.message, /CAP_MKNOD/);
    await c.destroy();
  });
}

/** Starts `script` in a container and resolves once it printed "ready". */
async function startedWhenReady(t: ExecutionContext, spec: Omit<ContainerSpec, 'command'>, script: string): Promise<Container> {
  const c = await createContainer({ ...spec, command: ['/bin/sh', '-c', `${script} && echo ready && exec sleep 100`] });
  t.teardown(() => c.destroy());
  const ready = new Promise<void>((resolve, reject) => {
    let text = '';
    c.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ready')) resolve();
    });
    c.wait().then(() => reject(new Error(`container ended before it was ready: ${text}`)));
  });
  await c.start();
  await within(ready, `container ${c.id} to be ready`, () => c.destroy());
  return c;
}

test('mknodInside: a symlink planted in the container cannot lead it outside the container\'s root', async (t) => {
  const host = mkdtempSync(join(tmpdir(), 'nsbox-outside-'));
  const root = busyboxRootfs();
  const c = await startedWhenReady(t, { rootfs: root }, `ln -s /../../../..${host} /dev/x && ln -s ${host}/evil /dev/y`);
  try {
    const through = await t.throwsAsync(mknodInside(c, '/dev/x/evil', { type: 'c', major: 1, minor: 3 }), { instanceOf: ContainerError });
    t.is(through?.code, 'ENOENT', 'the link resolves inside the root, where that directory does not exist');
    const last = await t.throwsAsync(mknodInside(c, '/dev/y', { type: 'c', major: 1, minor: 3 }), { instanceOf: ContainerError });
    t.is(last?.code, 'EEXIST', 'the last component is never followed');
    t.deepEqual(readdirSync(host), []);
  } finally {
    await c.destroy();
    removeRootfs(root);
    removeRootfs(host);
  }
});

test('the same trick against a host-rootfs container: /dev/x -> /../../host-dir', async (t) => {
  // Not under /tmp, which is the container's own: this directory is visible inside.
  const host = mkdtempSync('/var/tmp/nsbox-outside-');
  symlinkSync('/etc', join(host, 'etc-link'));
  const c = await startedWhenReady(t, {}, `ln -s /../../..${host} /dev/x`);
  try {
    const e = await t.throwsAsync(mknodInside(c, '/dev/x/evil', { type: 'c', major: 1, minor: 3 }), { instanceOf: ContainerError });
    // The container sees the host's directory, but through its own read-only view.
    t.is(e?.code, 'EROFS', e?.message);
    t.deepEqual(readdirSync(host), ['etc-link']);
  } finally {
    await c.destroy();
    removeRootfs(host);
  }
});

test('setCapabilities before start takes effect at start; afterwards it is a state error', async (t) => {
  const c = await createContainer({ command: ['sh', '-c', 'grep CapBnd /proc/self/status'] });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout);
  const sets = setCapabilities(c, { drop: ['MKNOD', 'NET_RAW'], add: ['sys_admin'] });
  t.true(sets.bounding.includes('CAP_SYS_ADMIN'));
  t.false(sets.bounding.includes('CAP_MKNOD'));
  await c.start();
  await exited(c);
  const want = toMask(sets.bounding);
  t.is(BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(await out)![1]}`), want);
  const e = t.throws(() => setCapabilities(c, { add: ['MKNOD'] }), { instanceOf: ContainerError });
  t.is(e?.code, 'ERR_CONTAINER_STATE');
  t.regex(e!.message, /cannot be raised from outside/);
  await c.destroy();
});

test('setCapabilities: drop ALL keeps only the adds; a full list replaces', async (t) => {
  const c = await createContainer({ command: ['true'] });
  t.teardown(() => c.destroy());
  t.deepEqual(setCapabilities(c, { drop: ['ALL'], add: ['CHOWN'] }).bounding, ['CAP_CHOWN']);
  t.deepEqual(setCapabilities(c, ['KILL', 'cap_chown']).effective, ['CAP_CHOWN', 'CAP_KILL']);
  await c.destroy();
});

test('every validation error has its code, and nothing changes', async (t) => {
  const c: Container = await createContainer({ command: ['sleep', '100'], stdio: 'ignore' });
  const before = c.devices.length;
  const caps = c.capabilities;
  const cases: [() => unknown, string][] = [
    [() => allowDevice(c, 'c 10:232'), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, 'c 4096:0 r'), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, 'c 1:1048576 r'), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, 'c 1:3 rrw'), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, 'a *:* m'), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, { type: 'c', major: -1, minor: 3, access: 'r' }), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, { hostPath: 'dev/fuse' }), 'ERR_INVALID_PATH'],
    [() => allowDevice(c, { hostPath: '/dev/fuse', access: 'x' }), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, { hostPath: '/dev/fuse', extra: 1 } as never), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, { hostPath: '/etc/hostname' }), 'ERR_INVALID_DEVICE_RULE'],
    [() => allowDevice(c, { hostPath: '/dev/no-such-node' }), 'ENOENT'],
    [() => denyDevice(c, 'b *:*'), 'ERR_INVALID_DEVICE_RULE'],
    [() => mknodInside(c, 'dev/x', { type: 'c', major: 1, minor: 3 }), 'ERR_INVALID_PATH'],
    [() => mknodInside(c, '/dev/../x', { type: 'c', major: 1, minor: 3 }), 'ERR_INVALID_PATH'],
    [() => mknodInside(c, '/dev/x\0', { type: 'c', major: 1, minor: 3 }), 'ERR_INVALID_PATH'],
    [() => mknodInside(c, '/dev/x', { type: 'p', major: 1, minor: 3 } as never), 'ERR_INVALID_DEVICE_RULE'],
    [() => mknodInside(c, '/dev/x', { type: 'c', major: 4096, minor: 3 }), 'ERR_INVALID_DEVICE_RULE'],
    [() => mknodInside(c, '/dev/x', { type: 'c', major: 1, minor: 3, mode: 0o10000 }), 'ERR_INVALID_MODE'],
    [() => mknodInside(c, '/dev/x', { type: 'c', major: 1, minor: 3, mode: 1.5 }), 'ERR_INVALID_MODE'],
    [() => mknodInside(c, '/dev/x', { type: 'c', major: 1, minor: 3, uid: -1 }), 'ERR_INVALID_SPEC'],
    [() => setCapabilities(c, { add: ['CAP_SYS_ADMN'] }), 'ERR_INVALID_CAPABILITY'],
    [() => setCapabilities(c, { add: ['ALL'], drop: ['ALL'] }), 'ERR_INVALID_CAPABILITY'],
    [() => setCapabilities(c, { grant: [] } as never), 'ERR_INVALID_CAPABILITY'],
    [() => setCapabilities({} as never, []), 'ERR_INVALID_ARG'],
  ];
  const unheld = unheldCapability();
  if (unheld) cases.push([() => setCapabilities(c, { add: [unheld] }), 'ERR_CAPABILITY_UNAVAILABLE']);
  for (const [call, code] of cases) {
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    t.true(error instanceof ContainerError, `${call}: ${error}`);
    t.is((error as ContainerError).code, code, `${call}: ${(error as Error)?.message}`);
  }
  t.regex(t.throws(() => setCapabilities(c, { add: ['CAP_SYS_ADMN'] }))?.message ?? '', /did you mean CAP_SYS_ADMIN/);
  t.is(c.devices.length, before);
  t.deepEqual(c.capabilities, caps);
  await c.destroy();
  for (const call of [() => allowDevice(c, 'c 1:3 r'), () => mknodInside(c, '/dev/x', { type: 'c', major: 1, minor: 3 })]) {
    await t.throwsAsync(call() as Promise<void>, { code: 'ERR_CONTAINER_STATE' });
  }
});

for (const deviceBackend of BACKENDS) {
  test(`a rejected allowDevice({ hostPath }) grants nothing (${deviceBackend}): the container made /dev/sub a file, the node cannot be made there`, async (t) => {
    // A busybox rootfs: its /tmp is no nodev tmpfs, so the device cgroup is what refuses.
    const rootfs = busyboxRootfs();
    const { c, ask } = await prober({ deviceBackend, rootfs }, '[ -e /dev/sub ] || touch /dev/sub; mknod /tmp/kvm c 10 232 2>/dev/null; exec 3</tmp/kvm');
    try {
      t.regex(await ask(), /can't open .*\/tmp\/kvm.*: Operation not permitted/);
      const before = c.devices.length;
      const e = await t.throwsAsync(allowDevice(c, { hostPath: '/dev/kvm', path: '/dev/sub/kvm' }), { instanceOf: ContainerError });
      t.is(e!.code, 'ENOTDIR', e!.message);
      t.is(c.devices.length, before, 'no rule was added');
      t.regex(await ask(), /can't open .*\/tmp\/kvm.*: Operation not permitted/, 'the kernel still refuses /dev/kvm');
    } finally {
      await c.destroy();
      removeRootfs(rootfs);
    }
  });
}

test('mknodInside racing destroy() either makes the node or rejects with a code: it never resolves for a node that is not there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-race-nodes-'));
  let made = 0, gone = 0;
  try {
    for (let round = 0; round < 10; round++) {
      const c = await createContainer({ command: ['sleep', '30'], stdio: 'ignore', mounts: [{ type: 'bind', source: dir, destination: '/tmp/data' }] });
      t.teardown(() => c.destroy());
      await c.start();
      const calls = Array.from({ length: 20 }, (_, i) => `r${round}n${i}`).map(async (name) => {
        try {
          await mknodInside(c, `/tmp/data/${name}`, { type: 'c', major: 1, minor: 3 });
          t.true(existsSync(join(dir, name)), `${name} resolved, so it exists`);
          made++;
        } catch (e) {
          t.true(e instanceof ContainerError && ['ERR_CONTAINER_GONE', 'ERR_CONTAINER_STATE'].includes(e.code), String(e));
          gone++;
        }
      });
      await new Promise((r) => setTimeout(r, round % 3));
      await Promise.all([c.destroy(), ...calls]);
      t.deepEqual(leftovers(c.id), []);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.log(`${made} made, ${gone} refused as the container went`);
});
