// A channel's network output: one UDP socket sending raw TS datagrams or RTP (RFC 3550 with the
// RFC 2250 payload format for MPEG-2 TS) to a multicast group (or a unicast host).
//
// Built to be driven from the pacing worker, whose event loop is blocked most of the time in
// Atomics.wait or a spin. Two ways to send, chosen at open:
//   - the native addon (the default where it is built): the datagram is copied into the batch
//     of the socket it shares with the outputs of the same settings, which the worker sends with
//     one sendmmsg(2) per 16 sends of a pass and at its end (send-batch.ts; OutputModule.flush);
//   - node:dgram (no addon, or HEADEND_NATIVE_UDP=0): a socket per output, bound and connect()ed
//     to group:port when opened, so a send needs no DNS lookup or bind callback and Node hands
//     it to the kernel synchronously (uv_udp_try_send); only when the socket buffer is full does
//     libuv queue it for the event loop (`queued` > 0: the caller must keep the bytes untouched
//     until it drains).
//
// RTP: PT 33, 90 kHz timestamp = the datagram's PCR / 300 (RFC 2250 §2: target transmission
// time of its first byte), sequence +1 per datagram from a random start, random SSRC, marker only
// when the timestamp jumps (backwards, or more than 1 s ahead). The header is written in place
// into the 12 bytes of headroom before the TS bytes (RtpWrapper's single shared buffer would be
// overwritten by the next datagram while a queued send still points at it).
//
// Extra destinations (RTSP unicast sessions, a raw-UDP channel's RTP companion group): the RTP
// header is written for every datagram, whatever the output's protocol, so that each destination
// gets the same RTP packet right after the channel's own send (destination.ts). The sequence
// number therefore advances once per datagram from spec.rtp.seq: the main thread can tell the
// next one from the count of datagrams sent (RTSP RTP-Info).
//
// TOS/DSCP: set with IP_TOS by the native addon. Node's dgram has no IP_TOS option (Node 20):
// without the addon a non-zero `tos` is not applied and `tosApplied` reports it (marking can then
// be done outside the process, with an nftables/iptables mangle rule setting DSCP for the group).

import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  RTP_CLOCK_HZ,
  RTP_PT_MP2T,
  rtpTimestampFromPcr,
  writeRtpHeader,
  type RtpHeaderFields,
} from '../../mpegts/rtp.js';
import { openDestination, type Destination } from './destination.js';
import { SendBatch, flushSendBatches } from './send-batch.js';
import { ipv4ToInt } from '../net/native-udp.js';
import { isMulticastV4 } from '../inputs/url.js';
import type {
  DestinationSpec,
  OutputInfo,
  OutputModule,
  OutputSpec,
  PacedOutput,
} from './types.js';
import { SEND_DUE, SEND_PCR27 } from '../../scheduler/output-contract.js';

export const RTP_HEADER_BYTES = 12;
/** Socket send buffer asked for: ~0.5 s at 20 Mbit/s, so bursts of sends never block. */
const SEND_BUFFER_BYTES = 1 << 20;
/** The same for a socket the channels share (native addon): room for many channels' passes. */
const SHARED_SEND_BUFFER_BYTES = 4 << 20;

export interface OutputCounters {
  sendErrors: number;
  lastError: string;
}

/** True for 224.0.0.0/4. */
export function isMulticast(addr: string): boolean {
  return isIPv4(addr) && isMulticastV4(addr);
}

/** An interface name or IPv4 address → its IPv4 address (null when unknown). */
export function resolveInterface(iface: string): string | null {
  if (iface === '' || iface === '0.0.0.0') return '0.0.0.0';
  if (isIPv4(iface)) return iface;
  const list = networkInterfaces()[iface];
  const v4 = list?.find((a) => a.family === 'IPv4');
  return v4 ? v4.address : null;
}

