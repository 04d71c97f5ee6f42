// Local time of an IANA time zone, as the Time Offset Table tells it to TVs (ETSI EN 300 468
// §6.2.20 local_time_offset_descriptor): the offset from UTC now, and when it next changes (the
// next DST switch) to what. The zone rules are the tz database's, through Node's Intl (ICU):
// nothing here reads files.
//
// An offset change is found by stepping forward a day at a time from `from` (zones change at
// most a few times a year) and then bisecting the day to the second. Results are kept until the
// change they announce has passed (or an hour), so a TOT every few seconds costs nothing.

import type { LocalTimeOffset } from '../mpegts/psi/tdt-tot.js';

const DAY_MS = 86_400_000;
/** How far ahead a change is looked for: a zone with none within this has no DST. */
const HORIZON_DAYS = 400;
/** Longest reuse of a computed result. */
const CACHE_MS = 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, f);
  }
  return f;
}

/** True when `zone` is an IANA zone name this Node knows ("Europe/Berlin", "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false; // RangeError: invalid time zone; the caller reports it
  }
}

/** The zone's offset from UTC at `utcMs`, in minutes (east positive). */
export function utcOffsetMinutes(zone: string, utcMs: number): number {
  const name = formatter(zone)
    .formatToParts(utcMs)
    .find((p) => p.type === 'timeZoneName')?.value;
  // "GMT", "GMT+01:00", "GMT-03:30"
  const m = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/.exec(name ?? '');
  if (m === null) throw new Error(`unexpected zone offset "${name}" for ${zone}`);
  if (m[1] === undefined) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

export interface OffsetChange {
  /** UTC ms of the first second under the new offset. */
  atMs: number;
  offsetMinutes: number;
}

/** The zone's next offset change after `fromMs` within about a year, or null (no DST). */
export function nextOffsetChange(zone: string, fromMs: number): OffsetChange | null {
  const now = utcOffsetMinutes(zone, fromMs);
  let lo = Math.floor(fromMs / 1000) * 1000;
  for (let d = 1; d <= HORIZON_DAYS; d++) {
    const hi = lo + DAY_MS;
    const off = utcOffsetMinutes(zone, hi);
    if (off !== now) {
      // The change is in (lo, hi]: bisect to the second.
      let a = lo;
      let b = hi;
      while (b - a > 1000) {
        const mid = a + Math.floor((b - a) / 2000) * 1000;
        if (utcOffsetMinutes(zone, mid) === now) a = mid;
        else b = mid;
      }
      return { atMs: b, offsetMinutes: utcOffsetMinutes(zone, b) };
    }
    lo = hi;
  }
  return null;
}

/**
 * The local_time_offset entries of one zone for the TOT, computed on demand and reused until
 * the announced change (or an hour) has passed.
 */
export class LocalTime {
  private cached: LocalTimeOffset[] = [];
  private computedAtMs = Infinity;
  private validUntilMs = -Infinity;

  /**
   * @param zone IANA zone name (checked with isTimeZone beforehand).
   * @param countryCode ISO 3166-1 alpha-3, upper case ("DEU"): TVs apply the entry of their own
   *   country.
   */
  constructor(
    readonly zone: string,
    readonly countryCode: string,
  ) {}

  /** The entries at `utcMs`: offset now, next change (null when none) and the offset after. */
  offsets(utcMs: number): LocalTimeOffset[] {
    if (utcMs >= this.computedAtMs && utcMs < this.validUntilMs) return this.cached;
    const offset = utcOffsetMinutes(this.zone, utcMs);
    const next = nextOffsetChange(this.zone, utcMs);
    this.cached = [
      {
        countryCode: this.countryCode,
        regionId: 0,
        offsetMinutes: offset,
        timeOfChange: next === null ? null : new Date(next.atMs),
        nextOffsetMinutes: next === null ? offset : next.offsetMinutes,
      },
    ];
    this.computedAtMs = utcMs;
    this.validUntilMs = Math.min(next === null ? Infinity : next.atMs, utcMs + CACHE_MS);
    return this.cached;
  }
}
