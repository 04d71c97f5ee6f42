import t from 'tap';
import {
  getPid,
  setPid,
  getCc,
  setCc,
  payloadUnitStart,
  transportError,
  adaptationFieldControl,
  hasPayload,
  payloadOffset,
  hasPcr,
  getPcr,
  setPcr,
  readPcrAt,
  writePcrAt,
  discontinuityIndicator,
  randomAccessIndicator,
  setDiscontinuity,
  pcrDiff,
  pcrDelta,
  ptsDelta,
  writePcrOnlyPacket,
  writeNullPacket,
  stripPcr,
  PCR_MODULUS,
  PTS_MODULUS,
  NULL_PID,
} from '../../src/mpegts/packet.js';

function packet(header: number[]): Uint8Array {
  const b = new Uint8Array(188).fill(0xff);
  b.set(header);
  return b;
}

t.test('header fields from hand-built bytes (13818-1 §2.4.3.2)', async (t) => {
  // 0x47 | TEI=1 PUSI=1 prio=0 PID=0x1ABC | scr=00 AFC=01 CC=0x7
  const b = packet([0x47, 0xda, 0xbc, 0x17]);
  t.equal(getPid(b, 0), 0x1abc);
  t.ok(transportError(b, 0));
  t.ok(payloadUnitStart(b, 0));
  t.equal(adaptationFieldControl(b, 0), 1);
  t.ok(hasPayload(b, 0));
  t.equal(getCc(b, 0), 7);
  t.equal(payloadOffset(b, 0), 4);
  t.notOk(hasPcr(b, 0));
  t.equal(getPcr(b, 0), -1);
});

t.test('in-place PID and CC rewrite keep the other bits', async (t) => {
  const b = packet([0x47, 0xda, 0xbc, 0x37]);
  setPid(b, 0, 0x0100);
  t.equal(b[1], 0xc1, 'TEI and PUSI kept');
  t.equal(b[2], 0x00);
  setCc(b, 0, 0x1f);
  t.equal(b[3], 0x3f, 'AFC kept, CC masked to 4 bits');
});

t.test('adaptation field with PCR 27,000,000 reads 00 00 AF C8 7E 00', async (t) => {
  // AFC=11, AF length 7, flags: discontinuity + random access + PCR
  const b = packet([0x47, 0x01, 0x00, 0x30, 0x07, 0xd0, 0x00, 0x00, 0xaf, 0xc8, 0x7e, 0x00]);
  t.ok(hasPcr(b, 0));
  t.equal(getPcr(b, 0), 27_000_000);
  t.ok(discontinuityIndicator(b, 0));
  t.ok(randomAccessIndicator(b, 0));
  t.equal(payloadOffset(b, 0), 12);
  setDiscontinuity(b, 0, false);
  t.notOk(discontinuityIndicator(b, 0));
  t.ok(randomAccessIndicator(b, 0));
  const w = new Uint8Array(6);
  writePcrAt(w, 0, 27_000_000);
  t.same(Array.from(w), [0x00, 0x00, 0xaf, 0xc8, 0x7e, 0x00]);
});

t.test('PCR round trip over the whole range, extension and wrap', async (t) => {
  const w = new Uint8Array(6);
  for (const v of [0, 1, 299, 300, 12345678901, PCR_MODULUS - 1, PCR_MODULUS + 5, -1]) {
    writePcrAt(w, 0, v);
    const want = ((v % PCR_MODULUS) + PCR_MODULUS) % PCR_MODULUS;
    t.equal(readPcrAt(w, 0), want, `PCR ${v}`);
    t.equal(w[4] & 0x7e, 0x7e, 'reserved bits set');
  }
  const b = packet([0x47, 0x01, 0x00, 0x30, 0x07, 0x10]);
  setPcr(b, 0, 987654321);
  t.equal(getPcr(b, 0), 987654321);
});

t.test('clock arithmetic across the 2^33 wrap', async (t) => {
  t.equal(pcrDiff(10, PCR_MODULUS - 20), 30);
  t.equal(pcrDelta(10, PCR_MODULUS - 20), 30);
  t.equal(pcrDelta(PCR_MODULUS - 20, 10), -30);
  t.equal(ptsDelta(5, PTS_MODULUS - 5), 10);
  t.equal(ptsDelta(PTS_MODULUS - 5, 5), -10);
});

t.test('AF-only packets: no payload, impossible AF length', async (t) => {
  const b = packet([0x47, 0x01, 0x00, 0x20, 183, 0x00]);
  t.notOk(hasPayload(b, 0));
  t.equal(payloadOffset(b, 0), -1);
  const bad = packet([0x47, 0x01, 0x00, 0x30, 190]);
  t.equal(payloadOffset(bad, 0), -1, 'AF length > 182 with payload is rejected');
});

t.test('writers: PCR-only and null packets', async (t) => {
  const b = new Uint8Array(188 * 2);
  writePcrOnlyPacket(b, 188, 0x100, 9, 27_000_000, true);
  t.equal(getPid(b, 188), 0x100);
  t.equal(getCc(b, 188), 9);
  t.notOk(hasPayload(b, 188));
  t.equal(b[188 + 4], 183);
  t.equal(getPcr(b, 188), 27_000_000);
  t.ok(discontinuityIndicator(b, 188));
  writeNullPacket(b, 0);
  t.equal(getPid(b, 0), NULL_PID);
  t.ok(b.subarray(4, 188).every((x) => x === 0xff));
});

t.test('stripPcr turns the PCR into stuffing and keeps the fields after it', async (t) => {
  // AF length 14: flags PCR + splicing_point (0x14), PCR(6), splice_countdown(1), stuffing
  const b = packet([0x47, 0x01, 0x00, 0x30, 14, 0x14, 1, 2, 3, 4, 0x7f, 5, 0x09]);
  const payloadBefore = Array.from(b.subarray(19));
  stripPcr(b, 0);
  t.notOk(hasPcr(b, 0));
  t.equal(b[5], 0x04, 'PCR_flag cleared, splicing_point kept');
  t.equal(b[6], 0x09, 'splice_countdown moved up to where the PCR was');
  t.same(
    Array.from(b.subarray(13, 19)),
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    'stuffing at the end',
  );
  t.equal(b[4], 14, 'adaptation field length unchanged');
  t.same(Array.from(b.subarray(19)), payloadBefore, 'payload untouched');
  const none = packet([0x47, 0x01, 0x00, 0x10]);
  stripPcr(none, 0);
  t.equal(none[3], 0x10, 'no-op without PCR');
});
