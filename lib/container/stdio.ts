// The parent's ends of a process's stdio pipes, as Node streams.
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import createDebug from 'debug';

const debug = createDebug('nsbox:container');

/**
 * Our ends of a process's pipes (-1 where there is none), wrapped in streams when
 * first asked for: a stream object costs more than the container for callers who
 * never read it. An fd moves into its stream; close() closes the ones never taken.
 */
export class StdioPipes {
  readonly #fds: [number, number, number];
  readonly #streams: [Writable | null, Readable | null, Readable | null] = [null, null, null];
  readonly #id: string;

  constructor(fds: readonly [number, number, number], id: string) {
    this.#fds = [...fds];
    this.#id = id;
  }

  get stdin(): Writable | null {
    return this.#stream(0) as Writable | null;
  }

  get stdout(): Readable | null {
    return this.#stream(1) as Readable | null;
  }

  get stderr(): Readable | null {
    return this.#stream(2) as Readable | null;
  }

  get open(): boolean {
    return this.#fds.some((fd) => fd >= 0);
  }

  #stream(i: 0 | 1 | 2): Socket | null {
    const fd = this.#fds[i];
    if (!this.#streams[i] && fd >= 0) {
      // node:net is loaded on first use: a process that never reads a pipe (the
      // runtime command line) starts faster without it.
      const { Socket: SocketClass } = require('node:net') as typeof import('node:net');
      const s = new SocketClass({ fd, readable: i !== 0, writable: i === 0 });
      this.#fds[i] = -1;
      // An EPIPE on stdin because the process stopped reading is the process's business.
      if (i === 0) s.on('error', (e) => debug('%s: stdin: %s', this.#id, e.message));
      this.#streams[i] = s;
    }
    return this.#streams[i] as Socket | null;
  }

  /** Closes the fds nobody took as streams. */
  closeUntaken(): void {
    for (let i = 0; i < 3; i++) {
      if (this.#fds[i] >= 0) closeSync(this.#fds[i]);
      this.#fds[i] = -1;
    }
  }

  /**
   * At destroy: output being read is let through to its end (every writer is gone, so
   * it comes promptly); output nobody reads is discarded.
   */
  async close(): Promise<void> {
    const [, out, err] = this.#streams;
    await Promise.all([out, err].map((s) => (s && s.readableFlowing && !s.readableEnded && !s.destroyed
      ? new Promise((resolve) => s.once('close', resolve))
      : undefined)));
    for (const s of this.#streams) s?.destroy();
    this.closeUntaken();
  }
}
