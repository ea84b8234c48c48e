// Device numbers of well-known paths, for explaining a path this host does not have
// (a machine without KVM can still ask about /dev/kvm).
import type { DeviceQuery } from './devices';

const TABLE: Record<string, DeviceQuery> = {
  '/dev/null': { type: 'c', major: 1, minor: 3 },
  '/dev/mem': { type: 'c', major: 1, minor: 1 },
  '/dev/kmem': { type: 'c', major: 1, minor: 2 },
  '/dev/port': { type: 'c', major: 1, minor: 4 },
  '/dev/zero': { type: 'c', major: 1, minor: 5 },
  '/dev/full': { type: 'c', major: 1, minor: 7 },
  '/dev/random': { type: 'c', major: 1, minor: 8 },
  '/dev/urandom': { type: 'c', major: 1, minor: 9 },
  '/dev/kmsg': { type: 'c', major: 1, minor: 11 },
  '/dev/tty': { type: 'c', major: 5, minor: 0 },
  '/dev/console': { type: 'c', major: 5, minor: 1 },
  '/dev/ptmx': { type: 'c', major: 5, minor: 2 },
  '/dev/net/tun': { type: 'c', major: 10, minor: 200 },
  '/dev/fuse': { type: 'c', major: 10, minor: 229 },
  '/dev/kvm': { type: 'c', major: 10, minor: 232 },
  '/dev/loop-control': { type: 'c', major: 10, minor: 237 },
  '/dev/vhost-net': { type: 'c', major: 10, minor: 238 },
};

/** /dev/loopN, /dev/ttySN and the table above. */
export function knownDevice(path: string): DeviceQuery | null {
  if (Object.hasOwn(TABLE, path)) return TABLE[path];
  const loop = /^\/dev\/loop([0-9]{1,6})$/.exec(path);
  if (loop) return { type: 'b', major: 7, minor: Number(loop[1]) };
  const serial = /^\/dev\/ttyS([0-9]{1,3})$/.exec(path);
  if (serial && Number(serial[1]) < 192) return { type: 'c', major: 4, minor: 64 + Number(serial[1]) };
  return null;
}
