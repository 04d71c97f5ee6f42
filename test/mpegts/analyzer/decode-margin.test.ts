// Decode margin DTS − PCR per stream (ISO/IEC 13818-1 §2.4.2.2, §2.7.4, §2.4.2.6) on
// hand-built streams: a CBR program (20000 ticks of 27 MHz per packet, so the STC of packet i
// is base + 20000·i) with PCRs on 0x100 every 40 packets and audio PES headers on 0x101 whose
// DTS (or PTS) is set to a chosen margin over the STC at their own packet.
import t from 'tap';
import {
  AFC_ADAPTATION,
  AFC_PAYLOAD,
  PCR_MODULUS,
  PTS_MODULUS,
  TS_PACKET_SIZE,
  writeHeader,
  writeNullPacket,
  writePcrAt,
} from '../../../src/mpegts/packet.js';
import { encodeTimestamp } from '../../../src/mpegts/pes.js';
import { serializePat } from '../../../src/mpegts/psi/pat.js';
import { serializePmt } from '../../../src/mpegts/psi/pmt.js';
import { packetizeSections } from '../../../src/mpegts/psi/section.js';
import { formatReport } from '../../../src/mpegts/analyzer/report.js';
import type { AnalyzerOptions } from '../../../src/mpegts/analyzer/analyzer.js';
import { analyze } from './helpers.js';

const TICKS = 20_000;
const PAT = packetizeSections(
  serializePat({ transportStreamId: 1, version: 0, programs: [{ programNumber: 1, pid: 0x1000 }] }),
  0,
);
const PMT = packetizeSections(
  [
    serializePmt({
      programNumber: 1,
      version: 0,
      pcrPid: 0x100,
      programInfo: [],
      streams: [{ streamType: 0x0f, pid: 0x101, descriptors: [] }],
    }),
  ],
  0x1000,
);

interface Opts {
  /** PCR of packet 0 (27 MHz). */
  base?: number;
  /** Margin in ms of PES header n (DTS − STC at its packet). */
  margin: (n: number) => number;
  /** Write PTS = DTS + 500 ms and the DTS (PTS_DTS_flags '11'). */
  withDts?: boolean;
  packets?: number;
}

function build(o: Opts): Uint8Array {
  const n = o.packets ?? 4000;
  const base = o.base ?? 0;
  const b = new Uint8Array(n * TS_PACKET_SIZE);
  const cc = new Map<number, number>();
  const next = (pid: number): number => {
    const v = cc.get(pid) ?? 0;
    cc.set(pid, (v + 1) & 15);
    return v;
  };
  let pes = 0;
  for (let i = 0; i < n; i++) {
    const o0 = i * TS_PACKET_SIZE;
    const stc = base + i * TICKS;
    if (i % 100 === 0 || i % 100 === 1) {
      const src = i % 100 === 0 ? PAT : PMT;
      b.set(src.subarray(0, TS_PACKET_SIZE), o0);
      const pid = i % 100 === 0 ? 0 : 0x1000;
      b[o0 + 3] = (b[o0 + 3] & 0xf0) | next(pid);
    } else if (i % 40 === 2) {
      writeHeader(b, o0, 0x100, false, AFC_ADAPTATION, 0);
      b[o0 + 4] = 183;
      b[o0 + 5] = 0x10;
      writePcrAt(b, o0 + 6, stc % PCR_MODULUS);
      b.fill(0xff, o0 + 12, o0 + TS_PACKET_SIZE);
    } else if (i % 30 === 15) {
      const dts = Math.round((stc / 300 + o.margin(pes++) * 90) % PTS_MODULUS);
      writeHeader(b, o0, 0x101, true, AFC_PAYLOAD, next(0x101));
      const p = o0 + 4;
      b.set([0, 0, 1, 0xc0, 0, 178, 0x80, o.withDts ? 0xc0 : 0x80, o.withDts ? 10 : 5], p);
      if (o.withDts) {
        encodeTimestamp(b, p + 9, 0x3, (dts + 45_000) % PTS_MODULUS);
        encodeTimestamp(b, p + 14, 0x1, dts);
      } else {
        encodeTimestamp(b, p + 9, 0x2, dts);
      }
      b.fill(0x55, p + (o.withDts ? 19 : 14), o0 + TS_PACKET_SIZE);
    } else {
      writeNullPacket(b, o0);
    }
  }
  return b;
}

