// The pure policy layer: no root, no syscalls. Capabilities, device rules, spec
// validation and host detection from sample mount tables.
import test from 'ava';
import { ContainerError } from '../lib/errors';
import { detectCgroups, parseMountInfo, v1Hierarchies } from '../lib/host';
import {
  CAPABILITY_NAMES, DOCKER_DEFAULT_CAPABILITIES, fromMask, normalizeCapability, resolveCapabilities, toMask,
} from '../lib/policy/capabilities';
import {
  DEFAULT_DEVICE_RULES, PRIVILEGED_DEVICE_RULES, checkDeviceAccess, compileDeviceRules, formatDeviceRule, parseDeviceRule,
  v1Writes,
} from '../lib/policy/devices';
import { defineProfile, profiles } from '../lib/policy/profiles';
import { fromOciConfig, toOciConfig } from '../lib/oci/profile';
import { explain } from '../lib/explain';
import { DEFAULT_PATH, execCandidates, HOST_HIDDEN_PATHS, resolveSpec } from '../lib/spec';

const limits = { lastCap: 40, available: (1n << 41n) - 1n };

/** The code of the ContainerError `fn` throws, or 'no error'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof ContainerError ? e.code : `not a ContainerError: ${e}`;
  }
  return 'no error';
}

test('capability names: CAP_X, X and x are the same; output is CAP_X', (t) => {
  for (const n of ['CAP_SYS_ADMIN', 'SYS_ADMIN', 'sys_admin', 'cap_sys_admin']) t.is(normalizeCapability(n), 'CAP_SYS_ADMIN');
  t.is(CAPABILITY_NAMES.length, 41);
  t.is(CAPABILITY_NAMES[27], 'CAP_MKNOD');
});

test('an unknown capability is an error that suggests the nearest name', (t) => {
  const e = t.throws(() => normalizeCapability('SYS_ADMN'), { instanceOf: ContainerError });
  t.is(e?.code, 'ERR_INVALID_CAPABILITY');
  t.regex(e!.message, /"SYS_ADMN".*did you mean CAP_SYS_ADMIN\?/);
  t.regex(t.throws(() => normalizeCapability('mknd'))!.message, /CAP_MKNOD/);
  for (const bad of ['', 42, null, undefined, {}, 'x'.repeat(100)]) {
    t.is(codeOf(() => normalizeCapability(bad)), 'ERR_INVALID_CAPABILITY');
  }
});

test('a capability beyond the kernel\'s cap_last_cap is an error', (t) => {
  t.is(normalizeCapability('CAP_BPF', 39), 'CAP_BPF');
  const e = t.throws(() => normalizeCapability('CAP_CHECKPOINT_RESTORE', 39));
  t.regex(e!.message, /cap_last_cap \(39\)/);
});

test('masks round-trip', (t) => {
  t.deepEqual(fromMask(toMask(DOCKER_DEFAULT_CAPABILITIES)), [...DOCKER_DEFAULT_CAPABILITIES].sort((a, b) =>
    CAPABILITY_NAMES.indexOf(a) - CAPABILITY_NAMES.indexOf(b)));
  t.is(toMask(['CAP_CHOWN']), 1n);
  t.is(toMask(['CAP_CHECKPOINT_RESTORE']), 1n << 40n);
});

test('resolveCapabilities: the spec replaces named sets; ALL; ambient must be permitted and inheritable', (t) => {
  const base = profiles.default.capabilities;
  const m = resolveCapabilities(base, { bounding: ['chown'] }, limits);
  t.is(m.bounding, 1n);
  t.is(m.effective, toMask(DOCKER_DEFAULT_CAPABILITIES));
  t.is(m.inheritable, 0n);
  t.is(resolveCapabilities(profiles.privileged.capabilities, undefined, { lastCap: 40, available: 0xffn }).bounding, 0xffn);
  t.is(codeOf(() => resolveCapabilities(base, { ambient: ['CAP_KILL'] }, limits)), 'ERR_INVALID_CAPABILITY');
  t.notThrows(() => resolveCapabilities(base, { inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] }, limits));
  t.is(codeOf(() => resolveCapabilities(base, { bounding: ['CAP_SYS_ADMIN'] }, { lastCap: 40, available: 1n })),
    'ERR_CAPABILITY_UNAVAILABLE');
  t.is(codeOf(() => resolveCapabilities(base, { bogus: [] }, limits)), 'ERR_INVALID_CAPABILITY');
  t.is(codeOf(() => resolveCapabilities(base, { bounding: 'CAP_KILL' }, limits)), 'ERR_INVALID_CAPABILITY');
});

test('device rules: strings, "a" and objects parse to one normalized form', (t) => {
  t.deepEqual(parseDeviceRule('c 10:232 rwm'), { type: 'c', major: 10, minor: 232, access: 'rwm', allow: true });
  t.deepEqual(parseDeviceRule('b *:* m'), { type: 'b', major: '*', minor: '*', access: 'm', allow: true });
  t.deepEqual(parseDeviceRule('a'), { type: 'a', major: '*', minor: '*', access: 'rwm', allow: true });
  t.deepEqual(parseDeviceRule('c 1:3 mwr'), { type: 'c', major: 1, minor: 3, access: 'rwm', allow: true });
  t.deepEqual(parseDeviceRule({ type: 'c', major: 4095, minor: 1048575, access: 'w', allow: false }),
    { type: 'c', major: 4095, minor: 1048575, access: 'w', allow: false });
  t.is(formatDeviceRule(parseDeviceRule('c 136:* rw')), 'c 136:* rw');
});

test('device rules: every malformed rule is ERR_INVALID_DEVICE_RULE and quotes the value', (t) => {
  const bad: unknown[] = ['c 4096:1 rw', 'c 1:1048576 r', 'c 1:3 rr', 'c 1:3 x', 'c 1:3', 'd 1:3 r', 'c -1:3 r', 'c 1:3 rwmr',
    ' c 1:3 r', 'c 1.5:3 r', '', 'A', { type: 'c', major: 1.5, minor: 1, access: 'r' }, { type: 'c', major: NaN, minor: 1, access: 'r' },
    { type: 'c', major: -1, minor: 1, access: 'r' }, { type: 'c', major: 1, minor: 1, access: '' }, { type: 'x', major: 1, minor: 1, access: 'r' },
    { type: 'c', major: 1, minor: 1, access: 'r', allow: 'yes' }, null, 7, []];
  for (const b of bad) {
    const e = t.throws(() => parseDeviceRule(b), { instanceOf: ContainerError }, JSON.stringify(b));
    t.is(e?.code, 'ERR_INVALID_DEVICE_RULE');
  }
  t.regex(t.throws(() => parseDeviceRule('c 4096:1 rw'))!.message, /4096/);
});

const allowed = (rules: string[] | readonly ReturnType<typeof parseDeviceRule>[], type: 'b' | 'c', major: number, minor: number, access: string) =>
  checkDeviceAccess(compileDeviceRules(rules.map((r) => (typeof r === 'string' ? parseRule(r) : r))), { type, major, minor }, access).allowed;

/** 'deny c 1:3 w' is a deny rule; anything else parses as usual. */
function parseRule(r: string) {
  return r.startsWith('deny ') ? { ...parseDeviceRule(r.slice(5)), allow: false } : parseDeviceRule(r);
}

