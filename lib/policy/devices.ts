// Device cgroup rules: parsing, validation, formatting, and their meaning. Pure.
//
// A rule list means what the kernel's v1 devices controller makes of it, written in
// order after "a" to devices.deny (runc and crun give the same meaning to their
// cgroup2 programs). compileDeviceRules() computes that state: a default (deny or
// allow) and a list of exceptions, each a (type, major, minor) key with access bits.
//   - "a" resets: allow-all or deny-all, no exceptions.
//   - In deny mode an allow rule adds its bits to the exception with the identical
//     key; a deny rule removes its bits from that one exception only. In allow mode
//     the roles swap (exceptions are denials).
//   - A check in deny mode passes when ONE matching exception holds every requested
//     bit; in allow mode it fails when any matching exception holds any of them.
// The v1 backend writes the rules themselves and lets the kernel compute; the cgroup2
// BPF program is generated from the compiled state (src-native/bpf_devices.cc).
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys } from './fields';

export type DeviceType = 'a' | 'b' | 'c';
export type DeviceNumber = number | '*';

export interface DeviceRule {
  readonly type: DeviceType;
  readonly major: DeviceNumber;
  readonly minor: DeviceNumber;
  /** A non-empty subset of 'rwm', in that order once normalized. */
  readonly access: string;
  /** false for a deny rule; default true. */
  readonly allow: boolean;
}

export type DeviceRuleInput =
  | string
  | { type: DeviceType; major: DeviceNumber; minor: DeviceNumber; access: string; allow?: boolean };

/** The kernel's MAJORBITS / MINORBITS. */
export const MAX_MAJOR = (1 << 12) - 1;
export const MAX_MINOR = (1 << 20) - 1;

/** Access bits as the kernel's BPF_DEVCG_ACC_* values. */
export const ACCESS_BITS = { m: 1, r: 2, w: 4 } as const;

const RULE_RE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

function invalid(message: string): never {
  throw new ContainerError('ERR_INVALID_DEVICE_RULE', message);
}

export function normalizeAccess(access: unknown, what = 'access'): string {
  if (typeof access !== 'string' || !/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    invalid(`${what} must be a non-empty subset of "rwm" without repeats, got ${quote(access)}`);
  }
  return ['r', 'w', 'm'].filter((c) => access.includes(c)).join('');
}

export function accessBits(access: string): number {
  let bits = 0;
  for (const c of access) bits |= ACCESS_BITS[c as keyof typeof ACCESS_BITS];
  return bits;
}

function number(value: unknown, max: number, what: string, rule: unknown): DeviceNumber {
  if (value === '*') return '*';
  if (typeof value === 'string' && /^[0-9]{1,8}$/.test(value)) value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    invalid(`${what} must be an integer 0..${max} or "*", got ${quote(value)} in ${quote(rule)}`);
  }
  return value;
}

function allDevices(input: unknown, major: unknown, minor: unknown, access: unknown, allow: boolean): DeviceRule {
  if (major !== '*' || minor !== '*' || typeof access !== 'string' || normalizeAccess(access) !== 'rwm') {
    invalid(`type "a" means every device with every access ("a" or "a *:* rwm"); use b and c rules for less, got ${quote(input)}`);
  }
  return Object.freeze({ type: 'a', major: '*', minor: '*', access: 'rwm', allow });
}

/**
 * Accepts 'c 10:232 rwm', 'a', or { type, major, minor, access, allow }. Type "a" is
 * the kernel's "every device, every access" and takes no numbers or access subset.
 */
export function parseDeviceRule(input: unknown): DeviceRule {
  if (typeof input === 'string') {
    if (input === 'a') return allDevices(input, '*', '*', 'rwm', true);
    const m = RULE_RE.exec(input);
    if (!m) invalid(`device rules look like "c 10:232 rwm", "b *:* m" or "a", got ${quote(input)}`);
    if (m[1] === 'a') return allDevices(input, m[2], m[3], m[4], true);
    return Object.freeze({
      type: m[1] as DeviceType,
      major: number(m[2], MAX_MAJOR, 'major', input),
      minor: number(m[3], MAX_MINOR, 'minor', input),
      access: normalizeAccess(m[4], `access of ${quote(input)}`),
      allow: true,
    });
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalid(`a device rule is a string or an object, got ${quote(input)}`);
  }
  const o = input as Record<string, unknown>;
  onlyKnownKeys(o, ['type', 'major', 'minor', 'access', 'allow'], `device rule ${quote(input)}`, 'ERR_INVALID_DEVICE_RULE');
  if (o.type !== 'a' && o.type !== 'b' && o.type !== 'c') invalid(`type must be "a", "b" or "c", got ${quote(o.type)}`);
  if (o.allow !== undefined && typeof o.allow !== 'boolean') invalid(`allow must be a boolean, got ${quote(o.allow)}`);
  if (o.type === 'a') return allDevices(input, o.major ?? '*', o.minor ?? '*', o.access ?? 'rwm', (o.allow as boolean | undefined) ?? true);
  return Object.freeze({
    type: o.type,
    major: number(o.major, MAX_MAJOR, 'major', input),
    minor: number(o.minor, MAX_MINOR, 'minor', input),
    access: normalizeAccess(o.access),
    allow: o.allow ?? true,
  });
}

export function parseDeviceRules(input: unknown, what = 'devices'): DeviceRule[] {
  if (!Array.isArray(input) || input.length > 4096) invalid(`${what} must be an array of rules, got ${quote(input)}`);
  return input.map(parseDeviceRule);
}

