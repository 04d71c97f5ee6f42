// Structured logs (src/headend/log.ts): JSON and logfmt with the channel on every channel line,
// level filtering, folding of identical repeats into one line with a count, journald mode.
import t from 'tap';
import { createLogger } from '../../src/headend/log.js';
import type { LoggerOptions } from '../../src/headend/log.js';

function capture(opts: LoggerOptions = {}) {
  const lines: string[] = [];
  let now = 1_700_000_000_000;
  const log = createLogger({
    journald: false,
    ...opts,
    write: (l) => lines.push(l),
    now: () => now,
  });
  return { log, lines, advance: (ms: number) => (now += ms) };
}

t.test('JSON: one object per line, the channel on every child line', async (t) => {
  const { log, lines } = capture();
  const ch = log.child({ channel: '101 News' });
  ch.log('info', 'channel-start', { output: 'udp://239.1.1.1:5000' });
  ch.log('warn', 'source-failed', { reason: 'stall' });
  log.log('info', 'ready', { channels: 1 });
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    objs.map((o) => [o.level, o.event, o.channel]),
    [
      ['info', 'channel-start', '101 News'],
      ['warn', 'source-failed', '101 News'],
      ['info', 'ready', undefined],
    ],
  );
  t.match(objs[0].ts, /^\d{4}-\d\d-\d\dT/, 'ts in ISO 8601');
});

t.test('logfmt: key=value with quoting, the channel on every child line', async (t) => {
  const { log, lines } = capture({ format: 'logfmt' });
  const ch = log.child({ channel: '101 News' });
  ch.log('info', 'source-up', { source: 'udp://@239.0.0.1:1234', index: 0 });
  ch.log('error', 'source-failed', { message: 'exit code=1 "boom"' });
  t.match(
    lines[0],
    /^ts=\S+ level=info event=source-up channel="101 News" source=udp:\/\/@239\.0\.0\.1:1234 index=0$/,
  );
  t.match(
    lines[1],
    /level=error event=source-failed channel="101 News" message="exit code=1 \\"boom\\""$/,
  );
});

t.test('levels: lines below the minimum are dropped', async (t) => {
  const { log, lines } = capture({ level: 'warn' });
  log.log('debug', 'a');
  log.log('info', 'b');
  log.log('warn', 'c');
  log.log('error', 'd');
  t.same(
    lines.map((l) => JSON.parse(l).event),
    ['c', 'd'],
  );
  const dbg = capture({ level: 'debug' });
  dbg.log.log('debug', 'x');
  t.equal(dbg.lines.length, 1, 'debug shows debug lines');
});

t.test('identical repeats within the window fold into one line with a count', async (t) => {
  const { log, lines, advance } = capture({ repeatWindowMs: 10_000 });
  const ch = log.child({ channel: '7 Sport' });
  for (let i = 0; i < 50; i++) {
    ch.log('warn', 'source-stderr', { message: 'non-monotonic DTS' });
    advance(100);
  }
  t.equal(lines.length, 1, '50 repeats in 5 s: one line');
  advance(6000);
  ch.log('warn', 'source-stderr', { message: 'non-monotonic DTS' });
  t.equal(lines.length, 2, 'after the window: the next one is written');
  t.equal(JSON.parse(lines[1]).repeated, 49, 'with the count of those folded');
  ch.log('warn', 'source-stderr', { message: 'another message' });
  t.equal(lines.length, 3, 'a different message is not a repeat');
  log.child({ channel: '8 Other' }).log('warn', 'source-stderr', { message: 'non-monotonic DTS' });
  t.equal(lines.length, 4, 'the same message on another channel is not a repeat');
  ch.log('info', 'source-up');
  ch.log('info', 'source-up');
  t.equal(lines.length, 6, 'state changes (no message) are never folded');
});

t.test('journald: syslog priority prefix, no ts', async (t) => {
  const { log, lines } = capture({ journald: true });
  log.child({ channel: '1 A' }).log('error', 'source-failed', { reason: 'exit' });
  log.log('info', 'ready');
  t.match(lines[0], /^<3>\{/);
  t.match(lines[1], /^<6>\{/);
  const o = JSON.parse(lines[0].slice(3)) as Record<string, unknown>;
  t.equal(o.ts, undefined, 'the journal stamps entries itself');
  t.equal(o.channel, '1 A');
});
