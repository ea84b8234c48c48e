// What this host offers: the cgroup layout, the capability limits, and the
// directories the library owns. Read once, on first use.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import createDebug from 'debug';
import { ContainerError } from './errors';
import { removeStaleCgroups } from './cgroup';
import { pidStartTime } from './proc';

const debug = createDebug('nsbox:host');

export type CgroupLayout = 'unified' | 'hybrid' | 'legacy';
export type DeviceBackend = 'v1' | 'v2';

export interface HostInfo {
  layout: CgroupLayout;
  /** Mount point of the cgroup2 hierarchy, or null on a legacy host. */
  cgroup2: string | null;
  /** Mount point of the v1 devices controller, or null. */
  devicesV1: string | null;
  /** Every visible v1 hierarchy a limit may use, by controller. */
  v1: Readonly<Record<string, string>>;
  /** The library's parent cgroup directories. */
  cgroup2Parent: string | null;
  devicesV1Parent: string | null;
  lastCap: number;
  /** The runtime process's own bounding set. */
  capBounding: bigint;
  /** Where each container's root is assembled, inside its own mount namespace. */
  stagingDir: string;
  /** "<pid> <start time>" of this process: the marker on the cgroups of the containers it makes. */
  creator: string;
  /** The host's root directory, which a rootfs must never be. */
  root: { dev: bigint; ino: bigint };
  /** The LSMs that are on: a config's profile or label for one that is off is moot (as with runc). */
  lsm: HostLsm;
}

export interface HostLsm {
  apparmor: boolean;
  selinux: boolean;
}

/** Which of AppArmor and SELinux the kernel runs (their own files say so). */
export function detectLsm(): HostLsm {
  let apparmor = false;
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    // not built in or not loaded
  }
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce') };
}

/** Name of the library's parent cgroup under every hierarchy it uses. */
export const CGROUP_PARENT = 'nsbox';
export const STATE_DIR = '/run/nsbox';

interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** Parses /proc/self/mountinfo lines (pure, for tests). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const fields = pre.split(' ');
    const [fsType, , superOpts] = post.split(' ');
    out.push({
      id: Number(fields[0]), parent: Number(fields[1]), mountPoint: fields[4].replace(/\\040/g, ' '), fsType,
      superOptions: (superOpts ?? '').split(','),
    });
  }
  return out;
}

const within = (path: string, dir: string) => path === dir || dir === '/' || path.startsWith(`${dir}/`);

/**
 * The mounts a path lookup can reach: one is hidden when another mount, not one of its
 * own ancestors, sits on it or on a directory above it inside one of those ancestors
 * (cgroup2 mounted over /sys/fs/cgroup in a private mount namespace hides the v1
 * hierarchies below it, whose entries mountinfo still lists).
 */
export function visibleMounts(mounts: MountEntry[]): MountEntry[] {
  const byId = new Map(mounts.map((m) => [m.id, m]));
  return mounts.filter((e) => {
    const chain = new Set<number>([e.id]);
    for (let p = byId.get(e.parent); p && !chain.has(p.id); p = byId.get(p.parent)) chain.add(p.id);
    return !mounts.some((f) => !chain.has(f.id) && chain.has(f.parent) && within(e.mountPoint, f.mountPoint));
  });
}

/** The v1 controllers a resource limit may use. */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'hugetlb', 'freezer', 'devices'] as const;

/**
 * The visible v1 hierarchies (pure, for tests): each controller this library can use,
 * with its mount point ("cpu" and "cpuacct" share one where the host co-mounts them).
 */
export function v1Hierarchies(all: MountEntry[]): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of visibleMounts(all)) {
    if (m.fsType !== 'cgroup') continue;
    for (const c of V1_CONTROLLERS) if (m.superOptions.includes(c) && !(c in out)) out[c] = m.mountPoint;
  }
  return Object.freeze(out);
}

/** Decides the layout from the mount table (pure, for tests): the visible mounts only. */
export function detectCgroups(all: MountEntry[]): Pick<HostInfo, 'layout' | 'cgroup2' | 'devicesV1'> {
  const mounts = visibleMounts(all);
  const v2 = mounts.find((m) => m.fsType === 'cgroup2' && m.mountPoint.startsWith('/sys/fs/cgroup'));
  const devices = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('devices'));
  const layout: CgroupLayout = v2 && !devices ? 'unified' : v2 ? 'hybrid' : 'legacy';
  return { layout, cgroup2: v2?.mountPoint ?? null, devicesV1: devices?.mountPoint ?? null };
}

let cached: HostInfo | undefined;

export function hostInfo(): HostInfo {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new ContainerError('ERR_UNSUPPORTED', 'containers need Linux');
  if (process.getuid?.() !== 0) {
    throw new ContainerError('ERR_NOT_ROOT', 'creating containers needs root (rootless mode does not exist yet)');
  }
  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const cg = detectCgroups(mounts);
  const status = readFileSync('/proc/self/status', 'utf8');
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const info: HostInfo = {
    ...cg,
    v1: v1Hierarchies(mounts),
    cgroup2Parent: cg.cgroup2 ? `${cg.cgroup2}/${CGROUP_PARENT}` : null,
    devicesV1Parent: cg.devicesV1 ? `${cg.devicesV1}/${CGROUP_PARENT}` : null,
    lastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()),
    capBounding: bnd ? BigInt(`0x${bnd[1]}`) : 0n,
    stagingDir: `${STATE_DIR}/rootfs`,
    creator: `${process.pid} ${pidStartTime(process.pid)}`,
    root: (({ dev, ino }) => ({ dev, ino }))(statSync('/', { bigint: true })),
    lsm: detectLsm(),
  };
  // Where every container's root is assembled (inside its own mount namespace). The
  // parent cgroup directories are made and removed by the addon as containers come and go.
  // Searchable by every id (nothing in them can be listed): a user namespace's init, an
  // unprivileged host id, assembles the host's root view at the staging directory.
  mkdirSync(info.stagingDir, { recursive: true, mode: 0o711 });
  for (const d of [STATE_DIR, info.stagingDir]) chmodSync(d, 0o711);
  debug('host %o', { ...info, capBounding: info.capBounding.toString(16) });
  cached = info;
  removeStaleCgroups(info);
  return info;
}

/** The backend used when the spec does not force one. */
export function defaultDeviceBackend(h: HostInfo): DeviceBackend {
  return h.cgroup2 ? 'v2' : 'v1';
}
