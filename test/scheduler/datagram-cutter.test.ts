// DatagramCutter (src/scheduler/datagram-cutter.ts): datagrams of N packets, each with the output
// time the remuxer gave its first PCR packet, else its first packet, handed on as the packets
// arrive.
import t from 'tap';
import { DatagramCutter } from '../../src/scheduler/datagram-cutter.js';
import {
  PCR_MODULUS,
  TS_PACKET_SIZE,
  getPcr,
  hasPcr,
  writePcrOnlyPacket,
} from '../../src/mpegts/packet.js';
import { Remuxer } from '../../src/mpegts/remux/remuxer.js';
import { synthesize, simpleProgram } from '../helpers/synth.js';

/** Packets numbered from `first` (the index in bytes 4..7), and their times: time(i). */
function packets(
  first: number,
  count: number,
  time: (i: number) => number,
): { bytes: Uint8Array; times: Float64Array } {
  const bytes = new Uint8Array(count * TS_PACKET_SIZE).fill(0xff);
  const times = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const o = k * TS_PACKET_SIZE;
    bytes[o] = 0x47;
    new DataView(bytes.buffer).setUint32(o + 4, first + k);
    times[k] = time(first + k);
  }
  return { bytes, times };
}

function indexOf(dg: Uint8Array, k: number): number {
  return new DataView(dg.buffer, dg.byteOffset).getUint32(k * TS_PACKET_SIZE + 4);
}

interface Got {
  first: number;
  len: number;
  t27: number;
  /** Every packet of the datagram in sequence (read during the call). */
  whole: boolean;
  /** A view of the pushed bytes themselves (not copied). */
  view: boolean;
}

/** A cutter of `n`, and a push that records what comes out. */
function cutter(n: number): {
  cut: DatagramCutter;
  got: Got[];
  push: (first: number, count: number, time: (i: number) => number) => void;
} {
  const got: Got[] = [];
  let pushed: ArrayBufferLike | null = null;
  const cut = new DatagramCutter({ packetsPerDatagram: n }, (bytes, t27) => {
    const first = indexOf(bytes, 0);
    let whole = true;
    for (let k = 0; k < bytes.length / TS_PACKET_SIZE; k++)
      if (indexOf(bytes, k) !== first + k) whole = false;
    got.push({
      first,
      len: bytes.length / TS_PACKET_SIZE,
      t27,
      whole,
      view: bytes.buffer === pushed,
    });
  });
  const push = (first: number, count: number, time: (i: number) => number): void => {
    const p = packets(first, count, time);
    pushed = p.bytes.buffer;
    cut.push(p.bytes, p.times);
  };
  return { cut, got, push };
}

t.test('each datagram leaves with its first packet time, as soon as it is whole', async (t) => {
  // Uneven times (a VBR layout): the cutter takes them as given, nothing interpolated.
  const time = (i: number): number => 1e9 + i * 1000 + (i % 5) * 37;
  const { cut, got, push } = cutter(7);
  push(0, 20, time);
  t.same(
    got.map((g) => [g.first, g.len, g.t27]),
    [
      [0, 7, time(0)],
      [7, 7, time(7)],
    ],
    'two whole datagrams out during the push',
  );
  t.equal(cut.pendingPackets, 6, 'packets 14-19 wait for the 7th');
  push(20, 1, time);
  t.same(got[2], { first: 14, len: 7, t27: time(14), whole: true, view: false }, 'completed');
  t.equal(cut.pendingPackets, 0);
  t.ok(got[0].view && got[1].view, 'whole in one push: views of the pushed bytes, not copies');
  t.equal(cut.datagrams, 3);
});

