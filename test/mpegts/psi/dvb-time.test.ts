import t from 'tap';
import {
  encodeBcdDuration,
  encodeUtcTime,
  fromBcd,
  mjdOf,
  msOfMjd,
  readBcdDuration,
  readBcdHhmm,
  readUtcTime,
  toBcd,
  writeBcdHhmm,
} from '../../../src/mpegts/psi/dvb-time.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('Annex C example: 93/10/13 12:45:00 = C0 79 12 45 00', async (t) => {
  const d = new Date(Date.UTC(1993, 9, 13, 12, 45, 0));
  t.equal(mjdOf(d.getTime()), 0xc079);
  t.equal(hex(encodeUtcTime(d)), 'c079124500');
  t.equal(
    readUtcTime(Uint8Array.from([0xc0, 0x79, 0x12, 0x45, 0x00]), 0)?.toISOString(),
    d.toISOString(),
  );
});

t.test('MJD anchors', async (t) => {
  t.equal(mjdOf(0), 40587, '1970-01-01');
  t.equal(msOfMjd(40587), 0);
  t.equal(mjdOf(Date.UTC(2000, 0, 1)), 51544);
  t.equal(mjdOf(Date.UTC(1969, 11, 31, 23, 59, 59)), 40586, 'floor before the epoch');
});

t.test('encode truncates to whole seconds, accepts Date or ms', async (t) => {
  const ms = Date.UTC(2024, 1, 29, 23, 59, 58, 999);
  t.equal(hex(encodeUtcTime(ms)), hex(encodeUtcTime(new Date(ms - 999))));
  t.equal(readUtcTime(encodeUtcTime(ms), 0)?.getTime(), ms - 999);
});

t.test('undefined time: all 40 bits set ↔ null', async (t) => {
  t.equal(hex(encodeUtcTime(null)), 'ffffffffff');
  t.equal(readUtcTime(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff), 0), null);
});

t.test('out of MJD range throws', async (t) => {
  t.throws(() => encodeUtcTime(Date.UTC(2040, 0, 1)), RangeError);
  t.throws(() => encodeUtcTime(Date.UTC(1850, 0, 1)), RangeError);
});

t.test('BCD duration', async (t) => {
  t.equal(hex(encodeBcdDuration(1 * 3600 + 45 * 60 + 30)), '014530');
  t.equal(readBcdDuration(Uint8Array.of(0x01, 0x45, 0x30), 0), 6330);
  t.equal(hex(encodeBcdDuration(99 * 3600 + 59 * 60 + 59)), '995959');
  t.throws(() => encodeBcdDuration(100 * 3600), RangeError);
  t.throws(() => encodeBcdDuration(-1), RangeError);
});

t.test('BCD digits and hhmm offsets', async (t) => {
  t.equal(toBcd(59), 0x59);
  t.equal(fromBcd(0x42), 42);
  const b = new Uint8Array(2);
  writeBcdHhmm(b, 0, -(5 * 60 + 30));
  t.equal(hex(b), '0530', 'magnitude only');
  t.equal(readBcdHhmm(b, 0), 330);
});

t.test('round trip over a range of times', async (t) => {
  let seed = 7;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const bad: number[] = [];
  for (let i = 0; i < 200; i++) {
    const ms = Math.floor((rnd() * Date.UTC(2038, 0, 1)) / 1000) * 1000;
    if (readUtcTime(encodeUtcTime(ms), 0)?.getTime() !== ms) bad.push(ms);
  }
  t.same(bad, [], '200 random times round-trip');
});
