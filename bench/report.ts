// Summaries, the Markdown table and the SVG chart of a bench run.

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
