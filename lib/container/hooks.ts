// Running OCI hooks: each with the container's state as JSON on its stdin, its own
// argv and environment, bounded by its timeout (killed past it), one after another in
// the order given. Hooks of the runtime namespace are processes of this one's; a
// startContainer hook is run inside the container (its namespaces and cgroups),
// through the same machinery as exec().
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import createDebug from 'debug';
import { ContainerError } from '../errors';
import type { HookKind, HookSpec, ResolvedHook } from '../policy/hooks';

const debug = createDebug('nsbox:hooks');

/** What a hook reads on its stdin: the OCI state of the container. */
export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The output kept for an error message. */
const KEEP = 4096;

function envOf(h: HookSpec): NodeJS.ProcessEnv {
  if (!h.env) return process.env;
  return Object.fromEntries(h.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** A started hook, wherever it runs: its stdio, how to kill it, and how it ended. */
export interface HookProcess {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  kill(): void;
  done: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Gives a started hook the state on its stdin and waits for it within its timeout
 * (killed past it); rejects with ERR_HOOK_FAILED naming it and its output unless it
 * exits 0.
 */
export async function superviseHook(name: string, h: ResolvedHook, p: HookProcess, state: HookState): Promise<void> {
  let output = '';
  const keep = (d: Buffer) => {
    if (output.length < KEEP) output += d.toString().slice(0, KEEP - output.length);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  p.stdin?.on('error', () => undefined);
  p.stdin?.end(JSON.stringify(state));
  let timedOut = false;
  const timer = h.timeout ? setTimeout(() => {
    timedOut = true;
    p.kill();
  }, h.timeout * 1000) : undefined;
  let ended;
  try {
    ended = await p.done;
  } catch (e) {
    throw new ContainerError('ERR_HOOK_FAILED', `${name}: ${(e as Error).message}`, { cause: e, path: h.path });
  } finally {
    clearTimeout(timer);
  }
  if (ended.code === 0) {
    debug('%s: done', name);
    return;
  }
  const why = timedOut ? `timed out after ${h.timeout} s (killed)` : ended.signal ? `was killed by ${ended.signal}` : `exited with status ${ended.code}`;
  throw new ContainerError('ERR_HOOK_FAILED', `${name} ${why}${output.trim() ? `: ${output.trim()}` : ''}`, { path: h.path });
}

/** Runs one hook in this process's namespaces. */
function runOne(kind: HookKind, i: number, h: ResolvedHook, state: HookState): Promise<void> {
  const child = spawn(h.path, h.args.slice(1), { argv0: h.args[0], env: envOf(h), stdio: ['pipe', 'pipe', 'pipe'] });
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return superviseHook(`${kind} hook ${i} (${h.path})`, h, { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, kill: () => child.kill('SIGKILL'), done }, state);
}

/** The OCI state a hook reads, for a container of `id` and `pid` (none once stopped). */
export function hookState(id: string, status: HookState['status'], pid: number, bundle: string, annotations: Readonly<Record<string, string>>): HookState {
  return {
    ociVersion: '1.0.2', id, status, ...(status !== 'stopped' ? { pid } : {}), bundle,
    ...(Object.keys(annotations).length ? { annotations: { ...annotations } } : {}),
  };
}

/**
 * Runs `hooks` of `kind` one after another in the runtime's namespaces; the first
 * failure rejects. `inside`, when given, runs each in the container instead (a
 * startContainer hook).
 */
export async function runHooks(kind: HookKind, hooks: readonly (ResolvedHook)[], state: HookState,
  inside?: (h: ResolvedHook, name: string) => Promise<void>): Promise<void> {
  for (const [i, h] of hooks.entries()) {
    if (inside) await inside(h, `${kind} hook ${i} (${h.path})`);
    else await runOne(kind, i, h, state);
  }
}

/** poststop and poststart: a failure is reported (`warn`) and the rest go on, as the runtime spec says. */
export async function runHooksWarning(kind: HookKind, hooks: readonly (ResolvedHook)[], state: HookState,
  warn: (e: Error) => void): Promise<void> {
  for (const [i, h] of hooks.entries()) {
    try {
      await runOne(kind, i, h, state);
    } catch (e) {
      warn(e as Error);
    }
  }
}
