// RecentBytes (a source run's last bytes, for a subscriber that goes on from a packet): kept by
// time and by size, the newest copy of a packet found across chunk boundaries, cleared.
import t from 'tap';
import { RECENT_BYTES, RECENT_MS, RecentBytes } from '../../../src/headend/sources/recent-bytes.js';

/** n packets: packet k (from + i) is 0x47, k as 16 bits, then k's low byte. */
function packets(from: number, n: number): Uint8Array {
  const b = new Uint8Array(n * 188);
  for (let i = 0; i < n; i++) {
    const k = from + i;
    b.fill(k & 0xff, i * 188, (i + 1) * 188);
    b[i * 188] = 0x47;
    b[i * 188 + 1] = k >> 8;
    b[i * 188 + 2] = k & 0xff;
  }
  return b;
}

t.test('from a packet, across chunk boundaries; null when not kept', async (t) => {
  const r = new RecentBytes();
  const all = packets(0, 30);
  // Chunks that cut packets: 1000, 1000, rest.
  r.push(all.subarray(0, 1000), 0);
  r.push(all.subarray(1000, 2000), 1);
  r.push(all.subarray(2000), 2);
  const p = all.subarray(5 * 188, 6 * 188); // straddles the first boundary
  const got = r.from(p);
  t.ok(got && Buffer.from(got).equals(Buffer.from(all.subarray(5 * 188))), 'from packet 5 on');
  t.equal(r.from(packets(99, 1)), null, 'a packet not kept');
  r.clear();
  t.equal(r.from(p), null, 'cleared');
});

t.test('the newest copy of a packet that repeats (a looped file)', async (t) => {
  const r = new RecentBytes();
  r.push(packets(0, 4), 0);
  r.push(packets(0, 4), 1);
  const got = r.from(packets(1, 1));
  t.equal(got?.length, 3 * 188, 'from the second loop');
});

t.test('kept RECENT_MS and at most RECENT_BYTES', async (t) => {
  const r = new RecentBytes();
  r.push(packets(1, 1), 0);
  r.push(packets(2, 1), RECENT_MS / 2);
  r.push(packets(3, 1), RECENT_MS + 1);
  t.equal(r.from(packets(1, 1)), null, 'older than RECENT_MS: gone');
  t.ok(r.from(packets(2, 1)), 'younger: kept');
  const big = new RecentBytes();
  const chunk = 64 * 188;
  const n = Math.ceil(RECENT_BYTES / chunk) + 4;
  for (let i = 0; i < n; i++) big.push(packets(i, 64), 0);
  t.equal(big.from(packets(0, 1)), null, 'beyond RECENT_BYTES: the oldest gone');
  const kept = big.from(packets(n - 1, 1));
  t.ok(kept && kept.length === 64 * 188, 'the newest kept');
});

t.test('the ring: grows, wraps, and gives the same bytes as the chunks kept', async (t) => {
  // 60,000 packets (11 MB) in chunks of 1-40,000 bytes (cutting packets anywhere), 5 ms apart: the
  // ring grows from 64 KiB as RECENT_MS needs, wraps many times, and from() gives exactly the
  // bytes of the chunks younger than RECENT_MS from the packet on (a plain list of chunks,
  // kept as before, is the model).
  const all = packets(0, 60_000);
  const r = new RecentBytes();
  const model: { at: number; ms: number }[] = [];
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  let ok = true;
  let checks = 0;
  for (let at = 0, ms = 0; at < all.length; ms += 5) {
    const n = Math.min(all.length - at, 1 + Math.floor(rnd() * 40_000));
    r.push(all.subarray(at, at + n), ms);
    model.push({ at, ms });
    at += n;
    while (model.length > 1 && model[0].ms < ms - RECENT_MS) model.shift();
    const oldest = model[0].at;
    // A packet that starts within what is kept: from it on; one before: null.
    const k = Math.floor(oldest / 188) + 1 + Math.floor(rnd() * 50);
    if ((k + 1) * 188 <= at) {
      const got = r.from(all.subarray(k * 188, (k + 1) * 188));
      if (!got || !Buffer.from(got).equals(Buffer.from(all.subarray(k * 188, at)))) ok = false;
      checks++;
    }
    if (oldest >= 188 && r.from(all.subarray(0, 188)) !== null) ok = false;
  }
  t.ok(ok, `${checks} checks: the bytes from the packet on, and nothing older than RECENT_MS`);
});
