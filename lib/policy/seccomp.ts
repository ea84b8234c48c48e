// Syscall filters: the spec's `seccomp` ('default', 'unconfined' or an OCI
// linux.seccomp object) resolved into rules per architecture, compiled here into the
// classic BPF program the kernel's seccomp takes, and evaluated the same way for
// explain(). Pure: no syscalls; the init installs the compiled program as its last
// step before exec.
//
// Why our own compiler and not libseccomp: the addon and its prebuilds then need no
// shared library on the machine, the filter is built once per distinct rule set in
// the caller's process, and the compiler is tested without root (an interpreter of
// the same program below; the tests hold both to the kernel's verdict).
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys, own } from './fields';
import {
  AF_VSOCK, CLONE_NAMESPACE_FLAGS, DEFAULT_ALLOWED, DEFAULT_ARCH_ALLOWED, DEFAULT_CAPABILITY_ALLOWED, DEFAULT_PERSONALITIES, STRICT_REMOVED,
} from './seccomp-default';
import { type SeccompArch, SYSCALLS } from './syscall-table';

export type { SeccompArch } from './syscall-table';

/** OCI linux.seccomp, as config.json spells it. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: {
    names: string[];
    action: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
    comment?: string;
  }[];
}

/** The spec's and profile's `seccomp`. */
export type SeccompSpec = 'default' | 'strict' | 'unconfined' | OciSeccomp;

export type SeccompActionName = 'allow' | 'errno' | 'kill-thread' | 'kill-process' | 'trap' | 'trace' | 'log' | 'notify';

export interface SeccompAction {
  action: SeccompActionName;
  /** errno's value, trace's message. */
  value?: number;
}

export type ArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked-eq';

export interface ArgCondition {
  index: number;
  op: ArgOp;
  value: bigint;
  /** masked-eq: the value to compare with after `value` is used as the mask. */
  valueTwo: bigint;
}

export interface SeccompRule {
  name: string;
  /** Its number on each architecture that has it. */
  nr: Partial<Record<SeccompArch, number>>;
  action: SeccompAction;
  args: ArgCondition[];
  /** Why the rule is there (for explain): the profile's group, or the config's rule index. */
  origin: string;
}

export interface SeccompFilter {
  defaultAction: SeccompAction;
  arches: SeccompArch[];
  /** SECCOMP_FILTER_FLAG_* bits. */
  flags: number;
  rules: SeccompRule[];
  /**
   * Where the filter's listener fd goes (SCMP_ACT_NOTIFY): a unix socket that gets
   * the process's state as JSON with the fd (SCM_RIGHTS), as runc sends it; and the
   * config's metadata for it. Only when a rule notifies.
   */
  listener?: { path: string; metadata: string };
  /** Names the filter could not find on any of its architectures, skipped as runc skips them. */
  unknown: string[];
  /** For explain: what the default filter left out for want of a capability, by syscall. */
  needs: Record<string, string>;
}

function bad(message: string): never {
  throw new ContainerError('ERR_INVALID_SECCOMP', `seccomp: ${message}`);
}

// seccomp's return values (linux/seccomp.h).
const RET = {
  'kill-process': 0x80000000, 'kill-thread': 0x00000000, trap: 0x00030000, errno: 0x00050000, trace: 0x7ff00000, log: 0x7ffc0000,
  allow: 0x7fff0000, notify: 0x7fc00000,
} as const;
const ENOSYS = 38;
const EPERM = 1;

export const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};
const FLAG_TSYNC = 1;
const FLAG_NEW_LISTENER = 8;

/**
 * The flags the filter is installed with: a notifying filter asks for its listener
 * fd. TSYNC goes then (the kernel takes the two together only with TSYNC_ESRCH): the
 * processes that install ours are single-threaded, so it has nothing to do.
 */
export function installFlags(f: SeccompFilter): number {
  return f.listener ? (f.flags & ~FLAG_TSYNC) | FLAG_NEW_LISTENER : f.flags;
}

/**
 * What the listener socket gets with the fd: the OCI container process state, as two
 * halves around the process's pid, which only the addon learns (an exec'd process's).
 */
export function listenerMessage(f: SeccompFilter, state: object): { path: string; head: string; tail: string } | null {
  if (!f.listener) return null;
  return {
    path: f.listener.path,
    head: '{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":',
    tail: `,"metadata":${JSON.stringify(f.listener.metadata)},"state":${JSON.stringify(state)}}`,
  };
}

