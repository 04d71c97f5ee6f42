import t from 'tap';
import { crc32Mpeg2 } from '../../src/mpegts/crc32.js';

t.test('check value of CRC-32/MPEG-2', async (t) => {
  t.equal(crc32Mpeg2(new TextEncoder().encode('123456789')), 0x0376e6e7);
});

t.test('PAT example from STANDARDS.md', async (t) => {
  const pat = Uint8Array.from([
    0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00,
  ]);
  t.equal(crc32Mpeg2(pat), 0x2ab104b2);
  const whole = Uint8Array.from([...pat, 0x2a, 0xb1, 0x04, 0xb2]);
  t.equal(crc32Mpeg2(whole), 0, 'CRC over a section including its CRC is 0');
});

t.test('range arguments', async (t) => {
  const b = new TextEncoder().encode('xx123456789yy');
  t.equal(crc32Mpeg2(b, 2, 11), 0x0376e6e7);
});
