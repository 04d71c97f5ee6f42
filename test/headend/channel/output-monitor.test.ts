// OutputMonitor (src/headend/channel/output-monitor.ts): PSI repetition and PCR interval
// histograms and TR 101 290 counters of a channel's own output. The output is made by our
// Remuxer (PSI every 100 ms, PCR aligned to 7-packet datagrams, CBR 4 Mbit/s) from a synthetic
// input and cut into timed datagrams by DatagramCutter, as a Channel does; hand-built
// PCR-only packets check the PCR arithmetic (wrap, discontinuity_indicator).

import t from 'tap';
import { OutputMonitor } from '../../../src/headend/channel/output-monitor.js';
import { Analyzer } from '../../../src/mpegts/analyzer/index.js';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { DatagramCutter } from '../../../src/scheduler/datagram-cutter.js';
import { buildLongSection, packetizeSections } from '../../../src/mpegts/psi/section.js';
import { serializePat } from '../../../src/mpegts/psi/pat.js';
import {
  PCR_MODULUS,
  TS_PACKET_SIZE,
  writeNullPacket,
  writePcrOnlyPacket,
} from '../../../src/mpegts/packet.js';
import type { HistogramSnapshot } from '../../../src/headend/metrics/types.js';
import { simpleProgram, synthesize } from '../../helpers/synth.js';

interface Dg {
  bytes: Uint8Array;
  pcr27: number;
  dueNs: number;
}

const RATE = 4e6;
const T0_NS = 5e12;

/** `ms` of a synthetic program remuxed at CBR, as the datagrams a Channel queues. */
function output(ms: number): Dg[] {
  const { ts } = synthesize({
    programs: [simpleProgram(1, 0x100)],
    durationMs: ms,
    muxRate: 3e6,
    startPcr: 7e9,
  });
  const out: Dg[] = [];
  let first = NaN;
  const cut = new DatagramCutter({ packetsPerDatagram: 7 }, (bytes, pcr27) => {
    if (Number.isNaN(first)) first = pcr27;
    out.push({ bytes: bytes.slice(), pcr27, dueNs: T0_NS + ((pcr27 - first) * 1000) / 27 });
  });
  const r = new Remuxer({ cbrBitrate: RATE, psiIntervalMs: 100, pcrAlign: 7 }, cut.push);
  for (let at = 0; at < ts.length; at += 1316) r.push(ts.subarray(at, at + 1316));
  return out;
}

const pidOf = (b: Uint8Array, o: number): number => ((b[o + 1] & 0x1f) << 8) | b[o + 2];
const pusi = (b: Uint8Array, o: number): boolean => (b[o + 1] & 0x40) !== 0;
const hasPcr = (b: Uint8Array, o: number): boolean =>
  (b[o + 3] & 0x20) !== 0 && b[o + 4] >= 7 && (b[o + 5] & 0x10) !== 0;

/** Section starts per PID and PCR count, by a plain scan. */
function census(dgs: Dg[]): { starts: Map<number, number>; pcrs: number; packets: number } {
  const starts = new Map<number, number>();
  let pcrs = 0;
  let packets = 0;
  for (const d of dgs) {
    for (let o = 0; o < d.bytes.length; o += TS_PACKET_SIZE) {
      packets++;
      const pid = pidOf(d.bytes, o);
      if (pusi(d.bytes, o)) starts.set(pid, (starts.get(pid) ?? 0) + 1);
      if (hasPcr(d.bytes, o)) pcrs++;
    }
  }
  return { starts, pcrs, packets };
}

function feed(m: OutputMonitor, dgs: Dg[]): void {
  for (const d of dgs) m.datagram(d.bytes, d.pcr27, d.dueNs);
}

/** Cumulative count at the bucket whose upper bound is `le`. */
function at(h: HistogramSnapshot, le: number): number {
  const i = h.buckets.indexOf(le);
  if (i < 0) throw new Error(`no bucket ${le}`);
  return h.counts[i];
}

