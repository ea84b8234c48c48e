// config.json to a container spec (pure, no root): the configs containerd writes are
// taken with their meaning, and every field the runtime does not do is refused by name.
import test from 'ava';
import { ContainerError } from '../lib/errors';
import { compileDeviceRules, checkDeviceAccess, DEFAULT_DEVICE_RULES } from '../lib/policy/devices';
import { execFromOciProcess, specFromOciConfig } from '../lib/oci/bundle';
import { fromOciConfig } from '../lib/oci/profile';
import { resolveCgroupPath, resolveRlimits, resolveSysctls, RLIM_INFINITY } from '../lib/policy/process';
import { resolveSpec } from '../lib/spec';

const limits = { lastCap: 40, available: (1n << 41n) - 1n };

const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** The config containerd 1.6's ctr writes for `ctr run --rootfs DIR id /bin/echo hi`. */
function ctrConfig(): Record<string, any> {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid: 0, gid: 0 }, args: ['/bin/echo', 'hi'], cwd: '/',
      capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }], noNewPrivileges: true,
    },
    root: { path: 'rootfs' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      cgroupsPath: '/default/probe',
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
}

function errorOf(fn: () => unknown): ContainerError | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContainerError) return e;
    throw e;
  }
  return null;
}

test('the config ctr writes is taken with its meaning', (t) => {
  const { spec } = specFromOciConfig(ctrConfig(), '/b', 'probe');
  t.is(spec.rootfs, '/b/rootfs');
  t.deepEqual(spec.command, ['/bin/echo', 'hi']);
  t.deepEqual(spec.namespaces, ['pid', 'ipc', 'uts', 'mount', 'net']);
  t.is(spec.cgroupPath, 'default/probe');
  t.true(spec.noNewPrivileges);
  t.deepEqual(spec.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
  // Every tmpfs here is nosuid and nodev (child_mounts.cc): the reader keeps no flag that says it again.
  t.deepEqual(spec.profile.mounts, [{ type: 'tmpfs', destination: '/run', atime: 'strictatime', mode: 0o755, size: '65536k' }]);
  t.true(spec.profile.sysReadonly);
  t.deepEqual([...spec.profile.maskedPaths], ['/proc/acpi', '/proc/kcore']);
  // The resolved spec: exactly the config's capabilities, and the spec validates.
  const r = resolveSpec(spec, limits);
  t.deepEqual(r.caps.bounding, r.caps.effective);
  t.is(r.caps.inheritable, 0n);
  t.is(r.rlimits[0].resource, 7);
});

test('namespaces with a path are joined (mount, network, ipc, uts, cgroup, pid), the rest are new', (t) => {
  const c = ctrConfig();
  c.linux.namespaces = [{ type: 'pid' }, { type: 'ipc', path: '/proc/7/ns/ipc' }, { type: 'uts', path: '' }, { type: 'mount' },
    { type: 'network', path: '/var/run/netns/pod' }];
  const { spec } = specFromOciConfig(c, '/b', 'probe');
  t.deepEqual(spec.namespaces, ['pid', 'uts', 'mount']);
  t.deepEqual(spec.joinNamespaces, { ipc: '/proc/7/ns/ipc', net: '/var/run/netns/pod' });
  t.deepEqual(resolveSpec(spec, limits).joinNamespaces, [{ type: 'ipc', path: '/proc/7/ns/ipc' }, { type: 'net', path: '/var/run/netns/pod' }]);
  t.is(errorOf(() => resolveSpec({ command: ['x'], namespaces: ['mount', 'net'], joinNamespaces: { net: '/x' } }, limits))?.code, 'ERR_INVALID_SPEC');
  // pid and mount can be joined (a pod's, a tool's), but not while the spec also asks for a new one.
  t.is(errorOf(() => resolveSpec({ command: ['x'], joinNamespaces: { pid: '/x' } }, limits))?.code, 'ERR_INVALID_SPEC');
  t.is(errorOf(() => resolveSpec({ command: ['x'], joinNamespaces: { mount: '/x' } }, limits))?.code, 'ERR_INVALID_SPEC');
  t.deepEqual(resolveSpec({ command: ['x'], namespaces: ['pid'], joinNamespaces: { mount: '/x' } }, limits).joinNamespaces, [{ type: 'mount', path: '/x' }]);
  t.is(errorOf(() => resolveSpec({ command: ['x'], joinNamespaces: { user: '/x' } } as never, limits))?.code, 'ERR_UNSUPPORTED');
  const m = structuredClone(c);
  m.linux.namespaces = m.linux.namespaces.map((n: { type: string }) => n.type === 'mount' ? { type: 'mount', path: '/proc/7/ns/mnt' } : n);
  t.deepEqual(specFromOciConfig(m, '/b', 'probe').spec.joinNamespaces?.mount, '/proc/7/ns/mnt');
});

test('device rules: the config\'s, then the runtime\'s defaults, as runc appends its own', (t) => {
  const { spec } = specFromOciConfig(ctrConfig(), '/b', 'probe');
  const policy = compileDeviceRules(spec.profile.devices);
  // deny-all from the config, then the defaults: the seed model.
  t.true(checkDeviceAccess(policy, { type: 'c', major: 1, minor: 3 }, 'rw').allowed);
  t.true(checkDeviceAccess(policy, { type: 'c', major: 10, minor: 232 }, 'm').allowed);
  t.false(checkDeviceAccess(policy, { type: 'c', major: 10, minor: 232 }, 'r').allowed);
  t.false(checkDeviceAccess(policy, { type: 'b', major: 7, minor: 0 }, 'w').allowed);
  t.is(spec.profile.devices.length, 1 + DEFAULT_DEVICE_RULES.length);

  const privileged = ctrConfig();
  privileged.linux.resources.devices = [{ allow: true, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }];
  privileged.linux.resources.cpu = { shares: 1024 };
  privileged.linux.devices = [
    { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 438, uid: 0, gid: 0 },
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 384, uid: 0, gid: 0 },
    { path: '/dev/cpu/0/cpuid', type: 'c', major: 203, minor: 0, fileMode: 384, uid: 0, gid: 0 },
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 384, uid: 0, gid: 0 },
  ];
  const p = specFromOciConfig(privileged, '/b', 'probe').spec;
  t.true(checkDeviceAccess(compileDeviceRules(p.profile.devices), { type: 'b', major: 7, minor: 0 }, 'rw').allowed);
  // The runtime's own /dev/null is not made twice; a node named twice is made once.
  t.deepEqual(p.profile.nodes.map((n) => n.path), ['/dev/fuse', '/dev/cpu/0/cpuid']);
});

