// VBR smoothing (vbr-smoothing.ts): an input whose muxer sends each picture as one burst and a
// PCR every 20 ms between them (ffmpeg's MPEG-TS muxer does: one segment a whole frame, the
// next a lone PCR) comes out at an even rate, and each 7-packet datagram holds packets of a
// short stretch of output time: a datagram leaves at its first packet's time, so a PCR in it
// arrives early by up to that stretch (on the wire: PCR jitter as large as the PCR spacing).
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { smoothedSpan } from '../../../src/mpegts/remux/vbr-smoothing.js';
import { synthesize } from '../../helpers/synth.js';
import { checkStream, collector, decodeMargins } from '../../helpers/ts-check.js';

const MS = 27_000;

/** 25 fps pictures of 20 kB (~4 Mbit/s) in a 40 Mbit/s mux, a 4 ms burst every 40 ms, and sound
 * in bursts of 15 packets every 185 ms (ffmpeg gathers MP2 frames into PES of ~2.6 kB). */
function burstyInput(): Uint8Array {
  return synthesize({
    programs: [
      {
        programNumber: 1,
        pmtPid: 0x1000,
        pcrPid: 0x100,
        streams: [
          { pid: 0x100, streamType: 0x1b, fps: 25, frameBytes: 20_000 },
          { pid: 0x101, streamType: 0x0f, fps: 5.4, frameBytes: 2600 },
        ],
      },
    ],
    durationMs: 4000,
    muxRate: 40e6,
    pcrIntervalMs: 20,
    ptsDelayMs: 500,
  }).ts;
}

function remux(ts: Uint8Array, vbrSmoothingMs?: number) {
  const c = collector();
  const r = new Remuxer({ pcrAlign: 7, vbrSmoothingMs }, c.sink);
  for (let o = 0; o < ts.length; o += 1316) r.push(ts.subarray(o, o + 1316));
  r.end();
  return { r, out: c.bytes() };
}

/**
 * After the first second: the longest stretch of output time (PCR-interpolated) one 7-packet
 * datagram holds, in ms, and the packets in each 10 ms of output time.
 */
function layout(out: Uint8Array) {
  const c = checkStream(out, 0x100, 0x1000);
  const time = new Float64Array(c.packets).fill(NaN);
  for (let k = 0; k + 1 < c.pcrs.length; k++) {
    const [i0, v0] = c.pcrs[k];
    const [i1, v1] = c.pcrs[k + 1];
    for (let i = i0; i < i1; i++) time[i] = v0 + ((v1 - v0) * (i - i0)) / (i1 - i0);
  }
  const start = c.pcrs[0][1] + 1000 * MS;
  let spanMs = 0;
  for (let d = 0; d * 7 + 7 <= c.packets; d++) {
    const head = time[d * 7];
    const tail = time[d * 7 + 6];
    if (head >= start && tail === tail) spanMs = Math.max(spanMs, (tail - head) / MS);
  }
  const bins: number[] = [];
  for (let i = 0; i < c.packets; i++) {
    if (!(time[i] >= start)) continue;
    const b = Math.floor((time[i] - start) / (10 * MS));
    bins[b] = (bins[b] ?? 0) + 1;
  }
  bins.pop(); // the last bin is cut short by the end of the stream
  return { c, spanMs, bins };
}

