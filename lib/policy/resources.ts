// Resource limits: the spec's `resources` (shaped like OCI linux.resources, field for
// field), checked, and turned into the files each cgroup controller takes, on cgroup2
// and on v1. Pure: which controllers the host has, its CPUs and its huge page sizes
// come in as arguments; the cgroup module writes the result.
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys, own } from './fields';

/** OCI linux.resources, minus devices (the device rules have their own field). */
export interface ResourcesSpec {
  memory?: {
    /** Bytes; -1 for no limit. */
    limit?: number;
    /** Bytes: the soft limit (v1 soft_limit_in_bytes, cgroup2 memory.low). */
    reservation?: number;
    /** Memory plus swap, in bytes, as OCI and v1 count it; -1 for no limit. */
    swap?: number;
    /** 0..100, v1 only. */
    swappiness?: number;
    /** v1 only: the cgroup2 controller has no switch for it. */
    disableOOMKiller?: boolean;
    /** Deprecated in the kernel (5.4, removed in 6.x); 0 is accepted as unset. */
    kernel?: number;
    kernelTCP?: number;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  cpu?: {
    /** v1 cpu.shares, 2..262144; converted to cpu.weight on cgroup2. */
    shares?: number;
    /** cgroup2 cpu.weight, 1..10000. */
    weight?: number;
    /** Microseconds per period; -1 for no limit. */
    quota?: number;
    period?: number;
    burst?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    /** A cpuset list: "0-3,6". */
    cpus?: string;
    mems?: string;
    /** cgroup2 only: 1 makes the group SCHED_IDLE. */
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
    throttleReadBpsDevice?: ThrottleDevice[];
    throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[];
    throttleWriteIOPSDevice?: ThrottleDevice[];
  };
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** Raw cgroup2 files and values ("memory.high": "64M"); the kernel must offer each. */
  unified?: Record<string, string>;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  /** Bytes or operations per second. */
  rate: number;
}

/** The controllers limits need, by their cgroup2 names (v1 calls io "blkio"). */
export type Controller = 'memory' | 'cpu' | 'cpuset' | 'pids' | 'io' | 'hugetlb';
export const V1_NAME: Readonly<Record<Controller, string>> = Object.freeze({
  memory: 'memory', cpu: 'cpu', cpuset: 'cpuset', pids: 'pids', io: 'blkio', hugetlb: 'hugetlb',
});

/** One write of one file, in order; `controller` says which hierarchy's directory. */
export interface CgroupWrite {
  controller: Controller;
  file: string;
  value: string;
}

/** What the host offers (the cgroup module reads it): where each controller is, CPUs, memory nodes, huge page sizes. */
export interface ResourceHost {
  /** Controllers enabled for the library's directories on the cgroup2 hierarchy. */
  v2: ReadonlySet<string>;
  /** v1 hierarchies mounted, by v1 name (memory, cpu, cpuset, pids, blkio, hugetlb). */
  v1: ReadonlySet<string>;
  cpus: ReadonlySet<number>;
  mems: ReadonlySet<number>;
  /** Huge page sizes as the cgroup files name them: "2MB", "1GB". */
  hugepageSizes: readonly string[];
}

function bad(message: string): never {
  throw new ContainerError('ERR_INVALID_RESOURCES', `resources.${message}`);
}

const INT64_MAX = 2 ** 63 - 1;

/** An integer in [min, max], or `unlimited` (-1 where the field has one), or undefined. */
function int(v: unknown, what: string, min: number, max: number, unlimited = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || ((v < min || v > max) && !(unlimited && v === -1))) {
    bad(`${what} must be an integer ${min}..${max === INT64_MAX ? 'max' : max}${unlimited ? ' or -1 (no limit)' : ''}, got ${quote(v)}`);
  }
  return v;
}

