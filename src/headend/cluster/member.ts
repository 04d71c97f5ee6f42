// This node's membership of the cluster in etcd: its lease, its node key, the cluster as it
// sees it (nodes, channel owners, hand-overs) kept by one watch, and the fence.
//
// Keys under the cluster's prefix (headend.cluster.prefix):
//   nodes/<node>       {"hash":…}: a live node and the hash of the config it runs; on its lease
//   owners/<slug>      the node that sends the channel; on that node's lease, created only by a
//                      transaction on create-revision 0 (never read-then-write), so at most one
//   handoff/<slug>     {"from","to"}: a channel released to a node on hand-back; on the
//                      releaser's lease
//   identity/<slug>    the channel's output SI as its owner last sent it (cluster/identity.ts);
//                      no lease: the node that takes the channel over reads it
//   config             the config file's text (headend.cluster.config: etcd)
//
// Fencing: the lease is kept alive by one keep-alive every ttl/4, each with a deadline. The
// lease cannot end at etcd before ttl after the send of the last keep-alive etcd answered, so
// a node that has had no answer for ttl − FENCE_MARGIN fences itself: it gives up every
// channel (onFence) before any other node can see its lease end and start them. When etcd
// answers again with the lease alive, it goes on; when the lease is gone, it joins anew with
// a new one and owns nothing.

import {
  Etcd3,
  EtcdLeaseInvalidError,
  type IKeyValue,
  type IOperation,
  type Lease,
  type Namespace,
  type Watcher,
} from 'etcd3';
import type { ClusterSpec } from '../config/cluster.js';
import type { Logger } from '../log.js';
import { monotonicNs } from '../../scheduler/mono-clock.js';

export interface NodeEntry {
  name: string;
  hash: string;
  /** etcd create revision of its key: the older node wins a tie of config hashes. */
  since: number;
  /** The lease its key is on. */
  lease: string;
}

export type MemberState = 'connecting' | 'member' | 'fenced' | 'stopped';

export interface MemberEvents {
  /** The view changed (nodes, owners, hand-overs, config): reconcile. */
  changed(): void;
  /** Give up every channel now: the lease may end before etcd hears from this node again. */
  fence(reason: string): void;
  /** The config text stored in etcd (config: etcd), when it is new. */
  config?(text: string): void;
}

/** The shortest time before the lease's end at which a node without answers fences itself. */
const FENCE_MARGIN_MIN_MS = 500;
/** How often the fence is checked. */
const FENCE_CHECK_MS = 50;
/** Retries while etcd cannot be reached (start, lost lease). */
const RETRY_MS = 1000;

export class ClusterMember {
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  private lease: Lease | null = null;
  private leaseId = '';
  private watcher: Watcher | null = null;
  private keepTimer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  /** Monotonic ms of the send of the last keep-alive etcd answered with the lease alive. */
  private lastOkSentMs = 0;
  private stopping = false;
  state: MemberState = 'connecting';
  readonly nodes = new Map<string, NodeEntry>();
  readonly owners = new Map<string, string>();
  readonly handoffs = new Map<string, { from: string; to: string }>();
  configText: string | null = null;
  /** Times this node fenced itself, and joined (with a new lease). */
  fences = 0;
  joins = 0;

