// The seed scenario as a matrix: every profile against every operation, on both
// device backends, one test per cell; the kernel's verdict from inside the container
// decides, and explain() must say the same.
import test from 'ava';
import { explain, profiles, type ProfileName } from '../lib';
import { BACKENDS, deviceFixture, fixtureMount, removeRootfs, sh } from './helpers';

const EPERM = 'Operation not permitted';
let nodes = '';
test.before(async () => {
  nodes = await deviceFixture();
});
test.after.always(() => removeRootfs(nodes));

/** An operation: a shell snippet and the device accesses it asks the kernel for. */
interface Op {
  name: string;
  steps: { shell: string; device: string; access: string }[];
}

const ops: Op[] = [
  { name: 'mknod c 10:232', steps: [{ shell: 'mknod /tmp/kvm c 10 232', device: 'c 10:232', access: 'm' }] },
  { name: 'read c 10:232', steps: [{ shell: 'exec 3</tmp/n/kvm', device: 'c 10:232', access: 'r' }] },
  { name: 'mknod b 7:0 and read it', steps: [
    { shell: 'mknod /tmp/loop0 b 7 0', device: 'b 7:0', access: 'm' },
    { shell: 'exec 3</tmp/n/loop0', device: 'b 7:0', access: 'r' }] },
  { name: 'read /dev/null', steps: [{ shell: 'cat /dev/null', device: 'c 1:3', access: 'r' }] },
  { name: 'write /dev/zero', steps: [{ shell: 'echo x > /dev/zero', device: 'c 1:5', access: 'w' }] },
  { name: 'mknod c 1:1 and read it', steps: [
    { shell: 'mknod /tmp/mem c 1 1', device: 'c 1:1', access: 'm' },
    { shell: 'head -c 1 /tmp/n/mem', device: 'c 1:1', access: 'r' }] },
];

/** What the kernel does, per profile and op: true = allowed (no EPERM). */
const expected: Record<ProfileName, boolean[][]> = {
  default: [[true], [false], [true, false], [true], [true], [true, false]],
  privileged: [[true], [true], [true, true], [true], [true], [true, true]],
  systemd: [[false], [false], [false, false], [true], [true], [false, false]],
  nspawn: [[false], [false], [false, false], [true], [true], [false, false]],
  strict: [[false], [false], [false, false], [true], [true], [false, false]],
};

for (const deviceBackend of BACKENDS) {
  for (const profile of Object.keys(expected) as ProfileName[]) {
    ops.forEach((op, i) => {
      test(`${profile} × ${op.name} (${deviceBackend})`, async (t) => {
        const script = op.steps.map((s) => `if o=$( (${s.shell}) 2>&1); then echo ok; else echo "$o" | tail -n 1; fi`).join('\n');
        const r = await sh(script, { profile, deviceBackend, mounts: [fixtureMount(nodes)] });
        const lines = r.stdout.trim().split('\n');
        op.steps.forEach((step, j) => {
          // The kernel's verdict: EPERM is the device policy (or CAP_MKNOD) refusing;
          // any other outcome (success, ENXIO from a driver this machine lacks) got past it.
          const kernelAllowed = !lines[j]?.includes(EPERM);
          t.is(kernelAllowed, expected[profile][i][j], `${step.shell}: ${lines[j]}`);
          t.is(explain(profiles[profile], { device: step.device, access: step.access }).allowed, kernelAllowed,
            `explain agrees on ${step.device} ${step.access}`);
        });
      });
    });
  }
}