function object(v: unknown, what: string, keys: readonly string[]): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be an object, got ${quote(v)}`);
  onlyKnownKeys(v, keys, `resources.${what}`, 'ERR_INVALID_RESOURCES');
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 1024) bad(`${what} must be an array, got ${quote(v)}`);
  return v;
}

/** A cpuset list ("0-3,6"), as the set of numbers it names. */
export function parseCpuList(v: unknown, what: string): Set<number> {
  if (typeof v !== 'string' || !/^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$/.test(v)) {
    bad(`${what} must be a list such as "0-3,6", got ${quote(v)}`);
  }
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    if (b < a) bad(`${what}: ${quote(part)} is a range that runs backwards`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

// The controller's name, then the file's (huge page sizes are upper case: hugetlb.2MB.max).
const CGROUP_FILE = /^[a-z0-9_]+\.[A-Za-z0-9_.]+$/;

/** The limits, checked in full (values, ranges, combinations); what the host offers is checked by `resourceWrites`. */
export function resolveResources(value: unknown): ResourcesSpec {
  const r = object(value, '', ['memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'unified']) ?? {};
  const out: ResourcesSpec = {};
  const m = object(own(r, 'memory'), 'memory', ['limit', 'reservation', 'swap', 'swappiness', 'disableOOMKiller', 'kernel', 'kernelTCP', 'useHierarchy', 'checkBeforeUpdate']);
  if (m) {
    for (const k of ['kernel', 'kernelTCP'] as const) {
      if (own(m, k) !== undefined && own(m, k) !== 0) {
        throw new ContainerError('ERR_UNSUPPORTED', `resources.memory.${k}: kernel memory limits are deprecated in the kernel (and gone from cgroup2); limit memory instead`);
      }
    }
    if (own(m, 'useHierarchy') === false) bad('memory.useHierarchy false: the kernel always uses the hierarchy now');
    const limit = int(own(m, 'limit'), 'memory.limit', 1, INT64_MAX, true);
    const swap = int(own(m, 'swap'), 'memory.swap', 1, INT64_MAX, true);
    // OCI's swap is memory plus swap, so it is never below the memory limit; and without
    // a memory limit there is nothing to subtract on cgroup2 (runc refuses it too).
    if (swap !== undefined && swap !== -1 && (limit === undefined || (limit !== -1 && swap < limit))) {
      bad(`memory.swap (${swap}) is memory plus swap: it needs a memory.limit no larger than it`);
    }
    const swappiness = int(own(m, 'swappiness'), 'memory.swappiness', 0, 100, true);
    const disable = own(m, 'disableOOMKiller');
    if (disable !== undefined && typeof disable !== 'boolean') bad(`memory.disableOOMKiller must be a boolean, got ${quote(disable)}`);
    out.memory = {
      limit, reservation: int(own(m, 'reservation'), 'memory.reservation', 0, INT64_MAX, true), swap,
      swappiness: swappiness === -1 ? undefined : swappiness, disableOOMKiller: disable === true ? true : undefined,
    };
  }
  const c = object(own(r, 'cpu'), 'cpu', ['shares', 'weight', 'quota', 'period', 'burst', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems', 'idle']);
  if (c) {
    // 0 is OCI's (and runc's) "unset" for shares and quota.
    const shares = int(own(c, 'shares') === 0 ? undefined : own(c, 'shares'), 'cpu.shares', 2, 262144);
    const weight = int(own(c, 'weight'), 'cpu.weight', 1, 10000);
    if (shares !== undefined && weight !== undefined) bad('cpu.shares and cpu.weight are one setting in two units: give one');
    const quota = int(own(c, 'quota') === 0 ? undefined : own(c, 'quota'), 'cpu.quota', 1000, INT64_MAX, true);
    out.cpu = {
      shares, weight, quota,
      period: int(own(c, 'period') === 0 ? undefined : own(c, 'period'), 'cpu.period', 1000, 1000000),
      burst: int(own(c, 'burst'), 'cpu.burst', 0, INT64_MAX),
      realtimeRuntime: int(own(c, 'realtimeRuntime') === 0 ? undefined : own(c, 'realtimeRuntime'), 'cpu.realtimeRuntime', 1, INT64_MAX, true),
      realtimePeriod: int(own(c, 'realtimePeriod') === 0 ? undefined : own(c, 'realtimePeriod'), 'cpu.realtimePeriod', 1, INT64_MAX),
      cpus: own(c, 'cpus') === undefined || own(c, 'cpus') === '' ? undefined : (parseCpuList(own(c, 'cpus'), 'cpu.cpus'), own(c, 'cpus') as string),
      mems: own(c, 'mems') === undefined || own(c, 'mems') === '' ? undefined : (parseCpuList(own(c, 'mems'), 'cpu.mems'), own(c, 'mems') as string),
      idle: int(own(c, 'idle'), 'cpu.idle', 0, 1),
    };
    if (out.cpu.burst !== undefined && out.cpu.quota === undefined) bad('cpu.burst needs a cpu.quota to burst above');
  }
  const p = object(own(r, 'pids'), 'pids', ['limit']);
  if (p) {
    // 0 is unset, as in runc 1.1 and the OCI schema of its time; -1 is no limit.
    const limit = int(own(p, 'limit') === 0 ? undefined : own(p, 'limit'), 'pids.limit', 1, 4194304, true);
    if (limit !== undefined) out.pids = { limit };
  }
  const b = object(own(r, 'blockIO'), 'blockIO', ['weight', 'leafWeight', 'weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice',
    'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']);
  if (b) {
    const weight = (v: unknown, what: string) => int(v === 0 ? undefined : v, what, 10, 1000);
    const dev = (d: unknown, what: string, keys: string[]) => {
      const o = object(d, what, ['major', 'minor', ...keys]) ?? bad(`${what} must be an object`);
      return { major: int(own(o, 'major'), `${what}.major`, 0, 4095) ?? bad(`${what}.major is missing`),
        minor: int(own(o, 'minor'), `${what}.minor`, 0, 1048575) ?? bad(`${what}.minor is missing`), o };
    };
    const throttle = (k: 'throttleReadBpsDevice' | 'throttleWriteBpsDevice' | 'throttleReadIOPSDevice' | 'throttleWriteIOPSDevice') =>
      list(own(b, k), `blockIO.${k}`).map((d, i) => {
        const { major, minor, o } = dev(d, `blockIO.${k}[${i}]`, ['rate']);
        return { major, minor, rate: int(own(o, 'rate'), `blockIO.${k}[${i}].rate`, 0, INT64_MAX) ?? bad(`blockIO.${k}[${i}].rate is missing`) };
      });
    out.blockIO = {
      weight: weight(own(b, 'weight'), 'blockIO.weight'),
      leafWeight: weight(own(b, 'leafWeight'), 'blockIO.leafWeight'),
      weightDevice: list(own(b, 'weightDevice'), 'blockIO.weightDevice').map((d, i) => {
        const { major, minor, o } = dev(d, `blockIO.weightDevice[${i}]`, ['weight', 'leafWeight']);
        return { major, minor, weight: weight(own(o, 'weight'), `blockIO.weightDevice[${i}].weight`),
          leafWeight: weight(own(o, 'leafWeight'), `blockIO.weightDevice[${i}].leafWeight`) };
      }),
      throttleReadBpsDevice: throttle('throttleReadBpsDevice'), throttleWriteBpsDevice: throttle('throttleWriteBpsDevice'),
      throttleReadIOPSDevice: throttle('throttleReadIOPSDevice'), throttleWriteIOPSDevice: throttle('throttleWriteIOPSDevice'),
    };
  }
  const h = list(own(r, 'hugepageLimits'), 'hugepageLimits');
  if (h.length) {
    out.hugepageLimits = h.map((x, i) => {
      const o = object(x, `hugepageLimits[${i}]`, ['pageSize', 'limit']) ?? bad(`hugepageLimits[${i}] must be an object`);
      const size = own(o, 'pageSize');
      if (typeof size !== 'string' || !/^[1-9][0-9]{0,5}[KMG]B$/.test(size)) bad(`hugepageLimits[${i}].pageSize must be like "2MB" or "1GB", got ${quote(size)}`);
      return { pageSize: size, limit: int(own(o, 'limit'), `hugepageLimits[${i}].limit`, 0, INT64_MAX) ?? bad(`hugepageLimits[${i}].limit is missing`) };
    });
  }
  const u = own(r, 'unified');
  if (u !== undefined && u !== null) {
    if (typeof u !== 'object' || Array.isArray(u)) bad(`unified must be an object of file: value, got ${quote(u)}`);
    for (const [k, v] of Object.entries(u)) {
      // A file name, never a path: "memory.max", not "../x" or "cgroup.procs" (which would move processes).
      if (!CGROUP_FILE.test(k) || k.startsWith('cgroup.')) bad(`unified: ${quote(k)} is not a controller's file`);
      if (typeof v !== 'string' || v.includes('\0') || v.length > 4096) bad(`unified.${k} must be a string, got ${quote(v)}`);
    }
    out.unified = { ...(u as Record<string, string>) };
  }
  return out;
}

