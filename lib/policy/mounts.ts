// Mounts a spec or a profile asks for: validation, and the addon's form.
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys, own } from './fields';
import { validatePath } from './paths';

export type AtimeMode = 'relatime' | 'strictatime' | 'noatime';
export type Propagation = 'private' | 'slave' | 'shared' | 'unbindable';
const PROPAGATIONS: readonly Propagation[] = ['private', 'slave', 'shared', 'unbindable'];
const ATIME_MODES: readonly AtimeMode[] = ['relatime', 'strictatime', 'noatime'];

/** The root mount's propagation, as OCI's linux.rootfsPropagation spells it. */
export type RootfsPropagation = Propagation | `r${Propagation}`;
export const ROOTFS_PROPAGATIONS: readonly string[] = PROPAGATIONS.flatMap((p) => [p, `r${p}`]);

export function resolveRootfsPropagation(v: unknown): RootfsPropagation {
  if (v === undefined) return 'rslave';
  if (!ROOTFS_PROPAGATIONS.includes(v as string)) {
    throw new ContainerError('ERR_INVALID_SPEC', `rootfsPropagation must be one of ${ROOTFS_PROPAGATIONS.join(', ')}, got ${quote(v)}`);
  }
  return v as RootfsPropagation;
}

/** Flags every mount may carry; a tmpfs is always nosuid and nodev. */
export interface MountFlags {
  readonly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** The kernel's default (relatime) when omitted. */
  atime?: AtimeMode;
}

export type MountSpec =
  | ({
    type: 'bind'; source: string; destination: string; recursive?: boolean;
    /**
     * 'slave' (what a bind is when omitted, as the container's root is): mounts the
     * host makes later below the source appear inside. 'private': they do not.
     * 'shared': also shared with the container's later binds of it (still a slave of
     * the host's); 'unbindable': no bind of it can be made. Nothing made inside ever
     * propagates to the host.
     */
    propagation?: Propagation;
    /**
     * With a user namespace: the bind through an idmapped mount with the container's
     * maps, so the host's root's files there are root's inside and what root writes is
     * the host's root's (false: the host's ids as they are, unmapped ones read as nobody).
     */
    idmap?: boolean;
  } & MountFlags)
  | ({
    type: 'tmpfs'; destination: string; mode?: number; size?: number | string;
    /** 'private' (a new tmpfs's own), 'shared', 'slave' (the same as private for a new one) or 'unbindable'. */
    propagation?: Propagation;
    /** Starts with a copy of what it covers in the rootfs (files, links, nodes, modes, owners): OCI's tmpcopyup. */
    copyUp?: boolean;
  } & MountFlags)
  /**
   * The container's own cgroups, at `destination` (usually /sys/fs/cgroup): a tmpfs
   * holding each v1 hierarchy's directory of the container by its name, and its
   * cgroup2 directory as "unified"; read-only unless `readonly: false`. Nothing of the
   * host's other cgroups is in it.
   */
  | { type: 'cgroup'; destination: string; readonly?: boolean };

/** What src-native/plan.h's MountPlan holds. */
export interface ResolvedMount {
  kind: 'bind' | 'tmpfs' | 'cgroup';
  source: string;
  destination: string;
  readonly: boolean;
  recursive: boolean;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
  atime: '' | AtimeMode;
  propagation: '' | Propagation;
  mode: string;
  size: string;
  copyUp: boolean;
  /** A bind through an idmapped mount (a user namespace's). */
  idmap: boolean;
}

const FLAG_KEYS = ['readonly', 'nosuid', 'nodev', 'noexec', 'atime'];
const KEYS: Record<string, readonly string[]> = {
  bind: ['type', 'source', 'destination', 'recursive', 'propagation', 'idmap', ...FLAG_KEYS],
  tmpfs: ['type', 'destination', 'mode', 'size', 'copyUp', 'propagation', ...FLAG_KEYS],
  cgroup: ['type', 'destination', 'readonly'],
};

function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_MOUNT', message);
}


