// `events`: a container's figures in runc's JSON shape (types/events.go of runc: the
// field names and units its callers parse), once with --stats or every --interval,
// and an "oom" event each time the kernel's OOM killer kills in the container.
import { writeFileSync } from 'node:fs';
import { type Container, type ContainerStats, ContainerError } from '../index';

/** runc's "no limit": the largest uint64, which a JavaScript number cannot hold exactly. */
const NO_LIMIT = 18446744073709551615n;

const limit = (v: number | null | undefined): number | bigint => (v === null || v === undefined ? NO_LIMIT : v);

/** The figures as runc's events print them: zero where the host has no such counter, as runc's are. */
export function runcStats(s: ContainerStats): Record<string, unknown> {
  const m = s.memory;
  const blkio = (op: 'Read' | 'Write', key: 'readBytes' | 'writeBytes' | 'reads' | 'writes') =>
    (s.blockIO ?? []).map((d) => {
      const [major, minor] = d.device.split(':').map(Number);
      return { major, minor, op, value: d[key] };
    });
  return {
    cpu: {
      usage: { total: s.cpu?.usage ?? 0, kernel: s.cpu?.system ?? 0, user: s.cpu?.user ?? 0 },
      throttling: { periods: s.cpu?.periods ?? 0, throttledPeriods: s.cpu?.throttledPeriods ?? 0, throttledTime: s.cpu?.throttledTime ?? 0 },
    },
    cpuset: {},
    memory: {
      cache: m?.cache ?? 0,
      usage: { limit: limit(m?.limit), usage: m?.usage ?? 0, max: m?.maxUsage ?? 0, failcnt: m?.failcnt ?? 0 },
      // runc counts swap as memory plus swap (v1's memsw), on cgroup2 too.
      swap: {
        limit: m?.swapLimit === null || m?.swapLimit === undefined || m.limit === null ? NO_LIMIT : m.limit + m.swapLimit,
        usage: (m?.usage ?? 0) + (m?.swap ?? 0), failcnt: 0,
      },
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
      raw: { oom_kill: m?.oomKills ?? 0, ...(m?.anon !== null && m?.anon !== undefined ? { anon: m.anon } : {}) },
    },
    pids: { current: s.pids?.current ?? 0, limit: s.pids?.limit ?? 0 },
    blkio: {
      ioServiceBytesRecursive: [...blkio('Read', 'readBytes'), ...blkio('Write', 'writeBytes')],
      ioServicedRecursive: [...blkio('Read', 'reads'), ...blkio('Write', 'writes')],
    },
    hugetlb: Object.fromEntries(Object.entries(s.hugetlb ?? {}).map(([size, h]) => [size, { usage: h.usage, max: limit(h.limit), failcnt: 0 }])),
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** One JSON line; bigints as the exact integers they are. */
export function eventLine(event: Record<string, unknown>): string {
  return `${JSON.stringify(event, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1')}\n`;
}

/** A Go duration as runc's --interval takes one ("5s", "250ms", "1m30s"), in milliseconds. */
export function parseDuration(v: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let end = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    ms += Number(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  if (v === '' || end !== v.length) throw new ContainerError('ERR_INVALID_ARG', `invalid value ${JSON.stringify(v)} for flag --interval: a duration such as 5s or 250ms`);
  if (ms <= 0) throw new ContainerError('ERR_INVALID_ARG', 'duration interval must be greater than 0');
  return ms;
}

/**
 * Prints events until the container's init exits: its figures every `intervalMs`,
 * and an "oom" event for each OOM kill, as it happens.
 */
export async function streamEvents(c: Container, intervalMs: number): Promise<void> {
  const print = (e: Record<string, unknown>) => writeFileSync(1, eventLine(e));
  const onOom = () => print({ type: 'oom', id: c.id });
  c.on('oom', onOom);
  const timer = setInterval(() => {
    c.stats().then((s) => print({ type: 'stats', id: c.id, data: runcStats(s) }), () => undefined);
  }, intervalMs);
  try {
    await c.wait();
  } finally {
    clearInterval(timer);
    c.off('oom', onOom);
  }
}
