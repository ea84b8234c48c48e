// End to end with the real containerd (Debian's package) driving nsbox-runtime through
// its io.containerd.runc.v2 shim, on a private socket, root and state directory, in a
// namespace of its own. ctr is the client, as a user would type it. Each case runs with
// runc too (--runc-binary picks the runtime) and must give both the answer it expects.
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostInfo } from '../lib/host';
import { busyboxRootfs, exitOf, removeRootfs, runCommand, runtimeBinFor, pruneCgroupParents } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'nsbox-containerd-'));
const sock = join(dir, 'containerd.sock');
const ns = `nsbox-test-${process.pid}`;
const rootfs = busyboxRootfs();
chmodSync(rootfs, 0o755);
let containerd: ChildProcess | undefined;
const RUNTIME_BIN = runtimeBinFor(dir);
const RUNTIMES = [['runc', 'runc'], ['nsbox', RUNTIME_BIN]] as const;

function ctr(args: string[], opts: Parameters<typeof runCommand>[2] = {}) {
  return runCommand('ctr', ['--address', sock, '--namespace', ns, ...args], opts);
}

function ctrRun(bin: string, id: string, extra: string[], command: string[]) {
  return ctr(['run', '--rm', '--runc-binary', bin, ...extra, '--rootfs', rootfs, id, ...command]);
}