export class Output implements PacedOutput {
  /**
   * Errors of the channel's own socket (the pacer reports them as the channel's sendErrors: a
   * channel whose sends all fail is down).
   */
  readonly counters: OutputCounters = { sendErrors: 0, lastError: '' };
  /** Errors of the extra destinations (an RTSP client gone away must not take the channel down). */
  readonly destinationCounters: OutputCounters = { sendErrors: 0, lastError: '' };
  private readonly rtp: boolean;
  private readonly destinations: Destination[] = [];
  private seq: number;
  private readonly ssrc: number;
  private lastTs = -1;
  private readonly header: RtpHeaderFields;

  private constructor(
    private readonly sender: Sender,
    readonly spec: OutputSpec,
    readonly info: OutputInfo,
    random: () => number,
  ) {
    this.rtp = spec.protocol === 'rtp';
    this.seq = spec.rtp ? spec.rtp.seq & 0xffff : random() & 0xffff;
    this.ssrc = spec.rtp ? spec.rtp.ssrc >>> 0 : random() >>> 0;
    this.header = {
      payloadType: RTP_PT_MP2T,
      marker: false,
      sequence: 0,
      timestamp: 0,
      ssrc: this.ssrc,
    };
    sender.counters = this.counters;
  }

  /** Binds, configures and connects a socket for `spec`. Rejects with a readable Error. */
  static async open(spec: OutputSpec, random: () => number = defaultRandom): Promise<Output> {
    const iface = resolveInterface(spec.interface);
    if (iface === null) throw new Error(`output interface ${spec.interface}: no IPv4 address`);
    if (!isIPv4(spec.group)) throw new Error(`output address ${spec.group} is not IPv4`);
    let batch: SendBatch | undefined;
    try {
      batch = SendBatch.acquire({
        bindAddress: spec.source ?? iface,
        interfaceAddress: iface,
        ttl: spec.ttl,
        tos: spec.tos,
        sendBufferBytes: SHARED_SEND_BUFFER_BYTES,
      });
    } catch (e) {
      throw new Error(
        `output ${spec.protocol}://${spec.group}:${spec.port}: ${(e as Error).message}`,
      );
    }
    if (batch !== undefined) {
      const sock = batch.socket;
      const info: OutputInfo = {
        interfaceAddress: iface,
        local: `${sock.address}:${sock.port}`,
        tosApplied: spec.tos === 0 || sock.tosApplied,
        sendBufferBytes: sock.sendBufferBytes,
      };
      return new Output(new BatchSender(batch, spec), spec, info, random);
    }
    const socket = createSocket({ type: 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        // The source address of source-specific multicast is ours: bind to it.
        socket.bind({ port: 0, address: spec.source ?? iface, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const multicast = isMulticast(spec.group);
      if (multicast) {
        socket.setMulticastTTL(spec.ttl);
        if (iface !== '0.0.0.0') socket.setMulticastInterface(iface);
        socket.setMulticastLoopback(true);
      } else {
        socket.setTTL(Math.max(1, spec.ttl));
      }
      try {
        socket.setSendBufferSize(SEND_BUFFER_BYTES);
      } catch {
        // Capped by net.core.wmem_max; the default still works.
      }
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(spec.port, spec.group, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const a = socket.address();
      const info: OutputInfo = {
        interfaceAddress: iface,
        local: `${a.address}:${a.port}`,
        tosApplied: spec.tos === 0,
        sendBufferBytes: socket.getSendBufferSize(),
      };
      return new Output(new DgramSender(socket), spec, info, random);
    } catch (e) {
      socket.close();
      throw new Error(
        `output ${spec.protocol}://${spec.group}:${spec.port}: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Sends one datagram: writes the RTP header into the slot's first 12 bytes, sends the slot
   * (RTP) or the TS bytes (UDP), then the RTP packet to every destination. times[SEND_PCR27]
   * gives the RTP timestamp (NaN: none known, the due time's, times[SEND_DUE], instead).
   */
  send(slot: Buffer, ts: Buffer, times: Float64Array): void {
    const pcr27 = times[SEND_PCR27];
    const stamp = Number.isFinite(pcr27)
      ? rtpTimestampFromPcr(pcr27)
      : ntpLikeTimestamp(times[SEND_DUE]);
    let marker = false;
    if (this.lastTs >= 0) {
      const d = (stamp - this.lastTs) >>> 0;
      // Signed 32-bit step: backwards or more than 1 s ahead is a discontinuity.
      marker = d > RTP_CLOCK_HZ && d < 0x8000_0000 ? true : d >= 0x8000_0000;
    }
    this.lastTs = stamp;
    const h = this.header; // one object, rewritten: nothing allocated per datagram here
    h.marker = marker;
    h.sequence = this.seq;
    h.timestamp = stamp;
    writeRtpHeader(slot, 0, h);
    this.seq = (this.seq + 1) & 0xffff;
    this.sender.send(this.rtp ? slot : ts);
    const dests = this.destinations;
    for (let i = 0; i < dests.length; i++) dests[i].send(slot);
  }

  async addDestination(d: DestinationSpec): Promise<void> {
    await this.removeDestination(d.id);
    this.destinations.push(await openDestination(d, this.destinationCounters));
  }

  async removeDestination(id: string): Promise<void> {
    const i = this.destinations.findIndex((x) => x.id === id);
    if (i < 0) return;
    const [gone] = this.destinations.splice(i, 1);
    await gone.close();
  }

  /** Sends still held by libuv (a socket buffer was full): their bytes must stay untouched. */
  get queued(): number {
    let n = this.sender.queued;
    for (const d of this.destinations) n += d.queued;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all(this.destinations.splice(0).map((d) => d.close()));
    await this.sender.close();
  }
}

/** How an Output hands a datagram to the kernel. */
interface Sender {
  /** Where send errors are counted (the Output's). */
  counters: OutputCounters;
  /** Sends still holding a caller's bytes. */
  readonly queued: number;
  send(bytes: Buffer): void;
  close(): Promise<void>;
}

/** Into the shared socket's batch (native addon): bytes copied, sent at the pass's flush. */
class BatchSender implements Sender {
  counters: OutputCounters = { sendErrors: 0, lastError: '' };
  readonly queued = 0;
  private readonly address: number;

  constructor(
    private readonly batch: SendBatch,
    private readonly spec: OutputSpec,
  ) {
    this.address = ipv4ToInt(spec.group);
  }

  send(bytes: Buffer): void {
    this.batch.add(bytes, this.address, this.spec.port, this.counters);
  }

  async close(): Promise<void> {
    this.batch.release();
  }
}

/** node:dgram, the socket connect()ed to the destination. */
class DgramSender implements Sender {
  counters: OutputCounters = { sendErrors: 0, lastError: '' };

  constructor(private readonly socket: Socket) {
    socket.on('error', (err) => {
      this.counters.sendErrors++;
      this.counters.lastError = err.message;
    });
  }

  get queued(): number {
    return this.socket.getSendQueueCount();
  }

  send(bytes: Buffer): void {
    // No callback: a send completed at once would queue one (a tick and its arguments) for
    // every datagram, and that garbage makes the worker's GC pauses. Errors still arrive, as
    // the socket's 'error' events (counted above).
    this.socket.send(bytes);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function defaultRandom(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/** 90 kHz timestamp from a monotonic ns time (RTP without a PCR). */
function ntpLikeTimestamp(ns: number): number {
  return Math.floor((ns / 1e9) * RTP_CLOCK_HZ) % 0x1_0000_0000;
}

/** This module as the pacer loads it in its worker (PacerOptions.outputModule). */
export const openOutput: OutputModule['openOutput'] = (spec) => Output.open(spec);
/** Sends the pass's batched datagrams (OutputModule.flush). */
export const flush: () => void = flushSendBatches;

/** URL of this module, for PacerOptions.outputModule. */
export const OUTPUT_MODULE = import.meta.url;

export type { OutputInfo };