/** `over`'s groups (memory, cpu, pids, ...) replacing `base`'s, the result checked in full. */
export function mergeResources(base: ResourcesSpec | undefined, over: unknown): ResourcesSpec {
  const o = over === undefined || over === null ? {} : over;
  if (typeof o !== 'object' || Array.isArray(o)) return resolveResources(o);
  return resolveResources({ ...(base ?? {}), ...(o as object) });
}

/** The keys of `o` that are set. */
function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Per-device lists merged by device: `over`'s entry replaces `base`'s for the same major:minor. */
function byDevice<T extends { major: number; minor: number }>(base: readonly T[] | undefined, over: readonly T[] | undefined): T[] | undefined {
  if (!over?.length) return base ? [...base] : undefined;
  const key = (d: T) => `${d.major}:${d.minor}`;
  const out = new Map((base ?? []).map((d) => [key(d), d]));
  for (const d of over) out.set(key(d), { ...out.get(key(d)), ...d });
  return [...out.values()];
}

/**
 * A live change on top of the limits in force, field by field as runc's update does:
 * what `change` sets replaces the same field, everything else stays (per-device lists
 * and huge page sizes by device and size, unified files by name). `changed` is the
 * change checked alone: its controllers are the ones an update writes. cpu.shares and
 * cpu.weight are one setting, so giving one drops the other.
 */
