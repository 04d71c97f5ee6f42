// The pacing loop makes no garbage: sendDue over WorkerChannels on real rings, through the burst
// limiter, to an output, as the pacing worker drives them (pacer-worker.ts step and flushPass),
// collects nothing over ~20,000 sends once V8 has optimized it. Each collection of the pacing
// thread holds every send behind it (0.25-1.4 ms each in bench/scale; ~3 a second at 20
// channels while the loop passed its times as arguments and return values of calls V8 did not
// inline, each a new heap number).
import t from 'tap';
import { PerformanceObserver } from 'node:perf_hooks';
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import type { PacedOutput } from '../../src/scheduler/output-contract.js';
import {
  QT_NOW,
  SLEEP_COALESCE_NS,
  queueTimes,
  sendDue,
  type PassResult,
} from '../../src/scheduler/pacing-loop.js';
import { createCounters, createRing, ringPush, ringViews } from '../../src/scheduler/ring.js';
import { WorkerChannel, type LoopCounters } from '../../src/scheduler/worker-channel.js';

const CHANNELS = 20;
const SLOTS = 2048;
const DATAGRAMS = 2000;
const DG = 7 * 188;
/** A 4 Mbit/s channel's datagram interval, ns. */
const INTERVAL = (DG * 8 * 1e9) / 4e6;

/** 7 TS packets (ISO/IEC 13818-1 §2.4.3.2), the first with a PCR (adaptation field, PCR_flag). */
function datagram(pcr: boolean): Uint8Array {
  const d = new Uint8Array(DG).fill(0xff);
  for (let k = 0; k < 7; k++) {
    d.set([0x47, 0x01, 0x00, 0x10 | k], k * 188);
  }
  if (pcr) d.set([0x47, 0x01, 0x00, 0x30, 7, 0x10, 0, 0, 0, 0, 0, 0], 0);
  return d;
}

t.test('20 channels, ~20,000 sends on the 1 ms grid: no garbage collection', async (t) => {
  const plain = datagram(false);
  const withPcr = datagram(true);
  let sends = 0;
  const queues: WorkerChannel[] = [];
  const counters: LoopCounters = { lateMaxNs: 0, ownLateMaxNs: 0, unlicensed: 0, wakeLateNs: 0 };
  for (let c = 0; c < CHANNELS; c++) {
    const v = ringViews(createRing(SLOTS, DG), createCounters());
    for (let i = 0; i < DATAGRAMS; i++)
      ringPush(v, i % 10 === 0 ? withPcr : plain, 1e9 + c * 0.13e6 + i * INTERVAL, i * 1e5);
    const output: PacedOutput = {
      queued: 0,
      counters: { sendErrors: 0 },
      info: { interfaceAddress: '127.0.0.1', local: '', tosApplied: true, sendBufferBytes: 0 },
      send: () => void sends++,
      addDestination: async () => {},
      removeDestination: async () => {},
      close: async () => {},
    };
    queues.push(new WorkerChannel(`c${c}`, v, output, c, DG, new BurstLimiter(), counters, null));
  }
  // The clock in a cell, as the worker's native clock reads it; it moves 1 ms a pass (the grid).
  const cell = new Float64Array(1);
  cell[0] = 1e9;
  const clock = (): number => cell[0];
  const out: PassResult = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  const handTimes = queueTimes();
  const flush = (sent: Int32Array, count: number): void => {
    handTimes[QT_NOW] = cell[0];
    for (let i = 0; i < count; i++) queues[sent[i]].handed(handTimes);
  };
  const passes = (n: number): void => {
    for (let p = 0; p < n; p++) {
      cell[0] += 1e6;
      // As the worker's step() sets it: how late the OS ended the wait before the pass.
      counters.wakeLateNs = (p % 7) * 1234.5;
      sendDue(queues, clock, out, SLEEP_COALESCE_NS, flush);
      for (let i = 0; i < queues.length; i++) queues[i].release();
    }
  };
  const half = (DATAGRAMS / 2) * INTERVAL * 1e-6; // passes that send half of each ring
  passes(half); // warm-up: V8 optimizes the loop
  const warm = sends;
  await new Promise((r) => setTimeout(r, 20));
  let gcs = 0;
  const obs = new PerformanceObserver((l) => (gcs += l.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  passes(half - 100);
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  const measured = sends - warm;
  t.ok(measured > 15_000, `${measured} sends measured`);
  t.equal(gcs, 0, `no collection over ${measured} sends`);
});
