// Device cgroup rules: parsing, validation, formatting and evaluation. Pure.
//
// Semantics (the v2 BPF program in src-native/bpf_devices.cc implements the same):
// everything is denied unless a rule allows it; for each requested access (r, w, m)
// the last rule that matches the device and names that access decides; a request is
// allowed when every access it asks for is.
import { ContainerError, quote } from '../errors';

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

/** Accepts 'c 10:232 rwm', 'a', or { type, major, minor, access, allow }. */
export function parseDeviceRule(input: unknown): DeviceRule {
  if (typeof input === 'string') {
    if (input === 'a') return Object.freeze({ type: 'a', major: '*', minor: '*', access: 'rwm', allow: true });
    const m = RULE_RE.exec(input);
    if (!m) invalid(`device rules look like "c 10:232 rwm", "b *:* m" or "a", got ${quote(input)}`);
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
  if (o.type !== 'a' && o.type !== 'b' && o.type !== 'c') invalid(`type must be "a", "b" or "c", got ${quote(o.type)}`);
  if (o.allow !== undefined && typeof o.allow !== 'boolean') invalid(`allow must be a boolean, got ${quote(o.allow)}`);
  return Object.freeze({
    type: o.type,
    major: o.type === 'a' && o.major === undefined ? '*' : number(o.major, MAX_MAJOR, 'major', input),
    minor: o.type === 'a' && o.minor === undefined ? '*' : number(o.minor, MAX_MINOR, 'minor', input),
    access: o.type === 'a' && o.access === undefined ? 'rwm' : normalizeAccess(o.access),
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

export interface DeviceVerdict {
  allowed: boolean;
  /** The rule that decided the first denied access, or the last deciding rule when allowed; null when none matched. */
  rule: DeviceRule | null;
}

function matches(r: DeviceRule, q: DeviceQuery): boolean {
  return (r.type === 'a' || r.type === q.type) && (r.major === '*' || r.major === q.major) &&
    (r.minor === '*' || r.minor === q.minor);
}

/** Evaluates `access` on a device under `rules`, as the kernel enforces them. */
export function evaluateDeviceAccess(rules: readonly DeviceRule[], q: DeviceQuery, access: string): DeviceVerdict {
  let decidingAllow: DeviceRule | null = null;
  for (const bit of normalizeAccess(access)) {
    let decided: DeviceRule | null = null;
    for (let i = rules.length - 1; i >= 0; i--) {
      if (matches(rules[i], q) && rules[i].access.includes(bit)) {
        decided = rules[i];
        break;
      }
    }
    if (!decided || !decided.allow) return { allowed: false, rule: decided };
    decidingAllow = decided;
  }
  return { allowed: true, rule: decidingAllow };
}