export function overlayResources(base: ResourcesSpec, change: unknown): { merged: ResourcesSpec; changed: ResourcesSpec } {
  const c = resolveResources(change);
  const cpu = c.cpu ? { ...defined(base.cpu), ...defined(c.cpu) } : base.cpu;
  if (cpu && c.cpu?.weight !== undefined) delete cpu.shares;
  if (cpu && c.cpu?.shares !== undefined) delete cpu.weight;
  const b = c.blockIO ? defined(c.blockIO) : undefined;
  const merged: ResourcesSpec = {
    ...base,
    ...(c.memory ? { memory: { ...defined(base.memory), ...defined(c.memory) } } : {}),
    ...(cpu ? { cpu } : {}),
    ...(c.pids ? { pids: c.pids } : {}),
    ...(b ? {
      blockIO: {
        ...defined(base.blockIO), ...(b.weight !== undefined ? { weight: b.weight } : {}), ...(b.leafWeight !== undefined ? { leafWeight: b.leafWeight } : {}),
        weightDevice: byDevice(base.blockIO?.weightDevice, b.weightDevice),
        throttleReadBpsDevice: byDevice(base.blockIO?.throttleReadBpsDevice, b.throttleReadBpsDevice),
        throttleWriteBpsDevice: byDevice(base.blockIO?.throttleWriteBpsDevice, b.throttleWriteBpsDevice),
        throttleReadIOPSDevice: byDevice(base.blockIO?.throttleReadIOPSDevice, b.throttleReadIOPSDevice),
        throttleWriteIOPSDevice: byDevice(base.blockIO?.throttleWriteIOPSDevice, b.throttleWriteIOPSDevice),
      },
    } : {}),
    ...(c.hugepageLimits ? {
      hugepageLimits: [...new Map([...(base.hugepageLimits ?? []), ...c.hugepageLimits].map((l) => [l.pageSize, l])).values()],
    } : {}),
    ...(c.unified ? { unified: { ...base.unified, ...c.unified } } : {}),
  };
  return { merged: resolveResources(JSON.parse(JSON.stringify(merged))), changed: c };
}