/**
 * The syscalls the installing process makes right after the filter is in, handing its
 * listener fd on and waiting for the answer (src-native/handshake.h): notifying them
 * would wait on a listener that cannot have the fd yet (runc refuses write for the
 * same reason).
 */
const HANDS_ON_LISTENER = ['sendmsg', 'recvfrom'];

const OCI_ACTIONS: Readonly<Record<string, SeccompActionName>> = {
  SCMP_ACT_ALLOW: 'allow', SCMP_ACT_ERRNO: 'errno', SCMP_ACT_KILL: 'kill-thread', SCMP_ACT_KILL_THREAD: 'kill-thread',
  SCMP_ACT_KILL_PROCESS: 'kill-process', SCMP_ACT_TRAP: 'trap', SCMP_ACT_TRACE: 'trace', SCMP_ACT_LOG: 'log',
  SCMP_ACT_NOTIFY: 'notify',
};

const OCI_ARCHES: Readonly<Record<string, SeccompArch | null>> = {
  SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X86: 'x86', SCMP_ARCH_X32: 'x32',
  // Architectures this machine cannot run: a rule set for them has nothing to filter here.
  SCMP_ARCH_AARCH64: null, SCMP_ARCH_ARM: null, SCMP_ARCH_MIPS: null, SCMP_ARCH_MIPS64: null, SCMP_ARCH_MIPS64N32: null,
  SCMP_ARCH_MIPSEL: null, SCMP_ARCH_MIPSEL64: null, SCMP_ARCH_MIPSEL64N32: null, SCMP_ARCH_PPC: null, SCMP_ARCH_PPC64: null,
  SCMP_ARCH_PPC64LE: null, SCMP_ARCH_S390: null, SCMP_ARCH_S390X: null, SCMP_ARCH_RISCV64: null,
};

const OCI_OPS: Readonly<Record<string, ArgOp>> = {
  SCMP_CMP_EQ: 'eq', SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_GT: 'gt', SCMP_CMP_GE: 'ge',
  SCMP_CMP_MASKED_EQ: 'masked-eq',
};

const ALL_ARCHES: SeccompArch[] = ['x86_64', 'x86', 'x32'];
const U64 = (1n << 64n) - 1n;

function numbers(name: string, arches: readonly SeccompArch[]): Partial<Record<SeccompArch, number>> {
  const out: Partial<Record<SeccompArch, number>> = {};
  for (const a of arches) {
    const nr = Object.hasOwn(SYSCALLS[a], name) ? SYSCALLS[a][name] : undefined;
    if (nr !== undefined) out[a] = nr;
  }
  return out;
}

function ruleFor(name: string, arches: readonly SeccompArch[], action: SeccompAction, args: ArgCondition[], origin: string): SeccompRule | null {
  const nr = numbers(name, arches);
  return Object.keys(nr).length ? { name, nr, action, args, origin } : null;
}

const cond = (index: number, op: ArgOp, value: number, valueTwo = 0): ArgCondition =>
  ({ index, op, value: BigInt(value), valueTwo: BigInt(valueTwo) });

/**
 * The default profile's filter for a container whose bounding set is `caps`: Docker's
 * semantics (seccomp-default.ts). `strict` leaves out STRICT_REMOVED and the
 * capability-conditional openings of ptrace and its kin.
 */
export function defaultFilter(caps: readonly string[], strict = false): SeccompFilter {
  const held = new Set(caps);
  const arches = ALL_ARCHES;
  const rules: SeccompRule[] = [];
  const needs: Record<string, string> = {};
  const allow: SeccompAction = { action: 'allow' };
  const removed = new Set(strict ? STRICT_REMOVED : []);
  const add = (name: string, action: SeccompAction, args: ArgCondition[], origin: string, on: readonly SeccompArch[] = arches) => {
    if (removed.has(name)) return;
    const r = ruleFor(name, on, action, args, origin);
    if (r) rules.push(r);
  };
  for (const name of DEFAULT_ALLOWED) add(name, allow, [], 'the default allow list');
  for (const { names, arches: on } of DEFAULT_ARCH_ALLOWED) for (const name of names) add(name, allow, [], `allowed on ${on.join(', ')}`, on);
  for (const p of strict ? [] : DEFAULT_PERSONALITIES) add('personality', allow, [cond(0, 'eq', p)], `personality ${p}`);
  add('socket', allow, [cond(0, 'ne', AF_VSOCK)], 'socket of any family but AF_VSOCK');
  for (const [cap, names] of Object.entries(DEFAULT_CAPABILITY_ALLOWED)) {
    for (const name of names) {
      if (held.has(cap)) add(name, allow, [], `allowed with ${cap}`);
      else if (!removed.has(name)) needs[name] = needs[name] ? `${needs[name]} or ${cap}` : cap;
    }
  }
  if (!held.has('CAP_SYS_ADMIN')) {
    // Threads and processes, but no new namespaces; clone3 hides its flags in memory
    // the filter cannot read, so it answers ENOSYS and glibc falls back to clone.
    add('clone', allow, [cond(0, 'masked-eq', CLONE_NAMESPACE_FLAGS, 0)], 'clone without namespace flags (no CAP_SYS_ADMIN)');
    add('clone3', { action: 'errno', value: ENOSYS }, [], 'clone3 answers ENOSYS without CAP_SYS_ADMIN');
  }
  return { defaultAction: { action: 'errno', value: EPERM }, arches: [...arches], flags: 0, rules, unknown: [], needs };
}

