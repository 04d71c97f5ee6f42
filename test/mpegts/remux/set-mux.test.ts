// Remuxer.setMux (hot reload of a mux-only change): a new CBR rate (or CBR↔VBR), PSI interval or
// PCR alignment applies from the next slots while continuity counters and the timeline carry on:
// no CC error, no discontinuity, no PCR gap over 40 ms, PCR accuracy (TR 101 290 2.4) on both
// sides, and the output really runs at the new settings afterwards.
import t from 'tap';
import type { Test } from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { pcrDiff } from '../../../src/mpegts/packet.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector, priority12 } from '../../helpers/ts-check.js';
import type { StreamCheck } from '../../helpers/ts-check.js';

const { ts } = synthesize({
  programs: [simpleProgram(1, 0x100, 0x1000)],
  durationMs: 4000,
  muxRate: 3e6,
  pcrIntervalMs: 30,
  withSdt: true,
});
const HALF = Math.floor(ts.length / 188 / 2) * 188;

/** Remuxes the input in 7-packet chunks, calling `change` at the half; returns the output. */
function remux(
  opts: ConstructorParameters<typeof Remuxer>[0],
  change: ((r: Remuxer) => void) | null,
): { out: Uint8Array; at: number; r: Remuxer } {
  const c = collector();
  const r = new Remuxer(opts, c.sink);
  let at = -1;
  for (let o = 0; o < ts.length; o += 1316) {
    if (o >= HALF && at < 0) {
      at = c.bytes().length / 188;
      change?.(r);
    }
    r.push(ts.subarray(o, Math.min(ts.length, o + 1316)));
  }
  r.end();
  return { out: c.bytes(), at, r };
}

/** Mean bit rate between the first PCR at packet ≥ from and the last PCR before packet to. */
function rateBetween(chk: StreamCheck, from: number, to: number): number {
  const ps = chk.pcrs.filter(([i]) => i >= from && i < to);
  const [i0, p0] = ps[0];
  const [i1, p1] = ps[ps.length - 1];
  return ((i1 - i0) * 188 * 8 * 27e6) / pcrDiff(p1, p0);
}

/** Continuity, timeline and analyzer checks that must hold across every change. */
function clean(t: Test, out: Uint8Array, label: string): StreamCheck {
  const chk = checkStream(out, 0x100, 0x1000);
  t.equal(chk.ccErrors, 0, `${label}: CC continuous on every PID`);
  t.equal(chk.discontinuities, 0, `${label}: no discontinuity_indicator`);
  t.ok(chk.minPcrStepMs > 0, `${label}: PCR only goes forward`);
  t.ok(chk.maxPcrGapMs <= 40, `${label}: PCR gap ${chk.maxPcrGapMs.toFixed(1)} ms ≤ 40`);
  t.same(priority12(out), [], `${label}: no priority-1/2 error (PCR accuracy included)`);
  return chk;
}

// Skip this many packets after the change before measuring the new rate (≈ 100 ms at 6 Mbit/s).
const SETTLE = 400;

t.test('a CBR rate change re-anchors the line: the new rate, no gap, no CC error', async (t) => {
  for (const align of [1, 7]) {
    const { out, at, r } = remux({ cbrBitrate: 4e6, pcrAlign: align }, (r) =>
      t.equal(r.setMux({ cbrBitrate: 6e6 }), true, 'a change'),
    );
    const chk = clean(t, out, `align ${align}`);
    const before = rateBetween(chk, 0, at);
    const after = rateBetween(chk, at + SETTLE, chk.packets);
    t.ok(Math.abs(before / 4e6 - 1) < 0.002, `before: ${before.toFixed(0)} bit/s`);
    t.ok(Math.abs(after / 6e6 - 1) < 0.002, `after: ${after.toFixed(0)} bit/s`);
    if (align > 1) {
      const heads = chk.pcrs.filter(([i]) => i % align === 0).length;
      t.equal(heads, chk.pcrs.length, 'every PCR still opens a datagram');
    }
    t.equal(r.stats.splices, 0, 'no splice');
  }
  // Down too, and a setMux with the same rate changes nothing.
  const { out, at } = remux({ cbrBitrate: 5e6 }, (r) => {
    t.equal(r.setMux({ cbrBitrate: 5e6 }), false, 'same rate: no change');
    r.setMux({ cbrBitrate: 2e6 });
  });
  const chk = clean(t, out, '5M → 2M');
  const after = rateBetween(chk, at + SETTLE, chk.packets);
  t.ok(Math.abs(after / 2e6 - 1) < 0.002, `after: ${after.toFixed(0)} bit/s`);
});

