import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import type { RemuxOptions } from '../../../src/mpegts/remux/types.js';
import { PCR_MODULUS, pcrDiff, ptsDelta } from '../../../src/mpegts/packet.js';
import { Demuxer } from '../../../src/mpegts/demux.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import type { SynthProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';

function remux(
  inputs: Uint8Array[],
  opts: RemuxOptions = {},
  between?: (r: Remuxer, i: number) => void,
  chunk = 1316,
) {
  const c = collector();
  const r = new Remuxer(opts, c.sink);
  inputs.forEach((ts, i) => {
    if (i > 0) between?.(r, i);
    for (let o = 0; o < ts.length; o += chunk) r.push(ts.subarray(o, o + chunk));
  });
  r.end();
  return { r, out: c.bytes() };
}

/** PTS never goes back on any PID (shortest signed distance on the 33-bit clock). */
function ptsForward(pts: Map<number, number[]>): boolean {
  for (const list of pts.values())
    for (let i = 1; i < list.length; i++) if (ptsDelta(list[i], list[i - 1]) <= 0) return false;
  return true;
}

t.test('SPTS, VBR: identity, PSI and PCR cadence, timestamps kept', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(7, 0x44, 0x50)],
    durationMs: 3000,
    muxRate: 3e6,
    pcrIntervalMs: 90,
    withSdt: true,
  });
  const { r, out } = remux([ts], { programNumber: 3, transportStreamId: 9, serviceName: 'News' });
  const c = checkStream(out, 0x100, 0x1000);
  t.same(
    [...c.pids.keys()].sort((a, b) => a - b),
    [0x00, 0x11, 0x100, 0x110, 0x1000],
    'PAT, SDT, video 0x100, audio 0x110, PMT 0x1000',
  );
  t.equal(c.ccErrors, 0);
  t.equal(c.discontinuities, 0);
  t.ok(c.maxPcrGapMs <= 40, `PCR gap ${c.maxPcrGapMs} ms ≤ 40 although the input has 90 ms`);
  t.ok(c.minPcrStepMs > 0, 'PCR strictly increasing');
  t.ok(
    c.maxPatGapMs <= 100 && c.maxPmtGapMs <= 100,
    `PAT ${c.maxPatGapMs} / PMT ${c.maxPmtGapMs} ms`,
  );
  t.ok(r.stats.pcrPacketsInserted > 0);
  t.equal(r.stats.splices, 0);
  // PTS of the first video PES equals the input's (offset 0 on the first source).
  const inC = checkStream(ts, 0x44, 0x50);
  t.equal(c.pts.get(0x100)![0], inC.pts.get(0x44)![0]);
  t.equal(c.pts.get(0x100)!.length, inC.pts.get(0x44)!.length, 'every video PES forwarded');
  const d = new Demuxer();
  d.processAligned(out);
  t.equal(d.pat?.transportStreamId, 9);
  t.equal(d.program?.programNumber, 3);
  t.equal(d.service?.serviceName, 'News');
});

t.test(
  'source change with other PIDs and clock: output identity and timeline continue',
  async (t) => {
    const a = synthesize({
      programs: [simpleProgram(1, 0x100)],
      durationMs: 2000,
      muxRate: 3e6,
      startPcr: 5e9,
    }).ts;
    const bProg: SynthProgram = { ...simpleProgram(1, 0x7e0, 0x20), programNumber: 1 };
    const b = synthesize({
      programs: [bProg],
      durationMs: 2000,
      muxRate: 3e6,
      startPcr: 1e6,
      ccStart: 9,
      ptsDelayMs: 200,
    }).ts;
    for (const mode of ['explicit', 'implicit'] as const) {
      const { r, out } = remux(
        [a, b, a],
        {},
        mode === 'explicit' ? (rx) => rx.splice() : undefined,
      );
      const c = checkStream(out, 0x100, 0x1000);
      t.equal(r.stats.splices, 2, `${mode}: two splices`);
      const pids = [...c.pids.keys()].filter((p) => p !== 0x1fff).sort((x, y) => x - y);
      t.same(
        pids,
        [0x00, 0x11, 0x100, 0x110, 0x1000],
        `${mode}: same PIDs (plus nulls in the gap filler)`,
      );
      t.equal(c.ccErrors, 0, `${mode}: continuous CC`);
      t.equal(c.discontinuities, 0, `${mode}: no discontinuity_indicator needed`);
      t.ok(
        c.maxPcrGapMs <= 40 && c.minPcrStepMs > 0,
        `${mode}: PCR forward, gap ${c.maxPcrGapMs.toFixed(2)} ms`,
      );
      t.ok(c.maxPatGapMs <= 100, `${mode}: PAT every ${c.maxPatGapMs.toFixed(1)} ms`);
      t.ok(ptsForward(c.pts), `${mode}: PTS never goes back`);
      const total = pcrDiff(c.pcrs[c.pcrs.length - 1][1], c.pcrs[0][1]) / 27e6;
      t.ok(
        total > 5.8 && total < 7.5,
        `${mode}: output spans ${total.toFixed(2)} s for 6 s of input`,
      );
    }
  },
);

