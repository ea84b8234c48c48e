// Device nodes created in a container's rootfs at setup (OCI linux.devices).
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys } from './fields';
import { type DeviceRule, MAX_MAJOR, MAX_MINOR } from './devices';
import { validatePath } from './paths';

export interface DeviceNode {
  readonly path: string;
  readonly type: 'b' | 'c';
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

/** The type, numbers and ownership of a node, validated; `what` names it in errors. */
export function parseDeviceNode(v: unknown, what = 'node'): DeviceNode {
  if (typeof v !== 'object' || v === null) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what} must be an object, got ${quote(v)}`);
  const o = v as Record<string, unknown>;
  onlyKnownKeys(o, ['path', 'type', 'major', 'minor', 'mode', 'uid', 'gid'], what, 'ERR_INVALID_DEVICE_RULE');
  if (o.type !== 'b' && o.type !== 'c') throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what}.type must be "b" or "c", got ${quote(o.type)}`);
  return Object.freeze({
    path: validatePath(o.path, `${what}.path`),
    type: o.type,
    major: int(o.major, MAX_MAJOR, `${what}.major`),
    minor: int(o.minor, MAX_MINOR, `${what}.minor`),
    mode: o.mode === undefined ? 0o666 : int(o.mode, 0o7777, `${what}.mode`, 'ERR_INVALID_MODE'),
    uid: o.uid === undefined ? 0 : int(o.uid, 2 ** 32 - 2, `${what}.uid`, 'ERR_INVALID_SPEC'),
    gid: o.gid === undefined ? 0 : int(o.gid, 2 ** 32 - 2, `${what}.gid`, 'ERR_INVALID_SPEC'),
  });
}

export function parseDeviceNodes(v: unknown, what = 'nodes'): DeviceNode[] {
  if (!Array.isArray(v) || v.length > 1024) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `${what} must be an array, got ${quote(v)}`);
  return v.map((n, i) => parseDeviceNode(n, `${what}[${i}]`));
}

/** The rule that lets a container use a node it was given. */
export function nodeRule(n: DeviceNode, access = 'rwm'): DeviceRule {
  return Object.freeze({ type: n.type, major: n.major, minor: n.minor, access, allow: true });
}
