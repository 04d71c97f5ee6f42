// SourceHub with real ffmpeg children (test patterns, files, a fake binary for garbage).
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getPriority } from 'node:os';
import { SourceHub } from '../../../src/headend/sources/hub.js';
import { FFMPEG_NICE, startFfmpeg } from '../../../src/headend/sources/ffmpeg-source.js';
import { RateLimiter } from '../../../src/headend/sources/stderr-log.js';
import type { SourceSpec } from '../../../src/headend/sources/types.js';
import { alive, EventLog, FFMPEG, marker, processesWith, Recorder, waitFor } from './helpers.js';

function pattern(key: string, text: string): SourceSpec {
  return {
    key,
    test: {
      pattern: 'testsrc2',
      resolution: '320x180',
      rate: 25,
      bitrate: 300_000,
      text,
      tone: 440,
    },
  };
}

function hub(t: Test, extra: Partial<ConstructorParameters<typeof SourceHub>[0]> = {}) {
  const log = new EventLog();
  const h = new SourceHub({ ffmpegPath: FFMPEG, log: log.log, ...extra });
  t.teardown(() => h.close());
  return { h, log };
}

t.test('a test pattern is TS with a video and an audio stream within 3 s', async (t) => {
  const { h, log } = hub(t);
  const name = marker();
  const r = new Recorder();
  const t0 = performance.now();
  h.subscribe(pattern('p', name), r);
  t.equal(h.state('p')?.state, 'starting');
  const ok = await waitFor(() => r.program !== null, 3000);
  const ms = Math.round(performance.now() - t0);
  t.ok(ok, `program found in ${ms} ms`);
  t.same(r.program?.streams.map((s) => s.kind).sort(), ['audio', 'video']);
  t.same(r.program?.streams.map((s) => s.codec).sort(), ['aac', 'h264'].sort());
  await waitFor(() => r.serviceName !== '', 2000);
  t.equal(r.serviceName, name, 'SDT service name = the text');
  t.match(h.state('p'), { state: 'running', restarts: 0 });
  t.ok((h.state('p')?.bytes ?? 0) > 0);
  t.equal(log.of('start').length, 1);
  t.equal(log.events.filter((e) => e.level !== 'info').length, 0, 'no warning from ffmpeg');
});

t.test('one child per key; the last unsubscribe kills it after lingerMs', async (t) => {
  const { h } = hub(t, { lingerMs: 400 });
  const name = marker();
  const a = new Recorder();
  const b = new Recorder();
  const offA = h.subscribe(pattern('shared', name), a);
  const offB = h.subscribe(pattern('shared', name), b);
  t.ok(await waitFor(() => a.bytes > 0 && b.bytes > 0, 3000), 'both get bytes');
  const pids = processesWith(name);
  t.equal(pids.length, 1, 'one ffmpeg child');
  t.equal(pids[0], h.pidOf('shared'), 'pidOf names it');
  offA();
  offA(); // twice is harmless
  const bBefore = b.bytes;
  await waitFor(() => b.bytes > bBefore + 10_000, 2000);
  t.equal(h.state('shared')?.state, 'running', 'still running for the other subscriber');
  t.same(processesWith(name), pids);
  offB({ linger: true }); // a stopping channel's (channel.ts stop)
  t.equal(h.state('shared')?.state, 'running', 'no subscriber: it lingers');
  // A channel rebuilt by a reload (or moved to another worker) subscribes again at once.
  const c = new Recorder();
  const offC = h.subscribe(pattern('shared', name), c);
  t.ok(await waitFor(() => c.bytes > 10_000, 2000), 'a new subscriber gets bytes');
  t.same(processesWith(name), pids, 'from the same child: not started again');
  t.equal(h.state('shared')?.restarts, 0);
  await new Promise((r) => setTimeout(r, 600));
  t.same(processesWith(name), pids, 'its linger timer ended with the new subscriber');
  offC({ linger: true });
  t.equal(h.state('shared')?.state, 'running', 'lingers again');
  t.ok(await waitFor(() => h.state('shared') === undefined, 1000), 'closed after lingerMs');
  t.ok(await waitFor(() => processesWith(name).length === 0, 2000), 'child gone');
  // A failover's close (a backup no longer in use) does not linger.
  const offD = h.subscribe(pattern('shared', name), new Recorder());
  offD();
  t.equal(h.state('shared'), undefined, 'without linger: closed at once');
});