function u64(v: unknown, what: string): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    // Above 2^53 JSON numbers lose precision: a value the filter cannot hold exactly is refused.
    bad(`${what} must be an integer 0..2^53, got ${quote(v)}`);
  }
  return BigInt(v);
}

function action(name: unknown, errnoRet: unknown, what: string, defaultErrno: number): SeccompAction {
  const a = typeof name === 'string' && Object.hasOwn(OCI_ACTIONS, name) ? OCI_ACTIONS[name] : bad(`${what} ${quote(name)} is not an action (${Object.keys(OCI_ACTIONS).join(', ')})`);
  if (a === 'errno' || a === 'trace') {
    const v = errnoRet ?? (a === 'errno' ? defaultErrno : 0);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) bad(`${what} errnoRet must be an integer 0..65535, got ${quote(v)}`);
    return { action: a, value: v };
  }
  if (errnoRet !== undefined && errnoRet !== null) bad(`${what} errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE`);
  return { action: a };
}

/** An OCI linux.seccomp object, checked in full; names no architecture knows are skipped (and listed), as runc skips them. */
export function filterFromOci(value: unknown, what = 'linux.seccomp'): SeccompFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${what} must be an object, got ${quote(value)}`);
  onlyKnownKeys(value, ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'], what, 'ERR_INVALID_SECCOMP');
  const o = value as Record<string, unknown>;
  const listenerPath = own(o, 'listenerPath') ?? '';
  // sun_path holds 108 bytes, its terminating NUL included.
  if (typeof listenerPath !== 'string' || (listenerPath !== '' && (!listenerPath.startsWith('/') || listenerPath.includes('\0') || Buffer.byteLength(listenerPath) > 107))) {
    bad(`${what}.listenerPath must be an absolute path of a unix socket (at most 107 bytes), got ${quote(listenerPath)}`);
  }
  const metadata = own(o, 'listenerMetadata') ?? '';
  if (typeof metadata !== 'string') bad(`${what}.listenerMetadata must be a string, got ${quote(metadata)}`);
  const dErr = own(o, 'defaultErrnoRet');
  const defaultErrno = dErr === undefined || dErr === null ? EPERM : (typeof dErr === 'number' && Number.isInteger(dErr) && dErr >= 0 && dErr <= 0xffff
    ? dErr : bad(`${what}.defaultErrnoRet must be an integer 0..65535, got ${quote(dErr)}`));
  const defaultAction = action(own(o, 'defaultAction'), dErr, `${what}.defaultAction`, EPERM);
  if (defaultAction.action === 'notify') {
    bad(`${what}.defaultAction SCMP_ACT_NOTIFY would hand the runtime's own last steps before exec to the listener; notify named syscalls instead`);
  }
  const archList = own(o, 'architectures') ?? [];
  if (!Array.isArray(archList)) bad(`${what}.architectures must be an array`);
  const arches = new Set<SeccompArch>();
  for (const a of archList) {
    if (typeof a !== 'string' || !Object.hasOwn(OCI_ARCHES, a)) bad(`${what}.architectures: ${quote(a)} is not an architecture`);
    const mine = OCI_ARCHES[a];
    if (mine) arches.add(mine);
  }
  // None given: the native one alone, as libseccomp does.
  if (arches.size === 0) arches.add('x86_64');
  const flagList = own(o, 'flags') ?? [];
  if (!Array.isArray(flagList)) bad(`${what}.flags must be an array`);
  let flags = 0;
  for (const f of flagList) {
    if (typeof f !== 'string' || !Object.hasOwn(SECCOMP_FLAGS, f)) bad(`${what}.flags: ${quote(f)} is not one of ${Object.keys(SECCOMP_FLAGS).join(', ')}`);
    flags |= SECCOMP_FLAGS[f];
  }
  const list = own(o, 'syscalls') ?? [];
  if (!Array.isArray(list) || list.length > 4096) bad(`${what}.syscalls must be an array`);
  const rules: SeccompRule[] = [];
  const unknown = new Set<string>();
  const on = [...arches];
  list.forEach((raw, i) => {
    const w = `${what}.syscalls[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(`${w} must be an object`);
    onlyKnownKeys(raw, ['names', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'], w, 'ERR_INVALID_SECCOMP');
    const r = raw as Record<string, unknown>;
    for (const k of ['includes', 'excludes']) {
      // Docker's own profile format: resolved by whoever sends a config, never part of one.
      if (own(r, k) !== undefined) bad(`${w}.${k} is Docker's profile format, not OCI's: resolve it before sending the config`);
    }
    const names = own(r, 'names');
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || !/^[a-z0-9_]{1,64}$/.test(n))) {
      bad(`${w}.names must be a non-empty array of syscall names`);
    }
    const act = action(own(r, 'action'), own(r, 'errnoRet'), `${w}.action`, defaultErrno);
    if (act.action === 'notify') {
      if (!listenerPath) bad(`${w}.action SCMP_ACT_NOTIFY needs ${what}.listenerPath, where the listener fd goes`);
      const used = HANDS_ON_LISTENER.filter((n) => (names as string[]).includes(n));
      if (used.length) bad(`${w}: SCMP_ACT_NOTIFY cannot be used for ${used.join(' or ')}, which hand the listener fd on right after the filter is in`);
    }
    const argList = own(r, 'args') ?? [];
    if (!Array.isArray(argList) || argList.length > 6) bad(`${w}.args must be an array of at most 6 conditions`);
    const args = argList.map((c, j) => {
      const cw = `${w}.args[${j}]`;
      if (typeof c !== 'object' || c === null || Array.isArray(c)) bad(`${cw} must be an object`);
      onlyKnownKeys(c, ['index', 'value', 'valueTwo', 'op'], cw, 'ERR_INVALID_SECCOMP');
      const index = own(c, 'index');
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) bad(`${cw}.index must be 0..5, got ${quote(index)}`);
      const op = own(c, 'op');
      if (typeof op !== 'string' || !Object.hasOwn(OCI_OPS, op)) bad(`${cw}.op ${quote(op)} is not one of ${Object.keys(OCI_OPS).join(', ')}`);
      return { index, op: OCI_OPS[op], value: u64(own(c, 'value') ?? 0, `${cw}.value`), valueTwo: u64(own(c, 'valueTwo') ?? 0, `${cw}.valueTwo`) };
    });
    for (const name of names as string[]) {
      const rule = ruleFor(name, on, act, args, `config rule ${i}`);
      if (rule) rules.push(rule);
      else unknown.add(name);
    }
  });
  const listener = rules.some((r) => r.action.action === 'notify') ? { listener: { path: listenerPath, metadata } } : {};
  return { defaultAction, arches: on, flags, rules, ...listener, unknown: [...unknown], needs: {} };
}

/**
 * The filter a spec asks for, for a container whose bounding set is `caps`; null for
 * 'unconfined'.
 */
export function resolveSeccomp(value: unknown, caps: readonly string[]): SeccompFilter | null {
  if (value === 'unconfined' || value === null) return null;
  if (typeof value === 'string' && value !== 'default' && value !== 'strict') {
    bad(`${quote(value)} is not a filter: 'default', 'strict', 'unconfined' or an OCI linux.seccomp object`);
  }
  // Resolved once per rule set: a create on the event loop's thread pays a lookup.
  let key: string;
  try {
    key = value === undefined || typeof value === 'string' ? `${value ?? 'default'}:${[...caps].sort().join(',')}` : `oci:${JSON.stringify(value)}`;
  } catch {
    return bad('the filter must be plain JSON');
  }
  const hit = filterCache.get(key);
  if (hit) return hit;
  const f = value === undefined || value === 'default' ? defaultFilter(caps) : value === 'strict' ? defaultFilter(caps, true) : filterFromOci(value, 'seccomp');
  Object.freeze(f.rules);
  Object.freeze(f);
  if (filterCache.size > 64) filterCache.clear();
  filterCache.set(key, f);
  return f;
}

const filterCache = new Map<string, SeccompFilter>();

// ---- evaluation: what the filter answers for one call ------------------------------

function argMatches(c: ArgCondition, args: readonly bigint[]): boolean {
  const a = (args[c.index] ?? 0n) & U64;
  switch (c.op) {
    case 'eq': return a === c.value;
    case 'ne': return a !== c.value;
    case 'lt': return a < c.value;
    case 'le': return a <= c.value;
    case 'gt': return a > c.value;
    case 'ge': return a >= c.value;
    case 'masked-eq': return (a & c.value) === c.valueTwo;
  }
}

export interface SeccompVerdict {
  action: SeccompAction;
  /** The rule that decided, or why none did. */
  reason: string;
  rule?: SeccompRule;
}

/**
 * The highest syscall number the filter names on `arch`: numbers above it get ENOSYS
 * (they are newer than the filter), as runc's stub does; -1 (no stub) when the
 * default action lets calls through anyway or already is ENOSYS.
 */
function highest(f: SeccompFilter, arch: SeccompArch): number {
  const d = f.defaultAction;
  if (d.action === 'allow' || d.action === 'log' || (d.action === 'errno' && d.value === ENOSYS)) return -1;
  let max = -1;
  for (const r of f.rules) if (r.nr[arch] !== undefined && r.nr[arch]! > max) max = r.nr[arch]!;
  return max;
}

/**
 * What the filter answers for syscall `nr` on `arch` with `args`: the rules with
 * argument conditions first, in order, then the syscall's first rule without any (as
 * libseccomp merges them), then ENOSYS for a number above every one the filter names,
 * then the default action. An architecture the filter does not cover is killed.
 */
export function evaluateSeccomp(f: SeccompFilter, arch: SeccompArch, nr: number, args: readonly bigint[] = []): SeccompVerdict {
  if (!f.arches.includes(arch)) return { action: { action: 'kill-process' }, reason: `the ${arch} architecture is not in the filter: killed` };
  const mine = f.rules.filter((r) => r.nr[arch] === nr);
  for (const r of mine) {
    if (r.args.length && r.args.every((c) => argMatches(c, args))) return { action: r.action, reason: r.origin, rule: r };
  }
  const plain = mine.find((r) => r.args.length === 0);
  if (plain) return { action: plain.action, reason: plain.origin, rule: plain };
  const top = highest(f, arch);
  if (top >= 0 && nr > top) return { action: { action: 'errno', value: ENOSYS }, reason: 'newer than every syscall the filter names: ENOSYS, so that callers fall back' };
  return { action: f.defaultAction, reason: mine.length ? 'no rule\'s argument conditions matched: the default action' : 'the default action' };
}

// ---- the classic BPF program ------------------------------------------------------

// BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JMP_JA = 0x05;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const ALU_AND_K = 0x54;

// seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (low word first, little endian).
const AUDIT_ARCH: Readonly<Record<'x86_64' | 'x86', number>> = { x86_64: 0xc000003e, x86: 0x40000003 };
const X32_BIT = 0x40000000;

/** One instruction: opcode, jump-if-true, jump-if-false, constant. */
export type BpfInsn = [code: number, jt: number, jf: number, k: number];

type Target = number | string;
interface Pending { code: number; jt: Target; jf: Target; k: number; label?: string }

/**
 * A small assembler: conditional jumps name labels or 0 (the next instruction); each
 * must land within 255 instructions, which the code below keeps true by construction
 * (far targets go through an unconditional jump, whose offset has 32 bits).
 */
class Asm {
  readonly insns: Pending[] = [];
  readonly labels = new Map<string, number>();
  #n = 0;
  fresh(p: string): string {
    return `${p}${this.#n++}`;
  }
  label(name: string): void {
    this.labels.set(name, this.insns.length);
  }
  emit(code: number, k: number, jt: Target = 0, jf: Target = 0): void {
    this.insns.push({ code, jt, jf, k });
  }
  ja(label: string): void {
    this.insns.push({ code: JMP_JA, jt: 0, jf: 0, k: 0, label });
  }
  ret(a: SeccompAction): void {
    this.emit(RET_K, retValue(a));
  }
  assemble(): BpfInsn[] {
    return this.insns.map((p, pc) => {
      const off = (t: Target) => {
        if (typeof t === 'number') return t;
        const at = this.labels.get(t);
        if (at === undefined) throw new Error(`seccomp assembler: no label ${t}`);
        const d = at - pc - 1;
        if (d < 0 || d > 255) throw new Error(`seccomp assembler: jump to ${t} out of range (${d})`);
        return d;
      };
      if (p.code === JMP_JA && p.label) {
        const at = this.labels.get(p.label);
        if (at === undefined || at <= pc) throw new Error(`seccomp assembler: bad jump to ${p.label}`);
        return [p.code, 0, 0, at - pc - 1];
      }
      return [p.code, off(p.jt), off(p.jf), p.k >>> 0];
    });
  }
}

function retValue(a: SeccompAction): number {
  return (RET[a.action] | ((a.value ?? 0) & 0xffff)) >>> 0;
}

const lo = (v: bigint) => Number(v & 0xffffffffn);
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);

