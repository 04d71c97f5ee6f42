// The pacing decisions of the worker, free of threads, sockets and real clocks so tests drive them
// with a fake clock: which datagram goes next, and how to pass the time until it is due.
//
// One loop serves every channel. Each pass sends, in due order, every queued datagram due by now
// (+ EARLY_NS: sending a few µs early costs nothing and saves a spin), then plans the wait for the
// earliest remaining one:
//   - far away (> margin): sleep (Atomics.wait in the worker) until due − margin, where margin
//     covers how late the OS wakes a sleeping thread (measured: SpinMargin);
//   - close: spin on the clock to the due time (a sleep would wake too late);
//   - the worker's event loop must still turn now and then (socket callbacks, control messages,
//     promise continuations): it yields at least every MAX_NO_YIELD_NS, at a gap, and when
//     nothing is due for YIELD_GAP_NS while an output holds a send only the event loop
//     completes (LoopCounters.held). A control message makes it yield at once (pacer-worker).

/**
 * How the pacing thread passes the time to each due time (headend.pacing.mode):
 *   spin      sleeps to due − (the worst recent wake-up delay), spins the rest, no CPU limit:
 *             the most punctual on a shared VM, whose sleeping vCPUs wake late, at up to a core;
 *   balanced  sleeps to due − (the 90th percentile of recent wake-up delays), spins the rest
 *             within BALANCED_SPIN_BUDGET of a core: a rare slow wake-up makes one send late
 *             instead of raising every spin; past the budget at a high datagram rate it paces
 *             on sleep's 1 ms grid (SpinBudget) (the default: an appliance's core is not free);
 *   sleep     never spins: sleeps to each due time and sends what falls due within
 *             SLEEP_COALESCE_NS together (the least CPU; sends late by the OS's wake-up delay).
 * Every mode lowers the thread's timer slack (realtime.ts), so a sleep ends when asked.
 */
export type PacingMode = 'spin' | 'balanced' | 'sleep';
export const PACING_MODES: readonly PacingMode[] = ['spin', 'balanced', 'sleep'];
export const DEFAULT_PACING_MODE: PacingMode = 'balanced';
/** The share of a core `balanced` may spin (SpinBudget). */
export const BALANCED_SPIN_BUDGET = 0.05;

/** A mode's spin budget (SpinBudget: 0 never spins, 1 no limit) and margin quantile. */
export function modeSettings(mode: PacingMode): { spinBudget: number; marginQuantile: number } {
  if (mode === 'spin') return { spinBudget: 1, marginQuantile: 1 };
  if (mode === 'sleep') return { spinBudget: 0, marginQuantile: 1 };
  return { spinBudget: BALANCED_SPIN_BUDGET, marginQuantile: 0.9 };
}

/**
 * The cell a queue and the loop pass a datagram's times in (PacedQueue.head, sendHead): a double
 * returned from a call or passed to one that V8 does not inline is a new heap number, and these
 * go back and forth for every queue at every pass and for every send.
 */
export const QT_DUE = 0;
export const QT_FLOOR = 1;
export const QT_NOW = 2;
export const queueTimes = (): Float64Array => new Float64Array(3);

/** A channel's queue as the loop sees it. */
export interface PacedQueue {
  /**
   * Writes its next datagram's times into `t`:
   *   t[QT_DUE]    the time the loop paces it by, Infinity when the queue is empty (it may be
   *                after the datagram's own due time: the burst limit, burst-limit.ts);
   *   t[QT_FLOOR]  the time before which it must not leave at all, early window or not
   *                (−Infinity: none): the end of the burst limit's 10 ms window
   *                (BurstLimiter.windowEnd), or for a datagram that carries a PCR its due time
   *                − EARLY_NS.
   */
  head(t: Float64Array): void;
  /** Sends the next datagram; t[QT_NOW] is the clock (its lateness: now − t[QT_DUE] of head()). */
  sendHead(t: Float64Array): void;
  /**
   * Whether the send just made carried a PCR: the pass then hands its sends to the kernel at
   * once (PassFlush) instead of after up to PASS_FLUSH_SENDS − 1 more, so that the clock
   * reference is not held by the work of the sends after it. Absent: never.
   */
  sentPcr?(): boolean;
}

