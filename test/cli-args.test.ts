// The command line's pure parts: update's flags and units, events' durations and runc's stats shape.
import test from 'ava';
import { eventLine, parseDuration, runcStats } from '../lib/cli/events';
import { limitsFromFlags, ramInBytes } from '../lib/cli/update';

test('update: sizes in runc\'s units, each flag to its field, kernel memory and RDT refused by name', (t) => {
  t.is(ramInBytes('--memory', '64m'), 64 << 20);
  t.is(ramInBytes('--memory', '1.5GiB'), 1.5 * 2 ** 30);
  t.is(ramInBytes('--memory', '512 KB'), 512 << 10);
  t.is(ramInBytes('--memory', '4096'), 4096);
  t.is(ramInBytes('--memory', '-1'), -1);
  for (const bad of ['', '64q', 'm', '-2', '1e9']) t.throws(() => ramInBytes('--memory', bad), { code: 'ERR_INVALID_ARG' }, bad);
  t.deepEqual(limitsFromFlags({ memory: '32m', 'memory-swap': '-1', 'memory-reservation': '16m', 'cpu-shares': '512', 'cpu-quota': '50000', 'cpu-period': '100000',
    'cpuset-cpus': '0', 'cpuset-mems': '0', 'pids-limit': '60', 'blkio-weight': '300' }), {
    memory: { limit: 32 << 20, swap: -1, reservation: 16 << 20 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 60 }, blockIO: { weight: 300 },
  });
  t.deepEqual(limitsFromFlags({ 'cpu-share': '256' }), { cpu: { shares: 256 } }, 'runc\'s own spelling');
  t.deepEqual(limitsFromFlags({}), {});
  t.throws(() => limitsFromFlags({ 'pids-limit': 'ten' }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => limitsFromFlags({ 'kernel-memory': '1m' }), { code: 'ERR_UNSUPPORTED', message: /deprecated/ });
  t.throws(() => limitsFromFlags({ 'l3-cache-schema': 'L3:0=f' }), { code: 'ERR_UNSUPPORTED' });
});

test('events: Go durations, and stats in runc\'s shape with its "no limit"', (t) => {
  t.is(parseDuration('5s'), 5000);
  t.is(parseDuration('250ms'), 250);
  t.is(parseDuration('1m30s'), 90_000);
  for (const bad of ['', '5', 'fast', '0s', '-1s']) t.throws(() => parseDuration(bad), { code: 'ERR_INVALID_ARG' }, bad);
  const data = runcStats({
    memory: { usage: 1000, limit: null, maxUsage: 2000, cache: 10, anon: 20, swap: 5, swapLimit: null, failcnt: 3, oomKills: 1 },
    cpu: { usage: 9, user: 6, system: 3, periods: 4, throttledPeriods: 2, throttledTime: 1 },
    pids: { current: 2, limit: 30 }, blockIO: [{ device: '8:0', readBytes: 4096, writeBytes: 0, reads: 1, writes: 0 }], hugetlb: { '2MB': { usage: 0, limit: 0 } },
  });
  const line = eventLine({ type: 'stats', id: 'x', data });
  t.regex(line, /"usage":\{"limit":18446744073709551615,"usage":1000,"max":2000,"failcnt":3\}/);
  t.true(line.endsWith('}\n'));
  const e = JSON.parse(line);
  t.like(e.data, {
    cpu: { usage: { total: 9, kernel: 3, user: 6 }, throttling: { periods: 4, throttledPeriods: 2, throttledTime: 1 } },
    memory: { cache: 10, swap: { usage: 1005 } }, pids: { current: 2, limit: 30 }, hugetlb: { '2MB': { usage: 0, max: 0, failcnt: 0 } },
  });
  t.deepEqual(e.data.blkio.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }]);
});
