// PacketPhase (src/mpegts/packet-phase.ts): where a byte stream stands between 188-byte packets
// (ISO/IEC 13818-1 §2.4.3.1), chunk by chunk. Hand-built packets (0x47, then a counter byte
// that is never 0x47), cut at random: the phase is the stream's length mod 188 after every
// chunk; bytes lost or garbage make it unknown (−1) until a chunk shows three sync bytes one
// packet apart.
import t from 'tap';
import { PacketPhase } from '../../src/mpegts/packet-phase.js';
import { prng } from '../helpers/ts-check.js';

function stream(packets: number): Uint8Array {
  const b = new Uint8Array(packets * 188);
  for (let i = 0; i < packets; i++) {
    b[i * 188] = 0x47;
    b.fill(i % 0x40, i * 188 + 1, i * 188 + 188);
  }
  return b;
}

t.test('cut anywhere: the phase is the bytes given mod 188 after every chunk', async (t) => {
  const s = stream(400);
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed);
    const ph = new PacketPhase();
    let at = 0;
    let bad = 0;
    let chunks = 0;
    while (at < s.length) {
      const n = Math.min(s.length - at, 1 + Math.floor(rnd() * 1500));
      ph.push(s.subarray(at, at + n));
      at += n;
      chunks++;
      if (ph.partial !== at % 188) bad++;
    }
    t.equal(bad, 0, `seed ${seed}: right after each of ${chunks} chunks`);
  }
});

t.test('a chunk that breaks the phase makes it unknown; three sync bytes find it', async (t) => {
  const s = stream(40);
  const ph = new PacketPhase();
  ph.push(s.subarray(0, 1000));
  t.equal(ph.partial, 1000 % 188);
  ph.push(s.subarray(1010, 1300)); // 10 bytes lost: no packet start where one must be
  t.equal(ph.partial, -1, 'lost bytes: unknown');
  ph.push(s.subarray(1300, 1500)); // one sync byte only (1316): cannot say
  t.equal(ph.partial, -1, 'a chunk with one sync byte cannot say');
  ph.push(s.subarray(1500, 2114)); // sync bytes at 1504, 1692, 1880, 2068
  t.equal(ph.partial, 2114 % 188, 'found again from the sync bytes');
  ph.push(s.subarray(2114, 3000));
  t.equal(ph.partial, 3000 % 188, 'and followed on');
  ph.reset();
  t.equal(ph.partial, 0, 'a new stream starts at a boundary');
});

t.test('a chunk ending before the next boundary keeps counting', async (t) => {
  const ph = new PacketPhase();
  const s = stream(2);
  ph.push(s.subarray(0, 100));
  ph.push(s.subarray(100, 150));
  t.equal(ph.partial, 150);
  ph.push(s.subarray(150, 188));
  t.equal(ph.partial, 0);
  ph.push(s.subarray(188, 189));
  t.equal(ph.partial, 1);
});