  constructor(
    readonly spec: ClusterSpec,
    private readonly log: Logger,
    private readonly events: MemberEvents,
    /** The hash of the config this node runs (in its node key). */
    private hash: string,
    /**
     * The pacing threads' send licence (PacerOptions.licence): moved on with every answered
     * keep-alive to the time this node fences itself, so sends stop then even if the main
     * thread that stops the channels is held up.
     */
    private readonly licence?: Float64Array,
  ) {
    this.client = new Etcd3({
      hosts: spec.etcd,
      dialTimeout: Math.min(spec.ttlMs, 3000),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.callMs }),
    });
    this.ns = this.client.namespace(`${spec.prefix}/`);
  }

  private get callMs(): number {
    return Math.max(500, Math.floor(this.spec.ttlMs / 4));
  }

  get node(): string {
    return this.spec.node;
  }

  get leaseInfo(): { id: string; ttlMs: number; sinceKeepaliveMs: number } | null {
    return this.leaseId === ''
      ? null
      : { id: this.leaseId, ttlMs: this.spec.ttlMs, sinceKeepaliveMs: now() - this.lastOkSentMs };
  }

  /**
   * Joins: grants a lease, registers the node, reads the cluster and watches it. Retries until
   * it is in (or stop()); resolves true once a member, false when stopped first. `onWait` is
   * told each failed try.
   */
  async join(onWait?: (message: string) => void): Promise<boolean> {
    while (!this.stopping) {
      try {
        await this.joinOnce();
        return true;
      } catch (err) {
        await this.dropLease();
        onWait?.(message(err));
        await sleep(RETRY_MS);
      }
    }
    return false;
  }

  private async joinOnce(): Promise<void> {
    this.state = 'connecting';
    const lease = this.client.lease(Math.ceil(this.spec.ttlMs / 1000), { autoKeepAlive: false });
    lease.on('lost', () => undefined); // lost leases are found by keep-alive answers
    const sent = now();
    this.leaseId = await lease.grant();
    this.lease = lease;
    this.setLastOk(sent);
    // The node's key, only if no other process holds the name (an old self's expires).
    const key = `nodes/${this.node}`;
    const r = await this.ns
      .if(key, 'Create', '==', 0)
      .then(
        this.ns
          .put(key)
          .value(JSON.stringify({ hash: this.hash }))
          .lease(this.leaseId),
      )
      .commit();
    if (!r.succeeded)
      throw new Error(
        `node name '${this.node}' is held by another process (or by this node before a restart, until its lease ends)`,
      );
    await this.load();
    this.state = 'member';
    this.joins++;
    this.keepTimer = setInterval(() => this.keepalive(), Math.max(250, this.spec.ttlMs / 4));
    this.fenceTimer = setInterval(() => this.checkFence(), FENCE_CHECK_MS);
    this.log.log('info', 'cluster-joined', {
      node: this.node,
      lease: this.leaseId,
      ttl_ms: this.spec.ttlMs,
      nodes: [...this.nodes.keys()],
    });
    this.events.changed();
  }

  /** Reads every key of the cluster, then watches from the next revision. */
  private async load(): Promise<void> {
    const res = await this.ns.getAll().prefix('').exec();
    this.nodes.clear();
    this.owners.clear();
    this.handoffs.clear();
    for (const kv of res.kvs) this.apply(kv, false);
    await this.watcher?.cancel();
    const rev = BigInt(res.header.revision) + 1n;
    const w = await this.ns.watch().prefix('').startRevision(rev.toString()).create();
    w.on('put', (kv) => this.onEvent(kv, false));
    w.on('delete', (kv) => this.onEvent(kv, true));
    w.on('error', (err) => this.log.log('warn', 'cluster-watch', { message: message(err) }));
    this.watcher = w;
  }

  private onEvent(kv: IKeyValue, deleted: boolean): void {
    if (this.apply(kv, deleted)) this.events.changed();
  }

  /** One key into the view; true when the view changed. */
  private apply(kv: IKeyValue, deleted: boolean): boolean {
    const key = kv.key.toString();
    const value = kv.value.toString();
    const [kind, name] = splitKey(key);
    if (kind === 'nodes' && name) {
      if (deleted) return this.nodes.delete(name);
      const v = this.parse(key, value) as { hash?: string } | null;
      this.nodes.set(name, {
        name,
        hash: v?.hash ?? '',
        since: Number(kv.create_revision),
        lease: String(kv.lease),
      });
      return true;
    }
    if (kind === 'owners' && name) {
      if (deleted) return this.owners.delete(name);
      this.owners.set(name, value);
      return true;
    }
    if (kind === 'handoff' && name) {
      if (deleted) return this.handoffs.delete(name);
      const v = this.parse(key, value) as { from?: string; to?: string } | null;
      if (v?.from && v.to) this.handoffs.set(name, { from: v.from, to: v.to });
      return true;
    }
    if (kind === 'config' && !deleted && value !== this.configText) {
      this.configText = value;
      this.events.config?.(value);
      return false;
    }
    return false;
  }

  /** A JSON value of the cluster's keys; null (and said) when another program wrote garbage. */
  private parse(key: string, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      this.log.log('warn', 'cluster-bad-key', { key, message: message(err) });
      return null;
    }
  }

  private keepalive(): void {
    const lease = this.lease;
    if (!lease) return;
    const sent = now();
    lease.keepaliveOnce({ deadline: Date.now() + this.callMs }).then(
      () => {
        if (this.lease !== lease) return;
        this.setLastOk(Math.max(this.lastOkSentMs, sent));
        if (this.state === 'fenced') {
          this.state = 'member';
          this.log.log('info', 'cluster-unfenced', {
            node: this.node,
            message: 'etcd answers again and the lease is alive: channels may run',
          });
          this.events.changed();
        }
      },
      (err: unknown) => {
        if (this.lease !== lease) return;
        if (isLeaseGone(err)) void this.rejoin('the lease ended at etcd');
      },
    );
  }

  /** How long after the last answered keep-alive's send this node fences itself. */
  private get fenceAfterMs(): number {
    return this.spec.ttlMs - Math.max(FENCE_MARGIN_MIN_MS, this.spec.ttlMs / 5);
  }

  private setLastOk(sentMs: number): void {
    this.lastOkSentMs = sentMs;
    if (this.licence) this.licence[0] = (sentMs + this.fenceAfterMs) * 1e6;
  }

  private checkFence(): void {
    if (this.state !== 'member') return;
    const since = now() - this.lastOkSentMs;
    if (since < this.fenceAfterMs) return;
    this.state = 'fenced';
    this.fences++;
    const reason = `no answer from etcd for ${Math.round(since)} ms (lease ${this.spec.ttlMs} ms)`;
    this.log.log('error', 'cluster-fenced', {
      node: this.node,
      message: `${reason}: this node stops its channels before its lease can end`,
    });
    this.events.fence(reason);
  }

  /** The lease is gone: fenced already (or now), then a new lease and a new node key. */
  private async rejoin(reason: string): Promise<void> {
    if (this.stopping || this.state === 'connecting') return;
    if (this.state === 'member') {
      this.state = 'fenced';
      this.fences++;
      if (this.licence) this.licence[0] = 1; // long past
      this.events.fence(reason);
    }
    this.log.log('warn', 'cluster-rejoin', { node: this.node, message: reason });
    await this.dropLease();
    this.owners.clear();
    this.nodes.clear();
    this.handoffs.clear();
    this.events.changed();
    await this.join((m) =>
      this.log.log('warn', 'cluster-waiting', { node: this.node, message: m }),
    );
  }

  private async dropLease(): Promise<void> {
    if (this.keepTimer) clearInterval(this.keepTimer);
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    this.keepTimer = this.fenceTimer = null;
    this.lease?.release();
    this.lease = null;
    this.leaseId = '';
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = null;
  }

  /** Whether this node may send now (a member, not fenced). */
  get active(): boolean {
    return this.state === 'member';
  }

  /** The config hash this node announces (after a reload). */
  async setHash(hash: string): Promise<void> {
    this.hash = hash;
    if (!this.active) return;
    await this.ns.put(`nodes/${this.node}`).value(JSON.stringify({ hash })).lease(this.leaseId);
  }

  /**
   * Claims channels for this node, all or none: one transaction on create-revision 0 of each
   * owner key, which also removes hand-over keys addressed to this node. True when claimed.
   */
  async claim(slugs: readonly string[]): Promise<boolean> {
    if (!this.active || slugs.length === 0) return false;
    const [first, ...rest] = slugs;
    let txn = this.ns.if(`owners/${first}`, 'Create', '==', 0);
    for (const s of rest) txn = txn.and(`owners/${s}`, 'Create', '==', 0);
    const ops = slugs.map((s) => this.ns.put(`owners/${s}`).value(this.node).lease(this.leaseId));
    const done = slugs
      .filter((s) => this.handoffs.get(s)?.to === this.node)
      .map((s) => this.ns.delete().key(`handoff/${s}`));
    const r = await txn.then(...ops, ...done).commit();
    if (r.succeeded) for (const s of slugs) this.owners.set(s, this.node);
    return r.succeeded;
  }

  /**
   * Gives channels up: their owner keys go (only where this node still owns them); with `to`,
   * each is handed to that node (a hand-over key on this node's lease).
   */
  async release(slugs: readonly string[], to?: string): Promise<void> {
    if (slugs.length === 0 || this.leaseId === '') return;
    for (const s of slugs) {
      const ops: IOperation[] = [this.ns.delete().key(`owners/${s}`)];
      if (to !== undefined)
        ops.push(
          this.ns
            .put(`handoff/${s}`)
            .value(JSON.stringify({ from: this.node, to }))
            .lease(this.leaseId),
        );
      await this.ns
        .if(`owners/${s}`, 'Value', '==', this.node)
        .then(...ops)
        .commit();
      if (this.owners.get(s) === this.node) this.owners.delete(s);
    }
  }

  /**
   * Whether a node keeps its lease alive now: at most a second short of its whole time to live
   * (etcd counts whole seconds; a node that keeps it alive renews every quarter). A node cut
   * off from etcd fails this a second or so later, while its key still shows it as live.
   */
  async healthy(node: string): Promise<boolean> {
    const e = this.nodes.get(node);
    if (!e || !this.active) return false;
    const r = await this.ns.leaseClient.leaseTimeToLive({ ID: e.lease });
    return Number(r.TTL) >= Number(r.grantedTTL) - 1 && Number(r.TTL) > 0;
  }

  async putIdentity(slug: string, text: string): Promise<void> {
    await this.ns.put(`identity/${slug}`).value(text);
  }

  async getIdentity(slug: string): Promise<string | null> {
    return this.ns.get(`identity/${slug}`).string();
  }

  /** Stores the config text (config: etcd); true when it changed. */
  async putConfig(text: string): Promise<boolean> {
    if (text === this.configText) return false;
    await this.ns.put('config').value(text);
    this.configText = text;
    return true;
  }

  /** The stored config text, if any (read at start). */
  async getConfig(): Promise<string | null> {
    const t = await this.ns.get('config').string();
    this.configText = t;
    return t;
  }

  /** Leaves: its lease revoked (its keys go at once, so others take over now). */
  async stop(): Promise<void> {
    this.stopping = true;
    const lease = this.lease;
    if (this.keepTimer) clearInterval(this.keepTimer);
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    this.state = 'stopped';
    await this.watcher?.cancel().catch(() => undefined);
    if (lease) await lease.revoke({ deadline: Date.now() + 1000 }).catch(() => undefined);
    this.client.close();
  }
}

/** 'owners/news' → ['owners', 'news']; 'config' → ['config', undefined]. */
function splitKey(key: string): [string, string | undefined] {
  const i = key.indexOf('/');
  return i < 0 ? [key, undefined] : [key.slice(0, i), key.slice(i + 1)];
}

function isLeaseGone(err: unknown): boolean {
  return err instanceof EtcdLeaseInvalidError;
}

/** Monotonic ms in the clock every thread shares (the pacing threads read the licence in it). */
const now = (): number => monotonicNs() / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
