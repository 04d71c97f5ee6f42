import t from 'tap';
import {
  AUDIO_PID,
  PMT_PID,
  VIDEO_PID,
  analyze,
  buildMux,
  check,
  failing,
  indexesOf,
  insertBytes,
  packetAt,
  withRepeats,
  withoutPackets,
  type Mux,
} from './helpers.js';
import { TS_PACKET_SIZE } from '../../../src/mpegts/packet.js';
import { formatReport } from '../../../src/mpegts/analyzer/report.js';

const clean = buildMux();

t.test('1.4 a dropped packet is one CC error on its PID', async (t) => {
  const i = indexesOf(clean, (p) => p.item === 'audio')[100];
  const r = analyze(withoutPackets(clean, [i]));
  t.same(failing(r), { '1.4': 1 });
  t.equal(r.pids.find((p) => p.pid === AUDIO_PID)?.ccErrors, 1);
  t.match(check(r, '1.4').detail, 'PID 0x0101');
});

t.test('1.4 several packets lost in one gap count once', async (t) => {
  const idx = indexesOf(clean, (p) => p.item === 'audio').slice(200, 205);
  t.same(failing(analyze(withoutPackets(clean, idx))), { '1.4': 1 });
});

t.test('1.4 one duplicate is allowed, a third copy is an error', async (t) => {
  const i = indexesOf(clean, (p) => p.item === 'video')[50];
  t.same(failing(analyze(withRepeats(clean, i, 1))), {}, 'two copies');
  t.same(failing(analyze(withRepeats(clean, i, 2))), { '1.4': 1 }, 'three copies');
  t.same(failing(analyze(withRepeats(clean, i, 3))), { '1.4': 2 }, 'four copies');
});

t.test(
  "1.4 duplicates: false (a remuxer's own output): a repeated packet is an error",
  async (t) => {
    const i = indexesOf(clean, (p) => p.item === 'video')[50];
    const r = analyze(withRepeats(clean, i, 1), { duplicates: false });
    t.same(failing(r), { '1.4': 1 }, 'two copies: one CC error');
    t.equal(r.totals.duplicatePackets, 0, 'nothing counted as a duplicate');
    t.same(failing(analyze(clean.bytes, { duplicates: false })), {}, 'a clean stream stays clean');
  },
);

t.test('1.4 duplicates are counted apart: one allowed, a third copy is an error', async (t) => {
  const i = indexesOf(clean, (p) => p.item === 'video')[50];
  const once = analyze(withRepeats(clean, i, 1));
  t.same(failing(once), {}, 'one duplicate is not a CC error');
  t.equal(once.totals.duplicatePackets, 1);
  t.equal(once.pids.find((p) => p.pid === VIDEO_PID)?.duplicates, 1);
  t.match(formatReport(once), /Duplicate packets 1 /);
  const thrice = analyze(withRepeats(clean, i, 2));
  t.same(failing(thrice), { '1.4': 1 });
  t.equal(thrice.totals.duplicatePackets, 1, 'the second copy is the error, the first is not');
  t.notMatch(formatReport(analyze(clean.bytes)), /Duplicate packets/);
});

t.test('1.4 the previous CC with other bytes is a continuity error, not a duplicate', async (t) => {
  const i = indexesOf(clean, (p) => p.item === 'video')[50];
  const b = withRepeats(clean, i, 1);
  b[(i + 1) * TS_PACKET_SIZE + 100] ^= 0xff; // the copy's payload differs
  const r = analyze(b);
  t.same(failing(r), { '1.4': 1 });
  t.equal(r.totals.duplicatePackets, 0);
});

t.test('1.4 a duplicate may carry a new PCR value (§2.4.3.3)', async (t) => {
  const i = indexesOf(
    clean,
    (p, k) => p.item === 'pcr' && (packetAt(clean, k)[3] & 0x10) !== 0,
  )[40];
  const b = withRepeats(clean, i, 1);
  b[(i + 1) * TS_PACKET_SIZE + 11] ^= 0x01; // PCR extension, low bit
  const r = analyze(b);
  t.same(failing(r), {});
  t.equal(r.totals.duplicatePackets, 1);
});

