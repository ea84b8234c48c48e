// Nothing leaks: not on bad input, not after destroy, not over hundreds of cycles;
// and creating containers never blocks the event loop.
import test from 'ava';
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ContainerError, createContainer } from '../lib';
import { cgroupPaths, leftovers, openFds, unheldCapability, exited, run } from './helpers';

const badSpecs: [string, unknown, string][] = [
  ['unknown capability', { command: ['true'], capabilities: { bounding: ['CAP_NOPE'] } }, 'ERR_INVALID_CAPABILITY'],
  ['relative rootfs', { command: ['true'], rootfs: 'relative/dir' }, 'ERR_INVALID_ROOTFS'],
  ['missing command', {}, 'ERR_INVALID_COMMAND'],
  ['empty command', { command: [] }, 'ERR_INVALID_COMMAND'],
  ['rootfs that does not exist', { command: ['true'], rootfs: '/nonexistent/rootfs' }, 'ERR_ROOTFS_NOT_FOUND'],
  ['rootfs that is a file', { command: ['true'], rootfs: '/etc/hostname' }, 'ERR_INVALID_ROOTFS'],
  ['unknown profile', { command: ['true'], profile: 'nope' }, 'ERR_INVALID_PROFILE'],
  ['bad device rule', { command: ['true'], devices: ['c 4096:1 rw'] }, 'ERR_INVALID_DEVICE_RULE'],
  ['relative cwd', { command: ['true'], cwd: 'tmp' }, 'ERR_INVALID_PATH'],
  ['mount source missing', { command: ['true'], mounts: [{ type: 'bind', source: '/nonexistent', destination: '/x' }] }, 'ERR_MOUNT_SOURCE_NOT_FOUND'],
  ['user namespace', { command: ['true'], namespaces: ['mount', 'user'] }, 'ERR_UNSUPPORTED'],
  ['unknown field', { command: ['true'], privileged: true }, 'ERR_INVALID_SPEC'],
];
const unheld = unheldCapability();
if (unheld) badSpecs.push([`capability this process lacks (${unheld})`, { command: ['true'], capabilities: { bounding: [unheld] } }, 'ERR_CAPABILITY_UNAVAILABLE']);

for (const [name, spec, code] of badSpecs) {
  test(`bad spec (${name}) rejects with ${code} before anything is created`, async (t) => {
    const id = `bad-${process.pid}-${name.replace(/\W+/g, '-')}`.slice(0, 64);
    const withId = typeof spec === 'object' && spec !== null && name !== 'unknown field' ? { ...spec, id } : spec;
    const fds = openFds().length;
    const e = await t.throwsAsync(createContainer(withId as never), { instanceOf: ContainerError });
    t.is(e?.code, code, e?.message);
    t.deepEqual(cgroupPaths(id).filter(existsSync), []);
    t.is(openFds().length, fds);
  });
}

test.serial('200 create/destroy cycles leak no fd, cgroup directory, mount or process', async (t) => {
  // Warm up lazily created handles (the threadpool, the binding) before counting.
  await run({ command: ['true'] });
  const before = openFds().length;
  const left: string[] = [];
  for (let i = 0; i < 200; i++) {
    const c = await createContainer({ command: ['true'], deviceBackend: i % 2 ? 'v1' : 'v2' });
    t.teardown(() => c.destroy());
    if (i % 3) {
      await c.start();
      await exited(c);
    }
    await c.destroy();
    left.push(...leftovers(c.id, c.pid));
  }
  t.deepEqual(left, []);
  t.is(openFds().length, before);
});

test.serial('the event loop keeps turning while containers are created and started', async (t) => {
  // What one create costs here and now: the yardstick for a blocking implementation.
  const single: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    const c = await createContainer({ command: ['true'], stdio: 'ignore' });
    t.teardown(() => c.destroy());
    single.push(performance.now() - s);
    await c.destroy();
  }
  const createMs = single.sort((a, b) => a - b)[2];
  const h = monitorEventLoopDelay({ resolution: 1 });
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  h.enable();
  const started = performance.now();
  await Promise.all(Array.from({ length: 32 }, () => run({ command: ['true'] })));
  const wall = performance.now() - started;
  h.disable();
  clearInterval(ticker);
  // Creation, the setup handshake and start run on the threadpool; the main thread
  // only dispatches. Were creates synchronous, the 32 issued in one tick would hold
  // the loop for 32 creates in one stretch, and no timer would fire meanwhile.
  const maxMs = h.max / 1e6;
  t.log(`one create ${createMs.toFixed(1)} ms; 32 containers in ${wall.toFixed(0)} ms, ${ticks} timer ticks; ` +
    `event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms, max ${maxMs.toFixed(2)} ms`);
  t.true(maxMs < 16 * createMs, `the loop stalled for ${maxMs.toFixed(1)} ms, half of 32 creates is ${(16 * createMs).toFixed(1)} ms`);
  t.true(ticks > wall / 10, `only ${ticks} timer ticks in ${wall.toFixed(0)} ms`);
});

test.serial('a test\'s bounded waits: a hung container is destroyed and a hung exec\'d process killed, and the wait fails naming it', async (t) => {
  const c = await createContainer({ command: ['sleep', '100'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  await c.start();
  const p = await c.exec({ command: ['sleep', '100'], stdio: 'ignore' });
  await t.throwsAsync(exited(p, 200), { message: new RegExp(`exec'd pid ${p.pid} did not finish within 200 ms`) });
  t.deepEqual(await exited(p), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  t.is(c.state, 'running', 'the container itself is left to its own wait');
  await t.throwsAsync(exited(c, 200), { message: new RegExp(`container ${c.id} did not finish within 200 ms`) });
  t.is(c.state, 'destroyed');
  t.deepEqual(leftovers(c.id, c.pid), []);
});