test('device policy, default rules: create anything, use only the whitelist', (t) => {
  const ev = (type: 'b' | 'c', major: number, minor: number, access: string) => allowed(DEFAULT_DEVICE_RULES, type, major, minor, access);
  t.true(ev('c', 10, 232, 'm'));
  t.false(ev('c', 10, 232, 'r'));
  t.false(ev('c', 1, 1, 'rw'));
  t.true(ev('b', 7, 0, 'm'));
  t.false(ev('b', 7, 0, 'r'));
  for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [136, 4], [10, 200]]) {
    t.true(ev('c', maj, min, 'rw'), `${maj}:${min}`);
  }
  t.false(ev('b', 1, 3, 'r'), 'type matters');
});

test('device policy follows the kernel\'s v1 semantics: one exception must hold every requested bit', (t) => {
  // r and w granted by two different exceptions do not add up to rw.
  t.true(allowed(['c 1:* r', 'c 1:3 w'], 'c', 1, 3, 'r'));
  t.true(allowed(['c 1:* r', 'c 1:3 w'], 'c', 1, 3, 'w'));
  t.false(allowed(['c 1:* r', 'c 1:3 w'], 'c', 1, 3, 'rw'));
  // Rules of the same key merge.
  t.true(allowed(['c 1:3 r', 'c 1:3 w'], 'c', 1, 3, 'rw'));
});

