// run(): create + start + wait + destroy, collecting output.
import type { Readable } from 'node:stream';
import { type ExitStatus, createContainer } from './container';
import type { ContainerSpec } from './spec';

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

export interface RunSpec extends ContainerSpec {
  /** Written to the container's stdin, which is then closed. */
  input?: string | Uint8Array;
}

function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    stream.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function run(spec: RunSpec): Promise<RunResult> {
  const { input, ...rest } = spec;
  const c = await createContainer(rest);
  try {
    const out = collect(c.stdout);
    const err = collect(c.stderr);
    if (c.stdin) c.stdin.end(input ?? '');
    await c.start();
    const status = await c.wait();
    return { ...status, stdout: await out, stderr: await err };
  } finally {
    await c.destroy();
  }
}
