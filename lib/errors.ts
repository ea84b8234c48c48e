import { constants } from 'node:os';

/** Stable codes for errors raised before anything is created. Setup failures use the errno name (e.g. 'EPERM'). */
export type ContainerErrorCode =
  | 'ERR_INVALID_SPEC'
  | 'ERR_INVALID_COMMAND'
  | 'ERR_INVALID_ROOTFS'
  | 'ERR_ROOTFS_NOT_FOUND'
  | 'ERR_INVALID_PATH'
  | 'ERR_INVALID_CAPABILITY'
  | 'ERR_CAPABILITY_UNAVAILABLE'
  | 'ERR_INVALID_DEVICE_RULE'
  | 'ERR_INVALID_MODE'
  | 'ERR_INVALID_PROFILE'
  | 'ERR_INVALID_MOUNT'
  | 'ERR_MOUNT_SOURCE_NOT_FOUND'
  | 'ERR_INVALID_OCI_CONFIG'
  | 'ERR_INVALID_RESOURCES'
  | 'ERR_INVALID_SECCOMP'
  | 'ERR_INVALID_HOOK'
  | 'ERR_HOOK_FAILED'
  | 'ERR_INVALID_SIGNAL'
  | 'ERR_INVALID_ARG'
  | 'ERR_UNSUPPORTED'
  | 'ERR_CGROUP_UNAVAILABLE'
  | 'ERR_USERNS_EXHAUSTED'
  | 'ERR_CONTAINER_STATE'
  | 'ERR_CONTAINER_GONE'
  | 'ERR_CONTAINER_EXISTS'
  | 'ERR_CONTAINER_NOT_FOUND'
  | 'ERR_NOT_ROOT'
  | 'ERR_INTERNAL'
  | 'ABORT_ERR'
  | (string & {});

export interface ContainerErrorDetails {
  errno?: number;
  syscall?: string;
  step?: string;
  path?: string;
  cause?: unknown;
}

/** The one error type of the library: a stable `code`, and for setup failures the step, call and errno. */
export class ContainerError extends Error {
  readonly code: ContainerErrorCode;
  readonly errno?: number;
  readonly syscall?: string;
  readonly step?: string;
  readonly path?: string;

  constructor(code: ContainerErrorCode, message: string, details: ContainerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ContainerError';
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.step !== undefined) this.step = details.step;
    if (details.path !== undefined) this.path = details.path;
  }
}

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name] as [number, string]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Shape of the errors the addon rejects with (src-native/setup_error.h). */
interface NativeSetupError {
  message: string;
  errno: number;
  step: string;
  syscall: string;
  detail: string;
}

function isNativeSetupError(e: unknown): e is NativeSetupError {
  return typeof e === 'object' && e !== null && typeof (e as NativeSetupError).errno === 'number' &&
    typeof (e as NativeSetupError).step === 'string';
}

/** Wraps an addon error; `context` names the container. */
export function fromNative(e: unknown, context: string): ContainerError {
  if (e instanceof ContainerError) return e;
  if (!isNativeSetupError(e)) {
    return new ContainerError('ERR_INTERNAL', `${context}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  return new ContainerError(errnoName(e.errno), `${context}: ${e.message}`, {
    errno: e.errno,
    syscall: e.syscall,
    step: e.step,
    ...(e.detail ? { path: e.detail } : {}),
  });
}

/** Quotes a user value for an error message without flooding it. */
export function quote(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    s = Object.prototype.toString.call(value);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