/**
 * cpu.shares to cpu.weight: the quadratic fit over log2(shares) through the two
 * ranges' minimum, default and maximum (2 -> 1, 1024 -> 100, 262144 -> 10000) that
 * runc's cgroups library and crun use today; the earlier linear map put 1024 at 39.
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** blkio.weight (10..1000) to io.weight (1..10000), linearly, as runc converts it. */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const max = (v: number) => (v === -1 ? 'max' : String(v));

/** Which controllers `r` needs. */
export function resourceControllers(r: ResourcesSpec): Controller[] {
  const need = new Set<Controller>();
  if (r.memory && Object.values(r.memory).some((v) => v !== undefined)) need.add('memory');
  const c = r.cpu;
  if (c && [c.shares, c.weight, c.quota, c.period, c.burst, c.realtimeRuntime, c.realtimePeriod, c.idle].some((v) => v !== undefined)) need.add('cpu');
  if (c && (c.cpus !== undefined || c.mems !== undefined)) need.add('cpuset');
  if (r.pids) need.add('pids');
  const b = r.blockIO;
  if (b && (b.weight !== undefined || b.leafWeight !== undefined || [b.weightDevice, b.throttleReadBpsDevice, b.throttleWriteBpsDevice,
    b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice].some((l) => l && l.length))) need.add('io');
  if (r.hugepageLimits?.length) need.add('hugetlb');
  for (const k of Object.keys(r.unified ?? {})) need.add(k.split('.')[0] as Controller);
  return [...need];
}

function unavailable(controller: string, why: string): never {
  throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `resources: ${why} needs the ${controller} controller, and this host offers it on no hierarchy this library can use`);
}

/** cpuset and pids take the same files and values on both hierarchies. */
function sameOnBoth(r: ResourcesSpec, controller: Controller): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const w = (file: string, value: string) => out.push({ controller, file, value });
  if (controller === 'cpuset' && r.cpu) {
    if (r.cpu.cpus !== undefined) w('cpuset.cpus', r.cpu.cpus);
    if (r.cpu.mems !== undefined) w('cpuset.mems', r.cpu.mems);
  } else if (controller === 'pids' && r.pids) {
    w('pids.max', max(r.pids.limit));
  }
  return out;
}

