// A detached container's start FIFO: the init holds it open for reading and runs its
// command once a byte arrives.
import { constants as fsConstants, lstatSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import createDebug from 'debug';
import { ContainerError } from '../errors';

const debug = createDebug('nsbox:container');

/**
 * Removes a start FIFO, and nothing else: a path from a handle or a state file that
 * names another kind of file (a handle edited to name /etc/passwd) is left alone.
 */
export function removeFifo(path: string, id: string): void {
  try {
    if (lstatSync(path).isFIFO()) unlinkSync(path);
    else debug('%s: %s is not a FIFO: left alone', id, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') debug('%s: unlink %s: %s', id, path, (e as Error).message);
  }
}

/** True when `pid` holds `path` open (the same inode in /proc/<pid>/fd). */
export function holdsOpen(pid: number, path: string): boolean {
  const want = statSync(path);
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    const st = statSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false });
    return st !== undefined && st.dev === want.dev && st.ino === want.ino;
  });
}

/**
 * Starts a detached container. An open that finds no reader (ENXIO) means the init is
 * gone. The FIFO goes once the byte is written.
 */
export async function startThroughFifo(fifo: string, id: string): Promise<void> {
  let fh;
  try {
    fh = await open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ContainerError(err.code === 'ENXIO' ? 'ERR_CONTAINER_GONE' : err.code === 'ENOENT' ? 'ERR_CONTAINER_STATE' : 'ERR_INTERNAL',
      `container ${id}: start: open ${fifo}: ${err.code === 'ENXIO' ? "the container's init is gone" : err.message}`,
      { path: fifo, syscall: 'open', step: 'start' });
  }
  try {
    const st = await fh.stat();
    if (!st.isFIFO()) throw new ContainerError('ERR_CONTAINER_STATE', `container ${id}: start: ${fifo} is not a FIFO`, { path: fifo });
    await fh.write(new Uint8Array([0x53]));
  } finally {
    await fh.close();
  }
  removeFifo(fifo, id);
}