t.test('a datagram that carries a PCR leaves at that PCR, whole or across pushes', async (t) => {
  // ISO/IEC 13818-1 §2.4.2.2: the PCR names its own packet's arrival. Packets 3 and 5 of the
  // first datagram, 9 of the second (which straddles two pushes) and 15 of the third carry one.
  const time = (i: number): number => 5e9 + i * 101_000;
  const p = packets(0, 21, time);
  for (const i of [3, 5, 9, 15]) {
    const o = i * TS_PACKET_SIZE;
    writePcrOnlyPacket(p.bytes, o, 0x100, 0, time(i) % PCR_MODULUS, false);
    new DataView(p.bytes.buffer).setUint32(o + 4 + 183 - 4, i); // keep the index readable
  }
  const got: number[] = [];
  const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (_b, t27) => got.push(t27));
  cut.push(p.bytes.subarray(0, 7 * TS_PACKET_SIZE), p.times.subarray(0, 7));
  cut.push(p.bytes.subarray(7 * TS_PACKET_SIZE, 10 * TS_PACKET_SIZE), p.times.subarray(7, 10));
  cut.push(p.bytes.subarray(10 * TS_PACKET_SIZE), p.times.subarray(10));
  t.same(got, [time(3), time(9), time(15)], "each at its first PCR's time");
  const plain = cutter(7);
  plain.push(0, 14, time);
  t.same(
    plain.got.map((g) => g.t27),
    [time(0), time(7)],
    'without a PCR: at its first packet',
  );
  // Handed to another thread mid-datagram, after its PCR: the time goes with it.
  const a = new DatagramCutter({ packetsPerDatagram: 7 }, () => undefined);
  a.push(p.bytes.subarray(7 * TS_PACKET_SIZE, 10 * TS_PACKET_SIZE), p.times.subarray(7, 10));
  const moved: number[] = [];
  const b = new DatagramCutter({ packetsPerDatagram: 7 }, (_b, t27) => moved.push(t27));
  b.restore(a.state());
  b.push(p.bytes.subarray(10 * TS_PACKET_SIZE, 14 * TS_PACKET_SIZE), p.times.subarray(10, 14));
  t.same(moved, [time(9)], 'restored: still at the PCR');
});

t.test('any chunking: in order, nothing lost or repeated, timed exactly', async (t) => {
  const time = (i: number): number => PCR_MODULUS - 50_000 + i * 977;
  for (const n of [1, 2, 3, 4, 7]) {
    const { got, push } = cutter(n);
    let at = 0;
    const sizes = [1, 3, 13, 100, 2, 7, 6, 8, 448];
    for (let k = 0; at < 3000; k++) {
      const c = Math.min(sizes[k % sizes.length], 3000 - at);
      push(at, c, time);
      at += c;
    }
    const bad = got.filter((g, d) => g.first !== d * n || g.len !== n || g.t27 !== time(g.first));
    t.equal(bad.length, 0, `${n} per datagram: ${got.length} datagrams in order, exact times`);
    t.ok(
      got.every((g) => g.whole),
      `${n} per datagram: every datagram whole`,
    );
    t.ok(
      got[got.length - 1].t27 > PCR_MODULUS,
      'times are used as given (unwrapped past 2^33·300)',
    );
  }
});

t.test('packets per datagram change at the next datagram boundary', async (t) => {
  const time = (i: number): number => i * 1000;
  const { cut, got, push } = cutter(7);
  const feed = (from: number, to: number): void => {
    for (let i = from; i < to; i += 13) push(i, Math.min(13, to - i), time);
  };
  feed(0, 100);
  t.equal(cut.setPacketsPerDatagram(4), 105, 'mid-datagram: from the next 7-packet boundary');
  feed(100, 601); // 601 = 105 + 124·4
  t.equal(cut.setPacketsPerDatagram(3), 601, 'on a boundary: from here');
  t.equal(cut.setPacketsPerDatagram(2), 601, 'changed again before it: same boundary, last size');
  feed(601, 1301);
  t.equal(cut.setPacketsPerDatagram(7), 1301);
  feed(1301, 2400);
  const sizeAt = (first: number): number =>
    first < 105 ? 7 : first < 601 ? 4 : first < 1301 ? 2 : 7;
  let next = 0;
  let bad = 0;
  for (const g of got) {
    if (g.first !== next || g.len !== sizeAt(g.first) || g.t27 !== g.first * 1000 || !g.whole)
      bad++;
    next = g.first + g.len;
  }
  t.equal(bad, 0, 'in order, no packet lost or repeated, sized by the change, timed exactly');
  t.equal(next + cut.pendingPackets, 2400, 'everything handed on but the next datagram');
  t.throws(() => cut.setPacketsPerDatagram(8), RangeError);
  t.throws(() => new DatagramCutter({ packetsPerDatagram: 0 }, () => undefined), RangeError);
});

