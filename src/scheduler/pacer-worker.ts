// The pacing worker: ONE loop sending the datagrams of every channel at their due times.
//
// How sends happen while this thread is blocked: the output module's sends reach the kernel
// synchronously from inside this loop, whether or not the event loop turns. With the native
// addon, each pass's sends are queued and leave together (one sendmmsg per shared socket) when
// the loop calls OutputModule.flush after the pass; with node:dgram each channel's socket is
// bound and connect()ed when the channel is added (Output.open), so socket.send() goes out at
// once (uv_udp_try_send). The loop blocks
// in Atomics.wait (sleeping until a due time minus the spin margin, or until the main thread
// writes into an empty queue) and busy-spins the last stretch on performance.now(). It yields to
// the event loop (await setImmediate) when nothing is due for 2 ms, at least every 20 ms, and
// whenever a control message was posted, so that send callbacks (error counting), queued sends
// (socket buffer full) and add/remove/close messages are processed.
//
// With a real-time priority (PacerOptions.realtimePriority) the thread first puts itself under
// SCHED_FIFO (realtime.ts); its spin margin is then capped at SpinMargin.REALTIME_MAX_NS, so it
// sleeps through most of each gap instead of spinning. The spin also stays within a CPU budget
// (PacerOptions.spinBudget, SpinBudget): past it, the thread sleeps to each due time instead.
//
// A slot is released to the producer (TAIL) only when the socket holds no queued send, because a
// queued send still points into the slot.
//
// A datagram the burst window cannot hold whole (burst-limit.ts rule 2) leaves in two parts: the
// packets that fit, then the rest when the window holds them, each copied into a scratch slot of
// its own with room for its RTP header (two RTP packets, consecutive sequence numbers, the same
// timestamp). Only while the socket holds no queued send, which may still point into a scratch.

import { BurstLimiter, DEFAULT_BURST_FACTOR } from './burst-limit.js';
import { parentPort, workerData } from 'node:worker_threads';
import type { OutputModule, PacedOutput } from './output-contract.js';
import {
  CTL_HEAD,
  CTL_READ,
  CTL_TAIL,
  RTP_HEADROOM,
  ST_BYTES,
  ST_LATE_MAX,
  ST_LATE_HIST,
  ST_LATE_SUM,
  ST_RELAXED,
  ST_SEND_ERRORS,
  ST_SENT,
  ST_SPLIT,
  latenessBucket,
  ringViews,
  type RingLayout,
  type RingViews,
} from './ring.js';
import {
  PACING_TIMER_SLACK_NS,
  makeThreadRealtime,
  setThreadTimerSlack,
  threadId,
} from './realtime.js';
import {
  SpinBudget,
  SpinMargin,
  modeSettings,
  type PacingMode,
  coalesceWindow,
  planWait,
  sendDue,
  type PassResult,
  staggerOffsetNs,
  type PacedQueue,
} from './pacing-loop.js';
import {
  WAKE_CTRL,
  WAKE_DATA,
  type FromWorker,
  type PacerStats,
  type ToWorker,
} from './protocol.js';
import { monotonicNs } from './mono-clock.js';

const port = parentPort;
if (!port) throw new Error('pacer-worker must run as a worker thread');
const wake = new Int32Array(workerData.wake as SharedArrayBuffer);
const statsEvery = (workerData.statsEveryMs as number) * 1e6;
/** The output implementation (src/headend/output), injected by URL: see output-contract.ts. */
const outputs = import(workerData.outputModule as string) as Promise<OutputModule>;
/** OutputModule.flush once the module is loaded: sends what a pass queued. */
let flushOutputs: () => void = () => {};
void outputs.then((mod) => {
  if (mod.flush) flushOutputs = mod.flush;
});

/** Monotonic ns in the process.hrtime domain, without a BigInt per read (mono-clock.ts). */
const clock = monotonicNs;

/** Iterations of the pause loop between two clock reads in a spin (~0.3 µs on this class of CPU). */
const SPIN_PAUSE = 200;
/** Written by the pause loop so that it is not optimized away. */
let spinSink = 0;

/** Default datagram interval for the stagger when a channel's own is not known yet. */
const DEFAULT_INTERVAL_NS = 1e6;
const TS = 188;
/** Most TS packets in a datagram (OutputSpec.packetsPerDatagram). */
const MAX_PACKETS = 7;

/** A slot of its own for one part of a datagram: views for each packet count, made once. */
class Scratch {
  readonly buf = Buffer.alloc(RTP_HEADROOM + MAX_PACKETS * TS);
  readonly slots: Buffer[] = [];
  readonly views: Buffer[] = [];
  constructor() {
    for (let k = 0; k <= MAX_PACKETS; k++) {
      this.slots.push(this.buf.subarray(0, RTP_HEADROOM + k * TS));
      this.views.push(this.buf.subarray(RTP_HEADROOM, RTP_HEADROOM + k * TS));
    }
  }
}

