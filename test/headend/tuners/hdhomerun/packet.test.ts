// HDHomeRun discovery frames against hand-built bytes (CRC values from zlib.crc32, which is the
// Ethernet CRC libhdhomerun's hdhomerun_pkt_calc_crc computes), TLV lengths, device-id check.
import t from 'tap';
import {
  crc32,
  decodeDiscoverReply,
  decodeDiscoverRequest,
  decodeFrame,
  decodeTlvs,
  encodeDiscoverReply,
  encodeDiscoverRequest,
  encodeTlvs,
  validDeviceId,
} from '../../../../src/headend/tuners/hdhomerun/packet.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('crc32 is the Ethernet CRC', async (t) => {
  t.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  t.equal(crc32(new Uint8Array(0)), 0);
});

t.test('discover request: type, length, two TLVs, CRC little-endian', async (t) => {
  // 0002 type · 000c length · 01 04 00000001 tuner · 02 04 id · CRC (LE)
  t.equal(
    toHex(encodeDiscoverRequest()),
    '0002000c' + '010400000001' + '0204ffffffff' + '4e507f35',
  );
  t.equal(
    toHex(encodeDiscoverRequest(0x1010cafe)),
    '0002000c' + '010400000001' + '02041010cafe' + '9d64ebcc',
  );
  t.same(decodeDiscoverRequest(hex('0002000c 010400000001 02041010cafe 9d64ebcc')), {
    deviceType: 1,
    deviceId: 0x1010cafe,
  });
  t.equal(decodeDiscoverRequest(hex('0002000c 010400000001 02041010cafe 9d64ebcd')), undefined);
});

const REPLY =
  '00030046 010400000001 02041010cafe 100102' +
  '2a12 687474703a2f2f31302e302e302e373a3830' + // base URL http://10.0.0.7:80
  '271e 687474703a2f2f31302e302e302e373a38302f6c696e6575702e6a736f6e' + // lineup URL
  '990100' + // an unknown tag: skipped
  'b41f8b08';

t.test('discover reply: fields decoded, unknown tag skipped', async (t) => {
  t.same(decodeDiscoverReply(hex(REPLY)), {
    deviceType: 1,
    deviceId: '1010CAFE',
    tunerCount: 2,
    baseUrl: 'http://10.0.0.7:80',
    lineupUrl: 'http://10.0.0.7:80/lineup.json',
  });
  const ours = encodeDiscoverReply({
    deviceId: '1010CAFE',
    tunerCount: 2,
    baseUrl: 'http://10.0.0.7:80',
    lineupUrl: 'http://10.0.0.7:80/lineup.json',
  });
  t.same(decodeDiscoverReply(ours), decodeDiscoverReply(hex(REPLY)), 'encoder round-trips');
});

t.test('frames that are not valid are reasons, not throws', async (t) => {
  const bad = hex(REPLY);
  bad[10] ^= 1;
  t.match(decodeDiscoverReply(bad), { error: /CRC/ });
  t.match(decodeFrame(hex('00030046 0104')), { error: /shorter than a frame/ });
  t.match(decodeFrame(hex('000300ff 00000000 00000000')), { error: /runs past/ });
  t.match(decodeDiscoverReply(encodeDiscoverRequest()), { error: /packet type 0x2/ });
});

t.test(
  'TLV lengths: one byte to 127, two bytes (low 7 bits | 0x80, then >> 7) above',
  async (t) => {
    const v = new Uint8Array(300).fill(7);
    const enc = encodeTlvs([
      { tag: 0x2a, value: v },
      { tag: 0x10, value: Uint8Array.of(4) },
    ]);
    t.equal(toHex(enc.subarray(0, 3)), '2aac02', '300 = 0x2c | 0x80, 300 >> 7 = 2');
    const dec = decodeTlvs(enc);
    t.equal(dec.length, 2);
    t.equal(dec[0].value.length, 300);
    t.same([...dec[1].value], [4]);
    t.same(decodeTlvs(hex('2a05 6162')), [], 'a truncated item ends the list');
  },
);

t.test('device ids carry a check digit', async (t) => {
  t.ok(validDeviceId(0x1010cafe));
  t.notOk(validDeviceId(0x1010caff));
  t.notOk(validDeviceId(0xffffffff), 'the wildcard is not a device');
  t.notOk(validDeviceId(0));
});
