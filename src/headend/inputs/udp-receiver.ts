// Receives a UDP or RTP transport stream (unicast, multicast, source-specific multicast) and
// yields its datagrams as TS bytes with an arrival time. It reads with recvmmsg(2) through the
// native addon (native-receive.ts) where that is built, else with node:dgram.
//
//   const rx = new UdpReceiver(input);            // input from parseInputAddress()
//   const err = await rx.open();                  // bind + join; a HeadendError (E_NET) or undefined
//   for await (const { data, arrivalNs } of rx) … // ends after rx.close()
//   rx.listen((data) => …)                         // or: each datagram at once, no queue
//
// A source of the daemon listens: at 3,800 datagrams a second the queue and async iteration
// (a promise, an iterator result and an object per datagram, and a BigInt for the arrival
// time) cost more than everything else the main thread did with a datagram.
// RTP: for rtp:// every datagram must be RTP (others are counted and dropped); for udp:// each
// datagram that looks like RTP carrying TS (src/mpegts/rtp.ts looksLikeRtp) is unwrapped too,
// so a udp:// URL works whichever of the two a sender uses.
//
// Arrival times: `arrivalNs` is Number(process.hrtime.bigint()) read in the 'message' handler.
// That is user space: it is late by this process's event-loop and scheduling latency (often
// hundreds of µs on a busy box, more when the consumer is slow), and datagrams queued while the
// loop was busy get nearly the same time. It measures the measurer. Good enough for PCR/PAT
// repetition checks; for pacing figures (DF, PCR jitter) use kernel timestamps from a capture.
// See STANDARDS.md "Measuring on the wire".

import { createSocket, type Socket } from 'node:dgram';
import { looksLikeRtp, parseRtpHeader, type RtpHeader } from '../../mpegts/rtp.js';
import { HeadendError, fromSystemError } from '../errors.js';
import { batchReceive } from './receive-batching.js';
import { NativeReceiveSocket } from './native-receive.js';
import { nativeUdp } from '../net/native-udp.js';
import type { NetworkInput } from './url.js';

export interface Datagram {
  /** TS bytes (RTP header and padding removed). A view the consumer may keep. */
  data: Uint8Array;
  /** Monotonic arrival time in ns (process.hrtime), read in user space: see the file comment. */
  arrivalNs: number;
}

export interface UdpReceiverOptions {
  /** Overrides the URL's interface= parameter. */
  interfaceAddress?: string;
  /** Datagrams held for a slow consumer before the oldest are dropped. Default 65536. */
  maxQueued?: number;
  /** OS receive buffer size in bytes. Default 4 MiB (the kernel may cap it at rmem_max). */
  receiveBufferSize?: number;
  /**
   * Read in batches this many ms apart instead of waking for each datagram (receive-batching.ts).
   * Default 0: each datagram as it comes (arrival times stay as good as user space allows).
   */
  batchMs?: number;
}

export interface UdpReceiverStats {
  datagrams: number;
  bytes: number;
  /** Datagrams unwrapped from RTP. */
  rtpDatagrams: number;
  /** Datagrams missing according to RTP sequence numbers. */
  rtpLost: number;
  /** Datagrams that were not valid RTP on an rtp:// input, dropped. */
  notRtpDropped: number;
  /** Datagrams dropped because the consumer fell more than maxQueued behind. */
  queueDropped: number;
  /** Datagrams too long to read whole (over 9,216 bytes; native reading only), dropped. */
  truncated: number;
}

