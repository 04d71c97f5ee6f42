// Cluster mode's decisions on this node: which channels it claims, runs, gives up and hands
// back, from the view its membership keeps (member.ts) and the placement rules (placement.ts).
//
// - Claims: every node computes the same placement; a node claims (one transaction per group)
//   only the free groups placed on it, so a dead node's channels are taken as soon as its
//   lease ends, by the nodes the balance names, each once.
// - Config: nodes announce the hash of the config they run. The hash most nodes run is the
//   cluster's (a tie: the older node's); a node with another hash keeps what it runs, claims
//   nothing and says so (cluster-config-mismatch), and the others leave it out of placement.
// - Hand-back (headend.cluster.handback): channels move to where the balance alone would put
//   them only once the cluster has been quiet that long (or at the daily time). The owner stops
//   first and then releases to the new node (break before make): two senders on one group
//   would double every packet at the receivers, while a short gap is one CC error per PID
//   and a flagged PCR discontinuity, which receivers ride through.
// - Identity: every IDENTITY_MS the owner stores each channel's output SI when it changed
//   (identity.ts); the node that takes a channel over starts from it (Remuxer.continueFrom).
// - Fence: the member's fence stops every channel at once, outside the reconcile queue.

import type { ChannelSpec } from '../config/index.js';
import type { ClusterSpec } from '../config/cluster.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import type { ChannelHandle } from '../channel/handle.js';
import type { Logger } from '../log.js';
import { ClusterMember, type NodeEntry } from './member.js';
import { ideal, loads, place, placementGroups, type PlacementGroup } from './placement.js';
import { decodeIdentity, encodeIdentity } from './identity.js';

/** What the coordinator needs of the daemon. */
export interface ClusterHost {
  /** The channels of the config this node runs. */
  channels(): readonly ChannelSpec[];
  /** Runs exactly `owned` (slugs); channels taken over start from their stored SI. */
  run(owned: ReadonlySet<string>, continueFrom: ReadonlyMap<string, OutputSi>): Promise<void>;
  /** Stops every channel now (fenced). */
  fence(): Promise<void>;
  /** The running channels by slug. */
  running(): ReadonlyMap<string, ChannelHandle>;
  /** The config text stored in etcd changed (config: etcd). */
  configChanged?(text: string): void;
}

export interface ClusterStatus {
  node: string;
  state: string;
  lease: { id: string; ttl_ms: number; since_keepalive_ms: number } | null;
  hash: string;
  cluster_hash: string | null;
  nodes: {
    name: string;
    /** The etcd lease its node key (and its channels' owner keys) are on. */
    lease: string;
    hash: string;
    agrees: boolean;
    capacity: number;
    channels: number;
    bitrate: number;
  }[];
  owners: Record<string, string>;
  unowned: string[];
  handback: string;
  fences: number;
  joins: number;
  takeovers: number;
}

const IDENTITY_MS = 2000;
const TICK_MS = 1000;
const MISMATCH_LOG_MS = 30_000;
const MISMATCH_GRACE_MS = 5_000;

export class ClusterCoordinator {
  readonly member: ClusterMember;
  private owned = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private dirty = false;
  private scheduled = false;
  private readonly published = new Map<string, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private membership = '';
  private membershipSince = performance.now();
  private handbackDone = '';
  private lastDaily = '';
  private lastMismatchLog = -Infinity;
  private mismatchSince: number | null = null;
  /** Channels this node started because it claimed them from no owner. */
  takeovers = 0;

  constructor(
    readonly spec: ClusterSpec,
    private readonly log: Logger,
    private readonly host: ClusterHost,
    private hash: string,
    /** The pacing threads' send licence (member.ts). */
    licence?: Float64Array,
  ) {
    this.member = new ClusterMember(
      spec,
      log,
      {
        changed: () => this.reconcile(),
        fence: () => {
          this.owned = new Set();
          void this.host.fence();
        },
        config: (text) => this.host.configChanged?.(text),
      },
      hash,
      licence,
    );
  }

  /** The node's name. */
  get node(): string {
    return this.spec.node;
  }

