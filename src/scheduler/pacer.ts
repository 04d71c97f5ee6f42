// The Pacer: one pacing loop on a worker thread serving every channel's output.
//
//   main thread                                   worker (pacer-worker.ts)
//   channel.enqueue(bytes, dueNs, pcr27) ──ring──► sleeps in Atomics.wait until the earliest
//     copies into the channel's shared ring,         due time − margin, spins to it, sends
//     wakes the worker when the ring was empty       everything due on connected UDP sockets
//
// With realtimePriority the worker puts its own thread under SCHED_FIFO first (realtime.ts) and
// then sleeps more and spins less (SpinMargin.REALTIME_MAX_NS).
//
// addChannel() allocates the ring and asks the worker to open the output; datagrams enqueued
// before the socket is open wait in the ring. Counters live in the ring's shared memory, so
// `stats` reads them without messages.

import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { DEFAULT_PACING_MODE, PACING_MODES, type PacingMode } from './pacing-loop.js';
import type { DatagramQueue, DestinationSpec, OutputInfo, OutputSpec } from './output-contract.js';
import {
  ST_BYTES,
  ST_DROPPED,
  ST_LATE_MAX,
  ST_SEND_ERRORS,
  ST_RELAXED,
  ST_SPLIT,
  ST_SENT,
  createCounters,
  createRing,
  ringHeld,
  RTP_HEADROOM,
  type RingLayout,
  latenessHistogram,
  ringPush,
  ringQueued,
  ringViews,
  type RingViews,
} from './ring.js';
import {
  WAKE_CTRL,
  WAKE_DATA,
  WAKE_WORDS,
  type FromWorker,
  type PacerStats,
  type PacerThread,
  type RealtimeResult,
  type ToWorker,
} from './protocol.js';

export type { OutputSpec, OutputInfo, DestinationSpec } from './output-contract.js';
export type { PacerStats, PacerThread, RealtimeResult } from './protocol.js';

/** Most TS packets in one datagram (7 × 188 = 1316 bytes fill a 1500-byte MTU). */
const MAX_PACKETS_PER_DATAGRAM = 7;

export { DEFAULT_PACING_MODE, PACING_MODES, type PacingMode };

export interface PacerOptions {
  /**
   * Module implementing the outputs (OutputModule), loaded into the worker: src/headend/output's
   * OUTPUT_MODULE. Injected so the scheduler never imports the layer that owns sockets.
   */
  outputModule: string | URL;
  /** Called about once a second with the loop's figures. */
  onStats?: (s: PacerStats) => void;
  /** Called when the worker dies (the pacer is unusable afterwards). */
  onError?: (e: Error) => void;
  /**
   * Most slots a channel queue grows to (rounded up to a power of two). Default 4096 (~11 s at
   * 4 Mbit/s). Queues start at START_SLOTS (or this, when smaller) and double when 3/4 full.
   */
  queueSlots?: number;
  /**
   * Run the pacing thread SCHED_FIFO at this priority (1-99; 0 or absent: normal scheduling).
   * Needs root, CAP_SYS_NICE or RLIMIT_RTPRIO; `realtime` tells whether it took effect.
   */
  realtimePriority?: number;
  /**
   * The pacing thread's nice value, −20..19 (realtime.ts setThreadNice; absent: as it started).
   * Below the thread's own needs root, CAP_SYS_NICE or RLIMIT_NICE; `thread` tells what it got.
   */
  nice?: number;
  /** How the pacing thread waits for due times (PacingMode; default DEFAULT_PACING_MODE). */
  mode?: PacingMode;
  /**
   * The share of one core the pacing thread may spend busy-waiting for due times (0-1; 0:
   * never spin, sleep to each due time; 1: no limit); default: the mode's (modeSettings). See
   * SpinBudget.
   */
  spinBudget?: number;
  /**
   * The send licence: a SharedArrayBuffer of one Float64, the monotonic time (ns, mono-clock.ts)
   * after which the pacing thread sends nothing (0: no limit). Whoever grants the right to send
   * (cluster mode's etcd lease) moves it on; if they stop, sends stop at that time, whatever the
   * thread that should have stopped the channels is doing.
   */
  licence?: SharedArrayBuffer;
}

/** A send licence (PacerOptions.licence) with no limit yet. */
export function sendLicence(): SharedArrayBuffer {
  return new SharedArrayBuffer(8);
}

/** The young generation's semi-space of the threads started after workerHeapFlags(), MB. */
export const WORKER_MIN_SEMI_SPACE_MB = 4;