/** Datagrams due within this much are sent in the current pass. */
export const EARLY_NS = 20_000;
/** Widest early window when the thread sleeps instead of spinning (coalesceWindow). */
export const MAX_COALESCE_NS = 500_000;

/**
 * Early window of a thread that does not spin at all (spin_budget 0, or its budget spent): it
 * paces on a 1 ms grid. Each wake-up of a sleeping thread costs a context switch (on a VM an
 * exit too) and is late by the kernel's delay anyway, often more than 1 ms there. Sending what
 * falls due within 1 ms in the same pass adds at most 1 ms per 10 ms to any window (≤ 1.1× the
 * rate over TR 101 290's 10 ms), and halved the pacing thread's CPU on the bench's MPTS
 * (8 × 5.5 Mbit/s: 5.9 % → 3.2 % of a core).
 * A datagram that carries a PCR is the exception (WorkerChannel.head): its floor (t[QT_FLOOR]
 * of PacedQueue.head) is its due time − EARLY_NS, so the loop wakes for it and it leaves on
 * time. A receiver recovers the clock from when PCRs arrive: sent up to 1 ms early, they were
 * the grid's PCR jitter (20 × 4 Mbit/s: p50 12 → 5-7 µs, p99 829 → 118-952 µs with the VM's
 * late wake-ups, at the same CPU: wake-ups for PCRs replace wake-ups for other datagrams).
 */
export const SLEEP_COALESCE_NS = 1_000_000;

/**
 * How early a datagram may go in the current pass. A thread that may spin to each due time
 * (its capped margin covers the measured wake-up delay) sends within EARLY_NS. One whose spin
 * is capped (SpinBudget) sleeps and wakes up to `marginNs − cappedNs` late: a datagram due
 * within half of that is nearer its time sent now than after another sleep, and is sent now,
 * saving the wake-up (8 × 5.5 Mbit/s: 3,800 sleeps a second became ~1,600). Capped at
 * MAX_COALESCE_NS. One that may not spin at all (cappedNs 0) uses SLEEP_COALESCE_NS.
 */
export function coalesceWindow(marginNs: number, cappedNs: number): number {
  if (cappedNs >= marginNs) return EARLY_NS;
  if (cappedNs <= 0) return SLEEP_COALESCE_NS;
  // Whole ns: a whole number under 2^31 passes to sendDue as a small integer, no heap number.
  return Math.round(Math.max(EARLY_NS, Math.min(MAX_COALESCE_NS, (marginNs - cappedNs) / 2)));
}
/**
 * Yield to the event loop when nothing is due for this long and an output holds a send. Not
 * otherwise: each turn leaves ~0.7 KB of garbage (the Immediate, node's async bookkeeping), and
 * at one channel, whose datagrams are 2.6 ms apart, the loop turned between most of them
 * (~300 KB/s: the pacing thread's young generation full every ~14 s).
 */
export const YIELD_GAP_NS = 2_000_000;
/** ... and at the latest after this long without yielding, at the next gap of 2 margins. */
export const MAX_NO_YIELD_NS = 20_000_000;
/** Longest single sleep (so the loop notices control messages even when idle). */
export const MAX_WAIT_NS = 50_000_000;

/**
 * How many sends of a pass may wait in the output before they leave (one sendmmsg per shared
 * socket) and their queues learn when they were in the kernel (PassFlush). The burst window
 * counts from that time (burst-limit.ts rule 2), so a pass of many sends stamped at its end
 * would set every window of the pass later by the whole pass: at 160 channels × 4 Mbit/s a
 * pass of a channel-behind backlog took 0.5-2 ms (128-512 sends, ~4 µs each), beyond the 2 ms
 * a held send may lag its window's end before the channel stops catching up, and the channels
 * sat 20-30 ms behind for good (rule 3). 16 sends take ~70 µs; a sendmmsg of 16 costs per
 * datagram what one of 64 does (send-batch.ts: 4 already take it from ~3 µs to ~1.4 µs).
 */
export const PASS_FLUSH_SENDS = 16;

/**
 * Hands the sends queued so far to the kernel and tells the queues that sent them when
 * (`sent[0..count)`: their indices in sendDue's `queues`, possibly repeated).
 */
export type PassFlush = (sent: Int32Array, count: number) => void;