t.test('PCR wrap at 2^33 is not a splice', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram()],
    durationMs: 3000,
    muxRate: 2e6,
    startPcr: PCR_MODULUS - 27e6,
  });
  const { r, out } = remux([ts]);
  const c = checkStream(out, 0x100, 0x1000);
  t.equal(r.stats.splices, 0);
  t.equal(c.ccErrors, 0);
  t.ok(c.maxPcrGapMs <= 40 && c.minPcrStepMs > 0);
  t.ok(
    c.pcrs.some(([, p]) => p < 27e6) && c.pcrs.some(([, p]) => p > PCR_MODULUS - 27e6),
    'output wraps too',
  );
  t.ok(ptsForward(c.pts));
});

t.test('CBR: exact mux rate, PCR on the constant-rate line, nulls', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram()],
    durationMs: 4000,
    muxRate: 2e6,
    pcrIntervalMs: 40,
  });
  const rate = 3_000_000;
  const { r, out } = remux([ts], { cbrBitrate: rate });
  const c = checkStream(out, 0x100, 0x1000);
  const [i0, p0] = c.pcrs[0];
  const slot = (188 * 8 * 27e6) / rate;
  let worst = 0;
  for (const [i, p] of c.pcrs) worst = Math.max(worst, Math.abs(pcrDiff(p, p0) - (i - i0) * slot));
  t.ok(worst <= 1, `every PCR within ${worst.toFixed(2)} ticks of the line`);
  const [i1, p1] = c.pcrs[c.pcrs.length - 1];
  const measured = ((i1 - i0) * 188 * 8) / (pcrDiff(p1, p0) / 27e6);
  t.ok(Math.abs(measured / rate - 1) < 1e-4, `rate ${measured.toFixed(0)}`);
  t.ok(r.stats.nullPacketsOut > 0);
  t.equal(r.cbrOverflows, 0);
  t.equal(c.ccErrors, 0);
});

t.test('MPTS: picks one program, only its streams leave', async (t) => {
  const { ts } = synthesize({
    programs: [
      simpleProgram(1, 0x100, 0x1000),
      simpleProgram(2, 0x200, 0x1001),
      simpleProgram(3, 0x300, 0x1002),
    ],
    durationMs: 1000,
    muxRate: 10e6,
    withSdt: true,
  });
  const { out } = remux([ts], { program: 2 });
  const d = new Demuxer();
  d.processAligned(out);
  t.equal(d.pat?.programs.length, 1);
  t.equal(d.program?.streams.length, 2);
  t.equal(d.service?.serviceName, 'P2', 'service name taken from the input SDT');
  const inC = checkStream(ts, 0x200, 0x1001);
  const outC = checkStream(out, 0x100, 0x1000);
  t.same(outC.pts.get(0x100), inC.pts.get(0x200), 'program 2 video, every PES, same PTS');
});

t.test(
  'idle(): no source yet, output keeps PSI and PCR flowing; then a source joins',
  async (t) => {
    const c = collector();
    const r = new Remuxer({}, c.sink);
    for (let i = 0; i < 10; i++) r.idle(100);
    const idleOut = c.bytes();
    const ic = checkStream(idleOut, 0x100, 0x1000);
    t.ok(ic.pcrs.length >= 28, `${ic.pcrs.length} PCRs in 1 s of idle`);
    t.ok(ic.maxPcrGapMs <= 40);
    t.ok(ic.maxPatGapMs <= 100);
    const { ts } = synthesize({
      programs: [simpleProgram()],
      durationMs: 1500,
      muxRate: 2e6,
      startPcr: 9e9,
    });
    for (let o = 0; o < ts.length; o += 1316) r.push(ts.subarray(o, o + 1316));
    r.idle(300); // source died
    r.push(ts); // and came back with the same clock: it must not go back in time
    r.end();
    const all = checkStream(c.bytes(), 0x100, 0x1000);
    t.equal(all.ccErrors, 0);
    t.ok(all.maxPcrGapMs <= 40 && all.minPcrStepMs > 0, `PCR gap ${all.maxPcrGapMs}`);
    t.ok(ptsForward(all.pts));
  },
);

