// Random access points (src/mpegts/rap.ts) on hand-built packets: the adaptation field's
// random_access_indicator (ISO/IEC 13818-1 §2.4.3.5) and the codecs' start codes (H.264
// §7.4.1.2, H.265 §7.4.2.2, ISO/IEC 13818-2 §6.2.2).
import t from 'tap';
import {
  CODEC_H264,
  CODEC_HEVC,
  CODEC_MPEG2,
  CODEC_OTHER,
  codecFamily,
  isRandomAccess,
} from '../../src/mpegts/rap.js';

/** One TS packet: PUSI, PID 0x100, PES header (PTS only), then `es`; `rai` in an AF. */
function pesPacket(es: number[], opts: { rai?: boolean; pusi?: boolean } = {}): Uint8Array {
  const b = new Uint8Array(188).fill(0xff);
  const pusi = opts.pusi ?? true;
  b.set([0x47, (pusi ? 0x40 : 0) | 0x01, 0x00]);
  let p = 4;
  if (opts.rai) {
    b[3] = 0x30; // adaptation field and payload
    b[4] = 1; // adaptation_field_length
    b[5] = 0x40; // random_access_indicator
    p = 6;
  } else {
    b[3] = 0x10;
  }
  if (pusi) {
    // 00 00 01 E0, length 0, '10' flags, PTS only, header_data_length 5, PTS 90000.
    b.set([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0x00, 0x05, 0xbf, 0x21], p);
    p += 14;
  }
  b.set(es, p);
  b.fill(0x11, p + es.length);
  return b;
}

const AUD = [0, 0, 0, 1, 0x09, 0xf0];

t.test('random_access_indicator marks an access point whatever the codec', async (t) => {
  t.ok(isRandomAccess(pesPacket([], { rai: true }), 0, CODEC_OTHER));
  t.ok(isRandomAccess(pesPacket([...AUD, 0, 0, 1, 0x41], { rai: true }), 0, CODEC_H264));
  t.notOk(isRandomAccess(pesPacket([], {}), 0, CODEC_OTHER), 'unknown codec, no indicator');
  t.notOk(
    isRandomAccess(pesPacket([0, 0, 1, 0x65], { rai: true, pusi: false }), 0, CODEC_H264),
    'a packet that starts no PES is never one',
  );
});

t.test('H.264: IDR or SPS after the AUD is one; a non-IDR slice is not', async (t) => {
  t.ok(isRandomAccess(pesPacket([...AUD, 0, 0, 0, 1, 0x67, 0x64]), 0, CODEC_H264), 'SPS');
  t.ok(
    isRandomAccess(pesPacket([...AUD, 0, 0, 1, 0x06, 5, 0, 0, 1, 0x65]), 0, CODEC_H264),
    'SEI, IDR',
  );
  t.notOk(isRandomAccess(pesPacket([...AUD, 0, 0, 1, 0x41, 0x9a]), 0, CODEC_H264), 'slice');
  t.notOk(
    isRandomAccess(pesPacket([...AUD, 0, 0, 1, 0x41, 0, 0, 1, 0x65]), 0, CODEC_H264),
    'the first slice decides',
  );
  t.notOk(isRandomAccess(pesPacket([...AUD]), 0, CODEC_H264), 'nothing decisive in the packet');
});

t.test('HEVC: IRAP (IDR, CRA) or VPS/SPS is one; TRAIL is not', async (t) => {
  const aud = [0, 0, 1, 35 << 1, 1, 0x50];
  t.ok(isRandomAccess(pesPacket([...aud, 0, 0, 1, 32 << 1, 1]), 0, CODEC_HEVC), 'VPS');
  t.ok(isRandomAccess(pesPacket([...aud, 0, 0, 1, 19 << 1, 1]), 0, CODEC_HEVC), 'IDR_W_RADL');
  t.ok(isRandomAccess(pesPacket([...aud, 0, 0, 1, 21 << 1, 1]), 0, CODEC_HEVC), 'CRA');
  t.notOk(isRandomAccess(pesPacket([...aud, 0, 0, 1, 1 << 1, 1]), 0, CODEC_HEVC), 'TRAIL_R');
});

t.test('MPEG-2 video: sequence or GOP header is one; a picture header first is not', async (t) => {
  t.ok(isRandomAccess(pesPacket([0, 0, 1, 0xb3, 0x2d]), 0, CODEC_MPEG2));
  t.ok(isRandomAccess(pesPacket([0, 0, 1, 0xb8, 0]), 0, CODEC_MPEG2));
  t.notOk(isRandomAccess(pesPacket([0, 0, 1, 0x00, 0, 0x10]), 0, CODEC_MPEG2));
});

t.test('codec families by stream_type', async (t) => {
  t.equal(codecFamily(0x1b), CODEC_H264);
  t.equal(codecFamily(0x24), CODEC_HEVC);
  t.equal(codecFamily(0x06, 'hevc'), CODEC_HEVC);
  t.equal(codecFamily(0x02), CODEC_MPEG2);
  t.equal(codecFamily(0x10), CODEC_OTHER);
});