function v2Writes(r: ResourcesSpec, controller: Controller): CgroupWrite[] {
  const out: CgroupWrite[] = sameOnBoth(r, controller);
  const w = (file: string, value: string | number) => out.push({ controller, file, value: String(value) });
  const refuse = (what: string) => unavailable(controller, `${what} (a v1-only setting)`);
  if (controller === 'memory' && r.memory) {
    const m = r.memory;
    if (m.swappiness !== undefined) refuse('memory.swappiness');
    if (m.disableOOMKiller) refuse('memory.disableOOMKiller');
    if (m.reservation !== undefined) w('memory.low', max(m.reservation));
    // OCI's swap counts memory too; memory.swap.max is the swap alone (runc's conversion).
    if (m.swap !== undefined) w('memory.swap.max', m.swap === -1 || m.limit === -1 ? max(m.swap) : String(m.swap - (m.limit as number)));
    else if (m.limit === -1) w('memory.swap.max', 'max');
    if (m.limit !== undefined) w('memory.max', max(m.limit));
  } else if (controller === 'cpu' && r.cpu) {
    const c = r.cpu;
    if (c.realtimeRuntime !== undefined || c.realtimePeriod !== undefined) refuse('cpu.realtimeRuntime/realtimePeriod');
    if (c.idle !== undefined) w('cpu.idle', c.idle);
    const weight = c.weight ?? (c.shares !== undefined ? sharesToWeight(c.shares) : undefined);
    if (weight !== undefined) w('cpu.weight', weight);
    if (c.quota !== undefined || c.period !== undefined) w('cpu.max', `${c.quota === undefined ? 'max' : max(c.quota)} ${c.period ?? 100000}`);
    if (c.burst !== undefined) w('cpu.max.burst', c.burst);
  } else if (controller === 'io' && r.blockIO) {
    const b = r.blockIO;
    if (b.leafWeight !== undefined || b.weightDevice?.some((d) => d.leafWeight !== undefined)) refuse('blockIO.leafWeight');
    if (b.weight !== undefined) w('io.weight', `default ${blkioWeightToIoWeight(b.weight)}`);
    for (const d of b.weightDevice ?? []) if (d.weight !== undefined) w('io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`);
    const keys = [['throttleReadBpsDevice', 'rbps'], ['throttleWriteBpsDevice', 'wbps'], ['throttleReadIOPSDevice', 'riops'], ['throttleWriteIOPSDevice', 'wiops']] as const;
    for (const [k, key] of keys) for (const d of b[k] ?? []) w('io.max', `${d.major}:${d.minor} ${key}=${d.rate === 0 ? 'max' : d.rate}`);
  } else if (controller === 'hugetlb') {
    for (const l of r.hugepageLimits ?? []) w(`hugetlb.${l.pageSize}.max`, l.limit);
  }
  for (const [k, v] of Object.entries(r.unified ?? {})) if (k.split('.')[0] === controller) w(k, v);
  return out;
}

function v1Writes(r: ResourcesSpec, controller: Controller): CgroupWrite[] {
  const out: CgroupWrite[] = sameOnBoth(r, controller);
  const w = (file: string, value: string | number) => out.push({ controller, file, value: String(value) });
  const refuse = (what: string) => unavailable(`cgroup2 ${controller}`, what);
  if (controller === 'memory' && r.memory) {
    const m = r.memory;
    // The order of limit and memsw is chosen at write time (it depends on the limits
    // in force: memsw may never drop below limit); see v1MemoryOrder.
    if (m.limit !== undefined) w('memory.limit_in_bytes', m.limit);
    if (m.swap !== undefined) w('memory.memsw.limit_in_bytes', m.swap);
    else if (m.limit === -1) w('memory.memsw.limit_in_bytes', -1);
    if (m.reservation !== undefined) w('memory.soft_limit_in_bytes', m.reservation);
    if (m.disableOOMKiller) w('memory.oom_control', 1);
    if (m.swappiness !== undefined) w('memory.swappiness', m.swappiness);
  } else if (controller === 'cpu' && r.cpu) {
    const c = r.cpu;
    if (c.weight !== undefined) refuse('cpu.weight');
    if (c.idle !== undefined) refuse('cpu.idle');
    if (c.burst !== undefined) w('cpu.cfs_burst_us', c.burst);
    if (c.shares !== undefined) w('cpu.shares', c.shares);
    // The period first: a quota is checked against the period in force.
    if (c.period !== undefined) w('cpu.cfs_period_us', c.period);
    if (c.quota !== undefined) w('cpu.cfs_quota_us', c.quota);
    if (c.realtimePeriod !== undefined) w('cpu.rt_period_us', c.realtimePeriod);
    if (c.realtimeRuntime !== undefined) w('cpu.rt_runtime_us', c.realtimeRuntime);
  } else if (controller === 'io' && r.blockIO) {
    const b = r.blockIO;
    if (b.weight !== undefined) w('blkio.weight', b.weight);
    if (b.leafWeight !== undefined) w('blkio.leaf_weight', b.leafWeight);
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined) w('blkio.weight_device', `${d.major}:${d.minor} ${d.weight}`);
      if (d.leafWeight !== undefined) w('blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
    }
    const files = [['throttleReadBpsDevice', 'read_bps_device'], ['throttleWriteBpsDevice', 'write_bps_device'],
      ['throttleReadIOPSDevice', 'read_iops_device'], ['throttleWriteIOPSDevice', 'write_iops_device']] as const;
    for (const [k, file] of files) for (const d of b[k] ?? []) w(`blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`);
  } else if (controller === 'hugetlb') {
    for (const l of r.hugepageLimits ?? []) w(`hugetlb.${l.pageSize}.limit_in_bytes`, l.limit);
  }
  if (Object.keys(r.unified ?? {}).some((k) => k.split('.')[0] === controller)) refuse('resources.unified');
  return out;
}

