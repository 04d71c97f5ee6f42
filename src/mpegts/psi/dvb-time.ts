// DVB time fields: ETSI EN 300 468 §5.2.5 (TDT), Annex C (MJD/UTC conversion).
//   UTC_time / start_time (40): MJD(16) | hours BCD(8) | minutes BCD(8) | seconds BCD(8)
//   duration (24): hours BCD(8) | minutes BCD(8) | seconds BCD(8)
//   local_time_offset (16): hours BCD(8) | minutes BCD(8)
// Example (Annex C): 93/10/13 12:45:00 = C0 79 12 45 00 (MJD 0xC079 = 49273).
// MJD 40587 is 1970-01-01, so the conversion to JS time is a day count; the 16-bit MJD reaches
// 2038-04-22. A start_time with all 40 bits set is "undefined" (NVOD reference events): null.

const MS_PER_DAY = 86_400_000;
const MJD_UNIX_EPOCH = 40587;

/** Packs 0..99 as two BCD digits. */
export function toBcd(n: number): number {
  return ((Math.floor(n / 10) % 10) << 4) | (n % 10);
}

/** Reads two BCD digits (a non-decimal nibble counts at face value). */
export function fromBcd(b: number): number {
  return (b >> 4) * 10 + (b & 0x0f);
}

/** Modified Julian Date of the UTC day holding `ms` (JS epoch milliseconds). */
export function mjdOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY) + MJD_UNIX_EPOCH;
}

/** JS epoch milliseconds of 00:00 UTC on day `mjd`. */
export function msOfMjd(mjd: number): number {
  return (mjd - MJD_UNIX_EPOCH) * MS_PER_DAY;
}

/** Writes a 40-bit UTC time at b[o] (whole seconds; null writes the undefined value). */
export function writeUtcTime(b: Uint8Array, o: number, t: Date | number | null): void {
  if (t === null) {
    b.fill(0xff, o, o + 5);
    return;
  }
  const ms = typeof t === 'number' ? t : t.getTime();
  const mjd = mjdOf(ms);
  if (!Number.isFinite(ms) || mjd < 0 || mjd > 0xffff)
    throw new RangeError(`time ${ms} outside the 16-bit MJD range`);
  const secOfDay = Math.floor((ms - msOfMjd(mjd)) / 1000);
  b[o] = mjd >> 8;
  b[o + 1] = mjd & 0xff;
  b[o + 2] = toBcd(Math.floor(secOfDay / 3600));
  b[o + 3] = toBcd(Math.floor(secOfDay / 60) % 60);
  b[o + 4] = toBcd(secOfDay % 60);
}

/** Reads a 40-bit UTC time at b[o]; null when all bits are set (undefined). */
export function readUtcTime(b: Uint8Array, o: number): Date | null {
  if (
    b[o] === 0xff &&
    b[o + 1] === 0xff &&
    b[o + 2] === 0xff &&
    b[o + 3] === 0xff &&
    b[o + 4] === 0xff
  )
    return null;
  const mjd = (b[o] << 8) | b[o + 1];
  const sec = fromBcd(b[o + 2]) * 3600 + fromBcd(b[o + 3]) * 60 + fromBcd(b[o + 4]);
  return new Date(msOfMjd(mjd) + sec * 1000);
}

/** The 5 bytes of a UTC time. */
export function encodeUtcTime(t: Date | number | null): Uint8Array {
  const b = new Uint8Array(5);
  writeUtcTime(b, 0, t);
  return b;
}

/** Writes a 24-bit BCD duration (hh mm ss) of `seconds` at b[o]; at most 99:59:59. */
export function writeBcdDuration(b: Uint8Array, o: number, seconds: number): void {
  const s = Math.floor(seconds);
  if (!(s >= 0 && s < 100 * 3600)) throw new RangeError(`duration ${seconds} s out of range`);
  b[o] = toBcd(Math.floor(s / 3600));
  b[o + 1] = toBcd(Math.floor(s / 60) % 60);
  b[o + 2] = toBcd(s % 60);
}

/** Reads a 24-bit BCD duration at b[o], in seconds. */
export function readBcdDuration(b: Uint8Array, o: number): number {
  return fromBcd(b[o]) * 3600 + fromBcd(b[o + 1]) * 60 + fromBcd(b[o + 2]);
}

export function encodeBcdDuration(seconds: number): Uint8Array {
  const b = new Uint8Array(3);
  writeBcdDuration(b, 0, seconds);
  return b;
}

/** Writes a 16-bit BCD hhmm offset of `minutes` (magnitude, 0..99:59) at b[o]. */
export function writeBcdHhmm(b: Uint8Array, o: number, minutes: number): void {
  const m = Math.floor(Math.abs(minutes));
  if (m >= 100 * 60) throw new RangeError(`offset ${minutes} min out of range`);
  b[o] = toBcd(Math.floor(m / 60));
  b[o + 1] = toBcd(m % 60);
}

/** Reads a 16-bit BCD hhmm at b[o], in minutes. */
export function readBcdHhmm(b: Uint8Array, o: number): number {
  return fromBcd(b[o]) * 60 + fromBcd(b[o + 1]);
}