const PMT_PID = 0x1000;
const SDT_PID = 0x11;
const CLEAN = output(6000);

t.test('clean output: one interval per table after the first, all within 100 ms', (t) => {
  const m = new OutputMonitor();
  feed(m, CLEAN);
  const c = census(CLEAN);
  const psi = m.psiIntervals();
  const seen = { pat: c.starts.get(0) ?? 0, pmt: c.starts.get(PMT_PID) ?? 0 };
  const sdtSeen = c.starts.get(SDT_PID) ?? 0;
  t.ok(seen.pat > 40, `PATs seen: ${seen.pat}`);
  for (const [name, h, n] of [
    ['pat', psi.pat, seen.pat],
    ['pmt', psi.pmt, seen.pmt],
    ['sdt', psi.sdt, sdtSeen],
  ] as const) {
    t.equal(h.count, n - 1, `${name}: intervals = tables − 1`);
    t.equal(at(h, 0.1), h.count, `${name}: every interval ≤ 0.1 s`);
    t.same(h.buckets, [0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1]);
    t.equal(h.counts.length, h.buckets.length);
    t.ok(h.sum > 0.07 * h.count && h.sum < 0.1 * h.count, `${name}: mean ${h.sum / h.count} s`);
  }
  const pcr = m.pcrInterval();
  t.same(pcr.buckets, [0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.1, 0.5]);
  t.equal(pcr.count, c.pcrs - 1, 'one interval per PCR after the first');
  t.equal(at(pcr, 0.04), pcr.count, 'every PCR interval ≤ 40 ms');
  // The PCR intervals add up to the span of the output, exactly (27 MHz arithmetic).
  t.ok(pcr.sum > 5.5 && pcr.sum < 6.1, `PCR span ${pcr.sum} s`);

  const a = m.analyzerCounters();
  t.equal(a.packets, c.packets, 'analyzer saw every packet');
  for (const k of [
    'ccErrors',
    'patErrors',
    'pmtErrors',
    'pcrRepetitionErrors',
    'pcrDiscontinuityErrors',
    'priority1Errors',
    'priority2Errors',
    'priority3Errors',
  ])
    t.equal(a[k], 0, `${k} = 0`);
  t.equal(a.analyzerRotations, 0);
  t.end();
});

t.test('a PAT missing in the middle shows as one longer interval', (t) => {
  const dgs = CLEAN.map((d) => ({ ...d, bytes: d.bytes.slice() }));
  // Replace the 20th PAT with a null packet (the slot, hence timing, stays).
  let pats = 0;
  let done = false;
  for (const d of dgs) {
    for (let o = 0; o < d.bytes.length && !done; o += TS_PACKET_SIZE) {
      if (pidOf(d.bytes, o) === 0 && pusi(d.bytes, o) && ++pats === 20) {
        writeNullPacket(d.bytes, o);
        done = true;
      }
    }
  }
  t.ok(done);
  const m = new OutputMonitor();
  feed(m, dgs);
  const c = census(dgs);
  const { pat, pmt } = m.psiIntervals();
  t.equal(pat.count, (c.starts.get(0) ?? 0) - 1);
  t.equal(at(pat, 0.1), pat.count - 1, 'one interval above 0.1 s');
  t.equal(at(pat, 0.25), pat.count, '... and it is ≤ 0.25 s (two periods)');
  t.equal(at(pmt, 0.1), pmt.count, 'PMT unaffected');
  t.end();
});

