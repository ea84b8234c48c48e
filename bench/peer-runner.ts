// Runs peer runtimes on request and times them, from Node's child_process as a
// user of crun, runc or bwrap would. It lives in a private mount namespace where the
// cgroup2 hierarchy of this hybrid host is unmounted (bench/setup.ts starts it so):
// crun 1.8 refuses hybrid hosts whose cgroup2 hierarchy holds controllers, and is run
// with --cgroup-manager=disabled. The host's own mounts are not touched.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LOOP_RESOLUTION_MS } from './report';

interface Request {
  id: number;
  argv: string[];
  /** Runs `count` times with `concurrency` in flight; replies with each latency and the wall time. */
  count: number;
  concurrency: number;
  /** Also measure this process's event loop meanwhile (what a Node program driving the peer sees). */
  loop?: boolean;
}

function once(argv: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${argv.join(' ')}: exit ${code}: ${err.trim()}`));
      else resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}

async function batch(r: Request) {
  const latencies: number[] = [];
  const h = r.loop ? monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS }) : null;
  h?.enable();
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < r.count) {
      const i = next++;
      latencies.push(await once(r.argv.map((a) => a.replace('{i}', String(i)))));
    }
  };
  await Promise.all(Array.from({ length: r.concurrency }, worker));
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  h?.disable();
  return { latencies, wallMs, loop: h ? { p50: h.percentile(50), p99: h.percentile(99), max: h.max, count: h.count, spanMs: wallMs } : undefined };
}

process.on('message', (r: Request) => {
  batch(r).then(
    (result) => process.send!({ id: r.id, ...result }),
    (e: Error) => process.send!({ id: r.id, error: e.message }),
  );
});