t.test('garbage between packets: skipped, counted, output clean', async (t) => {
  const { ts } = synthesize({ programs: [simpleProgram()], durationMs: 1000, muxRate: 2e6 });
  const junk = new Uint8Array(1000).fill(0x11);
  const { r, out } = remux(
    [ts.subarray(0, 188 * 300), junk, ts.subarray(188 * 300)],
    {},
    undefined,
    999,
  );
  t.equal(r.stats.bytesSkipped, 1000);
  const c = checkStream(out, 0x100, 0x1000);
  t.equal(c.ccErrors, 0);
  t.equal(r.stats.splices, 0);
});

t.test(
  'splice(program): failover to a source that carries the channel as another service',
  async (t) => {
    const a = synthesize({
      programs: [simpleProgram(2, 0x200, 0x1001)],
      durationMs: 1000,
      muxRate: 3e6,
    }).ts;
    const b = synthesize({
      programs: [simpleProgram(7, 0x700, 0x1007), simpleProgram(9, 0x900, 0x1009)],
      durationMs: 1000,
      muxRate: 6e6,
      startPcr: 3e9,
    }).ts;
    const { r, out } = remux([a, b], { program: 2 }, (rx) => rx.splice(9));
    const c = checkStream(out, 0x100, 0x1000);
    t.equal(r.stats.splices, 1);
    t.equal(c.ccErrors, 0);
    const inB = checkStream(b, 0x900, 0x1009);
    const n = c.pts.get(0x100)!.length;
    const na = checkStream(a, 0x200, 0x1001).pts.get(0x200)!.length;
    t.ok(n > na, 'video from the second source follows');
    t.ok(
      Math.abs(n - na - inB.pts.get(0x900)!.length) <= 1,
      'every PES of program 9 (at most the one cut at the join)',
    );
    t.equal(r.demux.program?.programNumber, 9);
  },
);

t.test('sparse input PCR (up to 900 ms) at a low rate: PAT/PMT still every interval', async (t) => {
  // A receiver's feed may carry PCR far less often than every 40 ms; the output's PCR-only
  // packets and PSI blocks fill such a long segment. Found in the garbage e2e test: a 580 ms
  // segment ran out of PSI blocks 30 ms early (blocks placed ahead of their due time moved the
  // later ones earlier, so the walk had counted one too few).
  for (const pcrIntervalMs of [150, 330, 580, 900]) {
    for (const cbr of [false, true]) {
      const prog = simpleProgram(1, 0x100, 0x1000);
      prog.streams = [
        { pid: 0x100, streamType: 0x1b, fps: 25, frameBytes: 100 },
        { pid: 0x101, streamType: 0x0f, fps: 43, frameBytes: 40 },
      ];
      const { ts } = synthesize({
        programs: [prog],
        durationMs: 6000,
        muxRate: 250e3,
        pcrIntervalMs,
      });
      for (const pcrAlign of [1, 7]) {
        const opts: RemuxOptions = { pcrAlign, ...(cbr ? { cbrBitrate: 300e3 } : {}) };
        const { out } = remux([ts], opts);
        const c = checkStream(out, 0x100, 0x1000);
        const what = `PCR every ${pcrIntervalMs} ms, ${cbr ? 'CBR' : 'VBR'}, pcrAlign ${pcrAlign}`;
        t.equal(c.ccErrors, 0, `${what}: CC`);
        t.ok(c.maxPcrGapMs <= 40, `${what}: PCR gap ${c.maxPcrGapMs.toFixed(1)} ms`);
        t.ok(
          c.maxPatGapMs <= 100 && c.maxPmtGapMs <= 100,
          `${what}: PAT ${c.maxPatGapMs.toFixed(1)} / PMT ${c.maxPmtGapMs.toFixed(1)} ms`,
        );
      }
    }
  }
});
