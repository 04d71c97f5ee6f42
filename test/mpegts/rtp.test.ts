import t from 'tap';
import {
  RTP_MAX_DATAGRAM,
  RtpWrapper,
  looksLikeRtp,
  parseRtpHeader,
  rtpTimestampFromPcr,
  sequenceDiff,
  writeRtpHeader,
  type RtpHeader,
} from '../../src/mpegts/rtp.js';

/** n TS packets, each 0x47 then its index, then filler. */
function tsPackets(n: number): Uint8Array {
  const b = new Uint8Array(n * 188).fill(0xaa);
  for (let i = 0; i < n; i++) {
    b[i * 188] = 0x47;
    b[i * 188 + 1] = i;
  }
  return b;
}

// RFC 3550 §5.1: V=2 P=0 X=0 CC=0 | M=0 PT=33 | seq 0x1234 | timestamp 90000 | SSRC 0xDEADBEEF
const FIXED = [0x80, 0x21, 0x12, 0x34, 0x00, 0x01, 0x5f, 0x90, 0xde, 0xad, 0xbe, 0xef];

t.test('writeRtpHeader lays out the RFC 3550 fixed header', async (t) => {
  const b = new Uint8Array(16).fill(0x55);
  writeRtpHeader(b, 2, { sequence: 0x1234, timestamp: 90000, ssrc: 0xdeadbeef });
  t.same([...b.subarray(2, 14)], FIXED);
  t.equal(b[0], 0x55, 'bytes before untouched');
  t.equal(b[14], 0x55, 'bytes after untouched');

  writeRtpHeader(b, 0, {
    payloadType: 96,
    marker: true,
    sequence: 65536 + 7,
    timestamp: 2 ** 32 + 5,
    ssrc: -1,
  });
  t.same(
    [...b.subarray(0, 12)],
    [0x80, 0xe0, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff],
    'marker, PT 96, values taken modulo their field size',
  );
});

t.test('parseRtpHeader reads hand-built bytes', async (t) => {
  const d = Uint8Array.from([...FIXED, ...tsPackets(2)]);
  const h = parseRtpHeader(d, 0, d.length);
  t.ok(h);
  t.match(h, {
    payloadType: 33,
    marker: false,
    sequence: 0x1234,
    timestamp: 90000,
    ssrc: 0xdeadbeef,
    csrcCount: 0,
    extension: false,
    padding: 0,
    payloadOffset: 12,
    payloadLength: 376,
  });
});

t.test('timestamp and SSRC with the top bit set stay unsigned', async (t) => {
  const d = Uint8Array.from([0x80, 0xa1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 1, 0x47]);
  const h = parseRtpHeader(d, 0, d.length) as RtpHeader;
  t.equal(h.timestamp, 0xfffffffe);
  t.equal(h.ssrc, 0x80000001);
  t.equal(h.sequence, 0xffff);
  t.equal(h.marker, true);
});

t.test('CSRC list, extension and padding are skipped', async (t) => {
  const ts = tsPackets(1);
  // V=2 P=1 X=1 CC=2: 0b10_1_1_0010 = 0xB2
  const bytes = [
    0xb2,
    0x21,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    // CSRC ×2
    0x11,
    0x11,
    0x11,
    0x11,
    0x22,
    0x22,
    0x22,
    0x22,
    // extension: profile 0xBEDE, length 2 words, 8 bytes
    0xbe,
    0xde,
    0x00,
    0x02,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    ...ts,
    // padding: 3 bytes, the last one is the count
    0,
    0,
    3,
  ];
  const d = Uint8Array.from(bytes);
  const h = parseRtpHeader(d, 0, d.length) as RtpHeader;
  t.ok(h);
  t.equal(h.csrcCount, 2);
  t.equal(h.extension, true);
  t.equal(h.padding, 3);
  t.equal(h.payloadOffset, 12 + 8 + 12);
  t.equal(h.payloadLength, 188);
  t.same(d.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), ts);
  t.ok(looksLikeRtp(d));
});

