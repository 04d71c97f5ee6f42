// Input that is not a transport stream: TR 101 290 1.1 (sync acquired after five sync bytes
// 188 bytes apart) and the "no MPEG transport stream found" verdict instead of a program list.
import t from 'tap';
import { TS_PACKET_SIZE } from '../../../src/mpegts/packet.js';
import { formatReport } from '../../../src/mpegts/analyzer/report.js';
import { analyze, buildMux, indexesOf, packetAt, prng } from './helpers.js';

const m = buildMux({ durationSec: 2 });
const pat = packetAt(m, indexesOf(m, (p) => p.item === 'pat')[0]);
const pmt = packetAt(m, indexesOf(m, (p) => p.item === 'pmt')[0]);

function random(n: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

t.test('random bytes with one planted PAT: no transport stream, no program', async (t) => {
  const b = random(2_000_000, 1);
  b.set(pat, 1_000_000);
  const r = analyze(b);
  t.equal(r.noTransportStream, true);
  t.equal(r.verdict, 'no MPEG transport stream found');
  t.same(r.programs, []);
  t.same(r.pids, []);
  t.equal(r.priority1Errors, 0);
  const text = formatReport(r);
  t.match(text, /No MPEG transport stream found: sync never acquired/);
  t.notMatch(text, /Program|PAT_error/);
  t.equal(JSON.parse(JSON.stringify(r)).verdict, 'no MPEG transport stream found');
});

t.test('five sync bytes by chance in random bytes: sync, but too little to be a TS', async (t) => {
  // A PAT, a PMT and three 0x47-led random packets in a row, in 2 MB of random bytes: 1.1
  // acquires sync there (five sync bytes) and loses it after; 0.05 % of the bytes in sync.
  const b = random(2_000_000, 2);
  const at = 1_000_003;
  b.set(pat, at);
  b.set(pmt, at + TS_PACKET_SIZE);
  for (let k = 2; k < 5; k++) b[at + k * TS_PACKET_SIZE] = 0x47;
  const r = analyze(b);
  t.ok(r.totals.packets >= 5, `packets framed: ${r.totals.packets}`);
  t.equal(r.noTransportStream, true);
  t.same(r.programs, [], 'no program listed');
  t.equal(r.priority1Errors, 0);
  t.match(formatReport(r), /No MPEG transport stream found: only 0\.0\d % of the bytes in sync/);
});

t.test('1.1 fewer than five sync bytes after garbage never acquire sync', async (t) => {
  // Four valid packets at the end of random bytes: before, the end of input accepted fewer
  // confirmations and framed them.
  const b = random(10_000, 3);
  const tail = m.bytes.subarray(0, 4 * TS_PACKET_SIZE);
  const all = new Uint8Array(b.length + tail.length);
  all.set(b.map((x) => (x === 0x47 ? 0x46 : x)));
  all.set(tail, b.length);
  const r = analyze(all);
  t.equal(r.totals.packets, 0);
  t.equal(r.noTransportStream, true);
  // Five are enough.
  const five = new Uint8Array(b.length + 5 * TS_PACKET_SIZE);
  five.set(b.map((x) => (x === 0x47 ? 0x46 : x)));
  five.set(m.bytes.subarray(0, 5 * TS_PACKET_SIZE), b.length);
  t.equal(analyze(five).totals.packets, 5);
});

t.test('a valid stream, and a file of only three packets, are transport streams', async (t) => {
  const r = analyze(m.bytes);
  t.equal(r.noTransportStream, false);
  t.equal(r.verdict, undefined);
  t.equal(r.programs.length, 1);
  const three = analyze(m.bytes.subarray(0, 3 * TS_PACKET_SIZE));
  t.equal(three.totals.packets, 3);
  t.equal(three.noTransportStream, false);
});