t.test('a subscriber `from` a packet of the run gets the bytes from it first', async (t) => {
  const { h } = hub(t, { lingerMs: 3000 });
  const name = marker();
  const a = new Recorder(true);
  const offA = h.subscribe(pattern('from', name), a);
  t.ok(await waitFor(() => a.bytes > 200_000, 5000), 'the run delivers');
  // A packet 100 ms of bytes back (300 kbit/s video + audio: a few kB), aligned on A's stream.
  const all = Buffer.concat(a.kept);
  const at = Math.floor((all.length - 8000) / 188) * 188;
  t.equal(all[at], 0x47, 'a packet of the run');
  const packet = all.subarray(at, at + 188);
  offA({ linger: true }); // the old reader stops (a channel moved or rebuilt)
  await new Promise((r) => setTimeout(r, 100));
  const b = new Recorder(true);
  const offB = h.subscribe(pattern('from', name), b, { from: packet });
  t.ok(b.kept.length > 0, 'at once, before any live bytes');
  const first = Buffer.from(b.kept[0]!);
  t.ok(first.subarray(0, 188).equals(packet), 'beginning with that packet');
  t.ok(
    first.subarray(0, all.length - at).equals(all.subarray(at)),
    'then what the old reader got after it',
  );
  t.ok(first.length > all.length - at, 'and what came while nobody read');
  await waitFor(() => b.kept.length > 2, 2000);
  t.equal(h.state('from')?.restarts, 0, 'the same run');
  offB();
  const c = new Recorder(true);
  const offC = h.subscribe(pattern('from', name), c, { from: new Uint8Array(188).fill(0x47) });
  t.equal(c.kept.length, 0, 'a packet not among the recent bytes: only live bytes, later');
  offC();
});

t.test('with another reader (routed packets), the replay ends at a whole packet', async (t) => {
  const { h } = hub(t, { lingerMs: 3000 });
  const name = marker();
  const x = new Recorder(); // stays: the run is routed to each reader
  const offX = h.subscribe(pattern('routed', name), x);
  const a = new Recorder(true);
  const offA = h.subscribe(pattern('routed', name), a);
  t.ok(await waitFor(() => a.bytes > 200_000, 5000), 'the run delivers');
  const all = Buffer.concat(a.kept);
  const at = Math.floor((all.length - 8000) / 188) * 188;
  offA();
  await new Promise((r) => setTimeout(r, 60));
  const b = new Recorder(true);
  const offB = h.subscribe(pattern('routed', name), b, { from: all.subarray(at, at + 188) });
  t.ok(b.kept.length > 0 && b.kept[0]!.length % 188 === 0, 'the replay: whole packets');
  await waitFor(() => b.bytes > 100_000, 3000);
  const got = Buffer.concat(b.kept);
  let misaligned = 0;
  for (let o = 0; o + 188 <= got.length; o += 188) if (got[o] !== 0x47) misaligned++;
  t.equal(misaligned, 0, `then routed packets join on (${got.length} bytes, every packet in step)`);
  offB();
  offX();
});

t.test('a lingering source is not reused by a subscriber with another spec', async (t) => {
  const { h } = hub(t, { lingerMs: 5000 });
  const before = marker();
  const after = marker();
  const a = new Recorder();
  const offA = h.subscribe(pattern('changed', before), a);
  t.ok(await waitFor(() => a.bytes > 0, 3000), 'the old spec runs');
  offA({ linger: true });
  t.equal(h.state('changed')?.state, 'running', 'and lingers');
  // A reload changed the source: the same key, another spec.
  const b = new Recorder();
  h.subscribe(pattern('changed', after), b);
  await waitFor(() => b.serviceName !== '', 5000);
  t.equal(b.serviceName, after, 'the new spec runs');
  t.ok(await waitFor(() => processesWith(before).length === 0, 2000), 'the old child is gone');
});

