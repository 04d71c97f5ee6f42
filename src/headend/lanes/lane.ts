// The main thread's side of one channel worker (lane-worker.ts): starts the thread, sends it the
// commands of its LaneChannels, serves the sources it cannot open itself from the main thread's
// SourceHub (and tells it their state every STATE_MS), logs its lines, hands its reports and
// tapped datagrams to its LaneChannels and its pacer's figures to the stall watch and the
// metrics. A lane whose thread fails takes its channels down and says so (worker-failed); the
// others go on, and the host (channel-host.ts) rebuilds them in a new thread.

import type { Worker } from 'node:worker_threads';
import type { ChannelAlert } from '../channel/programme.js';
import type {
  ChannelConfig,
  ChannelSourceSpec,
  SourceProvider,
  Unsubscribe,
} from '../channel/types.js';
import type { Logger } from '../log.js';
import type { PacerStats } from '../../scheduler/protocol.js';
import { startWorker } from '../../scheduler/pacer.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { LaneAdd, LaneChannel, LaneLink } from './lane-channel.js';
import type { OutputHandoff } from '../channel/output-handoff.js';
import type { FromLane, LaneInit, ToLane } from './protocol.js';

/** How often the lane hears the state of the sources the main thread serves it. */
const STATE_MS = 500;
/** Relayed source bytes go to the lane at least this often (or when their buffer is full). */
const RELAY_MS = 5;
const RELAY_MIN_BYTES = 4096;

type Reply = Extract<FromLane, { t: 'reply' }>;

export interface LaneOptions {
  init: LaneInit;
  hub: SourceProvider;
  log: Logger;
  onStats: (lane: Lane, st: PacerStats) => void;
  /** The thread was lost (an error, or it exited unasked): its channels with it. */
  onLost?: (lane: Lane, message: string) => void;
}

export class Lane implements LaneLink {
  readonly lane: number;
  private readonly worker: Worker;
  private readonly channels = new Map<number, LaneChannel>();
  private readonly pending = new Map<number, (r: Reply) => void>();
  /** Commands of channels waiting for a handed-over output (add), in order. */
  private readonly holding = new Map<number, ToLane[]>();
  private nextReq = 1;
  /** Subscriptions the main thread serves: sub → [source key, unsubscribe]. */
  private readonly subs = new Map<number, [string, Unsubscribe]>();
  private readonly stateTimer: NodeJS.Timeout;
  private lost: string | null = null;
  private closing = false;
  private nit: readonly Uint8Array[] | undefined;
  private readonly exited: Promise<void>;
  /** The pacer's latest report. */
  stats: PacerStats | undefined;

