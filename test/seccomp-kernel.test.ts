// Syscall filters by the kernel's verdict, from inside containers: the default
// profile's refusals and openings, unconfined, an OCI filter's actions, ENOSYS for
// calls newer than the filter, and the i386 and x32 ABIs against a 64-bit filter.
import test from 'ava';
import { run } from '../lib';
import { DOCKER_DEFAULT_CAPABILITIES } from '../lib/policy/capabilities';
import { PYTHON, sh } from './helpers';

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
