// Capability names, normalization and the five sets. Pure: no syscalls; the host's
// limits (cap_last_cap, the runtime's own bounding set) are passed in.
import { ContainerError, quote } from '../errors';

/** Capability names indexed by number (include/uapi/linux/capability.h). */
export const CAPABILITY_NAMES: readonly string[] = Object.freeze([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
]);

export const CAPABILITY_SET_NAMES = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
export type CapabilitySetName = (typeof CAPABILITY_SET_NAMES)[number];

/** The five sets as capability names (any accepted spelling on input, CAP_* on output). */
export type CapabilitySets = Record<CapabilitySetName, readonly string[]>;
export type CapabilityMasks = Record<CapabilitySetName, bigint>;

/** Docker's and containerd's default set: the seed model of this library (CAP_MKNOD included). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
]);

/** What the kernel and the runtime's own process allow; from host.ts. */
export interface CapabilityLimits {
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** The runtime process's bounding set: a container cannot get more. */
  available: bigint;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest known name, for "did you mean" in errors. */
export function nearestCapability(name: string): string {
  const wanted = `CAP_${name.toUpperCase().replace(/^CAP_/, '')}`;
  let best = CAPABILITY_NAMES[0];
  let bestDistance = Infinity;
  for (const candidate of CAPABILITY_NAMES) {
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** 'CAP_SYS_ADMIN', 'SYS_ADMIN' and 'sys_admin' all become 'CAP_SYS_ADMIN'. */
export function normalizeCapability(name: unknown, lastCap = CAPABILITY_NAMES.length - 1): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
    throw new ContainerError('ERR_INVALID_CAPABILITY', `capability names are non-empty strings, got ${quote(name)}`);
  }
  const upper = name.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  const index = CAPABILITY_NAMES.indexOf(full);
  if (index < 0) {
    throw new ContainerError('ERR_INVALID_CAPABILITY',
      `unknown capability ${quote(name)}; did you mean ${nearestCapability(name)}?`);
  }
  if (index > lastCap) {
    throw new ContainerError('ERR_INVALID_CAPABILITY',
      `capability ${full} (${index}) is beyond this kernel's cap_last_cap (${lastCap})`);
  }
  return full;
}

// Profiles' lists are frozen and reused by every container: their masks are kept.
const maskCache = new WeakMap<readonly string[], Map<number | undefined, bigint>>();

export function toMask(names: readonly string[], lastCap?: number): bigint {
  const cached = Object.isFrozen(names) ? maskCache.get(names)?.get(lastCap) : undefined;
  if (cached !== undefined) return cached;
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(CAPABILITY_NAMES.indexOf(normalizeCapability(n, lastCap)));
  if (Object.isFrozen(names)) {
    let byLast = maskCache.get(names);
    if (!byLast) maskCache.set(names, (byLast = new Map()));
    byLast.set(lastCap, mask);
  }
  return mask;
}

export function fromMask(mask: bigint): string[] {
  return CAPABILITY_NAMES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** Every capability this kernel knows, as names. */
export function allCapabilities(lastCap: number): string[] {
  return CAPABILITY_NAMES.slice(0, lastCap + 1);
}

function validateList(value: unknown, set: string): readonly string[] {
  if (!Array.isArray(value) || value.length > 256) {
    throw new ContainerError('ERR_INVALID_CAPABILITY', `capabilities.${set} must be an array of names, got ${quote(value)}`);
  }
  return value;
}

/** A change in Docker's terms (--cap-add, --cap-drop), or a whole new list. */
export type CapabilityChange = { add?: readonly string[]; drop?: readonly string[] } | readonly string[];

function isAll(name: unknown): boolean {
  return typeof name === 'string' && name.toUpperCase() === 'ALL';
}

/**
 * Applies a change to a list of names as Docker does: add ALL is every capability
 * minus the drops; drop ALL keeps only the adds; otherwise the list minus the drops
 * plus the adds. Names are validated; the result is sorted by number.
 */
export function applyCapabilityChange(current: readonly string[], change: unknown, lastCap = CAPABILITY_NAMES.length - 1): string[] {
  const list = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > 256) {
      throw new ContainerError('ERR_INVALID_CAPABILITY', `${what} must be an array of capability names, got ${quote(v)}`);
    }
    return v.map((n) => (isAll(n) ? 'ALL' : normalizeCapability(n, lastCap)));
  };
  let result: string[];
  if (Array.isArray(change)) {
    result = list(change, 'capabilities');
    if (result.includes('ALL')) result = allCapabilities(lastCap);
  } else if (typeof change === 'object' && change !== null) {
    for (const key of Object.keys(change)) {
      if (key !== 'add' && key !== 'drop') {
        throw new ContainerError('ERR_INVALID_CAPABILITY', `a capability change has "add" and "drop", got ${quote(key)}`);
      }
    }
    const add = list((change as { add?: unknown }).add, 'add');
    const drop = list((change as { drop?: unknown }).drop, 'drop');
    if (add.includes('ALL') && drop.includes('ALL')) {
      throw new ContainerError('ERR_INVALID_CAPABILITY', 'add ALL and drop ALL together mean nothing');
    }
    const base = add.includes('ALL') ? allCapabilities(lastCap)
      : drop.includes('ALL') ? [] : current.includes('ALL') ? allCapabilities(lastCap) : current.map((n) => normalizeCapability(n, lastCap));
    result = [...base.filter((n) => !drop.includes(n)), ...add.filter((n) => n !== 'ALL')];
  } else {
    throw new ContainerError('ERR_INVALID_CAPABILITY', `a capability change is { add, drop } or a list, got ${quote(change)}`);
  }
  return fromMask(toMask(result, lastCap));
}