class WorkerChannel implements PacedQueue {
  /**
   * Per slot: the slot (RTP header room + TS) and its TS part, as long as the last datagram sent
   * from it; made again only when a datagram's size differs (the channel changed its packets per
   * datagram), so a send allocates nothing.
   */
  private slots: Buffer[] = [];
  private views: Buffer[] = [];
  private buf!: Buffer;
  private offsetNs = 0;
  private staggered = false;
  /** Sends since the last TAIL release that libuv may still hold. */
  private unreleased = false;
  /** Sent in the current pass, not yet known to be in the kernel (handed()). */
  private sentInPass = false;
  /** The head datagram's due time (staggered), and when the burst limit lets it leave. */
  private headDueNs = 0;
  private headAtNs = 0;
  private headFloorNs = -Infinity;
  /** Whether the head's times are computed, and for which read index. */
  private cached = false;
  private cachedRead = 0;
  /** Larger rings the producer moved to, in order: each is read once the one before is empty. */
  private readonly next: RingViews[] = [];
  /** Packets of the head datagram sent already (its first part), and its parts' slots. */
  private headDone = 0;
  private readonly firstPart = new Scratch();
  private readonly restPart = new Scratch();

  constructor(
    readonly id: string,
    private v: RingViews,
    readonly output: PacedOutput,
    private readonly staggerIndex: number,
    private readonly tsBytes: number,
    private readonly limiter: BurstLimiter,
  ) {
    this.use(v);
  }

  /** Reads `v` from now on: per slot views made once (allocation here, never per send). */
  private use(v: RingViews): void {
    this.v = v;
    const buf = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    this.buf = buf;
    this.slots = [];
    this.views = [];
    for (let s = 0; s < v.capacity; s++) {
      const at = s * v.slotBytes;
      this.slots.push(buf.subarray(at, at + RTP_HEADROOM + this.tsBytes));
      this.views.push(buf.subarray(at + RTP_HEADROOM, at + RTP_HEADROOM + this.tsBytes));
    }
    this.cached = false;
  }

  /** The producer moved to a larger ring (ring.ts): it is read once the current one is empty. */
  grew(ring: RingLayout): void {
    this.next.push(ringViews(ring, this.v.stats));
  }

  headFloor(): number {
    return this.headFloorNs;
  }

  /**
   * The head's time, computed once per head: sendDue asks every queue for each datagram it
   * sends, and the burst limit was worked out again each time (channels × datagrams a second).
   * What it depends on changes only when the head leaves (sendHead) or the limiter learns
   * when the pass's sends were in the kernel (handed).
   */
  headDue(): number {
    const v = this.v;
    const read = v.ctl[CTL_READ];
    if (this.cached && read === this.cachedRead) return this.headAtNs;
    const n = (Atomics.load(v.ctl, CTL_HEAD) - read) | 0;
    if (n <= 0) {
      // Empty: final if the producer has moved to a larger ring (it never writes here again).
      const next = this.next.shift();
      if (next === undefined) return Infinity;
      this.use(next);
      return this.headDue();
    }
    const slot = read & v.mask;
    if (!this.staggered && n >= 2) {
      // Fix the channel's phase once its datagram interval is seen (first two datagrams).
      const d = v.meta[((read + 1) & v.mask) * 2] - v.meta[slot * 2];
      this.offsetNs = staggerOffsetNs(
        this.staggerIndex,
        d > 0 && d < 20e6 ? d : DEFAULT_INTERVAL_NS,
      );
      this.staggered = true;
    }
    // Due as scheduled, and as the burst limit lets it go after a stall (burst-limit.ts).
    this.headDueNs = v.meta[slot * 2] + this.offsetNs;
    const packets = (v.len[slot] / TS) | 0;
    const parts = packets > 1 && this.output.queued === 0;
    this.headAtNs = this.limiter.earliest(this.headDueNs, packets, this.headDone, parts);
    this.headFloorNs = this.limiter.windowEnd;
    // Until its phase is fixed, a second datagram may still move it.
    this.cached = this.staggered;
    this.cachedRead = read;
    return this.headAtNs;
  }

