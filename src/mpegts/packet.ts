// Transport stream packet layout and in-place field access.
// ISO/IEC 13818-1 §2.4.3.2 (transport packet), §2.4.3.4-5 (adaptation field), §2.4.3.6 (PCR).
//
// Every function takes (buf, off): the packet is buf[off .. off+188). Nothing here allocates,
// so the remuxer and the analyzer can walk a whole chunk with one loop and no per-packet objects.
//
//  byte 0  sync_byte 0x47
//  byte 1  transport_error_indicator(1) payload_unit_start_indicator(1) transport_priority(1) PID[12..8](5)
//  byte 2  PID[7..0]
//  byte 3  transport_scrambling_control(2) adaptation_field_control(2) continuity_counter(4)
//  byte 4  adaptation_field_length (when AFC = 10 or 11)
//  byte 5  discontinuity(1) random_access(1) ES_priority(1) PCR_flag(1) OPCR_flag(1)
//          splicing_point(1) private_data(1) extension(1)
//  byte 6  PCR (6 bytes) when PCR_flag

export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
export const NULL_PID = 0x1fff;
export const MAX_PID = 0x1fff;

/** PCR runs at 27 MHz; its 33-bit base at 90 kHz. Differences are taken modulo this. */
export const PCR_HZ = 27_000_000;
export const PTS_HZ = 90_000;
export const PTS_MODULUS = 2 ** 33;
export const PCR_MODULUS = PTS_MODULUS * 300;
/**
 * A clock step longer than this is a new timeline, not an interval: PCRs come at most 100 ms
 * apart (§2.4.2.2; TR 101 290 2.3a asks 40 ms), so 1 s is no gap of a running clock. The one
 * rule for every reader of a 27 MHz timeline (the remuxer's input, the clock map, the output
 * monitor); a backwards step is a new timeline too.
 */
export const MAX_PCR_STEP = PCR_HZ;

export const AFC_PAYLOAD = 0b01;
export const AFC_ADAPTATION = 0b10;
export const AFC_BOTH = 0b11;

export function isSync(b: Uint8Array, o: number): boolean {
  return b[o] === SYNC_BYTE;
}
export function transportError(b: Uint8Array, o: number): boolean {
  return (b[o + 1] & 0x80) !== 0;
}
export function payloadUnitStart(b: Uint8Array, o: number): boolean {
  return (b[o + 1] & 0x40) !== 0;
}
export function getPid(b: Uint8Array, o: number): number {
  return ((b[o + 1] & 0x1f) << 8) | b[o + 2];
}
export function setPid(b: Uint8Array, o: number, pid: number): void {
  b[o + 1] = (b[o + 1] & 0xe0) | ((pid >> 8) & 0x1f);
  b[o + 2] = pid & 0xff;
}
export function scrambling(b: Uint8Array, o: number): number {
  return (b[o + 3] >> 6) & 0x03;
}
export function adaptationFieldControl(b: Uint8Array, o: number): number {
  return (b[o + 3] >> 4) & 0x03;
}
/** True when the packet carries payload (AFC 01 or 11): only then does the CC advance. */
export function hasPayload(b: Uint8Array, o: number): boolean {
  return (b[o + 3] & 0x10) !== 0;
}
export function hasAdaptation(b: Uint8Array, o: number): boolean {
  return (b[o + 3] & 0x20) !== 0;
}
export function getCc(b: Uint8Array, o: number): number {
  return b[o + 3] & 0x0f;
}
export function setCc(b: Uint8Array, o: number, cc: number): void {
  b[o + 3] = (b[o + 3] & 0xf0) | (cc & 0x0f);
}
/** adaptation_field_length, or -1 when the packet has no adaptation field. */
export function adaptationLength(b: Uint8Array, o: number): number {
  return hasAdaptation(b, o) ? b[o + 4] : -1;
}
/**
 * Offset (relative to the packet start) of the first payload byte, or -1 when there is no
 * payload or the adaptation field length is impossible (> 182 with payload, > 183 without).
 */
export function payloadOffset(b: Uint8Array, o: number): number {
  const afc = (b[o + 3] >> 4) & 0x03;
  if (afc === AFC_PAYLOAD) return 4;
  if (afc === AFC_BOTH) {
    const len = b[o + 4];
    return len > 182 ? -1 : 5 + len;
  }
  return -1;
}
function afFlags(b: Uint8Array, o: number): number {
  return hasAdaptation(b, o) && b[o + 4] > 0 ? b[o + 5] : 0;
}
export function discontinuityIndicator(b: Uint8Array, o: number): boolean {
  return (afFlags(b, o) & 0x80) !== 0;
}
export function randomAccessIndicator(b: Uint8Array, o: number): boolean {
  return (afFlags(b, o) & 0x40) !== 0;
}
export function hasPcr(b: Uint8Array, o: number): boolean {
  return (afFlags(b, o) & 0x10) !== 0 && b[o + 4] >= 7;
}
/** Sets or clears discontinuity_indicator; returns false when the packet has no AF flags byte. */
export function setDiscontinuity(b: Uint8Array, o: number, on: boolean): boolean {
  if (!hasAdaptation(b, o) || b[o + 4] === 0) return false;
  b[o + 5] = on ? b[o + 5] | 0x80 : b[o + 5] & 0x7f;
  return true;
}

