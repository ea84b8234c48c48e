// What the bench needs on the machine: busybox, the peers, a busybox rootfs and an
// OCI bundle equivalent to the library's default profile.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profiles, toOciConfig } from '../lib';
import { OCI_SYSTEM_MOUNTS } from '../lib/oci/config';

export interface Peer {
  name: string;
  /** argv for one run of /bin/true; '{i}' is replaced by a unique number. */
  argv: string[];
  note: string;
}

const PACKAGES: Record<string, string> = { crun: 'crun', runc: 'runc', bwrap: 'bubblewrap', busybox: 'busybox-static' };

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Installs missing peers with apt-get (saying so); returns notes on what is used. */
export function ensureTools(log: (s: string) => void): void {
  const missing = Object.keys(PACKAGES).filter((c) => !which(c) && !(c === 'busybox' && existsSync('/bin/busybox')));
  if (!missing.length) return;
  log(`installing with apt-get: ${missing.map((c) => PACKAGES[c]).join(', ')}`);
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing.map((c) => PACKAGES[c])], {
      stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (e) {
    log(`apt-get failed (${(e as Error).message.split('\n')[0]}); peers that are missing are skipped`);
  }
}

/**
 * A static program that makes a syscall N times and writes the nanoseconds per call
 * to a file: getpid (which the kernel's seccomp cache lets through without running
 * the filter) or personality(0xffffffff) (whose argument the filter must look at).
 */
function buildSyscallLoop(out: string): void {
  const src = `${out}.c`;
  writeFileSync(src, [
    '#include <stdio.h>', '#include <stdlib.h>', '#include <time.h>', '#include <unistd.h>', '#include <sys/syscall.h>',
    'int main(int argc, char **argv) {',
    '  long n = atol(argv[1]); int which = atoi(argv[2]); struct timespec a, b;',
    '  clock_gettime(CLOCK_MONOTONIC, &a);',
    '  for (long i = 0; i < n; i++) { if (which) syscall(SYS_personality, 0xffffffffUL); else syscall(SYS_getpid); }',
    '  clock_gettime(CLOCK_MONOTONIC, &b);',
    '  FILE *f = fopen(argv[3], "w"); if (!f) return 1;',
    '  fprintf(f, "%.2f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n); fclose(f); return 0;',
    '}',
  ].join('\n'));
  execFileSync('cc', ['-O2', '-static', '-o', out, src]);
}

export interface Bundle {
  dir: string;
  rootfs: string;
}

/** A busybox rootfs and an OCI config that asks a peer for what the default profile does. */
export function makeBundle(): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-bench-'));
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'true', 'sleep', 'mknod', 'rm']) symlinkSync('busybox', join(rootfs, 'bin', a));
  buildSyscallLoop(join(rootfs, 'bin/sysloop'));
  const oci = toOciConfig(profiles.default);
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/',
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      capabilities: oci.process.capabilities, noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'bench',
    mounts: OCI_SYSTEM_MOUNTS.map((m) => ({ ...m, options: [...m.options] })),
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      resources: { devices: oci.linux.resources.devices },
      maskedPaths: oci.linux.maskedPaths,
      readonlyPaths: oci.linux.readonlyPaths,
      // The default profile's syscall filter, as nsbox applies it: the same work.
      seccomp: oci.linux.seccomp,
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return { dir, rootfs };
}

/**
 * The bundle's config with `change` applied, in a directory of its own beside the
 * bundle (the same rootfs, by its absolute path): the limits workload's variants.
 */
export function variantBundle(b: Bundle, name: string, change: (config: Record<string, any>) => void): string {
  const dir = join(b.dir, name);
  mkdirSync(dir);
  const config = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
  config.root.path = b.rootfs;
  change(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** The peers found on this machine, each doing the default profile's work where it can. */
export function peers(b: Bundle, stateDir: string): Peer[] {
  const out: Peer[] = [];
  if (which('crun')) {
    out.push({ name: 'crun', argv: ['crun', '--root', `${stateDir}/crun`, '--cgroup-manager=disabled', 'run', '--bundle', b.dir, 'b{i}'],
      note: `${execFileSync('crun', ['--version']).toString().split('\n')[0]}; --cgroup-manager=disabled: it refuses this hybrid host otherwise, so it does no cgroup work` });
  }
  if (which('runc')) {
    out.push({ name: 'runc', argv: ['runc', '--root', `${stateDir}/runc`, 'run', '--bundle', b.dir, 'b{i}'],
      note: `${execFileSync('runc', ['--version']).toString().split('\n')[0]}; cgroup v1 devices controller` });
  }
  if (which('bwrap')) {
    out.push({ name: 'bwrap', argv: ['bwrap', '--unshare-all', '--die-with-parent', '--bind', b.rootfs, '/', '--proc', '/proc', '--dev', '/dev', '/bin/true'],
      note: `bubblewrap ${execFileSync('bwrap', ['--version']).toString().trim().split(' ').pop()}; no cgroups, no capabilities kept` });
  }
  out.push({ name: 'spawn', argv: [join(b.rootfs, 'bin/true')], note: 'spawn /bin/true, no container at all' });
  return out;
}

/** Starts the peer runner in a private mount namespace without the cgroup2 mount. */
export function startPeerRunner(): ChildProcess {
  const runner = join(__dirname, 'peer-runner.js');
  return spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
    `umount /sys/fs/cgroup/unified 2>/dev/null; exec "${process.execPath}" "${runner}"`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
