// The syscall filter layer without root: the compiled program (run by an interpreter
// of classic BPF, as the kernel runs it) answers what the rules say for every call,
// on each architecture; the default filter's choices; the OCI reader's checks.
import test from 'ava';
import {
  auditArch, compileSeccomp, defaultFilter, evaluateSeccomp, filterFromOci, filterToOci, installFlags, listenerMessage, packSeccomp, resolveSeccomp, runBpf, type SeccompArch, seccompReturn,
} from '../lib/policy/seccomp';
import { SYSCALLS } from '../lib/policy/syscall-table';
import { prng } from './helpers';

const ALLOW = 0x7fff0000;
const errno = (e: number) => (0x00050000 | e) >>> 0;
const nrOf = (arch: SeccompArch, name: string) => SYSCALLS[arch][name];
const call = (prog: ReturnType<typeof compileSeccomp>, arch: SeccompArch, name: string, args: bigint[] = []) =>
  runBpf(prog, { nr: nrOf(arch, name), arch: auditArch(arch), args });

test('the default filter: allowed, refused with EPERM, capability-conditional, clone without namespaces, clone3 ENOSYS, socket and personality', (t) => {
  const prog = compileSeccomp(defaultFilter(['CAP_CHOWN', 'CAP_MKNOD', 'CAP_SETUID']));
  for (const arch of ['x86_64', 'x86', 'x32'] as const) {
    t.is(call(prog, arch, 'getpid'), ALLOW, arch);
    t.is(call(prog, arch, 'mknodat'), ALLOW, `${arch}: mknod stays: the device cgroup is the guard`);
    t.is(call(prog, arch, 'unshare'), errno(1), arch);
    t.is(call(prog, arch, 'mount'), errno(1), arch);
    t.is(call(prog, arch, 'keyctl'), errno(1), arch);
    t.is(call(prog, arch, 'clone3'), errno(38), arch);
  }
  t.is(call(prog, 'x86_64', 'clone', [0x11n]), ALLOW, 'a fork');
  t.is(call(prog, 'x86_64', 'clone', [0x3d0f00n]), ALLOW, 'a thread');
  t.is(call(prog, 'x86_64', 'clone', [0x10000000n | 0x11n]), errno(1), 'CLONE_NEWUSER');
  t.is(call(prog, 'x86_64', 'clone', [0x20000000n]), errno(1), 'CLONE_NEWPID');
  t.is(call(prog, 'x86_64', 'socket', [2n]), ALLOW);
  t.is(call(prog, 'x86_64', 'socket', [40n]), errno(1), 'AF_VSOCK');
  t.is(call(prog, 'x86_64', 'personality', [0n]), ALLOW);
  t.is(call(prog, 'x86_64', 'personality', [0xffffffffn]), ALLOW);
  t.is(call(prog, 'x86_64', 'personality', [0x0040000n]), errno(1), 'ADDR_NO_RANDOMIZE');
  t.is(call(prog, 'x86_64', 'arch_prctl'), ALLOW);
  t.is(call(prog, 'x86', 'modify_ldt'), ALLOW);
  // With CAP_SYS_ADMIN the namespace calls open, as Docker's do.
  const admin = compileSeccomp(defaultFilter(['CAP_SYS_ADMIN']));
  t.is(call(admin, 'x86_64', 'unshare'), ALLOW);
  t.is(call(admin, 'x86_64', 'clone', [0x10000000n]), ALLOW);
  t.is(call(admin, 'x86_64', 'clone3'), ALLOW);
  t.is(call(admin, 'x86_64', 'mount'), ALLOW);
  t.is(call(admin, 'x86_64', 'ptrace'), ALLOW, 'ptrace is allowed on kernels from 4.8 on');
  // Newer than the filter: ENOSYS, so a libc's fallback works.
  t.is(runBpf(prog, { nr: 460, arch: auditArch('x86_64') }), errno(38));
  // x32's table runs to 547 (its own compat calls), so a new call below that is the
  // default action's there, as runc's stub has it; above every named one, ENOSYS.
  t.is(runBpf(prog, { nr: 0x40000000 + 460, arch: auditArch('x86_64') }), errno(1));
  t.is(runBpf(prog, { nr: 0x40000000 + 600, arch: auditArch('x86_64') }), errno(38));
  const allowing = compileSeccomp(filterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }] }));
  t.is(runBpf(allowing, { nr: 460, arch: auditArch('x86_64') }), ALLOW, 'no ENOSYS stub when the default lets calls through');
});