t.test('1.4 20 losses and 5 duplicates: 20 errors, 5 duplicates', async (t) => {
  const audio = indexesOf(clean, (p) => p.item === 'audio');
  const video = indexesOf(clean, (p) => p.item === 'video');
  let m: Mux = { bytes: clean.bytes, meta: clean.meta };
  // Repeat 5 video packets (from the end, so earlier indexes stay valid), then drop 20 audio.
  for (const k of [900, 700, 500, 300, 100]) {
    const bytes = withRepeats(m, video[k], 1);
    const meta = [...m.meta];
    meta.splice(video[k] + 1, 0, m.meta[video[k]]);
    m = { bytes, meta };
  }
  const shift = (i: number): number =>
    i + [100, 300, 500, 700, 900].filter((k) => video[k] < i).length;
  const drop = Array.from({ length: 20 }, (_, n) => shift(audio[50 + n * 40]));
  const r = analyze(withoutPackets(m, drop));
  t.same(failing(r), { '1.4': 20 });
  t.equal(r.totals.duplicatePackets, 5);
  t.equal(r.pids.find((p) => p.pid === AUDIO_PID)?.ccErrors, 20);
});

t.test('1.4 a duplicated PCR packet is not a PCR accuracy error', async (t) => {
  const i = indexesOf(clean, (p) => p.item === 'pcr')[40];
  t.same(failing(analyze(withRepeats(clean, i, 1))), {});
});

t.test('1.4 adaptation-only packets keep the CC', async (t) => {
  // Video frames omitted → PCRs go out in adaptation-only packets between frames.
  const m = buildMux({ omit: (item, s) => item === 'video' && s > 2 && s < 3 });
  const afOnly = indexesOf(m, (p, i) => p.item === 'pcr' && (packetAt(m, i)[3] & 0x30) === 0x20);
  t.ok(afOnly.length > 5, 'adaptation-only PCR packets present');
  t.equal(check(analyze(m.bytes), '1.4').errors, 0);
  // Incrementing the CC of an adaptation-only packet is an error.
  const b = m.bytes.slice();
  const o = afOnly[2] * TS_PACKET_SIZE;
  b[o + 3] = (b[o + 3] & 0xf0) | ((b[o + 3] + 1) & 0x0f);
  t.equal(check(analyze(b), '1.4').errors, 2, 'the bad packet and the packet after it');
});

t.test('1.4 discontinuity_indicator allows the jump', async (t) => {
  const hasPayload = (m: Mux, k: number): boolean => (packetAt(m, k)[3] & 0x10) !== 0;
  const prevVideo = (m: Mux, i: number): number =>
    indexesOf(m, (p, k) => p.pid === VIDEO_PID && k < i).pop() as number;
  // A PCR packet whose previous video packet carries payload (so dropping it breaks the CC).
  const n = indexesOf(clean, (p) => p.item === 'pcr').findIndex(
    (i, k) => k > 60 && hasPayload(clean, prevVideo(clean, i)),
  );
  const i = indexesOf(clean, (p) => p.item === 'pcr')[n];
  t.same(failing(analyze(withoutPackets(clean, [prevVideo(clean, i)]))), { '1.4': 1 });
  const m2 = buildMux({ pcrDiscontinuity: (k) => k === n });
  const j = indexesOf(m2, (p) => p.item === 'pcr')[n];
  t.same(failing(analyze(withoutPackets(m2, [prevVideo(m2, j)]))), {}, 'with DI');
});

t.test('1.1/1.2 garbage between packets: sync lost, regained, bytes counted', async (t) => {
  const garbage = new Uint8Array(100).fill(0x55);
  const at = 5000 * TS_PACKET_SIZE;
  const r = analyze(insertBytes(clean.bytes, at, garbage));
  t.same(failing(r), { '1.1': 1, '1.2': 2 });
  t.equal(r.totals.bytesSkipped, 100);
  t.equal(r.totals.packets, 13500, 'no packet lost');
  t.equal(r.totals.bytes, 13500 * 188 + 100);
});

