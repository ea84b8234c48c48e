// Running OCI hooks: each with the container's state as JSON on its stdin, its own
// argv and environment, bounded by its timeout (killed past it), one after another in
// the order given. Hooks of the runtime namespace are processes of this one's; a
// startContainer hook is run inside the container (its namespaces and cgroups),
// through the same machinery as exec().
import { spawn } from 'node:child_process';
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

/** Runs one hook in this process's namespaces; rejects naming it when it fails or outlives its timeout. */
function runOne(kind: HookKind, i: number, h: ResolvedHook, state: HookState): Promise<void> {
  const name = `${kind} hook ${i} (${h.path})`;
  return new Promise((resolve, reject) => {
    const child = spawn(h.path, h.args.slice(1), { argv0: h.args[0], env: envOf(h), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => {
      if (output.length < KEEP) output += d.toString().slice(0, KEEP - output.length);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = h.timeout ? setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, h.timeout * 1000) : undefined;
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(state));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ContainerError('ERR_HOOK_FAILED', `${name}: ${e.message}`, { cause: e, path: h.path }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        debug('%s: done', name);
        resolve();
        return;
      }
      const why = timedOut ? `timed out after ${h.timeout} s (killed)` : signal ? `was killed by ${signal}` : `exited with status ${code}`;
      reject(new ContainerError('ERR_HOOK_FAILED', `${name} ${why}${output.trim() ? `: ${output.trim()}` : ''}`, { path: h.path }));
    });
  });
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
