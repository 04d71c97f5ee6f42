// TR 101 290 2.3a PCR_repetition_error: a PCR interval > 40 ms is an error, exactly 40 ms is
// not; each PID's interval is its own PCR step, also in a VBR MPTS where byte positions do
// not follow time. Hand-built streams: adaptation-only PCR packets (CC repeated, §2.4.3.3)
// and null packets between them.
import t from 'tap';
import {
  AFC_ADAPTATION,
  TS_PACKET_SIZE,
  writeHeader,
  writeNullPacket,
  writePcrAt,
} from '../../../src/mpegts/packet.js';
import { Analyzer } from '../../../src/mpegts/analyzer/analyzer.js';
import { analyze, check, failing, prng } from './helpers.js';

interface Pcr {
  pid: number;
  /** PCR value, 27 MHz ticks. */
  pcr: number;
  /** Null packets before this PCR packet. */
  nullsBefore: number;
}

function build(pcrs: Pcr[]): Uint8Array {
  const n = pcrs.reduce((a, p) => a + p.nullsBefore + 1, 0);
  const b = new Uint8Array(n * TS_PACKET_SIZE);
  let o = 0;
  for (const p of pcrs) {
    for (let k = 0; k < p.nullsBefore; k++, o += TS_PACKET_SIZE) writeNullPacket(b, o);
    writeHeader(b, o, p.pid, false, AFC_ADAPTATION, 0);
    b[o + 4] = 183;
    b[o + 5] = 0x10;
    writePcrAt(b, o + 6, p.pcr);
    b.fill(0xff, o + 12, o + TS_PACKET_SIZE);
    o += TS_PACKET_SIZE;
  }
  return b;
}

/** One PID, CBR (20000 ticks a packet); interval k (ticks) from `gaps`. */
function cbr(gaps: number[]): Uint8Array {
  const out: Pcr[] = [{ pid: 0x100, pcr: 0, nullsBefore: 0 }];
  let pcr = 0;
  for (const g of gaps) {
    pcr += g;
    out.push({ pid: 0x100, pcr, nullsBefore: Math.round(g / 20000) - 1 });
  }
  return build(out);
}

const MS = 27_000;

/** The failing PCR checks (2.3a/2.3b/2.4): no PSI here, so PAT_error and the like are due. */
function pcrFailing(r: ReturnType<typeof analyze>): Record<string, number> {
  return Object.fromEntries(Object.entries(failing(r)).filter(([id]) => /^2\.[34]/.test(id)));
}

t.test('2.3a exactly 40.0 ms is clean; 40 ms + 1 tick, 50 ms and 120 ms are errors', async (t) => {
  const steady = Array<number>(200).fill(40 * MS);
  const r = analyze(cbr(steady));
  t.same(pcrFailing(r), {}, 'PCRs exactly 40.0 ms apart');
  t.equal(check(r, '2.3a').warnings, undefined, 'no warnings figure either');
  for (const [name, gap] of [
    ['40 ms + 1 tick', 40 * MS + 1],
    ['50 ms', 50 * MS],
    ['120 ms', 120 * MS],
  ] as const) {
    const gaps = steady.slice();
    gaps[100] = gap;
    const bad = analyze(cbr(gaps));
    t.same(pcrFailing(bad), { '2.3a': 1 }, name);
    t.match(check(bad, '2.3a').detail, /^PID 0x0100/, name);
  }
  const gaps = steady.slice();
  gaps[100] = 120 * MS;
  t.match(check(analyze(cbr(gaps)), '2.3a').detail, 'PID 0x0100 > 100 ms', 'ISO limit named');
});

t.test('2.3a in a VBR MPTS each PID is judged on its own PCR values', async (t) => {
  // Two programs, PCR PIDs 0x100 and 0x200, each exactly 40 ms apart, 0x200 20 ms after
  // 0x100. Between PCRs a random number of packets (VBR: bytes do not follow time). The
  // analyzer clock runs on 0x100 interpolated by bytes: measured on it, 0x200's intervals
  // wander by up to ±20 ms.
  const rnd = prng(3);
  const pcrs: Pcr[] = [];
  for (let k = 0; k < 250; k++) {
    pcrs.push({ pid: 0x100, pcr: k * 40 * MS, nullsBefore: 5 + Math.floor(rnd() * 100) });
    pcrs.push({ pid: 0x200, pcr: k * 40 * MS + 20 * MS, nullsBefore: 5 + Math.floor(rnd() * 100) });
  }
  const r = analyze(build(pcrs));
  t.equal(check(r, '2.3a').errors, 0, check(r, '2.3a').detail ?? '');
  t.equal(check(r, '2.3a').warnings ?? 0, 0);
  // Still measured per PID: one 0x200 interval of 60 ms is one error on 0x200.
  const late = pcrs.map((p, i) => (i === 301 ? { ...p, pcr: p.pcr + 20 * MS } : p));
  const r2 = analyze(build(late));
  t.equal(check(r2, '2.3a').errors, 1);
  t.equal(check(r2, '2.3a').detail, 'PID 0x0200');
});

t.test(
  '2.3a with arrival times: PCR values judge the interval, a stall > 100 ms too',
  async (t) => {
    // One PCR packet per datagram, PCRs 40.0 ms apart; arrivals jittered by up to ±15 ms.
    const rnd = prng(11);
    const deliver = (gaps: number[], arrival: (k: number) => number) => {
      const b = cbr(gaps);
      const a = new Analyzer();
      let k = 0;
      for (let o = 0, first = true; o < b.length; o += TS_PACKET_SIZE) {
        const isPcr = b[o + 2] === 0x00 && (b[o + 1] & 0x1f) === 0x01;
        if (isPcr && !first) k++;
        first = false;
        a.push(b.subarray(o, o + TS_PACKET_SIZE), arrival(k));
      }
      a.end();
      return a.report();
    };
    const steady = Array<number>(200).fill(40 * MS);
    const jitter = steady.map(() => (rnd() - 0.5) * 30e6);
    const r = deliver(steady, (k) => 1e9 + k * 40e6 + (jitter[k] ?? 0));
    t.same(pcrFailing(r), {}, 'jittered arrivals of PCRs 40.0 ms apart');
    const gaps = steady.slice();
    gaps[100] = 50 * MS;
    t.same(pcrFailing(deliver(gaps, (k) => 1e9 + k * 40e6)), { '2.3a': 1 }, 'a 50 ms PCR step');
    const stall = deliver(steady, (k) => 1e9 + k * 40e6 + (k >= 100 ? 150e6 : 0));
    t.same(pcrFailing(stall), { '2.3a': 1 }, 'a 190 ms stall in delivery');
  },
);
