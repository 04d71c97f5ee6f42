import t from 'tap';
import {
  readTimestamp,
  writeTimestamp,
  encodeTimestamp,
  locatePesTimestamps,
  parsePesHeader,
  addTimestampOffset,
  TS_LO,
} from '../../src/mpegts/pes.js';
import { PTS_MODULUS } from '../../src/mpegts/packet.js';

t.test('PTS 90000 encodes as 21 00 05 BF 21 (13818-1 §2.4.3.7)', async (t) => {
  const b = new Uint8Array(5);
  encodeTimestamp(b, 0, 0b0010, 90000);
  t.same(Array.from(b), [0x21, 0x00, 0x05, 0xbf, 0x21]);
  t.equal(readTimestamp(b, 0), 90000);
});

t.test('in-place rewrite keeps prefix and marker bits; 33-bit range', async (t) => {
  const b = new Uint8Array(5);
  encodeTimestamp(b, 0, 0b0011, 0);
  for (const v of [1, 0x7fffffff, 0x80000000, 2 ** 32, PTS_MODULUS - 1]) {
    writeTimestamp(b, 0, v);
    t.equal(readTimestamp(b, 0), v);
    t.equal(b[0] >> 4, 0b0011, 'prefix kept');
    t.equal(b[0] & 1, 1);
    t.equal(b[2] & 1, 1);
    t.equal(b[4] & 1, 1);
  }
  writeTimestamp(b, 0, PTS_MODULUS + 7);
  t.equal(readTimestamp(b, 0), 7, 'wraps modulo 2^33');
  writeTimestamp(b, 0, -3);
  t.equal(readTimestamp(b, 0), PTS_MODULUS - 3);
});

function pesPacket(withDts: boolean, afLen: number): Uint8Array {
  const b = new Uint8Array(188).fill(0xff);
  b.set([0x47, 0x41, 0x00, afLen > 0 ? 0x30 : 0x10]);
  let p = 4;
  if (afLen > 0) {
    b[4] = afLen - 1;
    b[5] = 0;
    p += afLen;
  }
  b.set([0, 0, 1, 0xe0, 0, 0, 0x80, withDts ? 0xc0 : 0x80, withDts ? 10 : 5], p);
  encodeTimestamp(b, p + 9, withDts ? 0b0011 : 0b0010, 123456);
  if (withDts) encodeTimestamp(b, p + 14, 0b0001, 120000);
  return b;
}

t.test('locating PTS and DTS in a PUSI packet, with and without AF', async (t) => {
  const a = pesPacket(false, 0);
  t.equal(locatePesTimestamps(a, 0), 13);
  const b = pesPacket(true, 8);
  const loc = locatePesTimestamps(b, 0);
  t.equal(loc & 0xff, 4 + 8 + 9);
  t.equal(loc >> 8, 4 + 8 + 14);
  t.equal(readTimestamp(b, loc & 0xff), 123456);
  t.equal(readTimestamp(b, loc >> 8), 120000);
  b[1] = 0x01; // PUSI off
  t.equal(locatePesTimestamps(b, 0), 0);
});

t.test('no timestamps for padding stream or PTS_DTS_flags 00', async (t) => {
  const b = pesPacket(false, 0);
  b[4 + 3] = 0xbe; // padding_stream: no optional header
  t.equal(locatePesTimestamps(b, 0), 0);
  const c = pesPacket(false, 0);
  c[4 + 7] = 0x00;
  t.equal(locatePesTimestamps(c, 0), 0);
});

t.test('parsePesHeader', async (t) => {
  const b = pesPacket(true, 0);
  const h = parsePesHeader(b, 4, 188);
  t.ok(h);
  t.equal(h!.streamId, 0xe0);
  t.equal(h!.pts, 123456);
  t.equal(h!.dts, 120000);
  t.equal(h!.payloadStart, 19);
  t.equal(parsePesHeader(Uint8Array.from([0, 0, 2, 0xe0, 0, 0])), null);
});

t.test('addTimestampOffset equals read + write modulo 2^33', async (t) => {
  const b = new Uint8Array(5);
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 500; i++) {
    const ts = Math.floor(rnd() * PTS_MODULUS);
    const off = Math.floor(rnd() * PTS_MODULUS);
    encodeTimestamp(b, 0, 0b0011, ts);
    addTimestampOffset(b, 0, Math.floor(off / TS_LO), off % TS_LO);
    t.equal(readTimestamp(b, 0), (ts + off) % PTS_MODULUS);
    t.equal(b[0] >> 4, 0b0011);
    t.equal(b[0] & b[2] & b[4] & 1, 1, 'markers kept');
  }
});