/**
 * The writes that apply `r` on this host, in order: each controller on cgroup2 where
 * the host enables it for the library's directories, else on its v1 hierarchy, else
 * an error naming it. A setting the chosen hierarchy cannot express is an error too,
 * never a silent skip. CPUs, memory nodes and huge page sizes must exist here.
 */
export function resourceWrites(r: ResourcesSpec, host: ResourceHost): { v2: CgroupWrite[]; v1: CgroupWrite[] } {
  const v2: CgroupWrite[] = [];
  const v1: CgroupWrite[] = [];
  for (const c of resourceControllers(r)) {
    if (host.v2.has(c)) v2.push(...v2Writes(r, c));
    else if (host.v1.has(V1_NAME[c]) && !(c === 'cpu' && r.cpu?.weight !== undefined)) v1.push(...v1Writes(r, c));
    else unavailable(c, `resources.${c === 'io' ? 'blockIO' : c === 'cpuset' ? 'cpu.cpus/mems' : c}`);
  }
  for (const [key, have] of [['cpus', host.cpus], ['mems', host.mems]] as const) {
    const want = r.cpu?.[key];
    if (want === undefined) continue;
    const missing = [...parseCpuList(want, `cpu.${key}`)].filter((n) => !have.has(n));
    if (missing.length) bad(`cpu.${key} ${quote(want)} names ${key === 'cpus' ? 'CPUs' : 'memory nodes'} this host does not have: ${missing.join(', ')}`);
  }
  for (const l of r.hugepageLimits ?? []) {
    if (!host.hugepageSizes.includes(l.pageSize)) bad(`hugepageLimits: this host has no ${l.pageSize} huge pages (it has ${host.hugepageSizes.join(', ') || 'none'})`);
  }
  return { v2, v1 };
}

/**
 * v1 memory: memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes, so
 * when both change the one that keeps that true goes first: swap first when it grows
 * past the limit in force (or becomes unlimited), the limit first otherwise.
 */
export function v1MemoryOrder(writes: readonly CgroupWrite[], currentLimit: bigint): CgroupWrite[] {
  const limit = writes.find((w) => w.file === 'memory.limit_in_bytes');
  const swap = writes.find((w) => w.file === 'memory.memsw.limit_in_bytes');
  if (!limit || !swap) return [...writes];
  const swapFirst = swap.value === '-1' || currentLimit < BigInt(swap.value);
  const rest = writes.filter((w) => w !== limit && w !== swap);
  return [...(swapFirst ? [swap, limit] : [limit, swap]), ...rest];
}
