// Device nodes created in a container's rootfs at setup (OCI linux.devices).
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys } from './fields';
import { type DeviceRule, MAX_MAJOR, MAX_MINOR } from './devices';
import { validatePath } from './paths';

export interface DeviceNode {
  readonly path: string;
  /** 'p': a FIFO (OCI linux.devices type p), which has no numbers and no device rule. */
  readonly type: 'b' | 'c' | 'p';
  readonly major: number;
  readonly minor: number;
  /** Permission bits, 0..0o7777; default 0o666. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** A node as a caller describes it: mode 0o666 and owner 0:0 unless given. */
export type DeviceNodeSpec = Omit<DeviceNode, 'path' | 'mode' | 'uid' | 'gid'> & { mode?: number; uid?: number; gid?: number };
export type DeviceNodeInput = DeviceNodeSpec & { path: string };

function int(v: unknown, max: number, what: string, code = 'ERR_INVALID_DEVICE_RULE'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ContainerError(code, `${what} must be an integer 0..${max}, got ${quote(v)}`);
  }
  return v;
}

/**
 * The type, numbers and ownership of a node, validated; `what` names it in errors.
 * `fifo`: a FIFO is one of the nodes it may be (a rootfs's nodes, not a device's).
 */
export function parseDeviceNode(v: unknown, what = 'node', fifo = false): DeviceNode {
  if (typeof v !== 'object' || v === null) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what} must be an object, got ${quote(v)}`);
  const o = v as Record<string, unknown>;
  onlyKnownKeys(o, ['path', 'type', 'major', 'minor', 'mode', 'uid', 'gid'], what, 'ERR_INVALID_DEVICE_RULE');
  if (o.type !== 'b' && o.type !== 'c' && !(fifo && o.type === 'p')) {
    throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what}.type must be ${fifo ? '"b", "c" or "p"' : '"b" or "c"'}, got ${quote(o.type)}`);
  }
  const isFifo = o.type === 'p';
  return Object.freeze({
    path: validatePath(o.path, `${what}.path`),
    type: o.type,
    major: isFifo ? int(o.major ?? 0, 0, `${what}.major (a FIFO has none)`) : int(o.major, MAX_MAJOR, `${what}.major`),
    minor: isFifo ? int(o.minor ?? 0, 0, `${what}.minor (a FIFO has none)`) : int(o.minor, MAX_MINOR, `${what}.minor`),
    mode: o.mode === undefined ? 0o666 : int(o.mode, 0o7777, `${what}.mode`, 'ERR_INVALID_MODE'),
    uid: o.uid === undefined ? 0 : int(o.uid, 2 ** 32 - 2, `${what}.uid`, 'ERR_INVALID_SPEC'),
    gid: o.gid === undefined ? 0 : int(o.gid, 2 ** 32 - 2, `${what}.gid`, 'ERR_INVALID_SPEC'),
  });
}

export function parseDeviceNodes(v: unknown, what = 'nodes'): DeviceNode[] {
  if (!Array.isArray(v) || v.length > 1024) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what} must be an array, got ${quote(v)}`);
  return v.map((n, i) => parseDeviceNode(n, `${what}[${i}]`, true));
}

/** The rule that lets a container use a node it was given; none for a FIFO, which the device cgroup does not guard. */
export function nodeRule(n: DeviceNode, access = 'rwm'): DeviceRule | null {
  if (n.type === 'p') return null;
  return Object.freeze({ type: n.type, major: n.major, minor: n.minor, access, allow: true });
}
