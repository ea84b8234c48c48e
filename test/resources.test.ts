// The pure resource layer: every field's checks, the unit conversions, and the files
// written on cgroup2, v1 and a hybrid host. No root, no cgroups.
import test from 'ava';
import {
  blkioWeightToIoWeight, overlayResources, type ResourceHost, resolveResources, resourceControllers, resourceWrites, sharesToWeight, v1MemoryOrder,
} from '../lib/policy/resources';

const all = ['memory', 'cpu', 'cpuset', 'pids', 'io', 'hugetlb'];
const v2Host: ResourceHost = { v2: new Set(all), v1: new Set(), cpus: new Set([0, 1]), mems: new Set([0]), hugepageSizes: ['2MB', '1GB'] };
const v1Host: ResourceHost = { ...v2Host, v2: new Set(), v1: new Set(['memory', 'cpu', 'cpuset', 'pids', 'blkio', 'hugetlb']) };
// This project's test machine: hugetlb alone on cgroup2, the rest on v1.
const hybrid: ResourceHost = { ...v2Host, v2: new Set(['hugetlb']), v1: new Set(['memory', 'cpu', 'cpuset', 'pids', 'blkio']) };

const files = (w: { file: string; value: string }[]) => w.map((x) => `${x.file}=${x.value}`);

test('shares to weight: the three fixed points, monotonic over the whole range, inside 1..10000', (t) => {
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(1024), 100);
  t.is(sharesToWeight(262144), 10000);
  let last = 0;
  for (let s = 2; s <= 262144; s += 97) {
    const w = sharesToWeight(s);
    t.true(w >= last && w >= 1 && w <= 10000, `shares ${s} -> ${w}`);
    last = w;
  }
});

test('blkio weight to io weight: linear from 10..1000 onto 1..10000', (t) => {
  t.is(blkioWeightToIoWeight(10), 1);
  t.is(blkioWeightToIoWeight(1000), 10000);
  t.is(blkioWeightToIoWeight(500), 1 + Math.floor((490 * 9999) / 990));
});

test('memory on cgroup2: memory.max, memory.low, and swap as the swap alone', (t) => {
  const r = resolveResources({ memory: { limit: 32 << 20, reservation: 16 << 20, swap: 64 << 20 } });
  t.deepEqual(files(resourceWrites(r, v2Host).v2), [`memory.low=${16 << 20}`, `memory.swap.max=${32 << 20}`, `memory.max=${32 << 20}`]);
  t.deepEqual(files(resourceWrites(resolveResources({ memory: { limit: -1 } }), v2Host).v2), ['memory.swap.max=max', 'memory.max=max']);
  t.deepEqual(files(resourceWrites(resolveResources({ memory: { limit: 1 << 20, swap: -1 } }), v2Host).v2), ['memory.swap.max=max', `memory.max=${1 << 20}`]);
  t.throws(() => resourceWrites(resolveResources({ memory: { limit: 1 << 20, swappiness: 10 } }), v2Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /swappiness/ });
  t.throws(() => resourceWrites(resolveResources({ memory: { limit: 1 << 20, disableOOMKiller: true } }), v2Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /disableOOMKiller/ });
});

test('memory on v1: limit, memsw, soft limit, oom_control, swappiness; the order of limit and memsw follows the limits in force', (t) => {
  const r = resolveResources({ memory: { limit: 100, swap: 200, reservation: 50, disableOOMKiller: true, swappiness: 0 } });
  const w = resourceWrites(r, v1Host).v1;
  t.deepEqual(files(w), ['memory.limit_in_bytes=100', 'memory.memsw.limit_in_bytes=200', 'memory.soft_limit_in_bytes=50', 'memory.oom_control=1', 'memory.swappiness=0']);
  // Growing past the limit in force: memsw first; shrinking: the limit first.
  t.deepEqual(files(v1MemoryOrder(w, 150n)).slice(0, 2), ['memory.memsw.limit_in_bytes=200', 'memory.limit_in_bytes=100']);
  t.deepEqual(files(v1MemoryOrder(w, 300n)).slice(0, 2), ['memory.limit_in_bytes=100', 'memory.memsw.limit_in_bytes=200']);
  const unlimited = resourceWrites(resolveResources({ memory: { limit: -1 } }), v1Host).v1;
  t.deepEqual(files(v1MemoryOrder(unlimited, 100n)), ['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1']);
});

