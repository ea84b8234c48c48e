// exec(): another process in a running container. Its spec is checked by its own
// resolver, with the container's identity as the default of each field.
import type { Readable, Writable } from 'node:stream';
import createDebug from 'debug';
import { ContainerError, fromNative, quote } from '../errors';
import type { NativeContainer, NativeExec } from '../native';
import { toNativeExec } from '../plan';
import { type CapabilitySets, resolveCapabilities } from '../policy/capabilities';
import { onlyKnownKeys, own } from '../policy/fields';
import { validatePath } from '../policy/paths';
import { resolveRlimits, type RlimitSpec } from '../policy/process';
import { resolveSeccomp } from '../policy/seccomp';
import {
  execCandidates, resolveBool, resolveCommand, resolveEnvList, resolveStdio, resolveTerminal, resolveUmask, resolveUser, type StdioMode, type UserSpec,
  withDefaultEnv,
} from '../spec';
import type { ResolvedHook } from '../policy/hooks';
import type { ContainerRecord } from './record';
import { type ExitStatus, statusAfterExit } from './signals';
import { StdioPipes } from './stdio';

const debug = createDebug('nsbox:container');

/** A process to run inside a running container. */
export interface ExecSpec {
  command: string[];
  /** Replaces the container's environment when given. */
  env?: Record<string, string> | string[];
  cwd?: string;
  /** The container's user when omitted. */
  user?: UserSpec;
  /** Replaces the named sets of the container's. */
  capabilities?: Partial<CapabilitySets>;
  noNewPrivileges?: boolean;
  /** 0o022 when omitted, as with runc exec. */
  umask?: number;
  rlimits?: RlimitSpec[];
  terminal?: { consoleSocket: string };
  /**
   * 'pipe' (the default): stdin/stdout/stderr streams on the process, as for a
   * container. 'inherit' gives it this process's own fds 0..2, whatever they are
   * (a file, a terminal, a log): the container can then read or write them, reopen them
   * through /proc/self/fd and signal a terminal's foreground group; give it only to
   * processes you trust with them. 'ignore': /dev/null.
   */
  stdio?: StdioMode;
  /**
   * Leave the process to itself once it runs: wait() is not available, and when the
   * caller exits it goes to the nearest child subreaper (as with runc exec --detach).
   */
  detach?: boolean;
}

export interface ExecProcess {
  /** The process's host pid. */
  pid: number;
  /** Pipes to the process's fds 0..2 when its stdio is 'pipe', else null. */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Its exit; for a detached process, rejects with ERR_CONTAINER_STATE. */
  wait(): Promise<ExitStatus>;
}

const EXEC_KEYS = ['command', 'env', 'cwd', 'user', 'capabilities', 'noNewPrivileges', 'umask', 'rlimits', 'terminal', 'detach', 'stdio'];

/** Checks `spec` completely, before anything runs: the plan the addon's exec takes. */
/** `state`: the container's OCI state, which a notifying filter's listener gets with the process's fd. */
export function resolveExec(spec: unknown, record: ContainerRecord, capabilities: CapabilitySets, state: object | null = null): NativeExec {
  if (typeof spec !== 'object' || spec === null) throw new ContainerError('ERR_INVALID_SPEC', `exec() takes an object, got ${quote(spec)}`);
  onlyKnownKeys(spec, EXEC_KEYS, 'exec', 'ERR_INVALID_SPEC');
  const argv = resolveCommand(own(spec, 'command'));
  const userValue = own(spec, 'user');
  const { uid, gid, groups } = userValue === undefined ? record.user : resolveUser(userValue);
  const envValue = own(spec, 'env');
  const env = withDefaultEnv(envValue === undefined ? [...record.env] : resolveEnvList(envValue), uid);
  const command = {
    execCandidates: execCandidates(argv[0], env), argv, env, cwd: validatePath(own(spec, 'cwd') ?? '/', 'cwd'), uid, gid, groups: [...groups],
    noNewPrivileges: resolveBool(own(spec, 'noNewPrivileges'), 'noNewPrivileges', false), umask: resolveUmask(own(spec, 'umask')),
    rlimits: resolveRlimits(own(spec, 'rlimits')),
    stdio: resolveStdio(own(spec, 'stdio')), terminal: resolveTerminal(own(spec, 'terminal')),
    // The container's filter, for the container's capabilities, as runc gives its exec'd processes.
    seccomp: resolveSeccomp(record.seccompSpec, capabilities.bounding),
  };
  const caps = resolveCapabilities(capabilities, own(spec, 'capabilities'), record.limits);
  // In a user namespace the process is the namespace's, as the init is (its ids and capabilities count there).
  return toNativeExec(command, caps, resolveBool(own(spec, 'detach'), 'exec detach', false), state, record.namespaces.includes('user'));
}

/**
 * A createContainer hook (policy/hooks.ts): in the container's namespaces and cgroups
 * while its init waits before pivot_root, so its path and cwd ("/") resolve in the
 * host's tree. It runs as the runtime does: root with every capability this process
 * holds, no filter, and the runtime's environment unless the hook names one (the
 * hook belongs to whoever wrote the config, not to the container).
 */
export function resolveHookExec(h: ResolvedHook, record: ContainerRecord): NativeExec {
  const env = h.env ?? Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  const all = record.limits.available;
  return toNativeExec({
    execCandidates: [h.path], argv: [...h.args], env, cwd: '/', uid: 0, gid: 0, groups: [], noNewPrivileges: false, umask: 0o022, rlimits: [],
    stdio: 'pipe', terminal: null, seccomp: null,
  }, { bounding: all, effective: all, permitted: all, inheritable: 0n, ambient: 0n }, false);
}

/**
 * Runs the plan. `track` registers the process's untaken pipes with the container,
 * which closes them at destroy; they close with the process otherwise.
 */
export async function startExec(native: NativeContainer, id: string, plan: NativeExec, track: (pipes: StdioPipes, on: boolean) => void,
  oomKills: () => Promise<number>): Promise<ExecProcess> {
  // An OOM kill is this process's when the container's counter grew while it ran.
  const before = await oomKills().catch(() => 0);
  let out;
  try {
    out = await native.exec(plan);
  } catch (e) {
    throw fromNative(e, `container ${id}: exec ${plan.argv[0]}`);
  }
  const { pid, helper } = out;
  const pipes = new StdioPipes(out.stdio, id);
  if (pipes.open) track(pipes, true);
  debug('%s: exec %s: pid %d', id, plan.argv[0], pid);
  const exit = helper
    ? new Promise<ExitStatus>((resolve) => {
      helper.onExit((code, sig) => {
        helper.release().catch(() => undefined);
        pipes.closeUntaken();
        track(pipes, false);
        resolve(statusAfterExit(code, sig, oomKills, before));
      });
    })
    : null;
  return {
    pid,
    get stdin() {
      return pipes.stdin;
    },
    get stdout() {
      return pipes.stdout;
    },
    get stderr() {
      return pipes.stderr;
    },
    wait: () => exit ?? Promise.reject(new ContainerError('ERR_CONTAINER_STATE', `container ${id}: a detached exec cannot be waited for`)),
  };
}