test('device policy: a deny rule takes bits from the identical key only', (t) => {
  t.false(allowed(['c 10:232 rwm', 'deny c 10:232 w'], 'c', 10, 232, 'w'));
  t.true(allowed(['c 10:232 rwm', 'deny c 10:232 w'], 'c', 10, 232, 'r'));
  // A wildcard's grant is not touched by a deny of one device under it, as in the kernel.
  t.true(allowed(['c *:* m', 'deny c 10:232 m'], 'c', 10, 232, 'm'));
  t.deepEqual(compileDeviceRules(['c 1:3 r', 'deny c 1:3 r'].map(parseRule)).exceptions, []);
});

test('device policy: "a" resets; in allow-all mode deny rules are exceptions that match partially', (t) => {
  const rules = ['c 1:3 rwm', 'a', 'deny c 10:* w'];
  t.true(allowed(rules, 'b', 4095, 1048575, 'rwm'));
  t.false(allowed(rules, 'c', 10, 229, 'rw'), 'rw overlaps the denied w');
  t.true(allowed(rules, 'c', 10, 229, 'r'));
  t.true(allowed([...rules, 'c 10:* w'], 'c', 10, 229, 'w'), 'an allow removes the denial');
  t.false(allowed(['a', { ...parseDeviceRule('a'), allow: false }] as never, 'c', 1, 3, 'r'));
  t.true(allowed(PRIVILEGED_DEVICE_RULES, 'b', 7, 0, 'rwm'));
  t.false(allowed([], 'c', 1, 3, 'r'));
});

test('v1 writes: deny-all, then the rules as given', (t) => {
  t.deepEqual(v1Writes(['c *:* m', 'c 1:3 rw', 'deny c 1:3 w', 'a'].map(parseRule)), [
    { file: 'deny', rule: 'a' }, { file: 'allow', rule: 'c *:* m' }, { file: 'allow', rule: 'c 1:3 rw' },
    { file: 'deny', rule: 'c 1:3 w' }, { file: 'allow', rule: 'a' },
  ]);
});

test('resolveSpec: defaults of a minimal spec', (t) => {
  const r = resolveSpec({ command: ['sh'] }, limits);
  t.deepEqual(r.namespaces, ['mount', 'pid', 'uts', 'ipc', 'net', 'cgroup']);
  t.deepEqual(r.rootfs, { host: true, hide: [...HOST_HIDDEN_PATHS] });
  t.is(r.profile, profiles.default);
  t.deepEqual(r.env, [`PATH=${DEFAULT_PATH}`, 'HOME=/root']);
  t.is(r.hostname, r.id);
  t.regex(r.id, /^[0-9a-f]{12}$/);
  t.is(r.cwd, '/');
  t.is(r.stdio, 'pipe');
  t.is(r.caps.inheritable, 0n);
  t.is(r.caps.ambient, 0n);
  t.deepEqual(r.devices, [...DEFAULT_DEVICE_RULES]);
  t.is(r.execCandidates[0], '/usr/local/sbin/sh');
});

test('resolveSpec: the default hostname is the id made a valid hostname', (t) => {
  t.is(resolveSpec({ command: ['sh'], id: 'web_1.a' }, limits).hostname, 'web-1.a');
  t.is(resolveSpec({ command: ['sh'], id: '__x' }, limits).hostname, 'x');
  t.is(resolveSpec({ command: ['sh'], id: '___' }, limits).hostname, 'nsbox');
});

