// The runtime's log (--log, --log-format): what containerd's shim reads back. On a
// failure the last line with level "error" carries the message it reports.
import { appendFileSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

export class Log {
  constructor(private readonly file: string | null, private readonly format: LogFormat, private readonly debugEnabled: boolean) {}

  #write(level: string, msg: string): void {
    const time = new Date().toISOString();
    const line = this.format === 'json'
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    if (this.file) {
      try {
        appendFileSync(this.file, `${line}\n`);
      } catch {
        // A log that cannot be written must not hide the error itself (stderr below).
      }
    }
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.#write('debug', msg);
  }

  warn(msg: string): void {
    this.#write('warning', msg);
  }

  /** Logged, and written to stderr with a plain write (no stream: fd 2 may be the container's too). */
  error(msg: string): void {
    this.#write('error', msg);
    try {
      writeSync(2, `nsbox-runtime: ${msg}\n`);
    } catch {
      // stderr closed
    }
  }
}
