// A container's figures from its own cgroup files, on cgroup2 and on v1: memory, CPU,
// pids, block I/O, huge pages, and the OOM kill counter. The reading is given as a
// function, so the parsing is tested on the kernel's formats without root.
import type { Controller } from './policy/resources';

/** Bytes, nanoseconds and counts; null where the kernel has no limit (or the host no such file). */
export interface ContainerStats {
  memory: {
    usage: number;
    limit: number | null;
    /** The peak since the cgroup was made, where the kernel keeps it (memory.peak, max_usage_in_bytes). */
    maxUsage: number | null;
    /** Page cache and anonymous memory, as memory.stat says. */
    cache: number | null;
    anon: number | null;
    swap: number | null;
    /** The swap the container may use besides its memory; null for no limit. */
    swapLimit: number | null;
    /** How often usage hit the limit (v1 memory.failcnt, cgroup2 memory.events "max"). */
    failcnt: number;
    /** Processes the kernel's OOM killer killed in this cgroup. */
    oomKills: number;
  } | null;
  cpu: {
    usage: number;
    user: number;
    system: number;
    periods: number;
    throttledPeriods: number;
    throttledTime: number;
  } | null;
  pids: { current: number; limit: number | null } | null;
  blockIO: { device: string; readBytes: number; writeBytes: number; reads: number; writes: number }[] | null;
  hugetlb: Record<string, { usage: number; limit: number | null }> | null;
}

/** Reads one file of a controller's directory: its text, or null when it is not there. */
export type CgroupReader = (controller: Controller | 'cpuacct', file: string) => string | null;

