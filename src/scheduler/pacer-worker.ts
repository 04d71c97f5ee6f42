// The pacing worker: ONE loop sending the datagrams of every channel at their due times.
//
// How sends happen while this thread is blocked: the output module's sends reach the kernel
// synchronously from inside this loop, whether or not the event loop turns. With the native
// addon, a pass's sends are queued and leave together (one sendmmsg per shared socket) when
// the loop calls OutputModule.flush, every PASS_FLUSH_SENDS sends of a pass and at its end
// (flushPass); with node:dgram each channel's socket is
// bound and connect()ed when the channel is added (Output.open), so socket.send() goes out at
// once (uv_udp_try_send). The loop blocks
// in Atomics.wait (sleeping until a due time minus the spin margin, or until the main thread
// writes into an empty queue) and busy-spins the last stretch on the clock (nativeClock). It
// yields to the event loop (setImmediate) when nothing is due for 2 ms, at least every 20 ms, and
// whenever a control message was posted, so that send callbacks (error counting), queued sends
// (socket buffer full) and add/remove/close messages are processed.
//
// The thread first sets its own nice value (PacerOptions.nice, realtime.ts: so that its wake-ups
// are not kept waiting behind the process's other threads).
// With a real-time priority (PacerOptions.realtimePriority) the thread first puts itself under
// SCHED_FIFO (realtime.ts); its spin margin is then capped at SpinMargin.REALTIME_MAX_NS, so it
// sleeps through most of each gap instead of spinning. The spin also stays within a CPU budget
// (PacerOptions.spinBudget, SpinBudget): past it, the thread sleeps to each due time instead.
//
// Each channel's queue as the loop sees it (its ring, its burst limit, its output): worker-channel.ts.

import { BurstLimiter, DEFAULT_BURST_FACTOR } from './burst-limit.js';
import { WorkerChannel, loopCounters, type LoopCounters } from './worker-channel.js';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { OutputModule } from './output-contract.js';
import { ringViews } from './ring.js';
import {
  PACER_THREAD_NAME,
  PACING_TIMER_SLACK_NS,
  makeThreadRealtime,
  nameThread,
  setThreadNice,
  setThreadTimerSlack,
  threadId,
} from './realtime.js';
import {
  SpinBudget,
  SpinMargin,
  modeSettings,
  type PacingMode,
  coalesceWindow,
  LC_DUE,
  LC_MARGIN,
  LC_NOW,
  LC_OVER,
  LC_SEND_AT,
  LC_HELD,
  LC_SINCE_YIELD,
  LC_SPIN,
  loopCell,
  planWaitIo,
  QT_NOW,
  queueTimes,
  sendDue,
  type PassResult,
} from './pacing-loop.js';
import {
  WAKE_CTRL,
  WAKE_DATA,
  type FromWorker,
  type PacerStats,
  type ToWorker,
} from './protocol.js';
import { nativeClock, threadCpuReader } from './mono-clock.js';
import { PACING_SLICE_NS, setThreadSlice } from './thread-slice.js';
import { STEP_MS, waitStep, waitTimeout } from './wait-timeout.js';

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

/**
 * Monotonic ns in the process.hrtime domain, read without making a JS value (mono-clock.ts
 * nativeClock; performance.now() where the addon is not built: `clockError`).
 */
const { now: clock, error: clockError } = nativeClock();
/** The thread's CPU use, read at each pass (LoopCounters.passCpu), or why it cannot be. */
const readCpu = threadCpuReader();
const cpuClockError = typeof readCpu === 'string' ? readCpu : undefined;

/** Iterations of the pause loop between two clock reads in a spin (~0.3 µs on this class of CPU). */
const SPIN_PAUSE = 200;
/** Written by the pause loop so that it is not optimized away. */
let spinSink = 0;

const queues: WorkerChannel[] = [];
const opening = new Map<string, Promise<WorkerChannel | null>>();
let closing = false;
/** PacerOptions.mode, and its spin budget unless PacerOptions.spinBudget overrides it. */
const mode = modeSettings(workerData.mode as PacingMode);
const margin = new SpinMargin(SpinMargin.MAX_NS, mode.marginQuantile);
const budget = new SpinBudget((workerData.spinBudget as number | undefined) ?? mode.spinBudget);
const realtimePriority = (workerData.realtimePriority as number) ?? 0;
/** PacerOptions.nice (null: leave the thread's nice value as it started). */
const niceAsked = (workerData.nice as number | null | undefined) ?? null;
/** The loop runs SCHED_FIFO (set once at start). */
let realtime = false;
/** Collections of this thread's heap so far (PacerStats.gcPausesTotal), counted by gcWatch. */
let gcPauses = 0;
const gcWatch = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses++;
    const ns = e.duration * 1e6;
    if (ns > loopStats.gcMaxNs) loopStats.gcMaxNs = ns;
  }
  loopStats.gcPausesTotal = gcPauses;
});