test('every unsupported field is refused by its name, before anything exists', (t) => {
  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['joined user namespace', (c) => {
      c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' });
      c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }, /linux\.namespaces\[5\]\.path \(joining a user namespace\)/],
    ['no mount namespace', (c) => { c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount'); }, /linux\.namespaces without a mount namespace/],
    ['apparmor', (c) => { c.process.apparmorProfile = 'docker-default'; }, /process\.apparmorProfile/],
    ['selinux', (c) => { c.process.selinuxLabel = 'x'; }, /process\.selinuxLabel/],
    ['username', (c) => { c.process.user.username = 'nobody'; }, /process\.user\.username/],
    ['cgroup mount option', (c) => { c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'size=1m'] }); }, /mounts\[7\]\.options "size=1m" \(cgroup at \/sys\/fs\/cgroup\)/],
    ['bind option', (c) => { c.mounts.push({ destination: '/x', type: 'bind', source: '/tmp', options: ['rbind', 'mand'] }); }, /mounts\[7\]\.options "mand"/],
    ['systemd cgroups path', (c) => { c.linux.cgroupsPath = 'system.slice:nsbox:x'; }, /linux\.cgroupsPath/],
    ['mount label', (c) => { c.linux.mountLabel = 'x'; }, /linux\.mountLabel/],
    ['intelRdt', (c) => { c.linux.intelRdt = { closID: 'x' }; }, /linux\.intelRdt/],
    ['personality flags', (c) => { c.linux.personality = { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] }; }, /linux\.personality\.flags/],
  ];
  for (const [what, change, message] of cases) {
    const c = ctrConfig();
    change(c);
    const e = errorOf(() => specFromOciConfig(c, '/b', 'probe'));
    t.truthy(e, what);
    t.is(e?.code, 'ERR_UNSUPPORTED', what);
    t.regex(e?.message ?? '', message, what);
  }
  // Fields that ask for nothing are fine.
  const c = ctrConfig();
  c.hooks = {};
  c.linux.seccomp = null;
  c.process.apparmorProfile = '';
  t.notThrows(() => specFromOciConfig(c, '/b', 'probe'));
});

