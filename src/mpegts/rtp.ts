// MPEG-TS over RTP: RFC 3550 (RTP) with the RFC 2250 payload format for MPEG-2 transport streams.
//
// RTP fixed header, RFC 3550 §5.1 (network byte order):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|X|  CC   |M|     PT      |       sequence number         |   byte 0-3
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           timestamp                           |   byte 4-7
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           synchronization source (SSRC) identifier            |   byte 8-11
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |            contributing source (CSRC) identifiers             |   CC × 4 bytes
//  |                             ....                              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//  V version (2) · P padding: the last payload byte counts the padding bytes, itself included ·
//  X one header extension follows the CSRC list · CC CSRC count (0-15) · M marker ·
//  PT payload type · sequence +1 per packet, random start · timestamp · SSRC random.
//
// Header extension, RFC 3550 §5.3.1 (when X = 1), after the CSRC list:
//
//  |      defined by profile       |           length              |   length in 32-bit words,
//  |                        header extension                       |   excluding these 4 bytes
//
// RFC 2250 §2: PT 33 (MP2T), timestamp at 90 kHz = target transmission time of the first byte
// of the packet (we derive it from the PCR), payload = an integral number of 188-byte TS
// packets (7 fill a 1500-byte MTU: 12 + 7×188 = 1328), marker set only on a timestamp
// discontinuity.
//
// Pure: no Node imports, no allocation in writeRtpHeader, parseRtpHeader (with `out`) or wrap.

import { SYNC_BYTE, TS_PACKET_SIZE } from './packet.js';

export const RTP_VERSION = 2;
export const RTP_HEADER_SIZE = 12;
/** RFC 3551 static payload type for MPEG-2 transport streams (MP2T/90000). */
export const RTP_PT_MP2T = 33;
export const RTP_CLOCK_HZ = 90_000;
export const TS_PACKETS_PER_DATAGRAM = 7;
/** Largest RTP datagram we send: 12 + 7 × 188 = 1328 bytes. */
export const RTP_MAX_DATAGRAM = RTP_HEADER_SIZE + TS_PACKETS_PER_DATAGRAM * TS_PACKET_SIZE;

export interface RtpHeaderFields {
  /** Default 33 (MP2T). */
  payloadType?: number;
  marker?: boolean;
  /** Taken modulo 2^16. */
  sequence: number;
  /** 90 kHz units, taken modulo 2^32. */
  timestamp: number;
  /** Taken modulo 2^32. */
  ssrc: number;
}

/** Writes the 12-byte fixed header (V=2, no padding, no extension, no CSRC) at buf[off]. */
export function writeRtpHeader(buf: Uint8Array, off: number, h: RtpHeaderFields): void {
  const pt = (h.payloadType ?? RTP_PT_MP2T) & 0x7f;
  const seq = h.sequence & 0xffff;
  const ts = mod32(h.timestamp);
  const ssrc = mod32(h.ssrc);
  buf[off] = RTP_VERSION << 6;
  buf[off + 1] = (h.marker === true ? 0x80 : 0) | pt;
  buf[off + 2] = seq >>> 8;
  buf[off + 3] = seq & 0xff;
  buf[off + 4] = ts >>> 24;
  buf[off + 5] = (ts >>> 16) & 0xff;
  buf[off + 6] = (ts >>> 8) & 0xff;
  buf[off + 7] = ts & 0xff;
  buf[off + 8] = ssrc >>> 24;
  buf[off + 9] = (ssrc >>> 16) & 0xff;
  buf[off + 10] = (ssrc >>> 8) & 0xff;
  buf[off + 11] = ssrc & 0xff;
}

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Number of CSRC identifiers (0-15). */
  csrcCount: number;
  /** True when a header extension was present (and skipped). */
  extension: boolean;
  /** Padding bytes removed from the end (0 when P = 0). */
  padding: number;
  /** Absolute offset of the payload in the buffer passed in. */
  payloadOffset: number;
  payloadLength: number;
}

/**
 * Parses the RTP header of the datagram buf[off .. off+len). Returns null when it is not
 * valid RTP: version ≠ 2, too short for its CSRC list or extension, or bad padding count.
 * Pass `out` to reuse one object per socket instead of allocating per datagram.
 */
