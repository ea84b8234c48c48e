// `update`'s flags (runc's names and units) as a change of limits, shaped like OCI
// linux.resources; the library checks the values as it checks a spec's.
import { ContainerError } from '../index';
import { type Flags, str } from './args';

/** runc's update flags that take a value, and where each goes. */
export const UPDATE_FLAGS = [
  'memory', 'memory-swap', 'memory-reservation', 'kernel-memory', 'kernel-memory-tcp', 'cpu-share', 'cpu-shares', 'cpu-period', 'cpu-quota',
  'cpu-burst', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-idle', 'cpuset-cpus', 'cpuset-mems', 'pids-limit', 'blkio-weight', 'l3-cache-schema',
  'mem-bw-schema',
] as const;

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** A size as runc reads one: "-1", bytes, or a number with a binary unit ("64m", "1.5GiB", "512 KB"). */
export function ramInBytes(flag: string, v: string): number {
  if (v === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) throw new ContainerError('ERR_INVALID_ARG', `invalid value for ${flag}: ${JSON.stringify(v)} is not a size (bytes, or a number with k, m, g, t or p)`);
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
}

function integer(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new ContainerError('ERR_INVALID_ARG', `invalid value for ${flag}: ${JSON.stringify(v)} is not an integer`);
  return Number(v);
}

/** The change `update`'s flags ask for; empty when none is given. */
export function limitsFromFlags(f: Flags): Record<string, Record<string, unknown>> {
  for (const k of ['kernel-memory', 'kernel-memory-tcp']) {
    if (str(f, k)) throw new ContainerError('ERR_UNSUPPORTED', `--${k}: kernel memory limits are deprecated in the kernel (and gone from cgroup2); limit --memory instead`);
  }
  for (const k of ['l3-cache-schema', 'mem-bw-schema']) if (str(f, k)) throw new ContainerError('ERR_UNSUPPORTED', `--${k}: Intel RDT is not supported by this runtime`);
  const memory: Record<string, unknown> = {};
  const cpu: Record<string, unknown> = {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [flag, key] of [['memory', 'limit'], ['memory-swap', 'swap'], ['memory-reservation', 'reservation']] as const) {
    const v = str(f, flag);
    if (v !== undefined) memory[key] = ramInBytes(`--${flag}`, v);
  }
  for (const [flag, key] of [['cpu-share', 'shares'], ['cpu-shares', 'shares'], ['cpu-period', 'period'], ['cpu-quota', 'quota'], ['cpu-burst', 'burst'],
    ['cpu-rt-period', 'realtimePeriod'], ['cpu-rt-runtime', 'realtimeRuntime'], ['cpu-idle', 'idle']] as const) {
    const v = str(f, flag);
    if (v !== undefined) cpu[key] = integer(`--${flag}`, v);
  }
  for (const [flag, key] of [['cpuset-cpus', 'cpus'], ['cpuset-mems', 'mems']] as const) {
    const v = str(f, flag);
    if (v !== undefined) cpu[key] = v;
  }
  if (Object.keys(memory).length) out.memory = memory;
  if (Object.keys(cpu).length) out.cpu = cpu;
  const pids = str(f, 'pids-limit');
  if (pids !== undefined) out.pids = { limit: integer('--pids-limit', pids) };
  const weight = str(f, 'blkio-weight');
  if (weight !== undefined) out.blockIO = { weight: integer('--blkio-weight', weight) };
  return out;
}