/** What a pass of sendDue did, and when the next one may send. */
export interface PassResult {
  sent: number;
  /** The earliest instant the next datagram may leave (its time − the early window it has). */
  sendAtNs: number;
  /**
   * The earliest time by which a datagram left must go (Infinity: all queues empty). Here, not
   * returned: a double returned from sendDue was a new heap number at every pass.
   */
  deadlineNs: number;
}

/**
 * sendDue's scratch, kept between calls so that a pass allocates nothing: a binary min-heap of
 * queue indices ordered by (when it may leave, index), each queue's times, and the cell the
 * queues pass them in.
 */
const qt = queueTimes();
let heap = new Int32Array(64);
let atOf = new Float64Array(64);
let dueOf = new Float64Array(64);
/** The queues that sent since the last PassFlush. */
const flushed = new Int32Array(PASS_FLUSH_SENDS);

const before = (a: number, b: number): boolean =>
  atOf[a] < atOf[b] || (atOf[a] === atOf[b] && a < b);

function siftDown(pos: number, size: number): void {
  const q = heap[pos];
  for (;;) {
    let c = 2 * pos + 1;
    if (c >= size) break;
    if (c + 1 < size && before(heap[c + 1], heap[c])) c++;
    if (!before(heap[c], q)) break;
    heap[pos] = heap[c];
    pos = c;
  }
  heap[pos] = q;
}

/**
 * Sends everything due by nowNs + earlyNs (and not before its floor, PacedQueue.head) across
 * `queues`, earliest first; puts in `out` the earliest time by which a datagram left must go,
 * its deadline: its due time, or its floor when the burst window holds it past that (Infinity
 * when all queues are empty), with the number sent and when the first may leave.
 * The deadline is the least over every queue, not the one that may leave first: with an early
 * window, a queue its floor holds to its due time may leave after another that may go early
 * but is due later, and a wait planned to the latter's due time sent the former up to the
 * whole window late (measured at 20 channels on the 1 ms grid: 1.1-1.7 ms late sends after
 * sleeps that woke when asked).
 * `flush` (if given) is called after every PASS_FLUSH_SENDS sends, after a send that carried a
 * PCR (PacedQueue.sentPcr), and once at the end of a pass that sent: the sends it hands over
 * leave then, not at the end of a long pass.
 *
 * Each queue's time is read once per pass and again only for the queue that just sent (what
 * another queue's time depends on does not change within a pass: its head, its window), kept
 * in a heap: a pass costs O(channels + sends · log channels), not O(channels · sends), which
 * at 160 channels × 4 Mbit/s was ten million head reads a second. A queue that was empty when
 * the pass began waits for the next pass.
 */
export function sendDue(
  queues: readonly PacedQueue[],
  clock: () => number,
  out: PassResult,
  earlyNs = EARLY_NS,
  flush?: PassFlush,
): void {
  const n = queues.length;
  if (heap.length < n) {
    const cap = 1 << Math.ceil(Math.log2(n));
    heap = new Int32Array(cap);
    atOf = new Float64Array(cap);
    dueOf = new Float64Array(cap);
  }
  let size = 0;
  for (let i = 0; i < n; i++) {
    queues[i].head(qt);
    const d = qt[QT_DUE];
    if (d === Infinity) continue;
    const floor = qt[QT_FLOOR];
    atOf[i] = d - earlyNs > floor ? d - earlyNs : floor;
    dueOf[i] = d;
    heap[size++] = i;
  }
  for (let p = (size >> 1) - 1; p >= 0; p--) siftDown(p, size);
  let sent = 0;
  let pending = 0;
  for (;;) {
    if (size === 0) {
      if (pending > 0) flush!(flushed, pending);
      out.sendAtNs = Infinity;
      out.sent = sent;
      out.deadlineNs = Infinity;
      return;
    }
    const best = heap[0];
    const bestAt = atOf[best];
    const bestDue = dueOf[best];
    out.sendAtNs = bestAt;
    const now = clock();
    if (bestAt > now) {
      if (pending > 0) flush!(flushed, pending);
      out.sent = sent;
      let deadline = bestDue > bestAt ? bestDue : bestAt;
      for (let k = 1; k < size; k++) {
        const i = heap[k];
        const d = dueOf[i] > atOf[i] ? dueOf[i] : atOf[i];
        if (d < deadline) deadline = d;
      }
      out.deadlineNs = deadline;
      return;
    }
    const q = queues[best];
    qt[QT_NOW] = now;
    q.sendHead(qt);
    sent++;
    if (flush !== undefined) {
      flushed[pending++] = best;
      if (pending === PASS_FLUSH_SENDS || q.sentPcr?.() === true) {
        flush(flushed, pending);
        pending = 0;
      }
    }
    q.head(qt);
    // A queue that just ran dry (due Infinity) stays in the heap and sinks to its bottom: no
    // branch of its own, which the optimized loop would have met first in the middle of a run
    // (V8 deoptimizes at code it has no feedback for, and the loop then boxed every double it
    // computed until V8 optimized it again).
    const d = qt[QT_DUE];
    const floor = qt[QT_FLOOR];
    atOf[best] = d - earlyNs > floor ? d - earlyNs : floor;
    dueOf[best] = d;
    siftDown(0, size);
  }
}

