// Live device control of a created or running container: its rules and compiled
// policy, changes applied one after another, host nodes passed through, and nodes
// made as the container itself would make them.
import { USERNS_MKNOD_REASON } from '../policy/userns';
import { realpath, stat } from 'node:fs/promises';
import createDebug from 'debug';
import { ContainerError, fromNative, quote } from '../errors';
import { hostDevice } from '../explain';
import type { NativeContainer } from '../native';
import { nativeException, nativePolicy } from '../plan';
import type { CapabilityMasks } from '../policy/capabilities';
import {
  applyDeviceRule, type DevicePolicy, type DeviceRule, type DeviceRuleInput, formatDeviceRule, normalizeAccess, parseDeviceRule,
  singleChange, v1Write,
} from '../policy/devices';
import { explainAccess } from '../policy/explain';
import { type DeviceNode, type DeviceNodeSpec, parseDeviceNode } from '../policy/nodes';
import { validatePath } from '../policy/paths';
import { capabilitySets, type ContainerRecord } from './record';

const debug = createDebug('nsbox:container');

/** A host device handed to the container, like docker run --device. */
export interface DevicePassthrough {
  /** The host's node; symlinks are resolved. */
  hostPath: string;
  /** Where the node appears in the container; the host path when omitted. */
  path?: string;
  /** Default 'rwm'. */
  access?: string;
}

/** What device control asks of its container as it is now. */
export interface DeviceOwner {
  /** The capability sets its processes run with. */
  caps(): CapabilityMasks;
  /** destroy() has begun. */
  destroying(): boolean;
  /** Its init has exited, or destroy() has begun. */
  gone(): boolean;
}

function isPassthrough(rule: unknown): rule is DevicePassthrough {
  return typeof rule === 'object' && rule !== null && 'hostPath' in rule;
}

export class LiveDevices {
  readonly #record: ContainerRecord;
  readonly #native: NativeContainer;
  readonly #owner: DeviceOwner;
  #rules: readonly DeviceRule[];
  #policy: DevicePolicy;
  /** Changes run one after another: each replaces the program the previous attached. */
  #updates: Promise<unknown> = Promise.resolve();

  constructor(record: ContainerRecord, native: NativeContainer, owner: DeviceOwner, rules: readonly DeviceRule[], policy: DevicePolicy) {
    this.#record = record;
    this.#native = native;
    this.#owner = owner;
    this.#rules = Object.freeze([...rules]);
    this.#policy = policy;
  }

  /** The rules in force, the profile's first, live changes last. */
  get rules(): readonly DeviceRule[] {
    return this.#rules;
  }

  /** Settles once every change asked for so far has. */
  settled(): Promise<unknown> {
    return this.#updates;
  }

  async allow(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    if (isPassthrough(rule)) {
      const p = await this.#passthrough(rule, true);
      // The node first: a node without its rule grants nothing, a rule without its node
      // would be a grant the caller was told failed. When the rule then fails, the node
      // stays, as useless to the container as one it made itself. In a user namespace no
      // node can be made: the host's is bound there (its mode and owner the host's).
      await this.#join(p.node, false, 'allowDevice()', this.#record.namespaces.includes('user') ? p.hostPath : '');
      await this.#change(p.rule);
      return;
    }
    await this.#change(parseDeviceRule(rule));
  }

