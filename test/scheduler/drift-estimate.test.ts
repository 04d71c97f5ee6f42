import t from 'tap';
import { DriftEstimate } from '../../src/scheduler/drift-estimate.js';

const S = 1e9;

/** Feeds `seconds` of 100 ms lead samples lead(s) (ns) with the correction skew(s). */
function feed(
  d: DriftEstimate,
  from: number,
  seconds: number,
  lead: (s: number) => number,
  skew: (s: number) => number = () => 0,
): number {
  let blocks = 0;
  for (let s = from; s < from + seconds; s += 0.1) {
    if (d.add(s * S, 0.1 * S, lead(s), skew(s))) blocks++;
  }
  return blocks;
}

t.test('nothing before four blocks of 5 s; then the slope of the lead', async (t) => {
  const d = new DriftEstimate();
  // A source 12 ppm fast: its lead grows by 12 µs a second.
  feed(d, 100, 19, (s) => 300e6 + 12e3 * s);
  t.ok(Number.isNaN(d.value), 'three blocks: no estimate yet');
  feed(d, 119, 2, (s) => 300e6 + 12e3 * s);
  t.ok(Math.abs(d.value * 1e6 - 12) < 1e-6, `rate ${(d.value * 1e6).toFixed(6)} ppm`);
  t.ok(d.error < 1e-9, `exact line: error ${d.error}`);
});

t.test('the correction applied meanwhile is taken back out', async (t) => {
  // A source 20 ppm fast whose lead is being corrected by −20 ppm: the lead stays put, and the
  // rate is still the source's.
  const d = new DriftEstimate();
  feed(
    d,
    0,
    60,
    () => 300e6,
    () => -20e-6,
  );
  t.ok(Math.abs(d.value * 1e6 - 20) < 0.01, `rate ${(d.value * 1e6).toFixed(4)} ppm`);
});

t.test('noise shows in the error, and ten minutes are held', async (t) => {
  const d = new DriftEstimate();
  let seed = 11;
  const noise = (): number => {
    seed = (seed * 16807) % 2147483647;
    return ((seed % 2001) - 1000) * 1e3; // ±1 ms
  };
  feed(d, 0, 60, (s) => 300e6 + 5e3 * s + noise());
  const early = d.error;
  t.ok(Math.abs(d.value * 1e6 - 5) < 4 * early * 1e6 + 0.5, `rate ${(d.value * 1e6).toFixed(2)}`);
  t.ok(early > 1e-8, `error ${(early * 1e6).toFixed(3)} ppm`);
  feed(d, 60, 1200, (s) => 300e6 + 5e3 * s + noise());
  t.ok(d.error < early, `error after 20 min ${(d.error * 1e6).toFixed(3)} ppm`);
  t.ok(Math.abs(d.value * 1e6 - 5) < 0.2, `rate ${(d.value * 1e6).toFixed(3)} ppm`);
  // The source changes to 0 ppm: after ten more minutes the old slope is gone from the fit.
  feed(d, 1260, 610, () => 300e6 + 5e3 * 1260 + noise());
  t.ok(Math.abs(d.value * 1e6) < 0.2, `rate after the change ${(d.value * 1e6).toFixed(3)} ppm`);
});

t.test('a reset in the middle of a block leaves nothing of it in the next fit', async (t) => {
  // A recalibrate lands anywhere in a block: the half block before it (a lead 100 ms deeper)
  // must not be averaged into the first block after it.
  const d = new DriftEstimate();
  feed(d, 0, 2.5, () => 400e6);
  d.reset();
  feed(d, 2.5, 30, (s) => 300e6 + 3e3 * s);
  t.ok(Math.abs(d.value * 1e6 - 3) < 1e-6, `rate ${(d.value * 1e6).toFixed(6)} ppm`);
  t.ok(d.error < 1e-9, `an exact line again: error ${d.error}`);
});

t.test('reset forgets; state and restore go on where it was', async (t) => {
  const d = new DriftEstimate();
  feed(d, 0, 30, (s) => 7e3 * s);
  const copy = new DriftEstimate();
  copy.restore(structuredClone(d.state()));
  feed(d, 30, 30, (s) => 7e3 * s);
  feed(copy, 30, 30, (s) => 7e3 * s);
  t.equal(copy.value, d.value, 'the copy fits the same line');
  d.reset();
  t.ok(Number.isNaN(d.value) && Number.isNaN(d.error));
  t.ok(Math.abs(copy.value * 1e6 - 7) < 1e-6);
});
