import t from 'tap';
import { DatagramTimeline } from '../../src/scheduler/timeline.js';
import {
  AFC_ADAPTATION,
  AFC_PAYLOAD,
  PCR_MODULUS,
  TS_PACKET_SIZE,
  writeHeader,
  writePcrAt,
  hasPcr,
} from '../../src/mpegts/packet.js';
import { Remuxer } from '../../src/mpegts/remux/remuxer.js';
import { synthesize, simpleProgram } from '../helpers/synth.js';

const PCR_PID = 0x100;

/**
 * Packets numbered from `first`: packet i carries its index in bytes 4..7; every packet in
 * `pcrAt` (index → raw PCR value) is a PCR-only packet of PCR_PID (index in bytes 12..15).
 */
function packets(
  first: number,
  count: number,
  pcrAt: Map<number, number>,
  disc = new Set<number>(),
): Uint8Array {
  const b = new Uint8Array(count * TS_PACKET_SIZE).fill(0xff);
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const o = k * TS_PACKET_SIZE;
    const pcr = pcrAt.get(i);
    if (pcr !== undefined) {
      writeHeader(b, o, PCR_PID, false, AFC_ADAPTATION, 0);
      b[o + 4] = 183;
      b[o + 5] = 0x10 | (disc.has(i) ? 0x80 : 0);
      writePcrAt(b, o + 6, pcr);
      new DataView(b.buffer).setUint32(o + 12, i);
    } else {
      writeHeader(b, o, 0x200, false, AFC_PAYLOAD, i & 15);
      new DataView(b.buffer).setUint32(o + 4, i);
    }
  }
  return b;
}

function indexOf(dg: Uint8Array, k: number): number {
  const o = k * TS_PACKET_SIZE;
  const v = new DataView(dg.buffer, dg.byteOffset);
  return (dg[o + 3] & 0x20) !== 0 ? v.getUint32(o + 12) : v.getUint32(o + 4);
}

interface Got {
  first: number;
  len: number;
  pcr: number;
}

function drain(tl: DatagramTimeline): Got[] {
  const got: Got[] = [];
  tl.drain((bytes, pcr27) => got.push({ first: indexOf(bytes, 0), len: bytes.length, pcr: pcr27 }));
  return got;
}

t.test('CBR: every datagram is timed exactly by byte position', async (t) => {
  // 1000 ticks per packet, PCR every 10 packets from 5 on.
  const pcrs = new Map<number, number>();
  for (let i = 5; i < 200; i += 10) pcrs.set(i, 1_000_000 + i * 1000);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 200, pcrs));
  const got = drain(tl);
  // Last PCR at 195: datagrams starting ≤ 195 and complete (≤ packet 199) are known.
  t.equal(got.length, 28, 'datagrams 0..27 (27 starts at 189, ends 195)');
  got.forEach((g, d) => {
    t.equal(g.first, d * 7, 'in order, groups of 7');
    t.equal(g.len, 7 * 188);
    t.equal(g.pcr, 1_000_000 + d * 7 * 1000, `datagram ${d} time`);
  });
  t.equal(tl.pendingPackets, 200 - 28 * 7);
});

t.test('VBR: interpolation per PCR interval, before the first PCR extrapolated back', async (t) => {
  // PCR at 3 (t=0), 10 (t=7000: 1000/packet), 24 (t=7000+14*500: 500/packet).
  const pcrs = new Map([
    [3, 0],
    [10, 7000],
    [24, 14000],
  ]);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 5, pcrs));
  t.same(drain(tl), [], 'one PCR: no rate yet for datagram 0 (starts before it)');
  tl.push(packets(5, 9, pcrs)); // up to packet 13
  let got = drain(tl);
  t.same(
    got.map((g) => g.pcr),
    [-3000, 4000],
    'datagram 0 extrapolated back; datagram 1 (packet 7) interpolated',
  );
  tl.push(packets(14, 16, pcrs)); // up to packet 29
  got = drain(tl);
  t.same(
    got.map((g) => g.pcr),
    [7000 + 4 * 500, 7000 + 11 * 500],
    'packets 14 and 21 in the 500-tick interval',
  );
  t.same(drain(tl), [], 'datagram 4 (packet 28) waits for the next PCR');
  tl.push(packets(30, 10, new Map([[35, 14000 + 11 * 500]])));
  got = drain(tl);
  t.same(
    got.map((g) => [g.first, g.pcr]),
    [[28, 14000 + 4 * 500]],
    'tail timed by the next PCR',
  );
});

