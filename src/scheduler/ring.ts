// A channel's datagram queue in shared memory: single producer (the thread that runs the
// remuxer) and single consumer (the pacing worker). One SharedArrayBuffer per ring:
//
//   ctl    Int32Array  [HEAD, READ, TAIL]  free-running counters, slot = counter & mask
//            HEAD  next slot the producer writes (Atomics.store after the slot is complete)
//            READ  next slot the consumer sends (the producer wakes the worker when HEAD = READ)
//            TAIL  slots before it are free again (≤ READ: a send still queued in the socket
//                  holds its slot until the kernel has taken it)
//   meta   Float64Array  per slot: due time (monotonic ns), PCR of the first packet (27 MHz, NaN
//                        when unknown)
//   len    Int32Array    per slot: bytes of TS in the slot
//   data   bytes         per slot: RTP_HEADROOM bytes for an RTP header, then the TS packets
// and one more for the channel's counters (Float64Array, each written by one side only), which
// outlive its rings.
//
// A ring starts small and is replaced by one twice its size when it runs 3/4 full (the pacer's
// queueSlots caps it): a ring's every slot is touched as it cycles, so its size is memory the
// channel holds for good, and a 4 Mbit/s channel with 400 ms queued needs 152 slots, not 2048.
// The producer moves to the new ring at once and never writes to the old one again; the
// consumer sends what the old one holds, then moves on (the pacer tells it of the new ring after
// the producer has moved, so an empty old ring is then final).
//
// Atomics.store/load on the counters order the plain writes of the slot before them (the
// ECMAScript memory model: sequentially consistent atomics synchronize-with each other).

export const RTP_HEADROOM = 12;

export const CTL_HEAD = 0;
export const CTL_READ = 1;
export const CTL_TAIL = 2;
const CTL_WORDS = 4;

/** Per-channel counters (Float64Array indices). */
export const ST_SENT = 0;
export const ST_DROPPED = 1; // written by the producer
export const ST_LATE_MAX = 2;
export const ST_SEND_ERRORS = 3;
export const ST_BYTES = 4;
export const ST_LATE_SUM = 5;
/** Sends the burst limit let through under its rule 3 (a channel behind without catching up). */
export const ST_RELAXED = 6;
/**
 * Datagrams the burst window could not hold whole: sent in two parts (burst-limit.ts rule 2), two
 * RTP packets (ST_SENT counts the datagram once, when its rest has gone).
 */
export const ST_SPLIT = 7;
/** Sends by lateness (send time − due time): LATENESS_BUCKETS_S[i] counts at ST_LATE_HIST + i. */
export const ST_LATE_HIST = 8;
/**
 * Upper bounds (seconds) of the pacing lateness histogram; a last bucket counts the rest. Fine
 * below 1 ms, where a good pacer lives (a 4 Mbit/s datagram lasts 2.6 ms).
 */
export const LATENESS_BUCKETS_S = [
  25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
] as const;
const ST_WORDS = ST_LATE_HIST + LATENESS_BUCKETS_S.length + 1;

/**
 * Index of the lateness bucket of a send c[at] ns late (early sends count in the first). The
 * lateness comes in a cell, not as an argument: the pacing thread calls this for every datagram,
 * and a double passed to a call V8 does not inline is a new heap number. It was inlined until the
 * burst limiter's sentIo grew by one statement, and then in about half the runs of
 * pacing-garbage.test the loop made ~10 bytes of garbage a send (~300 KB).
 */
export function latenessBucket(c: Float64Array, at: number): number {
  const s = c[at] / 1e9;
  let i = 0;
  while (i < LATENESS_BUCKETS_S.length && s > LATENESS_BUCKETS_S[i]) i++;
  return i;
}

/** The lateness histogram in Prometheus form: cumulative counts per upper bound, then +Inf. */
export function latenessHistogram(stats: Float64Array): {
  buckets: readonly number[];
  counts: number[];
  sumSeconds: number;
  count: number;
} {
  const counts: number[] = [];
  let c = 0;
  for (let i = 0; i <= LATENESS_BUCKETS_S.length; i++) {
    c += stats[ST_LATE_HIST + i];
    counts.push(c);
  }
  return { buckets: LATENESS_BUCKETS_S, counts, sumSeconds: stats[ST_LATE_SUM] / 1e9, count: c };
}

export interface RingLayout {
  sab: SharedArrayBuffer;
  capacity: number;
  slotBytes: number;
}

/** A channel's counters (ST_*), shared by its rings. */
export function createCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(ST_WORDS * 8);
}

export interface RingViews {
  ctl: Int32Array;
  stats: Float64Array;
  meta: Float64Array;
  len: Int32Array;
  data: Uint8Array;
  capacity: number;
  mask: number;
  slotBytes: number;
}

/** Allocates a ring of `capacity` slots (rounded up to a power of two) for datagrams of `tsBytes`. */
export function createRing(capacity: number, tsBytes: number): RingLayout {
  let cap = 1;
  while (cap < capacity) cap *= 2;
  const slotBytes = RTP_HEADROOM + tsBytes;
  const size = 16 + cap * 16 + cap * 4 + cap * slotBytes;
  return { sab: new SharedArrayBuffer(size), capacity: cap, slotBytes };
}

/** Views of a ring, with the channel's counters (createCounters, or a ring's `stats`). */
export function ringViews(r: RingLayout, counters: SharedArrayBuffer | Float64Array): RingViews {
  const cap = r.capacity;
  let at = 0;
  const ctl = new Int32Array(r.sab, at, CTL_WORDS);
  at += 16;
  const stats = counters instanceof Float64Array ? counters : new Float64Array(counters);
  const meta = new Float64Array(r.sab, at, cap * 2);
  at += cap * 16;
  const len = new Int32Array(r.sab, at, cap);
  at += cap * 4;
  const data = new Uint8Array(r.sab, at, cap * r.slotBytes);
  return { ctl, stats, meta, len, data, capacity: cap, mask: cap - 1, slotBytes: r.slotBytes };
}

/**
 * Producer side: copies one datagram into the next slot. Returns false (and counts a drop) when
 * the ring is full; returns true otherwise. `wasEmpty` tells whether the consumer had nothing
 * left to send (then it must be woken).
 */
export function ringPush(
  v: RingViews,
  bytes: Uint8Array,
  dueNs: number,
  pcr27: number,
): 'full' | 'empty-before' | 'ok' {
  const head = v.ctl[CTL_HEAD];
  const tail = Atomics.load(v.ctl, CTL_TAIL);
  if (((head - tail) | 0) >= v.capacity) {
    v.stats[ST_DROPPED]++;
    return 'full';
  }
  const slot = head & v.mask;
  v.data.set(bytes, slot * v.slotBytes + RTP_HEADROOM);
  v.len[slot] = bytes.length;
  v.meta[slot * 2] = dueNs;
  v.meta[slot * 2 + 1] = pcr27;
  Atomics.store(v.ctl, CTL_HEAD, (head + 1) | 0);
  return Atomics.load(v.ctl, CTL_READ) === head ? 'empty-before' : 'ok';
}

/** Datagrams queued and not yet sent. */
export function ringQueued(v: RingViews): number {
  return (Atomics.load(v.ctl, CTL_HEAD) - Atomics.load(v.ctl, CTL_READ)) | 0;
}

/** Slots held (queued, or sent and still in the socket): the producer's measure of fullness. */
export function ringHeld(v: RingViews): number {
  return (v.ctl[CTL_HEAD] - Atomics.load(v.ctl, CTL_TAIL)) | 0;
}