t.test('CBR → VBR and VBR → CBR in place', async (t) => {
  {
    const { out, at } = remux({ cbrBitrate: 4e6, pcrAlign: 7 }, (r) =>
      r.setMux({ cbrBitrate: null }),
    );
    const chk = clean(t, out, 'CBR → VBR');
    const tail = out.subarray((at + SETTLE) * 188);
    t.ok(countNulls(out.subarray(0, at * 188)) > at / 2, 'CBR before: mostly null padding');
    // VBR pads only up to its floor density (8 packets per 35 ms, remuxer.ts walk()).
    t.ok(
      countNulls(tail) < tail.length / 188 / 10,
      `next to no null padding once VBR (${((countNulls(tail) * 18800) / tail.length).toFixed(1)} %)`,
    );
    const after = rateBetween(chk, at + SETTLE, chk.packets);
    t.ok(after < 2e6, `VBR runs at the content's rate: ${after.toFixed(0)} bit/s`);
  }
  {
    const { out, at } = remux({ pcrAlign: 7 }, (r) => r.setMux({ cbrBitrate: 5e6 }));
    const chk = clean(t, out, 'VBR → CBR');
    t.ok(countNulls(out.subarray(0, at * 188)) < at / 10, 'VBR before: next to no null padding');
    const after = rateBetween(chk, at + SETTLE, chk.packets);
    t.ok(Math.abs(after / 5e6 - 1) < 0.002, `after: ${after.toFixed(0)} bit/s`);
  }
});

t.test('a new PSI interval applies from the next repetition', async (t) => {
  for (const [from, to] of [
    [100, 40],
    [40, 100],
  ]) {
    const { out, at } = remux({ cbrBitrate: 4e6, psiIntervalMs: from }, (r) =>
      r.setMux({ psiIntervalMs: to }),
    );
    clean(t, out, `${from} → ${to} ms`);
    const head = checkStream(out.subarray(0, at * 188), 0x100, 0x1000);
    const tail = checkStream(out.subarray(at * 188), 0x100, 0x1000);
    t.ok(head.maxPatGapMs <= from, `PAT every ≤ ${from} ms before: ${head.maxPatGapMs.toFixed(1)}`);
    t.ok(
      tail.maxPatGapMs <= to && tail.maxPatGapMs > 0.8 * to,
      `PAT every ≤ ${to} ms after: ${tail.maxPatGapMs.toFixed(1)}`,
    );
    t.ok(tail.maxPmtGapMs <= to, `PMT every ≤ ${to} ms after: ${tail.maxPmtGapMs.toFixed(1)}`);
    // No gap across the change either.
    const all = checkStream(out, 0x100, 0x1000);
    t.ok(all.maxPatGapMs <= Math.max(from, to), `PAT across: ${all.maxPatGapMs.toFixed(1)} ms`);
  }
});

t.test('a new PCR alignment counts datagrams from the old one’s next head', async (t) => {
  const { out, at, r } = remux({ cbrBitrate: 4e6, pcrAlign: 7 }, (r) => r.setMux({ pcrAlign: 4 }));
  const chk = clean(t, out, '7 → 4');
  const switchAt = Math.ceil(at / 7) * 7;
  const head = chk.pcrs.filter(([i]) => i < switchAt);
  const tail = chk.pcrs.filter(([i]) => i >= switchAt);
  t.ok(head.length > 10 && tail.length > 10);
  t.ok(
    head.every(([i]) => i % 7 === 0),
    'before: PCR at 7-packet datagram heads',
  );
  t.ok(
    tail.every(([i]) => (i - switchAt) % 4 === 0),
    'after: PCR at 4-packet datagram heads from the switch',
  );
  t.notOk(
    tail.every(([i]) => i % 7 === 0),
    'after: not on the old grid',
  );
  t.equal(r.stats.splices, 0);
});

function countNulls(b: Uint8Array): number {
  let n = 0;
  for (let o = 0; o + 188 <= b.length; o += 188)
    if ((((b[o + 1] & 0x1f) << 8) | b[o + 2]) === 0x1fff) n++;
  return n;
}
