import t from 'tap';
import { Framer } from '../../src/mpegts/framer.js';

function stream(n: number): Uint8Array {
  const b = new Uint8Array(n * 188);
  for (let i = 0; i < n; i++) {
    b[i * 188] = 0x47;
    b[i * 188 + 1] = i >> 8;
    b[i * 188 + 2] = i & 0xff;
  }
  return b;
}

function run(chunks: Uint8Array[], capacity?: number) {
  const ids: number[] = [];
  const f = new Framer({ packet: (b, o) => ids.push((b[o + 1] << 8) | b[o + 2]) }, capacity);
  for (const c of chunks) f.push(c);
  f.end();
  return { ids, skipped: f.bytesSkipped, losses: f.syncLosses };
}

t.test('aligned input: every packet, nothing skipped', async (t) => {
  const r = run([stream(50)]);
  t.same(
    r.ids,
    Array.from({ length: 50 }, (_, i) => i),
  );
  t.equal(r.skipped, 0);
});

t.test('any split into chunks gives the same packets', async (t) => {
  const s = stream(200);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let iter = 0; iter < 50; iter++) {
    const chunks: Uint8Array[] = [];
    for (let p = 0; p < s.length;) {
      const n = 1 + Math.floor(rnd() * 700);
      chunks.push(s.subarray(p, p + n));
      p += n;
    }
    const r = run(chunks, 188 * 4);
    t.equal(r.ids.length, 200);
    t.equal(r.skipped, 0);
  }
});

t.test('garbage before and inside the stream is skipped and counted', async (t) => {
  const s = stream(20);
  const junk = Uint8Array.from({ length: 77 }, (_, i) => (i * 31 + 1) & 0xff).map((x) =>
    x === 0x47 ? 0 : x,
  );
  const input = new Uint8Array(junk.length * 2 + s.length);
  input.set(junk, 0);
  input.set(s.subarray(0, 188 * 10), junk.length);
  input.set(junk, junk.length + 188 * 10);
  input.set(s.subarray(188 * 10), junk.length * 2 + 188 * 10);
  const r = run([input]);
  t.same(
    r.ids,
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.equal(r.skipped, 154);
  t.equal(r.losses, 1);
});

t.test('random bytes never throw', async (t) => {
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const junk = Uint8Array.from({ length: 100_000 }, () => Math.floor(rnd() * 256));
  t.doesNotThrow(() => run([junk.subarray(0, 33333), junk.subarray(33333)]));
});

t.test('random bytes give no packets: sync needs five sync bytes in a row', async (t) => {
  // Two 0x47 bytes 188 apart occur every 64 KiB of random bytes; with the old two-byte rule
  // 8 MiB of them gave over a hundred false packets (a dead feed that looked alive).
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const garbage = new Uint8Array(8 << 20);
  for (let i = 0; i < garbage.length; i++) garbage[i] = rnd();
  const chunks: Uint8Array[] = [];
  for (let p = 0; p < garbage.length; p += 1316) chunks.push(garbage.subarray(p, p + 1316));
  const r = run(chunks);
  t.equal(r.ids.length, 0, 'no packet out of 8 MiB of random bytes');
  t.equal(r.skipped, garbage.length, 'every byte skipped');
});

t.test('four sync bytes in a row are not enough; five are', async (t) => {
  const four = stream(4);
  const junk = new Uint8Array(100).fill(0x11);
  const good = stream(10);
  const r = run([junk, four, junk, good]);
  t.same(
    r.ids,
    Array.from({ length: 10 }, (_, i) => i),
    'only the five-in-a-row stream',
  );
  t.equal(r.skipped, 100 + 4 * 188 + 100);
});

t.test('a chunk after bytes held for sync fits the staging area, however long', async (t) => {
  // Four packets cannot confirm sync (five sync bytes are needed): they stay held. The next
  // chunk is staged after them only as far as the staging area goes; before, the framer
  // staged (capacity − 188) bytes after them, past its end (a RangeError in its own buffer,
  // the bytes after it in a caller's store).
  const packets: number[] = [];
  const f = new Framer({ packet: (b, o) => void packets.push(b[o + 4]) }, 188 * 8);
  const ts = new Uint8Array(188 * 40);
  for (let i = 0; i < 40; i++) {
    ts[i * 188] = 0x47;
    ts[i * 188 + 4] = i;
  }
  f.push(ts.subarray(0, 188 * 4));
  t.equal(f.pendingLength, 188 * 4, 'four packets held');
  f.push(ts.subarray(188 * 4));
  t.same(packets, [...Array(40).keys()].slice(0, packets.length), 'every packet, in order');
  t.ok(packets.length >= 35, `${packets.length} out (the last await sync's end)`);
  f.end();
  t.equal(packets.length, 40, 'all 40 at the end of input');
});

t.test('restage: the bytes held move to the new store and framing goes on', async (t) => {
  const got: number[] = [];
  const a = { buf: new Uint8Array(188 * 10), base: 188 };
  const f = new Framer({ packet: (b, o) => void got.push(b[o + 4]) }, 188 * 8, a);
  const ts = new Uint8Array(188 * 12);
  for (let i = 0; i < 12; i++) {
    ts[i * 188] = 0x47;
    ts[i * 188 + 4] = i;
  }
  f.push(ts.subarray(0, 188 * 6 + 100));
  const b = { buf: new Uint8Array(188 * 20), base: 188 * 3 };
  f.restage(b);
  t.equal(f.buf, b.buf, 'packets come from the new store');
  f.push(ts.subarray(188 * 6 + 100));
  f.end();
  t.same(got, [...Array(12).keys()], 'every packet once, in order');
});
