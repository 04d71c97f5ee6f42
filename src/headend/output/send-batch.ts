// Batched sending for the pacing thread (native addon, native/udp.c): the outputs that share
// a source address, egress interface, TTL and TOS share one unconnected UDP socket, and the
// datagrams the pacing loop sends in one pass leave with one sendmmsg(2) per 16 of them and at
// the end of the pass (flushSendBatches, called by the worker: OutputModule.flush;
// pacing-loop.ts PASS_FLUSH_SENDS).
//
// Why shared: a pass sends what falls due now across all channels (on the 1 ms grid of a busy
// thread, several channels' datagrams), but rarely two of one channel, so a socket per channel
// would batch nothing. Measured on this VM (C, 1316-byte datagrams to 8 groups): sendmsg(2)
// alone ~2.8-4 µs of CPU per datagram; sendmmsg(2) of 4 ~1.3-1.5 µs; node:dgram's send 4.2 µs.
//
// add() copies the datagram into the batch's own arena (a memcpy of ≤ 1,328 bytes), so the
// pacer's ring slot is free the moment add() returns and nothing here holds a caller's buffer.
// Nothing is allocated per datagram.
//
// Errors: a datagram the kernel refuses (EPERM from a firewall, ENETUNREACH, …) is counted on
// its output's counters and skipped; the rest of the batch still goes. A full socket buffer
// (EAGAIN) keeps the unsent datagrams for the next pass; when the arena is full as well, the
// new datagram is dropped and counted (the output's sendErrors, lastError 'EAGAIN').

import { nativeUdp, type NativeSocket, type NativeUdp } from '../net/native-udp.js';

/** Datagrams per batch (the addon sends 64 per sendmmsg call). */
const MAX_DATAGRAMS = 64;
/** Largest datagram: RTP header + 7 TS packets. */
const MAX_BYTES = 12 + 7 * 188;
const EAGAIN = 11;

export interface SendCounters {
  sendErrors: number;
  lastError: string;
}

export interface SenderKey {
  /** Local address to bind (the source of SSM, else the interface's address; 0.0.0.0: any). */
  bindAddress: string;
  /** Multicast egress interface address ('0.0.0.0': the kernel's choice). */
  interfaceAddress: string;
  ttl: number;
  tos: number;
  sendBufferBytes: number;
}

const senders = new Map<string, SendBatch>();
/** The same, as an array: the per-pass flush iterates it without allocating. */
const list: SendBatch[] = [];

export class SendBatch {
  readonly socket: NativeSocket;
  private readonly arena = new Uint8Array(MAX_DATAGRAMS * MAX_BYTES);
  private readonly meta = new Int32Array(MAX_DATAGRAMS * 4);
  private readonly owners: (SendCounters | undefined)[] = new Array(MAX_DATAGRAMS).fill(undefined);
  /** Datagrams start..count−1 wait in the arena; bytes used up to `used`. */
  private start = 0;
  private count = 0;
  private used = 0;
  private users = 0;

  private constructor(
    private readonly udp: NativeUdp,
    private readonly key: string,
    k: SenderKey,
  ) {
    this.socket = udp.open({
      bindAddress: k.bindAddress,
      ttl: k.ttl,
      multicastInterface: k.interfaceAddress,
      multicastLoop: true,
      sendBufferBytes: k.sendBufferBytes,
      tos: k.tos,
    });
  }

  /**
   * The batch for outputs with these settings, opened on first use (throws the socket's Error);
   * undefined when the native addon is not available.
   */
  static acquire(k: SenderKey, udp: NativeUdp | undefined = nativeUdp()): SendBatch | undefined {
    if (udp === undefined) return undefined;
    const key = `${k.bindAddress}|${k.interfaceAddress}|${k.ttl}|${k.tos}`;
    let s = senders.get(key);
    if (s === undefined) {
      s = new SendBatch(udp, key, k);
      senders.set(key, s);
      list.push(s);
    }
    s.users++;
    return s;
  }

  /** Queues `bytes` for `address`:`port` (address as ipv4ToInt gives it). */
  add(bytes: Uint8Array, address: number, port: number, owner: SendCounters): void {
    if (this.count === MAX_DATAGRAMS || this.used + bytes.length > this.arena.length) {
      this.flush();
      this.compact();
      if (this.count === MAX_DATAGRAMS || this.used + bytes.length > this.arena.length) {
        owner.sendErrors++;
        owner.lastError = 'send EAGAIN (socket buffer full)';
        return;
      }
    }
    const i = this.count++;
    this.arena.set(bytes, this.used);
    const m = this.meta;
    m[i * 4] = this.used;
    m[i * 4 + 1] = bytes.length;
    m[i * 4 + 2] = address;
    m[i * 4 + 3] = port;
    this.owners[i] = owner;
    this.used += bytes.length;
  }

  /** Sends everything queued (what the kernel refuses with EAGAIN waits for the next flush). */
  flush(): void {
    while (this.start < this.count) {
      const r = this.udp.sendBatch(this.socket.fd, this.arena, this.meta, this.start, this.count);
      if (r > 0) {
        this.start += r;
        continue;
      }
      if (r === -EAGAIN) return;
      const owner = this.owners[this.start]!;
      owner.sendErrors++;
      owner.lastError = `send ${this.udp.errorName(-r)}`;
      this.start++;
    }
    this.start = this.count = this.used = 0;
  }

  /** Moves datagrams still waiting after an EAGAIN to the front of the arena. */
  private compact(): void {
    if (this.start === 0) return;
    const m = this.meta;
    const from = this.start < this.count ? m[this.start * 4] : this.used;
    this.arena.copyWithin(0, from, this.used);
    for (let i = this.start; i < this.count; i++) {
      const j = i - this.start;
      m[j * 4] = m[i * 4] - from;
      m[j * 4 + 1] = m[i * 4 + 1];
      m[j * 4 + 2] = m[i * 4 + 2];
      m[j * 4 + 3] = m[i * 4 + 3];
      this.owners[j] = this.owners[i];
    }
    this.count -= this.start;
    this.used -= from;
    this.start = 0;
  }

  /** One output fewer; the last one closes the socket (after sending what is queued). */
  release(): void {
    if (--this.users > 0) return;
    this.flush();
    senders.delete(this.key);
    list.splice(list.indexOf(this), 1);
    this.udp.close(this.socket.fd);
  }
}

/** Sends every batch's queued datagrams: every 16 sends of a pacing pass, and at its end. */
export function flushSendBatches(): void {
  for (let i = 0; i < list.length; i++) list[i].flush();
}