const loopStats: PacerStats = freshStats();
/**
 * What the channels' sends count (WorkerChannel), and the OS's delay of the wait before each
 * pass (wakeLateNs, set by step()), copied into loopStats at each report.
 */
const counters: LoopCounters = loopCounters();
if (typeof readCpu !== 'string') counters.readCpu = readCpu;
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
    ownLateMaxNs: 0,
    preemptedMaxNs: 0,
    sleeps: 0,
    yields: 0,
    spinNs: 0,
    oversleepMaxNs: 0,
    gcPausesTotal: gcPauses,
    gcMaxNs: 0,
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
            counters,
            licence,
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
  } else if (m.type === 'dest-add' || m.type === 'dest-remove' || m.type === 'whole') {
    void (async () => {
      const ch = await opening.get(m.id);
      // With no open output nothing is sent, so nothing is split: sending whole holds already.
      if (!ch && m.type === 'whole') return;
      if (!ch) throw new Error(`channel ${m.id} has no open output`);
      if (m.type === 'dest-add') await ch.output.addDestination(m.dest);
      else if (m.type === 'dest-remove') await ch.output.removeDestination(m.destId);
      else ch.sendWhole();
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

/** flushPass's clock reading, passed in a cell (pacing-loop.ts queueTimes: no heap number). */
const handTimes = queueTimes();

/**
 * sendDue's PassFlush: the sends queued so far leave (OutputModule.flush), and their queues
 * learn when they were in the kernel (the burst window counts from then).
 */
function flushPass(sent: Int32Array, count: number): void {
  flushOutputs();
  handTimes[QT_NOW] = clock();
  for (let i = 0; i < count; i++) queues[sent[i]].handed(handTimes);
}

/**
 * The loop's times (monotonic ns), in a Float64Array: a double kept in a variable the loop's
 * closures share, or returned from a call V8 does not inline, is a new heap number each time.
 */
const times = new Float64Array(2);
const LAST_YIELD = 0;
const PERIOD_START = 1;
const out: PassResult = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
/** The times step() passes to planWaitIo, SpinBudget.addIo and SpinMargin.recordIo. */
const cell = loopCell();
let ctrlSeen = 0;

/**
 * One pass of the loop and the wait after it (sleep or spin), or true when the event loop must
 * turn first (`justYielded`: it just did). A plain function, not the async run(): V8 optimizes
 * it as a whole, where the loop's body inside run() ran in code that made a heap number of
 * every double it computed (measured in the daemon: ~0.9 MB a second at 20 channels).
 */
function step(justYielded: boolean): boolean {
  const wakeValue = Atomics.load(wake, WAKE_DATA);
  const capped = Math.min(margin.ns, budget.ns);
  const early = coalesceWindow(margin.ns, capped);
  counters.passStartNs = clock();
  if (typeof readCpu !== 'string') readCpu(counters.passCpu);
  sendDue(queues, clock, out, early, flushPass);
  // The wait before the next pass sets it when the OS ends it late; a yield, a notify or no
  // wait at all leave it 0 (their time counts as the daemon's own).
  counters.wakeLateNs = 0;
  let now = clock();
  loopStats.sent += out.sent;
  const c = cell;
  c[LC_SPIN] = 0;
  c[LC_NOW] = now;
  c[LC_MARGIN] = margin.ns;
  budget.addIo(c, out.sent);
  if (statsEvery > 0 && now - times[PERIOD_START] >= statsEvery) {
    loopStats.channels = queues.length;
    loopStats.marginNs = margin.ns;
    loopStats.grid = budget.onGrid;
    loopStats.periodNs = now - times[PERIOD_START];
    loopStats.lateMaxNs = counters.lateMaxNs;
    loopStats.ownLateMaxNs = counters.ownLateMaxNs;
    loopStats.preemptedMaxNs = counters.preemptedMaxNs;
    loopStats.unlicensed = counters.unlicensed;
    post({ type: 'stats', stats: { ...loopStats } });
    Object.assign(loopStats, freshStats());
    counters.lateMaxNs = 0;
    counters.ownLateMaxNs = 0;
    counters.preemptedMaxNs = 0;
    counters.unlicensed = 0;
    times[PERIOD_START] = now;
  }
  const ctrl = Atomics.load(wake, WAKE_CTRL);
  if (ctrl !== ctrlSeen && !justYielded) {
    ctrlSeen = ctrl;
    return true;
  }
  c[LC_DUE] = out.deadlineNs;
  c[LC_NOW] = now;
  c[LC_MARGIN] = capped;
  c[LC_SINCE_YIELD] = now - times[LAST_YIELD];
  c[LC_SEND_AT] = out.sendAtNs;
  c[LC_HELD] = counters.held;
  const plan = planWaitIo(c, justYielded);
  switch (plan.kind) {
    case 'yield':
      ctrlSeen = ctrl;
      return true;
    case 'sleep': {
      // The timeout from a table of numbers made once (wait-timeout.ts: a fractional one was a
      // new heap number at every sleep), rounded down to its 10 µs step (at least one).
      const k = waitStep(plan.ms);
      const ms = k * STEP_MS;
      const r = Atomics.wait(wake, WAKE_DATA, wakeValue, waitTimeout(k));
      loopStats.sleeps++;
      if (r === 'timed-out') {
        const over = clock() - now - ms * 1e6;
        c[LC_OVER] = over;
        margin.recordIo(c);
        if (over > loopStats.oversleepMaxNs) loopStats.oversleepMaxNs = over;
        if (over > 0) counters.wakeLateNs = over;
      }
      return false;
    }
    case 'spin': {
      const until = plan.untilNs;
      const t0 = now;
      while ((now = clock()) < until) {
        // Busy-wait: a sleep this short would wake too late. A short pause loop between reads
        // cuts the reads ~7× for ~0.3 µs precision: the fallback clock (performance.now)
        // allocates at each read, and that garbage became GC pauses of several ms here.
        for (let j = 0; j < SPIN_PAUSE; j++) spinSink = (spinSink + j) | 0;
      }
      loopStats.spinNs += now - t0;
      // A spin that lost the CPU ends past its time by as much (~0.3 µs when it did not).
      if (until > t0) counters.wakeLateNs = now - until;
      c[LC_SPIN] = now - t0;
      c[LC_NOW] = now;
      c[LC_MARGIN] = margin.ns;
      budget.addIo(c, 0);
      return false;
    }
    case 'none':
      return false;
  }
}

async function run(): Promise<void> {
  gcWatch.observe({ entryTypes: ['gc'] });
  const named = nameThread(PACER_THREAD_NAME); // top -H, ps -L, perf: which thread paces
  const slack = setThreadTimerSlack(PACING_TIMER_SLACK_NS);
  const nice = niceAsked === null ? null : setThreadNice(niceAsked);
  // After the nice value: the slice is written back with the thread's attributes as they are.
  const slice = setThreadSlice(PACING_SLICE_NS);
  post({
    type: 'thread',
    thread: {
      tid: threadId(),
      timerSlackNs: PACING_TIMER_SLACK_NS,
      ...(slack.ok ? {} : { timerSlackError: slack.error }),
      ...(named.ok ? { name: PACER_THREAD_NAME } : {}),
      nice: nice?.nice ?? 0,
      ...(nice?.ok === false ? { niceError: nice.error } : {}),
      ...(slice.ok ? { sliceNs: slice.sliceNs } : { sliceError: slice.error }),
      ...(clockError !== undefined ? { clockError } : {}),
      ...(cpuClockError !== undefined ? { cpuClockError } : {}),
    },
  });
  if (realtimePriority > 0) {
    const result = makeThreadRealtime(realtimePriority);
    realtime = result.ok;
    loopStats.realtime = realtime;
    if (realtime) margin.setMax(SpinMargin.REALTIME_MAX_NS);
    post({ type: 'realtime', result });
  }
  ctrlSeen = Atomics.load(wake, WAKE_CTRL);
  times[LAST_YIELD] = clock();
  times[PERIOD_START] = times[LAST_YIELD];
  loop(false);
}

/**
 * Steps until the event loop must turn, then lets it turn (setImmediate) and goes on in
 * afterYield. A callback, not `await new Promise(setImmediate)` in run(): each of those turns
 * left ~1 KB of garbage (the promise, its resolver, the async function's resumption), this
 * ~0.3 KB (the Immediate), and at one channel the loop turns between most datagrams (~400 a
 * second).
 */
function loop(justYielded: boolean): void {
  let just = justYielded;
  while (!closing) {
    if (step(just)) {
      setImmediate(afterYield);
      return;
    }
    just = false;
  }
  void shutDown();
}

function afterYield(): void {
  for (let i = 0; i < queues.length; i++) queues[i].release();
  times[LAST_YIELD] = clock();
  loopStats.yields++;
  loop(true);
}

async function shutDown(): Promise<void> {
  for (const id of [...opening.keys()]) await remove(id);
  post({ type: 'closed' });
  process.exit(0);
}

void run();
