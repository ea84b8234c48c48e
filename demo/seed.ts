// The main job: the model this library exists for, on the host's own read-only
// filesystem. A default container may create any device node but use only the
// whitelist; the kernel's verdict for each operation is printed, once per device
// cgroup backend this host offers, and for a privileged container to compare.
import { explain, profiles, run } from '../lib';
import { hostInfo } from '../lib/host';

interface Op {
  label: string;
  shell: string;
  device?: { type: 'b' | 'c'; major: number; minor: number; access: string };
}

const ops: Op[] = [
  { label: 'mknod /dev/kvm c 10 232', shell: 'mknod /dev/kvm c 10 232', device: { type: 'c', major: 10, minor: 232, access: 'm' } },
  { label: 'open /dev/kvm', shell: 'exec 3</dev/kvm', device: { type: 'c', major: 10, minor: 232, access: 'r' } },
  { label: 'mknod /dev/mem c 1 1', shell: 'mknod /dev/mem c 1 1', device: { type: 'c', major: 1, minor: 1, access: 'm' } },
  { label: 'read /dev/mem', shell: 'head -c 1 /dev/mem', device: { type: 'c', major: 1, minor: 1, access: 'r' } },
  { label: 'mknod /dev/loop0 b 7 0', shell: 'mknod /dev/loop0 b 7 0', device: { type: 'b', major: 7, minor: 0, access: 'm' } },
  { label: 'open /dev/loop0', shell: 'exec 3</dev/loop0', device: { type: 'b', major: 7, minor: 0, access: 'r' } },
  { label: 'read /dev/zero', shell: 'head -c 8 /dev/zero >/dev/null', device: { type: 'c', major: 1, minor: 5, access: 'r' } },
  { label: 'write /dev/null', shell: 'echo hi > /dev/null', device: { type: 'c', major: 1, minor: 3, access: 'w' } },
  { label: 'read /dev/urandom', shell: 'head -c 8 /dev/urandom >/dev/null', device: { type: 'c', major: 1, minor: 9, access: 'r' } },
  { label: 'write /etc/hostname', shell: 'echo x > /etc/hostname' },
];

function script(): string {
  return ['p() { if o=$(sh -c "$1" 2>&1); then echo ok; else echo "$o" | tail -n 1; fi; }',
    ...ops.map((o) => `p '${o.shell}'`)].join('\n');
}

/** The library's own account of the verdict (explain()), next to the kernel's. */
function why(op: Op, profile: 'default' | 'privileged'): string {
  if (!op.device) return '';
  const { type, major, minor, access } = op.device;
  return explain(profiles[profile], { device: `${type} ${major}:${minor}`, access }).reason;
}

async function show(profile: 'default' | 'privileged', deviceBackend: 'v1' | 'v2') {
  const r = await run({ command: ['/bin/sh', '-c', script()], profile, deviceBackend });
  const lines = r.stdout.trim().split('\n');
  const backendName = deviceBackend === 'v2' ? 'cgroup2 BPF program' : 'cgroup v1 devices controller';
  console.log(`\n${profile} profile, device rules enforced by the ${backendName}:`);
  ops.forEach((op, i) => {
    const error = lines[i]?.replace(/^.*: /, '') ?? 'no answer';
    // EPERM and EROFS are policy; anything else (a driver this machine lacks) is not.
    const denied = /Operation not permitted|Read-only file system/.test(error);
    const verdict = lines[i] === 'ok' ? 'allowed' : `${denied ? 'DENIED' : 'failed'}  ${error}`;
    console.log(`  ${op.label.padEnd(25)} ${verdict.padEnd(36)} ${why(op, profile)}`);
  });
}

async function main() {
  const host = hostInfo();
  console.log(`nsbox: containers on this host's read-only filesystem (cgroup layout: ${host.layout})`);
  const backends = [host.cgroup2 && 'v2', host.devicesV1 && 'v1'].filter(Boolean) as ('v1' | 'v2')[];
  for (const b of backends) await show('default', b);
  await show('privileged', backends[0]);
  console.log('\nThe default profile holds CAP_MKNOD and may create any node (c *:* m, b *:* m);');
  console.log('the device cgroup lets it open only null, zero, full, random, urandom, tty, console, ptmx, pts and tun.');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
