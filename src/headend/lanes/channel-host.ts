// Where the daemon's channels run (headend.workers): on the main thread with one pacing thread
// for all (LocalHost, `workers: 0`), or spread over channel workers (LaneHost), each running
// its channels whole with its own pacing thread. The daemon builds, stops and hands outputs
// over through the host alone; which one it is decides nothing else.
//
// Placement (LaneHost): a channel rebuilt with its running output stays in the lane that holds
// it; a channel that reads a source another channel of a lane reads (one multicast input or
// MPTS, many services) goes to that lane, so the input is received once; any other goes to the
// lane with the least nominal bitrate (VBR counted at VBR_BPS), then the fewest channels.
// A running channel moves when a reload rebuilds it to read an input another lane receives
// (and its own lane does not), and when a reload leaves the lanes uneven (balance.ts: the
// daemon rebuilds what movesForBalance names): its output goes with it (output-handoff.ts),
// the receivers see one stream go on with its continuity counters and timeline.

import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import { availableParallelism } from 'node:os';
import { Channel, type ChannelSi, type RunningOutput } from '../channel/channel.js';
import type { CarriedOutput, ChannelHandle } from '../channel/handle.js';
import { outputKey } from '../channel/output-key.js';
import { loggedStartWaves, type StartWaves } from '../channel/start-waves.js';
import type { ChannelConfig, SourceProvider } from '../channel/types.js';
import type { PacingSpec } from '../config/types.js';
import type { Logger } from '../log.js';
import type { PacerStats } from '../../scheduler/protocol.js';
import type { Pacer } from '../../scheduler/pacer.js';
import { startPacer } from './pacer-setup.js';
import { Lane } from './lane.js';
import { LaneChannel, type LaneCarry } from './lane-channel.js';
import { laneOpens } from './lane-sources.js';
import { balanceMoves, type LaneLoad } from './balance.js';

/** A VBR channel's weight in placement, bit/s. */
const VBR_BPS = 4_000_000;
/** How often the lanes' copy of the guide is brought up to date. */
const GUIDE_MS = 1000;
/** How often a lane reports its channels. */
const REPORT_MS = 500;
/** A lost lane's channels are rebuilt in a new thread after this long… */
const RESTART_MS = 1000;
/** …unless it was lost more than MAX_RESTARTS times within RESTART_WINDOW_MS. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export interface BuildOptions {
  staggerIndex: number;
  rtp?: { ssrc: number; seq: number };
  carry?: CarriedOutput;
  si: ChannelSi;
  /** The SI of the output another node sent (a cluster takeover): ChannelDeps.continueFrom. */
  continueFrom?: OutputSi;
  /** With `carry`: the lane its output moves to (a load-balance move: movesForBalance). */
  lane?: number;
}

/** One pacing thread's latest figures; `worker` names the lane (absent on the main thread). */
export interface PacingThreadStats {
  worker?: number;
  stats: PacerStats;
  /** The channels it paces ("101 News", …); [] for the main thread's: all of them. */
  channels: string[];
}

export interface ChannelHost {
  /** Builds a channel (not started). Throws when the channel cannot be made. */
  build(spec: ChannelConfig, o: BuildOptions): ChannelHandle;
  /** A carried output whose new channel could not be built goes off the air. */
  drop(spec: ChannelConfig): Promise<void>;
  /**
   * Running channels to move so the lanes' loads even out (balance.ts): rebuild each with its
   * output kept and BuildOptions.lane. None on the main thread or with one lane.
   */
  movesForBalance(): { slug: string; lane: number }[];
  /**
   * Before a channel moves to `lane` (movesForBalance): the inputs that lane receives itself are
   * opened there first (make-before-break), so the moved channel reads on from its old lane's
   * cut instead of splicing. Settles when they deliver (or after WARM_MS).
   */
  warm(spec: ChannelConfig, lane: number): Promise<void>;
  pacing(): PacingThreadStats[];
  close(): Promise<void>;
}

export interface HostOptions {
  /** headend.workers: 0 (main thread), a count, or 'auto' (one per core beyond the first). */
  workers: number | 'auto';
  pacing: PacingSpec;
  hub: SourceProvider;
  log: Logger;
  timezone: string;
  /** The network SI at start (the lanes make the rest of ChannelSi themselves). */
  si: ChannelSi;
  onStats: (t: PacingThreadStats) => void;
  /** The send licence of every pacing thread (cluster mode: PacerOptions.licence). */
  licence?: SharedArrayBuffer;
}