/** A task's end: killed, then deleted with its container once the shim reports it stopped. */
async function removeTask(id: string): Promise<void> {
  await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  for (let end = Date.now() + 5000; !new RegExp(`^${id}\\s+\\d+\\s+STOPPED`, 'm').test((await ctr(['task', 'ls'])).stdout) && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await ctr(['task', 'delete', id]);
  await ctr(['containers', 'rm', id]);
}

test.before(async () => {
  for (const tool of ['containerd', 'ctr', 'containerd-shim-runc-v2', 'umoci', 'runc']) {
    if ((await runCommand('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: scripts/test-deps.sh installs it`);
  }
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    // No CRI (it wants CNI and a kubelet), no snapshotters this machine cannot have.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
    '[grpc]', `  address = "${sock}"`,
    '[ttrpc]', `  address = "${sock}.ttrpc"`,
    '[debug]', `  address = "${dir}/debug.sock"`,
  ].join('\n'));
  containerd = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'ignore'] });
  const end = Date.now() + 20000;
  while ((await ctr(['version'])).code !== 0) {
    if (Date.now() > end) throw new Error('containerd did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
});

test.after.always(async () => {
  // Anything a failed test left: tasks, containers, the image.
  const ids = (await ctr(['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) {
    await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await ctr(['task', 'delete', '--force', id]);
    await ctr(['containers', 'rm', id]);
  }
  for (const img of (await ctr(['images', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await ctr(['images', 'rm', img]);
  await ctr(['namespaces', 'rm', ns]);
  containerd?.kill('SIGTERM');
  if (containerd) await exitOf(containerd, 'containerd', 20_000);
  rmSync(dir, { recursive: true, force: true });
  // The shim's runc --root for this namespace, and the cgroup directory ctr's
  // cgroupsPath (/<namespace>/<id>) made for it, which the runtime leaves as runc does.
  rmSync(`/run/containerd/runc/${ns}`, { recursive: true, force: true });
  // runc makes it in every hierarchy, name=systemd's too.
  pruneCgroupParents([ns]);
  removeRootfs(rootfs);
});

test.serial('ctr run prints the command\'s output and exits with its status; the seed model', async (t) => {
  for (const [rt, bin] of RUNTIMES) {
    const r = await ctrRun(bin, `run1-${rt}`, [], ['/bin/sh', '-c', 'echo "hello from $(hostname)"; grep CapEff /proc/self/status; exit 5']);
    t.is(r.code, 5, `${rt}: ${r.stderr}`);
    t.regex(r.stdout, /hello from /, rt);
    t.regex(r.stdout, /CapEff:\s+00000000a80425fb/, rt);  // containerd's default set, the same as Docker's
    // The seed model through containerd: mknod works, the node cannot be opened.
    const kvm = await ctrRun(bin, `run2-${rt}`, [], ['/bin/sh', '-c', 'mknod /dev/kvm c 10 232 && echo made; cat /dev/kvm']);
    t.regex(kvm.stdout, /made/, rt);
    t.regex(kvm.stderr, /can't open '\/dev\/kvm': Operation not permitted/, rt);
    t.false(existsSync(join(hostInfo().cgroup2 as string, ns, `run1-${rt}`)), rt);
  }
});

test.serial('ctr run --seccomp: containerd\'s default profile is enforced (unshare refused, mknod and fork allowed); without it, unfiltered', async (t) => {
  const probe = 'grep Seccomp: /proc/self/status; unshare -U true && echo unshare-ok; rm -f /tmp/k; mknod /tmp/k c 10 232 && echo mknod-ok; rm -f /tmp/k; (true) && echo fork-ok';
  for (const [rt, bin] of RUNTIMES) {
    const on = await ctrRun(bin, `sec1-${rt}`, ['--seccomp'], ['/bin/sh', '-c', probe]);
    t.is(on.code, 0, `${rt}: ${on.stderr}`);
    t.regex(on.stdout, /^Seccomp:\s+2$/m, rt);
    t.notRegex(on.stdout, /unshare-ok/, rt);
    t.regex(on.stderr, /unshare: .*Operation not permitted/, rt);
    t.regex(on.stdout, /mknod-ok/, rt);
    t.regex(on.stdout, /fork-ok/, rt);
    const off = await ctrRun(bin, `sec2-${rt}`, [], ['/bin/sh', '-c', 'grep Seccomp: /proc/self/status']);
    t.regex(off.stdout, /^Seccomp:\s+0$/m, rt);
  }
});

test.serial('--privileged and --device /dev/fuse', async (t) => {
  const bounding = /^CapBnd:\s+(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  for (const [rt, bin] of RUNTIMES) {
    const priv = await ctrRun(bin, `priv1-${rt}`, ['--privileged'], ['/bin/sh', '-c', 'grep CapEff /proc/self/status; exec 3<>/dev/loop0 && echo loop0-opened']);
    t.is(priv.code, 0, `${rt}: ${priv.stderr}`);
    t.regex(priv.stdout, new RegExp(`CapEff:\\s+${bounding}`), rt);
    t.regex(priv.stdout, /loop0-opened/, rt);
    // An exec into a privileged container: containerd copies the container's process, every capability the host has.
    t.is((await ctr(['run', '-d', '--privileged', '--runc-binary', bin, '--rootfs', rootfs, `priv2-${rt}`, '/bin/sleep', '60'])).code, 0, rt);
    const ex = await ctr(['task', 'exec', '--exec-id', 'p', `priv2-${rt}`, '/bin/sh', '-c', 'grep CapEff /proc/self/status']);
    t.is(ex.code, 0, `${rt}: ${ex.stderr}`);
    t.regex(ex.stdout, new RegExp(`CapEff:\\s+${bounding}`), rt);
    await removeTask(`priv2-${rt}`);
    t.false((await ctr(['containers', 'ls', '-q'])).stdout.split('\n').includes(`priv2-${rt}`), rt);
    const fuse = await ctrRun(bin, `fuse1-${rt}`, ['--device', '/dev/fuse'], ['/bin/sh', '-c', 'ls -l /dev/fuse; exec 3<>/dev/fuse && echo fuse-opened']);
    t.is(fuse.code, 0, `${rt}: ${fuse.stderr}`);
    t.regex(fuse.stdout, /^crw.* 10,\s+229 .*\/dev\/fuse$/m, rt);
    t.regex(fuse.stdout, /fuse-opened/, rt);
    const without = await ctrRun(bin, `fuse2-${rt}`, [], ['/bin/sh', '-c', 'mknod /dev/fuse c 10 229; exec 3<>/dev/fuse && echo fuse-opened']);
    t.not(without.code, 0, rt);
    t.regex(without.stderr, /Operation not permitted/, rt);
  }
});

test.serial('ctr task exec, pause and resume, kill, and a second container in the first one\'s network namespace', async (t) => {
  for (const [rt, bin] of RUNTIMES) {
    const id = `task1-${rt}`;
    const count = () => Number(readFileSync(join(rootfs, `tmp/count-${rt}`), 'utf8') || '0');
    const run = await ctr(['run', '-d', '--runc-binary', bin, '--rootfs', rootfs, id, '/bin/sh', '-c',
      `i=0; while :; do i=$((i+1)); echo $i > /tmp/count-${rt}; sleep 0.01; done`]);
    t.is(run.code, 0, `${rt}: ${run.stderr}`);
    const ls = () => ctr(['task', 'ls']).then((r) => r.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '');
    t.regex(await ls(), /RUNNING/, rt);
    const ex = await ctr(['task', 'exec', '--exec-id', 'e1', id, '/bin/sh', '-c', 'echo "exec in $(cat /proc/1/cmdline | head -c 7)"; exit 4']);
    t.is(ex.code, 4, `${rt}: ${ex.stderr}`);
    t.regex(ex.stdout, /exec in \/bin\/sh/, rt);
    // ps as containerd's shim calls it (--format json): the container's own processes.
    const pids = await ctr(['task', 'ps', id]);
    t.is(pids.code, 0, `${rt}: ${pids.stderr}`);
    const pid = Number(/^\s*(\d+)/m.exec(pids.stdout.split('\n').slice(1).join('\n'))?.[1]);
    t.true(pid > 0 && existsSync(`/proc/${pid}`), `${rt}: ${pids.stdout}`);

    for (let end = Date.now() + 5000; !existsSync(join(rootfs, `tmp/count-${rt}`)) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    t.is((await ctr(['task', 'pause', id])).code, 0, rt);
    t.regex(await ls(), /PAUSED/, rt);
    // This runtime freezes through cgroup2 where the host has it; runc on a hybrid host through v1's freezer.
    if (rt === 'nsbox') t.regex(readFileSync(join(hostInfo().cgroup2 as string, ns, id, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
    const at = count();
    await new Promise((r) => setTimeout(r, 200));
    t.is(count(), at, rt);
    t.is((await ctr(['task', 'resume', id])).code, 0, rt);
    t.regex(await ls(), /RUNNING/, rt);
    for (let end = Date.now() + 5000; count() <= at && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    t.true(count() > at, rt);

    // A second container in the first one's network namespace, as a pod's containers share their sandbox's.
    const joined = await ctrRun(bin, `join1-${rt}`, ['--with-ns', `network:/proc/${pid}/ns/net`], ['/bin/readlink', '/proc/self/ns/net']);
    t.is(joined.code, 0, `${rt}: ${joined.stderr}`);
    t.is(joined.stdout.trim(), readlinkSync(`/proc/${pid}/ns/net`), rt);

    // kill --all, as the shim calls the runtime for it: every process of the container.
    t.is((await ctr(['task', 'kill', '--all', '-s', 'SIGKILL', id])).code, 0, rt);
    for (let end = Date.now() + 5000; !/STOPPED/.test(await ls()) && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    t.regex(await ls(), /STOPPED/, rt);
    t.is((await ctr(['task', 'delete', id])).code, 0, rt);
    t.is((await ctr(['containers', 'rm', id])).code, 0, rt);
    t.false(existsSync(join(hostInfo().cgroup2 as string, ns, id)), rt);
    rmSync(join(rootfs, `tmp/count-${rt}`), { force: true });
  }
});

test.serial('ctr run --memory-limit and --cpus: the limits hold, and ctr task metrics reports the container\'s own cgroup', async (t) => {
  const h = hostInfo();
  for (const [rt, bin] of RUNTIMES) {
    const id = `lim1-${rt}`;
    const run = await ctr(['run', '-d', '--runc-binary', bin, '--memory-limit', String(32 << 20), '--cpus', '0.5', '--rootfs', rootfs, id,
      '/bin/sh', '-c', 'while :; do sleep 1; done']);
    t.is(run.code, 0, `${rt}: ${run.stderr}`);
    const metrics = await ctr(['task', 'metrics', '--format', 'json', id]);
    t.is(metrics.code, 0, `${rt}: ${metrics.stderr}`);
    const m = JSON.parse(metrics.stdout);
    // The shim reads the container's own directories: its limit, a few MB of usage (the
    // caller's cgroup showed hundreds of MB and minutes of CPU when the container joined none).
    const memory = m.memory ?? m.Memory;
    const usage = memory.usage ?? memory.Usage;
    t.is(Number(usage.limit ?? usage.Limit), 32 << 20, rt);
    t.true(Number(usage.usage ?? usage.Usage) < 32 << 20, `${rt}: ${JSON.stringify(usage)}`);
    const pids = m.pids ?? m.Pids;
    t.true(Number(pids.current ?? pids.Current) >= 1 && Number(pids.current ?? pids.Current) <= 3, `${rt}: ${JSON.stringify(pids)}`);
    const cpu = m.cpu ?? m.CPU;
    t.true(Number((cpu.usage ?? cpu.Usage).total ?? (cpu.usage ?? cpu.Usage).Total) < 5e9, `${rt}: seconds of CPU, not the caller's minutes`);
    // --cpus 0.5: a quota of half a period, in the container's own directory.
    const quota = h.v1.cpu ? readFileSync(join(h.v1.cpu, ns, id, 'cpu.cfs_quota_us'), 'utf8').trim() : readFileSync(join(h.cgroup2 as string, ns, id, 'cpu.max'), 'utf8').split(' ')[0];
    t.is(quota, '50000', rt);
    // And the limit holds: an allocation past it is OOM-killed (tail -c keeps the last
    // 100 MB of its input in memory; one process allocates, so the kernel's choice of
    // victim is that one).
    const hog = await ctr(['task', 'exec', '--exec-id', 'hog', id, '/bin/sh', '-c', 'head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null && echo survived']);
    t.not(hog.stdout, 'survived\n', rt);
    t.is(hog.code, 137, `${rt}: ${hog.stderr}`);
    // The kernel may kill the init too: a second OOM can come while the first victim's
    // memory is still being freed, and the init is all that is left to choose (seen
    // about once in twenty runs here); removeTask's kill then finds it finished.
    await removeTask(id);
    t.false((await ctr(['containers', 'ls', '-q'])).stdout.split('\n').includes(id), rt);
    for (const mount of Object.values(h.v1)) t.false(existsSync(join(mount, ns, id)), `${rt}: ${mount}`);
  }
});

test.serial('a terminal: ctr run -t', async (t) => {
  for (const [rt, bin] of RUNTIMES) {
    // ctr wants a terminal of its own; script(1) gives it one.
    const cmd = `ctr --address ${sock} --namespace ${ns} run --rm -t --runc-binary ${bin} --rootfs ${rootfs} tty1-${rt} ` +
      '/bin/sh -c \'echo "tty=$(tty) rdev=$(stat -c %t:%T /dev/console)/$(stat -c %t:%T $(tty))"; exit 3\'';
    const r = await runCommand('script', ['-qec', cmd, '/dev/null']);
    t.is(r.code, 3, `${rt}: ${r.stdout}${r.stderr}`);
    const m = /tty=(\/dev\/pts\/\d+) rdev=(\S+)\/(\S+)/.exec(r.stdout);
    t.truthy(m, `${rt}: ${r.stdout}`);
    t.is(m?.[2], m?.[3], rt);
  }
});

test.serial('an OCI image built with umoci, imported with ctr image import, runs', async (t) => {
  const img = join(dir, 'image');
  const bundle = join(dir, 'umoci-bundle');
  const umoci = async (args: string[]) => {
    const r = await runCommand('umoci', args);
    if (r.code !== 0) throw new Error(`umoci ${args.join(' ')}: ${r.stderr}`);
  };
  await umoci(['init', '--layout', img]);
  await umoci(['new', '--image', `${img}:latest`]);
  await umoci(['unpack', '--image', `${img}:latest`, bundle]);
  cpSync(rootfs, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  await umoci(['repack', '--image', `${img}:latest`, bundle]);
  await umoci(['config', '--image', `${img}:latest`, '--config.cmd', '/bin/sh', '--config.cmd', '-c', '--config.cmd', 'echo "from the image as $(id -u)"']);
  const tar = join(dir, 'image.tar');
  const packed = await runCommand('tar', ['-C', img, '-cf', tar, '.']);
  t.is(packed.code, 0);
  // The native snapshotter: plain directories, whatever the filesystem under the test's root.
  const imported = await ctr(['image', 'import', '--snapshotter', 'native', '--base-name', 'localhost/nsbox-busybox', tar]);
  t.is(imported.code, 0, imported.stderr);
  for (const [rt, bin] of RUNTIMES) {
    const r = await ctr(['run', '--rm', '--snapshotter', 'native', '--runc-binary', bin, 'localhost/nsbox-busybox:latest', `img1-${rt}`]);
    t.is(r.code, 0, `${rt}: ${r.stderr}`);
    t.regex(r.stdout, /from the image as 0/, rt);
  }
});