function bool(v: unknown, what: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') invalid(`${what} must be a boolean, got ${quote(v)}`);
  return v;
}

export function resolveMount(m: unknown, what: string): ResolvedMount {
  if (typeof m !== 'object' || m === null) invalid(`${what} must be an object, got ${quote(m)}`);
  const type = own(m, 'type');
  if (typeof type !== 'string' || !Object.hasOwn(KEYS, type)) invalid(`${what}.type must be "bind", "tmpfs" or "cgroup", got ${quote(type)}`);
  // A misspelt flag ("readOnly") must not silently give a read-write mount.
  onlyKnownKeys(m, KEYS[type], `${what} (a ${type} mount)`, 'ERR_INVALID_MOUNT');
  const destination = validatePath(own(m, 'destination'), `${what}.destination`);
  if (destination === '/') invalid(`${what}.destination must not be "/"`);
  const readonly = bool(own(m, 'readonly'), `${what}.readonly`, type === 'cgroup');
  if (type === 'cgroup') {
    return {
      kind: 'cgroup', source: '', destination, readonly, nosuid: true, nodev: true, noexec: true, atime: '', propagation: '', recursive: false,
      mode: '', size: '', copyUp: false, idmap: false,
    };
  }
  const atime = own(m, 'atime') ?? '';
  if (atime !== '' && !(ATIME_MODES as readonly unknown[]).includes(atime)) invalid(`${what}.atime must be one of ${ATIME_MODES.join(', ')}, got ${quote(atime)}`);
  const flags = {
    readonly, nosuid: bool(own(m, 'nosuid'), `${what}.nosuid`, false), nodev: bool(own(m, 'nodev'), `${what}.nodev`, false),
    noexec: bool(own(m, 'noexec'), `${what}.noexec`, false), atime: atime as ResolvedMount['atime'],
  };
  const propagation = own(m, 'propagation') ?? '';
  if (propagation !== '' && !(PROPAGATIONS as readonly unknown[]).includes(propagation)) {
    invalid(`${what}.propagation must be one of ${PROPAGATIONS.join(', ')} (nothing propagates from a container to the host), got ${quote(propagation)}`);
  }
  if (type === 'bind') {
    return {
      kind: 'bind', source: validatePath(own(m, 'source'), `${what}.source`), destination, ...flags, propagation: propagation as ResolvedMount['propagation'],
      recursive: bool(own(m, 'recursive'), `${what}.recursive`, true), mode: '', size: '', copyUp: false,
      idmap: bool(own(m, 'idmap'), `${what}.idmap`, false),
    };
  }
  if (type === 'tmpfs') {
    const mode = own(m, 'mode');
    if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)) {
      invalid(`${what}.mode must be an integer 0..0o7777, got ${quote(mode)}`);
    }
    const size = own(m, 'size');
    if (size !== undefined && !(typeof size === 'number' && Number.isInteger(size) && size > 0) &&
        !(typeof size === 'string' && /^[0-9]+[kmg%]?$/.test(size))) {
      invalid(`${what}.size must be a byte count or a string like "64m", got ${quote(size)}`);
    }
    return {
      kind: 'tmpfs', source: '', destination, ...flags, propagation: propagation as ResolvedMount['propagation'], recursive: false,
      mode: mode === undefined ? '' : mode.toString(8), size: size === undefined ? '' : String(size),
      copyUp: bool(own(m, 'copyUp'), `${what}.copyUp`, false), idmap: false,
    };
  }
  invalid(`${what}.type must be "bind" or "tmpfs", got ${quote(type)}`);
}

/** Validates a list of mounts and returns it unchanged (for profiles, which keep the user's form). */
export function validateMounts(v: unknown, what = 'mounts'): MountSpec[] {
  if (!Array.isArray(v) || v.length > 1024) invalid(`${what} must be an array, got ${quote(v)}`);
  v.forEach((m, i) => resolveMount(m, `${what}[${i}]`));
  return v.map((m) => ({ ...m }));
}
