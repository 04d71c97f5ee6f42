// A channel's timetable in channels.yaml: rules that put another source on the channel by time
// of day, weekday and date range, in `headend.timezone` (scheduler/timetable.ts has the exact
// semantics, DST included). The switch is the channel's seamless splice (same output identity).
//
//   channels:
//     - number: 1
//       source: udp://@239.1.1.1:5000       the channel's own source, outside every rule
//       schedule:                           rules, first match wins (default none)
//         - name: morning welcome           shown in status and logs (default "rule N")
//           source: /srv/welcome.ts         any <source> (required)
//           from: "06:00"                   local time it starts, HH:MM[:SS] (default 00:00)
//           to: "10:00"                     local time it ends, HH:MM[:SS] or 24:00 (default
//                                           24:00); at or before `from`: the next day
//           days: mon-fri                   weekdays it starts on: mon, tue, …, sun, ranges
//                                           (mon-fri), lists, or daily (default daily)
//           dates: 2026-09-01..2027-06-30   dates it starts on, first..last (either may be
//                                           left out: 2026-09-01..); default always
//
// A time inside the hour skipped when DST starts takes effect when the clock jumps past it;
// in the hour repeated when DST ends, the clock shows those times twice and so does the rule.

import { z } from 'zod';
import { dayNumber, type TimetableRule } from '../../scheduler/timetable.js';
import { describe, invalid, leaf, text } from './values.js';

const DAY_FULL = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const EVERY_DAY = 0x7f;

/** `from:` / `to:` — HH:MM or HH:MM:SS local time, as seconds; `to` may be 24:00. */
function clockTime(allow24: boolean) {
  return leaf((v) => {
    const s = typeof v === 'string' ? v.trim() : '';
    const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
    const [h, min, sec] = m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [NaN, NaN, NaN];
    const t = h * 3600 + min * 60 + sec;
    if (m && min < 60 && sec < 60 && (h < 24 || (allow24 && t === 86_400))) return t;
    return invalid(
      `expected a local time HH:MM or HH:MM:SS such as "06:00"${allow24 ? ' (or "24:00")' : ''}, got ${describe(v)}`,
    );
  });
}

/** `days:` — weekday names (mon or monday), ranges and lists, as a bit set (bit 0 Sunday). */
function weekdays() {
  return leaf((v) => {
    const parts = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [v];
    const bad = `expected weekdays such as mon-fri, [sat, sun] or daily, got ${describe(v)}`;
    let bits = 0;
    for (const part of parts) {
      if (typeof part !== 'string') return invalid(bad);
      const p = part.trim().toLowerCase();
      if (p === 'daily' || p === 'all') {
        bits = EVERY_DAY;
        continue;
      }
      const ends = p.split(/\s*-\s*/);
      const [a, b] = [dayIndex(ends[0]), dayIndex(ends[ends.length - 1])];
      if (ends.length > 2 || a < 0 || b < 0) return invalid(bad);
      // mon-fri, and wrapping ranges such as fri-mon.
      for (let d = a; ; d = (d + 1) % 7) {
        bits |= 1 << d;
        if (d === b) break;
      }
    }
    return bits === 0 ? invalid(bad) : bits;
  });
}

/** 0 (Sunday) … 6 of a day name or its first three letters or more; -1 when none. */
function dayIndex(name: string): number {
  if (name.length < 3) return -1;
  return DAY_FULL.findIndex((d) => d.startsWith(name));
}

/** `dates:` — first..last (either end optional), each YYYY-MM-DD. */
function dateRange() {
  return leaf((v) => {
    const bad = `expected dates as YYYY-MM-DD..YYYY-MM-DD (either end may be left out), got ${describe(v)}`;
    const s = typeof v === 'string' ? v.trim() : '';
    const m = /^(\d{4}-\d{2}-\d{2})?\s*\.\.\s*(\d{4}-\d{2}-\d{2})?$/.exec(s);
    const one = /^\d{4}-\d{2}-\d{2}$/.test(s) ? [s, s] : m ? [m[1], m[2]] : null;
    if (one === null || (one[0] === undefined && one[1] === undefined)) return invalid(bad);
    const days: (number | null)[] = [];
    for (const d of one) {
      if (d === undefined) {
        days.push(null);
        continue;
      }
      const [y, mo, da] = d.split('-').map(Number);
      const n = dayNumber(y, mo, da);
      // 2026-02-30 rolls over in Date.UTC: not a date.
      if (new Date(n * 86_400_000).getUTCDate() !== da || mo < 1 || mo > 12)
        return invalid(`${d} is not a date`);
      days.push(n);
    }
    if (days[0] !== null && days[1] !== null && days[0] > days[1])
      return invalid(`the first date ${one[0]} is after the last ${one[1]}`);
    return { first: days[0], last: days[1] };
  });
}

/** One rule as written; `source` is checked by the channel's SourceSchema (resolve.ts). */
export function scheduleRuleSchema<S extends z.ZodType>(source: S) {
  return z.strictObject({
    name: text().optional(),
    /** Required: resolve.ts says so at the rule's place. */
    source: source.optional(),
    from: clockTime(false).optional(),
    to: clockTime(true).optional(),
    days: weekdays().optional(),
    dates: dateRange().optional(),
  });
}

export const SCHEDULE_KEYS = ['name', 'source', 'from', 'to', 'days', 'dates'];

/** The timing of a parsed rule, defaults applied. */
export function timetableRuleOf(raw: {
  from?: number;
  to?: number;
  days?: number;
  dates?: { first: number | null; last: number | null };
}): TimetableRule {
  return {
    fromS: raw.from ?? 0,
    toS: raw.to ?? 86_400,
    days: raw.days ?? EVERY_DAY,
    firstDay: raw.dates?.first ?? null,
    lastDay: raw.dates?.last ?? null,
  };
}
