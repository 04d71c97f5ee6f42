// Timetables: the rule in force at an instant and the next change, by weekday, across
// midnight, by date range, first match wins, and across both DST changes of Europe/Berlin
// (2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST; 2026-10-25 01:00 UTC: 03:00 CEST
// becomes 02:00 CET), checked against instants worked out by hand.
import t from 'tap';
import {
  dayNumber,
  nextChange,
  ruleInForce,
  weekdayOf,
  type TimetableRule,
} from '../../src/scheduler/timetable.js';

const H = 3600;
const rule = (from: number, to: number, over: Partial<TimetableRule> = {}): TimetableRule => ({
  fromS: from,
  toS: to,
  days: 0x7f,
  firstDay: null,
  lastDay: null,
  ...over,
});
const MON_FRI = 0b0111110;
const FRI = 1 << 5;
const utc = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

/** The chain of changes from `from` on, `n` of them, as [ISO, rule]. */
function chain(rules: TimetableRule[], zone: string, from: string, n: number): [string, number][] {
  const out: [string, number][] = [];
  let at = utc(from);
  for (let i = 0; i < n; i++) {
    const c = nextChange(rules, zone, at);
    if (c === null) break;
    out.push([iso(c.atMs), c.rule]);
    at = c.atMs;
  }
  return out;
}

t.test('calendar helpers', async (t) => {
  t.equal(weekdayOf(0), 4, '1970-01-01 was a Thursday');
  t.equal(weekdayOf(dayNumber(2026, 12, 7)), 1, '2026-12-07 is a Monday');
  t.equal(weekdayOf(-1), 3, 'before 1970 too');
});

t.test('weekdays and hours, UTC', async (t) => {
  const rules = [rule(6 * H, 10 * H, { days: MON_FRI })];
  const z = 'UTC';
  t.equal(ruleInForce(rules, z, utc('2026-12-07T05:59:59Z')), -1, 'Monday before 06:00');
  t.equal(ruleInForce(rules, z, utc('2026-12-07T06:00:00Z')), 0, 'Monday 06:00');
  t.equal(ruleInForce(rules, z, utc('2026-12-07T09:59:59Z')), 0);
  t.equal(ruleInForce(rules, z, utc('2026-12-07T10:00:00Z')), -1, 'the end is excluded');
  t.equal(ruleInForce(rules, z, utc('2026-12-12T07:00:00Z')), -1, 'not on Saturday');
  t.same(chain(rules, z, '2026-12-10T12:00:00Z', 3), [
    ['2026-12-11T06:00:00.000Z', 0],
    ['2026-12-11T10:00:00.000Z', -1],
    ['2026-12-14T06:00:00.000Z', 0],
  ]);
  t.equal(nextChange([], z, 0), null, 'no rules, no change');
  t.equal(nextChange([rule(0, 0)], z, utc('2026-12-07T05:00:00Z')), null, 'always: no change');
});

t.test('past midnight: the day it starts counts', async (t) => {
  const rules = [rule(22 * H, 6 * H, { days: FRI })];
  const z = 'UTC';
  t.equal(ruleInForce(rules, z, utc('2026-12-11T22:00:00Z')), 0, 'Friday 22:00');
  t.equal(ruleInForce(rules, z, utc('2026-12-12T05:59:59Z')), 0, 'Saturday morning: Friday’s');
  t.equal(ruleInForce(rules, z, utc('2026-12-12T22:00:00Z')), -1, 'Saturday night: not');
  t.equal(ruleInForce(rules, z, utc('2026-12-11T05:00:00Z')), -1, 'Friday morning: Thursday’s');
  t.same(chain(rules, z, '2026-12-07T00:00:00Z', 2), [
    ['2026-12-11T22:00:00.000Z', 0],
    ['2026-12-12T06:00:00.000Z', -1],
  ]);
});

t.test('date ranges, seconds, and the first rule in force wins', async (t) => {
  const term = { firstDay: dayNumber(2026, 12, 8), lastDay: dayNumber(2026, 12, 9) };
  const rules = [rule(9 * H + 30, 9 * H + 90, term), rule(8 * H, 12 * H)];
  const z = 'UTC';
  t.equal(ruleInForce(rules, z, utc('2026-12-08T09:00:45Z')), 0, 'the first rule');
  t.equal(ruleInForce(rules, z, utc('2026-12-08T09:00:10Z')), 1, 'the second around it');
  t.equal(ruleInForce(rules, z, utc('2026-12-10T09:00:45Z')), 1, 'after the date range');
  t.same(chain(rules, z, '2026-12-08T07:00:00Z', 5), [
    ['2026-12-08T08:00:00.000Z', 1],
    ['2026-12-08T09:00:30.000Z', 0],
    ['2026-12-08T09:01:30.000Z', 1],
    ['2026-12-08T12:00:00.000Z', -1],
    ['2026-12-09T08:00:00.000Z', 1],
  ]);
});

t.test('time zones: local wall-clock time', async (t) => {
  // New York is UTC-5 in December: 06:00 local is 11:00 UTC.
  const rules = [rule(6 * H, 10 * H)];
  t.equal(ruleInForce(rules, 'America/New_York', utc('2026-12-07T11:00:00Z')), 0);
  t.equal(ruleInForce(rules, 'America/New_York', utc('2026-12-07T10:59:59Z')), -1);
  t.same(chain(rules, 'America/New_York', '2026-12-07T12:00:00Z', 1), [
    ['2026-12-07T15:00:00.000Z', -1],
  ]);
});

t.test(
  'DST starts: a boundary in the skipped hour takes effect when the clock jumps',
  async (t) => {
    const z = 'Europe/Berlin';
    const a = [rule(2 * H + 1800, 4 * H)]; // 02:30-04:00
    t.equal(ruleInForce(a, z, utc('2026-03-29T00:59:59Z')), -1, '01:59:59 CET');
    t.equal(ruleInForce(a, z, utc('2026-03-29T01:00:00Z')), 0, '03:00 CEST');
    t.same(chain(a, z, '2026-03-28T23:00:00Z', 2), [
      ['2026-03-29T01:00:00.000Z', 0],
      ['2026-03-29T02:00:00.000Z', -1], // 04:00 CEST
    ]);
    const b = [rule(2 * H, 2 * H + 1800)]; // 02:00-02:30: does not run that day
    t.same(chain(b, z, '2026-03-28T23:00:00Z', 1), [['2026-03-30T00:00:00.000Z', 0]]);
  },
);

t.test('DST ends: the repeated hour shows its times twice, and so does the rule', async (t) => {
  const z = 'Europe/Berlin';
  const a = [rule(2 * H + 900, 2 * H + 2700)]; // 02:15-02:45
  t.same(chain(a, z, '2026-10-24T23:00:00Z', 4), [
    ['2026-10-25T00:15:00.000Z', 0], // 02:15 CEST
    ['2026-10-25T00:45:00.000Z', -1],
    ['2026-10-25T01:15:00.000Z', 0], // 02:15 CET
    ['2026-10-25T01:45:00.000Z', -1],
  ]);
  const b = [rule(1 * H, 2 * H + 1800)]; // 01:00-02:30
  t.same(chain(b, z, '2026-10-24T22:00:00Z', 4), [
    ['2026-10-24T23:00:00.000Z', 0], // 01:00 CEST
    ['2026-10-25T00:30:00.000Z', -1], // the first 02:30
    ['2026-10-25T01:00:00.000Z', 0], // the second 02:00
    ['2026-10-25T01:30:00.000Z', -1], // the second 02:30
  ]);
});