t.test('a dropped packet counts a continuity error', (t) => {
  const dgs = CLEAN.map((d) => ({ ...d }));
  // Drop one video packet (PID 0x100 with payload) from a datagram in the middle.
  const k = Math.floor(dgs.length / 2);
  let idx = k;
  let o = -1;
  for (; idx < dgs.length && o < 0; idx++) {
    const b = dgs[idx].bytes;
    for (let q = 0; q < b.length; q += TS_PACKET_SIZE)
      if (pidOf(b, q) === 0x100 && (b[q + 3] & 0x10) !== 0) {
        o = q;
        break;
      }
  }
  idx--;
  t.ok(o >= 0);
  const b = dgs[idx].bytes;
  const cut = new Uint8Array(b.length - TS_PACKET_SIZE);
  cut.set(b.subarray(0, o));
  cut.set(b.subarray(o + TS_PACKET_SIZE), o);
  dgs[idx] = { ...dgs[idx], bytes: cut };
  const m = new OutputMonitor();
  feed(m, dgs);
  const a = m.analyzerCounters();
  t.equal(a.ccErrors, 1, 'one continuity error');
  t.ok(a.priority1Errors >= 1);
  t.equal(a.packets, census(CLEAN).packets - 1);
  t.end();
});

t.test('rotation keeps the counters cumulative and bounded state fresh', (t) => {
  const dgs = CLEAN.map((d) => ({ ...d, bytes: d.bytes.slice() }));
  // A CC error early (PID 0 CC bumped on the 3rd PAT), rotations every second afterwards.
  let pats = 0;
  outer: for (const d of dgs) {
    for (let o = 0; o < d.bytes.length; o += TS_PACKET_SIZE) {
      if (pidOf(d.bytes, o) === 0 && ++pats === 3) {
        d.bytes[o + 3] = (d.bytes[o + 3] & 0xf0) | ((d.bytes[o + 3] + 5) & 0x0f);
        break outer;
      }
    }
  }
  const m = new OutputMonitor({ rotateMs: 1000 });
  feed(m, dgs);
  const a = m.analyzerCounters();
  t.ok(a.analyzerRotations >= 4, `rotations ${a.analyzerRotations}`);
  t.equal(a.packets, census(dgs).packets, 'packets summed over analyzers');
  // The bumped CC is a gap, and so is the next PAT's (back on the old count): 2 errors, both
  // seen by the first analyzer (before 1 s), still counted after 5 rotations.
  t.equal(a.ccErrors, 2, 'CC errors kept across rotations');
  t.equal(a.patErrors, 0, 'no PAT error from a fresh analyzer');
  t.equal(a.pmtErrors, 0);
  t.equal(a.pcrRepetitionErrors, 0);
  t.equal(a.pcrDiscontinuityErrors, 0);
  t.end();
});

t.test('counters are cached for cacheMs while datagrams flow', (t) => {
  let now = 0;
  const m = new OutputMonitor({ nowMs: () => now });
  const half = Math.floor(CLEAN.length / 2);
  feed(m, CLEAN.slice(0, half));
  const first = m.analyzerCounters().packets;
  feed(m, CLEAN.slice(half));
  now = 500;
  t.equal(m.analyzerCounters().packets, first, 'within 1 s: the cached report');
  now = 1000;
  t.equal(m.analyzerCounters().packets, census(CLEAN).packets, 'after 1 s: fresh');
  t.end();
});

t.test('PCR intervals from the values: wrap exact, discontinuity not an interval', (t) => {
  const m = new OutputMonitor();
  // Steps: 100 000 (3.7 ms), 270 000 across the wrap (10 ms), 540 000 (20 ms).
  const pcrs = [PCR_MODULUS - 370_000, PCR_MODULUS - 270_000, 0, 540_000];
  const b = new Uint8Array(TS_PACKET_SIZE);
  for (let i = 0; i < pcrs.length; i++) {
    writePcrOnlyPacket(b, 0, 0x100, 0, pcrs[i], false);
    m.datagram(b, i * 27e4, T0_NS + i * 1e7);
  }
  // A backwards step with discontinuity_indicator: a new timeline, no interval.
  writePcrOnlyPacket(b, 0, 0x100, 0, 1000, true);
  m.datagram(b, 5 * 27e4, T0_NS + 5e7);
  writePcrOnlyPacket(b, 0, 0x100, 0, 1000 + 189_000, false);
  m.datagram(b, 6 * 27e4, T0_NS + 6e7);
  const h = m.pcrInterval();
  t.equal(h.count, 4);
  t.same(h.counts, [1, 3, 4, 4, 4, 4, 4, 4]);
  t.equal(Math.round(h.sum * 27e6), 100_000 + 270_000 + 540_000 + 189_000);
  t.end();
});

