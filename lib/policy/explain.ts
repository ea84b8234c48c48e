// explain(): why a container may or may not use a device, in a sentence, with the
// same semantics the kernel applies (devices.ts) plus the CAP_MKNOD that mknod needs.
import { ContainerError, quote } from '../errors';
import { type CapabilitySets, normalizeCapability } from './capabilities';
import { evaluateSeccomp, type SeccompActionName, type SeccompArch, type SeccompFilter } from './seccomp';
import { SYSCALLS } from './syscall-table';
import { USERNS_MKNOD_REASON } from './userns';
import {
  type DeviceQuery, type DeviceRule, checkDeviceAccess, compileDeviceRules, formatDeviceRule, normalizeAccess,
} from './devices';

/** What explain() looks at: a Profile, or a Container (its current rules and sets). */
export interface ExplainSubject {
  readonly devices: readonly DeviceRule[];
  readonly capabilities: CapabilitySets;
  /** The container's uid; a profile is explained for root. */
  readonly uid?: number;
  /** The container has a user namespace: no mknod there, whatever the capabilities. */
  readonly userns?: boolean;
}

export interface Explanation {
  allowed: boolean;
  /** The rule that decided, or null when no rule named the device. */
  rule: DeviceRule | null;
  reason: string;
}

/** Whether the container's processes hold `cap` in their effective set after exec. */
export function processHolds(subject: ExplainSubject, cap: string): boolean {
  const name = normalizeCapability(cap);
  const has = (set: readonly string[]) => set.some((n) => n === 'ALL' || normalizeCapability(n) === name);
  // At exec the kernel gives root its bounding set; anyone else keeps only the ambient set.
  return (subject.uid ?? 0) === 0 ? has(subject.capabilities.bounding) : has(subject.capabilities.ambient);
}

function key(r: { type: string; major: unknown; minor: unknown }) {
  return `${r.type} ${r.major}:${r.minor}`;
}

function covers(r: DeviceRule, q: DeviceQuery): boolean {
  return (r.type === 'a' || r.type === q.type) && (r.major === '*' || r.major === q.major) && (r.minor === '*' || r.minor === q.minor);
}

export function explainAccess(subject: ExplainSubject, q: DeviceQuery, accessInput: string): Explanation {
  const access = normalizeAccess(accessInput);
  const rules = subject.devices;
  const policy = compileDeviceRules(rules);
  const device = `${q.type} ${q.major}:${q.minor}`;
  const verdict = checkDeviceAccess(policy, q, access);
  // The last rule written for the key that decided (rules of one key merge in the kernel).
  const lastFor = (k: string, allow: boolean) =>
    [...rules].reverse().find((r) => r.allow === allow && key(r) === k && r.type !== 'a') ?? null;
  const lastAll = [...rules].reverse().find((r) => r.type === 'a') ?? null;

  let result: Explanation;
  if (verdict.allowed) {
    const rule = verdict.exception ? lastFor(key(verdict.exception), true) : lastAll;
    result = {
      allowed: true, rule,
      reason: verdict.exception
        ? `the device cgroup allows ${access} on ${device}: rule "${formatDeviceRule(rule!)}"`
        : `the device cgroup allows every device: rule "${formatDeviceRule(lastAll!)}"`,
    };
  } else if (verdict.exception) {
    // Allow-by-default: an exception (a deny rule) refuses it.
    const rule = lastFor(key(verdict.exception), false);
    result = { allowed: false, rule, reason: `the device cgroup denies ${access} on ${device}: rule "${rule ? formatDeviceRule(rule) : key(verdict.exception)}"` };
  } else {
    const denying = [...rules].reverse().find((r) => !r.allow && covers(r, q) && [...access].some((c) => r.access.includes(c))) ?? null;
    const partial = policy.exceptions.filter((e) => covers({ ...e, allow: true }, q));
    const granted = partial.map((e) => `${e.access} (rule "${formatDeviceRule(lastFor(key(e), true)!)}")`);
    const missing = `no rule grants ${access} on ${device}`;
    result = {
      allowed: false,
      rule: denying,
      reason: denying ? `the device cgroup denies ${access} on ${device}: rule "${formatDeviceRule(denying)}" took it away`
        : granted.length ? `${missing}: the rules that name it allow only ${granted.join(', ')}`
          : `${missing}; the device cgroup denies every device it does not name`,
    };
  }
  const refused = !access.includes('m') ? null : subject.userns ? USERNS_MKNOD_REASON
    : !processHolds(subject, 'CAP_MKNOD') ? 'mknod needs CAP_MKNOD, which the container\'s processes do not hold' : null;
  if (refused) {
    const cgroup = result.allowed ? ` (the device cgroup would allow it: rule "${formatDeviceRule(result.rule!)}")` : ` and ${result.reason}`;
    return { allowed: false, rule: result.rule, reason: `${refused}${cgroup}` };
  }
  return result;
}

/** What explain() says of a syscall: allowed or not, the action, and the rule or default that decided. */
export interface SyscallExplanation {
  allowed: boolean;
  /** The filter's action: 'allow', 'errno' (with `errno`), 'kill-process', ...; 'allow' without a filter. */
  action: SeccompActionName;
  errno?: number;
  /** The rule that decided ("the default allow list", "config rule 3"), or null for the default action or no filter. */
  rule: string | null;
  reason: string;
}

const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: 'EPERM', 13: 'EACCES', 38: 'ENOSYS' };

/**
 * Why `filter` (null: unconfined) lets `name` through or not, for a call on `arch`
 * with `args`: the same evaluation the compiled program makes (seccomp.ts), and, for
 * the default filter, the capability a conditional rule waits for.
 */
export function explainSyscall(filter: SeccompFilter | null, name: string, args: readonly bigint[] = [], arch: SeccompArch = 'x86_64'): SyscallExplanation {
  if (!filter) return { allowed: true, action: 'allow', rule: null, reason: `${name}: no syscall filter (unconfined)` };
  const nr = Object.hasOwn(SYSCALLS[arch], name) ? SYSCALLS[arch][name] : undefined;
  if (nr === undefined) throw new ContainerError('ERR_INVALID_ARG', `explain(): ${quote(name)} is not a syscall on ${arch}`);
  const v = evaluateSeccomp(filter, arch, nr, args);
  const a = v.action;
  const allowed = a.action === 'allow' || a.action === 'log';
  const what = a.action === 'errno' ? `denied with ${ERRNO_NAMES[a.value ?? 0] ?? `errno ${a.value}`}` : allowed ? (a.action === 'log' ? 'allowed and logged' : 'allowed')
    : a.action === 'trace' ? 'handed to a tracer' : a.action === 'notify' ? 'handed to the seccomp listener, which answers for it' : a.action === 'trap' ? 'trapped (SIGSYS)' : 'killed (SIGSYS)';
  const by = v.rule ? `by the rule "${v.reason}"` : `by ${v.reason}`;
  const need = !allowed && filter.needs[name] ? `; the rule that allows it needs ${filter.needs[name]}` : '';
  return { allowed, action: a.action, ...(a.action === 'errno' ? { errno: a.value } : {}), rule: v.rule ? v.reason : null, reason: `${name}: ${what} ${by}${need}` };
}