t.test('a datagram starting on a PCR packet takes the PCR itself', async (t) => {
  const pcrs = new Map([
    [0, 100],
    [7, 100 + 7 * 333 * 3],
  ]);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 14, pcrs));
  const got = drain(tl);
  t.same(
    got.map((g) => g.pcr),
    [100, pcrs.get(7)],
  );
});

t.test('PCR wrap-around at 2^33·300 is unwrapped', async (t) => {
  const start = PCR_MODULUS - 5 * 1000;
  const pcrs = new Map<number, number>();
  for (let i = 0; i < 70; i += 7) pcrs.set(i, (start + i * 1000) % PCR_MODULUS);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 70, pcrs));
  const got = drain(tl);
  t.equal(got.length, 10);
  got.forEach((g, d) => t.equal(g.pcr, start + d * 7000, `datagram ${d} continues past the wrap`));
  t.ok(got[9].pcr > PCR_MODULUS, 'unwrapped beyond the modulus');
});

t.test('fewer packets per datagram, packets pushed one at a time', async (t) => {
  const pcrs = new Map<number, number>();
  for (let i = 0; i < 40; i += 4) pcrs.set(i, i * 600);
  const tl = new DatagramTimeline({ packetsPerDatagram: 3 });
  for (let i = 0; i < 40; i++) tl.push(packets(i, 1, pcrs));
  const got = drain(tl);
  t.equal(got.length, 13, 'datagrams up to the one starting on the PCR at 36');
  got.forEach((g, d) => {
    t.equal(g.len, 3 * 188);
    t.equal(g.pcr, d * 3 * 600);
  });
});

t.test('a PCR jump or discontinuity starts a new timeline', async (t) => {
  const pcrs = new Map([
    [0, 0],
    [7, 7000],
    [14, 5e9], // > 1 s forward: a jump
    [21, 5e9 + 7000],
  ]);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 28, pcrs));
  const got = drain(tl);
  t.same(
    got.map((g) => g.pcr),
    [0, 7000, 5e9, 5e9 + 7000],
  );
  t.equal(tl.stats.discontinuities, 1);

  const tl2 = new DatagramTimeline({ packetsPerDatagram: 2 });
  const p2 = new Map([
    [0, 0],
    [4, 4000],
    [8, 2000], // backwards, flagged
  ]);
  tl2.push(packets(0, 10, p2, new Set([8])));
  const g2 = drain(tl2);
  t.same(
    g2.map((g) => g.pcr),
    [0, 2000, 4000, 6000, 2000],
    'datagram 3 (packets 6-7) keeps the old rate; the new timeline starts at packet 8',
  );
});

t.test(
  'bytes handed out are valid during the call; blocks are reused, not reallocated',
  async (t) => {
    const pcrs = new Map<number, number>();
    for (let i = 0; i < 7000; i += 7) pcrs.set(i, i * 100);
    const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
    const firsts: number[] = [];
    const lasts: number[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 7000; i += 50) {
      tl.push(packets(i, Math.min(50, 7000 - i), pcrs));
      tl.drain((b) => {
        firsts.push(indexOf(b, 0));
        lasts.push(indexOf(b, 6));
        buffers.add(b.buffer);
      });
    }
    t.equal(firsts.length, 1000);
    t.ok(
      firsts.every((f, d) => f === d * 7 && lasts[d] === d * 7 + 6),
      'every datagram whole and in order while its block is refilled',
    );
    t.ok(buffers.size <= 3, `1000 datagrams (16 blocks) out of ${buffers.size} buffers`);
  },
);

t.test('rejects a bad packetsPerDatagram', async (t) => {
  t.throws(() => new DatagramTimeline({ packetsPerDatagram: 0 }));
  t.throws(() => new DatagramTimeline({ packetsPerDatagram: 8 }));
});