test('linux.seccomp becomes the container\'s filter as the config says it; none is unconfined, as with runc', (t) => {
  const c = ctrConfig();
  const seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] };
  c.linux.seccomp = seccomp;
  t.deepEqual(specFromOciConfig(c, '/b', 'probe').spec.profile.seccomp, seccomp);
  t.is(specFromOciConfig(ctrConfig(), '/b', 'probe').spec.profile.seccomp, 'unconfined');
  c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_SOMETIMES' }] };
  t.is(errorOf(() => specFromOciConfig(c, '/b', 'probe'))?.code, 'ERR_INVALID_SECCOMP');
});

test('malformed configs get ERR_INVALID_OCI_CONFIG naming the field', (t) => {
  const cases: [(c: Record<string, any>) => void, RegExp][] = [
    [(c) => { c.ociVersion = '2.0.0'; }, /ociVersion/],
    [(c) => { c.process.args = []; }, /process\.args/],
    [(c) => { c.process.cwd = 'relative'; }, /process\.cwd/],
    [(c) => { c.root = {}; }, /root\.path/],
    [(c) => { c.linux.resources.devices = [{ access: 'rwm' }]; }, /linux\.resources\.devices\[0\]\.allow/],
    [(c) => { c.mounts[0].destination = 'proc'; }, /mounts\[0\]\.destination/],
    [(c) => { c.linux.namespaces = [{ type: 'mount' }]; c.hostname = 'x'; }, /hostname needs a uts/],
  ];
  for (const [change, message] of cases) {
    const c = ctrConfig();
    change(c);
    const e = errorOf(() => specFromOciConfig(c, '/b', 'probe'));
    t.is(e?.code, 'ERR_INVALID_OCI_CONFIG', String(message));
    t.regex(e?.message ?? '', message);
  }
});

test('an exec process.json', (t) => {
  const p = execFromOciProcess({ args: ['/bin/sh'], env: ['A=1'], cwd: '', user: { uid: 5, gid: 6, additionalGids: [7] }, terminal: true,
    capabilities: { bounding: ['CAP_KILL'], effective: ['KILL'], permitted: ['CAP_KILL'] } });
  t.deepEqual(p.command, ['/bin/sh']);
  t.is(p.cwd, '/');
  t.deepEqual(p.user, { uid: 5, gid: 6, groups: [7] });
  t.true(p.terminal);
  t.deepEqual([...(p.capabilities?.effective ?? [])], ['CAP_KILL']);
  t.is(errorOf(() => execFromOciProcess({ args: ['/bin/sh'], apparmorProfile: 'x' }))?.code, 'ERR_UNSUPPORTED');
  t.is(errorOf(() => execFromOciProcess({ args: [] }))?.code, 'ERR_INVALID_OCI_CONFIG');
});

