// Container figures from the kernel's own formats (texts as cgroup2 and v1 write them).
import test from 'ava';
import { type CgroupReader, keyValues, limitValue, readStats } from '../lib/cgroup-stats';

const reader = (files: Record<string, string>): CgroupReader => (controller, file) => files[`${controller}/${file}`] ?? null;

test('cgroup2: memory, cpu, pids, io and huge pages', (t) => {
  const read = reader({
    'memory/memory.current': '1048576\n', 'memory/memory.max': '33554432\n', 'memory/memory.peak': '2097152\n',
    'memory/memory.stat': 'anon 524288\nfile 262144\nkernel 4096\n', 'memory/memory.swap.current': '0\n',
    'memory/memory.swap.max': '0\n', 'memory/memory.events': 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n',
    'cpu/cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 800\n',
    'pids/pids.current': '3\n', 'pids/pids.max': 'max\n',
    'io/io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    'hugetlb/hugetlb.2MB.current': '0\n', 'hugetlb/hugetlb.2MB.max': '4194304\n',
  });
  const s = readStats(read, { memory: 'v2', cpu: 'v2', pids: 'v2', io: 'v2', hugetlb: 'v2' }, ['2MB', '1GB']);
  t.deepEqual(s.memory, { usage: 1048576, limit: 33554432, maxUsage: 2097152, cache: 262144, anon: 524288, swap: 0, swapLimit: 0, failcnt: 12, oomKills: 1 });
  t.deepEqual(s.cpu, { usage: 2_000_000, user: 1_500_000, system: 500_000, periods: 10, throttledPeriods: 4, throttledTime: 800_000 });
  t.deepEqual(s.pids, { current: 3, limit: null });
  t.deepEqual(s.blockIO, [{ device: '8:0', readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }]);
  t.deepEqual(s.hugetlb, { '2MB': { usage: 0, limit: 4194304 } });
});

test('v1: memory with its oom_control counter, cpuacct and cpu, pids, blkio, hugetlb', (t) => {
  const read = reader({
    'memory/memory.usage_in_bytes': '1048576\n', 'memory/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/memory.max_usage_in_bytes': '3145728\n', 'memory/memory.failcnt': '5\n',
    'memory/memory.memsw.limit_in_bytes': '9223372036854771712\n', 'memory/memory.stat': 'cache 100\nrss 200\ntotal_cache 1000\ntotal_rss 2000\n',
    'memory/memory.memsw.usage_in_bytes': '1052672\n', 'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    'cpuacct/cpuacct.usage': '123456789\n', 'cpuacct/cpuacct.stat': 'user 30\nsystem 10\n',
    'cpu/cpu.stat': 'nr_periods 5\nnr_throttled 1\nthrottled_time 777\nnr_bursts 0\nburst_time 0\n',
    'pids/pids.current': '7\n', 'pids/pids.max': '30\n',
    'io/blkio.throttle.io_service_bytes': '8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:0 Async 0\n8:0 Total 4096\nTotal 4096\n',
    'io/blkio.throttle.io_serviced': '8:0 Read 1\n8:0 Write 0\nTotal 1\n',
    'hugetlb/hugetlb.2MB.usage_in_bytes': '0\n', 'hugetlb/hugetlb.2MB.limit_in_bytes': '9223372036854771712\n',
  });
  const s = readStats(read, { memory: 'v1', cpu: 'v1', cpuacct: 'v1', pids: 'v1', io: 'v1', hugetlb: 'v1' }, ['2MB']);
  t.deepEqual(s.memory, { usage: 1048576, limit: null, maxUsage: 3145728, cache: 1000, anon: 2000, swap: 4096, swapLimit: null, failcnt: 5, oomKills: 2 });
  t.deepEqual(s.cpu, { usage: 123456789, user: 300_000_000, system: 100_000_000, periods: 5, throttledPeriods: 1, throttledTime: 777 });
  t.deepEqual(s.pids, { current: 7, limit: 30 });
  t.deepEqual(s.blockIO, [{ device: '8:0', readBytes: 4096, writeBytes: 0, reads: 1, writes: 0 }]);
  t.deepEqual(s.hugetlb, { '2MB': { usage: 0, limit: null } });
});

test('a controller the container is in nowhere is null, not zero', (t) => {
  const s = readStats(reader({}), {}, ['2MB']);
  t.deepEqual(s, { memory: null, cpu: null, pids: null, blockIO: null, hugetlb: null });
  t.deepEqual(readStats(reader({}), { memory: 'v2', io: 'v1' }, []).memory, null, 'a missing file is no figure');
});

test('the parsers: key/value lines and limits', (t) => {
  t.deepEqual([...keyValues('a 1\nb -2\n c 3 \nbad\nd x\n')], [['a', 1], ['b', -2], ['c', 3]]);
  t.is(limitValue('max\n'), null);
  t.is(limitValue('9223372036854771712'), null);
  t.is(limitValue('4096\n'), 4096);
  t.is(limitValue(null), null);
});