test('cpu: shares become weight on cgroup2 and stay shares on v1; quota and period; cpuset', (t) => {
  const r = resolveResources({ cpu: { shares: 1024, quota: 20000, period: 100000, cpus: '0', mems: '0' } });
  t.deepEqual(files(resourceWrites(r, v2Host).v2), ['cpu.weight=100', 'cpu.max=20000 100000', 'cpuset.cpus=0', 'cpuset.mems=0']);
  t.deepEqual(files(resourceWrites(r, v1Host).v1), ['cpu.shares=1024', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=20000', 'cpuset.cpus=0', 'cpuset.mems=0']);
  t.deepEqual(files(resourceWrites(resolveResources({ cpu: { quota: -1 } }), v2Host).v2), ['cpu.max=max 100000']);
  t.deepEqual(files(resourceWrites(resolveResources({ cpu: { period: 50000 } }), v2Host).v2), ['cpu.max=max 50000']);
  t.deepEqual(files(resourceWrites(resolveResources({ cpu: { weight: 500, idle: 1 } }), v2Host).v2), ['cpu.idle=1', 'cpu.weight=500']);
  t.throws(() => resourceWrites(resolveResources({ cpu: { weight: 500 } }), v1Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /cpu/ });
  t.throws(() => resourceWrites(resolveResources({ cpu: { idle: 1 } }), v1Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /cpu\.idle/ });
  t.throws(() => resourceWrites(resolveResources({ cpu: { realtimeRuntime: 1000 } }), v2Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /realtime/ });
  t.deepEqual(files(resourceWrites(resolveResources({ cpu: { realtimePeriod: 1000000, realtimeRuntime: 950000 } }), v1Host).v1),
    ['cpu.rt_period_us=1000000', 'cpu.rt_runtime_us=950000']);
});

test('cpuset: a CPU or memory node the host lacks is an error naming it', (t) => {
  t.throws(() => resourceWrites(resolveResources({ cpu: { cpus: '0-3' } }), v2Host), { code: 'ERR_INVALID_RESOURCES', message: /CPUs this host does not have: 2, 3/ });
  t.throws(() => resourceWrites(resolveResources({ cpu: { mems: '1' } }), v2Host), { code: 'ERR_INVALID_RESOURCES', message: /memory nodes.*: 1/ });
  for (const bad of ['a', '1-', '3-1', '0,,1', '-1', '0 1']) {
    t.throws(() => resolveResources({ cpu: { cpus: bad } }), { code: 'ERR_INVALID_RESOURCES' }, bad);
  }
  t.is(resolveResources({ cpu: { cpus: '' } }).cpu?.cpus, undefined, 'an empty list is unset, as Docker sends it');
});

test('pids: a limit, -1 for none, 0 unset', (t) => {
  t.deepEqual(files(resourceWrites(resolveResources({ pids: { limit: 30 } }), v2Host).v2), ['pids.max=30']);
  t.deepEqual(files(resourceWrites(resolveResources({ pids: { limit: -1 } }), v1Host).v1), ['pids.max=max']);
  t.deepEqual(resourceControllers(resolveResources({ pids: { limit: 0 } })), []);
});

test('block I/O: weights and throttles, converted for cgroup2', (t) => {
  const r = resolveResources({ blockIO: {
    weight: 1000, weightDevice: [{ major: 8, minor: 0, weight: 10 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
  } });
  t.deepEqual(files(resourceWrites(r, v2Host).v2), ['io.weight=default 10000', 'io.weight=8:0 1', 'io.max=8:0 rbps=1048576', 'io.max=8:0 wiops=100']);
  t.deepEqual(files(resourceWrites(r, v1Host).v1), ['blkio.weight=1000', 'blkio.weight_device=8:0 10',
    'blkio.throttle.read_bps_device=8:0 1048576', 'blkio.throttle.write_iops_device=8:0 100']);
  t.throws(() => resourceWrites(resolveResources({ blockIO: { leafWeight: 100 } }), v2Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /leafWeight/ });
});

test('huge pages: per size, which the host must have', (t) => {
  const r = resolveResources({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 21 }] });
  t.deepEqual(files(resourceWrites(r, v2Host).v2), [`hugetlb.2MB.max=${4 << 21}`]);
  t.deepEqual(files(resourceWrites(r, v1Host).v1), [`hugetlb.2MB.limit_in_bytes=${4 << 21}`]);
  t.throws(() => resourceWrites(resolveResources({ hugepageLimits: [{ pageSize: '16MB', limit: 0 }] }), v2Host), { message: /no 16MB huge pages/ });
});

test('a hybrid host: each controller where the host has it, hugetlb on cgroup2 and the rest on v1', (t) => {
  const r = resolveResources({ memory: { limit: 1 << 25 }, pids: { limit: 10 }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }] });
  const w = resourceWrites(r, hybrid);
  t.deepEqual(files(w.v2), ['hugetlb.2MB.max=0']);
  t.deepEqual(files(w.v1), [`memory.limit_in_bytes=${1 << 25}`, 'pids.max=10']);
  t.deepEqual(w.v1.map((x) => x.controller), ['memory', 'pids']);
});

