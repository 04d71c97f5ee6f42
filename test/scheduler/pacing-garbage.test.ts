// The pacing loop makes no garbage: sendDue over WorkerChannels on real rings, through the burst
// limiter, to an output, as the pacing worker drives them (pacer-worker.ts step and flushPass),
// allocates nothing over ~20,000 sends once V8 has optimized it (counted by V8's sampling heap
// profiler, helpers/allocated.ts), datagrams sent in two parts included. Each collection of the pacing
// thread holds every send behind it (0.25-1.4 ms each in bench/scale; ~3 a second at 20
// channels while the loop passed its times as arguments and return values of calls V8 did not
// inline, each a new heap number).
import t, { type Test } from 'tap';
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import type { PacedOutput } from '../../src/scheduler/output-contract.js';
import {
  QT_NOW,
  SLEEP_COALESCE_NS,
  queueTimes,
  sendDue,
  type PassResult,
} from '../../src/scheduler/pacing-loop.js';
import {
  ST_SPLIT,
  createCounters,
  createRing,
  ringPush,
  ringViews,
} from '../../src/scheduler/ring.js';
import {
  WorkerChannel,
  loopCounters,
  type LoopCounters,
} from '../../src/scheduler/worker-channel.js';
import { allocatedDuring, type Allocated } from '../helpers/allocated.js';

const CHANNELS = 20;
const SLOTS = 2048;
const DATAGRAMS = 2000;
const DG = 7 * 188;
/** A 4 Mbit/s channel's datagram interval, ns. */
const INTERVAL = (DG * 8 * 1e9) / 4e6;
/** How much later than the grid a late wake-up comes, ns (this VM's are up to ~12 ms). */
const STALL_NS = 4e6;

/** 7 TS packets (ISO/IEC 13818-1 §2.4.3.2), the first with a PCR (adaptation field, PCR_flag). */
function datagram(pcr: boolean): Uint8Array {
  const d = new Uint8Array(DG).fill(0xff);
  for (let k = 0; k < 7; k++) {
    d.set([0x47, 0x01, 0x00, 0x10 | k], k * 188);
  }
  if (pcr) d.set([0x47, 0x01, 0x00, 0x30, 7, 0x10, 0, 0, 0, 0, 0, 0], 0);
  return d;
}

// The clock in a cell, as the worker's native clock reads it; it moves 1 ms a pass (the grid).
// One for every rig, as the worker has one: a closure per rig made sendDue's call of it
// polymorphic, not inlined, its every reading a new heap number.
const cell = new Float64Array(1);
const clock = (): number => cell[0];

/**
 * CHANNELS channels of DATAGRAMS queued datagrams each, sent by sendDue on the 1 ms grid of a
 * fake clock; `stallEvery` > 0: every that many passes the thread wakes STALL_NS late, and the
 * burst limit sends many of the datagrams then due in two parts (the window holds part of one).
 */
