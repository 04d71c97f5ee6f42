// A native udp:// source that turns to garbage (issue 3): the test sends a real-time TS clip to
// the channel's input group, then random bytes for a few seconds, then the clip again. The
// channel reports source-failed garbage, fails over to its test-pattern backup, returns to the
// primary once it is healthy again, and the output stays clean throughout.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { join } from 'node:path';
import {
  TsSender,
  assertCleanAcrossFailures,
  marker,
  maxGapStartNs,
  nowNs,
  openRecorder,
  pictureAfterMs,
  renderClip,
  sleep,
  startDaemon,
  story,
  stopAndCheck,
  tempDir,
  type LogEvent,
} from './helpers.js';

const OUT_GROUP = '239.255.22.1';
const OUT_PORT = 6201;
const IN_GROUP = '239.255.22.9';
const IN_PORT = 6209;
const PSI_MS = 100;

t.test('udp input sends garbage: failover, recovery, clean output', async (t) => {
  const dir = tempDir(t);
  const clip = join(dir, 'clip.ts');
  renderClip(clip, 40);
  const back = marker('garbback');
  const sender = new TsSender(clip, IN_GROUP, IN_PORT);
  await sender.start();
  t.teardown(() => sender.stop());
  const d = startDaemon(t, {
    text: `
headend:
  interface: 127.0.0.1
  ttl: 1
channels:
  - number: 22
    name: Garbage
    output: udp://${OUT_GROUP}:${OUT_PORT}
    psi_interval: ${PSI_MS}ms
    stall_timeout: 1s
    return_after: 3s
    source: udp://@${IN_GROUP}:${IN_PORT}?interface=127.0.0.1
    backup:
      - test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 500k, text: ${back} }
`,
  });
  const rec = await openRecorder(t, OUT_GROUP, OUT_PORT);
  const isCh = (e: LogEvent): boolean => e.channel === '22 Garbage';
  const up = (index: number) => (e: LogEvent) =>
    isCh(e) && e.event === 'source-up' && e.index === index;
  await d.waitFor(up(0), 10_000);
  await sleep(2000);

  const from = d.events.length;
  sender.mode = 'garbage';
  const garbageNs = nowNs();
  const failed = await d.waitFor(
    (e) => isCh(e) && e.event === 'source-failed' && e.index === 0,
    5000,
    from,
  );
  t.equal(failed.reason, 'garbage', 'the primary fails as garbage');
  await d.waitFor((e) => isCh(e) && e.event === 'failover', 2000, from);
  await d.waitFor(up(1), 8000, from);
  await sleep(2000);
  sender.mode = 'ts';
  const ret = await d.waitFor((e) => isCh(e) && e.event === 'return-to-primary', 12_000, from);
  t.equal(ret.reason, 'primary healthy again', 'returns once the primary is healthy again');
  await d.waitFor(up(0), 5000, from);
  await sleep(3000);

  await rec.close();
  await stopAndCheck(t, d, [back]);
  const { scan } = assertCleanAcrossFailures(t, rec, PSI_MS, 'garbage output');
  const gapAt = maxGapStartNs(scan.patNs);
  t.comment(
    `largest PAT gap by arrival begins ${((gapAt - garbageNs) / 1e6).toFixed(0)} ms after the ` +
      `garbage began; source-failed came ${((failed.atNs - garbageNs) / 1e6).toFixed(0)} ms after`,
  );
  const fails = d.events.filter((e) => isCh(e) && e.event === 'source-failed');
  for (const u of d.events.filter((e) => isCh(e) && e.event === 'source-up')) {
    const next = fails.find((f) => f.atNs > u.atNs)?.atNs ?? Infinity;
    const ms = pictureAfterMs(scan.videoPesNs, u.atNs, next);
    t.ok(ms <= 3000, `picture ${ms.toFixed(0)} ms after source-up of index ${String(u.index)}`);
  }
  t.comment(story(d.events, '22 Garbage', rec.datagrams[0]?.ns ?? 0));
});