export class UdpReceiver implements AsyncIterable<Datagram> {
  readonly input: NetworkInput;
  readonly stats: UdpReceiverStats = {
    datagrams: 0,
    bytes: 0,
    rtpDatagrams: 0,
    rtpLost: 0,
    notRtpDropped: 0,
    queueDropped: 0,
    truncated: 0,
  };
  private readonly interfaceAddress: string | undefined;
  private readonly maxQueued: number;
  private readonly receiveBufferSize: number;
  private readonly batchMs: number;
  /**
   * Whether the socket reads in batches (batchMs > 0, and with node:dgram the libuv handle was
   * reachable).
   */
  batching = false;
  private socket: Socket | undefined;
  private native: NativeReceiveSocket | undefined;
  private queue: Datagram[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private closed = false;
  private failure: HeadendError | undefined;
  private readonly rtp: RtpHeader = {} as RtpHeader;
  private lastSeq = -1;
  private listener: ((data: Uint8Array) => void) | undefined;
  private transient = false;

  constructor(input: NetworkInput, opts: UdpReceiverOptions = {}) {
    this.input = input;
    this.interfaceAddress = opts.interfaceAddress ?? input.interfaceAddress;
    this.maxQueued = opts.maxQueued ?? 65536;
    this.receiveBufferSize = opts.receiveBufferSize ?? 4 << 20;
    this.batchMs = opts.batchMs ?? 0;
  }

  /** Binds and joins the group. Returns a HeadendError (E_NET) instead of throwing. */
  async open(): Promise<HeadendError | undefined> {
    const { input } = this;
    // On Linux, binding to the group address keeps other groups on the same port out.
    const bindAddress =
      input.multicast && process.platform !== 'linux' ? '0.0.0.0' : input.address || '0.0.0.0';
    const where = `${input.url}`;
    const udp = nativeUdp();
    if (udp !== undefined) {
      try {
        this.native = NativeReceiveSocket.open(udp, {
          bindAddress,
          port: input.port,
          reuseAddr: input.reuseAddr,
          receiveBufferBytes: this.receiveBufferSize,
          ...(input.multicast
            ? {
                group: input.address,
                source: input.source,
                interfaceAddress: this.interfaceAddress,
              }
            : {}),
        });
      } catch (err) {
        this.closed = true;
        return fromSystemError('E_NET', `cannot receive ${where}`, err);
      }
      this.batching = this.batchMs > 0;
      this.native.start(
        {
          datagram: (msg) => this.onMessage(msg),
          truncated: () => this.stats.truncated++,
          error: (err) => {
            this.failure = fromSystemError('E_NET', `receiving ${where} failed`, err);
            this.close();
          },
        },
        this.batchMs,
        this.transient,
      );
      return undefined;
    }
    const socket = createSocket({ type: 'udp4', reuseAddr: input.reuseAddr });
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(input.port, bindAddress, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (input.multicast) {
        if (input.source !== undefined) {
          socket.addSourceSpecificMembership(input.source, input.address, this.interfaceAddress);
        } else {
          socket.addMembership(input.address, this.interfaceAddress);
        }
      }
      try {
        socket.setRecvBufferSize(this.receiveBufferSize);
      } catch {
        // A smaller buffer is not fatal: the kernel caps it at net.core.rmem_max.
      }
    } catch (err) {
      this.closed = true;
      socket.close();
      this.socket = undefined;
      return fromSystemError('E_NET', `cannot receive ${where}`, err);
    }
    socket.on('message', (msg: Buffer) => this.onMessage(msg));
    if (this.batchMs > 0) this.batching = batchReceive(socket, this.batchMs);
    socket.on('error', (err) => {
      this.failure = fromSystemError('E_NET', `receiving ${where} failed`, err);
      this.close();
    });
    return undefined;
  }

  /**
   * Hands every datagram's TS bytes to `listener` as it arrives (a view the listener may keep;
   * with `transient`, valid during the call only: no copy where the socket reads in batches),
   * instead of queueing it for the async iterator; no arrival times. Set before open().
   */
  listen(listener: (data: Uint8Array) => void, transient = false): void {
    this.listener = listener;
    this.transient = transient;
  }

  /** Local address and port the socket is bound to (after open). */
  address(): { address: string; port: number } | undefined {
    return this.native?.local ?? this.socket?.address();
  }

  /** Leaves the group, closes the socket and ends the iteration (queued datagrams are still yielded). */
  close(): void {
    this.native?.close();
    if (this.socket !== undefined) {
      const s = this.socket;
      this.socket = undefined;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.closed = true;
    this.wake();
  }

  private onMessage(msg: Buffer): void {
    const st = this.stats;
    st.datagrams++;
    st.bytes += msg.length;
    let data: Uint8Array = msg;
    if (this.input.protocol === 'rtp' || looksLikeRtp(msg)) {
      const h = parseRtpHeader(msg, 0, msg.length, this.rtp);
      if (h === null) {
        st.notRtpDropped++;
        return;
      }
      st.rtpDatagrams++;
      if (this.lastSeq >= 0) {
        const gap = (h.sequence - this.lastSeq - 1) & 0xffff;
        if (gap < 0x8000) st.rtpLost += gap; // larger: reordered or restarted sender, not loss
      }
      this.lastSeq = h.sequence;
      data = msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    }
    if (this.listener !== undefined) {
      this.listener(data);
      return;
    }
    const arrivalNs = Number(process.hrtime.bigint());
    if (this.queue.length - this.head >= this.maxQueued) {
      this.head++;
      st.queueDropped++;
    }
    this.queue.push({ data, arrivalNs });
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    for (;;) {
      if (this.head < this.queue.length) {
        const d = this.queue[this.head++];
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        yield d;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