export type WaitPlan =
  | { kind: 'yield' }
  | { kind: 'sleep'; ms: number }
  | { kind: 'spin'; untilNs: number }
  | { kind: 'none' };

/**
 * The pacing loop's cell (pacer-worker.ts step): the times it passes to planWaitIo,
 * SpinBudget.addIo and SpinMargin.recordIo instead of as arguments. A double passed to a call V8
 * does not inline is a new heap number, and these run at every pass; durations that are whole
 * ns under 2^31 pass as small integers, but instants (ns since boot) never do.
 */
export const LC_DUE = 0;
export const LC_NOW = 1;
export const LC_MARGIN = 2;
export const LC_SINCE_YIELD = 3;
export const LC_SEND_AT = 4;
export const LC_SPIN = 5;
export const LC_OVER = 6;
/** Queues whose slots wait for the event loop (LoopCounters.held), > 0 or 0. */
export const LC_HELD = 7;
export const loopCell = (): Float64Array => new Float64Array(8);
/** planWait's, SpinBudget.add's and SpinMargin.record's cell (their argument forms). */
const argCell = loopCell();

/** planWait's answers: one object of each kind, rewritten (a plan per pass made no garbage). */
const YIELD_PLAN: WaitPlan = { kind: 'yield' };
const NONE_PLAN: WaitPlan = { kind: 'none' };
// (0.5: a double from the start, so that V8 keeps each field as one, rewritten in place.)
const SLEEP_PLAN = { kind: 'sleep' as const, ms: 0.5 };
const SPIN_PLAN = { kind: 'spin' as const, untilNs: 0.5 };

/**
 * What to do until `nextDue`, which may leave from `sendAtNs` on (sendDue's PassResult):
 * `sinceYieldNs` is the time since the event loop last turned, `justYielded` whether the
 * previous step was a yield (one yield per sleep is enough), `held` whether an output holds a
 * send only the event loop completes. The plan is one of four objects
 * the function rewrites: read it before the next call.
 */
export function planWait(
  nextDue: number,
  nowNs: number,
  marginNs: number,
  sinceYieldNs: number,
  justYielded: boolean,
  sendAtNs = nextDue - EARLY_NS,
  held = false,
): WaitPlan {
  const c = argCell;
  c[LC_DUE] = nextDue;
  c[LC_NOW] = nowNs;
  c[LC_MARGIN] = marginNs;
  c[LC_SINCE_YIELD] = sinceYieldNs;
  c[LC_SEND_AT] = sendAtNs;
  c[LC_HELD] = held ? 1 : 0;
  return planWaitIo(c, justYielded);
}

/**
 * planWait through the loop's cell: c[LC_DUE] (nextDue), c[LC_NOW], c[LC_MARGIN],
 * c[LC_SINCE_YIELD], c[LC_SEND_AT] and c[LC_HELD] (`held`: an output holds a send).
 */
export function planWaitIo(c: Float64Array, justYielded: boolean): WaitPlan {
  const nextDue = c[LC_DUE];
  const nowNs = c[LC_NOW];
  const marginNs = c[LC_MARGIN];
  const sinceYieldNs = c[LC_SINCE_YIELD];
  const sendAtNs = c[LC_SEND_AT];
  const gap = nextDue - nowNs;
  if (!justYielded) {
    if (gap > YIELD_GAP_NS && c[LC_HELD] > 0) return YIELD_PLAN;
    if (sinceYieldNs > MAX_NO_YIELD_NS && gap > 2 * marginNs) return YIELD_PLAN;
    if (sinceYieldNs > 5 * MAX_NO_YIELD_NS) return YIELD_PLAN;
  }
  if (sendAtNs <= nowNs) return NONE_PLAN;
  if (gap > marginNs) {
    const ns = Math.min(gap - marginNs, MAX_WAIT_NS);
    SLEEP_PLAN.ms = ns / 1e6;
    return SLEEP_PLAN;
  }
  SPIN_PLAN.untilNs = Math.max(nextDue - EARLY_NS, sendAtNs);
  return SPIN_PLAN;
}

