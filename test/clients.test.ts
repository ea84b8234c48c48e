// End to end with the clients users drive a runtime with: Docker (dockerd from
// Debian's docker.io), podman and buildah, each with its own state directories under
// a temporary folder, the daemon started and stopped here. Every case runs with
// nsbox-runtime and with runc, in the same test, and must give the same answer (and
// the answer the case expects: two runtimes broken the same way do not pass). One
// case at a time: they share the daemon, and timing matters to some (the OOM watch).
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostInfo } from '../lib/host';
import { busyboxRootfs, exitOf, removeRootfs, runCommand, pruneCgroupParents, runtimeBinFor } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'nsbox-clients-'));
chmodSync(dir, 0o755);
const rootfs = busyboxRootfs();
const NSBOX = runtimeBinFor(dir);
const RUNTIMES = [['runc', 'runc'], ['nsbox', NSBOX]] as const;
const DOCKER = '/usr/bin/docker';
const dockerSock = join(dir, 'docker.sock');
let dockerd: ChildProcess | undefined;

// podman's default ulimits (nofile 1048576, nproc 4194304) are above this host's hard
// limits, which no runtime may raise without CAP_SYS_RESOURCE: the clients' config
// lowers them (README, "Docker, podman, buildah").
const containersConf = join(dir, 'containers.conf');
const podmanEnv = { ...process.env, CONTAINERS_CONF: containersConf };
const storage = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];

const docker = (args: string[], ms = 90_000) => runCommand(DOCKER, ['-H', `unix://${dockerSock}`, ...args], { timeoutMs: ms });
const podman = (args: string[], ms = 90_000) => runCommand('podman', [...storage, '--tmpdir', join(dir, 'tmp'), ...args], { env: podmanEnv, timeoutMs: ms });
const buildah = (args: string[], ms = 120_000) => runCommand('buildah', [...storage, ...args], { env: podmanEnv, timeoutMs: ms });

/** Docker knows a runtime by the name dockerd was given for it. */
const dk = (rt: string) => (rt === 'runc' ? 'runc' : 'nsbox');
const dockerRun = (rt: string, args: string[], script: string) => docker(['run', '--rm', '--network', 'none', '--runtime', dk(rt), ...args, 'bb', '/bin/sh', '-c', script]);
const podmanRun = (rt: string, args: string[], script: string) => podman(['--runtime', rt, 'run', '--rm', ...args, 'bb', '/bin/sh', '-c', script]);

