// npm run bench: this library against crun, runc and bubblewrap on the same work,
// interleaved A B A B in one run so that the machine's drift hits all alike.
// Writes bench/results/latest.{md,json} and latency.svg. BENCH_N scales the counts.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { allowDevice, createContainer, denyDevice, mknodInside, type ResourcesSpec, run } from '../lib';
import { hostInfo } from '../lib/host';
import { type CycleResult, cycleLines, latencySvg, LOOP_RESOLUTION_MS, type LoopRecord, loopRows, type MemPoint, ms, summarize, type Summary, targetLines } from './report';
import { type Bundle, ensureTools, makeBundle, type Peer, peers, startPeerRunner, variantBundle } from './setup';

const N = Number(process.env.BENCH_N ?? 300);
const log = (s: string) => console.log(`bench: ${s}`);

let runner: ChildProcess;
let nextId = 0;
interface PeerResult {
  latencies: number[];
  wallMs: number;
  /** The runner's own event loop during the batch, in ns as recorded (asked for with `loop`). */
  loop?: LoopRecord;
}
function peerBatch(argv: string[], count: number, concurrency: number, loop = false): Promise<PeerResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: PeerResult & { id: number; error?: string }) => {
      if (m.id !== id) return;
      runner.off('message', onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    };
    runner.on('message', onMessage);
    runner.send({ id, argv, count, concurrency, loop });
  });
}