test('resolveSpec: env forms, user, mounts, devices appended', (t) => {
  const r = resolveSpec({
    command: ['/bin/x'], env: ['A=1', 'PATH=/bin'], user: { uid: 5 },
    mounts: [{ type: 'tmpfs', destination: '/t', mode: 0o1777, size: '1m' }], devices: ['c 10:229 rwm'],
  }, limits);
  t.deepEqual(r.env, ['HOME=/', 'A=1', 'PATH=/bin']);
  t.deepEqual([r.uid, r.gid, r.groups], [5, 5, []]);
  t.deepEqual(r.mounts[0], { kind: 'tmpfs', source: '', destination: '/t', readonly: false, nosuid: false, nodev: false, noexec: false, atime: '', propagation: '', recursive: false, mode: '1777', size: '1m', copyUp: false, idmap: false });
  t.deepEqual(r.devices.at(-1), parseDeviceRule('c 10:229 rwm'));
  t.deepEqual(r.execCandidates, ['/bin/x']);
  t.deepEqual(resolveSpec({ command: ['y'], env: { PATH: '/a:/b/' } }, limits).execCandidates, ['/a/y', '/b/y']);
  t.deepEqual(execCandidates('z', []), DEFAULT_PATH.split(':').map((d) => `${d}/z`));
});

test('resolveSpec: each invalid field has its code', (t) => {
  const cases: [unknown, string][] = [
    [null, 'ERR_INVALID_SPEC'], [[], 'ERR_INVALID_SPEC'], [{ command: 'sh' }, 'ERR_INVALID_COMMAND'],
    [{ command: ['a\0b'] }, 'ERR_INVALID_COMMAND'], [{ command: [''] }, 'ERR_INVALID_COMMAND'],
    [{ command: ['sh'], id: 'a/b' }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], id: '..' }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], rootfs: 'x' }, 'ERR_INVALID_ROOTFS'], [{ command: ['sh'], rootfs: '/' }, 'ERR_INVALID_ROOTFS'],
    [{ command: ['sh'], rootfs: '/a/../b' }, 'ERR_INVALID_PATH'], [{ command: ['sh'], rootfs: { host: false } }, 'ERR_INVALID_ROOTFS'],
    [{ command: ['sh'], cwd: '/a/' }, 'ERR_INVALID_PATH'], [{ command: ['sh'], cwd: '/a\0' }, 'ERR_INVALID_PATH'],
    [{ command: ['sh'], env: ['NOEQUALS'] }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], env: { A: 1 } }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], hostname: 'a b' }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], user: { uid: -1 } }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], user: { uid: 2 ** 32 } }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], user: { uid: 1, groups: [NaN] } }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], namespaces: ['pid'] }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], namespaces: ['mount', 'time'] }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], mounts: [{ type: 'bind', source: 'rel', destination: '/x' }] }, 'ERR_INVALID_PATH'],
    [{ command: ['sh'], mounts: [{ type: 'overlay', destination: '/x' }] }, 'ERR_INVALID_MOUNT'],
    [{ command: ['sh'], mounts: [{ type: 'tmpfs', destination: '/' }] }, 'ERR_INVALID_MOUNT'],
    [{ command: ['sh'], mounts: [{ type: 'tmpfs', destination: '/x', mode: 0o10000 }] }, 'ERR_INVALID_MOUNT'],
    [{ command: ['sh'], mounts: [{ type: 'tmpfs', destination: '/x', size: '1 GB' }] }, 'ERR_INVALID_MOUNT'],
    [{ command: ['sh'], stdio: 'tty' }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], signal: {} }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], deviceBackend: 'v3' }, 'ERR_INVALID_SPEC'], [{ command: ['sh'], readonlyRootfs: 'yes' }, 'ERR_INVALID_SPEC'],
    [{ command: ['sh'], profile: { name: 'half' } }, 'ERR_INVALID_PROFILE'], [{ command: ['sh'], devices: 'a' }, 'ERR_INVALID_DEVICE_RULE'],
  ];
  for (const [spec, code] of cases) {
    const e = t.throws(() => resolveSpec(spec, limits), { instanceOf: ContainerError }, JSON.stringify(spec));
    t.is(e?.code, code, JSON.stringify(spec));
  }
});

