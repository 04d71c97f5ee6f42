import t from 'tap';
import { Analyzer, type AnalyzerOptions } from '../../../src/mpegts/analyzer/analyzer.js';
import type { AnalyzerReport } from '../../../src/mpegts/analyzer/report.js';
import { AUDIO_PID, buildMux, failing, indexesOf, withoutPackets } from './helpers.js';

const DGRAM = 7 * 188;
const clean = buildMux();

/** Sends b as 7-packet datagrams; datagram k arrives at when(k) (ns). */
function deliver(
  b: Uint8Array,
  when: (k: number) => number,
  opts?: AnalyzerOptions,
): AnalyzerReport {
  const a = new Analyzer(opts);
  for (let k = 0, o = 0; o < b.length; k++, o += DGRAM)
    a.push(b.subarray(o, o + DGRAM), 1e12 + when(k));
  a.end();
  return a.report();
}

t.test('perfectly paced: DF is one datagram duration', async (t) => {
  const r = deliver(clean.bytes, (k) => k * 5e6); // 200 datagrams/s
  t.ok(r.mdi);
  const m = r.mdi!;
  t.equal(m.intervals.length, 10);
  for (const i of m.intervals) t.ok(Math.abs(i.df_ms - 5) < 1e-6, `DF ${i.df_ms} at ${i.startSec}`);
  t.equal(m.mlrTotal, 0);
  t.ok(Math.abs(m.intervals[0].bitrate - 1316 * 8 * 200) < 1e-3);
  t.equal(r.totals.timeBase, 'arrival');
  t.ok(Math.abs(r.totals.durationSec - 1928 * 0.005) < 1e-9);
});

t.test('perfectly paced at a rate that is no whole number of datagrams a second', async (t) => {
  // 4 Mbit/s: 379.9 datagrams/s. A 1-s window holds 379 or 380 of them; the interval's bytes
  // over 1 s drained 0.25 % slow in the first case and showed DF 1.94 datagrams (5.1 ms).
  const ns = (DGRAM * 8 * 1e9) / 4e6;
  const r = deliver(clean.bytes, (k) => k * ns);
  const m = r.mdi!;
  t.equal(m.intervals.length, 6);
  for (const i of m.intervals)
    t.ok(Math.abs(i.df_ms - ns / 1e6) < 1e-6, `DF ${i.df_ms} at ${i.startSec}`);
  // Each arrival up to ±0.5 ms off its time: DF within one datagram + 1 ms (+ 0.1 ms: the
  // fitted rate moves a little with the jitter).
  let seed = 7;
  const jitter = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) * 1e6;
  const jittered = deliver(clean.bytes, (k) => 1e6 + k * ns + jitter()).mdi!;
  t.ok(jittered.dfMaxMs <= ns / 1e6 + 1.1, `jittered DF max ${jittered.dfMaxMs}`);
  t.ok(jittered.dfMaxMs > ns / 1e6, 'the jitter shows');
});

t.test('bursty: k datagrams at once every k × 5 ms gives DF = k × 5 ms', async (t) => {
  for (const k of [2, 5]) {
    // Same average rate; VB climbs to k datagrams at each burst and drains to 0 before the next.
    const r = deliver(clean.bytes, (d) => Math.floor(d / k) * k * 5e6);
    const full = r.mdi!.intervals.slice(0, -1);
    for (const i of full) t.ok(Math.abs(i.df_ms - k * 5) < 1e-6, `k=${k} DF ${i.df_ms}`);
    const nominal = deliver(clean.bytes, (d) => Math.floor(d / k) * k * 5e6, {
      mdiRateBps: 1316 * 8 * 200,
    });
    t.ok(Math.abs(nominal.mdi!.dfMaxMs - k * 5) < 1e-6, 'against the nominal rate, every interval');
  }
});

t.test('MLR counts the packets lost in a continuity gap, in its interval', async (t) => {
  const after = indexesOf(clean, (p) => p.pid === AUDIO_PID && p.tNs > 4.3e9);
  const lost = after.slice(0, 3); // three in a row on the audio PID
  const r = deliver(withoutPackets(clean, lost), (k) => k * 5e6);
  t.same(failing(r), { '1.4': 1 });
  t.equal(r.mdi!.mlrTotal, 3);
  // Noticed at the next audio packet: its datagram's arrival decides the interval.
  const detectedAt = Math.floor(((after[3] - 3) * 188) / DGRAM) * 0.005;
  t.same(
    r.mdi!.intervals.map((i) => i.mlr),
    r.mdi!.intervals.map((_, k) => (k === Math.floor(detectedAt) ? 3 : 0)),
  );
});

t.test('arrival time drives the interval checks', async (t) => {
  // Datagrams paced at the content's own rate, with a 0.7 s stall after 3 s.
  const per = (7e9 / 1350) | 0;
  const r = deliver(clean.bytes, (k) => k * per + (k * per > 3e9 ? 0.7e9 : 0));
  t.same(failing(r), { '1.3': 1, '1.5': 1, '2.3a': 1, '2.5': 2 });
  const m = r.mdi!;
  t.ok(m.dfMaxMs > 600, 'the stall shows in DF');
  t.equal(m.intervals.length, 11);
});

t.test('arrival times that go backwards or are not finite do not break anything', async (t) => {
  const a = new Analyzer();
  const b = clean.bytes;
  const times = [5, 3, NaN, Infinity, -1e9, 7];
  for (let k = 0, o = 0; o < b.length; k++, o += DGRAM)
    a.push(b.subarray(o, o + DGRAM), k < 6 ? times[k] : 1e9 + k * 5e6);
  a.end();
  const r = a.report();
  t.equal(r.totals.analyzerFaults, undefined);
  t.ok(r.mdi);
});