t.test('bursty VBR input: even output, short datagrams', async (t) => {
  const ts = burstyInput();
  const plain = layout(remux(ts, 0).out);
  const { r, out } = remux(ts);
  const smooth = layout(out);
  // Without smoothing a lone-PCR segment's few packets wait for the next frame's to fill a
  // datagram (here 4.6 ms; 20 ms on an ffmpeg-made multiplex, bench/dvblast.ts).
  t.ok(
    smooth.spanMs < 3 && smooth.spanMs < plain.spanMs,
    `a datagram holds at most ${smooth.spanMs.toFixed(2)} ms (unsmoothed ${plain.spanMs.toFixed(2)} ms)`,
  );
  const spread = (b: number[]) => Math.max(...b) / Math.min(...b);
  t.ok(spread(plain.bins) > 3, `unsmoothed: 10 ms bins vary ${spread(plain.bins).toFixed(2)}×`);
  t.ok(spread(smooth.bins) < 1.5, `smoothed: 10 ms bins vary ${spread(smooth.bins).toFixed(2)}×`);
  t.equal(smooth.c.ccErrors, 0, 'CC continuous');
  t.ok(smooth.c.maxPcrGapMs <= 40, `PCR gap ≤ 40 ms (${smooth.c.maxPcrGapMs.toFixed(1)})`);
  t.ok(smooth.c.maxPatGapMs <= 100, `PAT gap ≤ 100 ms (${smooth.c.maxPatGapMs.toFixed(1)})`);
  // The delay allows for the lag from the start: every PES keeps its margin, no raise.
  for (const [pid, margins] of decodeMargins(out, 0x100)) {
    const lo = Math.min(...margins);
    t.ok(lo >= 99.9, `PID ${pid.toString(16)}: decode margin ≥ 100 ms (${lo.toFixed(1)})`);
  }
  t.equal(r.delayRaises, 0, 'no raise of the decode delay');
  // PTS are not moved by the smoothing: the same as without it (the delay aside).
  const ptsPlain = checkStream(remux(ts, 0).out, 0x100, 0x1000).pts.get(0x100)!;
  const ptsSmooth = smooth.c.pts.get(0x100)!;
  const shift = ptsSmooth[0] - ptsPlain[0];
  t.ok(
    ptsSmooth.every((p, i) => i >= ptsPlain.length || p - ptsPlain[i] === shift),
    `every video PTS shifted by the same ${(shift / 90).toFixed(1)} ms`,
  );
});

t.test('smoothedSpan keeps the lag within [0, maxLag] and the span positive', async (t) => {
  const maxLag = 100 * MS;
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    const d = (0.1 + Math.random() * 60) * MS;
    const n = Math.floor(Math.random() * 400);
    const lag = Math.random() * maxLag;
    const tpp = (0.01 + Math.random()) * MS;
    const span = smoothedSpan(d, n, lag, tpp, maxLag);
    const after = lag + span - d;
    if (!(span > 0) || after < -1e-6 || after > maxLag + 1e-6) bad++;
  }
  t.equal(bad, 0, 'every case within bounds');
  // Steady input at its mean rate: the span is the input's own.
  t.equal(smoothedSpan(20 * MS, 100, 0, 0.2 * MS, maxLag), 20 * MS);
  // A burst twice the mean trails by what it cannot fit, and a sparse segment catches up.
  t.equal(smoothedSpan(20 * MS, 200, 0, 0.2 * MS, maxLag), 40 * MS);
  t.equal(smoothedSpan(20 * MS, 0, 20 * MS, 0.2 * MS, maxLag), 0.2 * MS);
  // A burst beyond what the lag may hold: laid out ending maxLag behind the input.
  t.equal(smoothedSpan(20 * MS, 5000, 0, 0.2 * MS, maxLag), 120 * MS);
});

t.test('splices do not bank the smoothing lag: output time keeps pace with input', async (t) => {
  // Each new input went on from outEnd, the old input's lag taken into the offset for good: a
  // channel's queue grew deeper by up to the smoothing bound at every failover, alert or rule
  // switch (an alert card reached TVs 45 ms later at each of 6 alerts in a row).
  const c = collector();
  const r = new Remuxer({ pcrAlign: 7 }, c.sink);
  const inputs = 20;
  const ms = 1000;
  for (let i = 0; i < inputs; i++) {
    const { ts } = synthesize({
      programs: [
        {
          programNumber: 1,
          pmtPid: 0x1000,
          pcrPid: 0x100,
          streams: [
            // dense and sparse in turn: the rate the smoothing follows lags the new input's
            { pid: 0x100, streamType: 0x1b, fps: 25, frameBytes: i % 2 ? 2_000 : 60_000 },
            { pid: 0x101, streamType: 0x0f, fps: 5.4, frameBytes: 2600 },
          ],
        },
      ],
      durationMs: ms,
      muxRate: 40e6,
      pcrIntervalMs: 20,
      ptsDelayMs: 500,
      startPcr: (i * 7919 + 1) * 27e6, // every input its own clock
    });
    if (i > 0) r.splice();
    for (let o = 0; o < ts.length; o += 1316) r.push(ts.subarray(o, o + 1316));
  }
  r.end();
  const pcrs = checkStream(c.bytes(), 0x100, 0x1000).pcrs;
  const spanMs = (pcrs[pcrs.length - 1][1] - pcrs[0][1]) / MS;
  const extra = spanMs - inputs * ms;
  t.ok(r.stats.splices >= inputs - 1, `${r.stats.splices} splices`);
  // One smoothing bound (100 ms) at most, and what splices add to keep PTS forward.
  t.ok(extra <= 150, `output ${spanMs.toFixed(0)} ms for ${inputs * ms} ms of input`);
});