t.test('SIGKILL of the child: failed(exit), restarted(), data again', async (t) => {
  const { h, log } = hub(t);
  const name = marker();
  const r = new Recorder();
  h.subscribe(pattern('k', name), r);
  t.ok(await waitFor(() => r.bytes > 20_000, 3000));
  const pid = h.pidOf('k') as number;
  const killedAt = performance.now();
  process.kill(pid, 'SIGKILL');
  t.ok(await waitFor(() => r.marks.length >= 4, 4000), 'restarted');
  t.equal(r.story, 'data failed:exit restarted data');
  const failedMs = (r.find('failed')?.at ?? 0) - killedAt;
  const backMs = (r.marks[3]?.at ?? 0) - killedAt;
  t.ok(failedMs < 200, `failure seen ${failedMs.toFixed(0)} ms after the kill`);
  t.ok(backMs < 1500, `data again ${backMs.toFixed(0)} ms after the kill (backoff 500 ms ±20 %)`);
  t.comment(`kill → failed ${failedMs.toFixed(0)} ms, kill → data again ${backMs.toFixed(0)} ms`);
  t.not(h.pidOf('k'), pid, 'a new child');
  t.match(h.state('k'), {
    state: 'running',
    restarts: 1,
    lastError: /exit: ffmpeg killed by SIGKILL/,
  });
  t.match(log.of('exit')[0], { source: 'k', level: 'error', reason: 'exit', pid });
  t.match(log.of('backoff')[0], { delayMs: Number });
  t.equal(log.of('recovered').length, 1);
});

t.test('SIGSTOP of the child: stall detected, killed with SIGKILL, restarted', async (t) => {
  const { h, log } = hub(t);
  const name = marker();
  const r = new Recorder();
  const stallMs = 1000;
  h.subscribe(pattern('s', name), r, { stallMs });
  t.ok(await waitFor(() => r.bytes > 20_000, 3000));
  const pid = h.pidOf('s') as number;
  const stoppedAt = performance.now();
  process.kill(pid, 'SIGSTOP');
  t.ok(await waitFor(() => r.find('failed') !== undefined, stallMs + 1500), 'failed');
  const failed = r.find('failed');
  t.equal(failed?.reason, 'stall');
  const sinceData = (failed?.at ?? 0) - r.lastDataAt;
  const sinceStop = (failed?.at ?? 0) - stoppedAt;
  t.ok(
    sinceData >= stallMs && sinceData <= stallMs + 500,
    `stall after ${sinceData.toFixed(0)} ms of silence`,
  );
  t.comment(`SIGSTOP → failed('stall') ${sinceStop.toFixed(0)} ms (stallMs ${stallMs})`);
  t.ok(await waitFor(() => !alive(pid), 1000), 'the stopped child was killed');
  t.ok(await waitFor(() => r.marks.length >= 4, 3000));
  t.equal(r.story, 'data failed:stall restarted data');
  t.comment(`failed → data again ${((r.marks[3]?.at ?? 0) - (failed?.at ?? 0)).toFixed(0)} ms`);
  t.match(log.of('stall')[0], { level: 'error', message: /no bytes for 1000 ms/ });
});

t.test('a source that keeps failing is retried with exponential backoff', async (t) => {
  const { h, log } = hub(t, { backoff: { initialMs: 100, maxMs: 400 }, random: () => 0.5 });
  const r = new Recorder();
  h.subscribe({ key: 'missing', url: '/nonexistent/clip.ts' }, r);
  t.ok(await waitFor(() => log.of('start').length >= 5, 5000), 'five attempts');
  const starts = log.of('start').map((e) => e.at);
  const exits = log.of('exit').map((e) => e.at);
  const delays = log.of('backoff').map((e) => e.delayMs);
  t.same(delays.slice(0, 4), [100, 200, 400, 400], 'doubling, capped');
  for (let i = 0; i < 4; i++) {
    const gap = starts[i + 1] - exits[i];
    t.ok(
      gap >= (delays[i] as number) - 2 && gap < (delays[i] as number) + 100,
      `exit → start ${gap.toFixed(0)} ms`,
    );
  }
  t.match(r.story, /^failed:exit failed:exit failed:exit failed:exit/);
  t.notOk(r.story.includes('restarted'), 'no restarted() for a subscriber that never had bytes');
  const state = h.state('missing');
  t.ok(state?.state === 'backoff' || state?.state === 'starting');
  t.match(
    state?.lastError,
    /exit: ffmpeg exited with code 1: \/nonexistent\/clip\.ts: No such file/,
  );
  const ff = log.of('ffmpeg');
  t.equal(ff.length, 1, 'the same stderr line once per 10 s, across runs');
  t.match(ff[0], { level: 'error', ffmpegLevel: 'error', message: /No such file or directory/ });
});

