// Summaries, the Markdown sections and the SVG chart of a bench run.

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/**
 * perf_hooks.monitorEventLoopDelay records the time between successive callbacks of
 * its timer (Node's ELDHistogram::RecordDelta), so a loop that is never late records
 * the resolution itself: an idle process records ~1.1 ms at 1 ms. The event loop's
 * delay is what is recorded beyond the resolution.
 */
export const LOOP_RESOLUTION_MS = 1;
/** p50, p99 and max as recorded, in ms; count: how many times the timer ran. */
export interface LoopRecord {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /** How long the histogram was enabled, in ms. */
  spanMs: number;
}
export const lateness = (recordedMs: number) => Math.max(0, recordedMs - LOOP_RESOLUTION_MS);

export interface MemPoint {
  rss: number;
  /** Pages V8's heap holds: its new space grows with the allocation rate and shrinks when the process idles. */
  v8: number;
  fds: number;
}
/** Workload 6's result: memory at four points, and what was left behind. */
export interface CycleResult {
  count: number;
  warmup: number;
  cold: MemPoint;
  before: MemPoint;
  after: MemPoint;
  again: MemPoint;
  series: number[];
  heapBefore: number;
  heapAfter: number;
  leftCgroups: number;
  leftMounts: number;
}

/** The targets the project set itself, checked against this run. */
export function targetLines(seq: Record<string, Summary>, thr: Record<string, number>, conc: { loop: LoopRecord },
  mk: Record<string, Summary>, allow: Record<string, Summary>, cyc: CycleResult): string[] {
  const rows: string[] = [];
  const check = (what: string, target: string, got: string, ok: boolean | null) =>
    rows.push(`| ${what} | ${target} | ${got} | ${ok === null ? 'no peer' : ok ? 'met' : '**missed**'} |`);
  const crun = seq.crun ? seq.nsbox.p50 / seq.crun.p50 : null;
  check('run /bin/true, sequential: nsbox p50 / crun p50', '<= 0.5x (stretch 0.35x)', crun === null ? '-' : `${crun.toFixed(2)}x`,
    crun === null ? null : crun <= 0.5);
  const t = thr.crun ? thr.nsbox / thr.crun : null;
  check('throughput at concurrency 8, nsbox / crun', '>= 2x', t === null ? '-' : `${t.toFixed(2)}x`, t === null ? null : t >= 2);
  check('mknodInside p50', '<= 1 ms', `${ms(mk.nsbox.p50)} ms`, mk.nsbox.p50 <= 1);
  for (const [k, v] of Object.entries(allow)) check(`allowDevice p50, ${k === 'v2' ? 'cgroup2' : 'cgroup v1'}`, '<= 0.5 ms', `${ms(v.p50)} ms`, v.p50 <= 0.5);
  const p99 = lateness(conc.loop.p99);
  check('event-loop delay p99 at concurrency 8', '< 5 ms', `${ms(p99)} ms`, p99 < 5);
  const grew = (cyc.after.rss - cyc.before.rss) * 2 ** 20;
  check(`RSS growth over ${cyc.count} cycles`, '<= 5 MB', `${(grew / 1e6).toFixed(1)} MB (${((cyc.after.rss - cyc.cold.rss) * 2 ** 20 / 1e6).toFixed(1)} MB from before the warm-up)`,
    grew <= 5e6);
  check('open fds, cgroup directories, mounts after the cycles', 'unchanged, 0, 0',
    `${cyc.before.fds} -> ${cyc.after.fds}, ${cyc.leftCgroups}, ${cyc.leftMounts}`,
    cyc.before.fds === cyc.after.fds && cyc.leftCgroups === 0 && cyc.leftMounts === 0);
  return ['## Targets', '', '| what | target | this run | |', '|---|---|---|---|', ...rows];
}