  async deny(rule: DeviceRuleInput | DevicePassthrough): Promise<void> {
    const parsed = isPassthrough(rule)
      ? (await this.#passthrough(rule, false)).rule
      : Object.freeze({ ...parseDeviceRule(rule), allow: false });
    await this.#change(parsed);
  }

  /** A node for mknodInside(): owned by the container's user unless asked otherwise, as its own mknod(2) would leave it. */
  nodeInside(path: string, node: DeviceNodeSpec): DeviceNode {
    const { uid, gid } = this.#record.user;
    return parseDeviceNode({ uid, gid, ...(typeof node === 'object' && node !== null ? node : { type: node }), path: validatePath(path, 'path') });
  }

  /** Makes `node` as the container would: in its mount namespace, under its device cgroup, with its ids and capabilities. */
  mknodInside(node: DeviceNode): Promise<void> {
    // The kernel's answer, given without asking it: no mknod in a user namespace.
    if (this.#record.namespaces.includes('user') && node.type !== 'p') {
      return Promise.reject(new ContainerError('EPERM', `container ${this.#record.id}: mknodInside() ${node.path} refused: ${USERNS_MKNOD_REASON}`, { path: node.path }));
    }
    return this.#join(node, true, 'mknodInside()');
  }

  #change(rule: DeviceRule): Promise<void> {
    const { id, backend } = this.#record;
    const run = async () => {
      // Queued behind a change that was in flight when destroy() began: nothing to change.
      if (this.#owner.destroying()) throw new ContainerError('ERR_CONTAINER_STATE', `container ${id}: it is being destroyed`);
      const next = applyDeviceRule(this.#policy, rule);
      // v1: the one rule, written as it is; the kernel applies it the way `next` was computed.
      // v2: a change of one exception is one update of the program's map.
      const writes = backend === 'v1' ? [v1Write(rule)] : [];
      const single = backend === 'v2' ? singleChange(this.#policy, next) : null;
      try {
        await this.#native.updateDevices(nativePolicy(next), writes, single && nativeException(single));
      } catch (e) {
        throw fromNative(e, `container ${id}: ${formatDeviceRule(rule)}`);
      }
      this.#policy = next;
      this.#rules = Object.freeze([...this.#rules, rule]);
      debug('%s: %s', id, formatDeviceRule(rule));
    };
    const p = this.#updates.then(run, run);
    this.#updates = p.catch(() => undefined);
    return p;
  }

  async #passthrough(input: DevicePassthrough, allow: boolean): Promise<{ rule: DeviceRule; node: DeviceNode; hostPath: string }> {
    const bad = Object.keys(input).find((k) => k !== 'hostPath' && k !== 'path' && k !== 'access');
    if (bad) throw new ContainerError('ERR_INVALID_DEVICE_RULE', `a passthrough is { hostPath, path, access }, got ${quote(bad)}`);
    const hostPath = validatePath(input.hostPath, 'hostPath');
    const path = validatePath(input.path ?? hostPath, 'path');
    const access = normalizeAccess(input.access ?? 'rwm');
    const missing = () => new ContainerError('ENOENT', `hostPath ${quote(hostPath)} does not exist`, { path: hostPath });
    const real = await realpath(hostPath).catch(() => {
      throw missing();
    });
    const q = hostDevice(real);
    if (!q) throw missing();
    const st = await stat(real);
    const rule = parseDeviceRule({ ...q, access, allow });
    return { rule, node: parseDeviceNode({ path, ...q, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }), hostPath: real };
  }

  async #join(node: DeviceNode, asContainer: boolean, op: string, bindHost = ''): Promise<void> {
    const { id, user } = this.#record;
    const caps = this.#owner.caps();
    try {
      await this.#native.join({
        node: { ...node }, asContainer, uid: user.uid, gid: user.gid, groups: [...user.groups],
        // What the container's processes hold after exec: root gets the bounding set, others the ambient one.
        caps: user.uid === 0 ? caps.bounding : caps.ambient,
        bindHost,
      });
    } catch (e) {
      const err = fromNative(e, `container ${id}: ${op} ${node.path}`);
      const details = { errno: err.errno, syscall: err.syscall, step: err.step, path: node.path };
      // The container went away under the join (destroyed, or its init exited).
      if (err.code === 'ESRCH' || this.#owner.gone()) {
        throw new ContainerError('ERR_CONTAINER_GONE', `container ${id}: ${op} ${node.path}: the container is gone (${err.message})`, details);
      }
      // (A FIFO is no device: mknodInside never makes one, and no rule would be the reason.)
      if (err.code === 'EPERM' && asContainer && node.type !== 'p') {
        const why = explainAccess({ devices: this.#rules, capabilities: capabilitySets(caps), uid: user.uid }, { ...node, type: node.type === 'b' ? 'b' : 'c' }, 'm');
        throw new ContainerError('EPERM', `container ${id}: mknod ${node.path} (${node.type} ${node.major}:${node.minor}) refused: ${
          why.allowed ? 'the kernel refused although the policy allows it' : why.reason}`, details);
      }
      throw err;
    }
  }
}