/**
 * Sets up the heaps of the threads started from now on, the pacing thread first (V8 flags, read
 * when a thread's heap is set up; V8 has no way to give them to one thread only). The main
 * thread's heap, set up before, keeps V8's defaults.
 *
 * No memory reducer: when a thread's allocation falls after a busy phase (its start), the
 * reducer runs up to three full collections, 8 s later and 0.5 s apart while each still frees
 * memory (V8's memory-reducer.cc), and starts over after a full collection that grew the heap:
 * each held the pacing thread 0.8-4.4 ms (bench/scale at 4, 20 and 40 channels: the worst late
 * sends of those runs). Without it a thread's full collection runs when its old generation
 * reaches its limit, and the pacing thread keeps next to nothing long enough to get there.
 *
 * A larger young generation (--min-semi-space-size=WORKER_MIN_SEMI_SPACE_MB: the new space V8
 * reports at a thread's start is 4 MB instead of 2 MB; V8 grows it only when much of it
 * survives, which the pacing thread's garbage never does): what the pacing thread still
 * allocates (its event-loop turns, its stats message) then fills it less often, and each
 * scavenge holds every send. bench/scale, one run:
 * 1, 0, 0, 0 and 1 pacing-thread collections per 20 s at 1, 4, 20, 40 channels and loaded,
 * against 6, 5, 3, 1 and 2 in the same phases before; 6.2 MB RSS per channel at 40 against 5.9.
 */
export function workerHeapFlags(): void {
  setFlagsFromString('--no-memory-reducer');
  setFlagsFromString(`--min-semi-space-size=${WORKER_MIN_SEMI_SPACE_MB}`);
}

/**
 * Starts the worker with this process's Node options (a loader, source maps), less those a
 * worker refuses: `node --input-type=module -e` is not valid for a worker file, and process-wide
 * V8 flags (`--perf-basic-prof`, `--single-threaded-gc`, …: ERR_WORKER_INVALID_EXEC_ARGV names
 * them) apply to every thread anyway.
 */
export function startWorker(file: URL, workerData: unknown): Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  try {
    return new Worker(file, { workerData, execArgv });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    const refused = new Set(
      (/flags: (.*)$/.exec(err.message)?.[1] ?? '').split(', ').filter((f) => f !== ''),
    );
    const kept = execArgv.filter((a) => !refused.has(a) && !refused.has(a.split('=')[0]));
    return new Worker(file, { workerData, execArgv: refused.size > 0 ? kept : [] });
  }
}

export interface ChannelStats {
  sent: number;
  dropped: number;
  /** Worst lateness of a send (send time − due time), ns. */
  lateNs: number;
  sendErrors: number;
  bytes: number;
  /** Datagrams waiting in the queue. */
  queued: number;
  /** Sent under the burst limit's rule 3: the channel ran behind without catching up. */
  relaxed: number;
  /** Datagrams the burst window could not hold whole, sent in two parts: one RTP packet more each. */
  split: number;
  /** How late each datagram left (cumulative counts per upper bound in s, then +Inf). */
  lateness: ReturnType<typeof latenessHistogram>;
}

export interface ChannelHandle extends DatagramQueue {
  readonly stats: ChannelStats;
  /** Settles when the output socket is open (its info) or failed to open (an Error). Never rejects. */
  readonly ready: Promise<OutputInfo | Error>;
  /**
   * The channel's RTP stream: SSRC, and the sequence number of datagram k (k = 0 the first
   * sent) is (seq + k) & 0xffff — so the next one is (seq + stats.sent + stats.split) & 0xffff
   * (a datagram sent in two parts is two RTP packets).
   */
  readonly rtp: { ssrc: number; seq: number };
  /** Sends the channel's RTP packets to one more receiver too (RTSP); rejects when it cannot. */
  addDestination(d: DestinationSpec): Promise<void>;
  removeDestination(id: string): Promise<void>;
  /**
   * No datagram in two parts any more: once this settles, stats.split no longer moves, so the
   * sequence number after the queue's last datagram is (seq + sent + queued + split) & 0xffff,
   * and another queue may go on from it (a channel moved to another worker).
   */
  sendWhole(): Promise<void>;
}

/** Slots a channel queue starts with (670 ms at 4 Mbit/s; faster channels grow theirs: ring.ts). */
const START_SLOTS = 256;

class PacerChannel implements ChannelHandle {
  closed = false;
  readonly ready: Promise<OutputInfo | Error>;
  settle!: (r: OutputInfo | Error) => void;
  private readonly maxBytes: number;
  /** Rings replaced by a larger one, while the worker may still be sending what they hold. */
  private old: RingViews[] = [];

