// A UDP input socket on the native addon (native/udp.c): every datagram queued in the kernel is
// read with one recvmmsg(2) per 64, where node:dgram makes one recvmsg(2) per datagram (plus a
// Buffer and an rinfo object each, and a failed recvmsg at the end of each wake-up).
//
// Reading in batches (UdpReceiverOptions.batchMs, as receive-batching.ts does for dgram): after a
// wake-up that read fewer than BUSY datagrams, the socket is not watched for `pauseMs`, so the
// next wake-up finds several queued; at a higher rate it is watched all the time.
//
// One wake-up reads for at most READ_BUDGET_NS, then lets the thread's other work run
// (setImmediate) before it reads on: a socket whose queue outgrows the thread (the first data
// of a channel worker's inputs goes through code not yet optimized) otherwise holds the event
// loop until the kernel's queue is empty. bench/scale at 40 channels: one readAll of one input
// held a channel worker 197 ms as the inputs began, while the other inputs' channels waited and
// their queues ran dry.
//
// Each batch is copied into one fresh Buffer, and each datagram handed on is a view of it that
// the consumer may keep (the read arena itself is reused). A consumer that only reads each
// datagram during the call (`transient`: a source, whose subscribers take views valid during
// the call) gets views of the arena itself: no copy and no allocation per datagram or batch
// (the copy was the largest allocation of a channel worker at 40 channels: 34 MB in 14 s).

import type { NativePoll, NativeUdp } from '../net/native-udp.js';
import { monotonicNs } from '../../scheduler/mono-clock.js';

/** Largest datagram read whole (a jumbo frame's payload); longer ones are counted and dropped. */
const SLOT_BYTES = 9216;
const MAX_DATAGRAMS = 64;
/** A wake-up that read this many or more goes on watching without a pause (high rate). */
const BUSY = 32;
/** The longest one wake-up reads before the thread's other work has its turn. */
export const READ_BUDGET_NS = 10_000_000;

export interface NativeReceiveOptions {
  bindAddress: string;
  port: number;
  reuseAddr: boolean;
  receiveBufferBytes: number;
  /** Join this multicast group (with `source`: source-specific). */
  group?: string;
  source?: string;
  interfaceAddress?: string;
}

export interface NativeReceiveHandlers {
  datagram(msg: Buffer): void;
  /** A datagram longer than SLOT_BYTES (dropped). */
  truncated(): void;
  error(err: Error): void;
}

export class NativeReceiveSocket {
  private readonly arena: Uint8Array;
  /** The arena as a Buffer, for copy() without a view per datagram. */
  private readonly arenaBuf: Buffer;
  private readonly lens = new Int32Array(MAX_DATAGRAMS);
  /** The last batch read: how many datagrams, and the next to hand on (handBatch). */
  private batchN = 0;
  private batchAt = 0;
  /** Not transient: the batch's copy, and where each datagram starts in it. */
  private copy: Buffer | undefined;
  private readonly starts = new Int32Array(MAX_DATAGRAMS);
  /** Per arena slot, a view as long as the last datagram read into it (transient mode). */
  private readonly views: Buffer[] = [];
  private poller: NativePoll | undefined;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  /** Reading on after a wake-up that spent its budget (READ_BUDGET_NS). */
  private immediate: NodeJS.Immediate | undefined;
  /** The last readAll stopped at its budget with datagrams still queued (maybe). */
  private more = false;
  private closed = false;

  private constructor(
    private readonly udp: NativeUdp,
    private readonly fd: number,
    readonly local: { address: string; port: number },
  ) {
    this.arena = new Uint8Array(SLOT_BYTES * MAX_DATAGRAMS);
    this.arenaBuf = Buffer.from(this.arena.buffer);
  }

  /** Binds (and joins). Throws the socket's Error (code, syscall) when it cannot. */
  static open(udp: NativeUdp, o: NativeReceiveOptions): NativeReceiveSocket {
    const s = udp.open({
      bindAddress: o.bindAddress,
      bindPort: o.port,
      reuseAddr: o.reuseAddr,
      receiveBufferBytes: o.receiveBufferBytes,
    });
    try {
      if (o.group !== undefined) udp.join(s.fd, o.group, o.interfaceAddress ?? '', o.source ?? '');
    } catch (e) {
      udp.close(s.fd);
      throw e;
    }
    return new NativeReceiveSocket(udp, s.fd, { address: s.address, port: s.port });
  }