t.test('1.2 one corrupted sync byte: one error, that packet dropped, no sync loss', async (t) => {
  const b = clean.bytes.slice();
  const i = indexesOf(clean, (p) => p.item === 'null')[500];
  b[i * TS_PACKET_SIZE] = 0x48;
  const r = analyze(b);
  t.same(failing(r), { '1.2': 1 });
  t.equal(r.totals.bytesSkipped, 188);
});

t.test('garbage before the first packet and a truncated tail are skipped silently', async (t) => {
  const head = new Uint8Array(77).fill(0x47); // even sync look-alikes
  let b = insertBytes(clean.bytes, 0, head);
  b = b.subarray(0, b.length - 50);
  const r = analyze(b);
  t.equal(r.totals.bytesSkipped, 77 + 138);
  t.equal(r.totals.packets, 13499);
  t.same(failing(r), {});
});

t.test('1.3 PAT gap of 0.6 s is one error; 0.4 s none', async (t) => {
  const gap = (from: number, to: number) =>
    buildMux({ omit: (item, s) => item === 'pat' && s > from && s < to });
  const r = analyze(gap(2.95, 3.45).bytes);
  t.same(failing(r), { '1.3': 1 });
  t.ok(Math.abs((check(r, '1.3').firstAtSec ?? 0) - 3.4) < 0.02, 'when the timer ran out');
  t.same(failing(analyze(gap(2.95, 3.25).bytes)), {});
});

t.test('1.3 another table_id on PID 0 and a scrambled PID 0', async (t) => {
  const b = clean.bytes.slice();
  const i = indexesOf(clean, (p) => p.item === 'pat')[20];
  const o = i * TS_PACKET_SIZE;
  // Rewrite the section as table_id 0x02 with a correct CRC.
  const { crc32Mpeg2 } = await import('../../../src/mpegts/crc32.js');
  b[o + 5] = 0x02;
  const len = 3 + (((b[o + 6] & 0x0f) << 8) | b[o + 7]);
  const crc = crc32Mpeg2(b, o + 5, o + 5 + len - 4);
  b.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], o + 5 + len - 4);
  t.same(failing(analyze(b)), { '1.3': 1 });
  const s = clean.bytes.slice();
  s[indexesOf(clean, (p) => p.item === 'pat')[30] * TS_PACKET_SIZE + 3] |= 0x80;
  t.same(failing(analyze(s)), { '1.3': 1, '2.6': 1 }, 'scrambled and no CAT either');
});

t.test('1.5 PMT gap of 0.6 s is one error', async (t) => {
  const m = buildMux({ omit: (item, s) => item === 'pmt' && s > 5.95 && s < 6.45 });
  const r = analyze(m.bytes);
  t.same(failing(r), { '1.5': 1 });
  t.match(check(r, '1.5').detail, `PID 0x${PMT_PID.toString(16).padStart(4, '0')}`);
});

t.test('1.6 a PID that disappears for 6 s is one PID error', async (t) => {
  const m = buildMux({ omit: (item, s) => item === 'audio' && s > 4 });
  const r = analyze(m.bytes);
  t.same(failing(r), { '1.6': 1 });
  t.match(check(r, '1.6').detail, 'PID 0x0101');
  // The last audio frame is queued at 3.984 s; 5 s later:
  t.ok(Math.abs((check(r, '1.6').firstAtSec ?? 0) - 8.99) < 0.02, 'after 5 s');
  t.same(failing(analyze(m.bytes, { pidTimeoutMs: 2000 })), { '1.6': 3 }, 'at ~6, 8 and 10 s');
  t.same(failing(analyze(m.bytes, { pidTimeoutMs: 7000 })), {});
});