  constructor(
    readonly id: string,
    private v: RingViews,
    private readonly wake: Int32Array,
    readonly rtp: { ssrc: number; seq: number },
    private readonly request: (m: DestRequest) => Promise<void>,
    /** Most slots the ring may grow to, and how the worker hears of a new ring. */
    private readonly maxSlots: number,
    private readonly grown: (ring: RingLayout) => void,
  ) {
    this.maxBytes = v.slotBytes - 12;
    this.ready = new Promise((resolve) => (this.settle = resolve));
  }

  enqueue(bytes: Uint8Array, dueNs: number, pcr27 = NaN): boolean {
    if (this.closed) return false;
    if (bytes.length > this.maxBytes || bytes.length === 0) {
      throw new RangeError(`datagram of ${bytes.length} bytes (1..${this.maxBytes})`);
    }
    if (ringHeld(this.v) * 4 >= this.v.capacity * 3 && this.v.capacity < this.maxSlots) this.grow();
    const r = ringPush(this.v, bytes, dueNs, pcr27);
    if (r === 'full') return false;
    if (r === 'empty-before') {
      Atomics.add(this.wake, WAKE_DATA, 1);
      Atomics.notify(this.wake, WAKE_DATA);
    }
    return true;
  }

  /** From now on into a ring twice the size; the worker sends the old one's first (ring.ts). */
  private grow(): void {
    const ring = createRing(this.v.capacity * 2, this.v.slotBytes - RTP_HEADROOM);
    this.old = this.old.filter((o) => ringQueued(o) > 0);
    this.old.push(this.v);
    this.v = ringViews(ring, this.v.stats);
    this.grown(ring);
  }

  addDestination(dest: DestinationSpec): Promise<void> {
    if (this.closed) return Promise.reject(new Error('channel removed'));
    return this.request({ type: 'dest-add', id: this.id, dest });
  }

  removeDestination(destId: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.request({ type: 'dest-remove', id: this.id, destId });
  }

  sendWhole(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.request({ type: 'whole', id: this.id });
  }

  get stats(): ChannelStats {
    const s = this.v.stats;
    return {
      sent: s[ST_SENT],
      dropped: s[ST_DROPPED],
      lateNs: s[ST_LATE_MAX],
      sendErrors: s[ST_SEND_ERRORS],
      relaxed: s[ST_RELAXED],
      split: s[ST_SPLIT],
      bytes: s[ST_BYTES],
      queued: this.old.reduce((n, o) => n + ringQueued(o), ringQueued(this.v)),
      lateness: latenessHistogram(s),
    };
  }
}

type DestRequest =
  | { type: 'dest-add'; id: string; dest: DestinationSpec }
  | { type: 'dest-remove'; id: string; destId: string }
  | { type: 'whole'; id: string };

export class Pacer {
  private reqNext = 1;
  private readonly pending = new Map<number, (error?: string) => void>();
  private readonly worker: Worker;
  private readonly wake = new Int32Array(new SharedArrayBuffer(WAKE_WORDS * 4));
  private readonly channels = new Map<string, PacerChannel>();
  private readonly removing = new Map<string, () => void>();
  private staggerNext = 0;
  private closed: Promise<void> | null = null;
  private dead = false;
  private readonly exited: Promise<void>;
  /**
   * Whether the pacing thread became real-time: settles once the worker tried
   * (opts.realtimePriority > 0), or at once with null when it was not asked for.
   */
  readonly realtime: Promise<RealtimeResult | null>;
  private settleRealtime: (r: RealtimeResult | null) => void = () => {};
  /** The pacing thread (its tid and timer slack) once it started; null if it never did. */
  readonly thread: Promise<PacerThread | null>;
  private settleThread: (t: PacerThread | null) => void = () => {};