export function formatDeviceRule(r: DeviceRule): string {
  const text = r.type === 'a' && r.major === '*' && r.minor === '*' ? `a *:* ${r.access}` : `${r.type} ${r.major}:${r.minor} ${r.access}`;
  return r.allow ? text : `deny ${text}`;
}

/** The default policy: create any node, use only the whitelist. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  'c *:* m', 'b *:* m',
  'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm',
  'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:200 rwm',
].map(parseDeviceRule));

export const PRIVILEGED_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([parseDeviceRule('a')]);

export interface DeviceQuery {
  type: 'b' | 'c';
  major: number;
  minor: number;
}

export interface DeviceException {
  readonly type: 'b' | 'c';
  readonly major: DeviceNumber;
  readonly minor: DeviceNumber;
  /** Normalized subset of 'rwm'; never empty. */
  readonly access: string;
}

/** The kernel's state for a rule list: a default and exceptions to it. */
export interface DevicePolicy {
  readonly defaultAllow: boolean;
  readonly exceptions: readonly DeviceException[];
}

const DENY_ALL: DevicePolicy = Object.freeze({ defaultAllow: false, exceptions: Object.freeze([]) });

function sameKey(a: { type: string; major: DeviceNumber; minor: DeviceNumber }, b: typeof a): boolean {
  return a.type === b.type && a.major === b.major && a.minor === b.minor;
}

function bitsToAccess(bits: number): string {
  return ['r', 'w', 'm'].filter((c) => bits & ACCESS_BITS[c as keyof typeof ACCESS_BITS]).join('');
}

/** Applies one rule to a policy, as a write to devices.allow or devices.deny would. */
export function applyDeviceRule(policy: DevicePolicy, rule: DeviceRule): DevicePolicy {
  if (rule.type === 'a') return Object.freeze({ defaultAllow: rule.allow, exceptions: Object.freeze([]) });
  // An allow rule widens access: in deny mode it adds to an exception, in allow mode
  // it removes from one. A deny rule does the opposite.
  const add = rule.allow !== policy.defaultAllow;
  const bits = accessBits(rule.access);
  const exceptions: DeviceException[] = [];
  let merged = false;
  for (const e of policy.exceptions) {
    if (!sameKey(e, rule)) {
      exceptions.push(e);
      continue;
    }
    const next = add ? accessBits(e.access) | bits : accessBits(e.access) & ~bits;
    merged = true;
    if (next) exceptions.push(Object.freeze({ ...e, access: bitsToAccess(next) }));
  }
  if (add && !merged) {
    exceptions.push(Object.freeze({ type: rule.type, major: rule.major, minor: rule.minor, access: rule.access }));
  }
  return Object.freeze({ defaultAllow: policy.defaultAllow, exceptions: Object.freeze(exceptions) });
}

/**
 * The one exception in which `next` differs from `prev` (with access '' when it is
 * gone), or null when the default differs or more than one exception does: what a
 * live update can change in place, atomically, rather than replacing the whole policy.
 */
export function singleChange(prev: DevicePolicy, next: DevicePolicy): DeviceException | null {
  if (prev.defaultAllow !== next.defaultAllow) return null;
  const changed: DeviceException[] = [];
  for (const e of next.exceptions) {
    const before = prev.exceptions.find((p) => sameKey(p, e));
    if (!before || before.access !== e.access) changed.push(e);
  }
  for (const e of prev.exceptions) {
    if (!next.exceptions.some((n) => sameKey(n, e))) changed.push(Object.freeze({ ...e, access: '' }));
  }
  return changed.length === 1 ? changed[0] : null;
}

export function compileDeviceRules(rules: readonly DeviceRule[], from: DevicePolicy = DENY_ALL): DevicePolicy {
  return rules.reduce(applyDeviceRule, from);
}

function matches(e: DeviceException, q: DeviceQuery): boolean {
  return e.type === q.type && (e.major === '*' || e.major === q.major) && (e.minor === '*' || e.minor === q.minor);
}

export interface DeviceVerdict {
  allowed: boolean;
  /** The exception that decided: the one granting (deny mode) or refusing (allow mode); null when none did. */
  exception: DeviceException | null;
}

/** Checks `access` (a subset of rwm, as one request) on a device, as the kernel does. */
export function checkDeviceAccess(policy: DevicePolicy, q: DeviceQuery, access: string): DeviceVerdict {
  const want = accessBits(normalizeAccess(access));
  for (const e of policy.exceptions) {
    if (!matches(e, q)) continue;
    const have = accessBits(e.access);
    if (!policy.defaultAllow && (want & ~have) === 0) return { allowed: true, exception: e };
    if (policy.defaultAllow && (want & have) !== 0) return { allowed: false, exception: e };
  }
  return { allowed: policy.defaultAllow, exception: null };
}

/** A line for devices.allow or devices.deny. */
export interface V1Write {
  file: 'allow' | 'deny';
  rule: string;
}

/** The write of one rule to a v1 devices cgroup; the kernel applies it as compileDeviceRules() does. */
export function v1Write(rule: DeviceRule): V1Write {
  return { file: rule.allow ? 'allow' : 'deny', rule: rule.type === 'a' ? 'a' : `${rule.type} ${rule.major}:${rule.minor} ${rule.access}` };
}

/**
 * The writes that set up a rule list on a fresh v1 devices cgroup: deny-all, then the
 * rules as given. The kernel computes the state itself, so the v1 backend is an
 * independent check of compileDeviceRules() (the tests compare both with explain()).
 */
export function v1Writes(rules: readonly DeviceRule[]): V1Write[] {
  return [{ file: 'deny', rule: 'a' }, ...rules.map(v1Write)];
}
