// Remuxer.state/restore (a channel moved to another thread): a remuxer restored from another's
// state after a splice sends, for the same input, exactly what the original would have sent, so
// the joined output is one stream: continuity counters, PSI versions and the timeline go on (no
// CC error, no discontinuity, no PCR gap over 40 ms, no priority-1/2 error). The state crosses
// a thread boundary, so it goes through structuredClone here.
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector, priority12 } from '../../helpers/ts-check.js';
import { concatBytes } from '../../../src/mpegts/psi/section.js';

const { ts } = synthesize({
  programs: [simpleProgram(1, 0x100, 0x1000)],
  durationMs: 4000,
  muxRate: 3e6,
  pcrIntervalMs: 30,
  withSdt: true,
});

type Opts = ConstructorParameters<typeof Remuxer>[0];

/**
 * The first `at` bytes into one remuxer; then a splice and, from its state, a second remuxer
 * fed the rest; the original is fed the rest too. Returns both outputs after the move.
 */
function move(opts: Opts, at: number, prep?: (r: Remuxer) => void) {
  const before = collector();
  let sinkA = before.sink;
  const a = new Remuxer(opts, (p) => sinkA(p));
  prep?.(a);
  for (let o = 0; o < at; o += 1316) a.push(ts.subarray(o, Math.min(at, o + 1316)));
  a.splice();
  const state = structuredClone(a.state());
  const kept = collector();
  sinkA = kept.sink;
  const moved = collector();
  const b = new Remuxer(opts, moved.sink);
  prep?.(b);
  b.restore(state);
  for (let o = at; o < ts.length; o += 1316) {
    const chunk = ts.subarray(o, Math.min(ts.length, o + 1316));
    a.push(chunk);
    b.push(chunk);
  }
  a.end();
  b.end();
  return { before: before.bytes(), kept: kept.bytes(), moved: moved.bytes(), b };
}

const HALF = Math.floor(ts.length / 188 / 2) * 188;

for (const [name, opts] of [
  ['VBR', { pcrAlign: 7 }],
  ['VBR unaligned', {}],
  ['CBR', { cbrBitrate: 4e6, pcrAlign: 7 }],
] as [string, Opts][]) {
  t.test(`${name}: the restored remuxer sends what the original would have`, async (t) => {
    const r = move(opts, HALF, (x) => {
      x.setNit([]);
      x.setUtcReference(0, Date.UTC(2026, 11, 5, 12));
    });
    t.ok(r.moved.length > 188 * 1000, `${r.moved.length / 188} packets after the move`);
    t.same(Buffer.from(r.moved).equals(Buffer.from(r.kept)), true, 'byte for byte');
    const joined = concatBytes([r.before, r.moved]);
    const chk = checkStream(joined, 0x100, 0x1000);
    t.equal(chk.ccErrors, 0, 'CC continuous on every PID across the move');
    t.equal(chk.discontinuities, 0, 'no discontinuity_indicator');
    t.ok(chk.minPcrStepMs > 0, 'PCR only goes forward');
    t.ok(chk.maxPcrGapMs <= 40, `PCR gap ${chk.maxPcrGapMs.toFixed(1)} ms ≤ 40`);
    t.same(priority12(joined), [], 'no priority-1/2 error');
    t.ok(r.b.stats.packetsOut * 188 >= joined.length - 188 * 7, 'its counters go on too');
  });
}

t.test('an identity change after restore bumps versions from the carried ones', async (t) => {
  const a = new Remuxer({ serviceName: 'A' }, () => {});
  a.push(ts.subarray(0, HALF));
  a.splice();
  const carried = structuredClone(a.state());
  const b = new Remuxer({ serviceName: 'A' }, () => {});
  b.restore(carried);
  t.equal(b.setIdentity({ serviceName: 'A' }), false, 'the same name: no new version');
  t.equal(b.setIdentity({ serviceName: 'B' }), true, 'a new name: a change');
  const v = (x: { version: number } | null): number => x?.version ?? -1;
  t.equal(v(b.state().psi.sdt), (v(carried.psi.sdt) + 1) & 31, 'the SDT goes to the next version');
  t.equal(v(b.state().psi.pmt), v(carried.psi.pmt), 'the PMT keeps its version');
  t.equal(b.state().psi.sdt?.cc, carried.psi.sdt?.cc, 'and the SDT its continuity counter');
});

