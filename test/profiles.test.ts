// Profiles in real containers: what each one sets up, checked from inside.
import test from 'ava';
import { defineProfile, fromOciConfig, profiles, toOciConfig } from '../lib';
import { toMask } from '../lib/policy/capabilities';
import { hostInfo } from '../lib/host';
import { sh } from './helpers';

function capBnd(status: string): bigint {
  return BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(status)![1]}`);
}

test('systemd: container=nsbox, tmpfs on /run, /run/lock and /tmp, no CAP_MKNOD', async (t) => {
  const r = await sh('echo "$container"; grep -E " /(run|run/lock|tmp) " /proc/self/mountinfo | sed "s/.* \\(\\/[a-z/]*\\) .* - \\([a-z]*\\) .*/\\1 \\2/" | sort -u; cat /proc/self/status',
    { profile: 'systemd' });
  const lines = r.stdout.split('\n');
  t.is(lines[0], 'nsbox');
  t.deepEqual(lines.slice(1, 4), ['/run tmpfs', '/run/lock tmpfs', '/tmp tmpfs']);
  t.is(capBnd(r.stdout) & (1n << 27n), 0n, 'CAP_MKNOD dropped');
});

test('nspawn: systemd-nspawn\'s capabilities, as far as this process holds them', async (t) => {
  const r = await sh('cat /proc/self/status', { profile: 'nspawn' });
  t.is(capBnd(r.stdout), toMask(profiles.nspawn.capabilities.bounding) & hostInfo().capBounding);
});

test('strict: no capabilities at all, and no_new_privs', async (t) => {
  const r = await sh('cat /proc/self/status', { profile: 'strict' });
  t.is(capBnd(r.stdout), 0n);
  t.regex(r.stdout, /NoNewPrivs:\s*1/);
});

test('a profile\'s nodes exist at start and are usable: linux.devices comes with its rwm rule', async (t) => {
  const p = defineProfile({ extends: 'strict', nodes: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o620, gid: 5 }] });
  const r = await sh('stat -c "%F %t:%T %a %g" /dev/fuse; (exec 3<>/dev/fuse) && echo opened', { profile: p });
  t.is(r.stdout, 'character special file a:e5 620 5\nopened\n');
});

test('a profile converted to OCI and back behaves the same in a container', async (t) => {
  const back = fromOciConfig(toOciConfig(profiles.strict), 'strict-oci');
  const r = await sh('mknod /tmp/k c 10 232 2>&1; cat /proc/self/status', { profile: back });
  t.regex(r.stdout, /Operation not permitted/);
  t.is(capBnd(r.stdout), 0n);
});