test('host detection: hybrid, unified and legacy mount tables', (t) => {
  const line = (mp: string, fs: string, opts: string, id = 30, parent = 22) => `${id} ${parent} 0:27 / ${mp} rw,relatime - ${fs} ${fs} ${opts}`;
  const hybridLines = [line('/', 'ext4', 'rw', 22, 1), line('/sys/fs/cgroup', 'tmpfs', 'rw', 31, 22), line('/sys/fs/cgroup/devices', 'cgroup', 'rw,devices', 32, 31),
    line('/sys/fs/cgroup/unified', 'cgroup2', 'rw', 33, 31)];
  const hybrid = parseMountInfo(hybridLines.join('\n'));
  t.deepEqual(detectCgroups(hybrid), { layout: 'hybrid', cgroup2: '/sys/fs/cgroup/unified', devicesV1: '/sys/fs/cgroup/devices' });
  t.deepEqual(detectCgroups(parseMountInfo(line('/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'))),
    { layout: 'unified', cgroup2: '/sys/fs/cgroup', devicesV1: null });
  t.deepEqual(detectCgroups(parseMountInfo(line('/sys/fs/cgroup/devices', 'cgroup', 'rw,devices'))),
    { layout: 'legacy', cgroup2: null, devicesV1: '/sys/fs/cgroup/devices' });
  // cgroup2 mounted over /sys/fs/cgroup later (a private mount namespace simulating a
  // unified host): the v1 entries below are still listed, and hidden.
  const covered = parseMountInfo([...hybridLines, line('/sys/fs/cgroup', 'cgroup2', 'rw', 40, 31)].join('\n'));
  t.deepEqual(detectCgroups(covered), { layout: 'unified', cgroup2: '/sys/fs/cgroup', devicesV1: null });
  // ...and a /sys mounted over everything hides them all.
  const sysOver = parseMountInfo([...hybridLines, line('/sys', 'sysfs', 'rw', 41, 22)].join('\n'));
  t.deepEqual(detectCgroups(sysOver), { layout: 'legacy', cgroup2: null, devicesV1: null });
  // The v1 hierarchies a limit may use: visible ones only, co-mounted controllers at one mount.
  const v1Lines = [...hybridLines, line('/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct', 34, 31),
    line('/sys/fs/cgroup/memory', 'cgroup', 'rw,memory', 35, 31), line('/sys/fs/cgroup/net_cls', 'cgroup', 'rw,net_cls', 36, 31)];
  t.deepEqual(v1Hierarchies(parseMountInfo(v1Lines.join('\n'))),
    { devices: '/sys/fs/cgroup/devices', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', memory: '/sys/fs/cgroup/memory' });
  t.deepEqual(v1Hierarchies(parseMountInfo([...v1Lines, line('/sys/fs/cgroup', 'cgroup2', 'rw', 40, 31)].join('\n'))), {});
});

test('profiles: the five, as documented', (t) => {
  t.deepEqual(Object.keys(profiles), ['default', 'privileged', 'systemd', 'nspawn', 'strict']);
  t.false(profiles.systemd.capabilities.bounding.includes('CAP_MKNOD'));
  t.is(profiles.systemd.capabilities.bounding.length, 13);
  t.deepEqual(profiles.systemd.env, { container: 'nsbox' });
  t.deepEqual(profiles.systemd.mounts.map((m) => m.destination), ['/run', '/run/lock', '/tmp']);
  t.is(profiles.nspawn.capabilities.bounding.length, 26);
  t.false(profiles.nspawn.devices.some((r) => r.major === '*' && r.access.includes('m')), 'no wildcard mknod');
  t.deepEqual(profiles.strict.capabilities.bounding, []);
  t.true(profiles.strict.noNewPrivileges);
  t.false(profiles.strict.devices.some((r) => r.access.includes('m')));
  t.true(Object.isFrozen(profiles.default) && Object.isFrozen(profiles.default.devices));
  for (const p of Object.values(profiles)) t.deepEqual(JSON.parse(JSON.stringify(p)), { ...p, env: { ...p.env } }, `${p.name} is plain JSON data`);
});

test('defineProfile composes: capabilities add/drop, devices allow/deny, env, mounts, nodes', (t) => {
  const p = defineProfile({
    extends: 'strict', name: 'fuse-builder', capabilities: { add: ['SYS_ADMIN', 'mknod'] },
    devices: { allow: ['c 10:229 rwm'], deny: ['c 5:1 rw'] }, env: { A: 'b' },
    mounts: [{ type: 'tmpfs', destination: '/build' }], nodes: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
  });
  t.is(p.name, 'fuse-builder');
  t.deepEqual(p.capabilities.bounding, ['CAP_SYS_ADMIN', 'CAP_MKNOD'], 'sorted by number');
  t.deepEqual(p.devices.slice(-2).map(formatDeviceRule), ['c 10:229 rwm', 'deny c 5:1 rw']);
  t.deepEqual(p.nodes, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 }]);
  t.true(p.noNewPrivileges, 'inherited from strict');
  t.deepEqual(defineProfile({ capabilities: { drop: ['ALL'], add: ['KILL'] } }).capabilities.bounding, ['CAP_KILL']);
  t.is(defineProfile({ extends: profiles.privileged }).capabilities.bounding[0], 'ALL');
  const bad: [unknown, string][] = [
    [{ extends: 'nope' }, 'ERR_INVALID_PROFILE'], [{ bogus: 1 }, 'ERR_INVALID_PROFILE'], [{ name: 'a b' }, 'ERR_INVALID_PROFILE'],
    [{ capabilities: { add: ['CAP_NOPE'] } }, 'ERR_INVALID_CAPABILITY'], [{ devices: { allow: ['x'] } }, 'ERR_INVALID_DEVICE_RULE'],
    [{ devices: { permit: [] } }, 'ERR_INVALID_DEVICE_RULE'], [{ nodes: [{ path: 'dev/x', type: 'c', major: 1, minor: 1 }] }, 'ERR_INVALID_PATH'],
    [{ mounts: [{ type: 'nfs', destination: '/x' }] }, 'ERR_INVALID_MOUNT'], [{ env: { 'A=B': 'c' } }, 'ERR_INVALID_PROFILE'],
    [{ maskedPaths: ['relative'] }, 'ERR_INVALID_PATH'], [{ sysReadonly: 'no' }, 'ERR_INVALID_PROFILE'], [null, 'ERR_INVALID_PROFILE'],
  ];
  for (const [def, code] of bad) t.is(codeOf(() => defineProfile(def as never)), code, JSON.stringify(def));
});