  /**
   * Joins in the background. Resolves true once a member; false when etcd could not be
   * reached within the lease time and `standalone_fallback` says to run alone instead.
   */
  async start(): Promise<boolean> {
    let said = -Infinity;
    const t0 = performance.now();
    let fallback = false;
    const joined = this.member.join((message) => {
      if (performance.now() - said >= 10_000) {
        said = performance.now();
        this.log.log('warn', 'cluster-waiting', {
          node: this.node,
          etcd: this.spec.etcd,
          message: `etcd cannot be reached (${message}); no channel runs until it can`,
        });
      }
      if (this.spec.standaloneFallback && performance.now() - t0 >= this.spec.ttlMs) {
        fallback = true;
        void this.member.stop();
      }
    });
    const ok = await joined;
    if (!ok && fallback) {
      this.log.log('warn', 'cluster-standalone', {
        node: this.node,
        message:
          'etcd cannot be reached: running every channel alone (standalone_fallback); another node may send them too',
      });
      return false;
    }
    if (ok) {
      this.timers.push(setInterval(() => this.reconcile(), TICK_MS));
      this.timers.push(setInterval(() => void this.publishIdentities(), IDENTITY_MS));
      for (const t of this.timers) t.unref();
    }
    return ok;
  }

  /** After a reload: the new config's hash, announced; placement follows. */
  async reloaded(hash: string): Promise<void> {
    this.hash = hash;
    await this.member.setHash(hash).catch((err: unknown) => {
      this.log.log('warn', 'cluster-error', { message: `announcing the config: ${msg(err)}` });
    });
    this.reconcile();
  }

