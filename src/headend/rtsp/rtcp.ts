// RTCP for the RTSP sessions (RFC 3550 §6): the compound packet we send (SR + SDES CNAME,
// §6.1: every compound packet starts with a report and carries a CNAME) and a check of what
// clients send back (receiver reports refresh their session).
//
// Sender report, RFC 3550 §6.4.1 (no report blocks: we receive nothing):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  |V=2|P|  RC=0   |    PT=SR=200  |          length = 6           |   byte 0-3
//  |                     SSRC of sender                            |   4-7
//  |              NTP timestamp, most significant word             |   8-11  (s since 1900)
//  |              NTP timestamp, least significant word            |   12-15 (fraction / 2^32)
//  |                         RTP timestamp                         |   16-19 (same instant, 90 kHz)
//  |                     sender's packet count                     |   20-23
//  |                      sender's octet count                     |   24-27 (payload octets)
//
// SDES, RFC 3550 §6.5, one chunk with a CNAME item (§6.5.1), then END (0) and zero padding to
// a 32-bit boundary:
//
//  |V=2|P|  SC=1   |  PT=SDES=202  |             length            |
//  |                          SSRC/CSRC_1                          |
//  |    CNAME=1    |     length    | user and domain name        ...
//  |  ...  | END=0 | pad to 32 bits
//
// `length` is the packet's size in 32-bit words minus one (§6.4.1).

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch), RFC 868. */
export const NTP_UNIX_OFFSET = 2_208_988_800;

export interface SenderReport {
  ssrc: number;
  /** Wall clock of the report, Unix ms (fractional allowed). */
  wallMs: number;
  rtpTime: number;
  packets: number;
  octets: number;
  cname: string;
}

/** The SR + SDES compound packet, in a new buffer (sent once per session every few seconds). */
export function buildSenderReport(r: SenderReport): Buffer {
  const cname = Buffer.from(r.cname.slice(0, 255), 'utf8').subarray(0, 255);
  const sdesLen = 4 + 4 + 2 + cname.length + 1; // header, SSRC, item header, text, END
  const sdesPadded = (sdesLen + 3) & ~3;
  const buf = Buffer.alloc(28 + sdesPadded);
  buf[0] = 0x80; // V=2, P=0, RC=0
  buf[1] = RTCP_SR;
  buf.writeUInt16BE(6, 2);
  buf.writeUInt32BE(r.ssrc >>> 0, 4);
  const secs = Math.floor(r.wallMs / 1000);
  const frac = Math.floor(((r.wallMs - secs * 1000) / 1000) * 0x1_0000_0000);
  buf.writeUInt32BE((secs + NTP_UNIX_OFFSET) % 0x1_0000_0000, 8);
  buf.writeUInt32BE(Math.min(frac, 0xffffffff), 12);
  buf.writeUInt32BE(mod32(r.rtpTime), 16);
  buf.writeUInt32BE(mod32(r.packets), 20);
  buf.writeUInt32BE(mod32(r.octets), 24);
  const s = 28;
  buf[s] = 0x81; // V=2, SC=1
  buf[s + 1] = RTCP_SDES;
  buf.writeUInt16BE(sdesPadded / 4 - 1, s + 2);
  buf.writeUInt32BE(r.ssrc >>> 0, s + 4);
  buf[s + 8] = 1; // CNAME
  buf[s + 9] = cname.length;
  cname.copy(buf, s + 10);
  // END item and padding are the zeros Buffer.alloc left.
  return buf;
}

/**
 * True when the datagram is an RTCP compound packet (RFC 3550 §6.1 / A.2 validity: version 2,
 * first packet SR or RR, lengths add up to the datagram). RRs refresh the sender's session.
 */
export function isRtcpCompound(d: Uint8Array): boolean {
  if (d.length < 8 || d[0] >> 6 !== 2 || (d[1] !== RTCP_SR && d[1] !== RTCP_RR)) return false;
  let off = 0;
  while (off + 4 <= d.length) {
    if (d[off] >> 6 !== 2) return false;
    off += (((d[off + 2] << 8) | d[off + 3]) + 1) * 4;
  }
  return off === d.length;
}

/** RTP time now, extrapolated at 90 kHz from a (rtpTime, atNs) pair, modulo 2^32. */
export function rtpTimeAt(rtpTime: number, atNs: number, nowNs: number): number {
  return mod32(rtpTime + Math.floor(((nowNs - atNs) * 90_000) / 1e9));
}

function mod32(v: number): number {
  const m = v % 0x1_0000_0000;
  return m < 0 ? m + 0x1_0000_0000 : m;
}