test('architectures: a filter without x32 or i386 kills their calls; a 64-bit filter is not fooled by the x32 bit', (t) => {
  const only64 = filterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 }] });
  const prog = compileSeccomp(only64);
  const KILL = 0x80000000;
  t.is(call(prog, 'x86_64', 'getpid'), errno(5));
  // getpid through int 0x80 (i386 numbering: 20) or as x32 (the x32 bit | 39).
  t.is(runBpf(prog, { nr: 20, arch: auditArch('x86') }), KILL);
  t.is(runBpf(prog, { nr: 0x40000000 | 39, arch: auditArch('x86_64') }), KILL);
  t.is(runBpf(prog, { nr: 39, arch: 0xc00000b7 }), KILL, 'aarch64');
  const all = compileSeccomp(filterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 }] }));
  t.is(runBpf(all, { nr: 20, arch: auditArch('x86') }), errno(5), 'the i386 getpid is 20, and is caught');
  t.is(runBpf(all, { nr: 0x40000000 | 39, arch: auditArch('x86_64') }), errno(5));
  t.is(runBpf(all, { nr: 39, arch: auditArch('x86') }), ALLOW, 'i386 39 is mkdir, not getpid');
});

test('the compiled program answers what the rules say: random filters, random calls, every operator, every architecture', (t) => {
  const rand = prng(1234);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];
  const names = ['read', 'write', 'openat', 'getpid', 'kill', 'socket', 'ioctl', 'prctl', 'mmap', 'clone', 'personality', 'fcntl', 'futex'];
  const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'];
  const actions = [['SCMP_ACT_ALLOW'], ['SCMP_ACT_ERRNO', 3], ['SCMP_ACT_KILL_PROCESS'], ['SCMP_ACT_TRAP'], ['SCMP_ACT_LOG'], ['SCMP_ACT_TRACE', 7]] as const;
  const values = [0, 1, 2, 40, 0xffffffff, 0x100000000, 2 ** 40 + 5, 2 ** 53 - 1];
  let checked = 0;
  for (let round = 0; round < 60; round++) {
    const syscalls = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
      const [action, errnoRet] = pick(actions);
      return {
        names: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(names)), action, ...(errnoRet !== undefined ? { errnoRet } : {}),
        args: Array.from({ length: Math.floor(rand() * 3) }, () => ({ index: Math.floor(rand() * 6), op: pick(ops), value: pick(values), valueTwo: pick(values) })),
      };
    });
    const f = filterFromOci({ defaultAction: pick(['SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL']), architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls });
    const prog = compileSeccomp(f);
    for (let i = 0; i < 200; i++) {
      const arch = pick(['x86_64', 'x86', 'x32'] as const);
      const name = pick(names);
      const nr = nrOf(arch, name);
      if (nr === undefined) continue;
      const args = Array.from({ length: 6 }, () => BigInt(pick(values)) + (rand() < 0.3 ? BigInt(pick([-1, 1])) : 0n)).map((v) => (v < 0n ? 0n : v));
      const want = seccompReturn(evaluateSeccomp(f, arch, nr, args).action);
      t.is(runBpf(prog, { nr, arch: auditArch(arch), args }), want, `${arch} ${name} ${args.join(',')} ${JSON.stringify(syscalls)}`);
      checked++;
    }
  }
  t.log(`${checked} calls checked`);
});