t.test('packets per datagram change in place at the next datagram boundary', async (t) => {
  // 1000 ticks per packet, a PCR every 5 packets: every datagram's time is first·1000.
  const pcrs = new Map<number, number>();
  for (let i = 0; i < 3000; i += 5) pcrs.set(i, i * 1000);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  const got: Got[] = [];
  const kept: Uint8Array[] = [];
  const take = (): void =>
    tl.drain((bytes, pcr27) => {
      kept.push(bytes.slice());
      got.push({ first: indexOf(bytes, 0), len: bytes.length, pcr: pcr27 });
    });
  let at = 0;
  const push = (n: number): void => {
    for (let k = 0; k < n; k += 13) {
      const c = Math.min(13, n - k);
      tl.push(packets(at, c, pcrs));
      at += c;
      take();
    }
  };
  push(100);
  t.equal(tl.setPacketsPerDatagram(4), 105, 'mid-datagram: from the next 7-packet boundary');
  push(501); // 601 = 105 + 124·4
  t.equal(tl.setPacketsPerDatagram(3), 601, 'on a boundary: from here');
  t.equal(tl.setPacketsPerDatagram(2), 601, 'changed again before it: same boundary, last size');
  push(700); // 1301
  t.equal(tl.setPacketsPerDatagram(7), 1301);
  push(1099); // 2400 (several whole blocks of 7)
  take();
  const sizeAt = (first: number): number =>
    first < 105 ? 7 : first < 601 ? 4 : first < 1301 ? 2 : 7;
  let next = 0;
  let bad = 0;
  for (const g of got) {
    if (g.first !== next || g.len !== sizeAt(g.first) * 188 || g.pcr !== g.first * 1000) bad++;
    next = g.first + g.len / 188;
  }
  t.equal(bad, 0, 'in order, no packet lost or repeated, sized by the change, timed exactly');
  t.ok(next > 2380, `handed out up to packet ${next}`);
  t.ok(
    kept.every((b) => {
      const first = indexOf(b, 0);
      for (let k = 0; k < b.length / 188; k++) if (indexOf(b, k) !== first + k) return false;
      return true;
    }),
    'no view was overwritten',
  );
  t.equal(tl.pendingPackets, 2400 - next);
});

t.test('a size change after the whole block was handed out', async (t) => {
  const pcrs = new Map<number, number>();
  for (let i = 0; i < 200; i++) pcrs.set(i, i * 1000);
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  tl.push(packets(0, 70, pcrs));
  t.equal(drain(tl).length, 10);
  t.equal(tl.pendingPackets, 0);
  t.equal(tl.setPacketsPerDatagram(5), 70);
  tl.push(packets(70, 30, pcrs));
  const got = drain(tl);
  t.same(
    got.map((g) => [g.first, g.len / 188, g.pcr]),
    [
      [70, 5, 70_000],
      [75, 5, 75_000],
      [80, 5, 80_000],
      [85, 5, 85_000],
      [90, 5, 90_000],
      [95, 5, 95_000],
    ],
  );
  t.throws(() => tl.setPacketsPerDatagram(8));
});

t.test('with the remuxer: every PCR still opens a datagram across a size change', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram()],
    durationMs: 3000,
    muxRate: 3e6,
    withSdt: true,
  });
  const tl = new DatagramTimeline({ packetsPerDatagram: 7 });
  const r = new Remuxer({ cbrBitrate: 4e6, pcrAlign: 7 }, (p) => tl.push(p));
  const sizes = new Map<number, number>();
  let pcrs = 0;
  let atHead = 0;
  const take = (): void =>
    tl.drain((b) => {
      sizes.set(b.length / 188, (sizes.get(b.length / 188) ?? 0) + 1);
      for (let o = 0; o < b.length; o += 188)
        if (hasPcr(b, o)) {
          pcrs++;
          if (o === 0) atHead++;
        }
    });
  const step = 1316 * 3;
  for (let o = 0; o < ts.length; o += step) {
    if (o === step * 100) {
      r.setMux({ pcrAlign: 4 });
      tl.setPacketsPerDatagram(4);
    }
    if (o === step * 200) {
      r.setMux({ pcrAlign: 3 });
      tl.setPacketsPerDatagram(3);
    }
    r.push(ts.subarray(o, o + step));
    take();
  }
  t.same([...sizes.keys()].sort(), [3, 4, 7], 'datagrams of 7, then 4, then 3 packets');
  t.ok(pcrs > 50);
  t.equal(atHead, pcrs, `${atHead} of ${pcrs} PCRs open a datagram`);
});