/**
 * Emits the check of one condition: falls through when it holds, jumps to `fail`
 * (a label within reach) when it does not. 64-bit comparisons go word by word, high
 * word first.
 */
function emitCondition(asm: Asm, c: ArgCondition, fail: string): void {
  const loOff = 16 + 8 * c.index;
  const hiOff = loOff + 4;
  const pass = asm.fresh('pass');
  switch (c.op) {
    case 'eq':
    case 'ne': {
      // eq: both words equal; ne: some word differs.
      const differ = c.op === 'eq' ? fail : pass;
      asm.emit(LD_W_ABS, hiOff);
      asm.emit(JEQ_K, hi(c.value), 0, differ);
      asm.emit(LD_W_ABS, loOff);
      if (c.op === 'eq') asm.emit(JEQ_K, lo(c.value), 0, fail);
      else asm.emit(JEQ_K, lo(c.value), fail, 0);
      break;
    }
    case 'masked-eq': {
      for (const [off, m, v] of [[hiOff, hi(c.value), hi(c.valueTwo)], [loOff, lo(c.value), lo(c.valueTwo)]] as const) {
        asm.emit(LD_W_ABS, off);
        asm.emit(ALU_AND_K, m);
        asm.emit(JEQ_K, v, 0, fail);
      }
      break;
    }
    default: {
      // a OP v, unsigned 64-bit: decided by the high words unless they are equal.
      const strictOp = c.op === 'gt' || c.op === 'lt';
      const greater = c.op === 'gt' || c.op === 'ge';
      asm.emit(LD_W_ABS, hiOff);
      // High words: a.hi > v.hi decides for gt/ge and against lt/le.
      asm.emit(JGT_K, hi(c.value), greater ? pass : fail, 0);
      asm.emit(JEQ_K, hi(c.value), 0, greater ? fail : pass);
      asm.emit(LD_W_ABS, loOff);
      if (greater) asm.emit(strictOp ? JGT_K : JGE_K, lo(c.value), 0, fail);
      // lt: a.lo < v.lo, i.e. not (a.lo >= v.lo); le: not (a.lo > v.lo).
      else asm.emit(strictOp ? JGE_K : JGT_K, lo(c.value), fail, 0);
      break;
    }
  }
  asm.label(pass);
}

