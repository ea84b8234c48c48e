// User namespaces for a root caller: the container's root is an unprivileged host id.
// Verdicts from the kernel: the maps the container reads, the owner a file it makes has
// on the host, the overflow id of the host's files, mknod refused inside, a node bound
// from the host opening where the device rules allow it.
import test from 'ava';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowDevice, createContainer, defineProfile, denyDevice, explain, mknodInside } from '../lib';
import { RANGES_DIR } from '../lib/userns-ranges';
import { busyboxRootfs, leftovers, removeRootfs, run } from './helpers';

const rootfs = busyboxRootfs();
chmodSync(rootfs, 0o755);  // the mapped root reaches it as any other id would
// Mount points the tests use: in a tree of the host's root the mapped root can make none.
mkdirSync(join(rootfs, 'data'));
writeFileSync(join(rootfs, 'ro'), '');
chmodSync(join(rootfs, 'tmp'), 0o1777);
const dirs: string[] = [];
test.after.always(() => {
  removeRootfs(rootfs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nsbox-userns-'));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

const hostMap = (pid: number, file: 'uid_map' | 'gid_map') => readFileSync(`/proc/${pid}/${file}`, 'utf8').trim().split(/\s+/).map(Number);

async function output(c: Awaited<ReturnType<typeof createContainer>>): Promise<{ out: string; err: string; code: number | null }> {
  let out = '';
  let err = '';
  c.stdout?.on('data', (d) => { out += d; });
  c.stderr?.on('data', (d) => { err += d; });
  // The pipes drain after the exit: both read to their end.
  const ended = (s: NodeJS.ReadableStream | null) => (s ? new Promise((r) => s.once('end', r)) : Promise.resolve());
  const [status] = await Promise.all([c.wait(), ended(c.stdout), ended(c.stderr)]);
  return { out, err, code: status.exitCode };
}

test.serial('userns "auto": root inside is a free range\'s first id; its files on the host are owned by it, the host\'s read as nobody; mknod is refused and explain() says why; two containers get disjoint ranges', async (t) => {
  const data = tempDir();
  const hostFile = join(tempDir(), 'root-owned');
  writeFileSync(hostFile, 'host\n', { mode: 0o644 });
  const script = 'id -u; cat /proc/self/uid_map; touch /data/made; stat -c %u /ro; mknod /tmp/n c 1 3 && echo made || echo mknod-refused; cat /dev/null && echo null-ok; ' +
    'stat -c %u /bin/busybox; touch /tmp/in-rootfs';
  const spec = {
    command: ['/bin/sh', '-c', script], rootfs, userns: 'auto' as const, stdio: 'pipe' as const,
    mounts: [{ type: 'bind' as const, source: data, destination: '/data' }, { type: 'bind' as const, source: hostFile, destination: '/ro', readonly: true }],
  };
  const a = await createContainer(spec);
  const b = await createContainer({ ...spec, command: ['/bin/true'], mounts: [] });
  let start = 0;
  try {
    const [inside, first, size] = hostMap(a.pid, 'uid_map');
    start = first;
    t.deepEqual([inside, size], [0, 65536]);
    t.deepEqual(hostMap(a.pid, 'gid_map').slice(0, 1), [0]);
    t.true(start > 0, 'root inside is not the host\'s root');
    t.true(existsSync(join(RANGES_DIR, String(start))), 'the range is reserved');
    const [, startB] = hostMap(b.pid, 'uid_map');
    t.true(startB + 65536 <= start || start + 65536 <= startB, `disjoint: ${start} and ${startB}`);
    // The mapped root owns the directory it writes into, as it would an image's files.
    chownSync(data, start, start);
    t.true(a.userns);
    const why = explain(a, { device: 'c 1:3', access: 'm' });
    t.false(why.allowed);
    t.regex(why.reason, /^mknod in a user namespace is refused by the kernel whatever the capabilities; pass the host's node instead/);
    t.regex(why.reason, /the device cgroup would allow it/);
    const refused = await t.throwsAsync(mknodInside(a, '/dev/x', { type: 'c', major: 1, minor: 3 }));
    t.is((refused as { code?: string }).code, 'EPERM');
    t.regex(refused?.message ?? '', /mknod in a user namespace is refused by the kernel/);
    await a.start();
    const r = await output(a);
    t.is(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    t.is(lines[0], '0');
    t.deepEqual(lines[1].trim().split(/\s+/).map(Number), [0, start, 65536]);
    t.is(statSync(join(data, 'made')).uid, start, 'a file the container made is the mapped root\'s on the host');
    t.is(lines[2], '65534', 'a file of the host\'s root reads as the overflow id');
    t.is(lines[3], 'mknod-refused');
    t.regex(r.err, /mknod: \/tmp\/n: Operation not permitted/);
    t.is(lines[4], 'null-ok', '/dev/null is the host\'s node, bound');
    // The rootfs through an idmapped mount: the host's root's files are root's inside, and what root writes there is the host's root's.
    t.is(lines[5], '0');
    t.is(statSync(join(rootfs, 'tmp/in-rootfs')).uid, 0);
    rmSync(join(rootfs, 'tmp/in-rootfs'));
  } finally {
    for (const c of [a, b]) await c.destroy();
  }
  for (const c of [a, b]) t.deepEqual(leftovers(c.id, c.pid), []);
  t.false(existsSync(join(RANGES_DIR, String(start))), 'destroy released the range');
});

test.serial('userns: a node the spec names is the host\'s node at that path, bound (its mode and owner the host\'s); it opens where the device rules allow it and not where they deny it', async (t) => {
  // A node of the host's for the test: KVM's numbers, open to every id (the host's own
  // /dev/kvm is its group's only, which the mapped root is not in).
  const node = `/dev/nsbox-userns-${process.pid}`;
  const made = await run({ command: ['/bin/true'] });  // (the library's own state dirs exist)
  t.is(made.exitCode, 0);
  const { execFileSync } = await import('node:child_process');
  execFileSync('python3', ['-c', `import os; os.mknod(${JSON.stringify(node)}, 0o20666, os.makedev(10, 232)); os.chmod(${JSON.stringify(node)}, 0o666)`]);
  t.teardown(() => rmSync(node, { force: true }));
  const profile = defineProfile({ name: 'kvm', nodes: [{ path: node, type: 'c', major: 10, minor: 232 }] });
  const userns = { uidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }] };
  const open = `stat -c "%t:%T %a" ${node}; exec 3<${node} && echo opened`;
  const ok = await run({ command: ['/bin/sh', '-c', open], rootfs, userns, profile, stdio: 'pipe' });
  t.is(ok.exitCode, 0, ok.stderr);
  t.regex(ok.stdout, /^a:e8 666\nopened$/m);
  const denied = await run({
    command: ['/bin/sh', '-c', open], rootfs, userns, profile, stdio: 'pipe',
    devices: [{ allow: false, type: 'c', major: 10, minor: 232, access: 'rwm' }],
  });
  t.not(denied.exitCode, 0);
  t.regex(denied.stderr, /Operation not permitted/);
  t.notRegex(denied.stdout, /opened/);
  // A node the host does not have cannot be bound: creation fails naming it.
  const missing = await t.throwsAsync(run({ command: ['/bin/true'], rootfs, userns, profile: defineProfile({ name: 'none', nodes: [{ path: '/dev/nsbox-none', type: 'c', major: 10, minor: 232 }] }) }));
  t.regex(missing?.message ?? '', /dev: open_tree: .*\/dev\/nsbox-none.*the host has none there/);
});

test.serial('userns: allowDevice({ hostPath }) into a running container binds the host\'s node and allows it; denyDevice takes the access away', async (t) => {
  const node = `/dev/nsbox-userns-live-${process.pid}`;
  const { execFileSync } = await import('node:child_process');
  execFileSync('python3', ['-c', `import os; os.mknod(${JSON.stringify(node)}, 0o20666, os.makedev(10, 232)); os.chmod(${JSON.stringify(node)}, 0o666)`]);
  t.teardown(() => rmSync(node, { force: true }));
  const c = await createContainer({ command: ['/bin/sleep', '30'], rootfs, userns: 'auto' });
  try {
    await c.start();
    const open = async () => {
      const p = await c.exec({ command: ['/bin/sh', '-c', `stat -c "%t:%T" ${node} && exec 3<${node} && echo opened`], stdio: 'pipe' });
      let out = '';
      let err = '';
      p.stdout?.on('data', (d) => { out += d; });
      p.stderr?.on('data', (d) => { err += d; });
      await Promise.all([p.wait(), new Promise((r) => p.stdout?.once('end', r)), new Promise((r) => p.stderr?.once('end', r))]);
      return { out, err };
    };
    t.regex((await open()).err, /No such file or directory/);
    await allowDevice(c, { hostPath: node });
    t.regex((await open()).out, /^a:e8\nopened$/m);
    await denyDevice(c, { hostPath: node });
    const denied = await open();
    t.notRegex(denied.out, /opened/);
    t.regex(denied.err, /Operation not permitted/);
    // Allowed again, the same node is not bound twice.
    await allowDevice(c, { hostPath: node });
    t.regex((await open()).out, /opened/);
    const p = await c.exec({ command: ['/bin/sh', '-c', `grep -c " ${node} " /proc/self/mountinfo`], stdio: 'pipe' });
    let count = '';
    p.stdout?.on('data', (d) => { count += d; });
    await Promise.all([p.wait(), new Promise((r) => p.stdout?.once('end', r))]);
    t.is(count.trim(), '1');
  } finally {
    await c.destroy();
  }
  t.deepEqual(leftovers(c.id, c.pid), []);
});

test.serial('userns: a bind with idmap: true is seen through the container\'s maps (the host\'s root\'s files are root\'s inside, what root writes is the host\'s root\'s); without a user namespace it is refused', async (t) => {
  const shared = tempDir();
  writeFileSync(join(shared, 'host-file'), 'x', { mode: 0o600 });
  mkdirSync(join(rootfs, 'shared'), { recursive: true });
  const r = await run({
    command: ['/bin/sh', '-c', 'stat -c %u /shared/host-file; cat /shared/host-file; echo; touch /shared/made && echo made'],
    rootfs, userns: 'auto', stdio: 'pipe', mounts: [{ type: 'bind', source: shared, destination: '/shared', idmap: true }],
  });
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, '0\nx\nmade\n');
  t.is(statSync(join(shared, 'made')).uid, 0);
  const e = await t.throwsAsync(createContainer({ command: ['/bin/true'], rootfs, mounts: [{ type: 'bind', source: shared, destination: '/shared', idmap: true }] }));
  t.is((e as { code?: string }).code, 'ERR_INVALID_SPEC');
  t.regex(e?.message ?? '', /asks for an idmapped bind, which maps ids for a user namespace: give userns too/);
});

test.serial('userns with idmapRootfs: false: the rootfs as the host has it, its root\'s files read as nobody', async (t) => {
  const userns = { uidMappings: [{ containerID: 0, hostID: 320000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 320000, size: 65536 }], idmapRootfs: false };
  const r = await run({ command: ['/bin/sh', '-c', 'stat -c %u /bin/busybox; touch /bin/x 2>&1 || echo refused'], rootfs, userns, stdio: 'pipe' });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^65534\n(.*Permission denied\n)?refused$/m);
  t.false(existsSync(join(rootfs, 'bin/x')));
});

test('userns: maps are checked before anything exists, and what a user namespace cannot do is refused by name', async (t) => {
  const map = [{ containerID: 0, hostID: 400000, size: 65536 }];
  const cases: [object, string, RegExp][] = [
    [{ userns: { uidMappings: [{ containerID: 1, hostID: 400000, size: 10 }], gidMappings: map } }, 'ERR_INVALID_SPEC', /must map container id 0/],
    [{ userns: { uidMappings: [...map, { containerID: 100, hostID: 500000, size: 5 }], gidMappings: map } }, 'ERR_INVALID_SPEC', /overlap in their containerID ranges/],
    [{ userns: { uidMappings: map, gidMappings: map, extra: 1 } }, 'ERR_INVALID_SPEC', /extra/],
    [{ userns: { uidMappings: [{ containerID: 0, hostID: -1, size: 1 }], gidMappings: map } }, 'ERR_INVALID_SPEC', /hostID must be an id/],
    [{ userns: 'yes' }, 'ERR_INVALID_SPEC', /userns must be "auto"/],
    [{ userns: { uidMappings: map, gidMappings: map, idmapRootfs: 'yes' } }, 'ERR_INVALID_SPEC', /idmapRootfs must be a boolean/],
    [{ userns: { uidMappings: map, gidMappings: map }, user: { uid: 70000, gid: 0 } }, 'ERR_INVALID_SPEC', /must map container id 70000/],
    [{ userns: 'auto', namespaces: ['mount', 'uts', 'ipc', 'net'] }, 'ERR_INVALID_SPEC', /needs new pid namespaces/],
    [{ userns: 'auto', profile: 'privileged' }, 'ERR_UNSUPPORTED', /CAP_SYS_ADMIN out of the bounding set/],
    [{ userns: 'auto', rootfs, joinNamespaces: { net: '/proc/1/ns/net' }, namespaces: ['mount', 'pid', 'uts', 'ipc', 'cgroup'] }, 'ERR_INVALID_SPEC', /needs new net namespaces/],
  ];
  for (const [extra, code, message] of cases) {
    const e = await t.throwsAsync(createContainer({ command: ['/bin/true'], id: 'userns-bad', ...extra }));
    t.is((e as { code?: string }).code, code, JSON.stringify(extra));
    t.regex(e?.message ?? '', message);
  }
  t.deepEqual(leftovers('userns-bad'), []);
});

test.serial('userns "auto" on the host\'s rootfs: the default profile (no CAP_SYS_ADMIN) runs as the mapped root, and exec\'d processes are in its user namespace', async (t) => {
  const c = await createContainer({ command: ['/bin/sleep', '30'], userns: 'auto' });
  try {
    await c.start();
    const p = await c.exec({ command: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status'], stdio: 'pipe' });
    let out = '';
    p.stdout?.on('data', (d) => { out += d; });
    const [status] = await Promise.all([p.wait(), new Promise((r) => p.stdout?.once('end', r))]);
    t.is(status.exitCode, 0);
    const [uid, map, caps] = out.trim().split('\n');
    t.is(uid, '0');
    t.deepEqual(map.trim().split(/\s+/).map(Number), hostMap(c.pid, 'uid_map'));
    t.regex(caps, /CapEff:\s+00000000a80425fb/);
    // No further namespaces from inside: the default filter refuses them without CAP_SYS_ADMIN, as outside one.
    const nested = await c.exec({ command: ['/bin/sh', '-c', 'unshare -U true 2>&1; echo rc=$?'], stdio: 'pipe' });
    let said = '';
    nested.stdout?.on('data', (d) => { said += d; });
    await Promise.all([nested.wait(), new Promise((r) => nested.stdout?.once('end', r))]);
    t.regex(said, /Operation not permitted\nrc=1\n$/);
    t.is(readFileSync(`/proc/${c.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1], String(hostMap(c.pid, 'uid_map')[1]), 'on the host the command is the mapped id');
  } finally {
    await c.destroy();
  }
  t.deepEqual(leftovers(c.id, c.pid), []);
});