t.test('with the remuxer: each datagram leaves at the PCR it carries', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram()],
    durationMs: 3000,
    muxRate: 3e6,
    withSdt: true,
    startPcr: PCR_MODULUS - 27e6, // the output clock wraps during the run
  });
  for (const cbr of [4e6, undefined]) {
    const sizes = new Map<number, number>();
    let pcrs = 0;
    let atHead = 0;
    let exact = 0;
    let withPcr = 0;
    let last = -Infinity;
    let backwards = 0;
    const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (b, t27) => {
      sizes.set(b.length / 188, (sizes.get(b.length / 188) ?? 0) + 1);
      if (!(t27 > last)) backwards++;
      last = t27;
      let first = true;
      for (let o = 0; o < b.length; o += 188)
        if (hasPcr(b, o)) {
          pcrs++;
          if (o === 0) atHead++;
          if (first) withPcr++;
          if (first && getPcr(b, o) === Math.round(t27) % PCR_MODULUS) exact++;
          first = false;
        }
    });
    const r = new Remuxer({ cbrBitrate: cbr, pcrAlign: 7 }, cut.push);
    const step = 1316 * 3;
    for (let o = 0; o < ts.length; o += step) {
      if (o === step * 100) {
        r.setMux({ pcrAlign: 4 });
        cut.setPacketsPerDatagram(4);
      }
      if (o === step * 200) {
        r.setMux({ pcrAlign: 3 });
        cut.setPacketsPerDatagram(3);
      }
      r.push(ts.subarray(o, o + step));
    }
    const mode = cbr ? 'CBR' : 'VBR';
    t.same([...sizes.keys()].sort(), [3, 4, 7], `${mode}: datagrams of 7, then 4, then 3 packets`);
    t.ok(pcrs > 50, `${mode}: ${pcrs} PCRs`);
    // VBR places a PCR off a head where datagrams come too sparsely for pcrIntervalMs.
    if (cbr) t.equal(atHead, pcrs, `${mode}: all ${pcrs} PCRs open a datagram`);
    else t.ok(atHead > pcrs * 0.9, `${mode}: ${atHead} of ${pcrs} PCRs open a datagram`);
    t.equal(exact, withPcr, `${mode}: a datagram with a PCR leaves at its (first) PCR, exactly`);
    t.equal(backwards, 0, `${mode}: times only go forward`);
  }
});

t.test('a sparse VBR output (the floor, ~350 kbit/s): every PCR opens a datagram', async (t) => {
  // The example's Test Card (a still picture, ~400 kbit/s): datagram heads ~26-30 ms apart
  // were taken as too sparse for PCRs at most 35 ms apart, PCRs went anywhere, now and then
  // two in one datagram, and the second left 25 ms before its time.
  const { ts } = synthesize({ programs: [simpleProgram()], durationMs: 4000, muxRate: 2.5e5 });
  let pcrs = 0;
  let atHead = 0;
  let twice = 0;
  let last = NaN;
  let widest = 0;
  const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (b, t27) => {
    let inThis = 0;
    for (let o = 0; o < b.length; o += 188)
      if (hasPcr(b, o)) {
        pcrs++;
        inThis++;
        if (o === 0) atHead++;
      }
    if (inThis > 1) twice++;
    if (inThis > 0) {
      if (last === last) widest = Math.max(widest, (t27 - last) / 27e3);
      last = t27;
    }
  });
  const r = new Remuxer({ pcrAlign: 7 }, cut.push);
  for (let o = 0; o < ts.length; o += 1316) r.push(ts.subarray(o, o + 1316));
  t.ok(pcrs > 80, `${pcrs} PCRs`);
  t.equal(atHead, pcrs, 'each at the head of its datagram');
  t.equal(twice, 0, 'never two in one datagram');
  t.ok(widest <= 35, `PCRs at most ${widest.toFixed(1)} ms apart`);
});

t.test(
  'the same place of the pushing buffer is handed on as the same view: nothing made per datagram',
  async (t) => {
    const seen: Uint8Array[] = [];
    const firsts: number[] = [];
    const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (bytes) => {
      seen.push(bytes);
      firsts.push(indexOf(bytes, 0));
    });
    // A remuxer pushes from one buffer: whole datagrams, then a straddling one (the carry).
    const buf = new Uint8Array(30 * TS_PACKET_SIZE);
    const times = new Float64Array(30);
    for (let round = 0; round < 3; round++) {
      const p = packets(round * 28, 28, (i) => i * 1000);
      buf.set(p.bytes);
      cut.push(buf.subarray(0, 28 * TS_PACKET_SIZE), times);
    }
    t.equal(seen.length, 12, '4 datagrams a push');
    t.same(
      firsts,
      [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77],
      'each read its own packets during the call',
    );
    for (let k = 0; k < 4; k++) {
      t.equal(seen[k], seen[k + 4], `datagram ${k}: the same view in every push`);
      t.equal(seen[k], seen[k + 8]);
    }
    const odd = packets(0, 10, (i) => i);
    cut.push(odd.bytes.subarray(0, 10 * TS_PACKET_SIZE), times); // 1 whole + 3 carried
    cut.push(packets(10, 11, (i) => i).bytes, times); // completes the carried one
    t.equal(indexOf(seen[13], 0), 7, 'a datagram across two pushes comes whole');
    t.equal(indexOf(seen[13], 6), 13);
  },
);
