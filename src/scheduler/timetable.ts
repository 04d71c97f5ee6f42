// Timetables: which of a channel's rules is in force at an instant, and when that next changes.
// A rule is a span of local wall-clock time (seconds after local midnight) that starts on given
// weekdays within an optional date range, in an IANA time zone (the headend's).
//
// Wall-clock semantics, as an operator reads a timetable, also across DST changes:
// - A rule is in force while the local clock shows a time inside [from, to) of a day the rule
//   starts on. A span with `to` ≤ `from` runs past midnight into the next day (the weekday and
//   date that count are those of the day it starts); `from` = `to` is a whole day from `from`.
// - A boundary inside the hour skipped in spring takes effect when the clock jumps past it
//   (a rule 02:30–04:00 starts at 03:00 that day; a rule 02:00–02:30 does not run that day).
// - In the hour repeated in autumn the clock shows the same times twice, and so does the rule:
//   a rule 02:15–02:45 runs twice that night; a rule 01:00–02:30 stops at the first 02:30 and
//   is in force again from the second 02:00 to 02:30.
// The first rule of the list in force wins; none: the channel's own source.
//
// nextChange looks at the candidates only: every rule's boundaries on the days around the
// window, each mapped to UTC under every offset the zone has in the window (a boundary in a
// skipped hour maps to none: the offset change itself is a candidate), and the offset changes.

import { nextOffsetChange, utcOffsetMinutes } from './timezone.js';

const DAY_S = 86_400;
/** How far ahead nextChange looks (a rule set may change nothing for a week). */
export const TIMETABLE_HORIZON_MS = 8 * 86_400_000;

export interface TimetableRule {
  /** Local seconds after midnight the span starts, 0..86399. */
  fromS: number;
  /** Local seconds after midnight it ends, 0..86400; ≤ fromS: on the next day. */
  toS: number;
  /** Weekdays it starts on: bit d for weekday d (0 Sunday … 6 Saturday); 0x7f every day. */
  days: number;
  /** First and last local date it starts on, as days since 1970-01-01; null: unbounded. */
  firstDay: number | null;
  lastDay: number | null;
}

/** Weekday (0 Sunday) of a day number: 1970-01-01 was a Thursday. */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Days since 1970-01-01 of a calendar date. */
export function dayNumber(year: number, month: number, dayOfMonth: number): number {
  return Math.floor(Date.UTC(year, month - 1, dayOfMonth) / 86_400_000);
}

function startsOn(r: TimetableRule, day: number): boolean {
  return (
    ((r.days >> weekdayOf(day)) & 1) === 1 &&
    (r.firstDay === null || day >= r.firstDay) &&
    (r.lastDay === null || day <= r.lastDay)
  );
}

/** Whether `r` is in force at local second `t` (since 1970-01-01 local midnight). */
function inForce(r: TimetableRule, t: number): boolean {
  const day = Math.floor(t / DAY_S);
  const sec = t - day * DAY_S;
  if (r.fromS < r.toS) return sec >= r.fromS && sec < r.toS && startsOn(r, day);
  // Past midnight (or a whole day from `from`): today's span, or the rest of yesterday's.
  return (sec >= r.fromS && startsOn(r, day)) || (sec < r.toS && startsOn(r, day - 1));
}

/** Index of the rule in force at `utcMs` in `zone`, or -1 (none: the channel's own source). */
export function ruleInForce(rules: readonly TimetableRule[], zone: string, utcMs: number): number {
  if (rules.length === 0) return -1;
  const local = Math.floor(utcMs / 1000) + utcOffsetMinutes(zone, utcMs) * 60;
  for (let i = 0; i < rules.length; i++) if (inForce(rules[i], local)) return i;
  return -1;
}

export interface TimetableChange {
  /** UTC ms of the first second under the new rule. */
  atMs: number;
  /** The rule then in force, -1 for none. */
  rule: number;
}

/**
 * The next instant after `fromMs` at which the rule in force changes, within `horizonMs`, or
 * null when it stays the same all that time.
 */
export function nextChange(
  rules: readonly TimetableRule[],
  zone: string,
  fromMs: number,
  horizonMs = TIMETABLE_HORIZON_MS,
): TimetableChange | null {
  if (rules.length === 0) return null;
  const end = fromMs + horizonMs;
  const candidates: number[] = [];
  // The zone's offsets over the window, and the instants they change.
  const offsets = new Set([utcOffsetMinutes(zone, fromMs)]);
  for (let c = nextOffsetChange(zone, fromMs); c !== null && c.atMs <= end;) {
    candidates.push(c.atMs);
    offsets.add(c.offsetMinutes);
    c = nextOffsetChange(zone, c.atMs);
  }
  const firstDay = Math.floor(fromMs / 1000 / DAY_S) - 2;
  const lastDay = Math.ceil(end / 1000 / DAY_S) + 2;
  for (let day = firstDay; day <= lastDay; day++) {
    for (const r of rules) {
      const ends = [r.fromS, r.toS > r.fromS ? r.toS : r.toS + DAY_S];
      for (const e of ends) {
        const local = day * DAY_S + e;
        for (const off of offsets) {
          const utc = (local - off * 60) * 1000;
          if (utc > fromMs && utc <= end && utcOffsetMinutes(zone, utc) === off)
            candidates.push(utc);
        }
      }
    }
  }
  candidates.sort((a, b) => a - b);
  const current = ruleInForce(rules, zone, fromMs);
  for (const t of candidates) {
    const rule = ruleInForce(rules, zone, t);
    if (rule !== current) return { atMs: t, rule };
  }
  return null;
}
