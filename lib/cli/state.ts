// The runtime's state directory (--root): one directory per container, holding its
// state.json (the container's handle and the OCI metadata) and, until it is started,
// the start FIFO. Another process finds a container only through this.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerHandle, ContainerError } from '../index';
import { isContainerId } from '../spec';

export interface StoredState {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339. */
  created: string;
  annotations: Record<string, string>;
  handle: ContainerHandle;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    if (!isContainerId(id)) {
      throw new ContainerError('ERR_INVALID_ARG', `invalid container id ${JSON.stringify(id)}: use 1..64 of [A-Za-z0-9_.-]`);
    }
    return join(this.root, id);
  }

  fifo(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Makes the container's directory; fails when the id is taken. */
  reserve(id: string): string {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainerError('ERR_CONTAINER_EXISTS', `container with id ${id} already exists`);
      throw e;
    }
    return dir;
  }

  load(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerError('ERR_CONTAINER_NOT_FOUND', `container ${id} does not exist`);
      throw e;
    }
    return JSON.parse(text) as StoredState;
  }

  /** The ids of the containers under the root that have a state (a create still writing one has not). */
  ids(): string[] {
    let entries;
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter((d) => d.isDirectory() && isContainerId(d.name)).map((d) => d.name).sort()
      .filter((id) => {
        try {
          readFileSync(join(this.root, id, 'state.json'));
          return true;
        } catch {
          return false;
        }
      });
  }

  /** Written whole and renamed into place: a reader never sees half a state. */
  save(s: StoredState): void {
    const dir = this.dir(s.id);
    const tmp = join(dir, `.state.json.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
    renameSync(tmp, join(dir, 'state.json'));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** Writes `pid` to `file` the way callers expect it: whole, by rename. */
export function writePidFile(file: string, pid: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, file);
}