  constructor(private readonly opts: PacerOptions) {
    const priority = opts.realtimePriority ?? 0;
    if (!(Number.isInteger(priority) && priority >= 0 && priority <= 99)) {
      throw new RangeError(`realtimePriority must be 0..99, got ${priority}`);
    }
    this.realtime =
      priority > 0
        ? new Promise((resolve) => (this.settleRealtime = resolve))
        : Promise.resolve(null);
    this.thread = new Promise((resolve) => (this.settleThread = resolve));
    const nice = opts.nice ?? null;
    if (nice !== null && !(Number.isInteger(nice) && nice >= -20 && nice <= 19)) {
      throw new RangeError(`nice must be -20..19, got ${nice}`);
    }
    const mode = opts.mode ?? DEFAULT_PACING_MODE;
    if (!PACING_MODES.includes(mode)) throw new RangeError(`unknown pacing mode ${mode}`);
    workerHeapFlags();
    this.worker = startWorker(new URL('./pacer-worker.js', import.meta.url), {
      wake: this.wake.buffer,
      statsEveryMs: opts.onStats ? 1000 : 0,
      outputModule: String(opts.outputModule),
      realtimePriority: priority,
      nice,
      mode,
      spinBudget: opts.spinBudget,
      licence: opts.licence,
    });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => {
      this.dead = true;
      this.settleRealtime(null);
      this.settleThread(null);
      if (this.opts.onError) this.opts.onError(e);
      else console.error('pacer worker failed:', e);
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.settleRealtime(null);
        this.settleThread(null);
        resolve();
      }),
    );
  }

  /** Adds a channel and opens its output socket in the worker. Ids must be unique. */
  addChannel(ch: { id: string; output: OutputSpec; staggerIndex?: number }): ChannelHandle {
    if (this.closed || this.dead) throw new Error('pacer is closed');
    if (this.channels.has(ch.id)) throw new Error(`channel ${ch.id} already added`);
    const ppd = Math.floor(ch.output.packetsPerDatagram);
    if (!(ppd >= 1 && ppd <= MAX_PACKETS_PER_DATAGRAM))
      throw new RangeError(`packetsPerDatagram must be 1..7`);
    // Slots hold the largest datagram (7 packets), so that the channel can change its packets
    // per datagram in place (a reload): the queue takes any size from then on.
    const maxSlots = this.opts.queueSlots ?? 4096;
    const ring = createRing(Math.min(START_SLOTS, maxSlots), MAX_PACKETS_PER_DATAGRAM * 188);
    const counters = createCounters();
    const rtp = ch.output.rtp ?? { ssrc: randomU32(), seq: randomU32() & 0xffff };
    const handle = new PacerChannel(
      ch.id,
      ringViews(ring, counters),
      this.wake,
      rtp,
      (m) => this.request(m),
      maxSlots,
      (next) => this.post({ type: 'ring', id: ch.id, ring: next }),
    );
    this.channels.set(ch.id, handle);
    const staggerIndex = ch.staggerIndex ?? this.staggerNext;
    this.staggerNext = Math.max(this.staggerNext, staggerIndex) + 1;
    this.post({
      type: 'add',
      id: ch.id,
      spec: { ...ch.output, rtp },
      ring,
      counters,
      staggerIndex,
    });
    return handle;
  }

  /** Stops a channel's output and closes its socket; queued datagrams are discarded. */
  removeChannel(id: string): Promise<void> {
    const ch = this.channels.get(id);
    if (!ch || this.dead) {
      this.channels.delete(id);
      return Promise.resolve();
    }
    ch.closed = true;
    ch.settle(new Error('channel removed'));
    this.channels.delete(id);
    const done = new Promise<void>((resolve) => this.removing.set(id, resolve));
    this.post({ type: 'remove', id });
    return done;
  }

  /** Closes every output and ends the worker. */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    for (const done of this.pending.values()) done('pacer closed');
    this.pending.clear();
    for (const ch of this.channels.values()) {
      ch.closed = true;
      ch.settle(new Error('pacer closed'));
    }
    this.channels.clear();
    if (this.dead) {
      this.closed = this.worker.terminate().then(() => undefined);
    } else {
      this.post({ type: 'close' });
      this.closed = this.exited.then(() => {
        for (const r of this.removing.values()) r();
        this.removing.clear();
      });
    }
    return this.closed;
  }

  private request(m: DestRequest): Promise<void> {
    if (this.closed || this.dead) return Promise.reject(new Error('pacer is closed'));
    const req = this.reqNext++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(req, (error) => (error ? reject(new Error(error)) : resolve()));
      this.post({ ...m, req });
    });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
    // Make the worker yield to its event loop to read it, even from a long sleep.
    Atomics.add(this.wake, WAKE_CTRL, 1);
    Atomics.add(this.wake, WAKE_DATA, 1);
    Atomics.notify(this.wake, WAKE_DATA);
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'opened':
        this.channels.get(m.id)?.settle(m.info);
        break;
      case 'open-failed':
        this.channels.get(m.id)?.settle(new Error(m.error));
        break;
      case 'removed': {
        const r = this.removing.get(m.id);
        this.removing.delete(m.id);
        r?.();
        break;
      }
      case 'dest-done': {
        const done = this.pending.get(m.req);
        this.pending.delete(m.req);
        done?.(m.error);
        break;
      }
      case 'stats':
        this.opts.onStats?.(m.stats);
        break;
      case 'realtime':
        this.settleRealtime(m.result);
        break;
      case 'thread':
        this.settleThread(m.thread);
        break;
      case 'closed':
        break;
    }
  }
}

function randomU32(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}
