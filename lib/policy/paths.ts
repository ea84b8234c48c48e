// Paths: validation, and the ones hidden from or made read-only to a non-privileged
// container, as Docker does.
import { posix } from 'node:path';
import { ContainerError, quote } from '../errors';

/** An absolute, normalized path without NUL; `what` names the field in the error. */
export function validatePath(p: unknown, what: string): string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || p.length > 4095 ||
      (p !== '/' && (posix.normalize(p) !== p || p.endsWith('/')))) {
    throw new ContainerError('ERR_INVALID_PATH', `${what} must be an absolute, normalized path, got ${quote(p)}`);
  }
  return p;
}

export function validatePathList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length > 1024) throw new ContainerError('ERR_INVALID_PATH', `${what} must be an array of paths, got ${quote(v)}`);
  return v.map((p, i) => validatePath(p, `${what}[${i}]`));
}

/** A file is covered with /dev/null, a directory with an empty read-only tmpfs. */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
]);
