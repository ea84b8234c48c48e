// User namespaces (pure): the spec's `userns`, checked and turned into the maps the
// addon writes for the init (/proc/<pid>/uid_map and gid_map). No syscalls here; the
// free ranges of 'auto' are found by lib/userns-ranges.ts.
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys, own } from './fields';

/** One line of a map: container ids containerID.. containerID+size-1 are host ids hostID.. (OCI's LinuxIDMapping). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/**
 * `'auto'`: a free range of 65536 ids (the caller's /etc/subuid and /etc/subgid entries
 * when it has some, else the library's own pool), the same for uids and gids, root
 * inside mapped to its first id. Or the maps themselves.
 */
export type UsernsSpec = 'auto' | {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /**
   * A directory rootfs is seen through an idmapped mount (true by default): its files
   * of host uid 0 are root's inside, and what root writes there is the host's uid 0's.
   * false: as it is on the host (files of unmapped ids read as nobody).
   */
  idmapRootfs?: boolean;
};

export interface ResolvedUserns {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  idmapRootfs: boolean;
}

/** The size of an 'auto' range: every id a distribution's image uses (nobody is 65534). */
export const AUTO_RANGE_SIZE = 65536;
/** The kernel takes at most this many lines per map (user_namespaces(7)). */
const MAX_LINES = 340;
const MAX_ID = 0xfffffffe;  // (uid_t)-1 is no id

function fail(message: string): never {
  throw new ContainerError('ERR_INVALID_SPEC', message);
}

function mappings(v: unknown, what: string): IdMapping[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LINES) fail(`${what} must be 1..${MAX_LINES} mappings, got ${quote(v)}`);
  const out = v.map((m, i) => {
    const w = `${what}[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(`${w} must be { containerID, hostID, size }, got ${quote(m)}`);
    onlyKnownKeys(m, ['containerID', 'hostID', 'size'], w, 'ERR_INVALID_SPEC');
    const [c, h, size] = [own(m, 'containerID'), own(m, 'hostID'), own(m, 'size')];
    for (const [k, x] of [['containerID', c], ['hostID', h]] as const) {
      if (!Number.isInteger(x) || (x as number) < 0 || (x as number) > MAX_ID) fail(`${w}.${k} must be an id 0..${MAX_ID}, got ${quote(x)}`);
    }
    if (!Number.isInteger(size) || (size as number) < 1) fail(`${w}.size must be a positive integer, got ${quote(size)}`);
    const r = { containerID: c as number, hostID: h as number, size: size as number };
    if (r.containerID + r.size - 1 > MAX_ID || r.hostID + r.size - 1 > MAX_ID) fail(`${w} runs past the last id ${MAX_ID}`);
    return r;
  });
  // The kernel refuses overlapping lines on either side; said here with the lines named.
  for (const side of ['containerID', 'hostID'] as const) {
    const sorted = out.map((m, i) => ({ m, i })).sort((a, b) => a.m[side] - b.m[side]);
    for (let k = 1; k < sorted.length; k++) {
      const [a, b] = [sorted[k - 1], sorted[k]];
      if (a.m[side] + a.m.size > b.m[side]) fail(`${what}[${a.i}] and ${what}[${b.i}] overlap in their ${side} ranges`);
    }
  }
  return out;
}

/** The id inside as the host sees it, or null when the map does not hold it. */
export function mapToHost(maps: readonly IdMapping[], id: number): number | null {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : null;
}

/**
 * Checks `userns` (undefined: none). The container's root must be mapped in both maps:
 * the init becomes it before anything else. `uid`, `gid` and `groups` (the command's)
 * must be mapped too, or setresuid would fail inside.
 */
export function resolveUserns(v: unknown, user: { uid: number; gid: number; groups: readonly number[] }): ResolvedUserns | 'auto' | null {
  if (v === undefined || v === null) return null;
  if (v === 'auto') return 'auto';
  if (typeof v !== 'object' || Array.isArray(v)) fail(`userns must be "auto" or { uidMappings, gidMappings }, got ${quote(v)}`);
  onlyKnownKeys(v, ['uidMappings', 'gidMappings', 'idmapRootfs'], 'userns', 'ERR_INVALID_SPEC');
  const idmap = own(v, 'idmapRootfs') ?? true;
  if (typeof idmap !== 'boolean') fail(`userns.idmapRootfs must be a boolean, got ${quote(idmap)}`);
  const r = { uidMappings: mappings(own(v, 'uidMappings'), 'userns.uidMappings'), gidMappings: mappings(own(v, 'gidMappings'), 'userns.gidMappings'), idmapRootfs: idmap };
  checkMapped(r, user);
  return r;
}

export function checkMapped(r: ResolvedUserns, user: { uid: number; gid: number; groups: readonly number[] }): void {
  const need: [IdMapping[], string, number][] = [
    [r.uidMappings, 'uidMappings', 0], [r.gidMappings, 'gidMappings', 0], [r.uidMappings, 'uidMappings', user.uid], [r.gidMappings, 'gidMappings', user.gid],
    ...user.groups.map((g): [IdMapping[], string, number] => [r.gidMappings, 'gidMappings', g]),
  ];
  for (const [maps, name, id] of need) {
    if (mapToHost(maps, id) === null) {
      fail(`userns.${name} must map container id ${id}${id === 0 ? ' (the container\'s root, which sets the container up)' : ' (the command\'s)'}`);
    }
  }
}

/** The maps of an 'auto' range: uids from host id `uid`, gids from `gid`. */
export function autoMaps(uid: number, gid: number): ResolvedUserns {
  const line = (hostID: number) => [{ containerID: 0, hostID, size: AUTO_RANGE_SIZE }];
  return { uidMappings: line(uid), gidMappings: line(gid), idmapRootfs: true };
}

/** A map as /proc/<pid>/uid_map takes it: one "inside outside count" line per mapping. */
export function formatMap(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** Why mknod fails in a user namespace, for explain() and mknodInside(). */
export const USERNS_MKNOD_REASON = 'mknod in a user namespace is refused by the kernel whatever the capabilities; pass the host\'s node instead ' +
  '(a node in the spec is bound from the host\'s at the same path)';
