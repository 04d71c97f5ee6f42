// The pure parts of the source layer: backoff, stderr parsing and rate limiting, TS health.
import t from 'tap';
import { Backoff } from '../../../src/headend/sources/backoff.js';
import { SourceHealth } from '../../../src/headend/sources/health.js';
import {
  LineSplitter,
  parseStderrLine,
  RateLimiter,
} from '../../../src/headend/sources/stderr-log.js';

t.test('backoff: 500 ms doubling to 10 s, ±20 % jitter, reset after 10 s healthy', async (t) => {
  const mid = new Backoff({ random: () => 0.5 });
  t.same(
    Array.from({ length: 8 }, () => mid.next(0)),
    [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000],
  );
  t.equal(mid.next(9_999), 10000, 'healthy 9.999 s: no reset');
  t.equal(mid.next(10_000), 500, 'healthy 10 s: reset');
  t.equal(new Backoff({ random: () => 0 }).next(0), 400, '-20 %');
  t.equal(new Backoff({ random: () => 0.999999 }).next(0), 600, '+20 %');
  const rnd = new Backoff();
  for (let i = 0; i < 100; i++) {
    const d = rnd.next(0);
    const base = Math.min(10000, 500 * 2 ** i);
    t.ok(d >= base * 0.8 && d <= base * 1.2, `attempt ${i}: ${d}`);
    if (i > 6) break;
  }
});

t.test('stderr lines: level from -loglevel level+…', async (t) => {
  t.same(parseStderrLine('[mpegts @ 0x55d0c8a3e2c0] [warning] Packet corrupt (stream = 0)'), {
    level: 'warn',
    ffmpegLevel: 'warning',
    context: 'mpegts',
    message: 'Packet corrupt (stream = 0)',
  });
  t.same(parseStderrLine('[error] /nonexist: No such file or directory'), {
    level: 'error',
    ffmpegLevel: 'error',
    message: '/nonexist: No such file or directory',
  });
  t.same(parseStderrLine('[fatal] out of memory'), {
    level: 'error',
    ffmpegLevel: 'fatal',
    message: 'out of memory',
  });
  t.same(parseStderrLine('plain text'), { level: 'info', message: 'plain text' });
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.push('one\ntw');
  s.push('o\r\nthree\rfour');
  s.end();
  t.same(lines, ['one', 'two', 'three', 'four']);
});

t.test('rate limiter: one per window, with the count held back', async (t) => {
  const r = new RateLimiter(10_000);
  t.equal(r.admit('dts 1 < 2 out of order', 0), 0);
  t.equal(r.admit('dts 5 < 9 out of order', 1000), -1, 'numbers do not make it new');
  t.equal(r.admit('other', 1000), 0);
  t.equal(r.admit('dts 7 < 8 out of order', 9000), -1);
  t.equal(r.admit('dts 7 < 8 out of order', 10_000), 2, 'next window: carries 2 held back');
  t.equal(r.admit('dts 7 < 8 out of order', 10_001), -1);
});

t.test('health: stall, garbage by window, garbage by no sync', async (t) => {
  const ts = new Uint8Array(188 * 100);
  for (let i = 0; i < 100; i++) ts[i * 188] = 0x47;
  const junk = new Uint8Array(188 * 100).fill(0x11);

  const h = new SourceHealth(188 * 400);
  h.reset(0);
  t.equal(h.check(2500, 2000, 5000), undefined, 'before the first byte, startMs applies');
  t.equal(h.check(5001, 2000, 5000), 'stall');
  h.reset(0);
  t.equal(h.push(ts, 100), undefined);
  t.equal(h.check(2100, 2000, 5000), undefined);
  t.equal(h.check(2101, 2000, 5000), 'stall', 'no bytes for stallMs');

  h.reset(0);
  t.equal(h.push(ts, 10), undefined);
  t.equal(h.push(junk, 20), undefined);
  t.equal(h.push(junk, 30), undefined);
  t.equal(h.push(junk, 40), 'garbage', 'window full, three quarters skipped');
  t.ok(h.skipped > 188 * 299);
  h.reset(0);
  h.push(ts, 10);
  h.push(junk, 20);
  h.push(ts, 30);
  t.equal(h.push(junk, 40), undefined, 'half skipped is not more than half');

  h.reset(0);
  for (let i = 0; i < 4; i++) t.equal(h.push(ts, i), undefined, 'all TS: healthy');

  h.reset(0);
  h.push(ts, 0);
  h.push(junk.subarray(0, 1000), 1000);
  h.push(junk.subarray(0, 1000), 2500);
  t.equal(h.check(2500, 2000, 5000), 'garbage', 'bytes but no packet for stallMs');
});
