// 'auto' user namespaces: a free range of host ids for each container, reserved by a
// file under /run/nsbox/userns (created with O_EXCL, so two creators never take the
// same one) that names the container and its cgroup directory. A reservation is
// released when the container is destroyed or deleted, and is free again once its
// cgroup directory is gone and it is older than a create could take (a creator that
// died in between left it).
import { readFile, stat, unlink, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ContainerError, quote } from './errors';
import { AUTO_RANGE_SIZE, autoMaps, type ResolvedUserns } from './policy/userns';

export const RANGES_DIR = '/run/nsbox/userns';
/** The library's own pool when the caller has no /etc/subuid and /etc/subgid entries: below 2^31, where every tool takes ids. */
export const DEFAULT_POOL = { start: 1_000_000_000, count: 16384 * AUTO_RANGE_SIZE };
const STALE_MS = 60_000;

interface Range { start: number; count: number }

/** The caller's ranges in a subid file ("name-or-uid:start:count" lines). */
export function subidRanges(text: string, user: string, uid: number): Range[] {
  return text.split('\n').map((l) => l.trim().split(':')).filter((f) => f.length === 3 && (f[0] === user || f[0] === String(uid)))
    .map(([, s, c]) => ({ start: Number(s), count: Number(c) })).filter((r) => Number.isInteger(r.start) && Number.isInteger(r.count) && r.count > 0);
}

/** NSBOX_USERNS_POOL="start:count" (whole ranges of 65536 are used). */
export function poolFromEnv(v: string | undefined): Range | null {
  if (!v) return null;
  const m = /^(\d+):(\d+)$/.exec(v);
  const r = m ? { start: Number(m[1]), count: Number(m[2]) } : null;
  if (!r || r.count < AUTO_RANGE_SIZE || r.start + r.count - 1 > 0xfffffffe) {
    throw new ContainerError('ERR_INVALID_SPEC', `NSBOX_USERNS_POOL must be "start:count" with count at least ${AUTO_RANGE_SIZE}, got ${quote(v)}`);
  }
  return r;
}

/** The starts of the 65536-id slots of some ranges, in order. */
function slots(ranges: Range[]): number[] {
  const out: number[] = [];
  for (const r of ranges) for (let s = r.start; s + AUTO_RANGE_SIZE <= r.start + r.count; s += AUTO_RANGE_SIZE) out.push(s);
  return out;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Where 'auto' ranges come from: the caller's subuid and subgid entries when it has both, else the pool. */
export function autoSlots(): { uid: number[]; gid: number[]; from: string } {
  const pool = poolFromEnv(process.env.NSBOX_USERNS_POOL);
  if (pool) return { uid: slots([pool]), gid: slots([pool]), from: 'NSBOX_USERNS_POOL' };
  const { username, uid } = userInfo();
  const u = slots(subidRanges(readOr('/etc/subuid'), username, uid));
  const g = slots(subidRanges(readOr('/etc/subgid'), username, uid));
  if (u.length && g.length) return { uid: u, gid: g, from: '/etc/subuid and /etc/subgid' };
  return { uid: slots([DEFAULT_POOL]), gid: slots([DEFAULT_POOL]), from: 'the library\'s pool' };
}

async function isStale(file: string): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const { cgroup } = JSON.parse(text) as { cgroup?: string };
    if (Date.now() - st.mtimeMs < STALE_MS) return false;
    return !cgroup || !(await stat(cgroup).then(() => true, () => false));
  } catch {
    return false;
  }
}

/**
 * Reserves a free range for container `id`, whose cgroup directory will be `cgroup`.
 * Returns its maps and the reservation's path (released with releaseRange).
 */
export async function reserveRange(id: string, cgroup: string): Promise<{ maps: ResolvedUserns; reservation: string }> {
  const { uid, gid, from } = autoSlots();
  const n = Math.min(uid.length, gid.length);
  if (n === 0) throw new ContainerError('ERR_USERNS_EXHAUSTED', `userns "auto": ${from} holds no range of ${AUTO_RANGE_SIZE} ids`);
  await mkdir(RANGES_DIR, { recursive: true, mode: 0o700 });
  // From a random slot, so that creators rarely race for the same one.
  const first = Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const i = (first + k) % n;
    const file = `${RANGES_DIR}/${uid[i]}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(file, JSON.stringify({ id, cgroup }), { flag: 'wx', mode: 0o600 });
        return { maps: autoMaps(uid[i], gid[i]), reservation: file };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (attempt > 0 || !(await isStale(file))) break;
        await unlink(file).catch(() => undefined);
      }
    }
  }
  throw new ContainerError('ERR_USERNS_EXHAUSTED', `userns "auto": every range of ${from} is taken by a live container (${n} of ${AUTO_RANGE_SIZE} ids)`);
}

/** A reservation's path, as a handle names it: checked before anything is removed through it. */
export function isReservation(p: unknown): p is string {
  return typeof p === 'string' && new RegExp(`^${RANGES_DIR}/\\d{1,10}$`).test(p);
}

export async function releaseRange(reservation: string | null | undefined): Promise<void> {
  if (isReservation(reservation)) await unlink(reservation).catch(() => undefined);
}