test('OCI: every profile survives toOciConfig -> fromOciConfig', (t) => {
  for (const p of [...Object.values(profiles), defineProfile({ nodes: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o600 }] })]) {
    const oci = toOciConfig(p);
    const back = fromOciConfig(JSON.stringify(oci), p.name);
    const expand = (s: readonly string[]) => (s.includes('ALL') ? [...CAPABILITY_NAMES] : [...s]).sort();
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
      t.deepEqual([...back.capabilities[set]].sort(), expand(p.capabilities[set]), `${p.name} ${set}`);
    }
    // A config's rules are followed by the runtime's standard ones, as an OCI runtime applies them (oci/config.ts).
    t.deepEqual(back.devices.map(formatDeviceRule), [...p.devices, ...DEFAULT_DEVICE_RULES].map(formatDeviceRule), p.name);
    t.deepEqual(back.nodes, p.nodes);
    t.deepEqual(back.maskedPaths, p.maskedPaths);
    t.deepEqual(back.readonlyPaths, p.readonlyPaths);
    t.deepEqual(back.env, p.env);
    t.deepEqual(back.mounts, p.mounts);
    t.is(back.noNewPrivileges, p.noNewPrivileges);
  }
});

test('OCI: the runtime-spec shapes', (t) => {
  const oci = toOciConfig(profiles.default);
  t.deepEqual(oci.linux.resources.devices[0], { allow: true, type: 'c', access: 'm' });
  t.deepEqual(oci.linux.resources.devices[2], { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
  t.true(oci.process.capabilities.bounding.includes('CAP_MKNOD'));
  const p = fromOciConfig({ linux: { resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }] } } });
  t.deepEqual(p.devices.map(formatDeviceRule), ['deny a *:* rwm', 'c 10:200 rwm', ...DEFAULT_DEVICE_RULES.map(formatDeviceRule)]);
  t.deepEqual(p.capabilities.bounding, []);
  for (const [cfg, code] of [['{', 'ERR_INVALID_OCI_CONFIG'], [{ process: { capabilities: { bounding: ['CAP_X'] } } }, 'ERR_INVALID_CAPABILITY'],
    [{ linux: { resources: { devices: [{ type: 'c' }] } } }, 'ERR_INVALID_OCI_CONFIG'],
    [{ linux: { resources: { devices: [{ allow: true, type: 'c', major: 5000, access: 'r' }] } } }, 'ERR_INVALID_DEVICE_RULE'],
    // A valid mount this runtime does not make: refused as unsupported, as the command line refuses it.
    [{ mounts: [{ destination: '/x', type: 'proc', source: 'proc' }] }, 'ERR_UNSUPPORTED'], [42, 'ERR_INVALID_OCI_CONFIG']] as const) {
    t.is(codeOf(() => fromOciConfig(cfg)), code, JSON.stringify(cfg));
  }
});