t.test('the EIT flags go with the state: the same EIT set again keeps the SDT', async (t) => {
  // A moved channel sets its EIT p/f and schedule on the new remuxer as on the old. Before, the
  // remuxer's own flags started false after restore: setting p/f again wrote an SDT without
  // EIT_schedule_flag (a new version), and the schedule another (EN 300 468 §5.2.3).
  const eitPf = (version: number): Uint8Array[] => [new Uint8Array([0x4e, version])];
  const schedule = [new Uint8Array([0x50, 0xf0, 0x00])];
  const a = new Remuxer({ serviceName: 'A' }, () => {});
  a.setEitPf(eitPf);
  a.setEitSchedule(schedule);
  a.push(ts.subarray(0, HALF));
  a.splice();
  const carried = structuredClone(a.state());
  t.same(carried.psi.flags, { eitPf: true, eitSchedule: true, passSdt: false });
  const b = new Remuxer({ serviceName: 'A' }, () => {});
  b.restore(carried);
  b.setEitPf(eitPf);
  b.setEitSchedule(schedule);
  const v = (x: { version: number } | null): number => x?.version ?? -1;
  t.equal(v(b.state().psi.sdt), v(carried.psi.sdt), 'the SDT keeps its version');
  b.setEitSchedule([]);
  t.equal(v(b.state().psi.sdt), (v(carried.psi.sdt) + 1) & 31, 'a real change still moves it');
  t.same(b.state().psi.flags, { eitPf: true, eitSchedule: false, passSdt: false });
});

t.test('a cluster takeover (continueFrom) takes the EIT flags too', async (t) => {
  const eitPf = (version: number): Uint8Array[] => [new Uint8Array([0x4e, version])];
  const a = new Remuxer({ serviceName: 'A' }, () => {});
  a.setEitPf(eitPf);
  a.setEitSchedule([new Uint8Array([0x50, 0xf0, 0x00])]);
  a.push(ts.subarray(0, HALF));
  const held = structuredClone(a.psiState());
  const b = new Remuxer({ serviceName: 'A' }, () => {});
  b.continueFrom(held);
  b.setEitPf(eitPf);
  const v = (x: { version: number } | null): number => x?.version ?? -1;
  t.equal(v(b.psiState().sdt), v(held.sdt), 'p/f set again: the SDT receivers hold stays');
  t.same(b.psiState().flags, held.flags, 'EIT_schedule_flag kept');
});

t.test('the input counters go on after restore (Prometheus counters never go back)', async (t) => {
  // headend_channel_input_skipped_bytes_total and the RAP starts come from the remuxer's framer
  // and start gate, which push() copies into stats: before, a restored remuxer's new framer and
  // gate put them back to zero at its first push.
  const a = new Remuxer({}, () => {});
  a.push(new Uint8Array(500).fill(0x33)); // garbage before the stream: skipped
  a.push(ts.subarray(0, HALF));
  a.splice();
  const carried = structuredClone(a.state());
  t.equal(carried.stats.bytesSkipped, 500, 'skipped before the move');
  t.ok(carried.stats.rapStarts >= 1, `${carried.stats.rapStarts} RAP start(s) before`);
  const b = new Remuxer({}, () => {});
  b.restore(carried);
  b.push(ts.subarray(HALF));
  t.equal(b.stats.bytesSkipped, 500, 'skipped bytes go on from the carried count');
  t.ok(b.stats.rapStarts > carried.stats.rapStarts, 'RAP starts go on (the splice adds one)');
});