t.test('offset and length select a datagram inside a larger buffer', async (t) => {
  const inner = Uint8Array.from([...FIXED, ...tsPackets(1)]);
  const big = new Uint8Array(inner.length + 20);
  big.set(inner, 10);
  const h = parseRtpHeader(big, 10, inner.length) as RtpHeader;
  t.equal(h.payloadOffset, 22, 'absolute offset');
  t.equal(h.payloadLength, 188);
  t.equal(parseRtpHeader(big, 10, big.length), null, 'len past the buffer end');
});

t.test('not RTP', async (t) => {
  const cases: [string, number[]][] = [
    ['too short', FIXED.slice(0, 11)],
    ['version 1', [0x40, ...FIXED.slice(1)]],
    ['version 0', [0x00, ...FIXED.slice(1)]],
    ['CSRC list longer than datagram', [0x8f, ...FIXED.slice(1), 0, 0, 0, 0]],
    ['extension header cut', [0x90, ...FIXED.slice(1), 0xbe, 0xde]],
    ['extension longer than datagram', [0x90, ...FIXED.slice(1), 0xbe, 0xde, 0x00, 0x05, 1, 2]],
    ['padding count 0', [0xa0, ...FIXED.slice(1), 0x47, 0]],
    ['padding eats the header', [0xa0, ...FIXED.slice(1), 0x47, 0x20]],
  ];
  for (const [name, bytes] of cases) {
    const d = Uint8Array.from(bytes);
    t.equal(parseRtpHeader(d, 0, d.length), null, name);
    t.notOk(looksLikeRtp(d), `${name}: looksLikeRtp`);
  }
});

t.test('looksLikeRtp', async (t) => {
  t.ok(looksLikeRtp(Uint8Array.from([...FIXED, ...tsPackets(7)])), 'RTP with TS');
  t.notOk(looksLikeRtp(tsPackets(7)), 'plain TS datagram');
  t.notOk(looksLikeRtp(Uint8Array.from([...FIXED, 0x00, 0x47])), 'payload not TS');
  t.notOk(looksLikeRtp(Uint8Array.from(FIXED)), 'no payload');
});

t.test('RtpWrapper: random start, sequence +1, wrap at 65535, round trip', async (t) => {
  const draws = [65534, 0xcafebabe];
  const w = new RtpWrapper({ random: () => draws.shift() as number });
  t.equal(w.ssrc, 0xcafebabe);
  t.equal(w.nextSequence, 65534);
  const ts = tsPackets(7);
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    const d = w.wrap(ts, 90000 * i + 0xfffff000, i === 2);
    t.equal(d.length, RTP_MAX_DATAGRAM);
    const h = parseRtpHeader(d, 0, d.length) as RtpHeader;
    seen.push(h.sequence);
    t.equal(h.ssrc, 0xcafebabe);
    t.equal(h.payloadType, 33);
    t.equal(h.marker, i === 2);
    t.equal(h.timestamp, (90000 * i + 0xfffff000) % 2 ** 32, 'timestamp modulo 2^32');
    t.same(d.subarray(h.payloadOffset), ts);
    t.ok(looksLikeRtp(d));
  }
  t.same(seen, [65534, 65535, 0, 1]);
  t.equal(sequenceDiff(0, 65535), 1);
});

t.test('RtpWrapper: reuses one buffer, short datagrams, fixed identity', async (t) => {
  const w = new RtpWrapper({ ssrc: 42, initialSequence: 7, payloadType: 96 });
  const a = w.wrap(tsPackets(1), 0);
  const b = w.wrap(tsPackets(3), 1);
  t.equal(a.buffer, b.buffer, 'no allocation per datagram');
  t.equal(b.length, 12 + 3 * 188);
  const h = parseRtpHeader(b, 0, b.length) as RtpHeader;
  t.match(h, { ssrc: 42, sequence: 8, payloadType: 96, payloadLength: 564 });
  t.throws(() => w.wrap(tsPackets(8), 0), RangeError);
});

t.test('rtpTimestampFromPcr', async (t) => {
  t.equal(rtpTimestampFromPcr(27_000_000), 90000);
  t.equal(rtpTimestampFromPcr(27_000_299), 90000);
  t.equal(rtpTimestampFromPcr((2 ** 32 + 10) * 300), 10, 'modulo 2^32');
});