  /** `lateNs`: behind the time the loop was given (headDue()); lateness counts from the due time. */
  sendHead(sinceAtNs: number): void {
    const now = this.headAtNs + sinceAtNs;
    const lateNs = now - this.headDueNs;
    const relaxed = this.limiter.relaxing; // as earliest() had it for this datagram
    const v = this.v;
    const read = v.ctl[CTL_READ];
    const slot = read & v.mask;
    const len = v.len[slot];
    const packets = (len / TS) | 0;
    const from = this.headDone;
    // The rest of a datagram goes whole; a datagram begun, the packets the window holds now.
    let k = packets - from;
    if (from === 0 && k > 1) {
      const fit = this.limiter.fit(now);
      if (fit < k) k = fit > 0 ? fit : 1;
    }
    this.limiter.sent(this.headDueNs, now, this.headAtNs, k);
    this.sentInPass = true;
    this.cached = false;
    if (this.views[slot].length !== len) {
      const at = slot * v.slotBytes;
      this.slots[slot] = this.buf.subarray(at, at + RTP_HEADROOM + len);
      this.views[slot] = this.buf.subarray(at + RTP_HEADROOM, at + RTP_HEADROOM + len);
    }
    this.staggered = true;
    let out = this.slots[slot];
    let ts = this.views[slot];
    if (k < packets) {
      // One part: copied into a slot of its own, with room for its RTP header.
      const s = from === 0 ? this.firstPart : this.restPart;
      this.views[slot].copy(s.buf, RTP_HEADROOM, from * TS, (from + k) * TS);
      out = s.slots[k];
      ts = s.views[k];
    }
    // Past the send licence (cluster fencing): the datagram goes, unsent, as if sent.
    // (Counted once per datagram, when it is done.)
    const unlicensed = licence !== null && licence[0]! > 0 && now > licence[0]!;
    if (!unlicensed) this.output.send(out, ts, v.meta[slot * 2 + 1], v.meta[slot * 2]);
    const st = v.stats;
    st[ST_BYTES] += k * TS;
    if (lateNs > loopStats.lateMaxNs) loopStats.lateMaxNs = lateNs;
    if (from + k < packets) {
      // The first part: the datagram (and its slot) is done when the rest has gone.
      st[ST_SPLIT]++;
      this.headDone = from + k;
      this.unreleased = true;
      return;
    }
    // A datagram done (whole, or its rest): counted once, as late as its last byte.
    this.headDone = 0;
    if (unlicensed) loopStats.unlicensed++;
    Atomics.store(v.ctl, CTL_READ, (read + 1) | 0);
    st[ST_SENT]++;
    if (lateNs > st[ST_LATE_MAX]) st[ST_LATE_MAX] = lateNs;
    if (lateNs > 0) st[ST_LATE_SUM] += lateNs;
    if (relaxed) st[ST_RELAXED]++;
    st[ST_LATE_HIST + latenessBucket(lateNs)]++;
    if (this.output.queued === 0) Atomics.store(v.ctl, CTL_TAIL, (read + 1) | 0);
    else this.unreleased = true;
  }

  /** The loop's sends so far are in the kernel by `nowNs` (BurstLimiter.handed). */
  handed(nowNs: number): void {
    if (this.sentInPass) {
      this.sentInPass = false;
      this.limiter.handed(nowNs);
      this.cached = false;
    }
  }

  /** Frees sent slots once the socket holds no queued send; copies the error count. */
  release(): void {
    this.v.stats[ST_SEND_ERRORS] = this.output.counters.sendErrors;
    if (this.unreleased && this.output.queued === 0) {
      this.unreleased = false;
      Atomics.store(this.v.ctl, CTL_TAIL, this.v.ctl[CTL_READ]);
    }
  }
}

const queues: WorkerChannel[] = [];
const opening = new Map<string, Promise<WorkerChannel | null>>();
let closing = false;
/** PacerOptions.mode, and its spin budget unless PacerOptions.spinBudget overrides it. */
const mode = modeSettings(workerData.mode as PacingMode);
const margin = new SpinMargin(SpinMargin.MAX_NS, mode.marginQuantile);
const budget = new SpinBudget((workerData.spinBudget as number | undefined) ?? mode.spinBudget);
const realtimePriority = (workerData.realtimePriority as number) ?? 0;
/** The loop runs SCHED_FIFO (set once at start). */
let realtime = false;
const loopStats: PacerStats = freshStats();
/** PacerOptions.licence: sends stop after licence[0] (monotonic ns; 0: no limit). */
const licence = workerData.licence
  ? new Float64Array(workerData.licence as SharedArrayBuffer)
  : null;

function freshStats(): PacerStats {
  return {
    channels: 0,
    sent: 0,
    unlicensed: 0,
    lateMaxNs: 0,
    sleeps: 0,
    yields: 0,
    spinNs: 0,
    oversleepMaxNs: 0,
    marginNs: 0,
    periodNs: 0,
    realtime,
    grid: false,
  };
}