function rig(
  stallEvery = 0,
  /** Channels whose ring holds only 3/4 as much: they run dry in the measured half. */
  short = 0,
): {
  passes(n: number): void;
  sends(): number;
  splits(): number;
  /** Passes that send half of each ring. */
  half: number;
} {
  const plain = datagram(false);
  const withPcr = datagram(true);
  let sends = 0;
  const queues: WorkerChannel[] = [];
  const rings: ReturnType<typeof ringViews>[] = [];
  const counters: LoopCounters = loopCounters();
  for (let c = 0; c < CHANNELS; c++) {
    const v = ringViews(createRing(SLOTS, DG), createCounters());
    const output: PacedOutput = {
      queued: 0,
      counters: { sendErrors: 0 },
      info: { interfaceAddress: '127.0.0.1', local: '', tosApplied: true, sendBufferBytes: 0 },
      send: () => void sends++,
      addDestination: async () => {},
      removeDestination: async () => {},
      close: async () => {},
    };
    rings.push(v);
    queues.push(new WorkerChannel(`c${c}`, v, output, c, DG, new BurstLimiter(), counters, null));
  }
  cell[0] = 1e9;
  const out: PassResult = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  const handTimes = queueTimes();
  const flush = (sent: Int32Array, count: number): void => {
    handTimes[QT_NOW] = cell[0];
    for (let i = 0; i < count; i++) queues[sent[i]].handed(handTimes);
  };
  // A queue starts empty, as in the worker (its output opens before its first datagram), for a
  // pass; then each ring is filled.
  sendDue(queues, clock, out, SLEEP_COALESCE_NS, flush);
  rings.forEach((v, c) => {
    const n = c < short ? (DATAGRAMS * 3) / 4 : DATAGRAMS;
    for (let i = 0; i < n; i++)
      ringPush(v, i % 10 === 0 ? withPcr : plain, 1e9 + c * 0.13e6 + i * INTERVAL, i * 1e5);
  });
  let pass = 0;
  return {
    passes: (n) => {
      for (let p = 0; p < n; p++) {
        cell[0] += 1e6;
        if (stallEvery > 0 && ++pass % stallEvery === 0) cell[0] += STALL_NS;
        // As the worker's step() sets it: how late the OS ended the wait before the pass.
        counters.wakeLateNs = (p % 7) * 1234.5;
        sendDue(queues, clock, out, SLEEP_COALESCE_NS, flush);
        for (let i = 0; i < queues.length; i++) queues[i].release();
      }
    },
    sends: () => sends,
    splits: () => rings.reduce((n, v) => n + v.stats[ST_SPLIT], 0),
    // Within what the rings hold: a queue that runs dry takes a branch V8 has not seen, and the
    // loop runs deoptimized (boxing its doubles) until V8 optimizes it again.
    half: ((DATAGRAMS / 2) * INTERVAL) / (1e6 + (stallEvery > 0 ? STALL_NS / stallEvery : 0)),
  };
}

/** Less than a byte per send: nothing per send (the profiler's own bookkeeping aside). */
function noGarbage(t: Test, a: Allocated, sends: number, what: string): void {
  const sites = a.top.map((x) => `${x.site} ${x.bytes} B`).join(', ');
  t.ok(a.bytes < sends, `${a.bytes} bytes allocated over ${what}${sites ? ` (${sites})` : ''}`);
}

t.test('20 channels, ~20,000 sends on the 1 ms grid: no garbage', async (t) => {
  const r = rig();
  r.passes(r.half); // warm-up: V8 optimizes the loop
  const warm = r.sends();
  const a = await allocatedDuring(() => r.passes(r.half - 100));
  const measured = r.sends() - warm;
  t.ok(measured > 15_000, `${measured} sends measured`);
  noGarbage(t, a, measured, `${measured} sends`);
});

t.test('late wake-ups that leave datagrams in two parts: no garbage either', async (t) => {
  // A part is copied into a slot of its own, and the burst limit works out the first part's
  // bound: each datagram sent in two parts made a view (Buffer.copy with offsets) and boxed
  // doubles, 190-480 bytes.
  const r = rig(23);
  r.passes(r.half);
  const warm = r.sends();
  const split0 = r.splits();
  const a = await allocatedDuring(() => r.passes(r.half - 100));
  const splits = r.splits() - split0;
  const measured = r.sends() - warm;
  t.ok(splits > 3_000, `${splits} datagrams sent in two parts`);
  noGarbage(t, a, measured, `${measured} sends, ${splits} of them in two parts`);
});

t.test('a queue that runs dry: no garbage after it either', async (t) => {
  // The pass had a branch for a queue that sent its last datagram, which no pass before took:
  // the optimized loop gave way to unoptimized code there (V8 deoptimizes at code it has no
  // feedback for), which boxed every double it computed until V8 optimized it again,
  // thousands of passes later (~40 bytes a send).
  const r = rig(0, 4);
  r.passes(r.half);
  const warm = r.sends();
  const a = await allocatedDuring(() => r.passes(r.half - 100));
  const measured = r.sends() - warm;
  noGarbage(t, a, measured, `${measured} sends, 4 of 20 queues running dry among them`);
});