/** headend.workers as a count: 'auto' is one per core beyond the first, at least one. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? Math.max(1, availableParallelism() - 1) : workers;
}

export function startChannelHost(o: HostOptions): ChannelHost {
  const n = workerCount(o.workers);
  return n === 0 ? new LocalHost(o) : new LaneHost(o, n);
}

const label = (c: { number: number; name: string }): string => `${c.number} ${c.name}`;

class LocalHost implements ChannelHost {
  private readonly pacer: Pacer;
  private last: PacerStats | undefined;
  private readonly startWaves: StartWaves;

  constructor(private readonly o: HostOptions) {
    this.startWaves = loggedStartWaves(o.log);
    this.pacer = startPacer(
      o.pacing,
      o.log,
      (stats) => {
        this.last = stats;
        o.onStats({ stats, channels: [] });
      },
      undefined,
      o.licence,
    );
  }

  build(spec: ChannelConfig, b: BuildOptions): ChannelHandle {
    const ch = new Channel(spec, {
      hub: this.o.hub,
      pacer: this.pacer,
      log: this.o.log,
      staggerIndex: b.staggerIndex,
      rtp: b.rtp,
      output: b.carry as RunningOutput | undefined,
      continueFrom: b.continueFrom,
      si: b.si,
      timezone: this.o.timezone,
      startWaves: this.startWaves,
    });
    return ch;
  }

  drop(spec: ChannelConfig): Promise<void> {
    return this.pacer.removeChannel(outputKey(spec.output));
  }

  movesForBalance(): { slug: string; lane: number }[] {
    return [];
  }

  warm(): Promise<void> {
    return Promise.resolve(); // one thread: nothing moves
  }

  pacing(): PacingThreadStats[] {
    return this.last ? [{ stats: this.last, channels: [] }] : [];
  }

  close(): Promise<void> {
    return this.pacer.close();
  }
}

class LaneHost implements ChannelHost {
  private readonly lanes: Lane[];
  private nextId = 1;
  private readonly guideTimer: NodeJS.Timeout;
  /** Per lane: the guide ids it has, at which generation. */
  private readonly sent: Map<string, number>[];
  private guideOn = false;
  private closed = false;
  /** Per lane: when its thread was lost lately (ms). */
  private readonly losses: number[][] = [];
  /** Lanes lost too often to be rebuilt (worker-given-up). */
  private readonly givenUp = new Set<number>();

  constructor(
    private readonly o: HostOptions,
    n: number,
  ) {
    this.lanes = Array.from({ length: n }, (_, lane) => this.makeLane(lane, [...o.si.nit]));
    this.sent = this.lanes.map(() => new Map());
    this.guideOn = o.si.guideOn?.() ?? false;
    o.log.log('info', 'channel-workers', { workers: n });
    this.guideTimer = setInterval(() => this.syncGuide(), GUIDE_MS);
    this.guideTimer.unref();
  }

  build(spec: ChannelConfig, b: BuildOptions): ChannelHandle {
    const carry = b.carry as LaneCarry | undefined;
    const from = carry ? this.lanes[carry.lane]! : undefined;
    const balanced = b.lane !== undefined ? this.lanes[b.lane] : undefined;
    const lane =
      from && carry ? (balanced ?? this.placeKept(spec, from, carry.from)) : this.place(spec);
    this.sendGuide(lane, [spec.epg]);
    if (from && carry && lane !== from) {
      // The kept output moves with the channel: the old lane hands its state over.
      this.o.log.log('info', 'channel-moved', {
        channel: label(spec),
        from: from.lane,
        to: lane.lane,
        reason: balanced ? 'load balance' : 'its input is received there',
      });
      return new LaneChannel(spec, this.nextId++, lane, {
        staggerIndex: b.staggerIndex,
        rtp: b.rtp,
        moved: { from: carry.from, handoff: from.exportCarry(carry.carry) },
      });
    }
    return new LaneChannel(spec, this.nextId++, lane, {
      staggerIndex: b.staggerIndex,
      rtp: b.rtp,
      carry,
      continueFrom: b.continueFrom,
    });
  }

  drop(): Promise<void> {
    // A lane never fails a build synchronously: it drops the carried output itself.
    return Promise.resolve();
  }

  movesForBalance(): { slug: string; lane: number }[] {
    const loads: LaneLoad[] = this.lanes.map((l) => ({
      lane: l.lane,
      open: !this.givenUp.has(l.lane),
      channels: l.members.map((c) => ({
        slug: c.config.slug,
        bits: c.config.bitrate ?? VBR_BPS,
        sources: c.config.sources.map((s) => s.key),
      })),
    }));
    return balanceMoves(loads).flatMap((m) => m.slugs.map((slug) => ({ slug, lane: m.to })));
  }

  async warm(spec: ChannelConfig, lane: number): Promise<void> {
    const sources = spec.sources.filter(laneOpens);
    const to = this.lanes[lane];
    if (to && sources.length > 0) await to.request({ t: 'warm', sources });
  }

  pacing(): PacingThreadStats[] {
    return this.lanes.flatMap((l) =>
      l.stats
        ? [{ worker: l.lane, stats: l.stats, channels: l.members.map((c) => label(c.config)) }]
        : [],
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.guideTimer);
    await Promise.all(this.lanes.map((l) => l.close()));
  }

  private makeLane(lane: number, nit: Uint8Array[]): Lane {
    const { o } = this;
    return new Lane({
      init: {
        lane,
        pacing: o.pacing,
        originalNetworkId: o.si.originalNetworkId,
        nit,
        timezone: o.timezone,
        country: o.si.country ?? null,
        reportMs: REPORT_MS,
        licence: o.licence,
      },
      hub: o.hub,
      log: o.log,
      onStats: (l, stats) =>
        o.onStats({ worker: l.lane, stats, channels: l.members.map((c) => label(c.config)) }),
      onLost: (l, message) => this.lost(l, message),
    });
  }

  /**
   * A lane's thread was lost (a defect: it logged worker-failed with its channels): after
   * RESTART_MS its channels are rebuilt in a new thread, unless it was lost MAX_RESTARTS
   * times within RESTART_WINDOW_MS (then they stay down, and the log says so).
   */
  private lost(old: Lane, message: string): void {
    const now = Date.now();
    const recent = (this.losses[old.lane] ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
    recent.push(now);
    this.losses[old.lane] = recent;
    const channels = old.members.map((c) => label(c.config));
    if (recent.length > MAX_RESTARTS) {
      this.givenUp.add(old.lane);
      this.o.log.log('error', 'worker-given-up', {
        worker: old.lane,
        message: `lost ${recent.length} times within ${RESTART_WINDOW_MS / 1000} s (last: ${message}); its channels stay down until a restart`,
        channels,
      });
      return;
    }
    const timer = setTimeout(() => {
      if (this.closed) return;
      const lane = this.makeLane(old.lane, [...old.lastNit]);
      this.lanes[old.lane] = lane;
      this.sent[old.lane] = new Map();
      for (const c of old.members) {
        this.sendGuide(lane, [c.config.epg]);
        c.moveTo(lane);
      }
      this.o.log.log('warn', 'worker-restarted', { worker: old.lane, channels });
    }, RESTART_MS);
    timer.unref();
  }

  /** The lanes that take new channels: a lane given up on does not while another can. */
  private openLanes(): Lane[] {
    const open = this.lanes.filter((l) => !this.givenUp.has(l.lane));
    return open.length > 0 ? open : this.lanes;
  }

  /** The first lane with a channel (other than `except`) that reads one of spec's sources. */
  private sharing(spec: ChannelConfig, lanes: Lane[], except?: LaneChannel): Lane | undefined {
    const keys = new Set(spec.sources.map((s) => s.key));
    return lanes.find((l) =>
      l.members.some((c) => c !== except && c.config.sources.some((s) => keys.has(s.key))),
    );
  }

  /**
   * A channel rebuilt with its output kept (`old` ran it in `from`) stays there, unless it now
   * reads an input that channels of another lane receive and none of `from`'s does: then it
   * moves there with its output, so the input is received once.
   */
  private placeKept(spec: ChannelConfig, from: Lane, old: LaneChannel): Lane {
    if (this.sharing(spec, [from], old)) return from;
    return this.sharing(spec, this.openLanes(), old) ?? from;
  }

  private place(spec: ChannelConfig): Lane {
    const lanes = this.openLanes();
    const sharing = this.sharing(spec, lanes);
    if (sharing) return sharing;
    let best = lanes[0]!;
    for (const l of lanes) {
      const d = l.load(VBR_BPS) - best.load(VBR_BPS);
      if (d < 0 || (d === 0 && l.members.length < best.members.length)) best = l;
    }
    return best;
  }

  /** Sends the lane the guide's programmes of `ids` it does not have at this generation. */
  private sendGuide(lane: Lane, ids: string[], force = false): void {
    const guide = this.o.si.guide;
    if (!guide) return;
    const sent = this.sent[lane.lane]!;
    const gen = guide.generation;
    const todo = force ? ids : ids.filter((id) => sent.get(id) !== gen);
    if (todo.length === 0) return;
    for (const id of todo) sent.set(id, gen);
    lane.setGuide(
      gen,
      todo.map((id) => [id, [...guide.programmes(id)]]),
      this.guideOn,
    );
  }

  private syncGuide(): void {
    const on = this.o.si.guideOn?.() ?? false;
    const changed = on !== this.guideOn;
    this.guideOn = on;
    for (const l of this.lanes) {
      const ids = [...new Set(l.members.map((c) => c.config.epg))];
      this.sendGuide(l, ids, changed);
    }
  }
}
