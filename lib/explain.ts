// explain() with device paths: the path's numbers come from the host's node, or from
// the table of well-known devices when this host has none.
import { statSync } from 'node:fs';
import { ContainerError, quote } from './errors';
import { type DeviceQuery, MAX_MAJOR, MAX_MINOR } from './policy/devices';
import { CAPABILITY_NAMES, normalizeCapability } from './policy/capabilities';
import { type ExplainSubject, type Explanation, explainAccess, explainSyscall, type SyscallExplanation } from './policy/explain';
import { resolveSeccomp, type SeccompArch, type SeccompFilter } from './policy/seccomp';
import { knownDevice } from './policy/known-devices';
import { validatePath } from './policy/paths';

export interface ExplainQuery {
  /** 'c 10:232', 'b 7:0', or a path such as '/dev/kvm'. */
  device: string;
  /** A non-empty subset of 'rwm' asked as one request, as open(2) asks for rw. */
  access: string;
}

export interface ExplainSyscallQuery {
  /** A syscall's name: 'unshare', 'clone', 'keyctl'. */
  syscall: string;
  /** Its arguments, where the filter looks at them (clone's flags, socket's family). */
  args?: (number | bigint)[];
  /** 'x86_64' (the default), 'x86' (int 0x80) or 'x32'. */
  arch?: SeccompArch;
}

/** A subject whose filter is known as built (a Container); a profile's is built for its capabilities. */
interface FilterOwner {
  readonly seccompFilter: SeccompFilter | null;
}

function subjectFilter(subject: ExplainSubject & { seccomp?: unknown }): SeccompFilter | null {
  if ('seccompFilter' in subject) return (subject as unknown as FilterOwner).seccompFilter;
  const bounding = subject.capabilities.bounding.includes('ALL') ? [...CAPABILITY_NAMES] : subject.capabilities.bounding.map((c) => normalizeCapability(c));
  return resolveSeccomp(subject.seccomp ?? 'default', bounding);
}

/** The numbers of a device node on the host (following symlinks). */
export function hostDevice(path: string): DeviceQuery | null {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return null;
  if (!st.isCharacterDevice() && !st.isBlockDevice()) {
    throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${quote(path)} is not a device node`);
  }
  const rdev = st.rdev;
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { type: st.isCharacterDevice() ? 'c' : 'b', major, minor };
}

export function parseDeviceQuery(device: unknown): DeviceQuery {
  if (typeof device === 'string' && device.startsWith('/')) {
    validatePath(device, 'device');
    const q = hostDevice(device) ?? knownDevice(device);
    if (!q) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${quote(device)} does not exist here and is not a well-known device; give its numbers ("c 10:232")`);
    return q;
  }
  const m = typeof device === 'string' ? /^([bc]) ([0-9]{1,7}):([0-9]{1,7})$/.exec(device) : null;
  if (!m || Number(m[2]) > MAX_MAJOR || Number(m[3]) > MAX_MINOR) {
    throw new ContainerError('ERR_INVALID_DEVICE_RULE', `device is a path or "c MAJOR:MINOR" / "b MAJOR:MINOR", got ${quote(device)}`);
  }
  return { type: m[1] as 'b' | 'c', major: Number(m[2]), minor: Number(m[3]) };
}

/**
 * Why `subject` (a profile, or a container with its current rules) may or may not
 * use a device: { allowed, rule, reason }. The library's own evaluation, with the
 * kernel's semantics; the tests hold it to the kernel's verdicts.
 */
export function explain(subject: ExplainSubject, query: ExplainQuery): Explanation;
/**
 * Whether `subject`'s syscall filter lets a call through: { allowed, action, errno,
 * rule, reason }, by the same evaluation as the program the kernel runs, and which
 * capability a conditional rule of the default filter waits for.
 */
export function explain(subject: ExplainSubject, query: ExplainSyscallQuery): SyscallExplanation;
export function explain(subject: ExplainSubject, query: ExplainQuery | ExplainSyscallQuery): Explanation | SyscallExplanation {
  if (typeof subject !== 'object' || subject === null || !Array.isArray(subject.devices) || typeof subject.capabilities !== 'object') {
    throw new ContainerError('ERR_INVALID_SPEC', `explain() takes a profile or a container, got ${quote(subject)}`);
  }
  if (typeof query !== 'object' || query === null) throw new ContainerError('ERR_INVALID_SPEC', `explain() takes { device, access } or { syscall }, got ${quote(query)}`);
  if ('syscall' in query) {
    const args = (query.args ?? []).map((a) => {
      if ((typeof a !== 'number' || !Number.isSafeInteger(a) || a < 0) && typeof a !== 'bigint') throw new ContainerError('ERR_INVALID_ARG', `explain(): syscall arguments are integers >= 0, got ${quote(a)}`);
      return BigInt(a);
    });
    const arch = query.arch ?? 'x86_64';
    if (!['x86_64', 'x86', 'x32'].includes(arch)) throw new ContainerError('ERR_INVALID_ARG', `explain(): arch is x86_64, x86 or x32, got ${quote(arch)}`);
    return explainSyscall(subjectFilter(subject), String(query.syscall), args, arch);
  }
  return explainAccess(subject, parseDeviceQuery(query.device), query.access);
}