// A leaf of the search tree compares this many numbers one by one.
const LEAF = 16;

interface Entry {
  nr: number;
  /** A syscall decided by one action whatever its arguments: that RET's value. */
  ret?: number;
  /** One with argument conditions: its block, reached by an unconditional jump. */
  block?: string;
}

/**
 * A binary search over the sorted numbers, so that a call takes a handful of
 * comparisons, not one per listed syscall; this also keeps short the kernel's own
 * pass over the filter for every syscall number when it is installed (the action
 * cache). Inner nodes jump right through an unconditional jump, so every conditional
 * jump stays within reach; leaves jump to RETs of their own, a few instructions on.
 */
function emitSearch(asm: Asm, entries: readonly Entry[], miss: string): void {
  if (entries.length > LEAF) {
    const mid = entries.length >> 1;
    const right = asm.fresh('right');
    asm.emit(JGE_K, entries[mid].nr >>> 0, 0, 1);
    asm.ja(right);
    emitSearch(asm, entries.slice(0, mid), miss);
    asm.label(right);
    emitSearch(asm, entries.slice(mid), miss);
    return;
  }
  const rets = new Map<number, string>();
  for (const e of entries) {
    if (e.block) {
      asm.emit(JEQ_K, e.nr >>> 0, 0, 1);
      asm.ja(e.block);
      continue;
    }
    if (!rets.has(e.ret!)) rets.set(e.ret!, asm.fresh('ret'));
    asm.emit(JEQ_K, e.nr >>> 0, rets.get(e.ret!)!, 0);
  }
  asm.ja(miss);
  for (const [v, label] of rets) {
    asm.label(label);
    asm.emit(RET_K, v);
  }
}

