// The model the library exists for, checked by the kernel inside real containers:
// the default profile may create any device node but use only the whitelist.
import test from 'ava';
import { existsSync } from 'node:fs';
import { BACKENDS, firstBlockDevice, sh } from './helpers';

const EPERM = 'Operation not permitted';

/** Runs each probe in one container; returns label -> 'ok' or the error text. */
async function probe(probes: Record<string, string>, spec: Parameters<typeof sh>[1]) {
  const script = ['p() { l=$1; shift; if o=$(sh -c "$*" 2>&1); then echo "$l=ok"; else echo "$l=$o"; fi; }',
    ...Object.entries(probes).map(([label, cmd]) => `p ${label} '${cmd}'`)].join('\n');
  const r = await sh(script, spec);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf('=');
    out[line.slice(0, i)] = line.slice(i + 1);
  }
  return { out, r };
}

const blk = firstBlockDevice();
const seedProbes = {
  mknodKvm: 'mknod /dev/kvm c 10 232',
  openKvm: 'exec 3</dev/kvm',
  mknodMem: 'mknod /dev/mem c 1 1',
  readMem: 'head -c 1 /dev/mem',
  mknodBlk: `mknod /dev/blk b ${blk.major} ${blk.minor}`,
  readBlk: 'head -c 1 /dev/blk',
  mknodLoop: 'mknod /dev/loop0 b 7 0',
  openLoop: 'exec 3</dev/loop0',
  mknodSerial: 'mknod /dev/ttyS0 c 4 64',
  openSerial: 'exec 3</dev/ttyS0',
  readNull: 'cat /dev/null',
  readZero: 'head -c 4 /dev/zero | wc -c | grep -qx 4',
  writeZero: 'echo x > /dev/zero',
  readUrandom: 'head -c 8 /dev/urandom | wc -c | grep -qx 8',
  writeNull: 'echo x > /dev/null',
  writeFull: 'echo x > /dev/full; test $? -ne 0',
};

for (const deviceBackend of BACKENDS) {
  test(`default profile (${deviceBackend}): mknod of any node succeeds, only the whitelist opens`, async (t) => {
    const { out, r } = await probe(seedProbes, { deviceBackend });
    t.is(r.exitCode, 0, r.stderr);
    t.is(out.mknodKvm, 'ok');
    t.regex(out.openKvm, new RegExp(EPERM));
    t.is(out.mknodMem, 'ok');
    t.regex(out.readMem, new RegExp(EPERM));
    t.is(out.mknodBlk, 'ok', `mknod b ${blk.major}:${blk.minor} (${blk.name})`);
    t.regex(out.readBlk, new RegExp(EPERM));
    t.is(out.mknodLoop, 'ok');
    t.regex(out.openLoop, new RegExp(EPERM));
    t.is(out.mknodSerial, 'ok');
    t.regex(out.openSerial, new RegExp(EPERM));
    for (const k of ['readNull', 'readZero', 'writeZero', 'readUrandom', 'writeNull', 'writeFull'] as const) {
      t.is(out[k], 'ok', k);
    }
  });

  test(`privileged (${deviceBackend}): the nodes it makes open; c 1:5 reads zeros`, async (t) => {
    const probes = {
      mknodZero: 'mknod /dev/z2 c 1 5',
      readZero: 'head -c 3 /dev/z2 | od -An -tx1 | grep -q "00 00 00"',
      mknodKvm: 'mknod /dev/kvm c 10 232',
      openKvm: 'exec 3</dev/kvm',
      mknodLoop: 'mknod /dev/loop0 b 7 0',
      openLoop: 'exec 3</dev/loop0',
      mknodSerial: 'mknod /dev/ttyS0 c 4 64',
      openSerial: 'exec 3</dev/ttyS0',
    };
    const { out } = await probe(probes, { profile: 'privileged', deviceBackend });
    for (const k of ['mknodZero', 'readZero', 'mknodKvm', 'mknodLoop', 'openLoop', 'mknodSerial', 'openSerial'] as const) {
      t.is(out[k], 'ok', k);
    }
    // Without KVM in this machine the open reaches the driver lookup (ENXIO/ENODEV), not the cgroup.
    if (existsSync('/dev/kvm')) t.is(out.openKvm, 'ok');
    else t.notRegex(out.openKvm, new RegExp(EPERM));
  });

  test(`default profile (${deviceBackend}): an extra rule opens exactly that device`, async (t) => {
    const { out } = await probe({
      loop0: 'mknod /dev/loop0 b 7 0 && exec 3</dev/loop0',
      loop1: 'mknod /dev/loop1 b 7 1 && exec 3</dev/loop1',
      mem: 'mknod /dev/mem c 1 1 && head -c 1 /dev/mem',
    }, { deviceBackend, devices: ['b 7:0 rw'] });
    t.is(out.loop0, 'ok');
    t.regex(out.loop1, new RegExp(EPERM));
    t.regex(out.mem, new RegExp(EPERM));
  });
}

test('a spec without CAP_MKNOD cannot create nodes even where the device cgroup allows it', async (t) => {
  const base = ['CAP_CHOWN', 'CAP_SETUID', 'CAP_SETGID'];
  const { out } = await probe({ mknodNull: 'mknod /dev/n2 c 1 3' },
    { capabilities: { bounding: base, effective: base, permitted: base } });
  t.regex(out.mknodNull, new RegExp(EPERM));
});
