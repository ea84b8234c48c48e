// Process-level settings a spec can carry besides capabilities: resource limits,
// namespaced sysctls and the cgroup path. Pure validation, no system calls.
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys } from './fields';

/** The RLIMIT_* numbers of Linux on x86_64. */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
});
export const RLIM_INFINITY = 2n ** 64n - 1n;

export type RlimitName = keyof typeof RLIMITS & string;

export interface RlimitSpec {
  /** 'RLIMIT_NOFILE', or 'NOFILE'. */
  type: string;
  /** A number, a bigint, or 'unlimited'. */
  soft: number | bigint | 'unlimited';
  hard: number | bigint | 'unlimited';
}

export interface ResolvedRlimit {
  type: string;
  resource: number;
  soft: bigint;
  hard: bigint;
}

function limitValue(v: unknown, what: string): bigint {
  if (v === 'unlimited') return RLIM_INFINITY;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= RLIM_INFINITY) return v;
  throw new ContainerError('ERR_INVALID_SPEC', `${what} must be a non-negative integer or "unlimited", got ${quote(v)}`);
}

export function resolveRlimits(v: unknown): ResolvedRlimit[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ContainerError('ERR_INVALID_SPEC', `rlimits must be an array, got ${quote(v)}`);
  const seen = new Set<string>();
  return v.map((l, i) => {
    if (typeof l !== 'object' || l === null) throw new ContainerError('ERR_INVALID_SPEC', `rlimits[${i}] must be { type, soft, hard }, got ${quote(l)}`);
    const o = l as Record<string, unknown>;
    onlyKnownKeys(o, ['type', 'soft', 'hard'], `rlimits[${i}]`, 'ERR_INVALID_SPEC');
    const raw = typeof o.type === 'string' ? o.type.toUpperCase() : '';
    const type = raw.startsWith('RLIMIT_') ? raw : `RLIMIT_${raw}`;
    if (!Object.hasOwn(RLIMITS, type)) {
      throw new ContainerError('ERR_INVALID_SPEC', `rlimits[${i}].type: unknown resource ${quote(o.type)}; known: ${Object.keys(RLIMITS).join(', ')}`);
    }
    if (seen.has(type)) throw new ContainerError('ERR_INVALID_SPEC', `rlimits[${i}]: ${type} is given twice`);
    seen.add(type);
    const soft = limitValue(o.soft, `rlimits[${i}].soft`);
    const hard = limitValue(o.hard, `rlimits[${i}].hard`);
    if (soft > hard) throw new ContainerError('ERR_INVALID_SPEC', `rlimits[${i}]: ${type} soft limit ${soft} exceeds the hard limit ${hard}`);
    return { type, resource: RLIMITS[type], soft, hard };
  });
}

/**
 * Which sysctls a container may set: those the kernel keeps per namespace, and only
 * when the container has that namespace of its own (runc's rule). Others would change
 * the host.
 */
export function sysctlNamespace(key: string): 'ipc' | 'net' | 'uts' | null {
  if (['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
    'kernel.shmmni', 'kernel.shm_rmid_forced'].includes(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'net';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return null;
}

export interface ResolvedSysctl {
  key: string;
  /** The path below /proc/sys. */
  path: string;
  value: string;
}

export function resolveSysctls(v: unknown, namespaces: readonly string[]): ResolvedSysctl[] {
  if (v === undefined) return [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ContainerError('ERR_INVALID_SPEC', `sysctl must be an object of name: value, got ${quote(v)}`);
  }
  return Object.entries(v).map(([key, value]) => {
    if (!/^[A-Za-z0-9_]+(?:[./][A-Za-z0-9_-]+)+$/.test(key) || key.split(/[./]/).some((p) => p === '..')) {
      throw new ContainerError('ERR_INVALID_SPEC', `sysctl name ${quote(key)} is not a sysctl name`);
    }
    const dotted = key.replace(/\//g, '.');
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new ContainerError('ERR_INVALID_SPEC', `sysctl ${dotted} must be a string value, got ${quote(value)}`);
    }
    const ns = sysctlNamespace(dotted);
    if (!ns) throw new ContainerError('ERR_UNSUPPORTED', `sysctl ${dotted} is not namespaced: setting it would change the host`);
    if (!namespaces.includes(ns)) {
      throw new ContainerError('ERR_UNSUPPORTED', `sysctl ${dotted} needs the container's own ${ns} namespace, which it does not have`);
    }
    return { key: dotted, path: key.includes('/') ? key : key.replace(/\./g, '/'), value };
  });
}

/** Where a cgroup path starts: each hierarchy's root, or the creating process's own cgroup there. */
export function resolveCgroupPathFrom(v: unknown): 'root' | 'self' {
  if (v === undefined) return 'root';
  if (v !== 'root' && v !== 'self') throw new ContainerError('ERR_INVALID_SPEC', `cgroupPathFrom must be "root" or "self", got ${quote(v)}`);
  return v;
}

/** A cgroup path below each hierarchy's root, like OCI linux.cgroupsPath: "a/b", no "..". */
export function resolveCgroupPath(v: unknown, id: string): string {
  if (v === undefined) return `nsbox/${id}`;
  if (typeof v !== 'string') throw new ContainerError('ERR_INVALID_SPEC', `cgroupPath must be a string, got ${quote(v)}`);
  const parts = v.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || !/^[A-Za-z0-9_.:@-]{1,255}$/.test(p))) {
    throw new ContainerError('ERR_INVALID_SPEC', `cgroupPath must be a relative path of names [A-Za-z0-9_.:@-] without "..", got ${quote(v)}`);
  }
  return parts.join('/');
}