  constructor(private readonly o: LaneOptions) {
    this.lane = o.init.lane;
    this.worker = startWorker(new URL('./lane-worker.js', import.meta.url), o.init);
    this.worker.on('message', (m: FromLane) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(`worker ${this.lane} failed: ${e.message}`));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(this.closing ? 'closed' : `worker ${this.lane} exited (${code})`);
        resolve();
      }),
    );
    this.stateTimer = setInterval(() => this.sendStates(), STATE_MS);
    this.stateTimer.unref();
  }

  /** The NIT sections it was last given (a replacement lane starts with them). */
  get lastNit(): readonly Uint8Array[] {
    return this.nit ?? this.o.init.nit;
  }

  /** The lane's channels (names for the log and metrics). */
  get members(): LaneChannel[] {
    return [...this.channels.values()];
  }

  /** Total nominal bitrate of its channels (a VBR channel counts as `vbrBps`). */
  load(vbrBps: number): number {
    let sum = 0;
    for (const c of this.channels.values()) sum += c.config.bitrate ?? vbrBps;
    return sum;
  }

  add(ch: LaneChannel, o: LaneAdd): void {
    this.channels.set(ch.id, ch);
    if (this.lost !== null) return ch.onLaneLost(this.lost);
    const { handoff, ...rest } = o;
    if (!handoff) return this.post({ t: 'add', id: ch.id, config: ch.config, ...rest });
    // An output another lane hands over: the channel is added once its state is here, and its
    // commands until then wait in order.
    const held: ToLane[] = [];
    this.holding.set(ch.id, held);
    void handoff.then((h) => {
      this.holding.delete(ch.id);
      this.post({ t: 'add', id: ch.id, config: ch.config, ...rest, ...(h ? { handoff: h } : {}) });
      for (const m of held) this.post(m);
    });
  }

  /**
   * Hands a kept output (a stop reply's carry) over to another lane: its state, or undefined
   * when the lane could not (then the channel starts a new output there).
   */
  async exportCarry(carry: number): Promise<OutputHandoff | undefined> {
    const r = await this.request({ t: 'export', carry });
    if (r.error !== undefined)
      this.o.log.log('warn', 'channel-handoff-failed', { worker: this.lane, message: r.error });
    return r.handoff;
  }

  send(m: { t: 'start' | 'tap'; id: number; on?: boolean }): void {
    if (m.t === 'start') this.post({ t: 'start', id: m.id });
    else this.post({ t: 'tap', id: m.id, on: m.on === true });
  }

  async update(
    id: number,
    kind: 'identity' | 'mux' | 'schedule',
    config: ChannelConfig,
  ): Promise<void> {
    await this.request({ t: kind, id, config });
  }

  alert(id: number, alert: ChannelAlert | null): void {
    this.post({ t: 'alert', id, alert });
  }

  setNit(sections: readonly Uint8Array[]): void {
    if (sections === this.nit) return; // every channel of the lane passes the same sections on
    this.nit = sections;
    this.post({ t: 'nit', sections: [...sections] });
  }

  /** The guide's programmes for these ids (guide.ts), and whether the headend has guides. */
  setGuide(generation: number, entries: [string, ToLaneProgrammes][], on: boolean): void {
    this.post({ t: 'guide', generation, entries, on });
  }

  request(
    m:
      | { t: 'identity' | 'mux' | 'schedule'; id: number; config: ChannelConfig }
      | { t: 'stop'; id: number; keepOutput: boolean }
      | { t: 'dest-add'; id: number; dest: DestinationSpec }
      | { t: 'dest-remove'; id: number; destId: string }
      | { t: 'psi'; id: number }
      | { t: 'export'; carry: number }
      | { t: 'warm'; sources: ChannelSourceSpec[] },
  ): Promise<Reply> {
    if (this.lost !== null) return Promise.resolve({ t: 'reply', req: 0, error: this.lost });
    const req = this.nextReq++;
    const done = new Promise<Reply>((resolve) => this.pending.set(req, resolve));
    this.post({ ...m, req });
    if (m.t === 'stop') void done.then(() => this.channels.delete(m.id));
    return done;
  }

  /** Stops the lane: its channels, inputs and pacer, then the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.stateTimer);
    for (const [, off] of this.subs.values()) off();
    this.subs.clear();
    if (this.lost === null) {
      const req = this.nextReq++;
      const done = new Promise<Reply>((resolve) => this.pending.set(req, resolve));
      this.post({ t: 'close', req });
      await done;
    }
    await this.exited;
  }

  private post(m: ToLane, transfer?: ArrayBuffer[]): void {
    const held = 'id' in m ? this.holding.get(m.id) : undefined;
    if (held) held.push(m);
    else if (this.lost === null) this.worker.postMessage(m, transfer);
  }

  private onMessage(m: FromLane): void {
    switch (m.t) {
      case 'report':
        for (const [id, r] of m.channels) this.channels.get(id)?.onReport(r);
        for (const l of m.logs) this.o.log.log(l.level, l.event, l.fields);
        return;
      case 'failed':
        return this.channels.get(m.id)?.onFailed(m.message);
      case 'reply': {
        const done = this.pending.get(m.req);
        this.pending.delete(m.req);
        return done?.(m);
      }
      case 'tap-data':
        return this.channels.get(m.id)?.onTapData(m);
      case 'src-sub':
        return this.subscribe(m.sub, m.spec, m.stallMs, m.from);
      case 'src-unsub': {
        this.subs.get(m.sub)?.[1]({ linger: m.linger });
        this.subs.delete(m.sub);
        return;
      }
      case 'pacer-stats':
        this.stats = m.stats;
        return this.o.onStats(this, m.stats);
    }
  }

  private subscribe(
    sub: number,
    spec: Extract<FromLane, { t: 'src-sub' }>['spec'],
    stallMs?: number,
    from?: Uint8Array,
  ): void {
    // Bytes gathered for up to RELAY_MS into one buffer of their own (a chunk may be a view of
    // a buffer its source reuses, or go to other subscribers too), handed over as one message
    // per batch instead of one per pipe read: the source's timing is in its PCRs, not its
    // arrival. The buffer is sized from the last batch, so a slow source allocates little.
    let buf: Uint8Array | null = null;
    let used = 0;
    let last = 0;
    let timer: NodeJS.Timeout | null = null;
    const flush = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (buf === null) return;
      const chunk = buf.subarray(0, used);
      this.post({ t: 'src-data', sub, chunk }, [buf.buffer as ArrayBuffer]);
      last = used;
      buf = null;
      used = 0;
    };
    const off = this.o.hub.subscribe(
      spec,
      {
        data: (chunk) => {
          if (buf !== null && used + chunk.length > buf.length) flush();
          buf ??= new Uint8Array(Math.max(chunk.length, 2 * last, RELAY_MIN_BYTES));
          buf.set(chunk, used);
          used += chunk.length;
          timer ??= setTimeout(flush, RELAY_MS);
        },
        restarted: () => {
          flush();
          this.post({ t: 'src-restarted', sub });
        },
        failed: (reason, message) => {
          flush();
          this.post({ t: 'src-failed', sub, reason, message });
        },
      },
      { ...(stallMs === undefined ? {} : { stallMs }), ...(from ? { from } : {}) },
    );
    this.subs.set(sub, [
      spec.key,
      (o) => {
        if (timer) clearTimeout(timer);
        off(o);
      },
    ]);
  }

  private sendStates(): void {
    if (this.subs.size === 0) return;
    const keys = new Set([...this.subs.values()].map(([k]) => k));
    const states = [...keys].flatMap((k) => {
      const st = this.o.hub.state(k);
      return st === undefined ? [] : [[k, st] as [string, typeof st]];
    });
    this.post({ t: 'src-state', states: states as Extract<ToLane, { t: 'src-state' }>['states'] });
  }

  private fail(message: string): void {
    if (this.lost !== null) return;
    this.lost = message;
    clearInterval(this.stateTimer);
    for (const [, off] of this.subs.values()) off();
    this.subs.clear();
    for (const done of this.pending.values()) done({ t: 'reply', req: 0, error: message });
    this.pending.clear();
    const names = this.members.map((c) => `${c.config.number} ${c.config.name}`);
    if (!this.closing)
      this.o.log.log('error', 'worker-failed', { worker: this.lane, message, channels: names });
    for (const c of this.channels.values()) c.onLaneLost(message);
    if (!this.closing) this.o.onLost?.(this, message);
  }
}

type ToLaneProgrammes = Extract<ToLane, { t: 'guide' }>['entries'][number][1];