/**
 * How early to stop sleeping: the recent oversleeps (how much later than asked the OS woke us)
 * plus a guard, between MIN and a maximum, over the last two windows of WINDOW samples.
 *
 * With quantile 1 (mode spin) the margin is the worst of them: one slow wake-up raises it at
 * once, and it decays within ~2 windows. With a quantile below 1 (mode balanced) it is that
 * quantile of each finished window (the higher of the last two): a wake-up slower than most
 * makes its send late instead of making every later wake-up spin longer.
 *
 * The maximum is MAX_NS for a normally scheduled thread. A real-time (SCHED_FIFO) thread is
 * capped at REALTIME_MAX_NS: it wakes within tens of µs when the CPU is kept out of deep idle,
 * and it must not spin long, because a real-time thread that keeps a CPU busy starves the
 * normal threads there until the kernel throttles it for 50 ms (measured on Linux 6.18: a
 * FIFO pacer spinning ~90 % of a core was held off the CPU 50 ms once a second).
 */
export class SpinMargin {
  static readonly MIN_NS = 40_000;
  static readonly MAX_NS = 1_000_000;
  static readonly REALTIME_MAX_NS = 250_000;
  static readonly GUARD_NS = 15_000;
  static readonly WINDOW = 256;
  private cur = 0;
  private prev = 0;
  private n = 0;
  private marginNs = 200_000;
  /** The window's samples (quantile < 1 only), sorted in place when it ends. */
  private readonly samples: Float64Array | null;

  constructor(
    private maxNs = SpinMargin.MAX_NS,
    private readonly quantile = 1,
  ) {
    this.marginNs = Math.min(this.marginNs, maxNs);
    this.samples = quantile < 1 ? new Float64Array(SpinMargin.WINDOW) : null;
  }

  /** Changes the cap (the thread became real-time); the margin follows at once. */
  setMax(maxNs: number): void {
    this.maxNs = maxNs;
    this.marginNs = Math.min(this.marginNs, maxNs);
  }

  get ns(): number {
    return this.marginNs;
  }

  /** One timed-out sleep woke `oversleepNs` after the time asked for. */
  record(oversleepNs: number): void {
    argCell[LC_OVER] = oversleepNs;
    this.recordIo(argCell);
  }

  /** record() through the loop's cell: c[LC_OVER]. */
  recordIo(c: Float64Array): void {
    const oversleepNs = c[LC_OVER];
    const o = oversleepNs > 0 ? oversleepNs : 0;
    const q = this.samples;
    if (q === null) {
      if (o > this.cur) this.cur = o;
      if (++this.n >= SpinMargin.WINDOW) {
        this.prev = this.cur;
        this.cur = 0;
        this.n = 0;
      }
    } else {
      q[this.n] = o;
      if (++this.n < SpinMargin.WINDOW) return; // the quantile moves once per window
      q.sort(); // numeric, in place
      this.prev = this.cur;
      this.cur = q[Math.min(q.length - 1, Math.floor(this.quantile * q.length))];
      this.n = 0;
    }
    const worst = Math.max(this.cur, this.prev) + SpinMargin.GUARD_NS;
    this.marginNs = Math.min(this.maxNs, Math.max(SpinMargin.MIN_NS, worst));
  }
}