/** One section as a single packet (pointer_field 0), or a section with `pointer` bytes of a
 * previous section's tail before it. */
function sectionPacket(pid: number, section: Uint8Array, pointer = 0): Uint8Array {
  if (pointer === 0) return packetizeSections([section], pid).subarray(0, TS_PACKET_SIZE);
  const b = new Uint8Array(TS_PACKET_SIZE).fill(0xff);
  b.set(packetizeSections([section], pid).subarray(0, 4));
  b[4] = pointer;
  b.set(section, 5 + pointer);
  return b;
}

const longSection = (tableId: number, sectionNumber = 0): Uint8Array =>
  buildLongSection({
    tableId,
    tableIdExtension: 1,
    version: 0,
    sectionNumber,
    lastSectionNumber: 1,
    body: new Uint8Array(10),
  });

t.test('hand-built PSI: table starts, learnt PMT PID, interpolated times', (t) => {
  const m = new OutputMonitor();
  const TPP = 1000; // ticks per packet
  const pat = sectionPacket(
    0,
    serializePat({
      transportStreamId: 1,
      version: 0,
      programs: [
        { programNumber: 0, pid: 0x10 },
        { programNumber: 7, pid: 0x1234 },
      ],
    })[0],
  );
  const pmt = sectionPacket(0x1234, longSection(0x02));
  const notPmt = sectionPacket(0x1000, longSection(0x02));
  const sdt = sectionPacket(0x11, longSection(0x42), 3);
  const sdt1 = sectionPacket(0x11, longSection(0x42, 1));
  const bat = sectionPacket(0x11, longSection(0x4a));
  // Datagrams of 7 packets, 7 × TPP apart; slots not given are null packets.
  let dg = 0;
  const send = (slots: Record<number, Uint8Array>): void => {
    const b = new Uint8Array(7 * TS_PACKET_SIZE);
    for (let i = 0; i < 7; i++) {
      const p = slots[i];
      if (p) b.set(p, i * TS_PACKET_SIZE);
      else writeNullPacket(b, i * TS_PACKET_SIZE);
    }
    m.datagram(b, dg * 7 * TPP, T0_NS + dg * 1e6);
    dg++;
  };
  send({ 0: pmt, 1: notPmt }); // PMT before any PAT: PID unknown, ignored
  send({ 0: pat, 1: pmt, 2: sdt });
  send({ 4: bat, 5: sdt1 }); // neither is an SDT actual section 0
  for (let k = 0; k < 400; k++) send({});
  send({ 3: pat, 6: sdt, 5: notPmt });
  send({ 2: pmt });
  const { pat: hPat, pmt: hPmt, sdt: hSdt } = m.psiIntervals();
  // PAT: datagram 1 slot 0 → datagram 403 slot 3 = 402·7 + 3 packets; SDT: slot 2 → slot 6 =
  // 402·7 + 4; PMT: datagram 1 slot 1 → datagram 404 slot 2 = 403·7 + 1 packets.
  t.equal(hPat.count, 1);
  t.equal(Math.round((hPat.sum * 27e6) / TPP), 402 * 7 + 3);
  t.equal(hSdt.count, 1);
  t.equal(Math.round((hSdt.sum * 27e6) / TPP), 402 * 7 + 4);
  t.equal(hPmt.count, 1);
  t.equal(Math.round((hPmt.sum * 27e6) / TPP), 403 * 7 + 1);
  t.same(hPat.counts, [0, 0, 0, 0, 1, 1, 1, 1], '0.104 s: in the 0.15 bucket');
  t.end();
});

