// The front end's status as a SAT>IP server reports it: an RTCP APP packet (RFC 3550 §6.7)
// named "SES1" in the RTCP compound it sends on the RTCP port (or interleaved channel), per
// SAT>IP Protocol Specification 1.2.2 §3.5.7 / §3.6.
//
// APP packet, RFC 3550 §6.7 (network byte order), with the SAT>IP payload:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  |V=2|P| subtype |   PT=APP=204  |             length            |   byte 0-3
//  |                           SSRC/CSRC                           |   4-7
//  |                      name (ASCII) = "SES1"                    |   8-11
//  |          identifier           |         string length         |   12-15  (SAT>IP)
//  |                 string (zero-padded to 32 bits)             ...   16-
//
// `length` is the packet's size in 32-bit words minus one; a compound packet is several such
// packets back to back (SR, SDES, APP), each with V=2.
//
// The string (satellite, "ver=1.0"; terrestrial "ver=1.1" and cable "ver=1.2" differ after
// the fourth tuner field, which we do not read):
//
//   ver=1.0;src=<srcID>;tuner=<feID>,<level>,<lock>,<quality>,<frequency>,<polarisation>,
//       <system>,<type>,<pilots>,<roll_off>,<symbol_rate>,<fec_inner>;pids=<pid0>,…,<pidn>
//
//   level    signal level 0-255 (for satellite the spec pins -65 dBm at 32 and -25 dBm at 224)
//   lock     1 when the front end is locked, else 0
//   quality  signal quality 0-15, lowest = highest error rate (15: BER < 2e-4 after Viterbi
//            for DVB-S, PER < 1e-7 for DVB-S2)
//
// TunerStatus gets the level and quality as percent of their scales: servers differ in how
// their figures map to dBm and dB, so we do not pretend to a unit they do not give.

import type { TunerStatus } from '../types.js';

export const RTCP_APP = 204;
/** "SES1" as the 32-bit name. */
const SES1 = 0x53455331;

export interface SatipReport {
  /** ver= as given. */
  version: string;
  /** src= (satellite only). */
  src?: number;
  feId: number;
  /** 0-255. */
  level: number;
  lock: boolean;
  /** 0-15. */
  quality: number;
  /** The tuner fields after quality (frequency, polarisation, msys, …) as given. */
  tuning: string[];
  /** pids= as given ('all', 'none' or a list). */
  pids?: string;
}

/**
 * The SES1 string of an RTCP compound packet d[off .. off+len), or null when it has none (or
 * the compound is malformed). Walks the packets by their length fields; allocates only the
 * string it returns.
 */
export function findSes1(d: Uint8Array, off: number, len: number): string | null {
  const end = off + len;
  let p = off;
  while (p + 4 <= end) {
    if (d[p] >> 6 !== 2) return null;
    const size = (((d[p + 2] << 8) | d[p + 3]) + 1) * 4;
    if (p + size > end) return null;
    if (d[p + 1] === RTCP_APP && size >= 16 && readU32(d, p + 8) === SES1) {
      const n = (d[p + 14] << 8) | d[p + 15];
      if (16 + n > size) return null;
      let s = '';
      for (let i = p + 16; i < p + 16 + n && d[i] !== 0; i++) s += String.fromCharCode(d[i]);
      return s;
    }
    p += size;
  }
  return null;
}

/** Parses a SES1 string; null when it has no usable `tuner=` field. */
export function parseSes1(text: string): SatipReport | null {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const tuner = fields.get('tuner')?.split(',');
  if (tuner === undefined || tuner.length < 4) return null;
  const [feId, level, lock, quality] = tuner.slice(0, 4).map((v) => Number(v));
  if (![feId, level, lock, quality].every((v) => Number.isInteger(v))) return null;
  if (level < 0 || level > 255 || quality < 0 || quality > 15 || (lock !== 0 && lock !== 1)) {
    return null;
  }
  const report: SatipReport = {
    version: fields.get('ver') ?? '',
    feId,
    level,
    lock: lock === 1,
    quality,
    tuning: tuner.slice(4),
  };
  const src = fields.get('src');
  if (src !== undefined && /^\d+$/.test(src)) report.src = Number(src);
  const pids = fields.get('pids');
  if (pids !== undefined) report.pids = pids;
  return report;
}

/** TunerStatus from a report: signal = level/255, snr = quality/15, as percent (one decimal). */
export function tunerStatus(r: SatipReport, at: number): TunerStatus {
  return {
    lock: r.lock,
    signal: { value: Math.round((r.level * 1000) / 255) / 10, unit: '%' },
    snr: { value: Math.round((r.quality * 1000) / 15) / 10, unit: '%' },
    at,
  };
}

/** The RTCP compound's SES1 report, or null. */
export function parseRtcpStatus(d: Uint8Array, off: number, len: number): SatipReport | null {
  const s = findSes1(d, off, len);
  return s === null ? null : parseSes1(s);
}

/** An APP packet carrying `text` as SES1 (for servers and tests): subtype 0, identifier 0. */
export function buildSes1(ssrc: number, text: string): Buffer {
  const str = Buffer.from(text, 'latin1');
  const size = 16 + ((str.length + 3) & ~3);
  const b = Buffer.alloc(size);
  b[0] = 0x80;
  b[1] = RTCP_APP;
  b.writeUInt16BE(size / 4 - 1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.writeUInt32BE(SES1, 8);
  b.writeUInt16BE(0, 12);
  b.writeUInt16BE(str.length, 14);
  str.copy(b, 16);
  return b;
}

function readU32(b: Uint8Array, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}
