import t from 'tap';
import { isHeadendError } from '../../src/headend/errors.js';
import { parseBitrate, parseDuration, parseInteger } from '../../src/headend/units.js';

t.test('parseBitrate', async (t) => {
  const good: [string, number][] = [
    ['6M', 6_000_000],
    ['800k', 800_000],
    ['800K', 800_000],
    ['1.5M', 1_500_000],
    ['3000000', 3_000_000],
    ['2G', 2_000_000_000],
    ['.5M', 500_000],
    [' 4 M ', 4_000_000],
    ['6Mbps', 6_000_000],
    ['6Mbit/s', 6_000_000],
    ['100', 100],
  ];
  for (const [text, want] of good) t.equal(parseBitrate(text), want, text);
  for (const text of ['', 'M', '6X', '-1M', '0', '0k', '1e6', '6 M M', 'fast', '1.5.2M']) {
    const r = parseBitrate(text);
    t.ok(isHeadendError(r), `'${text}' is an error`);
    if (isHeadendError(r)) {
      t.equal(r.code, 'E_BAD_BITRATE');
      t.match(r.message, text.trim() === '' ? /bitrate/ : text);
    }
  }
});

t.test('parseDuration (ms)', async (t) => {
  const good: [string, number][] = [
    ['100ms', 100],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['250', 250],
    ['0', 0],
    [' 40 ms', 40],
  ];
  for (const [text, want] of good) t.equal(parseDuration(text), want, text);
  for (const text of ['', 'ms', '2x', '-5s', '1d', 'soon', '2 s s']) {
    const r = parseDuration(text);
    t.ok(isHeadendError(r) && r.code === 'E_BAD_DURATION', `'${text}' is an error`);
  }
});

t.test('parseInteger', async (t) => {
  t.equal(parseInteger('42', 'n', 0, 100), 42);
  t.equal(parseInteger('0x1000', 'pid', 0, 0x1fff), 0x1000);
  for (const text of ['', '1.5', '-1', '101', 'abc', '0x']) {
    const r = parseInteger(text, 'n', 0, 100);
    t.ok(isHeadendError(r) && r.code === 'E_BAD_NUMBER', `'${text}' is an error`);
  }
  const r = parseInteger('70000', 'program number', 1, 65535);
  t.ok(isHeadendError(r) && /program number '70000'.*1 to 65535/.test(r.message));
});
