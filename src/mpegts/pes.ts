// PES packet header and PTS/DTS access. ISO/IEC 13818-1 §2.4.3.6-7.
//
//   packet_start_code_prefix 00 00 01 | stream_id(8) | PES_packet_length(16, 0 allowed for video)
//   '10' PES_scrambling_control(2) PES_priority(1) data_alignment_indicator(1) copyright(1) original(1)
//   PTS_DTS_flags(2) ESCR(1) ES_rate(1) DSM_trick_mode(1) additional_copy_info(1) PES_CRC(1) extension(1)
//   PES_header_data_length(8) | PTS (5 bytes) | DTS (5 bytes) | ...
// Timestamp, 33 bits in 5 bytes with marker bits (pppp = 0010 PTS only; 0011 PTS then 0001 DTS):
//   pppp TS[32..30] 1 | TS[29..22] | TS[21..15] 1 | TS[14..7] | TS[6..0] 1
// Stream ids without the optional header (§2.4.3.7 Table 2-22): 0xBC program_stream_map,
// 0xBE padding, 0xBF private_stream_2, 0xF0 ECM, 0xF1 EMM, 0xF2 DSMCC, 0xF8 H.222.1 E, 0xFF directory.

import { payloadOffset, payloadUnitStart, TS_PACKET_SIZE, PTS_MODULUS } from './packet.js';

function hasOptionalHeader(streamId: number): boolean {
  return !(
    streamId === 0xbc ||
    streamId === 0xbe ||
    streamId === 0xbf ||
    streamId === 0xf0 ||
    streamId === 0xf1 ||
    streamId === 0xf2 ||
    streamId === 0xf8 ||
    streamId === 0xff
  );
}

/**
 * Finds the PTS and DTS fields in the PES header that starts in the TS packet at buf[o]
 * (payload_unit_start_indicator must be set). Returns `ptsAt | dtsAt << 8`, offsets relative
 * to the packet start, 0 meaning absent; 0 when the packet starts no PES or the header does not
 * fit in this packet. Allocation-free so it can run on every PUSI packet.
 */
export function locatePesTimestamps(b: Uint8Array, o: number): number {
  if (!payloadUnitStart(b, o)) return 0;
  const po = payloadOffset(b, o);
  if (po < 0) return 0;
  const p = o + po;
  if (p + 9 > o + TS_PACKET_SIZE) return 0;
  if (b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1) return 0;
  if (!hasOptionalHeader(b[p + 3])) return 0;
  if ((b[p + 6] & 0xc0) !== 0x80) return 0;
  const flags = b[p + 7] >> 6;
  const hdrLen = b[p + 8];
  if (flags < 2) return 0; // '00' none, '01' forbidden
  const ptsAt = po + 9;
  const need = flags === 3 ? 10 : 5;
  if (hdrLen < need || ptsAt + need > TS_PACKET_SIZE) return 0;
  return flags === 3 ? ptsAt | ((ptsAt + 5) << 8) : ptsAt;
}

/** Reads a 33-bit timestamp (90 kHz) from the 5-byte field at buf[at]. */
export function readTimestamp(b: Uint8Array, at: number): number {
  return (
    ((b[at] >> 1) & 0x07) * 0x40000000 +
    (b[at + 1] << 22) +
    ((b[at + 2] >> 1) << 15) +
    (b[at + 3] << 7) +
    (b[at + 4] >> 1)
  );
}

/** Rewrites the 5-byte timestamp at buf[at] in place, keeping its 4-bit prefix and markers. */
export function writeTimestamp(b: Uint8Array, at: number, ts: number): void {
  let v = ts % PTS_MODULUS;
  if (v < 0) v += PTS_MODULUS;
  const hi = Math.floor(v / 0x40000000); // bits 32..30
  const lo = v - hi * 0x40000000; // bits 29..0, fits in 31-bit int math
  b[at] = (b[at] & 0xf0) | (hi << 1) | 1;
  b[at + 1] = (lo >> 22) & 0xff;
  b[at + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  b[at + 3] = (lo >> 7) & 0xff;
  b[at + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Writes a fresh timestamp field with prefix nibble `prefix` (0b0010, 0b0011 or 0b0001). */
export function encodeTimestamp(b: Uint8Array, at: number, prefix: number, ts: number): void {
  b[at] = prefix << 4;
  writeTimestamp(b, at, ts);
}

export interface PesHeader {
  streamId: number;
  /** PES_packet_length; 0 means unbounded (video). */
  packetLength: number;
  dataAlignment: boolean;
  pts?: number;
  dts?: number;
  /** Offset of the first ES byte from the start of the PES packet. */
  payloadStart: number;
}

/** Parses a PES header from bytes that start with 00 00 01; null when it is not a valid one. */
export function parsePesHeader(b: Uint8Array, start = 0, end = b.length): PesHeader | null {
  if (end - start < 6 || b[start] !== 0 || b[start + 1] !== 0 || b[start + 2] !== 1) return null;
  const streamId = b[start + 3];
  const packetLength = (b[start + 4] << 8) | b[start + 5];
  if (!hasOptionalHeader(streamId)) {
    return { streamId, packetLength, dataAlignment: false, payloadStart: 6 };
  }
  if (end - start < 9 || (b[start + 6] & 0xc0) !== 0x80) return null;
  const flags = b[start + 7] >> 6;
  const hdrLen = b[start + 8];
  if (end - start < 9 + hdrLen) return null;
  const h: PesHeader = {
    streamId,
    packetLength,
    dataAlignment: (b[start + 6] & 0x04) !== 0,
    payloadStart: 9 + hdrLen,
  };
  if (flags >= 2 && hdrLen >= 5) h.pts = readTimestamp(b, start + 9);
  if (flags === 3 && hdrLen >= 10) h.dts = readTimestamp(b, start + 14);
  return h;
}

/** 2^30: timestamps are handled as hi (bits 32..30) and lo (bits 29..0), both small integers. */
export const TS_LO = 0x40000000;

/**
 * Adds an offset, given as hi·2^30 + lo (0 ≤ hi < 8, 0 ≤ lo < 2^30), to the 5-byte timestamp
 * at buf[at], modulo 2^33, keeping prefix and marker bits. Works on small integers only, so a
 * call allocates nothing even when the engine does not inline it (a 33-bit number would be a
 * heap number).
 */
export function addTimestampOffset(b: Uint8Array, at: number, offHi: number, offLo: number): void {
  const hi = (b[at] >> 1) & 0x07;
  const lo = (b[at + 1] << 22) | ((b[at + 2] >> 1) << 15) | (b[at + 3] << 7) | (b[at + 4] >> 1);
  let nlo = lo + offLo;
  let carry = 0;
  if (nlo >= TS_LO) {
    nlo -= TS_LO;
    carry = 1;
  }
  const nhi = (hi + offHi + carry) & 0x07;
  b[at] = (b[at] & 0xf0) | (nhi << 1) | 1;
  b[at + 1] = (nlo >> 22) & 0xff;
  b[at + 2] = (((nlo >> 15) & 0x7f) << 1) | 1;
  b[at + 3] = (nlo >> 7) & 0xff;
  b[at + 4] = ((nlo & 0x7f) << 1) | 1;
}
