// The container's cgroup directories, on every hierarchy this library uses: where they
// are, the checks on directories a handle or a state file names, their processes, the
// freezer, kill, and the removal of the directories of containers that are gone. The
// addon makes the directories and writes the device rules (src-native/cgroup.cc,
// device_backend.h); everything the JavaScript side reads or writes in them is here.
import { constants as fsConstants, existsSync, type FSWatcher, readdirSync, readFileSync, realpathSync, rmdirSync, watch, writeFileSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import createDebug from 'debug';
import { ContainerError, fromNative, quote } from './errors';
import { CGROUP_PARENT, type DeviceBackend, type HostInfo } from './host';
import { pidStartTime } from './proc';
import { binding } from './native';
import { type ContainerStats, type ControllerPlaces, keyValues, readStats } from './cgroup-stats';
import {
  type CgroupWrite, type Controller, overlayResources, parseCpuList, resourceControllers, type ResourceHost, resourceWrites, type ResourcesSpec,
  V1_NAME, v1MemoryOrder,
} from './policy/resources';

const debug = createDebug('nsbox:cgroup');

/** A huge page size as the cgroup files name it: 2048 kB is "2MB", 1048576 kB "1GB". */
export function hugepageSizeName(kB: number): string {
  return kB % (1 << 20) === 0 ? `${kB >> 20}GB` : kB % 1024 === 0 ? `${kB >> 10}MB` : `${kB}KB`;
}

function readList(file: string, fallback: string): Set<number> {
  let text = fallback;
  try {
    text = readFileSync(file, 'utf8').trim() || fallback;
  } catch {
    // no such file: a machine without NUMA nodes has node 0 alone
  }
  return parseCpuList(text, file);
}

let resourceHostCache: ResourceHost | undefined;

/** What limits can use here: controllers on cgroup2 and on v1, online CPUs and memory nodes, huge page sizes. Read once. */
export function resourceHost(h: HostInfo): ResourceHost {
  if (resourceHostCache) return resourceHostCache;
  let v2: string[] = [];
  try {
    if (h.cgroup2) v2 = readFileSync(`${h.cgroup2}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // a cgroup2 mount without the file: no controllers
  }
  let sizes: string[] = [];
  try {
    sizes = readdirSync('/sys/kernel/mm/hugepages').map((d) => /^hugepages-(\d+)kB$/.exec(d)).filter((m) => m !== null)
      .map((m) => hugepageSizeName(Number(m![1])));
  } catch {
    // no huge pages configured
  }
  resourceHostCache = Object.freeze({
    v2: new Set(v2), v1: new Set(Object.keys(h.v1)), cpus: readList('/sys/devices/system/cpu/online', '0'),
    mems: readList('/sys/devices/system/node/online', '0'), hugepageSizes: sizes,
  });
  return resourceHostCache;
}

/** A container's directories, as handles and state files name them ('' where it has none). */
export interface CgroupDirs {
  cgroupV2Dir: string;
  /** The v1 devices directory, on the v1 device backend. */
  cgroupV1Devices: string;
  /**
   * Every other v1 hierarchy the host mounts (memory, cpu, cpuacct, cpuset, pids, blkio,
   * hugetlb, freezer), by controller: the container's processes are in each, so its
   * limits apply there and monitoring tools find its own figures.
   */
  cgroupV1: Record<string, string>;
}

/**
 * Where a container's path starts in each hierarchy, as a path below its root ('' for the
 * root itself): cgroup2 as "v2", each v1 controller by name (devices included).
 */
export interface CgroupBase {
  v2: string;
  v1: Record<string, string>;
}

export const ROOT_BASE: CgroupBase = Object.freeze({ v2: '', v1: Object.freeze({}) as Record<string, string> });

/**
 * The creating process's own cgroup in each hierarchy (/proc/self/cgroup): the start of
 * a path given relative to it (OCI's relative linux.cgroupsPath, as runc reads it).
 */
export function ownCgroupBase(host: HostInfo, text = readFileSync('/proc/self/cgroup', 'utf8')): CgroupBase {
  const base: CgroupBase = { v2: '', v1: {} };
  for (const line of text.split('\n')) {
    const [, controllers, ...rest] = line.split(':');
    if (controllers === undefined) continue;
    const path = rest.join(':').replace(/^\/+|\/+$/g, '');
    if (controllers === '') base.v2 = path;
    else for (const c of controllers.split(',')) if (c in host.v1) base.v1[c] = path;
  }
  return base;
}

const below = (mount: string, base: string | undefined, path: string): string => [mount, base, path].filter((p) => p).join('/');

/** The directories of a container at `path` (below each hierarchy's `base`, its root by default). */
export function cgroupDirs(path: string, host: HostInfo, backend: DeviceBackend, base: CgroupBase = ROOT_BASE): CgroupDirs {
  const cgroupV1: Record<string, string> = {};
  for (const [controller, mount] of Object.entries(host.v1)) if (controller !== 'devices') cgroupV1[controller] = below(mount, base.v1[controller], path);
  return {
    cgroupV2Dir: host.cgroup2 ? below(host.cgroup2, base.v2, path) : '',
    cgroupV1Devices: backend === 'v1' && host.devicesV1 ? below(host.devicesV1, base.v1.devices, path) : '',
    cgroupV1,
  };
}

/** Every v1 directory once (co-mounted controllers share one), the devices one first. */
export function v1DirList(dirs: CgroupDirs): string[] {
  return [...new Set([dirs.cgroupV1Devices, ...Object.values(dirs.cgroupV1)].filter((d) => d !== ''))];
}

interface Hierarchy {
  key: string;
  dir: unknown;
  mount: string | null;
  controller: string | null;
}

/** Each directory with the hierarchy it must lie in and the controller that names it in /proc/<pid>/cgroup. */
function hierarchies(dirs: CgroupDirs, host: HostInfo): Hierarchy[] {
  return [
    { key: 'cgroupV2Dir', dir: dirs.cgroupV2Dir, mount: host.cgroup2, controller: null },
    { key: 'cgroupV1Devices', dir: dirs.cgroupV1Devices, mount: host.devicesV1, controller: 'devices' },
    ...Object.entries(dirs.cgroupV1 ?? {}).map(([c, dir]) => ({
      key: `cgroupV1.${c}`, dir: dir as unknown, mount: c === 'devices' ? null : host.v1[c] ?? null, controller: c,
    })),
  ];
}

/**
 * Directories named by a handle or a state file, checked before anything is written
 * through them (cgroup.freeze, cgroup.kill, rmdir): each '' or a directory strictly
 * below its hierarchy's mount, spelt without "..", ".", "//" or a symlink. One that no
 * longer exists is fine here: nothing is written through it. `bad` throws the caller's error.
 */
export function checkCgroupDirs(dirs: CgroupDirs, host: HostInfo, bad: (message: string) => never): void {
  const v1 = dirs.cgroupV1 as unknown;
  if (typeof v1 !== 'object' || v1 === null || Array.isArray(v1)) bad(`bad cgroupV1 ${quote(v1)}: an object of controller: directory`);
  for (const { key, dir, mount } of hierarchies(dirs, host)) {
    if (dir === '') continue;
    const fail = (why: string): never => bad(`bad ${key} ${quote(dir)}: ${why}`);
    if (typeof dir !== 'string') fail('not a string');
    if (!mount) return fail('this host has no such hierarchy');
    const d = dir as string;
    if (!d.startsWith(`${mount}/`) || d.length <= mount.length + 1) fail(`not a directory below ${mount}`);
    if (d.slice(mount.length + 1).split('/').some((c) => c === '' || c === '.' || c === '..')) fail('not a plain path');
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      continue;
    }
    if (real !== d) fail(`it resolves to ${quote(real)}`);
  }
}

/**
 * And, for a live container, that its init `pid` is a member of the directory that
 * lists its processes (/proc/<pid>/cgroup), which ties the directories to the container.
 * In the other hierarchies the init may have been moved by someone else (a host agent
 * may put it in a cgroup of its own, as the runtime spec allows); there each directory
 * must be the init's or the one at the same path below that hierarchy's root, so that
 * a handle can name no cgroup but the container's own.
 */
export function checkCgroupMembers(dirs: CgroupDirs, host: HostInfo, pid: number, bad: (message: string) => never): void {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':'));
  const all = hierarchies(dirs, host).filter((h) => h.dir !== '');
  const primary = all.find((h) => h.key === 'cgroupV2Dir') ?? all.find((h) => h.key === 'cgroupV1Devices');
  const member = ({ dir, mount, controller }: Hierarchy): boolean => {
    const own = lines.find(([, c]) => (c !== undefined && (controller === null ? c === '' : c.split(',').includes(controller))));
    return own !== undefined && `${mount}${own.slice(2).join(':')}` === dir;
  };
  if (primary && !member(primary)) bad(`bad ${primary.key} ${quote(primary.dir)}: pid ${pid} is not in it`);
  const path = primary ? (primary.dir as string).slice((primary.mount as string).length) : null;
  for (const h of all) {
    if (h === primary || member(h)) continue;
    if (path === null || h.dir !== `${h.mount}${path}`) bad(`bad ${h.key} ${quote(h.dir)}: pid ${pid} is not in it`);
  }
}

/** The directory whose cgroup.procs lists every process of the container. */
function procsDir(dirs: CgroupDirs, id: string): string {
  const dir = dirs.cgroupV2Dir || dirs.cgroupV1Devices;
  if (!dir) throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `container ${id}: it has no cgroup to list`);
  return dir;
}

/** The host pids of every process in the container's cgroup. */
export async function cgroupProcesses(dirs: CgroupDirs, id: string): Promise<number[]> {
  const text = await readFile(`${procsDir(dirs, id)}/cgroup.procs`, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENODEV') return '';
    throw fromNative(e, `container ${id}: processes`);
  });
  return text.split('\n').filter(Boolean).map(Number);
}

const FROZEN = /^frozen 1$/m;

/** True while the container's cgroup2 directory is frozen (its cgroup.events says so). */
export async function cgroupFrozen(dirs: CgroupDirs): Promise<boolean> {
  if (!dirs.cgroupV2Dir) return false;
  return FROZEN.test(await readFile(`${dirs.cgroupV2Dir}/cgroup.events`, 'utf8').catch(() => ''));
}

/** The same, for the runtime command line's state, which is answered without waiting. */
export function cgroupFrozenSync(dirs: CgroupDirs): boolean {
  if (!dirs.cgroupV2Dir) return false;
  try {
    return FROZEN.test(readFileSync(`${dirs.cgroupV2Dir}/cgroup.events`, 'utf8'));
  } catch {
    return false;
  }
}

/** Freezes (or thaws) every process of the container, and waits until the kernel says it is done. */
export async function freezeCgroup(dirs: CgroupDirs, id: string, on: boolean): Promise<void> {
  if (!dirs.cgroupV2Dir) {
    throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `container ${id}: pausing needs the cgroup2 freezer, and this host has no cgroup2 hierarchy`);
  }
  try {
    await writeFile(`${dirs.cgroupV2Dir}/cgroup.freeze`, on ? '1' : '0');
  } catch (e) {
    throw fromNative(e, `container ${id}: ${dirs.cgroupV2Dir}/cgroup.freeze`);
  }
  // The write asks; cgroup.events says when every task has stopped (or runs again).
  for (let i = 0; i < 500; i++) {
    if ((await cgroupFrozen(dirs)) === on) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new ContainerError('ETIMEDOUT', `container ${id}: the cgroup did not ${on ? 'freeze' : 'thaw'} within 1 s`);
}

/**
 * Sends `sig` to every process of the container (runc kill --all): SIGKILL through
 * cgroup.kill where the host has it (no process can fork away from it), else one by one.
 */
export async function signalCgroup(dirs: CgroupDirs, id: string, sig: number, SIGKILL: number): Promise<void> {
  if (sig === SIGKILL && dirs.cgroupV2Dir && existsSync(`${dirs.cgroupV2Dir}/cgroup.kill`)) {
    writeFileSync(`${dirs.cgroupV2Dir}/cgroup.kill`, '1');
    return;
  }
  for (const pid of await cgroupProcesses(dirs, id)) {
    try {
      process.kill(pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/**
 * What is left of a dead container's cgroups: processes that outlived its init are
 * killed, the directories removed. The init is gone, so membership cannot be checked:
 * the paths' form can, and the id the create marked each directory with. A directory
 * with no marker (a hierarchy without xattrs, or named by a tampered state file) is
 * left alone: killing it could end a service.
 */
export async function releaseDeadCgroups(dirs: CgroupDirs, id: string, host: HostInfo, bad: (message: string) => never): Promise<void> {
  checkCgroupDirs(dirs, host, bad);
  const unmarked = new Set<unknown>();
  for (const { key, dir } of hierarchies(dirs, host)) {
    if (dir === '' || !existsSync(dir as string)) continue;
    const marked = binding.cgroupMarkers(dir as string).id;
    if (marked === '') {
      debug('%s: %s carries no marker of this library: left alone', id, dir);
      unmarked.add(dir);
    } else if (marked !== id) {
      bad(`bad ${key} ${quote(dir)}: not the cgroup this library made for container ${id}`);
    }
  }
  try {
    await binding.releaseCgroups(unmarked.has(dirs.cgroupV2Dir) ? '' : dirs.cgroupV2Dir, v1DirList(dirs).filter((d) => !unmarked.has(d)));
  } catch (e) {
    throw fromNative(e, `container ${id}`);
  }
}

/** The library's parent directory on every hierarchy it uses. */
export function libraryParents(h: HostInfo): string[] {
  return [...new Set([h.cgroup2Parent, h.devicesV1Parent, ...Object.values(h.v1).map((m) => `${m}/${CGROUP_PARENT}`)]
    .filter((p): p is string => !!p))];
}

/**
 * Removes the cgroup directories of containers whose creator died without destroy():
 * under the library's parents only, and only those that carry a creator marker
 * (trusted.nsbox.creator, set when a container that dies with its creator is made)
 * naming a process that is provably gone (no such pid, or another start time) and
 * that hold no process. Detached containers, other processes' live ones and
 * directories made by anyone else carry no such proof and stay. `only` narrows it to
 * some ids. Returns what it removed.
 */
export function removeStaleCgroups(h: HostInfo, only?: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const parent of libraryParents(h)) {
    if (!parent) continue;
    let entries: string[];
    try {
      entries = readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (only && !only.has(name)) continue;
      const dir = `${parent}/${name}`;
      try {
        const [pid, start] = binding.cgroupMarkers(dir).creator.split(' ');
        if (!pid || !start || pidStartTime(Number(pid)) === start) continue;
        if (readFileSync(`${dir}/cgroup.procs`, 'utf8').trim() !== '') continue;
        rmdirSync(dir);
        removed.push(dir);
      } catch (e) {
        debug('stale cgroup %s: %s', dir, (e as Error).message);
      }
    }
    try {
      rmdirSync(parent);
    } catch {
      // Still in use, or gone already.
    }
  }
  if (removed.length) debug('removed stale cgroups %o', removed);
  return removed;
}

/** The subtree_control writes that hand `controllers` down to the directory at `cgroupPath`, from the root down. */
function enableWrites(controllers: readonly string[], cgroupPath: string, host: HostInfo): { path: string; value: string }[] {
  const out: { path: string; value: string }[] = [];
  const parts = cgroupPath.split('/');
  for (let i = 0; i < parts.length; i++) {
    const dir = [host.cgroup2, ...parts.slice(0, i)].join('/');
    for (const c of controllers) out.push({ path: `${dir}/cgroup.subtree_control`, value: `+${c}` });
  }
  return out;
}

/** `writes` as absolute paths in the container's directories; v1 memory ordered against the limit in force. */
function placeWrites(v2: readonly CgroupWrite[], v1: readonly CgroupWrite[], dirs: CgroupDirs, currentMemoryLimit: bigint): { path: string; value: string }[] {
  const out: { path: string; value: string }[] = [];
  const at = (w: CgroupWrite, dir: string | undefined) => {
    if (!dir) throw new ContainerError('ERR_CGROUP_UNAVAILABLE', `resources: the ${w.controller} controller has no directory of this container's`);
    out.push({ path: `${dir}/${w.file}`, value: w.value });
  };
  for (const w of v2) at(w, dirs.cgroupV2Dir);
  for (const w of v1MemoryOrder(v1, currentMemoryLimit)) at(w, dirs.cgroupV1[V1_NAME[w.controller]]);
  return out;
}

/**
 * The files a container's limits take, as absolute paths in its own directories, in
 * order; checked against what this host offers before anything is created. cgroup2
 * controllers are first enabled for the directories above the container's
 * (cgroup.subtree_control, from the hierarchy's root down), as a child only has the
 * controllers its parent hands on.
 */
export function limitWrites(resources: ResourcesSpec, cgroupPath: string, dirs: CgroupDirs, host: HostInfo): { path: string; value: string }[] {
  const { v2, v1 } = resourceWrites(resources, resourceHost(host));
  // A fresh directory has no limit: memory.limit_in_bytes goes before memsw.
  return [...enableWrites([...new Set(v2.map((w) => w.controller))], cgroupPath, host), ...placeWrites(v2, v1, dirs, 2n ** 63n)];
}

/**
 * A limit's file that the kernel does not have (a unified key it lacks, a setting of
 * a newer kernel): the spec's error, once the kernel has said so.
 */
export function missingCgroupFile(path: string, cause: unknown): ContainerError {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return new ContainerError('ERR_INVALID_RESOURCES', `resources: this kernel has no cgroup file ${quote(file)} (${path})`, { cause, path, errno: 2 });
}

async function writeCgroupFile(path: string, value: string): Promise<void> {
  // O_NOFOLLOW: cgroupfs has no symlinks, so one here is not the kernel's file.
  const fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW);
  try {
    await fh.write(value);
  } finally {
    await fh.close();
  }
}

/**
 * Applies a live change of limits (`overlayResources`: field by field on top of
 * `current`) to a running container's directories, and returns the limits now in
 * force. Only the controllers the change touches are written, each with its whole
 * setting (a new quota keeps the period in force). All or nothing as far as the
 * kernel allows: each file's value is read before it is written, and when a write
 * fails the files already written get their values back, in reverse order (as runc
 * sets the old resources again); a file of several lines (io.max) is not restored.
 */
export async function updateLimits(dirs: CgroupDirs, current: ResourcesSpec, change: unknown, host: HostInfo, id: string): Promise<ResourcesSpec> {
  const { merged, changed } = overlayResources(current, change);
  const touched = new Set(resourceControllers(changed));
  const all = resourceWrites(merged, resourceHost(host));
  const v2 = all.v2.filter((w) => touched.has(w.controller));
  const v1 = all.v1.filter((w) => touched.has(w.controller));
  const memoryDir = dirs.cgroupV1.memory;
  const limitNow = v1.some((w) => w.controller === 'memory') && memoryDir
    ? BigInt((await readFile(`${memoryDir}/memory.limit_in_bytes`, 'utf8').catch(() => '')).trim() || String(2n ** 63n)) : 2n ** 63n;
  const v2Controllers = [...new Set(v2.map((w) => w.controller))];
  const writes = [
    ...(v2Controllers.length && host.cgroup2 ? enableWrites(v2Controllers, dirs.cgroupV2Dir.slice(host.cgroup2.length + 1), host) : []),
    ...placeWrites(v2, v1, dirs, limitNow),
  ];
  const done: { path: string; before: string | null }[] = [];
  for (const w of writes) {
    const before = w.path.endsWith('/cgroup.subtree_control') ? null : (await readFile(w.path, 'utf8').catch(() => '')).trim();
    try {
      await writeCgroupFile(w.path, w.value);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      for (const d of done.reverse()) {
        if (d.before === null || d.before === '' || d.before.includes('\n')) continue;
        await writeCgroupFile(d.path, d.before).catch((re) => debug('%s: restoring %s = %s failed: %s', id, d.path, d.before, re));
      }
      if (err.code === 'ENOENT') throw missingCgroupFile(w.path, err);
      throw new ContainerError(err.code ?? 'ERR_INTERNAL', `container ${id}: updating limits: write ${w.path} = ${w.value}: ${err.message}`,
        { errno: err.errno === undefined ? undefined : -err.errno, syscall: err.syscall ?? 'write', step: 'cgroup-update', path: w.path });
    }
    done.push({ path: w.path, before });
  }
  debug('%s: limits updated %o', id, writes);
  return merged;
}

/**
 * A container's figures, each from the hierarchy its controller is on here (cgroup2,
 * or the container's own directory in the v1 one). The files are read off the event
 * loop's thread (fs.promises), then parsed (cgroup-stats.ts).
 */
export async function cgroupStats(dirs: CgroupDirs, host: HostInfo): Promise<ContainerStats> {
  const rh = resourceHost(host);
  const places: ControllerPlaces = {};
  const dirOf = (c: Controller | 'cpuacct'): string | undefined =>
    (places[c] === 'v2' ? dirs.cgroupV2Dir : dirs.cgroupV1[c === 'cpuacct' ? 'cpuacct' : V1_NAME[c]]);
  for (const c of ['memory', 'cpu', 'pids', 'io', 'hugetlb'] as const) {
    if (dirs.cgroupV2Dir && rh.v2.has(c)) places[c] = 'v2';
    else if (dirs.cgroupV1[V1_NAME[c]]) places[c] = 'v1';
  }
  if (places.cpu !== 'v2' && dirs.cgroupV1.cpuacct) places.cpuacct = 'v1';
  // cgroup2's cpu.stat has the usage in every directory, with or without the cpu
  // controller: a unified host whose cpu controller is elsewhere still counts CPU time.
  if (!places.cpu && !places.cpuacct && dirs.cgroupV2Dir) places.cpu = 'v2';
  // Which files the parser reads, then each read once: a first pass asks for every one.
  const wanted = new Set<string>();
  readStats((c, file) => {
    const dir = dirOf(c);
    if (dir) wanted.add(`${dir}/${file}`);
    return '0';
  }, places, rh.hugepageSizes);
  const texts = new Map<string, string>();
  await Promise.all([...wanted].map(async (path) => {
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text !== null) texts.set(path, text);
  }));
  return readStats((c, file) => {
    const dir = dirOf(c);
    return dir ? texts.get(`${dir}/${file}`) ?? null : null;
  }, places, rh.hugepageSizes);
}

