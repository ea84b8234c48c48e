// explain() with device paths: the path's numbers come from the host's node, or from
// the table of well-known devices when this host has none.
import { statSync } from 'node:fs';
import { ContainerError, quote } from './errors';
import { type DeviceQuery, MAX_MAJOR, MAX_MINOR } from './policy/devices';
import { type ExplainSubject, type Explanation, explainAccess } from './policy/explain';
import { knownDevice } from './policy/known-devices';
import { validatePath } from './policy/paths';

export interface ExplainQuery {
  /** 'c 10:232', 'b 7:0', or a path such as '/dev/kvm'. */
  device: string;
  /** A non-empty subset of 'rwm' asked as one request, as open(2) asks for rw. */
  access: string;
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
export function explain(subject: ExplainSubject, query: ExplainQuery): Explanation {
  if (typeof subject !== 'object' || subject === null || !Array.isArray(subject.devices) || typeof subject.capabilities !== 'object') {
    throw new ContainerError('ERR_INVALID_SPEC', `explain() takes a profile or a container, got ${quote(subject)}`);
  }
  if (typeof query !== 'object' || query === null) throw new ContainerError('ERR_INVALID_SPEC', `explain() takes { device, access }, got ${quote(query)}`);
  return explainAccess(subject, parseDeviceQuery(query.device), query.access);
}