t.test("a file ffmpeg cannot read: failed(exit) says ffmpeg's error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend-garbage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'garbage.ts');
  writeFileSync(file, 'this is not a media file\n'.repeat(400));
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'garbage-file', url: file }, r);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 5000), 'failed');
  const f = r.find('failed');
  t.equal(f?.reason, 'exit');
  t.match(
    f?.message,
    /^ffmpeg exited with code 1: .*Invalid data found when processing input$/,
    "the subscriber is told why: the exit code and ffmpeg's last error line",
  );
});

t.test('bytes that are not TS: failed(garbage), the child killed', async (t) => {
  const dir = t.testdir({});
  const fake = join(dir, 'ffmpeg');
  writeFileSync(fake, '#!/bin/sh\nhead -c 3000000 /dev/urandom\nexec sleep 5\n');
  chmodSync(fake, 0o755);
  const { h, log } = hub(t, { ffmpegPath: fake, backoff: { initialMs: 5000, maxMs: 5000 } });
  const r = new Recorder();
  h.subscribe({ key: 'g', url: 'http://example.invalid/x' }, r);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 3000));
  t.equal(r.story, 'data failed:garbage');
  t.match(log.of('garbage')[0], { level: 'error', message: /not MPEG-TS/ });
  t.equal(h.state('g')?.state, 'backoff');
  t.equal(h.pidOf('g'), undefined);
});

t.test('an ffmpeg that cannot be started: failed(spawn)', async (t) => {
  const { h } = hub(t, { ffmpegPath: '/nonexistent/ffmpeg' });
  const r = new Recorder();
  h.subscribe({ key: 'x', url: '/tmp/x.ts' }, r);
  t.ok(await waitFor(() => r.marks.length > 0, 2000));
  t.equal(r.story, 'failed:spawn');
  t.match(h.state('x')?.lastError, /spawn: cannot start \/nonexistent\/ffmpeg.*ENOENT/);
});

t.test('close() leaves no child behind', async (t) => {
  const log = new EventLog();
  const h = new SourceHub({ ffmpegPath: FFMPEG, log: log.log });
  const name = marker();
  const r = new Recorder();
  h.subscribe(pattern('c1', name), r);
  h.subscribe(pattern('c2', name), new Recorder());
  t.ok(await waitFor(() => processesWith(name).length === 2, 3000), 'two children');
  await h.close();
  t.same(processesWith(name), [], 'none after close()');
  t.throws(() => h.subscribe(pattern('c3', name), r), /closed/);
});

t.test('ffmpeg children run at nice FFMPEG_NICE, below the daemon and its pacing', async (t) => {
  const run = startFfmpeg(
    {
      ffmpegPath: FFMPEG,
      wrapper: [],
      limiter: new RateLimiter(),
      args: ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=rate=5'],
    },
    {
      data: () => undefined,
      ended: () => undefined,
      event: () => undefined,
      tuner: () => undefined,
      services: () => new Set(),
      onServices: () => () => undefined,
    },
  );
  t.teardown(() => run.stop());
  t.ok(run.pid !== undefined, 'started');
  t.equal(getPriority(run.pid!), FFMPEG_NICE, `nice ${FFMPEG_NICE}`);
  t.equal(getPriority(), 0, 'the daemon itself unchanged');
});