/** Where each controller's files are: on cgroup2, or in its v1 hierarchy. */
export type ControllerPlaces = Partial<Record<Controller | 'cpuacct', 'v1' | 'v2'>>;

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function keyValues(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** One number; "max" (or v1's 2^63 rounded to a page) is no limit. */
export function limitValue(text: string | null): number | null {
  const t = text?.trim();
  if (t === undefined || t === '' || t === 'max') return null;
  const n = Number(t);
  // v1 reports "no limit" as PAGE_COUNTER_MAX pages, about 2^63.
  return Number.isFinite(n) && n < 2 ** 62 ? n : null;
}

const num = (text: string | null) => Number(text?.trim() ?? 0) || 0;

function swapLimitV1(memsw: number | null, limit: number | null): number | null {
  return memsw === null ? null : Math.max(0, memsw - (limit ?? 0));
}

function memoryStats(read: CgroupReader, v: 'v1' | 'v2'): ContainerStats['memory'] {
  if (v === 'v2') {
    const current = read('memory', 'memory.current');
    if (current === null) return null;
    const stat = keyValues(read('memory', 'memory.stat'));
    const events = keyValues(read('memory', 'memory.events'));
    return {
      usage: num(current), limit: limitValue(read('memory', 'memory.max')), maxUsage: limitValue(read('memory', 'memory.peak')),
      cache: stat.get('file') ?? null, anon: stat.get('anon') ?? null, swap: limitValue(read('memory', 'memory.swap.current')),
      swapLimit: limitValue(read('memory', 'memory.swap.max')), failcnt: events.get('max') ?? 0, oomKills: events.get('oom_kill') ?? 0,
    };
  }
  const usage = read('memory', 'memory.usage_in_bytes');
  if (usage === null) return null;
  const stat = keyValues(read('memory', 'memory.stat'));
  const memsw = read('memory', 'memory.memsw.usage_in_bytes');
  return {
    usage: num(usage), limit: limitValue(read('memory', 'memory.limit_in_bytes')), maxUsage: limitValue(read('memory', 'memory.max_usage_in_bytes')),
    cache: stat.get('total_cache') ?? stat.get('cache') ?? null, anon: stat.get('total_rss') ?? stat.get('rss') ?? null,
    swap: memsw === null ? null : Math.max(0, num(memsw) - num(usage)),
    // v1 limits memory plus swap; the swap alone is what is left above the memory limit.
    swapLimit: swapLimitV1(limitValue(read('memory', 'memory.memsw.limit_in_bytes')), limitValue(read('memory', 'memory.limit_in_bytes'))),
    failcnt: num(read('memory', 'memory.failcnt')),
    oomKills: keyValues(read('memory', 'memory.oom_control')).get('oom_kill') ?? 0,
  };
}

// cpuacct.stat counts USER_HZ ticks, which Linux fixes at 100 for user space.
const TICK_NS = 1e7;

function cpuStats(read: CgroupReader, places: ControllerPlaces): ContainerStats['cpu'] {
  if (places.cpu === 'v2') {
    const stat = read('cpu', 'cpu.stat');
    if (stat === null) return null;
    const s = keyValues(stat);
    const us = (k: string) => (s.get(k) ?? 0) * 1000;
    return { usage: us('usage_usec'), user: us('user_usec'), system: us('system_usec'), periods: s.get('nr_periods') ?? 0,
      throttledPeriods: s.get('nr_throttled') ?? 0, throttledTime: us('throttled_usec') };
  }
  const usage = places.cpuacct === 'v1' ? read('cpuacct', 'cpuacct.usage') : null;
  const throttle = places.cpu === 'v1' ? keyValues(read('cpu', 'cpu.stat')) : new Map<string, number>();
  if (usage === null && throttle.size === 0) return null;
  const ticks = keyValues(places.cpuacct === 'v1' ? read('cpuacct', 'cpuacct.stat') : null);
  return { usage: num(usage), user: (ticks.get('user') ?? 0) * TICK_NS, system: (ticks.get('system') ?? 0) * TICK_NS,
    periods: throttle.get('nr_periods') ?? 0, throttledPeriods: throttle.get('nr_throttled') ?? 0, throttledTime: throttle.get('throttled_time') ?? 0 };
}

function blockStats(read: CgroupReader, v: 'v1' | 'v2'): ContainerStats['blockIO'] {
  const byDevice = new Map<string, { device: string; readBytes: number; writeBytes: number; reads: number; writes: number }>();
  const entry = (device: string) => {
    let e = byDevice.get(device);
    if (!e) byDevice.set(device, (e = { device, readBytes: 0, writeBytes: 0, reads: 0, writes: 0 }));
    return e;
  };
  if (v === 'v2') {
    const text = read('io', 'io.stat');
    if (text === null) return null;
    // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"
    for (const line of text.split('\n').filter(Boolean)) {
      const [device, ...pairs] = line.trim().split(/\s+/);
      const kv = new Map(pairs.map((p) => p.split('=') as [string, string]));
      Object.assign(entry(device), { readBytes: Number(kv.get('rbytes') ?? 0), writeBytes: Number(kv.get('wbytes') ?? 0),
        reads: Number(kv.get('rios') ?? 0), writes: Number(kv.get('wios') ?? 0) });
    }
    return [...byDevice.values()];
  }
  const bytes = read('io', 'blkio.throttle.io_service_bytes');
  if (bytes === null) return null;
  const ios = read('io', 'blkio.throttle.io_serviced') ?? '';
  // "8:0 Read 4096" lines, and a "Total" line.
  for (const [text, [r, w]] of [[bytes, ['readBytes', 'writeBytes']], [ios, ['reads', 'writes']]] as const) {
    for (const line of text.split('\n')) {
      const [device, op, value] = line.trim().split(/\s+/);
      if (!device?.includes(':') || value === undefined) continue;
      if (op === 'Read') entry(device)[r] = Number(value);
      else if (op === 'Write') entry(device)[w] = Number(value);
    }
  }
  return [...byDevice.values()];
}

function hugetlbStats(read: CgroupReader, v: 'v1' | 'v2', sizes: readonly string[]): ContainerStats['hugetlb'] {
  const out: Record<string, { usage: number; limit: number | null }> = {};
  for (const size of sizes) {
    const usage = read('hugetlb', v === 'v2' ? `hugetlb.${size}.current` : `hugetlb.${size}.usage_in_bytes`);
    if (usage === null) continue;
    out[size] = { usage: num(usage), limit: limitValue(read('hugetlb', v === 'v2' ? `hugetlb.${size}.max` : `hugetlb.${size}.limit_in_bytes`)) };
  }
  return Object.keys(out).length ? out : null;
}

/** The figures of one container, each from the hierarchy its controller is on; null for a controller it is in nowhere. */
export function readStats(read: CgroupReader, places: ControllerPlaces, hugepageSizes: readonly string[]): ContainerStats {
  const pids = places.pids ? read('pids', 'pids.current') : null;
  return {
    memory: places.memory ? memoryStats(read, places.memory) : null,
    cpu: places.cpu || places.cpuacct ? cpuStats(read, places) : null,
    pids: pids === null ? null : { current: num(pids), limit: limitValue(read('pids', 'pids.max')) },
    blockIO: places.io ? blockStats(read, places.io) : null,
    hugetlb: places.hugetlb ? hugetlbStats(read, places.hugetlb, hugepageSizes) : null,
  };
}