/** How many processes the kernel's OOM killer killed in the container's memory cgroup (0 without one). */
export async function oomKills(dirs: CgroupDirs, host: HostInfo): Promise<number> {
  const onV2 = dirs.cgroupV2Dir && resourceHost(host).v2.has('memory');
  const file = onV2 ? `${dirs.cgroupV2Dir}/memory.events` : dirs.cgroupV1.memory ? `${dirs.cgroupV1.memory}/memory.oom_control` : null;
  if (!file) return 0;
  return keyValues(await readFile(file, 'utf8').catch(() => null)).get('oom_kill') ?? 0;
}

/** How often the v1 OOM counter is read while someone listens: v1 notifies only through an eventfd. */
const OOM_POLL_MS = 100;

/**
 * Calls `onKills(new, total)` each time the kernel's OOM killer kills in the
 * container's memory cgroup, until the returned stop() is called. cgroup2 notifies
 * changes of memory.events (inotify); the v1 counter is read every OOM_POLL_MS.
 * Reads go through fs.promises, off the event loop's thread, one at a time.
 */
export function watchOomKills(dirs: CgroupDirs, host: HostInfo, onKills: (kills: number, total: number) => void): () => void {
  let stopped = false;
  let last: number | undefined;
  let reading = false;
  let again = false;
  const check = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    do {
      again = false;
      const total = await oomKills(dirs, host);
      if (stopped) break;
      if (last !== undefined && total > last) onKills(total - last, total);
      last = Math.max(last ?? 0, total);
    } while (again && !stopped);
    reading = false;
  };
  const onV2 = dirs.cgroupV2Dir && resourceHost(host).v2.has('memory');
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (onV2) {
    try {
      watcher = watch(`${dirs.cgroupV2Dir}/memory.events`, { persistent: false }, () => void check());
      watcher.on('error', () => undefined);
    } catch {
      // no inotify here: the counter is read as on v1
    }
  }
  if (!watcher && (onV2 || dirs.cgroupV1.memory)) timer = setInterval(() => void check(), OOM_POLL_MS).unref();
  void check();
  return () => {
    stopped = true;
    watcher?.close();
    if (timer) clearInterval(timer);
  };
}