test('the OCI reader: actions, errnoRet, flags, NOTIFY with its listener, unknown names skipped, unknown fields refused by name', (t) => {
  const f = filterFromOci({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'], flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [{ names: ['getpid', 'no_such_call'], action: 'SCMP_ACT_ALLOW' }, { names: ['kill'], action: 'SCMP_ACT_ERRNO' }] });
  t.deepEqual(f.arches, ['x86_64']);
  t.is(f.flags, 2);
  t.deepEqual(f.unknown, ['no_such_call']);
  t.deepEqual(f.defaultAction, { action: 'errno', value: 38 });
  t.deepEqual(evaluateSeccomp(f, 'x86_64', nrOf('x86_64', 'kill')).action, { action: 'errno', value: 38 }, 'errnoRet defaults to the default one');
  const refuse = (v: unknown, code = 'ERR_INVALID_SECCOMP') => t.throws(() => filterFromOci(v), { code }, JSON.stringify(v));
  refuse({ defaultAction: 'SCMP_ACT_MAYBE' });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', extra: 1 });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', bogus: 1 }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } }] });
  // NOTIFY: only with a listener, never as the default, never for the call that hands the fd on.
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_NOTIFY' }] });
  refuse({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/x.sock' });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['mkdir', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['recvfrom'], action: 'SCMP_ACT_NOTIFY' }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: 'run/x.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: `/${'x'.repeat(107)}`, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  const n = filterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC'], listenerPath: '/run/x.sock', listenerMetadata: 'm',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  t.deepEqual(n.listener, { path: '/run/x.sock', metadata: 'm' });
  t.deepEqual(evaluateSeccomp(n, 'x86_64', nrOf('x86_64', 'mkdir')).action, { action: 'notify' });
  t.is(runBpf(compileSeccomp(n), { nr: nrOf('x86_64', 'mkdir'), arch: auditArch('x86_64') }), 0x7fc00000);
  t.is(installFlags(n), 8, 'the listener flag, and TSYNC dropped (the kernel refuses both)');
  t.like(filterToOci(n), { listenerPath: '/run/x.sock', listenerMetadata: 'm', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  // A listener path no rule uses gives no listener.
  t.is(filterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock' }).listener, undefined);
  const m = listenerMessage(n, { id: 'c' });
  t.deepEqual(JSON.parse(`${m?.head}42${m?.tail}`), { ociVersion: '1.0.2', fds: ['seccompFd'], pid: 42, metadata: 'm', state: { id: 'c' } });
  t.is(resolveSeccomp('unconfined', []), null);
  t.throws(() => resolveSeccomp('lenient', []), { code: 'ERR_INVALID_SECCOMP' });
  // Two words per instruction, and one program for one rule set.
  const prog = compileSeccomp(defaultFilter([]));
  t.is(compileSeccomp(defaultFilter([])), prog, 'cached by content');
  t.is(packSeccomp(prog).length, prog.length * 2);
  t.true(prog.length < 4096);
});

test('a filter exported as OCI linux.seccomp reads back to one that answers every call the same', (t) => {
  const rand = prng(77);
  for (const caps of [['CAP_CHOWN'], ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], []]) {
    for (const strict of [false, true]) {
      const f = defaultFilter(caps, strict);
      const back = filterFromOci(JSON.parse(JSON.stringify(filterToOci(f))));
      t.deepEqual(back.unknown, []);
      for (const arch of ['x86_64', 'x86', 'x32'] as const) {
        for (const [name, nr] of Object.entries(SYSCALLS[arch])) {
          // arch_prctl is written for every architecture, as Docker resolves its profile for one machine.
          if (name === 'arch_prctl') continue;
          const args = [BigInt(Math.floor(rand() * 2 ** 32)), 0n, 40n, 0n, 0n, 0n];
          t.is(seccompReturn(evaluateSeccomp(back, arch, nr, args).action), seccompReturn(evaluateSeccomp(f, arch, nr, args).action), `${arch} ${name}`);
        }
      }
    }
  }
});