test.before(async () => {
  for (const tool of ['dockerd', DOCKER, 'podman', 'buildah', 'runc', 'script']) {
    if ((await runCommand('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing: scripts/test-deps.sh installs it`);
  }
  const nproc = Number((await runCommand('sh', ['-c', 'ulimit -Hu'])).stdout.trim());
  writeFileSync(containersConf, [
    '[containers]', `default_ulimits = ["nofile=20000:20000", "nproc=${Math.min(4096, nproc)}:${Math.min(4096, nproc)}"]`, 'netns = "none"',
    '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', `events_logfile_path = "${join(dir, 'events.log')}"`,
  ].join('\n'));
  mkdirSync(join(dir, 'tmp'));
  dockerd = spawn('dockerd', ['--data-root', join(dir, 'docker'), '--exec-root', join(dir, 'docker-exec'), '--pidfile', join(dir, 'docker.pid'),
    '-H', `unix://${dockerSock}`, '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs',
    '--add-runtime', `nsbox=${NSBOX}`], { stdio: ['ignore', 'ignore', 'ignore'] });
  const end = Date.now() + 30_000;
  while ((await docker(['version'], 5000)).code !== 0) {
    if (Date.now() > end) throw new Error('dockerd did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  const tar = join(dir, 'bb.tar');
  if ((await runCommand('tar', ['-C', rootfs, '-cf', tar, '.'])).code !== 0) throw new Error('tar of the rootfs failed');
  if ((await docker(['import', tar, 'bb:latest'])).code !== 0) throw new Error('docker import failed');
  if ((await podman(['import', tar, 'bb'])).code !== 0) throw new Error('podman import failed');
});

test.after.always(async () => {
  for (const id of (await docker(['ps', '-aq'], 20_000)).stdout.split('\n').filter(Boolean)) await docker(['rm', '-f', id], 20_000);
  await podman(['rm', '-af'], 30_000);
  await buildah(['rm', '--all'], 30_000);
  if (dockerd) {
    dockerd.kill('SIGTERM');
    await exitOf(dockerd, 'dockerd', 30_000).catch(() => dockerd?.kill('SIGKILL'));
  }
  // What a failed case left running (conmon, a container's processes) names our directory.
  await runCommand('pkill', ['-KILL', '-f', `${dir}/`]);
  // dockerd binds its data root onto itself; whatever it or podman left mounted goes first.
  await runCommand('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  rmSync(dir, { recursive: true, force: true });
  removeRootfs(rootfs);
  // The clients' own cgroup parents (Docker's /docker, podman's /libpod_parent), once empty.
  // Every hierarchy, name=systemd's included: the clients make their parents in each.
  pruneCgroupParents(['docker', 'libpod_parent']);
});

/** Runs `go` with each runtime; both answers must equal `want` (a string, or a check). */
async function both(t: import('ava').ExecutionContext, what: string, go: (rt: string) => Promise<{ code: number | null; stdout: string; stderr: string }>,
  want: (out: { code: number | null; stdout: string; stderr: string }) => string) {
  const got: string[] = [];
  for (const [, rt] of RUNTIMES) got.push(want(await go(rt)));
  t.is(got[1], got[0], `${what}: nsbox-runtime answers as runc`);
  return got[0];
}

/**
 * A detached container through a client (Docker and podman take the same verbs):
 * exec, top, pause and unpause, stats' memory limit, stop; a line for each.
 */
async function lifecycle(cli: typeof docker, run: string[]) {
  const id = (await cli([...run, '--memory', '64m', 'bb', '/bin/sh', '-c', 'sleep 100'])).stdout.trim();
  const out = [
    (await cli(['exec', id, '/bin/sh', '-c', 'echo exec-ok'])).stdout.trim(),
    (await cli(['top', id])).stdout.includes('sleep 100') ? 'top-ok' : 'top-missing',
    (await cli(['pause', id])).code === 0 && (await cli(['unpause', id])).code === 0 ? 'paused-unpaused' : 'pause-failed',
    (await cli(['stats', '--no-stream', '--format', '{{.MemUsage}}', id])).stdout.replace(/^.*\//, '').trim(),
    (await cli(['stop', '-t', '1', id])).code === 0 ? 'stopped' : 'stop-failed',
  ];
  await cli(['rm', id]);
  return { code: 0, stdout: out.join('\n'), stderr: '' };
}

const lines = (s: string) => s.trim().split('\n').map((l) => l.trim()).filter(Boolean);

test.serial('docker: the seed model with the defaults, exit status, --cap-drop, --cap-add, --device, --device-cgroup-rule, the default seccomp profile', async (t) => {
  const seed = 'mknod /dev/kvm c 10 232 && echo made; head -c1 /dev/kvm; mknod /tmp/mem c 1 1 && head -c1 /tmp/mem; grep "^Seccomp:" /proc/self/status; unshare -U true 2>/dev/null || echo unshare-refused';
  t.deepEqual(lines(await both(t, 'seed', (rt) => dockerRun(rt, [], seed), (r) => `${r.code}\n${r.stdout}\n${r.stderr}`)),
    ['0', 'made', 'Seccomp:\t2', 'unshare-refused', 'head: /dev/kvm: Operation not permitted', 'head: /tmp/mem: Operation not permitted']);
  t.is(await both(t, 'exit status', (rt) => dockerRun(rt, [], 'exit 3'), (r) => String(r.code)), '3');
  t.is(await both(t, '--cap-drop MKNOD', (rt) => dockerRun(rt, ['--cap-drop', 'MKNOD'], 'mknod /tmp/k c 1 3 2>/dev/null || echo refused'), (r) => r.stdout.trim()), 'refused');
  t.regex(await both(t, '--cap-add SYS_ADMIN', (rt) => dockerRun(rt, ['--cap-add', 'SYS_ADMIN'], 'grep CapEff /proc/self/status; mkdir /m && mount -t tmpfs x /m && echo mounted'),
    (r) => r.stdout.trim()), /CapEff:\s+00000000a82425fb\s+mounted/);
  t.is(await both(t, '--device', (rt) => dockerRun(rt, ['--device', '/dev/fuse'], 'head -c0 /dev/fuse && echo fuse-open'), (r) => r.stdout.trim()), 'fuse-open');
  t.is(await both(t, '--device-cgroup-rule', (rt) => dockerRun(rt, ['--device-cgroup-rule', 'c 10:232 rw'], 'mknod /dev/kvm c 10 232; head -c0 /dev/kvm && echo kvm-open'),
    (r) => r.stdout.trim()), 'kvm-open');
});

test.serial('docker: --memory (the OOM kill as Docker reports it), --pids-limit (a fork past it fails), --cpus, --read-only with --tmpfs', async (t) => {
  t.is(await both(t, '--memory', async (rt) => {
    const name = `oom-${rt.length}-${process.pid}`;
    const r = await docker(['run', '--name', name, '--network', 'none', '--runtime', dk(rt), '--memory', '16m', 'bb', '/bin/sh', '-c',
      // A moment first: the shim watches for OOM kills only once the runtime's start
      // returned, and a start of ours under load (Node's start-up) can take a second.
      'sleep 3; head -c 100000000 /dev/zero | tail -c 50000000 >/dev/null']);
    const i = await docker(['inspect', '-f', '{{.State.ExitCode}} {{.State.OOMKilled}}', name]);
    await docker(['rm', name]);
    return { ...r, stdout: i.stdout };
  }, (r) => r.stdout.trim()), '137 true');
  const forks = await both(t, '--pids-limit', (rt) => dockerRun(rt, ['--pids-limit', '10'], 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1 | grep -c "can.t fork"'),
    (r) => (Number(r.stdout.trim()) > 0 ? 'some forks refused' : `no fork refused: ${r.stdout} ${r.stderr}`));
  t.is(forks, 'some forks refused');
  t.is(await both(t, '--cpus', (rt) => dockerRun(rt, ['--cpus', '0.5'], 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us | tr "\\n" " "'),
    (r) => r.stdout.trim()), '50000 100000');
  t.deepEqual(lines(await both(t, '--read-only --tmpfs', (rt) => dockerRun(rt, ['--read-only', '--tmpfs', '/scratch'], 'touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs-ok'),
    (r) => r.stdout)), ['ro', 'tmpfs-ok']);
});

test.serial('docker: -d then exec, top, pause/unpause, stats with the container\'s own limit, stop; -it through a pty; --privileged (runc cannot here)', async (t) => {
  t.deepEqual(lines(await both(t, 'detached', (rt) => lifecycle(docker, ['run', '-d', '--network', 'none', '--runtime', dk(rt)]),
    (r) => r.stdout)), ['exec-ok', 'top-ok', 'paused-unpaused', '64MiB', 'stopped']);
  t.deepEqual(lines(await both(t, '-it', (rt) => runCommand('script', ['-qc', `${DOCKER} -H unix://${dockerSock} run --rm -it --network none --runtime ${dk(rt)} bb /bin/sh -c tty`, '/dev/null'],
    { timeoutMs: 60_000 }), (r) => r.stdout.replace(/[\r\0]/g, '').replace(/\^@/g, ''))), ['/dev/pts/0']);
  // runc fails Docker's --privileged on this host (its bounding set lacks CAP_SYS_RESOURCE);
  // nsbox-runtime gives the container every capability the host has.
  const runc = await dockerRun('runc', ['--privileged'], 'true');
  t.not(runc.code, 0);
  t.regex(runc.stderr, /apply caps|operation not permitted/);
  const ours = await dockerRun(NSBOX, ['--privileged'], 'grep CapEff /proc/self/status; head -c0 /dev/kvm && echo kvm-open');
  t.regex(ours.stdout, /CapEff:\s+0000003ffeffffff\s+kvm-open/, ours.stderr);
});

test.serial('podman: the seed model, --device, --privileged, --read-only (tmpcopyup tmpfs), exit 126 and 127, -d then exec, top, pause, stats, stop', async (t) => {
  const seed = 'mknod /dev/kvm c 10 232 && echo made; head -c1 /dev/kvm; grep "^Seccomp:" /proc/self/status';
  t.deepEqual(lines(await both(t, 'seed', (rt) => podmanRun(rt, [], seed), (r) => `${r.stdout}\n${r.stderr}`)), ['made', 'Seccomp:\t2', 'head: /dev/kvm: Operation not permitted']);
  t.is(await both(t, '--device', (rt) => podmanRun(rt, ['--device', '/dev/fuse'], 'head -c0 /dev/fuse && echo fuse-open'), (r) => r.stdout.trim()), 'fuse-open');
  t.is(await both(t, '--privileged', (rt) => podmanRun(rt, ['--privileged'], 'grep CapEff /proc/self/status'), (r) => r.stdout.trim()), `CapEff:\t${hostCapEff()}`);
  t.deepEqual(lines(await both(t, '--read-only', (rt) => podmanRun(rt, ['--read-only', '--tmpfs', '/scratch'], 'touch /x 2>/dev/null || echo ro; touch /scratch/y /tmp/z && echo tmpfs-ok'),
    (r) => r.stdout)), ['ro', 'tmpfs-ok']);
  t.is(await both(t, 'not executable', (rt) => podman(['--runtime', rt, 'run', '--rm', 'bb', '/etc/hostname']), (r) => String(r.code)), '126');
  t.is(await both(t, 'not found', (rt) => podman(['--runtime', rt, 'run', '--rm', 'bb', '/nonexistent']), (r) => String(r.code)), '127');
  t.deepEqual(lines(await both(t, 'detached', (rt) => lifecycle(podman, ['--runtime', rt, 'run', '-d']),
    (r) => r.stdout)), ['exec-ok', 'top-ok', 'paused-unpaused', '67.11MB', 'stopped']);
});

test.serial('buildah: a Containerfile whose RUN step makes /dev/kvm in a target directory without privileges (reading it EPERM), and the default buildah run', async (t) => {
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Containerfile'), 'FROM localhost/bb\nRUN mkdir -p /target/dev && mknod /target/dev/kvm c 10 232 && ls -l /target/dev/kvm && (head -c1 /target/dev/kvm || echo read-refused)\n');
  const built = await both(t, 'bud', (rt) => buildah(['bud', '--runtime', rt, '--isolation', 'oci', '-t', `built-${rt.length}`, ctx]),
    (r) => `${r.code} ${lines(r.stdout).filter((l) => /^(crw|read-refused)/.test(l)).map((l) => l.replace(/\w{3} +\d+ \d\d:\d\d/, 'DATE')).join(' | ')}`);
  t.regex(built, /^0 crw-r--r-- +1 0 +0 +10, 232 DATE \/target\/dev\/kvm \| read-refused$/);
  t.deepEqual(lines(await both(t, 'buildah run', async (rt) => {
    const c = (await buildah(['from', 'localhost/bb'])).stdout.trim().split('\n').pop() as string;
    const r = await buildah(['run', '--runtime', rt, c, '--', '/bin/sh', '-c', 'echo run-ok; grep -E "^(CapEff|Seccomp):" /proc/self/status']);
    await buildah(['rm', c]);
    return r;
  }, (r) => r.stdout)), ['run-ok', 'CapEff:\t00000000a80425fb', 'Seccomp:\t2']);
});

/** What a privileged container's CapEff is here: every capability the host's bounding set holds. */
function hostCapEff(): string {
  return hostInfo().capBounding.toString(16).padStart(16, '0');
}