test('explain: a sentence for each kind of verdict', (t) => {
  const kvm = { device: 'c 10:232', access: 'r' };
  t.deepEqual(explain(profiles.default, { device: '/dev/kvm', access: 'm' }),
    { allowed: true, rule: parseDeviceRule('c *:* m'), reason: 'the device cgroup allows m on c 10:232: rule "c *:* m"' });
  t.regex(explain(profiles.default, kvm).reason, /no rule grants r on c 10:232: the rules that name it allow only m \(rule "c \*:\* m"\)/);
  t.regex(explain(profiles.nspawn, { device: '/dev/loop3', access: 'm' }).reason, /no rule grants m on b 7:3; the device cgroup denies every device it does not name/);
  t.regex(explain(profiles.systemd, { device: '/dev/kvm', access: 'm' }).reason, /CAP_MKNOD.*would allow it/);
  t.regex(explain(profiles.privileged, kvm).reason, /allows every device: rule "a \*:\* rwm"/);
  const p = defineProfile({ extends: 'privileged', devices: { deny: ['c 10:232 rw'] } });
  t.deepEqual(explain(p, kvm), { allowed: false, rule: { ...parseDeviceRule('c 10:232 rw'), allow: false }, reason: 'the device cgroup denies r on c 10:232: rule "deny c 10:232 rw"' });
  t.is(explain(profiles.default, { device: '/dev/ttyS1', access: 'rw' }).allowed, false);
  for (const [q, code] of [[{ device: 'x 1:1', access: 'r' }, 'ERR_INVALID_DEVICE_RULE'], [{ device: '/dev/nope-nope', access: 'r' }, 'ERR_INVALID_DEVICE_RULE'],
    [{ device: 'c 1:3', access: 'rr' }, 'ERR_INVALID_DEVICE_RULE'], [{ device: '/etc/hostname', access: 'r' }, 'ERR_INVALID_DEVICE_RULE'],
    [{ device: 'c 5000:1', access: 'r' }, 'ERR_INVALID_DEVICE_RULE'], [null, 'ERR_INVALID_SPEC']] as const) {
    t.is(codeOf(() => explain(profiles.default, q as never)), code, JSON.stringify(q));
  }
  t.is(codeOf(() => explain({} as never, kvm)), 'ERR_INVALID_SPEC');
});

test('Limiter: at most `limit` tasks at once, the rest in arrival order, slots passed on after failures too', async (t) => {
  const { Limiter } = await import('../lib/limiter');
  const l = new Limiter(2);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const task = (i: number) => l.run(async () => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 5));
    order.push(i);
    active--;
    if (i === 1) throw new Error('boom');
    return i;
  });
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(task));
  t.is(peak, 2);
  t.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  t.is(results[1].status, 'rejected');
  t.deepEqual(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value), [0, 2, 3, 4, 5]);
});

