// Timing harness: one pass of a consumer over a big buffer fed in fixed-size chunks (the way
// UDP datagrams or file reads arrive), with heap and garbage-collector figures around it.
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';

export interface Measurement {
  name: string;
  /** Bytes per push(). */
  chunk: number;
  packets: number;
  seconds: number;
  pps: number;
  /** Transport-stream gigabits per second (188-byte packets). */
  gbps: number;
  /** heapUsed after the pass minus before it (GC'd before the pass, not after): bytes. */
  heapGrowth: number;
  /** heapUsed growth that survives a full GC after the pass (-1 without --expose-gc). */
  heapRetained: number;
  gcCount: number;
  gcMs: number;
  /** Median of `reps` passes; min and max packets/s seen. */
  reps: number;
  ppsMin: number;
  ppsMax: number;
}

let gcCount = 0;
let gcMs = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
});
observer.observe({ entryTypes: ['gc'] });

/** Stops observing GC (lets the process exit). */
export function stopObserving(): void {
  observer.disconnect();
}

const gc = (globalThis as { gc?: () => void }).gc;
export const canGc = typeof gc === 'function';

/** Feeds `data` to `push` in `chunk`-byte views; `done` is called after the last one. */
export function feed(
  data: Uint8Array,
  chunk: number,
  push: (c: Uint8Array) => void,
  done?: () => void,
): void {
  for (let at = 0; at < data.length; at += chunk) push(data.subarray(at, at + chunk));
  done?.();
}

/**
 * Bytes allocated per packet by one (untimed) pass, from V8's sampling heap profiler with
 * collected objects included: a statistical estimate (one sample per ~`interval` bytes).
 */
export async function allocatedPerPacket(
  packets: number,
  pass: () => unknown,
  interval = 256,
): Promise<number> {
  const s = new Session();
  s.connect();
  try {
    await s.post('HeapProfiler.startSampling', {
      samplingInterval: interval,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    pass();
    const { profile } = await s.post('HeapProfiler.stopSampling');
    let bytes = 0;
    const stack = [profile.head];
    while (stack.length > 0) {
      const n = stack.pop()!;
      bytes += n.selfSize;
      stack.push(...n.children);
    }
    return bytes / packets;
  } finally {
    s.disconnect();
  }
}

/** Runs `measure` `reps` times and keeps the median pass (by packets/s), with the spread. */
export async function measureMedian(
  name: string,
  chunk: number,
  packets: number,
  reps: number,
  pass: () => unknown,
): Promise<Measurement> {
  const runs: Measurement[] = [];
  for (let i = 0; i < reps; i++) runs.push(await measure(name, chunk, packets, pass));
  runs.sort((a, b) => a.pps - b.pps);
  const mid = runs[Math.floor(runs.length / 2)];
  return { ...mid, reps, ppsMin: runs[0].pps, ppsMax: runs[runs.length - 1].pps };
}

/**
 * Times one pass. `pass` builds its consumer and feeds all the data; what it returns is kept
 * alive until the heap has been measured, so retained state counts as growth.
 */
export async function measure(
  name: string,
  chunk: number,
  packets: number,
  pass: () => unknown,
): Promise<Measurement> {
  gc?.();
  await tick();
  const gc0 = gcCount;
  const gcMs0 = gcMs;
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const keep = pass();
  const seconds = (performance.now() - t0) / 1000;
  const heap1 = process.memoryUsage().heapUsed;
  await tick(); // GC entries are delivered asynchronously
  await tick();
  const gcCountRun = gcCount - gc0;
  const gcMsRun = gcMs - gcMs0;
  let retained = -1;
  if (gc) {
    gc();
    retained = process.memoryUsage().heapUsed - heap0;
  }
  void keep;
  const pps = packets / seconds;
  return {
    name,
    chunk,
    packets,
    seconds,
    pps,
    gbps: (pps * 188 * 8) / 1e9,
    heapGrowth: heap1 - heap0,
    heapRetained: retained,
    gcCount: gcCountRun,
    gcMs: gcMsRun,
    reps: 1,
    ppsMin: pps,
    ppsMax: pps,
  };
}