  /** Schedules one reconcile (they run one at a time; calls meanwhile make one more). */
  reconcile(): void {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.queue = this.queue.then(async () => {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.reconcileOnce();
        } catch (err) {
          this.log.log('error', 'cluster-error', { message: msg(err) });
        }
      }
      this.scheduled = false;
    });
  }

  /** The config hash most live nodes run (a tie: the older node's); null with no node. */
  clusterHash(): string | null {
    const count = new Map<string, { n: number; since: number }>();
    for (const e of this.member.nodes.values()) {
      const c = count.get(e.hash) ?? { n: 0, since: Infinity };
      c.n++;
      c.since = Math.min(c.since, e.since);
      count.set(e.hash, c);
    }
    let best: string | null = null;
    let bc = { n: 0, since: Infinity };
    for (const [h, c] of count)
      if (c.n > bc.n || (c.n === bc.n && c.since < bc.since)) [best, bc] = [h, c];
    return best;
  }

  private agreeing(): NodeEntry[] {
    const h = this.clusterHash();
    return [...this.member.nodes.values()].filter((n) => n.hash === h);
  }

  private capacity(name: string): number {
    return this.spec.capacity[name] ?? 1;
  }

  private async reconcileOnce(): Promise<void> {
    const m = this.member;
    if (!m.active) {
      if (this.owned.size > 0 || this.host.running().size > 0) {
        this.owned = new Set();
        await this.host.run(this.owned, new Map());
      }
      return;
    }
    const me = this.node;
    const channels = this.host.channels();
    const slugs = new Set(channels.map((c) => c.slug));
    const groups = placementGroups(channels);
    const nodes = this.agreeing().map((n) => ({ name: n.name, capacity: this.capacity(n.name) }));
    const agree = nodes.some((n) => n.name === me);
    if (!agree) this.sayMismatch();
    else this.mismatchSince = null;
    const placed = this.placed(groups, nodes);
    const taken = new Set<string>();
    if (agree) {
      for (const g of groups) {
        if (placed.get(g.id) !== me) continue;
        const free = g.slugs.filter((s) => !m.owners.has(s));
        if (free.length === 0) continue;
        if (await m.claim(free)) for (const s of free) taken.add(s);
      }
    }
    // Owner keys of channels this node's config no longer has.
    const stale = [...m.owners].filter(([s, n]) => n === me && !slugs.has(s)).map(([s]) => s);
    await m.release(stale);
    let owned = new Set([...slugs].filter((s) => m.owners.get(s) === me));
    if (agree) owned = await this.handBack(groups, nodes, owned);
    await this.runOwned(owned, taken);
  }

  /** Placement with hand-over keys honoured (a released channel goes where it was sent). */
  private placed(
    groups: readonly PlacementGroup[],
    nodes: readonly { name: string; capacity: number }[],
  ): Map<string, string> {
    const placed = place(groups, nodes, this.member.owners);
    const live = new Set(nodes.map((n) => n.name));
    for (const g of groups) {
      const h = g.slugs.map((s) => this.member.handoffs.get(s)).find((x) => x && live.has(x.to));
      if (h && !g.slugs.some((s) => this.member.owners.has(s))) placed.set(g.id, h.to);
    }
    return placed;
  }

  private async runOwned(owned: Set<string>, taken: ReadonlySet<string>): Promise<void> {
    const added = [...owned].filter((s) => !this.owned.has(s));
    const removed = [...this.owned].filter((s) => !owned.has(s));
    if (added.length === 0 && removed.length === 0) return;
    const from = new Map<string, OutputSi>();
    for (const s of added) {
      const text = await this.member.getIdentity(s).catch((err: unknown) => {
        this.log.log('warn', 'cluster-error', { channel: s, message: `its identity: ${msg(err)}` });
        return null;
      });
      if (text === null) continue;
      const d = decodeIdentity(text);
      if ('error' in d)
        this.log.log('warn', 'cluster-bad-key', { key: `identity/${s}`, message: d.error });
      else from.set(s, d);
    }
    this.takeovers += [...taken].filter((s) => owned.has(s)).length;
    if (added.length > 0)
      this.log.log('info', 'cluster-owns', {
        node: this.node,
        taken: added,
        ...(removed.length > 0 ? { released: removed } : {}),
        continued: [...from.keys()],
      });
    this.owned = owned;
    await this.host.run(owned, from);
  }

  /**
   * Hand-back: once the cluster has been quiet for the set time (or at the daily time), this
   * node's groups that the balance alone puts elsewhere go there. Returns what it keeps.
   */
  private async handBack(
    groups: readonly PlacementGroup[],
    nodes: readonly { name: string; capacity: number }[],
    owned: Set<string>,
  ): Promise<Set<string>> {
    // A node that left and came back is a new member (its key's create revision).
    const key = nodes
      .map((n) => `${n.name}@${this.member.nodes.get(n.name)?.since ?? 0}`)
      .sort()
      .join(',');
    const t = performance.now();
    if (key !== this.membership) {
      this.membership = key;
      this.membershipSince = t;
    }
    const hb = this.spec.handback;
    if (hb.kind === 'never') return owned;
    if (hb.kind === 'quiet') {
      if (t - this.membershipSince < hb.ms || this.handbackDone === key) return owned;
      this.handbackDone = key;
    } else {
      const d = new Date();
      const today = d.toDateString();
      if (d.getHours() * 60 + d.getMinutes() !== hb.minute || this.lastDaily === today)
        return owned;
      this.lastDaily = today;
    }
    const target = ideal(groups, nodes);
    const moves = new Map<string, string[]>();
    for (const g of groups) {
      const to = target.get(g.id);
      if (to === undefined || to === this.node || !g.slugs.every((s) => owned.has(s))) continue;
      moves.set(to, [...(moves.get(to) ?? []), ...g.slugs]);
    }
    // Only to nodes that keep their lease alive now: one cut off from etcd could not claim.
    for (const to of [...moves.keys()]) {
      const ok = await this.member.healthy(to).catch(() => false);
      if (ok) continue;
      moves.delete(to);
      this.handbackDone = '';
      this.log.log('warn', 'cluster-handback-deferred', {
        node: this.node,
        to,
        message: `${to} does not keep its lease alive now: its channels stay here`,
      });
    }
    if (moves.size === 0) return owned;
    const keep = new Set(owned);
    for (const slugs of moves.values()) for (const s of slugs) keep.delete(s);
    // Their SI as they stop, for the node they go to; then stop; then release.
    await this.publishIdentities([...owned].filter((s) => !keep.has(s)));
    this.owned = keep;
    await this.host.run(keep, new Map());
    for (const [to, slugs] of moves) {
      this.log.log('info', 'cluster-handback', { node: this.node, to, channels: slugs });
      await this.member.release(slugs, to);
    }
    return keep;
  }

  /** Stores the output SI of running channels (all, or `only`) that changed since last time. */
  async publishIdentities(only?: readonly string[]): Promise<void> {
    if (!this.member.active) return;
    for (const [slug, ch] of this.host.running()) {
      if (only && !only.includes(slug)) continue;
      if (!this.owned.has(slug)) continue;
      const s = await ch.psiState();
      if (!s) continue;
      const text = encodeIdentity(s);
      if (this.published.get(slug) === text) continue;
      try {
        await this.member.putIdentity(slug, text);
        this.published.set(slug, text);
      } catch (err) {
        this.log.log('warn', 'cluster-error', {
          channel: slug,
          message: `storing its identity: ${msg(err)}`,
        });
      }
    }
  }

  /** Said once a difference has lasted MISMATCH_GRACE_MS (a new file takes a moment to reach every node). */
  private sayMismatch(): void {
    const t = performance.now();
    this.mismatchSince ??= t;
    if (t - this.mismatchSince < MISMATCH_GRACE_MS) return;
    if (t - this.lastMismatchLog < MISMATCH_LOG_MS) return;
    this.lastMismatchLog = t;
    const others = [...this.member.nodes.values()]
      .filter((n) => n.hash !== this.hash)
      .map((n) => n.name);
    this.log.log('error', 'cluster-config-mismatch', {
      node: this.node,
      message: `this node's channels.yaml (sha256 ${this.hash.slice(0, 12)}) differs from the one the cluster runs (${(this.clusterHash() ?? '').slice(0, 12)}, on ${others.join(', ') || 'the other nodes'}): this node claims no channel until they agree`,
    });
  }

  /** Whether this node may run channels now. */
  get active(): boolean {
    return this.member.active;
  }

  status(): ClusterStatus {
    const m = this.member;
    const channels = this.host.channels();
    const groups = placementGroups(channels);
    const ch = this.clusterHash();
    const owners: Record<string, string> = {};
    for (const c of channels) {
      const o = m.owners.get(c.slug);
      if (o !== undefined) owners[c.slug] = o;
    }
    const byNode = new Map<string, string>();
    for (const g of groups) {
      const o = g.slugs.map((s) => m.owners.get(s)).find((x) => x !== undefined);
      if (o !== undefined) byNode.set(g.id, o);
    }
    const l = loads(groups, byNode);
    const lease = m.leaseInfo;
    const hb = this.spec.handback;
    return {
      node: this.node,
      state: m.state,
      lease: lease && {
        id: lease.id,
        ttl_ms: lease.ttlMs,
        since_keepalive_ms: Math.round(lease.sinceKeepaliveMs),
      },
      hash: this.hash,
      cluster_hash: ch,
      nodes: [...m.nodes.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((n) => ({
          name: n.name,
          lease: n.lease,
          hash: n.hash,
          agrees: n.hash === ch,
          capacity: this.capacity(n.name),
          channels: l.get(n.name)?.channels ?? 0,
          bitrate: l.get(n.name)?.bits ?? 0,
        })),
      owners,
      unowned: channels.filter((c) => !m.owners.has(c.slug)).map((c) => c.slug),
      handback:
        hb.kind === 'never'
          ? 'never'
          : hb.kind === 'quiet'
            ? `after ${hb.ms / 1000} s quiet`
            : `daily at ${String(Math.floor(hb.minute / 60)).padStart(2, '0')}:${String(hb.minute % 60).padStart(2, '0')}`,
      fences: m.fences,
      joins: m.joins,
      takeovers: this.takeovers,
    };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.queue;
    await this.member.stop();
  }
}

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));
