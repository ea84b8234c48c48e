// Facts about processes, from /proc.
import { readFileSync } from 'node:fs';

/**
 * Field 22 of /proc/<pid>/stat: the start time, in clock ticks since boot; null when
 * the process is gone or has exited (a zombie waiting for its parent).
 */
export function pidStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? null : fields[19] ?? null;
  } catch {
    return null;
  }
}
