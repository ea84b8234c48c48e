// Signals by name and number, and exit statuses as the API reports them.
import { constants } from 'node:os';
import { ContainerError, quote } from '../errors';

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([n, v]) => [v, n as NodeJS.Signals]),
);

export interface ExitStatus {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /**
   * Killed (SIGKILL) while the kernel's OOM killer was killing in the container's
   * memory cgroup, by the cgroup's own counter (memory.events or memory.oom_control).
   */
  oomKilled: boolean;
}

export function signalNumber(signal: unknown): number {
  if (typeof signal === 'number' && Number.isInteger(signal) && signalNames.has(signal)) return signal;
  if (typeof signal === 'string' && Object.hasOwn(constants.signals, signal)) {
    return constants.signals[signal as keyof typeof constants.signals];
  }
  throw new ContainerError('ERR_INVALID_SIGNAL', `unknown signal ${quote(signal)}`);
}

/** The addon's (code, signal number) as an ExitStatus. */
export function exitStatus(code: number | null, sig: number | null, oomKilled = false): ExitStatus {
  return { exitCode: code, signal: sig === null ? null : signalNames.get(sig) ?? null, oomKilled };
}

/** The status, with oomKilled from `oomKills` (a count that must have grown past `before`) when SIGKILL ended it. */
export async function statusAfterExit(code: number | null, sig: number | null, oomKills: () => Promise<number>, before = 0): Promise<ExitStatus> {
  if (sig !== constants.signals.SIGKILL) return exitStatus(code, sig);
  return exitStatus(code, sig, (await oomKills().catch(() => 0)) > before);
}
