// Syscall filters by the kernel's verdict, from inside containers: the default
// profile's refusals and openings, unconfined, an OCI filter's actions, ENOSYS for
// calls newer than the filter, and the i386 and x32 ABIs against a 64-bit filter.
import test from 'ava';
import { existsSync, unlinkSync } from 'node:fs';
import { ContainerError, createContainer, run } from '../lib';
import { DOCKER_DEFAULT_CAPABILITIES } from '../lib/policy/capabilities';
import { exited, leftovers, PYTHON, sh, startSeccompAgent, textOf } from './helpers';

const withAdmin = [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'];
const admin = { bounding: withAdmin, effective: withAdmin, permitted: withAdmin };

/** errno of syscall(nr, args...) made inside, or "ok". */
const SYSCALL = (nr: number, ...args: number[]) =>
  `${PYTHON} -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(${[nr, ...args].join(', ')}); print("ok" if r >= 0 else ctypes.get_errno())'`;

test('the default filter: Seccomp 2, unshare and mount EPERM, keyctl EPERM, clone of a new namespace EPERM, a fork works, new syscalls ENOSYS', async (t) => {
  const r = await sh([
    'grep "^Seccomp:" /proc/self/status',
    'unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused',
    SYSCALL(165, 0, 0, 0, 0, 0), // mount
    SYSCALL(250, 0, 0), // keyctl
    SYSCALL(56, 0x10000000 | 17, 0, 0, 0, 0), // clone(CLONE_NEWUSER | SIGCHLD)
    SYSCALL(435, 0, 0), // clone3: ENOSYS, so that glibc falls back to clone
    SYSCALL(460, 0, 0, 0, 0), // lsm_set_self_attr, newer than the filter: ENOSYS
    'sh -c "exit 3"; echo "fork $?"',
  ].join('; '));
  t.deepEqual(r.stdout.trim().split('\n'), ['Seccomp:\t2', 'unshare-refused', '1', '1', '1', '38', '38', 'fork 3'], r.stderr);
});

test('unconfined and privileged have no filter; CAP_SYS_ADMIN opens the namespace calls, as Docker\'s conditional rules do', async (t) => {
  const probe = ['grep "^Seccomp:" /proc/self/status', 'unshare -U true && echo unshare-ok', 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mount-ok'].join('; ');
  const unconfined = await sh(probe, { seccomp: 'unconfined' });
  t.deepEqual(unconfined.stdout.trim().split('\n'), ['Seccomp:\t0', 'unshare-ok'], 'root without CAP_SYS_ADMIN still cannot mount; unshare -U needs no capability');
  const privileged = await sh(probe, { profile: 'privileged' });
  t.deepEqual(privileged.stdout.trim().split('\n'), ['Seccomp:\t0', 'unshare-ok', 'mount-ok']);
  const withCap = await sh(probe, { capabilities: admin });
  t.deepEqual(withCap.stdout.trim().split('\n'), ['Seccomp:\t2', 'unshare-ok', 'mount-ok'], withCap.stderr);
});

test('an OCI filter: ERRNO with errnoRet 38 returns 38, KILL_PROCESS kills the container and wait() says SIGSYS, the default action applies', async (t) => {
  const seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      // Calls neither the shell nor python makes while starting.
      { names: ['getpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      { names: ['syncfs'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 0, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  const r = await run({ command: ['/bin/sh', '-c', `${SYSCALL(140, 0, 0)}; ${SYSCALL(62, 1, 0)}; ${SYSCALL(62, 1, 18)}`], seccomp: seccomp as never });
  t.deepEqual(r.stdout.trim().split('\n'), ['38', '13', 'ok'], r.stderr);
  const killed = await run({ command: [PYTHON, '-c', 'import os; os.syncfs(0) if hasattr(os, "syncfs") else __import__("ctypes").CDLL(None).syscall(306, 0); print("survived")'], seccomp: seccomp as never });
  t.like(killed, { exitCode: null, signal: 'SIGSYS', stdout: '' });
});

// A 64-bit process calling getpid through the i386 ABI (int 0x80, number 20) and the
// x32 ABI (the x32 bit | 39): a filter that forgets those architectures is a known
// escape; one that lists only x86_64 kills them.
const ABI = (abi: 'i386' | 'x32') => `${PYTHON} -c '
import ctypes, mmap
code = ${abi === 'i386' ? 'b"\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3"' : 'b"\\x48\\xc7\\xc0\\x27\\x00\\x00\\x40\\x0f\\x05\\xc3"'}
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(code)
print(ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))(), flush=True)'`;

test('architectures: a filter of x86_64 alone kills an i386 or x32 call; the default filter checks them as their own architectures', async (t) => {
  const only64 = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
  for (const abi of ['i386', 'x32'] as const) {
    const r = await run({ command: ['/bin/sh', '-c', `exec ${ABI(abi)}`], seccomp: only64 as never });
    t.like(r, { exitCode: null, signal: 'SIGSYS' }, abi);
  }
  const all = { ...only64, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] };
  const i386 = await run({ command: ['/bin/sh', '-c', `exec ${ABI('i386')}`], seccomp: all as never });
  t.is(i386.stdout.trim(), '-1', 'the i386 getpid (20) is caught by the rule for getpid: -EPERM');
  // The default filter: getpid is allowed on i386 too; x32 reaches the kernel, which
  // here has no x32 ABI and answers ENOSYS itself.
  const d386 = await sh(`exec ${ABI('i386')}`);
  t.true(Number(d386.stdout.trim()) > 0, d386.stdout + d386.stderr);
  const dx32 = await sh(`exec ${ABI('x32')}`);
  t.regex(dx32.stdout.trim(), /^(-38|\d+)$/, dx32.stdout + dx32.stderr);
});

// Calls that fail harmlessly with every argument -1 (a bad fd, pointer, flag or id),
// filtered or not: the property test's sample is drawn from these.
const PROBES = ['read', 'write', 'close', 'fstat', 'lseek', 'ioctl', 'dup', 'fcntl', 'flock', 'fsync', 'fchdir', 'fchmod', 'getpid', 'kill',
  'tgkill', 'setuid', 'setgid', 'setgroups', 'mount', 'umount2', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'ptrace', 'personality',
  'socket', 'bpf', 'perf_event_open', 'syslog', 'sethostname', 'chroot', 'acct', 'quotactl', 'swapon', 'iopl', 'ioperm', 'settimeofday',
  'clock_settime', 'open_by_handle_at', 'name_to_handle_at', 'userfaultfd', 'io_uring_setup', 'memfd_create', 'pidfd_open', 'process_vm_readv',
  'kcmp', 'mbind', 'get_mempolicy', 'init_module', 'delete_module', 'fanotify_init', 'lsm_set_self_attr', 'cachestat', 'clone3', 'mount_setattr',
  'fsopen', 'move_mount', 'open_tree', 'statx', 'getrandom', 'modify_ldt', 'arch_prctl', 'reboot', 'pivot_root', 'mknodat', 'setdomainname'];

test('explain() for syscalls agrees with the kernel: a random sample of calls in four profiles, filtered and unconfined', async (t) => {
  const { explain, profiles, defineProfile } = await import('../lib');
  const { SYSCALLS } = await import('../lib/policy/syscall-table');
  const { prng } = await import('./helpers');
  const rand = prng(2026);
  const subjects = [profiles.default, profiles.systemd, profiles.nspawn, profiles.strict,
    defineProfile({ name: 'admin', capabilities: { add: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] } })];
  let checked = 0;
  for (const profile of subjects) {
    const sample = [...PROBES].sort(() => rand() - 0.5).slice(0, 40 + Math.floor(rand() * (PROBES.length - 40)));
    const script = `import ctypes\nl = ctypes.CDLL(None, use_errno=True)\nfor nr in [${sample.map((n) => SYSCALLS.x86_64[n]).join(', ')}]:\n` +
      // errno cleared first: a call that returns its error as a value (modify_ldt) sets none.
      '    ctypes.set_errno(0)\n    r = l.syscall(nr, -1, -1, -1, -1, -1, -1)\n    print(nr, "ok" if r >= 0 else (ctypes.get_errno() or r), flush=True)';
    const probe = async (seccomp?: 'unconfined') => {
      const r = await run({ command: [PYTHON, '-c', script], profile, ...(seccomp ? { seccomp } : {}) });
      t.is(r.exitCode, 0, r.stderr);
      return new Map(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    };
    const filtered = await probe();
    const open = await probe('unconfined');
    for (const name of sample) {
      const nr = String(SYSCALLS.x86_64[name]);
      const e = explain(profile, { syscall: name, args: Array(6).fill(0xffffffffffffffffn) });
      const got = filtered.get(nr);
      if (e.allowed) t.is(got, open.get(nr), `${profile.name}: ${e.reason}: the kernel answered ${got}, unconfined ${open.get(nr)}`);
      else t.is(got, String(e.errno), `${profile.name}: ${e.reason}: the kernel answered ${got}`);
      checked++;
    }
  }
  t.log(`${checked} calls checked against explain()`);
  const d = explain(profiles.default, { syscall: 'unshare' });
  t.is(d.reason, 'unshare: denied with EPERM by the default action; the rule that allows it needs CAP_SYS_ADMIN');
  t.like(explain(profiles.default, { syscall: 'clone', args: [0x10000000] }), { allowed: false, errno: 1 });
  t.like(explain(profiles.default, { syscall: 'clone', args: [0x11] }), { allowed: true, rule: 'clone without namespace flags (no CAP_SYS_ADMIN)' });
  t.like(explain(profiles.privileged, { syscall: 'unshare' }), { allowed: true, reason: 'unshare: no syscall filter (unconfined)' });
  t.throws(() => explain(profiles.default, { syscall: 'frobnicate' }), { code: 'ERR_INVALID_ARG' });
});

test('the filter follows the capabilities the container starts with: CAP_SYS_ADMIN added by setCapabilities() opens unshare and mount, and explain() says so', async (t) => {
  const { createContainer, explain } = await import('../lib');
  const { textOf, exited } = await import('./helpers');
  const probe = 'unshare -U true && echo unshare-ok; mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mount-ok';
  const c = await createContainer({ command: ['/bin/sh', '-c', probe] });
  t.teardown(() => c.destroy());
  t.like(explain(c, { syscall: 'unshare' }), { allowed: false, errno: 1 });
  c.setCapabilities({ add: ['CAP_SYS_ADMIN'] });
  t.like(explain(c, { syscall: 'unshare' }), { allowed: true, rule: 'allowed with CAP_SYS_ADMIN' });
  const out = textOf(c.stdout);
  await c.start();
  await exited(c);
  t.deepEqual((await out).trim().split('\n'), ['unshare-ok', 'mount-ok']);
  // And the other way: dropped, the calls are refused by the filter again.
  const d = await createContainer({ command: ['/bin/sh', '-c', probe], capabilities: admin });
  t.teardown(() => d.destroy());
  d.setCapabilities({ drop: ['CAP_SYS_ADMIN'] });
  const out2 = textOf(d.stdout);
  await d.start();
  await exited(d);
  t.is((await out2).trim(), '');
});

test('SCMP_ACT_NOTIFY: the listener gets the fd with the process\'s state and answers mkdir for the init and for an exec\'d process; no listener fails the start and leaves nothing', async (t) => {
  const agent = await startSeccompAgent(t);
  const seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: agent.sock, listenerMetadata: 'tenant-7',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
  const c = await createContainer({ command: ['/bin/sh', '-c', 'mkdir /dev/shm/a; echo "rc=$?"; exec sleep 100'], seccomp: seccomp as never, id: `notify-${process.pid}` });
  t.teardown(() => c.destroy());
  const out = textOf(c.stdout, 20_000);
  const err = textOf(c.stderr, 20_000);
  await c.start();
  const p = await c.exec({ command: ['/bin/mkdir', '/dev/shm/b'] });
  const pErr = textOf(p.stderr);
  t.like(await exited(p), { exitCode: 1 });
  t.regex(await pErr, /Exchange full/, 'the agent\'s answer, for the exec\'d process');
  const ls = await c.exec({ command: ['/bin/ls', '/dev/shm'] });
  const listed = textOf(ls.stdout);
  await exited(ls);
  t.is((await listed).trim(), '', 'neither directory was made: the kernel asked the agent');
  // The listener's socket gone: an exec fails naming it, and its command never runs.
  unlinkSync(agent.sock);
  const e2 = await t.throwsAsync(c.exec({ command: ['/bin/sh', '-c', 'echo ran > /dev/shm/ran'] }), { instanceOf: ContainerError });
  t.like(e2, { step: 'seccomp-listener', syscall: 'connect', code: 'ENOENT' });
  await new Promise((r) => setTimeout(r, 200));
  t.false(existsSync(`/proc/${c.pid}/root/dev/shm/ran`), 'seen from the host, through the init\'s root');
  t.true(existsSync(`/proc/${c.pid}/root/dev/shm`));
  await c.destroy();
  t.regex(await out, /rc=1/);
  t.regex(await err, /Exchange full/);
  const seen = agent.seen();
  const states = seen.filter((l) => l.state).map((l) => l.state);
  t.is(states.length, 3, `the init's, mkdir's and ls's: ${JSON.stringify(seen)}`);
  t.like(states[0], { ociVersion: '1.0.2', fds: ['seccompFd'], pid: c.pid, metadata: 'tenant-7', state: { id: c.id, status: 'created', pid: c.pid } });
  t.like(states[1], { pid: p.pid, metadata: 'tenant-7', state: { id: c.id, status: 'running', pid: c.pid } });
  t.true(seen.filter((l) => l.fds !== undefined).every((l) => l.fds === 1));
  const answered = seen.filter((l) => l.nr !== undefined);
  // The container's own mkdir (a child of its shell) and the exec'd one, each answered once.
  t.is(answered.length, 2, JSON.stringify(answered));
  t.true(answered.some((l) => l.pid === p.pid) && answered.some((l) => l.pid !== p.pid), JSON.stringify(answered));
  // Nobody listening: the start fails naming the socket, the command never runs (the
  // init exits 127, as for a failed exec), and nothing is left.
  const id = `notify-none-${process.pid}`;
  const none = await createContainer({ command: ['/bin/sh', '-c', 'echo ran'], id, seccomp: { ...seccomp, listenerPath: `${agent.sock}.absent` } as never });
  const noneOut = textOf(none.stdout);
  const e = await t.throwsAsync(none.start(), { instanceOf: ContainerError });
  t.like(e, { step: 'seccomp-listener', syscall: 'connect', code: 'ENOENT' });
  t.regex(e?.message ?? '', /agent\.sock\.absent/);
  t.like(await exited(none), { exitCode: 127 });
  t.is(await noneOut, '');
  await none.destroy();
  t.deepEqual(leftovers(id, none.pid), []);
});