test('rlimits, sysctls and cgroup paths are validated', (t) => {
  t.deepEqual(resolveRlimits([{ type: 'nofile', soft: 10, hard: 'unlimited' }]), [{ type: 'RLIMIT_NOFILE', resource: 7, soft: 10n, hard: RLIM_INFINITY }]);
  for (const bad of [[{ type: 'RLIMIT_NOPE', soft: 1, hard: 1 }], [{ type: 'CORE', soft: 2, hard: 1 }], [{ type: 'CORE', soft: -1, hard: 1 }],
    [{ type: 'CORE', soft: 1, hard: 1 }, { type: 'RLIMIT_CORE', soft: 1, hard: 1 }], 'x']) {
    t.is(errorOf(() => resolveRlimits(bad))?.code, 'ERR_INVALID_SPEC', JSON.stringify(bad));
  }
  t.deepEqual(resolveSysctls({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000' }, ['net', 'ipc']).map((s) => s.path),
    ['net/ipv4/ip_forward', 'kernel/shmmax']);
  t.is(errorOf(() => resolveSysctls({ 'kernel.panic': '1' }, ['net', 'ipc', 'uts']))?.code, 'ERR_UNSUPPORTED');
  t.is(errorOf(() => resolveSysctls({ 'net.ipv4.ip_forward': '1' }, ['ipc']))?.code, 'ERR_UNSUPPORTED');
  t.is(errorOf(() => resolveSysctls({ 'net/../../x': '1' }, ['net']))?.code, 'ERR_INVALID_SPEC');
  t.is(resolveCgroupPath('/default//x/', 'x'), 'default/x');
  t.is(resolveCgroupPath(undefined, 'abc'), 'nsbox/abc');
  for (const bad of ['../x', 'a/../b', '', '/', 5]) t.is(errorOf(() => resolveCgroupPath(bad, 'x'))?.code, 'ERR_INVALID_SPEC', String(bad));
  // And through the spec: terminal and detached want absolute paths.
  t.is(errorOf(() => resolveSpec({ command: ['x'], terminal: { consoleSocket: 'rel' } }, limits))?.code, 'ERR_INVALID_SPEC');
  t.is(errorOf(() => resolveSpec({ command: ['x'], detached: {} }, limits))?.code, 'ERR_INVALID_SPEC');
  t.is(resolveSpec({ command: ['x'], detached: { startFifo: '/run/x.fifo' } }, limits).detached?.startFifo, '/run/x.fifo');
});

test('a config nested 200000 levels deep is ERR_INVALID_OCI_CONFIG, not a stack overflow, in every reader', (t) => {
  const deep = JSON.parse(`${'{"a":'.repeat(200000)}1${'}'.repeat(200000)}`);
  for (const put of [(c: any) => { c.foo = deep; }, (c: any) => { c.linux.resources = deep; }, (c: any) => { c.mounts.push(deep); }]) {
    const c = ctrConfig();
    put(c);
    t.throws(() => specFromOciConfig(c, '/b', 'deep'), { code: 'ERR_INVALID_OCI_CONFIG', message: /nested more than 64 levels/ });
    t.throws(() => fromOciConfig(c), { code: 'ERR_INVALID_OCI_CONFIG', message: /nested more than 64 levels/ });
  }
  t.throws(() => execFromOciProcess({ args: ['true'], env: [deep] }), { code: 'ERR_INVALID_OCI_CONFIG' });
});

test('mount options are mapped to flags the init applies, or refused by name: none is dropped', (t) => {
  const c = ctrConfig();
  c.mounts.push(
    { destination: '/a', type: 'bind', source: '/s', options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', 'noatime', 'ro'] },
    { destination: '/b', type: 'bind', source: '/s', options: ['bind', 'rslave'] },
    { destination: '/c', type: 'tmpfs', source: 'tmpfs', options: ['rprivate', 'noexec', 'strictatime'] },
  );
  const { spec } = specFromOciConfig(c, '/b', 'opts');
  t.deepEqual(spec.profile.mounts.slice(-3), [
    { type: 'bind', source: '/s', destination: '/a', nosuid: true, nodev: true, noexec: true, readonly: true, atime: 'noatime', propagation: 'private', recursive: true },
    { type: 'bind', source: '/s', destination: '/b', propagation: 'slave', recursive: false },
    { type: 'tmpfs', destination: '/c', noexec: true, atime: 'strictatime', propagation: 'private' },
  ]);
  for (const [type, option, propagation] of [['bind', 'rshared', 'shared'], ['bind', 'unbindable', 'unbindable'], ['tmpfs', 'rslave', 'slave'], ['tmpfs', 'shared', 'shared']]) {
    const ok = ctrConfig();
    ok.mounts.push({ destination: '/x', type, source: type === 'bind' ? '/s' : 'tmpfs', options: type === 'bind' ? ['rbind', option] : [option] });
    t.like(specFromOciConfig(ok, '/b', 'opts').spec.profile.mounts.at(-1), { destination: '/x', propagation }, option);
  }
  for (const [type, option] of [['bind', 'mand'], ['tmpfs', 'dirsync']]) {
    const bad = ctrConfig();
    bad.mounts.push({ destination: '/x', type, source: type === 'bind' ? '/s' : 'tmpfs', options: type === 'bind' ? ['rbind', option] : [option] });
    t.throws(() => specFromOciConfig(bad, '/b', 'opts'), { code: 'ERR_UNSUPPORTED', message: new RegExp(`"${option}"`) }, option);
  }
});

/** Docker 20.10's config for `docker run --device /dev/fuse --cap-drop MKNOD -v /srv:/data:ro`, as far as the policy goes. */
function dockerConfig(): Record<string, any> {
  const c = ctrConfig();
  const caps = DEFAULT_CAPS.filter((n) => n !== 'CAP_MKNOD');
  c.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps };
  c.process.env = ['PATH=/usr/bin:/bin', 'HOSTNAME=abc'];
  c.mounts.push({ destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rprivate'] });
  c.linux.resources.devices = [
    { allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
    { allow: true, type: 'c', major: -1, minor: -1, access: 'm' }, { allow: true, type: 'b', access: 'm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
  c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }];
  return c;
}

/** podman 4.3's: deny-all and nothing more (it relies on the runtime's standard rules), a "u" device, /sys read-write. */
function podmanConfig(): Record<string, any> {
  const c = ctrConfig();
  c.mounts = c.mounts.map((m: { destination: string; options: string[] }) => (m.destination === '/sys' ? { ...m, options: ['nosuid', 'noexec', 'nodev', 'rw'] } : m));
  c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'noexec', 'size=65536k'] });
  c.linux.devices = [{ path: '/dev/kvm', type: 'u', major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 }];
  c.linux.readonlyPaths = ['/proc/asound', '/proc/bus'];
  return c;
}

test('linux.resources limits become the spec\'s resources, checked there; others are refused by name', (t) => {
  const c = ctrConfig();
  c.linux.resources.memory = { limit: 1 << 25, swap: 1 << 26 };
  c.linux.resources.cpu = { shares: 512, quota: 50000, period: 100000, cpus: '0' };
  c.linux.resources.pids = { limit: 2048 };
  const { spec } = specFromOciConfig(c, '/b', 'limits');
  t.deepEqual(spec.profile.resources, { memory: { limit: 1 << 25, swap: 1 << 26 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' }, pids: { limit: 2048 } });
  t.deepEqual(resolveSpec(spec, limits).resources.pids, { limit: 2048 });
  const bad = ctrConfig();
  bad.linux.resources.pids = { limit: -7 };
  t.is(errorOf(() => resolveSpec(specFromOciConfig(bad, '/b', 'limits').spec, limits))?.code, 'ERR_INVALID_RESOURCES');
  const rdma = ctrConfig();
  rdma.linux.resources.rdma = { mlx: { hcaHandles: 1 } };
  t.regex(errorOf(() => specFromOciConfig(rdma, '/b', 'limits'))?.message ?? '', /linux\.resources\.rdma is not supported/);
  t.deepEqual(specFromOciConfig(ctrConfig(), '/b', 'limits').spec.profile.resources, {}, 'no limits: none set');
  // The profile import reads the same limits.
  t.deepEqual(fromOciConfig(c).resources?.pids, { limit: 2048 });
});

test('a pid namespace given by path is joined (a pod\'s), like network, ipc, uts and cgroup ones', (t) => {
  const c = ctrConfig();
  c.linux.namespaces[0].path = '/proc/1/ns/pid';
  const { spec } = specFromOciConfig(c, '/b', 'pod');
  t.deepEqual(spec.joinNamespaces, { pid: '/proc/1/ns/pid' });
  t.false(spec.namespaces?.includes('pid'));
  t.deepEqual(resolveSpec(spec, limits).joinNamespaces, [{ type: 'pid', path: '/proc/1/ns/pid' }]);
});

test('process.oomScoreAdj becomes the spec\'s oomScoreAdj, checked there', (t) => {
  const c = ctrConfig();
  c.process.oomScoreAdj = 100;
  const { spec } = specFromOciConfig(c, '/b', 'oom');
  t.is(spec.oomScoreAdj, 100);
  t.is(resolveSpec(spec, limits).oomScoreAdj, 100);
  t.is(resolveSpec(specFromOciConfig(ctrConfig(), '/b', 'oom').spec, limits).oomScoreAdj, null, 'absent: the caller\'s');
  for (const bad of [1001, -1001, 1.5, '5']) {
    const b = ctrConfig();
    b.process.oomScoreAdj = bad;
    t.is(errorOf(() => resolveSpec(specFromOciConfig(b, '/b', 'oom').spec, limits))?.code, 'ERR_INVALID_SPEC', String(bad));
  }
});

test('one reader: the profile import and the command line agree on every policy field of the same config.json', (t) => {
  for (const [name, config] of [['ctr', ctrConfig()], ['docker', dockerConfig()], ['podman', podmanConfig()]] as const) {
    const profile = fromOciConfig(JSON.parse(JSON.stringify(config)), 'imported');
    const { spec } = specFromOciConfig(JSON.parse(JSON.stringify(config)), '/b', 'agree');
    const run = spec.profile;
    t.deepEqual(profile.capabilities, run.capabilities, `${name} capabilities`);
    t.deepEqual(profile.devices, run.devices, `${name} device rules`);
    t.deepEqual(profile.nodes, run.nodes, `${name} nodes`);
    t.deepEqual(profile.mounts, run.mounts, `${name} mounts`);
    t.deepEqual(profile.maskedPaths, run.maskedPaths, `${name} masked paths`);
    t.deepEqual(profile.readonlyPaths, run.readonlyPaths, `${name} read-only paths`);
    t.is(profile.sysReadonly, run.sysReadonly, `${name} /sys`);
    t.is(profile.noNewPrivileges, spec.noNewPrivileges === true, `${name} no_new_privs`);
    t.deepEqual(Object.entries(profile.env).map(([k, v]) => `${k}=${v}`), spec.env, `${name} environment`);
    // And what they resolve to, as a container: the same capability masks and rules.
    const a = resolveSpec({ command: ['x'], profile }, limits);
    const b = resolveSpec({ ...spec, rootfs: undefined, command: ['x'], env: undefined }, limits);
    t.deepEqual(a.caps, b.caps, `${name} resolved capabilities`);
    t.deepEqual(a.devices, b.devices, `${name} resolved device rules`);
  }
  // The same rules, whichever reads: the config's in order, then the runtime's standard ones.
  const rules = fromOciConfig(podmanConfig()).devices;
  t.deepEqual(rules.slice(1), [...DEFAULT_DEVICE_RULES]);
  t.true(checkDeviceAccess(compileDeviceRules(rules), { type: 'c', major: 1, minor: 3 }, 'rw').allowed, 'podman\'s /dev/null opens');
  t.deepEqual(fromOciConfig(podmanConfig()).nodes.map((n) => [n.path, n.type]), [['/dev/kvm', 'c']], 'type "u" is a character device in both');
  // Each refusal is the same error from both.
  for (const change of [
    (c: Record<string, any>) => c.mounts.push({ destination: '/x', type: 'bind', source: '/s', options: ['rbind', 'mand'] }),
    (c: Record<string, any>) => c.mounts.push({ destination: '/y', type: 'overlay', source: 'overlay', options: [] }),
    (c: Record<string, any>) => { c.linux.resources.rdma = { mlx4_0: { hcaHandles: 3 } }; },
    (c: Record<string, any>) => { c.process.capabilities.bounding = ['CAP_NOPE']; },
    (c: Record<string, any>) => { c.linux.devices = [{ path: '/dev/x', type: 's', major: 1, minor: 1 }]; },
  ]) {
    const c = ctrConfig();
    change(c);
    const viaProfile = errorOf(() => fromOciConfig(JSON.parse(JSON.stringify(c))));
    const viaBundle = errorOf(() => specFromOciConfig(JSON.parse(JSON.stringify(c)), '/b', 'agree'));
    t.truthy(viaProfile);
    t.deepEqual([viaProfile?.code, viaProfile?.message], [viaBundle?.code, viaBundle?.message]);
  }
});

test('several refused fields are named in one message; what runc takes is taken: a cgroup mount, fileMode with type bits, ambient capabilities the kernel would not raise left out', (t) => {
  const c = ctrConfig();
  c.linux.intelRdt = { closID: 'x' };
  c.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
  c.process.apparmorProfile = 'docker-default';
  c.mounts.push({ destination: '/x', type: 'nfs', source: 'srv:/x', options: [] }, { destination: '/y', type: '9p', source: 'y', options: [] });
  const e = errorOf(() => specFromOciConfig(c, '/b', 'probe'));
  t.is(e?.code, 'ERR_UNSUPPORTED');
  for (const part of [/linux\.intelRdt is not supported/, /linux\.mountLabel is not supported by this runtime: SELinux is on/, /process\.apparmorProfile/, /mounts\[7\] \(type "nfs"/, /mounts\[8\] \(type "9p"/]) t.regex(e?.message ?? '', part);
  const ok = ctrConfig();
  ok.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rw', 'nosuid', 'noexec', 'nodev', 'relatime'] },
    // podman's --read-only: tmpfs with tmpcopyup and rprivate.
    { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
  // podman: the node's whole st_mode (S_IFCHR | 0620 = 8592); buildah: ambient without inheritable.
  ok.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o020000 | 0o620, uid: 0, gid: 0 }];
  ok.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_MKNOD'], effective: ['CAP_CHOWN', 'CAP_MKNOD'], permitted: ['CAP_CHOWN', 'CAP_MKNOD'], inheritable: ['CAP_MKNOD'], ambient: ['CAP_CHOWN', 'CAP_MKNOD'] };
  const { spec, notes } = specFromOciConfig(ok, '/b', 'probe');
  t.deepEqual(spec.profile.mounts.filter((m) => m.type === 'cgroup'), [{ type: 'cgroup', destination: '/sys/fs/cgroup', readonly: true }, { type: 'cgroup', destination: '/sys/fs/cgroup', readonly: false }]);
  t.like(spec.profile.nodes[0], { path: '/dev/fuse', mode: 0o620 });
  t.like(spec.profile.mounts.find((m) => m.destination === '/scratch'), { type: 'tmpfs', copyUp: true });
  t.deepEqual(spec.profile.capabilities.ambient, ['CAP_MKNOD']);
  t.true(notes.some((n) => /ambient: CAP_CHOWN left out/.test(n)), notes.join('\n'));
  // Labels and profiles for an LSM the host does not run: noted, as runc takes them.
  const labelled = ctrConfig();
  labelled.process.apparmorProfile = 'docker-default';
  labelled.process.selinuxLabel = 'system_u:system_r:container_t:s0';
  labelled.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
  const off = specFromOciConfig(labelled, '/b', 'probe', { apparmor: false, selinux: false });
  t.is(off.notes.filter((n) => /not applied: this host runs no (AppArmor|SELinux)/.test(n)).length, 3, off.notes.join('\n'));
  t.throws(() => specFromOciConfig(labelled, '/b', 'probe', { apparmor: true, selinux: false }), { code: 'ERR_UNSUPPORTED', message: /process\.apparmorProfile is not supported by this runtime: AppArmor is on/ });
  const named = ctrConfig();
  named.domainname = 'example.com';
  named.linux.personality = { domain: 'LINUX32' };
  t.like(specFromOciConfig(named, '/b', 'probe').spec, { domainname: 'example.com', personality: 'LINUX32' });
  const wrongType = ctrConfig();
  wrongType.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o060000 | 0o620 }];
  t.truthy(errorOf(() => specFromOciConfig(wrongType, '/b', 'probe')), 'block type bits on a character device are refused');
});

test('a property the runtime spec does not define is ignored with a note, wherever it sits; one it defines and this runtime does not take is refused', (t) => {
  const c = ctrConfig() as Record<string, any>;
  c.unknown = 'x';
  c.process.user.shell = '/bin/zsh';
  c.linux.resources.devices = [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm', extra: 1 }];
  c.mounts[0].vendorHint = true;
  c.annotations = { 'org.example.unknown-key': '' };
  const { spec, notes } = specFromOciConfig(JSON.parse(JSON.stringify(c)), '/b', 'ext');
  for (const field of ['unknown', 'process.user.shell', 'linux.resources.devices[0].extra', 'mounts[0].vendorHint']) {
    t.true(notes.some((n) => n.startsWith(`${field} is not a runtime-spec property: ignored`)), field);
  }
  t.deepEqual(spec.annotations, { 'org.example.unknown-key': '' });
  // Read as the same config without them.
  const plain = ctrConfig() as Record<string, any>;
  plain.annotations = c.annotations;
  plain.linux.resources.devices = [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];
  t.deepEqual(spec, specFromOciConfig(plain, '/b', 'ext').spec);
  // The caller's object is left as it was.
  t.is(c.unknown, 'x');
  // Defined by the spec, not taken here: refused by name.
  const d = ctrConfig() as Record<string, any>;
  d.linux.timeOffsets = { monotonic: { secs: 1 } };
  t.throws(() => specFromOciConfig(d, '/b', 'ext'), { code: 'ERR_UNSUPPORTED', message: /linux\.timeOffsets/ });
});

test('the device guard of a config: the v1 devices controller where the host has it (as runc and crun use it), cgroup2 otherwise; the annotation picks one', (t) => {
  t.is(specFromOciConfig(ctrConfig(), '/b', 'p', undefined, true).spec.deviceBackend, 'v1');
  t.is(specFromOciConfig(ctrConfig(), '/b', 'p', undefined, false).spec.deviceBackend, 'auto');
  const v2 = { ...ctrConfig(), annotations: { 'run.nsbox.device-backend': 'v2' } };
  t.is(specFromOciConfig(v2, '/b', 'p', undefined, true).spec.deviceBackend, 'v2');
  const v1 = { ...ctrConfig(), annotations: { 'run.nsbox.device-backend': 'v1' } };
  t.is(specFromOciConfig(v1, '/b', 'p', undefined, false).spec.deviceBackend, 'v1');
  const bad = errorOf(() => specFromOciConfig({ ...ctrConfig(), annotations: { 'run.nsbox.device-backend': 'bpf' } }, '/b', 'p'));
  t.is(bad?.code, 'ERR_INVALID_OCI_CONFIG');
  t.regex(bad?.message ?? '', /annotations\["run.nsbox.device-backend"\] must be "v1" or "v2", got "bpf"/);
});

test('a user namespace with linux.uidMappings and gidMappings becomes the spec\'s userns; maps without the namespace, or the namespace without maps, are invalid', (t) => {
  const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const c = ctrConfig();
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = maps;
  c.linux.gidMappings = maps;
  const { spec } = specFromOciConfig(c, '/b', 'probe');
  t.deepEqual(spec.userns, { uidMappings: maps, gidMappings: maps, idmapRootfs: false }, 'the rootfs as it is, as runc takes it');
  t.false((spec.namespaces ?? []).includes('user'), 'the spec asks for the namespace through userns alone');
  const r = resolveSpec(spec, limits);
  t.deepEqual(r.userns, { uidMappings: maps, gidMappings: maps, idmapRootfs: false });
  const noNs = ctrConfig();
  noNs.linux.uidMappings = maps;
  noNs.linux.gidMappings = maps;
  t.regex(errorOf(() => specFromOciConfig(noNs, '/b', 'probe'))?.message ?? '', /linux\.uidMappings and gidMappings need a user namespace/);
  const noMaps = ctrConfig();
  noMaps.linux.namespaces.push({ type: 'user' });
  t.regex(errorOf(() => specFromOciConfig(noMaps, '/b', 'probe'))?.message ?? '', /a user namespace needs linux\.uidMappings and linux\.gidMappings/);
});