test('a controller the host has on no hierarchy is an error naming it, not a silent skip', (t) => {
  const none: ResourceHost = { ...v2Host, v2: new Set(), v1: new Set() };
  for (const [spec, name] of [[{ memory: { limit: 100 } }, 'memory'], [{ cpu: { shares: 2 } }, 'cpu'], [{ cpu: { cpus: '0' } }, 'cpuset'],
    [{ pids: { limit: 1 } }, 'pids'], [{ blockIO: { weight: 10 } }, 'io'], [{ unified: { 'memory.high': '1M' } }, 'memory']] as const) {
    t.throws(() => resourceWrites(resolveResources(spec), none), { code: 'ERR_CGROUP_UNAVAILABLE', message: new RegExp(`the ${name} controller`) }, JSON.stringify(spec));
  }
});

test('unified: files of a controller on cgroup2, never a path or cgroup.*; refused where the controller is on v1', (t) => {
  t.deepEqual(files(resourceWrites(resolveResources({ unified: { 'memory.high': '64M', 'pids.max': '5' } }), v2Host).v2), ['memory.high=64M', 'pids.max=5']);
  for (const key of ['../memory.max', 'memory/max', 'cgroup.procs', 'cgroup.subtree_control', 'max', 'Memory.max', '']) {
    t.throws(() => resolveResources({ unified: { [key]: '1' } }), { code: 'ERR_INVALID_RESOURCES' }, key);
  }
  t.throws(() => resolveResources({ unified: { 'memory.max': 5 } }), { code: 'ERR_INVALID_RESOURCES' });
  t.throws(() => resourceWrites(resolveResources({ unified: { 'memory.high': '1M' } }), v1Host), { code: 'ERR_CGROUP_UNAVAILABLE', message: /unified/ });
});

test('every bad value is a coded error before anything is created', (t) => {
  const bad: [unknown, string | RegExp][] = [
    [{ memory: { limit: -2 } }, /memory.limit/], [{ memory: { limit: 1.5 } }, /memory.limit/], [{ memory: { limit: '1G' } }, /memory.limit/],
    [{ memory: { swap: 100 } }, /needs a memory.limit/], [{ memory: { limit: 200, swap: 100 } }, /needs a memory.limit no larger/],
    [{ memory: { swappiness: 101 } }, /swappiness/], [{ memory: { disableOOMKiller: 'yes' } }, /disableOOMKiller/],
    [{ memory: { useHierarchy: false } }, /useHierarchy/], [{ memory: { nope: 1 } }, /unknown field "nope"/],
    [{ cpu: { shares: 1 } }, /cpu.shares/], [{ cpu: { shares: 262145 } }, /cpu.shares/], [{ cpu: { weight: 0 } }, /cpu.weight/],
    [{ cpu: { shares: 100, weight: 100 } }, /one setting in two units/], [{ cpu: { quota: 999 } }, /cpu.quota/],
    [{ cpu: { period: 999 } }, /cpu.period/], [{ cpu: { period: 1000001 } }, /cpu.period/], [{ cpu: { idle: 2 } }, /cpu.idle/],
    [{ cpu: { burst: 10 } }, /burst needs a cpu.quota/],
    [{ pids: { limit: -2 } }, /pids.limit/], [{ pids: { limit: 'x' } }, /pids.limit/],
    [{ blockIO: { weight: 5 } }, /blockIO.weight/], [{ blockIO: { weight: 1001 } }, /blockIO.weight/],
    [{ blockIO: { weightDevice: [{ major: 8, weight: 100 }] } }, /minor is missing/],
    [{ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0 }] } }, /rate is missing/],
    [{ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: -1 }] } }, /rate/],
    [{ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, /pageSize/], [{ hugepageLimits: [{ pageSize: '2MB' }] }, /limit is missing/],
    [{ devices: [] }, /unknown field "devices"/], [[], /must be an object/], ['x', /must be an object/],
  ];
  for (const [spec, message] of bad) {
    t.throws(() => resolveResources(spec), { code: 'ERR_INVALID_RESOURCES', message }, JSON.stringify(spec));
  }
  t.throws(() => resolveResources({ memory: { kernel: 1 << 20 } }), { code: 'ERR_UNSUPPORTED', message: /kernel memory limits are deprecated/ });
  t.throws(() => resolveResources({ memory: { kernelTCP: 1 << 20 } }), { code: 'ERR_UNSUPPORTED', message: /kernelTCP/ });
  t.deepEqual(resourceControllers(resolveResources({ memory: { kernel: 0 } })), [], 'kernel: 0 is unset, as some clients send it');
});