export function loopRows(conc: { loop: LoopRecord; idle: LoopRecord; peerLoops: Record<string, LoopRecord> }): string[] {
  const row = (who: string, l: LoopRecord) =>
    `| ${who} | ${ms(lateness(l.p50))} | ${ms(lateness(l.p99))} | ${ms(lateness(l.max))} | ${ms(l.p99)} | ${l.count} in ${(l.spanMs / 1000).toFixed(1)} s |`;
  return [
    row('nsbox, in process', conc.loop),
    ...Object.entries(conc.peerLoops).map(([k, l]) => row(`spawning ${k === 'spawn' ? '/bin/true' : k}`, l)),
    row('nsbox\'s process, idle', conc.idle),
  ];
}

export function cycleLines(cyc: CycleResult): string[] {
  const mb = (x: number) => x.toFixed(1);
  const row = (what: string, p: MemPoint) => `| ${what} | ${mb(p.rss)} | ${mb(p.v8)} | ${p.fds} |`;
  const grew = (a: MemPoint, b: MemPoint) => `${mb(b.rss - a.rss)} MiB (V8's heap pages ${mb(b.v8 - a.v8)} MiB)`;
  return [
    '| after | RSS MiB | V8 heap pages MiB | open fds |', '|---|---|---|---|',
    row('the other workloads', cyc.cold), row(`${cyc.warmup} warm-up cycles`, cyc.before), row(`${cyc.count} cycles`, cyc.after),
    row(`${cyc.count} cycles more`, cyc.again),
    '', `RSS growth over the ${cyc.count} measured cycles: ${grew(cyc.before, cyc.after)}; from before the warm-up: ` +
      `${grew(cyc.cold, cyc.after)}; over the ${cyc.count} after them: ${grew(cyc.after, cyc.again)}. ` +
      `RSS after each quarter of the measured cycles: ${cyc.series.map(mb).join(', ')} MiB. ` +
      `V8 heap in use after a full collection: ${mb(cyc.heapBefore)} MiB before the warm-up, ${mb(cyc.heapAfter)} MiB after the last cycle. ` +
      `cgroup directories left ${cyc.leftCgroups}, mounts left ${cyc.leftMounts}. Every other cycle starts the command ` +
      'and leaves its stdio pipes unread.',
  ];
}

export const ms = (x: number) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Latency distributions side by side: a box (p10..p90), the median, whiskers to p1..p99. */
export function latencySvg(title: string, series: { name: string; values: number[] }[]): string {
  const W = 720, H = 360, left = 70, bottom = 40, top = 40;
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))];
  };
  const max = Math.max(...series.map((s) => q(s.values, 0.99))) * 1.1;
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const slot = (W - left - 20) / series.length;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    parts.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${ms(v)} ms</text>`);
  }
  series.forEach((s, i) => {
    const cx = left + slot * (i + 0.5);
    const bw = Math.min(60, slot * 0.5);
    const [p1, p10, p50, p90, p99] = [0.01, 0.1, 0.5, 0.9, 0.99].map((p) => q(s.values, p));
    const color = i === 0 ? '#2a6fdb' : '#888';
    parts.push(
      `<line x1="${cx}" x2="${cx}" y1="${y(p99)}" y2="${y(p1)}" stroke="${color}"/>`,
      `<rect x="${cx - bw / 2}" y="${y(p90)}" width="${bw}" height="${Math.max(1, y(p10) - y(p90))}" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
      `<line x1="${cx - bw / 2}" x2="${cx + bw / 2}" y1="${y(p50)}" y2="${y(p50)}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${cx}" y="${H - bottom + 18}" text-anchor="middle">${s.name}</text>`,
      `<text x="${cx + bw / 2 + 4}" y="${y(p50) + 4}">${ms(p50)}</text>`,
    );
  });
  parts.push(`<text x="${left}" y="${H - 6}" fill="#555">box p10..p90, bar median, whiskers p1..p99</text>`, '</svg>');
  return parts.join('\n');
}