/**
 * Resolves the five sets: `override` replaces the named sets of `base`. The result is
 * checked against the kernel (names, cap_last_cap) and the runtime's own bounding set,
 * and for the kernel's rule that ambient ⊆ permitted ∩ inheritable. A profile's sets
 * are cut to what this process holds (a profile names what it wants at most); a set
 * the spec names must be held in full.
 */
export function resolveCapabilities(base: CapabilitySets, override: unknown, limits: CapabilityLimits): CapabilityMasks {
  if (override !== undefined && (typeof override !== 'object' || override === null || Array.isArray(override))) {
    throw new ContainerError('ERR_INVALID_CAPABILITY', `capabilities must be an object of sets, got ${quote(override)}`);
  }
  const given = (override ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(CAPABILITY_SET_NAMES as readonly string[]).includes(key)) {
      throw new ContainerError('ERR_INVALID_CAPABILITY',
        `unknown capability set ${quote(key)}; the sets are ${CAPABILITY_SET_NAMES.join(', ')}`);
    }
  }
  const masks = {} as CapabilityMasks;
  for (const set of CAPABILITY_SET_NAMES) {
    const fromSpec = Object.hasOwn(given, set);
    const list = fromSpec ? validateList(given[set], set) : base[set];
    // 'ALL' is every capability this process can hand on (Docker's --cap-add ALL).
    masks[set] = list.some(isAll) ? limits.available : toMask(list, limits.lastCap);
    if (!fromSpec) masks[set] &= limits.available;
    const missing = masks[set] & ~limits.available;
    if (missing) {
      throw new ContainerError('ERR_CAPABILITY_UNAVAILABLE',
        `capabilities.${set} asks for ${fromMask(missing).join(', ')}, which this process does not hold itself`);
    }
  }
  const stray = masks.ambient & ~(masks.permitted & masks.inheritable);
  if (stray) {
    throw new ContainerError('ERR_INVALID_CAPABILITY',
      `ambient capabilities must also be permitted and inheritable: ${fromMask(stray).join(', ')}`);
  }
  return masks;
}