test('what is unset needs no controller: zero values and empty objects', (t) => {
  t.deepEqual(resourceControllers(resolveResources({})), []);
  t.deepEqual(resourceControllers(resolveResources(undefined)), []);
  t.deepEqual(resourceControllers(resolveResources({ cpu: { shares: 0, quota: 0, period: 0, cpus: '', mems: '' }, blockIO: {}, memory: {}, pids: {} })), []);
});

test('huge page sizes are named as the cgroup files name them', async (t) => {
  const { hugepageSizeName } = await import('../lib/cgroup');
  t.is(hugepageSizeName(2048), '2MB');
  t.is(hugepageSizeName(1048576), '1GB');
  t.is(hugepageSizeName(64), '64KB');
  t.is(hugepageSizeName(32768), '32MB');
});

test('a live change overlays the limits in force field by field, and names only the controllers it touches', (t) => {
  const base = resolveResources({ memory: { limit: 64 << 20, swap: 128 << 20 }, cpu: { shares: 512, quota: 20000, period: 50000 }, pids: { limit: 20 },
    blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }] });
  const compact = (r: unknown) => JSON.parse(JSON.stringify(r));
  let { merged, changed } = overlayResources(base, { memory: { limit: 96 << 20 } });
  t.deepEqual(compact(merged.memory), { limit: 96 << 20, swap: 128 << 20 });
  t.deepEqual(resourceControllers(changed), ['memory']);
  t.deepEqual(files(resourceWrites(merged, v2Host).v2.filter((w) => w.controller === 'memory')), ['memory.swap.max=33554432', 'memory.max=100663296'],
    'the swap alone is recomputed against the new limit');
  ({ merged, changed } = overlayResources(base, { cpu: { quota: 40000 } }));
  t.deepEqual(compact(merged.cpu), { shares: 512, quota: 40000, period: 50000 }, 'the period and shares in force stay');
  t.deepEqual(resourceControllers(changed), ['cpu']);
  t.deepEqual(compact(overlayResources(base, { cpu: { weight: 50 } }).merged.cpu), { weight: 50, quota: 20000, period: 50000 }, 'weight replaces shares');
  t.deepEqual(compact(overlayResources(base, { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 5 }, { major: 8, minor: 16, rate: 7 }] } }).merged.blockIO),
    { weight: 300, weightDevice: [], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 5 }, { major: 8, minor: 16, rate: 7 }], throttleWriteBpsDevice: [],
      throttleReadIOPSDevice: [], throttleWriteIOPSDevice: [] }, 'per-device entries by device');
  t.deepEqual(overlayResources(base, { hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] }).merged.hugepageLimits, [{ pageSize: '2MB', limit: 4 << 20 }]);
  t.deepEqual(overlayResources(base, {}).changed, {});
  t.deepEqual(resourceControllers(overlayResources(base, {}).changed), []);
  // The change is checked alone and with what is in force.
  t.throws(() => overlayResources(base, { memory: { limit: 256 << 20 } }), { code: 'ERR_INVALID_RESOURCES', message: /memory plus swap/ });
  t.throws(() => overlayResources(base, { pids: { limit: -4 } }), { code: 'ERR_INVALID_RESOURCES' });
  t.throws(() => overlayResources(base, { extra: 1 }), { code: 'ERR_INVALID_RESOURCES' });
});