t.test('micro-measure: ns per packet of datagram()', (t) => {
  const packets = census(CLEAN).packets;
  const runs = 8;
  const mon: number[] = [];
  const ana: number[] = [];
  for (let r = 0; r < runs; r++) {
    const m = new OutputMonitor();
    const t0 = process.hrtime.bigint();
    feed(m, CLEAN);
    mon.push(Number(process.hrtime.bigint() - t0) / packets);
    const a = new Analyzer();
    const t1 = process.hrtime.bigint();
    for (const d of CLEAN) a.push(d.bytes, d.dueNs);
    ana.push(Number(process.hrtime.bigint() - t1) / packets);
  }
  // Uncached report: every datagram of the second half followed by analyzerCounters().
  const m = new OutputMonitor({ cacheMs: 0 });
  const half = Math.floor(CLEAN.length / 2);
  feed(m, CLEAN.slice(0, half));
  let reportNs = 0;
  let reports = 0;
  for (let i = half; i < CLEAN.length; i++) {
    const d = CLEAN[i];
    m.datagram(d.bytes, d.pcr27, d.dueNs);
    const t2 = process.hrtime.bigint();
    m.analyzerCounters();
    if (i - half >= 200) {
      reportNs += Number(process.hrtime.bigint() - t2);
      reports++;
    }
  }
  const reportUs = reportNs / reports / 1e3;
  t.comment(
    `datagram(): best ${Math.min(...mon).toFixed(0)} ns/packet, of which the analyzer alone ` +
      `best ${Math.min(...ana).toFixed(0)} ns/packet (${runs} runs over ${packets} packets); ` +
      `uncached analyzerCounters(): ${reportUs.toFixed(1)} µs`,
  );
  t.pass();
  t.end();
});

t.test('the network SI: NIT, EIT p/f, TDT and TOT intervals', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(1, 0x100)],
    durationMs: 12_000,
    muxRate: 3e6,
    startPcr: 7e9,
  });
  const dgs: Dg[] = [];
  const cut = new DatagramCutter(
    { packetsPerDatagram: 7 },
    (bytes, pcr27) => void dgs.push({ bytes: bytes.slice(), pcr27, dueNs: pcr27 }),
  );
  const r = new Remuxer(
    {
      cbrBitrate: RATE,
      psiIntervalMs: 100,
      pcrAlign: 7,
      network: { nitIntervalMs: 2000, timeIntervalMs: 3000, localTimeOffsets: () => [] },
    },
    cut.push,
  );
  r.setNit([
    buildLongSection({
      tableId: 0x40,
      tableIdExtension: 1,
      version: 1,
      sectionNumber: 0,
      lastSectionNumber: 0,
      body: new Uint8Array(4),
    }),
  ]);
  r.setUtcReference(7e9, Date.UTC(2026, 11, 7, 12));
  r.setEitPf((v) => [
    buildLongSection({
      tableId: 0x4e,
      tableIdExtension: 1,
      version: v,
      sectionNumber: 0,
      lastSectionNumber: 0,
      body: new Uint8Array(6),
    }),
  ]);
  for (let at = 0; at < ts.length; at += 1316) r.push(ts.subarray(at, at + 1316));
  const m = new OutputMonitor();
  feed(m, dgs);
  const si = m.siIntervals();
  for (const [name, h, every] of [
    ['nit', si.nit, 2],
    ['eit_pf', si.eit_pf, 1.5],
    ['tdt', si.tdt, 3],
    ['tot', si.tot, 3],
  ] as const) {
    t.ok(h.count >= Math.floor(11 / every) - 1, `${name}: ${h.count} intervals`);
    const mean = h.sum / h.count;
    t.ok(mean > every * 0.8 && mean < every + 0.25, `${name}: every ${mean.toFixed(2)} s`);
    t.same(h.buckets, [0.5, 1, 1.5, 2, 3, 5, 10, 30]);
  }
});
