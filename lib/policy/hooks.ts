// OCI hooks in the library's spec: programs the runtime runs at points of a
// container's life, each given the container's state as JSON on its stdin. Checked
// here (pure); lib/container/hooks.ts runs them.
import { ContainerError, quote } from '../errors';
import { onlyKnownKeys, own } from './fields';

export interface HookSpec {
  /**
   * Absolute; resolved on the host for every kind but startContainer (inside the
   * container's root). createContainer resolves it on the host too: it runs in the
   * container's namespaces before pivot_root, where the host's tree is still the root.
   */
  path: string;
  /** argv, argv[0] included (the path's when omitted). */
  args?: string[];
  /** "NAME=value"; the runtime's own environment when omitted, as with runc. */
  env?: string[];
  /** Seconds; the hook is killed past it and its operation fails. */
  timeout?: number;
}

export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];
export type HooksSpec = Partial<Record<HookKind, HookSpec[]>>;
/** A hook as checked: its argv always there. */
export type ResolvedHook = Required<Pick<HookSpec, 'path' | 'args'>> & Pick<HookSpec, 'env' | 'timeout'>;
export type ResolvedHooks = Record<HookKind, ResolvedHook[]>;

function bad(what: string, message: string): never {
  throw new ContainerError('ERR_INVALID_HOOK', `${what} ${message}`);
}

const strings = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || v.length > 4096 || v.some((s) => typeof s !== 'string' || s.includes('\0'))) bad(what, `must be an array of strings, got ${quote(v)}`);
  return [...v];
};

/** `hooks` checked in full: kinds, paths, args, env, timeouts. */
export function resolveHooks(value: unknown, what = 'hooks'): ResolvedHooks {
  const out = Object.fromEntries(HOOK_KINDS.map((k) => [k, []])) as unknown as ResolvedHooks;
  if (value === undefined || value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) bad(what, `must be an object of hook lists, got ${quote(value)}`);
  onlyKnownKeys(value, HOOK_KINDS, what, 'ERR_INVALID_HOOK');
  for (const kind of HOOK_KINDS) {
    const list = own(value, kind);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.length > 256) bad(`${what}.${kind}`, `must be an array of hooks, got ${quote(list)}`);
    out[kind] = list.map((h, i) => {
      const w = `${what}.${kind}[${i}]`;
      if (typeof h !== 'object' || h === null || Array.isArray(h)) bad(w, `must be an object, got ${quote(h)}`);
      onlyKnownKeys(h, ['path', 'args', 'env', 'timeout'], w, 'ERR_INVALID_HOOK');
      const path = own(h, 'path');
      if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) bad(`${w}.path`, `must be an absolute path, got ${quote(path)}`);
      const args = own(h, 'args') === undefined || own(h, 'args') === null ? [path] : strings(own(h, 'args'), `${w}.args`);
      const envValue = own(h, 'env');
      const env = envValue === undefined || envValue === null ? undefined : strings(envValue, `${w}.env`);
      if (env?.some((e) => !e.includes('=') || e.startsWith('='))) bad(`${w}.env`, 'entries look like "NAME=value"');
      const timeout = own(h, 'timeout');
      if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
        bad(`${w}.timeout`, `must be a number of seconds 1..86400, got ${quote(timeout)}`);
      }
      return { path, args: args.length ? args : [path], ...(env ? { env } : {}), ...(typeof timeout === 'number' ? { timeout } : {}) };
    });
  }
  return out;
}

/**
 * True when the container's init waits before pivot_root for hooks: prestart,
 * createRuntime and createContainer run there, with the container's mounts in place.
 */
export function pausesForHooks(h: ResolvedHooks): boolean {
  return h.prestart.length + h.createRuntime.length + h.createContainer.length > 0;
}

/** True when any hook is there. */
export function hasHooks(h: ResolvedHooks): boolean {
  return HOOK_KINDS.some((k) => h[k].length > 0);
}