/**
 * Keeps the pacing thread's busy-waiting within a CPU budget: a fraction of one core. Each
 * window the time spun is compared with the budget: above it, the cap on the spin margin
 * halves (down to 0: the thread only sleeps, and a send is late by the OS's wake-up delay);
 * below half of it, the cap grows again (×1.5, from at least MIN_GROW_NS) up to MAX_NS.
 *
 * Why: the margin follows the OS's worst wake-up delay, which on a loaded VM reaches the 1 ms
 * maximum, so with datagrams less than 1 ms apart (~4 000/s: 8 channels of 5 Mbit/s) the
 * thread never slept and spun a whole core. A late wake-up costs tens of µs on a datagram that
 * lasts milliseconds; the core is worth more.
 *
 * The grid: while the cap holds the spin below the margin (most sends are late by the rest of
 * the wake-up delay anyway) and the thread sends more than GRID_RATE datagrams a second, it
 * stops spinning and paces on the 1 ms grid (cap 0: SLEEP_COALESCE_NS), one wake-up per ms at
 * most instead of one per datagram. Each wake-up costs ~25 µs of CPU here (a context switch and
 * a VM exit): on the bench's MPTS (8 × 5.5 Mbit/s, 4,200 datagrams a second) the capped spin
 * left the pacing thread at ~12 % of a core (2,000 wake-ups and 3.6 % spin a second), the grid
 * at ~5 %. It leaves the grid only when spinning to every send would fit in the budget (sends
 * × margin below RETURN_SHARE of it), so it does not come back to spin for a window and leave
 * again. A few small channels (the example: ~400 datagrams a second) never use it.
 */
export class SpinBudget {
  static readonly WINDOW_NS = 100_000_000;
  static readonly MIN_GROW_NS = 20_000;
  /** Datagrams a second above which a capped spin gives way to the 1 ms grid. */
  static readonly GRID_RATE = 1000;
  /** The grid ends when spinning to every send would take less than this share of the budget. */
  static readonly RETURN_SHARE = 0.8;
  private capNs = SpinMargin.MAX_NS;
  private spun = 0;
  private sends = 0;
  private start = -1;
  private grid = false;

  /** @param fraction of one core the spin may use (0: never spin; 1: no limit). */
  constructor(private readonly fraction: number) {
    if (fraction <= 0) this.capNs = 0;
  }

  /** The most the spin margin may be now (0: no spin at all, the 1 ms grid). */
  get ns(): number {
    if (this.fraction >= 1) return SpinMargin.MAX_NS;
    return this.grid ? 0 : this.capNs;
  }

  /** Whether the thread paces on the 1 ms grid (no spin at all: budget 0, or for its rate). */
  get onGrid(): boolean {
    return this.fraction <= 0 || this.grid;
  }

  /**
   * One pass of the loop: it spun `spinNs` (0 for a pass without a spin) and sent `sent`
   * datagrams; `nowNs` is the clock now, `marginNs` the spin margin (SpinMargin) it would spin.
   */
  add(spinNs: number, sent: number, nowNs: number, marginNs: number): void {
    argCell[LC_SPIN] = spinNs;
    argCell[LC_NOW] = nowNs;
    argCell[LC_MARGIN] = marginNs;
    this.addIo(argCell, sent);
  }

  /** add() through the loop's cell: c[LC_SPIN], c[LC_NOW] and c[LC_MARGIN]. */
  addIo(c: Float64Array, sent: number): void {
    const spinNs = c[LC_SPIN];
    const nowNs = c[LC_NOW];
    const marginNs = c[LC_MARGIN];
    if (this.fraction <= 0 || this.fraction >= 1) return;
    if (this.start < 0) this.start = nowNs;
    this.spun += spinNs;
    this.sends += sent;
    const elapsed = nowNs - this.start;
    if (elapsed < SpinBudget.WINDOW_NS) return;
    const used = this.spun / elapsed;
    const perSecond = (this.sends / elapsed) * 1e9;
    const fullSpin = (perSecond * marginNs) / 1e9;
    if (used > this.fraction) this.capNs = Math.floor(this.capNs / 2);
    else if (
      used < this.fraction / 2 &&
      !(this.grid && fullSpin >= this.fraction * SpinBudget.RETURN_SHARE)
    ) {
      this.capNs = Math.min(SpinMargin.MAX_NS, Math.max(SpinBudget.MIN_GROW_NS, this.capNs * 1.5));
    }
    this.grid = this.capNs < marginNs && perSecond > SpinBudget.GRID_RATE;
    this.spun = 0;
    this.sends = 0;
    this.start = nowNs;
  }
}

/** Low-discrepancy stagger: channel k starts frac(k·φ⁻¹) of a datagram interval late. */
export function staggerOffsetNs(staggerIndex: number, datagramIntervalNs: number): number {
  const f = (staggerIndex * 0.6180339887498949) % 1;
  return f * datagramIntervalNs;
}