// PCR (§2.4.3.5): program_clock_reference_base(33) reserved(6) program_clock_reference_extension(9)
//   bytes: base>>25, base>>17, base>>9, base>>1, (base&1)<<7 | 0x7E | ext>>8, ext&0xFF
// PCR(27 MHz) = base * 300 + ext. Max 2^33*300 ≈ 2.6e12 fits a double exactly.

/** Reads the 6-byte PCR field at buf[at]; returns the 27 MHz value. */
export function readPcrAt(b: Uint8Array, at: number): number {
  const base =
    b[at] * 0x2000000 + b[at + 1] * 0x20000 + b[at + 2] * 0x200 + b[at + 3] * 2 + (b[at + 4] >> 7);
  const ext = ((b[at + 4] & 0x01) << 8) | b[at + 5];
  return base * 300 + ext;
}
/** Writes a 27 MHz PCR value (taken modulo 2^33*300) as the 6-byte field at buf[at]. */
export function writePcrAt(b: Uint8Array, at: number, pcr: number): void {
  let v = pcr % PCR_MODULUS;
  if (v < 0) v += PCR_MODULUS;
  const base = Math.floor(v / 300);
  const ext = v - base * 300;
  b[at] = Math.floor(base / 0x2000000) & 0xff;
  b[at + 1] = Math.floor(base / 0x20000) & 0xff;
  b[at + 2] = Math.floor(base / 0x200) & 0xff;
  b[at + 3] = Math.floor(base / 2) & 0xff;
  b[at + 4] = ((base & 1) << 7) | 0x7e | (ext >> 8);
  b[at + 5] = ext & 0xff;
}
/** PCR of the packet at o (27 MHz), or -1 when it has none. */
export function getPcr(b: Uint8Array, o: number): number {
  return hasPcr(b, o) ? readPcrAt(b, o + 6) : -1;
}
/**
 * Removes the PCR from the packet's adaptation field in place (§2.4.3.4): PCR_flag cleared, the
 * optional fields that followed it moved up by 6 bytes, 6 stuffing bytes (0xFF) at the end of
 * the field. The packet keeps its length and payload. No-op without a PCR.
 */
export function stripPcr(b: Uint8Array, o: number): void {
  if (!hasPcr(b, o)) return;
  const end = o + 5 + b[o + 4];
  b[o + 5] &= ~0x10;
  b.copyWithin(o + 6, o + 12, end);
  stuff(b, end - 6, end);
}

/** Rewrites the packet's PCR in place; the packet must carry one (hasPcr). */
export function setPcr(b: Uint8Array, o: number, pcr: number): void {
  writePcrAt(b, o + 6, pcr);
}

/** Forward distance a→b on the PCR clock, in 27 MHz ticks, in [0, 2^33*300). */
export function pcrDiff(b: number, a: number): number {
  const d = (b - a) % PCR_MODULUS;
  return d < 0 ? d + PCR_MODULUS : d;
}
/** Signed shortest distance a→b on the PCR clock (handles wrap). */
export function pcrDelta(b: number, a: number): number {
  const d = pcrDiff(b, a);
  return d > PCR_MODULUS / 2 ? d - PCR_MODULUS : d;
}
/** Signed shortest distance a→b on the 33-bit 90 kHz clock. */
export function ptsDelta(b: number, a: number): number {
  let d = (b - a) % PTS_MODULUS;
  if (d < 0) d += PTS_MODULUS;
  return d > PTS_MODULUS / 2 ? d - PTS_MODULUS : d;
}

/**
 * Writes a packet header at buf[o]: sync, PUSI, PID, AFC, CC. Leaves the rest untouched.
 * Scrambling, priority and TEI are zero.
 */
export function writeHeader(
  b: Uint8Array,
  o: number,
  pid: number,
  pusi: boolean,
  afc: number,
  cc: number,
): void {
  b[o] = SYNC_BYTE;
  b[o + 1] = (pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  b[o + 2] = pid & 0xff;
  b[o + 3] = ((afc & 3) << 4) | (cc & 0x0f);
}

/** Writes 0xFF stuffing over b[from, to). A loop: TypedArray fill() allocates per call in V8. */
export function stuff(b: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) b[i] = 0xff;
}

/** Writes a null packet (PID 0x1FFF, payload of 0xFF) at buf[o]. */
export function writeNullPacket(b: Uint8Array, o: number): void {
  writeHeader(b, o, NULL_PID, false, AFC_PAYLOAD, 0);
  stuff(b, o + 4, o + TS_PACKET_SIZE);
}

/**
 * Writes an adaptation-field-only packet (AFC 10) carrying a PCR, used to keep PCR flowing
 * when the input's PCR is sparse or absent. CC is the PID's current value (not incremented:
 * §2.4.3.3, CC does not advance without payload).
 */
export function writePcrOnlyPacket(
  b: Uint8Array,
  o: number,
  pid: number,
  cc: number,
  pcr: number,
  discontinuity: boolean,
): void {
  writeHeader(b, o, pid, false, AFC_ADAPTATION, cc);
  b[o + 4] = 183;
  b[o + 5] = (discontinuity ? 0x80 : 0) | 0x10;
  writePcrAt(b, o + 6, pcr);
  stuff(b, o + 12, o + TS_PACKET_SIZE);
}
