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