function post(m: FromWorker): void {
  port!.postMessage(m);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'add') {
    const p = outputs
      .then((mod) => mod.openOutput(m.spec))
      .then(
        (out) => {
          const ch = new WorkerChannel(
            m.id,
            ringViews(m.ring, m.counters),
            out,
            m.staggerIndex,
            m.spec.packetsPerDatagram * 188,
            new BurstLimiter(m.spec.burst ?? DEFAULT_BURST_FACTOR),
          );
          queues.push(ch);
          post({ type: 'opened', id: m.id, info: out.info });
          return ch;
        },
        (e: Error) => {
          post({ type: 'open-failed', id: m.id, error: e.message });
          return null;
        },
      );
    opening.set(m.id, p);
  } else if (m.type === 'dest-add' || m.type === 'dest-remove') {
    void (async () => {
      const ch = await opening.get(m.id);
      if (!ch) throw new Error(`channel ${m.id} has no open output`);
      if (m.type === 'dest-add') await ch.output.addDestination(m.dest);
      else await ch.output.removeDestination(m.destId);
    })().then(
      () => post({ type: 'dest-done', req: m.req }),
      (e: Error) => post({ type: 'dest-done', req: m.req, error: e.message }),
    );
  } else if (m.type === 'ring') {
    void opening.get(m.id)?.then((ch) => ch?.grew(m.ring));
  } else if (m.type === 'remove') {
    void remove(m.id).then(() => post({ type: 'removed', id: m.id }));
  } else if (m.type === 'close') {
    closing = true;
  }
});

async function remove(id: string): Promise<void> {
  const p = opening.get(id);
  opening.delete(id);
  const ch = p ? await p : null;
  if (!ch) return;
  const i = queues.indexOf(ch);
  if (i >= 0) queues.splice(i, 1);
  await ch.output.close();
}

const yieldOnce = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(): Promise<void> {
  const slack = setThreadTimerSlack(PACING_TIMER_SLACK_NS);
  post({
    type: 'thread',
    thread: {
      tid: threadId(),
      timerSlackNs: PACING_TIMER_SLACK_NS,
      ...(slack.ok ? {} : { timerSlackError: slack.error }),
    },
  });
  if (realtimePriority > 0) {
    const result = makeThreadRealtime(realtimePriority);
    realtime = result.ok;
    loopStats.realtime = realtime;
    if (realtime) margin.setMax(SpinMargin.REALTIME_MAX_NS);
    post({ type: 'realtime', result });
  }
  const out: PassResult = { sent: 0, sendAtNs: Infinity };
  let ctrlSeen = Atomics.load(wake, WAKE_CTRL);
  let lastYield = clock();
  let justYielded = false;
  let periodStart = lastYield;
  while (!closing) {
    const wakeValue = Atomics.load(wake, WAKE_DATA);
    const capped = Math.min(margin.ns, budget.ns);
    const early = coalesceWindow(margin.ns, capped);
    const next = sendDue(queues, clock, out, early);
    if (out.sent > 0) flushOutputs();
    let now = clock();
    if (out.sent > 0) for (const q of queues) q.handed(now); // in the kernel by now (burst window)
    loopStats.sent += out.sent;
    budget.add(0, out.sent, now, margin.ns);
    if (statsEvery > 0 && now - periodStart >= statsEvery) {
      loopStats.channels = queues.length;
      loopStats.marginNs = margin.ns;
      loopStats.grid = budget.onGrid;
      loopStats.periodNs = now - periodStart;
      post({ type: 'stats', stats: { ...loopStats } });
      Object.assign(loopStats, freshStats());
      periodStart = now;
    }
    const ctrl = Atomics.load(wake, WAKE_CTRL);
    const plan =
      ctrl !== ctrlSeen && !justYielded
        ? ({ kind: 'yield' } as const)
        : planWait(next, now, capped, now - lastYield, justYielded, out.sendAtNs);
    justYielded = false;
    switch (plan.kind) {
      case 'yield':
        ctrlSeen = ctrl;
        await yieldOnce();
        for (const q of queues) q.release();
        lastYield = clock();
        loopStats.yields++;
        justYielded = true;
        break;
      case 'sleep': {
        const r = Atomics.wait(wake, WAKE_DATA, wakeValue, plan.ms);
        loopStats.sleeps++;
        if (r === 'timed-out') {
          const over = clock() - now - plan.ms * 1e6;
          margin.record(over);
          if (over > loopStats.oversleepMaxNs) loopStats.oversleepMaxNs = over;
        }
        break;
      }
      case 'spin': {
        const until = plan.untilNs;
        const t0 = now;
        while ((now = clock()) < until) {
          // Busy-wait: a sleep this short would wake too late. Each clock read allocates (Node's
          // performance.now), and that garbage became GC pauses of up to several ms in this
          // thread: a short pause loop between reads cuts the reads ~7× for ~0.3 µs precision.
          for (let j = 0; j < SPIN_PAUSE; j++) spinSink = (spinSink + j) | 0;
        }
        loopStats.spinNs += now - t0;
        budget.add(now - t0, 0, now, margin.ns);
        break;
      }
      case 'none':
        break;
    }
  }
  for (const id of [...opening.keys()]) await remove(id);
  post({ type: 'closed' });
  process.exit(0);
}

void run();
