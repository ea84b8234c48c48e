// explain() against the kernel: random rule lists, every query answered twice, by
// the library's evaluation and by open(2)/mknod(2) inside a container enforcing the
// list, on both device backends. They must agree on every case.
import test from 'ava';
import { createContainer, type DeviceRule, explain, formatDeviceRule, parseDeviceRule, profiles } from '../lib';
import { BACKENDS, deviceFixture, FIXTURE_NODES, fixtureMount, prng, removeRootfs, exited, within } from './helpers';

let nodes = '';
test.before(async () => {
  nodes = await deviceFixture();
});
test.after.always(() => removeRootfs(nodes));

function randomRules(rand: () => number): DeviceRule[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const length = Math.floor(rand() * 8);
  const rules: DeviceRule[] = [];
  for (let i = 0; i < length; i++) {
    const allow = rand() < 0.6;
    if (rand() < 0.08) {
      rules.push({ ...parseDeviceRule('a'), allow });
      continue;
    }
    let access = ['r', 'w', 'm'].filter(() => rand() < 0.5).join('');
    if (!access) access = pick(['r', 'w', 'm']);
    // Often the key of an earlier rule: merging and taking away happen per identical key.
    const earlier = rules.filter((r) => r.type !== 'a');
    const key = earlier.length && rand() < 0.45 ? pick(earlier)
      : { type: pick(['b', 'c', 'c'] as const), major: pick([1, 7, 10, '*'] as const), minor: pick([0, 1, 3, 5, 7, 8, 229, 232, '*'] as const) };
    rules.push(parseDeviceRule({ type: key.type as 'b' | 'c', major: key.major, minor: key.minor, access, allow }));
  }
  return rules;
}

// /dev/mem also needs CAP_SYS_RAWIO to open, which would make EPERM mean two things.
const queried = FIXTURE_NODES.filter((n) => n.name !== 'mem');
const opens = [['r', '<'], ['w', '>'], ['rw', '<>']] as const;

function probeScript(): string {
  const lines = ['v() { case "$1" in *"not permitted"*) echo D;; *) echo A;; esac; }'];
  for (const n of queried) {
    for (const [, redirect] of opens) lines.push(`v "$( (: ${redirect}/tmp/n/${n.name}) 2>&1)"`);
    lines.push(`v "$(mknod /tmp/q ${n.type} ${n.major} ${n.minor} 2>&1; rm -f /tmp/q)"`);
  }
  return lines.join('\n');
}

const LISTS_PER_BACKEND = 16;

for (const deviceBackend of BACKENDS) {
  test(`explain() agrees with the kernel on ${LISTS_PER_BACKEND * queried.length * 4} random cases (${deviceBackend})`, async (t) => {
    const rand = prng(deviceBackend === 'v2' ? 20261128 : 1128);
    const script = probeScript();
    let cases = 0;
    let allowedCases = 0;
    for (let i = 0; i < LISTS_PER_BACKEND; i++) {
      const rules = randomRules(rand);
      const c = await createContainer({
        command: ['/bin/sh', '-c', script], deviceBackend, devices: rules,
        profile: { ...profiles.default, devices: [] }, mounts: [fixtureMount(nodes)],
      });
      const out: Buffer[] = [];
      c.stdout!.on('data', (d: Buffer) => out.push(d));
      await c.start();
      await exited(c);
      await c.destroy();
      const verdicts = Buffer.concat(out).toString().trim().split('\n');
      let k = 0;
      for (const n of queried) {
        for (const access of [...opens.map(([a]) => a), 'm']) {
          const kernel = verdicts[k++] === 'A';
          const lib = explain(c, { device: `${n.type} ${n.major}:${n.minor}`, access });
          cases++;
          if (kernel) allowedCases++;
          if (lib.allowed !== kernel) {
            t.fail(`rules [${rules.map(formatDeviceRule).join(', ')}], ${access} on ${n.type} ${n.major}:${n.minor}: ` +
              `kernel ${kernel ? 'allows' : 'denies'}, explain says ${lib.reason}`);
          }
        }
      }
    }
    t.log(`${allowedCases} allowed, ${cases - allowedCases} denied`);
    t.is(cases, LISTS_PER_BACKEND * queried.length * 4);
    t.true(allowedCases > cases / 10 && allowedCases < cases * 0.9, 'both verdicts are well represented');
  });
}

const LIVE_CHANGES = 24;

for (const deviceBackend of BACKENDS) {
  test(`live changes: after each of ${LIVE_CHANGES} random allowDevice/denyDevice calls, explain() and the kernel agree (${deviceBackend})`, async (t) => {
    const rand = prng(deviceBackend === 'v2' ? 424242 : 4242);
    const c = await createContainer({
      command: ['/bin/sh', '-c', `while read l; do\n${probeScript()}\necho END; done`], deviceBackend,
      profile: { ...profiles.default, devices: [] }, devices: randomRules(rand), mounts: [fixtureMount(nodes)],
    });
    let buf = '';
    let waiting: ((lines: string[]) => void) | null = null;
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const end = buf.indexOf('END\n');
      if (end >= 0 && waiting) {
        const lines = buf.slice(0, end).trim().split('\n');
        buf = buf.slice(end + 4);
        const w = waiting;
        waiting = null;
        w(lines);
      }
    });
    await c.start();
    const probe = () => within(new Promise<string[]>((resolve) => {
      waiting = resolve;
      c.stdin!.write('\n');
    }), `container ${c.id}'s verdicts`, () => c.destroy());
    const { singleChange, compileDeviceRules } = await import('../lib/policy/devices');
    let inPlace = 0;
    for (let step = 0; step <= LIVE_CHANGES; step++) {
      if (step > 0) {
        // One rule at a time, now and then an 'a' that resets everything.
        const next = randomRules(rand)[0] ?? parseDeviceRule('c 10:229 rw');
        if (singleChange(compileDeviceRules(c.devices), compileDeviceRules([...c.devices, next]))) inPlace++;
        await (next.allow ? c.allowDevice(next) : c.denyDevice(next));
      }
      const verdicts = await probe();
      let k = 0;
      for (const n of queried) {
        for (const access of [...opens.map(([a]) => a), 'm']) {
          const kernel = verdicts[k++] === 'A';
          const lib = explain(c, { device: `${n.type} ${n.major}:${n.minor}`, access });
          if (lib.allowed !== kernel) {
            t.fail(`after step ${step}, rules [${c.devices.map(formatDeviceRule).join(', ')}], ${access} on ${n.type} ${n.major}:${n.minor}: ` +
              `kernel ${kernel ? 'allows' : 'denies'}, explain says ${lib.reason}`);
          }
        }
      }
    }
    c.stdin!.end();
    await exited(c);
    await c.destroy();
    t.log(`${inPlace} of ${LIVE_CHANGES} changes touched one exception`);
    // Both ways of changing a live policy were exercised: in place, and a whole new one.
    t.true(inPlace > 0 && inPlace < LIVE_CHANGES);
  });
}