/** One architecture's part: nr is loaded; every path ends in a RET. */
function emitArch(asm: Asm, f: SeccompFilter, arch: SeccompArch): void {
  const byNr = new Map<number, SeccompRule[]>();
  for (const r of f.rules) {
    const nr = r.nr[arch];
    if (nr === undefined) continue;
    if (!byNr.has(nr)) byNr.set(nr, []);
    byNr.get(nr)!.push(r);
  }
  const blocks: { label: string; rules: SeccompRule[] }[] = [];
  const entries: Entry[] = [...byNr].sort((x, y) => x[0] - y[0]).map(([nr, rules]) => {
    if (!rules.some((r) => r.args.length > 0)) return { nr, ret: retValue(rules[0].action) };
    const label = asm.fresh('sys');
    blocks.push({ label, rules });
    return { nr, block: label };
  });
  const miss = asm.fresh('miss');
  if (entries.length) emitSearch(asm, entries, miss);
  asm.label(miss);
  // Above every number the filter names: ENOSYS (newer than the filter).
  const top = highest(f, arch);
  if (top >= 0) {
    asm.emit(JGT_K, top >>> 0, 0, 1);
    asm.ret({ action: 'errno', value: ENOSYS });
  }
  asm.ret(f.defaultAction);
  for (const b of blocks) {
    asm.label(b.label);
    const ordered = [...b.rules.filter((r) => r.args.length), ...b.rules.filter((r) => !r.args.length).slice(0, 1)];
    for (const r of ordered) {
      const fail = asm.fresh('fail');
      for (const c of r.args) emitCondition(asm, c, fail);
      asm.ret(r.action);
      asm.label(fail);
    }
    asm.ret(f.defaultAction);
  }
}

