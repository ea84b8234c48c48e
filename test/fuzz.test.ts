// Garbage into every public function: each call settles with a result or a
// ContainerError that has a code; nothing crashes, hangs or is left behind.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import {
  allowDevice, ContainerError, createContainer, defineProfile, denyDevice, explain, formatDeviceRule, fromOciConfig,
  mknodInside, normalizeCapability, parseDeviceRule, profiles, run, setCapabilities, toOciConfig,
} from '../lib';
import { leftovers, prng } from './helpers';

/** Every container the fuzzing managed to create, checked at the end. */
const made: { id: string; pid: number }[] = [];

const rand = prng(5736);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

/** A value of any shape a caller might pass by mistake or on purpose. */
function garbage(depth = 0): unknown {
  const scalars: (() => unknown)[] = [
    () => undefined, () => null, () => NaN, () => Infinity, () => -1, () => 2 ** 53, () => -0, () => 4096, () => 1048576,
    () => 0.5, () => '', () => 'x', () => '\0', () => '/dev/\0null', () => 'c 10:232 rwm', () => 'a', () => '/', () => '..',
    () => '/'.repeat(5000), () => 'x'.repeat(70000), () => 'CAP_SYS_ADMIN', () => 'ALL', () => 10n, () => Symbol('s'),
    () => () => 1, () => true, () => false, () => new Date(0), () => Buffer.from('x'), () => '/tmp/../etc',
    () => JSON.parse('{"__proto__": {"polluted": true}}'), () => Object.create(null), () => new Array(100000).fill('x'),
  ];
  if (depth > 2 || rand() < 0.6) return pick(scalars)();
  if (rand() < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => garbage(depth + 1));
  const keys = ['type', 'major', 'minor', 'access', 'allow', 'hostPath', 'path', 'add', 'drop', 'uid', 'gid', 'mode',
    'command', 'device', 'bounding', 'effective', 'extends', 'name', '__proto__', 'constructor', 'process', 'linux'];
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) o[pick(keys)] = garbage(depth + 1);
  return o;
}

const SPEC_FIELDS = ['command', 'id', 'profile', 'rootfs', 'env', 'cwd', 'hostname', 'user', 'namespaces', 'mounts',
  'readonlyRootfs', 'stdio', 'signal', 'capabilities', 'devices', 'noNewPrivileges', 'deviceBackend'];

/** Runs `call`; a result is fine, a throw must be a ContainerError with a code. */
async function settles(call: () => unknown): Promise<string | null> {
  try {
    const r = await call();
    return r && typeof (r as { destroy?: unknown }).destroy === 'function' ? 'container' : null;
  } catch (e) {
    if (!(e instanceof ContainerError) || typeof e.code !== 'string' || !e.code) return `not a coded ContainerError: ${e}`;
    return null;
  }
}

test.serial('createContainer and run: 2500 specs with garbage fields', async (t) => {
  const problems: string[] = [];
  let created = 0;
  for (let i = 0; i < 2500; i++) {
    const spec: Record<string, unknown> = i % 10 === 0 ? (garbage() as Record<string, unknown>) : { command: ['true'], stdio: 'ignore' };
    if (i % 10 !== 0) for (let k = 1 + Math.floor(rand() * 2); k > 0; k--) spec[pick(SPEC_FIELDS)] = garbage();
    const viaRun = i % 7 === 0;
    try {
      if (viaRun) {
        await run(spec as never);
      } else {
        const c = await createContainer(spec as never);
        t.teardown(() => c.destroy());
        made.push({ id: c.id, pid: c.pid });
        await c.destroy();
      }
      created++;
    } catch (e) {
      if (!(e instanceof ContainerError) || !e.code) problems.push(`${String(e)} for ${JSON.stringify(spec, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 200)}`);
    }
  }
  t.log(`${created} of 2500 were valid and ran`);
  t.deepEqual(problems.slice(0, 5), []);
  t.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

test.serial('live control and pure functions: 3000 calls with garbage arguments', async (t) => {
  const c = await createContainer({ command: ['sleep', '100'], stdio: 'ignore' });
  t.teardown(() => c.destroy());
  await c.start();
  const calls: (() => unknown)[] = [
    () => allowDevice(c, garbage() as never), () => denyDevice(c, garbage() as never),
    () => mknodInside(c, garbage() as never, garbage() as never), () => mknodInside(c, '/tmp/f', garbage() as never),
    () => setCapabilities(c, garbage() as never), () => setCapabilities(garbage() as never, garbage() as never),
    () => explain(garbage() as never, garbage() as never), () => explain(c, garbage() as never),
    () => explain(profiles.default, { device: garbage(), access: garbage() } as never),
    () => defineProfile(garbage() as never), () => fromOciConfig(garbage()), () => toOciConfig(defineProfile({})),
    () => parseDeviceRule(garbage()), () => normalizeCapability(garbage()), () => c.kill(garbage() as never),
    () => formatDeviceRule(parseDeviceRule(garbage())),
  ];
  const problems: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const p = await settles(pick(calls));
    if (p && p !== 'container') problems.push(p);
  }
  t.deepEqual(problems.slice(0, 5), []);
  t.is(c.state, 'running', 'garbage changed nothing');
  await c.destroy();
  t.is(({} as Record<string, unknown>).polluted, undefined);
});

test.serial('after the fuzzing, nothing of any container is left', (t) => {
  t.true(made.length > 10, 'some garbage was valid and made containers');
  t.deepEqual(made.flatMap((c) => leftovers(c.id, c.pid)), []);
  const children = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  });
  t.deepEqual(children, [], 'no child process of ours remains');
});