function margin(o: Opts, ao?: AnalyzerOptions) {
  const r = analyze(build(o), ao);
  const d = r.decodeMargin;
  if (!d) throw new Error('no decodeMargin');
  return { r, d, s: d.streams.find((x) => x.pid === 0x101) };
}

t.test('a normal margin: min/max per stream, no error, no warning', async (t) => {
  const { r, d, s } = margin({ margin: (n) => 300 + (n % 5) * 10 });
  t.equal(r.priority1Errors, 0);
  t.ok(s && s.count > 100, `PES measured: ${s?.count}`);
  t.equal(s?.minMs, 300);
  t.equal(s?.maxMs, 340);
  t.equal(d.errors, 0);
  t.equal(d.warnings, 0);
  t.equal(s?.label, 'audio aac');
  t.match(
    formatReport(r),
    /PID 0x0101 audio aac: DTS−PCR min 300\.0 ms max 340\.0 ms \(\d+ PES\)\n/,
  );
});

t.test('DTS before PCR is late: an error', async (t) => {
  const { d, s } = margin({ margin: (n) => (n === 50 ? -20 : 300) });
  t.equal(s?.minMs, -20);
  t.equal(s?.late, 1);
  t.equal(d.errors, 1);
});

t.test('DTS more than 1 s after PCR is over the T-STD limit: an error', async (t) => {
  const { d, s, r } = margin({ margin: (n) => (n < 3 ? 1200 : 400) });
  t.equal(s?.maxMs, 1200);
  t.equal(s?.overLimit, 3);
  t.equal(d.errors, 3);
  t.match(formatReport(r), /ERROR 3 over 1000 ms \(T-STD\)/);
  t.equal(margin({ margin: () => 1000 }).d.errors, 0, 'exactly 1000 ms is within');
});

t.test('below the warning threshold: a warning, configurable', async (t) => {
  const low = { margin: (n: number) => (n % 10 === 0 ? 50 : 300) };
  const { d, s, r } = margin(low);
  t.ok((s?.low ?? 0) > 0);
  t.equal(d.warnings, s?.low);
  t.equal(d.errors, 0);
  t.equal(d.minMarginMs, 100);
  t.match(formatReport(r), /warning \d+ low decode margin \(< 100 ms\)/);
  const relaxed = margin(low, { minDtsMarginMs: 40 });
  t.equal(relaxed.d.warnings, 0);
  t.equal(relaxed.d.minMarginMs, 40);
});

t.test('DTS is used when present, not PTS', async (t) => {
  const { s } = margin({ margin: () => 250, withDts: true });
  t.equal(s?.minMs, 250);
  t.equal(s?.maxMs, 250);
});

t.test('33-bit wrap of PCR and DTS', async (t) => {
  // PCR base wraps about 1.5 s in; DTS (300 ms ahead) wraps before it.
  const base = PCR_MODULUS - 27_000 * 1500;
  const { d, s } = margin({ base, margin: () => 300 });
  t.equal(s?.minMs, 300);
  t.equal(s?.maxMs, 300);
  t.equal(d.errors, 0);
});

t.test('no PCR on the program: nothing measured', async (t) => {
  const b = build({ margin: () => 300 });
  for (let o = 0; o < b.length; o += TS_PACKET_SIZE)
    if (((b[o + 1] & 0x1f) << 8) + b[o + 2] === 0x100) b[o + 5] = 0; // PCR flag off
  t.same(analyze(b).decodeMargin?.streams, []);
});