const programCache = new Map<string, BpfInsn[]>();

/** A stable key of the filter's content, for the compiled program's cache. */
function filterKey(f: SeccompFilter): string {
  return JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/**
 * The classic BPF program of `f`: the architecture checked first (x32 calls come in as
 * x86_64 with the x32 bit in nr), then each architecture's rules. Cached by content:
 * a profile's containers share one program.
 */
export function compileSeccomp(f: SeccompFilter): BpfInsn[] {
  const known = programOf.get(f);
  if (known) return known;
  const key = filterKey(f);
  const hit = programCache.get(key);
  if (hit) {
    programOf.set(f, hit);
    return hit;
  }
  const asm = new Asm();
  const kill: SeccompAction = { action: 'kill-process' };
  asm.emit(LD_W_ABS, 4);
  asm.emit(JEQ_K, AUDIT_ARCH.x86_64, 0, 1);
  asm.ja('x86_64');
  asm.emit(JEQ_K, AUDIT_ARCH.x86, 0, 1);
  asm.ja('x86');
  asm.ret(kill);
  asm.label('x86_64');
  asm.emit(LD_W_ABS, 0);
  // The x32 bit: an x32 call, or a 64-bit process trying the x32 numbers.
  asm.emit(JSET_K, X32_BIT, 0, 1);
  asm.ja('x32');
  if (f.arches.includes('x86_64')) emitArch(asm, f, 'x86_64');
  else asm.ret(kill);
  asm.label('x32');
  if (f.arches.includes('x32')) emitArch(asm, f, 'x32');
  else asm.ret(kill);
  asm.label('x86');
  asm.emit(LD_W_ABS, 0);
  if (f.arches.includes('x86')) emitArch(asm, f, 'x86');
  else asm.ret(kill);
  const prog = asm.assemble();
  if (prog.length > 4096) bad(`the filter compiles to ${prog.length} instructions, more than the kernel's 4096`);
  if (programCache.size > 64) programCache.clear();
  programCache.set(key, prog);
  programOf.set(f, prog);
  return prog;
}

const programOf = new WeakMap<SeccompFilter, BpfInsn[]>();
const packed = new WeakMap<readonly BpfInsn[], Uint32Array>();

/** What the addon takes: two words per instruction (code | jt << 16 | jf << 24, then k). */
export function packSeccomp(prog: readonly BpfInsn[]): Uint32Array {
  let out = packed.get(prog);
  if (!out) {
    out = Uint32Array.from(prog.flatMap(([code, jt, jf, k]) => [(code | (jt << 16) | (jf << 24)) >>> 0, k >>> 0]));
    packed.set(prog, out);
  }
  return out;
}

/**
 * Runs the program as the kernel would over one seccomp_data: the return value.
 * For tests and for checking the compiler against evaluateSeccomp.
 */
export function runBpf(prog: readonly BpfInsn[], data: { nr: number; arch: number; args?: readonly bigint[] }): number {
  const word = (off: number): number => {
    if (off === 0) return data.nr >>> 0;
    if (off === 4) return data.arch >>> 0;
    if (off >= 16 && off < 64) {
      const a = (data.args?.[(off - 16) >> 3] ?? 0n) & U64;
      return Number((off - 16) % 8 === 0 ? a & 0xffffffffn : a >> 32n) >>> 0;
    }
    throw new Error(`runBpf: load at ${off}`);
  };
  let acc = 0;
  for (let pc = 0, steps = 0; pc < prog.length && steps < 100000; pc++, steps++) {
    const [code, jt, jf, k] = prog[pc];
    switch (code) {
      case LD_W_ABS: acc = word(k); break;
      case ALU_AND_K: acc = (acc & k) >>> 0; break;
      case JMP_JA: pc += k; break;
      case JEQ_K: pc += acc === k >>> 0 ? jt : jf; break;
      case JGT_K: pc += acc > k >>> 0 ? jt : jf; break;
      case JGE_K: pc += acc >= k >>> 0 ? jt : jf; break;
      case JSET_K: pc += (acc & k) !== 0 ? jt : jf; break;
      case RET_K: return k >>> 0;
      default: throw new Error(`runBpf: opcode ${code}`);
    }
  }
  throw new Error('runBpf: fell off the program');
}

/** The number of `arch` that seccomp_data carries for a syscall number of that table. */
export function auditArch(arch: SeccompArch): number {
  return arch === 'x86' ? AUDIT_ARCH.x86 : AUDIT_ARCH.x86_64;
}

export { retValue as seccompReturn };

const ACTION_NAMES: Readonly<Record<SeccompActionName, string>> = {
  allow: 'SCMP_ACT_ALLOW', errno: 'SCMP_ACT_ERRNO', 'kill-thread': 'SCMP_ACT_KILL_THREAD', 'kill-process': 'SCMP_ACT_KILL_PROCESS', trap: 'SCMP_ACT_TRAP',
  trace: 'SCMP_ACT_TRACE', log: 'SCMP_ACT_LOG', notify: 'SCMP_ACT_NOTIFY',
};
const OP_NAMES: Readonly<Record<ArgOp, string>> = Object.fromEntries(Object.entries(OCI_OPS).map(([k, v]) => [v, k])) as Record<ArgOp, string>;
const ARCH_NAMES: Readonly<Record<SeccompArch, string>> = { x86_64: 'SCMP_ARCH_X86_64', x86: 'SCMP_ARCH_X86', x32: 'SCMP_ARCH_X32' };

/**
 * A filter as OCI linux.seccomp, for another runtime (or this one's command line):
 * rules with the same action and conditions share one entry, in the order they first
 * appear. A rule of only some architectures (arch_prctl) is written for all, as
 * Docker resolves its own profile for one machine.
 */
export function filterToOci(f: SeccompFilter): OciSeccomp {
  const groups = new Map<string, { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo: number; op: string }[] }>();
  for (const r of f.rules) {
    const args = r.args.map((c) => ({ index: c.index, value: Number(c.value), valueTwo: Number(c.valueTwo), op: OP_NAMES[c.op] }));
    const key = JSON.stringify([r.action, args]);
    let g = groups.get(key);
    if (!g) {
      g = { names: [], action: ACTION_NAMES[r.action.action], ...(r.action.value !== undefined ? { errnoRet: r.action.value } : {}), ...(args.length ? { args } : {}) };
      groups.set(key, g);
    }
    if (!g.names.includes(r.name)) g.names.push(r.name);
  }
  const d = f.defaultAction;
  return {
    defaultAction: ACTION_NAMES[d.action], ...(d.value !== undefined ? { defaultErrnoRet: d.value } : {}),
    architectures: f.arches.map((a) => ARCH_NAMES[a]),
    ...(f.flags ? { flags: Object.entries(SECCOMP_FLAGS).filter(([, bit]) => f.flags & bit).map(([name]) => name) } : {}),
    ...(f.listener ? { listenerPath: f.listener.path, ...(f.listener.metadata ? { listenerMetadata: f.listener.metadata } : {}) } : {}),
    syscalls: [...groups.values()],
  };
}