  /**
   * Starts reading; `pauseMs` > 0 reads in batches that far apart. `transient`: each datagram
   * is a view of the read arena, valid during h.datagram() only.
   */
  start(h: NativeReceiveHandlers, pauseMs: number, transient = false): void {
    const resume = (): void => {
      this.timer = undefined;
      if (!this.closed) this.pause(false);
    };
    const read = (): void => {
      this.immediate = undefined;
      const n = this.readAll(h, transient);
      if (this.closed) return;
      if (this.more) {
        // Budget spent: the rest once the thread's other work (other inputs) has had its turn.
        this.pause(true);
        this.immediate = setImmediate(read);
        return;
      }
      if (pauseMs <= 0 || n >= BUSY) this.pause(false);
      else if (this.timer === undefined) {
        this.pause(true);
        this.timer = setTimeout(resume, pauseMs);
      }
    };
    this.poller = this.udp.poll(this.fd, read);
  }

  /** Stops or starts watching the socket (a batch's pause, a spent budget). */
  private pause(paused: boolean): void {
    if (this.paused === paused || this.poller === undefined) return;
    this.paused = paused;
    this.udp.pollPause(this.poller, paused);
  }

  /**
   * Reads until the kernel has nothing queued or READ_BUDGET_NS has passed (then `more`);
   * returns how many datagrams were read. The budget is looked at after each datagram, not
   * only between batches: as a worker's inputs begin, one datagram of an MPTS may take
   * milliseconds (each of its channels' first tables, code not yet optimized), and the
   * longest turn of one input at 160 channels' start was 52-83 ms (a batch of 64), 30-33 ms
   * now (one datagram of 32 channels' first tables takes up to ~20 ms). What a turn leaves of
   * its batch is handed first by the next. (The clock read per datagram is ~0.1 µs against the
   * tens of µs a datagram's channels take.)
   */
  private readAll(h: NativeReceiveHandlers, transient: boolean): number {
    const { udp, arena, lens } = this;
    const until = monotonicNs() + READ_BUDGET_NS;
    let total = 0;
    this.more = false;
    if (this.batchAt < this.batchN && !this.handBatch(h, transient, until)) {
      this.more = true;
      return total;
    }
    while (!this.closed) {
      const n = udp.recvBatch(this.fd, arena, SLOT_BYTES, lens, MAX_DATAGRAMS);
      if (n < 0) {
        const name = udp.errorName(-n);
        const err = Object.assign(new Error(`recvmmsg ${name}`), { code: name });
        h.error(err);
        return total;
      }
      if (n === 0) break;
      total += n;
      this.batchN = n;
      this.batchAt = 0;
      if (!transient) this.copyBatch(n);
      if (!this.handBatch(h, transient, until) || (n === MAX_DATAGRAMS && monotonicNs() > until)) {
        this.more = true;
        break;
      }
      if (n < MAX_DATAGRAMS) break;
    }
    return total;
  }

  /** The batch copied into one fresh Buffer, each datagram's start in `starts`. */
  private copyBatch(n: number): void {
    const { lens, starts } = this;
    let bytes = 0;
    for (let i = 0; i < n; i++) if (lens[i] > 0) bytes += lens[i];
    const copy = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const len = lens[i];
      starts[i] = at;
      if (len < 0) continue;
      this.arenaBuf.copy(copy, at, i * SLOT_BYTES, i * SLOT_BYTES + len);
      at += len;
    }
    this.copy = copy;
  }

  /**
   * Hands the batch's datagrams from batchAt on: views of the arena (made again only when a
   * length changes), or of the batch's copy. Returns false when `until` passed first.
   */
  private handBatch(h: NativeReceiveHandlers, transient: boolean, until: number): boolean {
    const { lens, views } = this;
    while (this.batchAt < this.batchN && !this.closed) {
      const i = this.batchAt++;
      const len = lens[i];
      if (len < 0) h.truncated();
      else if (!transient) h.datagram(this.copy!.subarray(this.starts[i], this.starts[i] + len));
      else {
        let v = views[i];
        if (v === undefined || v.length !== len) {
          v = this.arenaBuf.subarray(i * SLOT_BYTES, i * SLOT_BYTES + len);
          views[i] = v;
        }
        h.datagram(v);
      }
      if (this.batchAt < this.batchN && monotonicNs() > until) return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.poller !== undefined) this.udp.pollStop(this.poller);
    this.udp.close(this.fd);
  }
}