async function oursOnce(b: Bundle, resources?: ResourcesSpec): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await run({ command: ['/bin/true'], rootfs: b.rootfs, stdio: 'ignore', ...(resources ? { resources } : {}) });
  if (r.exitCode !== 0) throw new Error(`nsbox run: exit ${r.exitCode}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function oursBatch(b: Bundle, count: number, concurrency: number) {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) latencies.push(await oursOnce(b));
  }));
  return { latencies, wallMs: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** Workload 1: /bin/true one after another; one of each per round. */
async function sequential(b: Bundle, ps: Peer[]) {
  const lat: Record<string, number[]> = { nsbox: [] };
  for (const p of ps) lat[p.name] = [];
  for (let i = 0; i < 10; i++) await oursOnce(b); // warm-up
  for (let i = 0; i < N; i++) {
    lat.nsbox.push(await oursOnce(b));
    for (const p of ps) lat[p.name].push(...(await peerBatch(p.argv, 1, 1)).latencies);
  }
  return lat;
}

/** Workload 2 and 5: concurrency 8, throughput, and the event loop's delay meanwhile. */
async function concurrent(b: Bundle, ps: Peer[]) {
  const count = Math.max(80, Math.round(N / 2));
  const out: Record<string, { done: number; wallMs: number; latencies: number[] }> = {};
  const add = (name: string, r: PeerResult) => {
    const o = (out[name] ??= { done: 0, wallMs: 0, latencies: [] });
    o.done += r.latencies.length;
    o.wallMs += r.wallMs;
    o.latencies.push(...r.latencies);
  };
  // The same histogram on this process with nothing to do: what "not late" records here.
  const idle = await idleLoop(1000);
  // A fresh histogram per round: one re-enabled after a pause counts the pause.
  const loops: LoopRecord[] = [];
  const peerLoops: Record<string, LoopRecord[]> = {};
  for (let round = 0; round < 2; round++) {
    const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    h.enable();
    const r = await oursBatch(b, count / 2, 8);
    h.disable();
    add('nsbox', r);
    loops.push(loopRecord(h, r.wallMs));
    for (const p of ps) {
      const r = await peerBatch(p.argv, count / 2, 8, true);
      add(p.name, r);
      (peerLoops[p.name] ??= []).push(scaleLoop(r.loop!));
    }
  }
  // The worse round is the one reported, for nsbox and for each peer's driver.
  const worse = (xs: LoopRecord[]) => xs.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  return { out, loop: worse(loops), idle, peerLoops: Object.fromEntries(Object.entries(peerLoops).map(([k, v]) => [k, worse(v)])) };
}

function loopRecord(h: { percentile(p: number): number; max: number; count: number }, spanMs: number): LoopRecord {
  return scaleLoop({ p50: h.percentile(50), p99: h.percentile(99), max: h.max, count: h.count, spanMs });
}
/** The histogram's ns to ms. */
function scaleLoop(ns: LoopRecord): LoopRecord {
  return { ...ns, p50: ns.p50 / 1e6, p99: ns.p99 / 1e6, max: ns.max / 1e6 };
}
async function idleLoop(forMs: number): Promise<LoopRecord> {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  await new Promise((r) => setTimeout(r, forMs));
  h.disable();
  return loopRecord(h, forMs);
}

/** Workload 3: a node made inside a running container; crun exec mknod as the peer. */
async function mknodWork(b: Bundle, ps: Peer[], stateDir: string) {
  const c = await createContainer({ command: ['/bin/sleep', '1000'], rootfs: b.rootfs, stdio: 'ignore' });
  await c.start();
  const peer = ps.find((p) => p.name === 'crun') ?? ps.find((p) => p.name === 'runc');
  const res: Record<string, number[]> = { nsbox: [] };
  let peerName = '';
  let peerNote = '';
  if (peer) {
    peerName = `${peer.name} exec mknod`;
    res[peerName] = [];
    const tool = peer.name;
    const base = tool === 'crun' ? ['crun', '--root', `${stateDir}/crun`, '--cgroup-manager=disabled'] : ['runc', '--root', `${stateDir}/runc`];
    const cfg = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
    cfg.process.args = ['/bin/sleep', '1000'];
    const detached = mkdtempSync(join(tmpdir(), 'nsbox-bench-exec-'));
    symlinkRootfs(b, detached);
    writeFileSync(join(detached, 'config.json'), JSON.stringify(cfg));
    await peerBatch([...base, 'run', '--detach', '--bundle', detached, 'execbench'], 1, 1);
    try {
      for (let i = 0; i < Math.max(50, N / 3); i++) {
        const t = process.hrtime.bigint();
        await mknodInside(c, `/dev/n${i}`, { type: 'c', major: 1, minor: 3 });
        res.nsbox.push(Number(process.hrtime.bigint() - t) / 1e6);
        res[peerName].push(...(await peerBatch([...base, 'exec', 'execbench', '/bin/mknod', `/dev/n${i}`, 'c', '1', '3'], 1, 1)).latencies);
      }
    } finally {
      await peerBatch([...base, 'delete', '--force', 'execbench'], 1, 1).catch(() => undefined);
      rmSync(detached, { recursive: true, force: true });
    }
    peerNote = `${peer.name} exec of busybox mknod in a detached container`;
  }
  await c.destroy();
  return { res, peerNote };
}

/** The detached peer container gets its own bundle pointing at the same rootfs. */
function symlinkRootfs(b: Bundle, dir: string) {
  symlinkSync(b.rootfs, join(dir, 'rootfs'));
}

/** Workload 4: a device rule changed live, on each backend. No peer changes device rules of a running container from its command line. */
async function allowWork(b: Bundle) {
  const res: Record<string, number[]> = {};
  for (const backend of ['v2', 'v1'] as const) {
    const c = await createContainer({ command: ['/bin/sleep', '1000'], rootfs: b.rootfs, stdio: 'ignore', deviceBackend: backend });
    await c.start();
    res[backend] = [];
    for (let i = 0; i < Math.max(100, N); i++) {
      const t = process.hrtime.bigint();
      if (i % 2) await denyDevice(c, 'c 10:229 rw');
      else await allowDevice(c, 'c 10:229 rw');
      res[backend].push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    await c.destroy();
  }
  return res;
}

const LIMITS: ResourcesSpec = { memory: { limit: 64 << 20 }, pids: { limit: 64 } };

/**
 * Workload 7: limits. /bin/true with a memory and a pids limit against the same
 * without, interleaved, with runc doing the same (crun runs here without cgroups, so
 * it cannot); then stats() and updateResources() on a running container, and runc
 * update on a running runc container.
 */
async function limitsWork(b: Bundle, ps: Peer[]) {
  const res: Record<string, number[]> = { 'nsbox': [], 'nsbox, limits': [] };
  const runc = ps.find((p) => p.name === 'runc');
  const limited = variantBundle(b, 'limits', (c) => {
    c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 64 } };
  });
  const sleeper = variantBundle(b, 'sleeper', (c) => {
    c.process.args = ['/bin/sleep', '1000'];
  });
  if (runc) res.runc = [], res['runc, limits'] = [];
  for (let i = 0; i < N; i++) {
    res.nsbox.push(await oursOnce(b));
    res['nsbox, limits'].push(await oursOnce(b, LIMITS));
    if (!runc) continue;
    res.runc.push(...(await peerBatch(runc.argv, 1, 1)).latencies);
    res['runc, limits'].push(...(await peerBatch(runc.argv.map((a) => (a === b.dir ? limited : a)), 1, 1)).latencies);
  }
  const live: Record<string, number[]> = { 'nsbox stats()': [], 'nsbox updateResources()': [] };
  const c = await createContainer({ command: ['/bin/sleep', '1000'], rootfs: b.rootfs, stdio: 'ignore', resources: LIMITS });
  await c.start();
  for (let i = 0; i < N; i++) {
    let t = process.hrtime.bigint();
    await c.stats();
    live['nsbox stats()'].push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    await c.updateResources(i % 2 ? LIMITS : { memory: { limit: 128 << 20 }, pids: { limit: 128 } });
    live['nsbox updateResources()'].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await c.destroy();
  if (runc) {
    const base = runc.argv.slice(0, runc.argv.indexOf('run'));
    live['runc update (its command line)'] = [];
    await peerBatch([...base, 'run', '-d', '--bundle', sleeper, 'limitsbench'], 1, 1);
    try {
      for (let i = 0; i < Math.min(N, 100); i++) {
        const [memory, pids] = i % 2 ? ['64m', '64'] : ['128m', '128'];
        live['runc update (its command line)'].push(...(await peerBatch([...base, 'update', '--memory', memory, '--pids-limit', pids, 'limitsbench'], 1, 1)).latencies);
      }
    } finally {
      await peerBatch([...base, 'delete', '--force', 'limitsbench'], 1, 1);
    }
  }
  return { res, live };
}

/**
 * Workload 8: the syscall filter. /bin/true under the default filter against the same
 * unconfined, interleaved; then a loop of 1e6 getpid (let through by the kernel's
 * seccomp cache) and 1e6 personality(0xffffffff) (the filter runs) inside, with nsbox
 * filtered and unconfined and each peer on the same config (Docker's semantics).
 */
async function seccompWork(b: Bundle, ps: Peer[]) {
  const runs: Record<string, number[]> = { 'nsbox, default filter': [], 'nsbox, unconfined': [] };
  for (let i = 0; i < N; i++) {
    runs['nsbox, default filter'].push(await oursOnce(b));
    let t = process.hrtime.bigint();
    const r = await run({ command: ['/bin/true'], rootfs: b.rootfs, stdio: 'ignore', seccomp: 'unconfined' });
    if (r.exitCode !== 0) throw new Error(`nsbox run: exit ${r.exitCode}`);
    runs['nsbox, unconfined'].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const loops: Record<string, { getpid: number[]; personality: number[] }> = {};
  const result = join(b.rootfs, 'tmp', 'sysloop.txt');
  const read = () => Number(readFileSync(result, 'utf8'));
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    for (const [which, key] of [[0, 'getpid'], [1, 'personality']] as const) {
      const argv = ['/bin/sysloop', '1000000', String(which), '/tmp/sysloop.txt'];
      for (const seccomp of ['default', 'unconfined'] as const) {
        const name = `nsbox, ${seccomp === 'default' ? 'default filter' : 'unconfined'}`;
        await run({ command: argv, rootfs: b.rootfs, stdio: 'ignore', seccomp });
        ((loops[name] ??= { getpid: [], personality: [] })[key]).push(read());
      }
      for (const p of ps.filter((x) => x.name === 'crun' || x.name === 'runc')) {
        const bundle = variantBundle(b, `sysloop-${p.name}-${round}-${which}`, (c) => { c.process.args = argv; });
        await peerBatch(p.argv.map((a) => (a === b.dir ? bundle : a)), 1, 1);
        ((loops[`${p.name}, the same filter`] ??= { getpid: [], personality: [] })[key]).push(read());
      }
    }
  }
  rmSync(result, { force: true });
  return { runs, loops };
}

/**
 * Workload 9: a user namespace. /bin/true with userns 'auto' (a free range found and
 * reserved, the maps written, the rootfs idmapped) against the same without, and the
 * peers with a user namespace: crun with the same maps in config.json, bwrap with
 * --unshare-user (root mapped to itself, no idmapped rootfs).
 */
async function usernsWork(b: Bundle, ps: Peer[]) {
  const runs: Record<string, number[]> = { 'nsbox': [], "nsbox, userns 'auto'": [] };
  const maps = [{ containerID: 0, hostID: 200000, size: 65536 }];
  const withUserns: [string, string[]][] = [];
  const crun = ps.find((p) => p.name === 'crun');
  if (crun) {
    const bundle = variantBundle(b, 'userns', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = maps;
      c.linux.gidMappings = maps;
    });
    withUserns.push(['crun, user namespace', crun.argv.map((a) => (a === b.dir ? bundle : a))]);
  }
  const bwrap = ps.find((p) => p.name === 'bwrap');
  if (bwrap) withUserns.push(['bwrap, --unshare-user', [bwrap.argv[0], '--unshare-user', '--uid', '0', '--gid', '0', ...bwrap.argv.slice(1)]]);
  const usable: [string, string[]][] = [];
  const skipped: string[] = [];
  for (const [name, argv] of withUserns) {
    try {
      await peerBatch(argv, 1, 1);
      usable.push([name, argv]);
      runs[name] = [];
    } catch (e) {
      log(`${name} skipped: ${(e as Error).message}`);
      // What the peer said, after the command line.
      skipped.push(`${name}: ${(e as Error).message.replace(/^.*?: exit \d+: /, '').trim()}`);
    }
  }
  for (let i = 0; i < N; i++) {
    runs.nsbox.push(await oursOnce(b));
    const t = process.hrtime.bigint();
    const r = await run({ command: ['/bin/true'], rootfs: b.rootfs, stdio: 'ignore', userns: 'auto' });
    if (r.exitCode !== 0) throw new Error(`nsbox run (userns): exit ${r.exitCode}`);
    runs["nsbox, userns 'auto'"].push(Number(process.hrtime.bigint() - t) / 1e6);
    for (const [name, argv] of usable) runs[name].push(...(await peerBatch(argv, 1, 1)).latencies);
  }
  return { runs, skipped };
}

function rssMb() {
  return process.memoryUsage().rss / 2 ** 20;
}

/** One create/destroy cycle; every other one starts the command and has unread stdio pipes. */
async function cycle(b: Bundle, i: number): Promise<void> {
  const c = await createContainer({ command: ['/bin/true'], rootfs: b.rootfs, stdio: i % 2 ? 'pipe' : 'ignore' });
  if (i % 2) {
    await c.start();
    await c.wait();
  }
  await c.destroy();
}

function memPoint(): MemPoint {
  return { rss: rssMb(), v8: getHeapStatistics().total_physical_size / 2 ** 20, fds: readdirSync('/proc/self/fd').length };
}
/** V8's heap in use after a full collection. */
function heapInUseMb(): number {
  global.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/**
 * Workload 6: what 1000 create/destroy cycles leave behind. Measured from a warm-up of
 * the same cycles, and from before it (after the other workloads, during which V8 may
 * have shrunk its new space), so that both the settling and any leak show. Full
 * collections are forced only before the warm-up and after the last cycle: each one
 * drops optimized code whose embedded objects it collected, and the recompilations
 * that follow grow the compiler thread's malloc arena (bench/README.md, point 7).
 */
async function cycles(b: Bundle): Promise<CycleResult> {
  const count = Math.max(200, Math.round((N * 10) / 3));
  const warmup = Math.round(count / 5);
  for (let i = 0; i < 20; i++) await oursOnce(b);
  const heapBefore = heapInUseMb();
  const cold = memPoint();
  for (let i = 0; i < warmup; i++) await cycle(b, i);
  const before = memPoint();
  // RSS along the way, to tell growth that levels off from a leak.
  const series: number[] = [];
  for (let i = 0; i < count; i++) {
    await cycle(b, i);
    if ((i + 1) % Math.round(count / 4) === 0) series.push(rssMb());
  }
  const after = memPoint();
  const h = hostInfo();
  const leftCgroups = [h.cgroup2Parent, h.devicesV1Parent].flatMap((p) => {
    try {
      return readdirSync(p!, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  });
  const leftMounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(h.stagingDir)).length;
  // As many cycles again: growth that goes on here would be a leak.
  for (let i = 0; i < count; i++) await cycle(b, i);
  const again = memPoint();
  return { count, warmup, cold, before, after, again, series, heapBefore, heapAfter: heapInUseMb(),
    leftCgroups: leftCgroups.length, leftMounts };
}

async function main() {
  ensureTools(log);
  const b = makeBundle();
  const stateDir = mkdtempSync(join(tmpdir(), 'nsbox-bench-state-'));
  runner = startPeerRunner();
  const ps = peers(b, stateDir);
  const usable: Peer[] = [];
  for (const p of ps) {
    try {
      await peerBatch(p.argv, 2, 1);
      usable.push(p);
    } catch (e) {
      log(`${p.name} skipped: ${(e as Error).message}`);
    }
  }
  log(`peers: ${usable.map((p) => p.name).join(', ')}; N=${N}`);
  const seq = await sequential(b, usable);
  log('sequential done');
  const conc = await concurrent(b, usable);
  log('concurrency 8 done');
  const mk = await mknodWork(b, usable, stateDir);
  log('mknodInside done');
  const allow = await allowWork(b);
  log('allowDevice done');
  const lim = await limitsWork(b, usable);
  log('limits done');
  const sc = await seccompWork(b, usable);
  log('seccomp done');
  const un = await usernsWork(b, usable);
  log('userns done');
  const cyc = await cycles(b);
  log('cycles done');
  runner.kill();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(b.dir, { recursive: true, force: true });

  const seqSum = Object.fromEntries(Object.entries(seq).map(([k, v]) => [k, summarize(v)])) as Record<string, Summary>;
  const thr = Object.fromEntries(Object.entries(conc.out).map(([k, v]) => [k, (v.done / v.wallMs) * 1000]));
  const mkSum = Object.fromEntries(Object.entries(mk.res).map(([k, v]) => [k, summarize(v)]));
  const allowSum = Object.fromEntries(Object.entries(allow).map(([k, v]) => [k, summarize(v)]));
  const limSum = Object.fromEntries(Object.entries(lim.res).map(([k, v]) => [k, summarize(v)]));
  const liveSum = Object.fromEntries(Object.entries(lim.live).map(([k, v]) => [k, summarize(v)]));
  const scSum = Object.fromEntries(Object.entries(sc.runs).map(([k, v]) => [k, summarize(v)]));
  const unSum = Object.fromEntries(Object.entries(un.runs).map(([k, v]) => [k, summarize(v)]));
  const median = (v: number[]) => [...v].sort((a, c) => a - c)[Math.floor(v.length / 2)];
  const loopSum = Object.fromEntries(Object.entries(sc.loops).map(([k, v]) => [k, { getpid: median(v.getpid), personality: median(v.personality) }]));
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, cgroups ${hostInfo().layout}, Node ${process.version}`;
  const json = { date: new Date().toISOString(), machine, n: N, peers: Object.fromEntries(usable.map((p) => [p.name, p.note])),
    sequential: seqSum, throughput: thr, eventLoop: { resolutionMs: LOOP_RESOLUTION_MS, recorded: { nsbox: conc.loop, ...conc.peerLoops, idle: conc.idle } }, mknod: mkSum, mknodPeer: mk.peerNote, allowDevice: allowSum, limits: limSum, liveLimits: liveSum, seccomp: scSum, syscallLoop: loopSum, userns: unSum, cycles: cyc };
  writeFileSync(join(__dirname, '..', '..', 'bench', 'results', 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);

  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const lines = [
    `# nsbox benchmark`, '', `${json.date}, ${machine}.`, '',
    ...targetLines(seqSum, thr, conc, mkSum, allowSum, cyc), '',
    `## run /bin/true, default profile, one after another (N=${N} each, interleaved)`, '',
    '| runtime | p50 ms | p90 ms | p99 ms | nsbox p50 / its p50 | throughput at concurrency 8 (/s) | nsbox / its throughput |',
    '|---|---|---|---|---|---|---|',
    ...Object.entries(seqSum).map(([k, s]) => `| ${k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${k === 'nsbox' ? '' : ratio(seqSum.nsbox.p50, s.p50)} | ${thr[k]?.toFixed(0)} | ${k === 'nsbox' ? '' : ratio(thr.nsbox, thr[k])} |`),
    '', ...usable.map((p) => `- ${p.name}: ${p.note}`), '- nsbox: in-process, busybox rootfs, mount/pid/uts/ipc/net/cgroup namespaces, cgroup2 BPF device rules, Docker\'s 14 capabilities, masked and read-only paths',
    '', `## The event loop at concurrency 8`, '',
    '| Node process | delay p50 ms | delay p99 ms | delay max ms | recorded p99 ms | timer callbacks |', '|---|---|---|---|---|---|',
    ...loopRows(conc),
    '', `Delay is what \`perf_hooks.monitorEventLoopDelay\` (resolution ${LOOP_RESOLUTION_MS} ms) records beyond its resolution: it records the ` +
      'time between its timer\'s callbacks, so a loop that is never late records the resolution. The peers are driven from ' +
      'Node\'s `child_process` in a second process, whose loop is measured the same way; where its timer ran only a few ' +
      'times, that loop hardly turned while the batch ran (bench/README.md says why). Of two rounds, the worse is shown.',
    '', '## A device node made inside a running container', '',
    '| how | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|',
    ...Object.entries(mkSum).map(([k, s]) => `| ${k === 'nsbox' ? 'nsbox mknodInside' : k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} |`),
    mk.peerNote ? `\n${mk.peerNote}.` : '',
    '', '## A device rule changed on a running container (allowDevice / denyDevice)', '',
    '| backend | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|',
    ...Object.entries(allowSum).map(([k, s]) => `| ${k === 'v2' ? 'cgroup2 BPF map, updated in place' : 'cgroup v1 devices'} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} |`),
    '', 'No peer changes the device rules of a running container from its command line: runc 1.1\'s `update --resources` takes a ' +
      'device rule, exits 0 and leaves the container\'s `devices.list` as it was; crun runs here without cgroups.',
    '', `## Limits: run /bin/true with memory 64 MiB and pids 64 (N=${N} each, interleaved)`, '',
    '| runtime | p50 ms | p90 ms | p99 ms | the limits cost at p50 |', '|---|---|---|---|---|',
    ...Object.entries(limSum).map(([k, s]) => {
      const plain = limSum[k.replace(', limits', '')];
      return `| ${k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${k.endsWith(', limits') ? `${(s.p50 - plain.p50) >= 0 ? '+' : ''}${ms(s.p50 - plain.p50)} ms` : ''} |`;
    }),
    '', 'nsbox writes memory.limit_in_bytes and pids.max (v1 here) before the clone; runc 1.1 writes the same ' +
      'files (v1 in its runner\'s mount namespace). crun runs here with `--cgroup-manager=disabled`, so it cannot apply limits and is left out.',
    '', '## Limits of a running container: reading and changing them', '',
    '| how | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|',
    ...Object.entries(liveSum).map(([k, s]) => `| ${k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} |`),
    '', 'stats() reads every figure of memory, CPU, pids, block I/O and huge pages; updateResources() changes the memory and pids ' +
      'limits (each value read first, for the rollback). runc update is a process started from Node, as a caller of its command line pays.',
    '', `## The syscall filter: run /bin/true with the default filter and without (N=${N} each, interleaved)`, '',
    '| how | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|',
    ...Object.entries(scSum).map(([k, s]) => `| ${k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} |`),
    '', '## A syscall loop inside: ns per call, median of 5 runs of 1e6 calls', '',
    '| who | getpid | personality(0xffffffff) |', '|---|---|---|',
    ...Object.entries(loopSum).map(([k, v]) => `| ${k} | ${v.getpid.toFixed(1)} | ${v.personality.toFixed(1)} |`),
    '', 'getpid is a call the default filter allows whatever its arguments, so the kernel\'s seccomp cache lets it through without running ' +
      'the filter; personality\'s argument is checked, so the filter runs on every call. The peers run the same config.json, with the ' +
      'default filter as OCI linux.seccomp (compiled by libseccomp there).',
    '', `## A user namespace: run /bin/true with one and without (N=${N} each, interleaved)`, '',
    '| how | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|',
    ...Object.entries(unSum).map(([k, s]) => `| ${k} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} |`),
    '', "nsbox's 'auto' finds and reserves a free range of 65536 ids (a file under /run/nsbox/userns), clones the init into the new " +
      'user namespace with the others, writes its maps, idmaps the rootfs for it and binds the host\'s /dev nodes; crun is given the same ' +
      'config.json with the same maps (no idmapped rootfs); bwrap maps root to itself. No rootless row: this library has no rootless mode yet.',
    ...(un.skipped.length ? ['', `Could not run here: ${un.skipped.join('; ')}.`] : []),
    '', `## ${cyc.count} create/destroy cycles`, '',
    ...cycleLines(cyc),
    '', '![latency](latency.svg)', '',
  ];
  writeFileSync(join(__dirname, '..', '..', 'bench', 'results', 'latest.md'), lines.join('\n'));
  writeFileSync(join(__dirname, '..', '..', 'bench', 'results', 'latency.svg'),
    latencySvg(`run /bin/true, default profile: latency (N=${N} each)`, Object.entries(seq).map(([name, values]) => ({ name, values }))));
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  runner?.kill();
  process.exit(1);
});
