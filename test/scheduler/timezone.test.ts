// Local time for the TOT (src/scheduler/timezone.ts): offsets and the next change of real zones
// (the tz database through Intl), the bisection to the second, the cache across a change.
import t from 'tap';
import {
  LocalTime,
  isTimeZone,
  nextOffsetChange,
  utcOffsetMinutes,
} from '../../src/scheduler/timezone.js';

const JAN = Date.UTC(2026, 0, 15);

t.test('offsets east, west, half-hour and none', async (t) => {
  t.equal(utcOffsetMinutes('Europe/Berlin', JAN), 60);
  t.equal(utcOffsetMinutes('Europe/Berlin', Date.UTC(2026, 6, 1)), 120);
  t.equal(utcOffsetMinutes('America/New_York', JAN), -300);
  t.equal(utcOffsetMinutes('Asia/Kolkata', JAN), 330);
  t.equal(utcOffsetMinutes('America/St_Johns', JAN), -210);
  t.equal(utcOffsetMinutes('UTC', JAN), 0);
  t.ok(isTimeZone('Australia/Sydney'));
  t.notOk(isTimeZone('Mars/Olympus'));
});

t.test('the next change, to the second', async (t) => {
  t.same(nextOffsetChange('Europe/Berlin', JAN), {
    atMs: Date.UTC(2026, 2, 29, 1),
    offsetMinutes: 120,
  });
  t.same(nextOffsetChange('America/New_York', JAN), {
    atMs: Date.UTC(2026, 2, 8, 7),
    offsetMinutes: -240,
  });
  // Southern hemisphere: summer time ends in April.
  t.same(nextOffsetChange('Australia/Sydney', JAN), {
    atMs: Date.UTC(2026, 3, 4, 16),
    offsetMinutes: 600,
  });
  t.equal(nextOffsetChange('Asia/Kolkata', JAN), null, 'no DST');
  t.equal(nextOffsetChange('UTC', JAN), null);
  // One second before the change: the change is still ahead; at it: the next one.
  const at = Date.UTC(2026, 2, 29, 1);
  t.equal(nextOffsetChange('Europe/Berlin', at - 1000)?.atMs, at);
  t.equal(nextOffsetChange('Europe/Berlin', at)?.atMs, Date.UTC(2026, 9, 25, 1));
});

t.test('LocalTime: entries across a change, reused in between', async (t) => {
  const lt = new LocalTime('Europe/Berlin', 'DEU');
  const change = Date.UTC(2026, 2, 29, 1);
  const before = lt.offsets(change - 5000);
  t.same(before, [
    {
      countryCode: 'DEU',
      regionId: 0,
      offsetMinutes: 60,
      timeOfChange: new Date(change),
      nextOffsetMinutes: 120,
    },
  ]);
  t.equal(lt.offsets(change - 1000), before, 'the same object until the change');
  const after = lt.offsets(change);
  t.not(after, before);
  t.same(after[0], {
    countryCode: 'DEU',
    regionId: 0,
    offsetMinutes: 120,
    timeOfChange: new Date(Date.UTC(2026, 9, 25, 1)),
    nextOffsetMinutes: 60,
  });
  t.same(new LocalTime('Asia/Kolkata', 'IND').offsets(JAN), [
    {
      countryCode: 'IND',
      regionId: 0,
      offsetMinutes: 330,
      timeOfChange: null,
      nextOffsetMinutes: 330,
    },
  ]);
});