export function parseRtpHeader(
  buf: Uint8Array,
  off: number,
  len: number,
  out?: RtpHeader,
): RtpHeader | null {
  if (len < RTP_HEADER_SIZE || off + len > buf.length) return null;
  const b0 = buf[off];
  if (b0 >> 6 !== RTP_VERSION) return null;
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  let p = RTP_HEADER_SIZE + cc * 4;
  if (p > len) return null;
  if (hasExtension) {
    if (p + 4 > len) return null;
    const words = (buf[off + p + 2] << 8) | buf[off + p + 3];
    p += 4 + words * 4;
    if (p > len) return null;
  }
  let end = len;
  let padding = 0;
  if (hasPadding) {
    padding = buf[off + len - 1];
    // §5.1: the count includes itself, so 0 is invalid; padding cannot eat into the header.
    if (padding === 0 || p + padding > len) return null;
    end = len - padding;
  }
  const h = out ?? ({} as RtpHeader);
  h.payloadType = buf[off + 1] & 0x7f;
  h.marker = (buf[off + 1] & 0x80) !== 0;
  h.sequence = (buf[off + 2] << 8) | buf[off + 3];
  h.timestamp = readU32(buf, off + 4);
  h.ssrc = readU32(buf, off + 8);
  h.csrcCount = cc;
  h.extension = hasExtension;
  h.padding = padding;
  h.payloadOffset = off + p;
  h.payloadLength = end - p;
  return h;
}

/**
 * True when a datagram is RTP carrying TS, for auto-detection on a socket that may receive
 * either: it does not start with the TS sync byte (0x47 would read as RTP version 1 anyway),
 * parses as RTP version 2, and its payload starts with 0x47.
 */
export function looksLikeRtp(datagram: Uint8Array): boolean {
  if (datagram.length < RTP_HEADER_SIZE + 1 || datagram[0] === SYNC_BYTE) return false;
  const h = parseRtpHeader(datagram, 0, datagram.length, scratch);
  return h !== null && h.payloadLength > 0 && datagram[h.payloadOffset] === SYNC_BYTE;
}
const scratch = {} as RtpHeader;

export interface RtpWrapperOptions {
  /** Default 33 (MP2T). */
  payloadType?: number;
  /**
   * Source of uniformly distributed 32-bit unsigned integers for the initial sequence number
   * and the SSRC (RFC 3550 §5.1: both random). Injected so tests are deterministic.
   */
  random?: () => number;
  /** Fixed SSRC instead of a random one (e.g. to keep it across a restart). */
  ssrc?: number;
  /** Fixed first sequence number instead of a random one. */
  initialSequence?: number;
}

function defaultRandom(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/**
 * Wraps datagrams of up to 7 TS packets into RTP. Holds one preallocated 1328-byte buffer:
 * `wrap` copies the TS bytes after the header and returns a view into that buffer, valid
 * until the next call (send it, or copy it, before wrapping the next one).
 */
export class RtpWrapper {
  readonly ssrc: number;
  readonly payloadType: number;
  private readonly buf = new Uint8Array(RTP_MAX_DATAGRAM);
  private seq: number;

  constructor(opts: RtpWrapperOptions = {}) {
    const random = opts.random ?? defaultRandom;
    this.payloadType = opts.payloadType ?? RTP_PT_MP2T;
    this.seq = (opts.initialSequence ?? random()) & 0xffff;
    this.ssrc = mod32(opts.ssrc ?? random());
  }

  /** Sequence number the next datagram will carry. */
  get nextSequence(): number {
    return this.seq;
  }

  /**
   * Returns the RTP datagram for `ts` (a whole number of TS packets, at most 7) with the given
   * 90 kHz timestamp. Set `marker` only on a timestamp discontinuity (RFC 2250 §2).
   */
  wrap(ts: Uint8Array, timestamp90k: number, marker = false): Uint8Array {
    if (ts.length > RTP_MAX_DATAGRAM - RTP_HEADER_SIZE) {
      throw new RangeError(`RTP payload of ${ts.length} bytes exceeds 7 TS packets`);
    }
    writeRtpHeader(this.buf, 0, {
      payloadType: this.payloadType,
      marker,
      sequence: this.seq,
      timestamp: timestamp90k,
      ssrc: this.ssrc,
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.buf.set(ts, RTP_HEADER_SIZE);
    return this.buf.subarray(0, RTP_HEADER_SIZE + ts.length);
  }
}

/** RTP timestamp (90 kHz, modulo 2^32) for a 27 MHz PCR value. */
export function rtpTimestampFromPcr(pcr27MHz: number): number {
  return mod32(Math.floor(pcr27MHz / 300));
}

/** Forward distance a→b between two 16-bit sequence numbers, in [0, 65535]. */
export function sequenceDiff(b: number, a: number): number {
  return (b - a) & 0xffff;
}

function mod32(v: number): number {
  const m = v % 0x1_0000_0000;
  return m < 0 ? m + 0x1_0000_0000 : m;
}

function readU32(b: Uint8Array, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}