test('singleChange: the one exception a live change touches, or null when the default or several change', async (t) => {
  const { singleChange, compileDeviceRules, parseDeviceRule: rule } = await import('../lib/policy/devices');
  const base = compileDeviceRules(['c 1:3 rwm', 'c 10:200 rw'].map(rule));
  const after = (r: string) => compileDeviceRules([rule(r)], base);
  t.deepEqual(singleChange(base, after('c 10:229 rw')), { type: 'c', major: 10, minor: 229, access: 'rw' });
  t.deepEqual(singleChange(base, after('c 10:200 m')), { type: 'c', major: 10, minor: 200, access: 'rwm' });
  t.deepEqual(singleChange(base, compileDeviceRules([{ ...rule('c 10:200 rw'), allow: false }], base)),
    { type: 'c', major: 10, minor: 200, access: '' });
  t.is(singleChange(base, base), null);  // nothing changed
  t.is(singleChange(base, after('a')), null);  // the default flips
  t.is(singleChange(base, compileDeviceRules(['c 10:229 rw', 'b 7:0 r'].map(rule), base)), null);  // two keys
});

test('resolveSpec: an argument or env string longer than execve takes (E2BIG) is refused before anything is made', (t) => {
  const big = 'x'.repeat(10 * 1024 * 1024);
  t.throws(() => resolveSpec({ command: ['echo', big] }, limits), { code: 'ERR_INVALID_COMMAND', message: /E2BIG/ });
  t.throws(() => resolveSpec({ command: ['echo'], env: { BIG: big } }, limits), { code: 'ERR_INVALID_SPEC', message: /E2BIG/ });
  t.notThrows(() => resolveSpec({ command: ['echo', 'y'.repeat(131071)] }, limits));
  t.throws(() => resolveSpec({ command: ['echo', 'y'.repeat(131072)] }, limits), { code: 'ERR_INVALID_COMMAND' });
});

test('resolveSpec: an unknown field in any spec object is an error naming it, never a silent default', (t) => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ readOnly: true }, 'ERR_INVALID_SPEC', 'readOnly'],
    [{ user: { uid: 1, grups: [1] } }, 'ERR_INVALID_SPEC', 'grups'],
    [{ terminal: { consoleSocket: '/s', size: 1 } }, 'ERR_INVALID_SPEC', 'size'],
    [{ detached: { startFifo: '/f', mode: 1 } }, 'ERR_INVALID_SPEC', 'mode'],
    [{ rlimits: [{ type: 'NOFILE', soft: 1, hard: 1, max: 2 }] }, 'ERR_INVALID_SPEC', 'max'],
    [{ devices: [{ type: 'c', major: 1, minor: 1, access: 'r', deny: true }] }, 'ERR_INVALID_DEVICE_RULE', 'deny'],
    [{ rootfs: { host: true, hidden: [] } }, 'ERR_INVALID_ROOTFS', 'hidden'],
    [{ mounts: [{ type: 'bind', source: '/s', destination: '/d', readOnly: true }] }, 'ERR_INVALID_MOUNT', 'readOnly'],
    [{ mounts: [{ type: 'tmpfs', destination: '/d', source: '/s' }] }, 'ERR_INVALID_MOUNT', 'source'],
    [{ capabilities: { bounding: [], permited: [] } }, 'ERR_INVALID_CAPABILITY', 'permited'],
    [{ profile: defineProfile({ nodes: [{ path: '/dev/x', type: 'c', major: 1, minor: 3 }] }), devices: [] }, '', ''],
  ];
  for (const [extra, code, field] of cases) {
    if (!code) {
      t.notThrows(() => resolveSpec({ command: ['true'], ...extra }, limits));
      continue;
    }
    const e = t.throws(() => resolveSpec({ command: ['true'], ...extra }, limits), { instanceOf: ContainerError }, JSON.stringify(extra));
    t.is(e?.code, code, JSON.stringify(extra));
    t.true(e?.message.includes(`"${field}"`), e?.message);
  }
  t.throws(() => defineProfile({ nodes: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, owner: 0 } as never] }), { code: 'ERR_INVALID_DEVICE_RULE', message: /"owner"/ });
});
