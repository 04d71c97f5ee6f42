import t from 'tap';
import { TS_PACKET_SIZE } from '../../../src/mpegts/packet.js';
import {
  analyze,
  buildMux,
  check,
  failing,
  indexesOf,
  packetAt,
  prng,
  VIDEO_PID,
} from './helpers.js';

const clean = buildMux();

t.test('2.1 transport_error_indicator', async (t) => {
  const b = clean.bytes.slice();
  const i = indexesOf(
    clean,
    (p, k) => p.item === 'video' && (packetAt(clean, k)[1] & 0x40) === 0,
  )[70];
  b[i * TS_PACKET_SIZE + 1] |= 0x80;
  const r = analyze(b);
  t.same(failing(r), { '2.1': 1 });
  t.match(check(r, '2.1').detail, 'PID 0x0100');
});

t.test('2.2 corrupted CRC in a PMT', async (t) => {
  const b = clean.bytes.slice();
  const i = indexesOf(clean, (p) => p.item === 'pmt')[40];
  b[i * TS_PACKET_SIZE + 5 + 12] ^= 0x01; // inside the section body
  const r = analyze(b);
  t.same(failing(r), { '2.2': 1 }, 'the next PMT comes 200 ms later: no PMT_error');
  t.match(check(r, '2.2').detail, 'PMT on PID 0x1000');
});

t.test('2.3a PCR gap of 120 ms is one error, and so is 50 ms (limit 40 ms)', async (t) => {
  const gap = buildMux({ omit: (item, s) => item === 'pcr' && s > 4.0 && s < 4.1 });
  const r = analyze(gap.bytes);
  t.same(failing(r), { '2.3a': 1 }, 'not also a discontinuity');
  const late = buildMux({ pcrMs: 25, omit: (item, s) => item === 'pcr' && s > 4.01 && s < 4.03 });
  t.same(failing(analyze(late.bytes)), { '2.3a': 1 });
});

t.test('2.3b PCR jump without discontinuity_indicator', async (t) => {
  const jump = (ticks: number, di: boolean) =>
    buildMux({
      pcrAdjust: (n) => (n >= 150 ? ticks : 0),
      pcrDiscontinuity: (n) => di && n === 150,
    });
  const fwd = analyze(jump(2 * 27e6, false).bytes);
  t.same(failing(fwd), { '2.3b': 1 });
  t.match(check(fwd, '2.3b').detail, 'PID 0x0100');
  t.same(failing(analyze(jump(-27e6, false).bytes)), { '2.3b': 1 }, 'backwards');
  t.same(failing(analyze(jump(2 * 27e6, true).bytes)), {}, 'announced by DI');
});

t.test('2.4 PCR accuracy: 1000 ns off is an error, 100 ns is not', async (t) => {
  const jitter = (ticks: number) => buildMux({ pcrAdjust: (n) => (n === 100 ? ticks : 0) });
  const bad = analyze(jitter(27).bytes); // 27 ticks = 1000 ns
  t.same(failing(bad), { '2.4': 1 });
  t.match(check(bad, '2.4').detail, /PID 0x0100 max 100\d ns/);
  t.ok(Math.abs((check(bad, '2.4').firstAtSec ?? 0) - 3.0) < 0.01, 'PCR 100 at 3.0 s');
  const ok = analyze(jitter(3).bytes); // 111 ns
  t.same(failing(ok), {});
  t.match(check(ok, '2.4').detail, /max 11\d ns/);
});

t.test('2.4 a PCR clock 30 ppm off is still on a constant-rate line', async (t) => {
  const drift = buildMux({ pcrAdjust: (n) => Math.round(n * 30 * 0.81) }); // 30 ppm of 30 ms
  t.same(failing(analyze(drift.bytes)), {});
});

t.test('2.4 a piecewise-constant rate (a VBR muxer) has rate steps, not errors', async (t) => {
  // PCR i gets the value of a clock whose rate against bytes changes every 7 PCRs by ±0.01 %
  // to ±0.1 % (3–30 µs over 30 ms): each PCR is exact for the rate of its stretch.
  const rnd = prng(5);
  const adj: number[] = [0];
  let slope = 0;
  for (let n = 1; n < 400; n++) {
    if (n % 7 === 0) slope = Math.round((rnd() < 0.5 ? -1 : 1) * (80 + rnd() * 720));
    adj.push(adj[n - 1] + slope);
  }
  const m = buildMux({ pcrAdjust: (n) => adj[n] ?? 0 });
  const r = analyze(m.bytes);
  t.equal(check(r, '2.4').errors, 0, check(r, '2.4').detail ?? '');
  t.match(
    check(r, '2.4').detail,
    /PID 0x0100 (VBR, not assessed|max \d+ ns \(\d+ at rate steps\))/,
  );
});

t.test('2.4 single PCRs off by 0.6–3 µs are each an error, not taken for rate steps', async (t) => {
  const rnd = prng(9);
  const off = new Map<number, number>();
  for (let n = 20; n < 300; n += 10)
    off.set(n, Math.round((rnd() < 0.5 ? -1 : 1) * (17 + rnd() * 64)));
  const r = analyze(buildMux({ pcrAdjust: (n) => off.get(n) ?? 0 }).bytes);
  t.equal(check(r, '2.4').errors, off.size, check(r, '2.4').detail ?? '');
  t.notMatch(check(r, '2.4').detail, /rate steps|VBR/);
});

t.test('2.5 PTS gap of 800 ms', async (t) => {
  const m = buildMux({ omit: (item, s) => item === 'audio' && s > 4.0 && s < 4.8 });
  const r = analyze(m.bytes);
  t.same(failing(r), { '2.5': 1 });
  t.match(check(r, '2.5').detail, 'PID 0x0101');
  const short = buildMux({ omit: (item, s) => item === 'audio' && s > 4.0 && s < 4.6 });
  t.same(failing(analyze(short.bytes)), {});
});

t.test('2.6 scrambled packets without a CAT; none with a CAT', async (t) => {
  const scramble = (m: ReturnType<typeof buildMux>) => {
    const b = m.bytes.slice();
    for (const i of indexesOf(m, (p) => p.pid === VIDEO_PID && p.tNs > 5e9))
      b[i * TS_PACKET_SIZE + 3] |= 0x80;
    return b;
  };
  const r = analyze(scramble(clean));
  t.same(failing(r), { '2.6': 1 });
  t.equal(r.pids.find((p) => p.pid === VIDEO_PID)?.scrambled, true);
  const withCat = buildMux({ catMs: 1000 });
  const r2 = analyze(scramble(withCat));
  t.same(failing(r2), {});
  t.equal(r2.pids.find((p) => p.pid === 1)?.label, 'CAT');
});
