// What the pacer needs of a channel's output. The scheduler owns time only; sockets live in
// src/headend/output, which implements this contract. The Pacer's worker loads that module by
// URL (PacerOptions.outputModule), so dependencies keep pointing headend → scheduler → mpegts.

export interface OutputSpec {
  /** 'udp': raw TS datagrams; 'rtp': RTP/AVP PT 33 (RFC 2250). */
  protocol: 'udp' | 'rtp';
  /** Destination IPv4 address: a multicast group (224.0.0.0/4) or a unicast host. */
  group: string;
  port: number;
  /** Source-specific multicast (udp://source@group:port): the source address; the socket binds to it. */
  source?: string;
  /** Multicast TTL, 0-255 (default 1 in the config). */
  ttl: number;
  /** IP TOS byte (DSCP << 2), 0-255. Not settable from Node's dgram: see OutputInfo.tosApplied. */
  tos: number;
  /** Egress interface: an IPv4 address (e.g. 127.0.0.1) or an interface name. */
  interface: string;
  /** TS packets per datagram, 1-7 (7 × 188 = 1316 bytes). */
  packetsPerDatagram: number;
  /**
   * The channel's RTP stream (the output's own when protocol is 'rtp', else the one its extra
   * destinations get): SSRC and first sequence number, chosen by the Pacer so the main thread
   * knows them (RTSP RTP-Info, RTCP). Absent: the output picks random ones.
   */
  rtp?: { ssrc: number; seq: number };
  /**
   * After a stall, overdue datagrams leave at most this many times the channel's own rate
   * (burst-limit.ts; default 1.2).
   */
  burst?: number;
}

/**
 * An extra receiver of a channel's paced RTP datagrams (RTSP unicast sessions, a raw-UDP
 * channel's RTP companion group): the same packets as the channel's RTP stream, sent right
 * after the channel's own datagram.
 */
export interface DestinationSpec {
  /** Unique within the channel. */
  id: string;
  address: string;
  port: number;
  /** Multicast TTL (unicast: ignored). */
  ttl: number;
  /** Multicast egress interface (an IPv4 address or a name). */
  interface: string;
  /** Unicast: the local port to send from (the RTSP server's RTP port); 0 = any. */
  sourcePort: number;
}

export interface OutputInfo {
  /** The IPv4 address multicast leaves from (the interface resolved). */
  interfaceAddress: string;
  /** Local address:port the socket is bound to. */
  local: string;
  /** False when a non-zero TOS was asked for and could not be set. */
  tosApplied: boolean;
  /** Send buffer granted by the kernel. */
  sendBufferBytes: number;
}

/**
 * A datagram's times as PacedOutput.send takes them, in a cell, not as arguments (a double passed
 * to a call V8 does not inline is a new heap number, at every send): the PCR of its first
 * packet (27 MHz, NaN when unknown) and when it was due (monotonic ns).
 */
export const SEND_PCR27 = 0;
export const SEND_DUE = 1;

/** One opened output, driven from the pacing worker (whose event loop is mostly blocked). */
export interface PacedOutput {
  /** Sends still queued in the socket: their bytes must stay untouched until this is 0. */
  readonly queued: number;
  readonly counters: { sendErrors: number };
  readonly info: OutputInfo;
  /**
   * Sends one datagram now, or queues it for OutputModule.flush at the end of the pass. `slot`
   * holds RTP_HEADROOM (12) bytes for an RTP header, then the TS bytes (its length is exactly
   * 12 + the datagram's TS bytes); the output writes the RTP
   * header there and sends what its protocol needs, then the RTP packet to every destination.
   * times[SEND_PCR27] is the datagram's output time (RTP timestamp), times[SEND_DUE] when it
   * was due.
   */
  send(slot: Buffer, ts: Buffer, times: Float64Array): void;
  /** Adds an extra RTP receiver; rejects with a readable Error when its socket cannot open. */
  addDestination(d: DestinationSpec): Promise<void>;
  removeDestination(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where a channel's timed datagrams go (the pacer's queue for the channel; a test's or a
 * bench's stand-in). One datagram: whole TS packets, at most 7, copied before the call returns;
 * `dueNs` when it is to leave (monotonic ns, mono-clock.ts's domain); `t27` its output time
 * (27 MHz, DatagramCutter), which becomes its RTP timestamp (without it RTP derives one from
 * dueNs). Returns false when the queue is full (the datagram is dropped and counted) or closed.
 */
export interface DatagramQueue {
  enqueue(bytes: Uint8Array, dueNs: number, t27?: number): boolean;
}

/** What the module named by PacerOptions.outputModule exports. */
export interface OutputModule {
  openOutput(spec: OutputSpec): Promise<PacedOutput>;
  /**
   * Called by the pacing loop after each pass of sends: an implementation that batches sends
   * (one system call for the pass) sends them here. send() may only queue them until then.
   */
  flush?(): void;
}
