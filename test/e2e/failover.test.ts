// Failover, as a user would try it (issue 3): a channel with a test-pattern primary and backup.
// While a receiver records the group: SIGKILL the primary's ffmpeg → failover to the backup →
// the primary restarts with backoff and, healthy for return_after, the channel returns to it;
// SIGKILL the primary again and then the backup while it is in use; SIGSTOP the primary (a
// stall) → detected, the stopped child is killed and restarted. Over the whole recording: zero
// CC errors, no PCR jump without discontinuity_indicator, PCR every ≤ 100 ms, PAT/PMT never
// absent longer than psi_interval, and video PES again within 3 s of each source's return.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import {
  assertCleanAcrossFailures,
  pictureAfterMs,
  childPid,
  marker,
  openRecorder,
  sleep,
  sourceMatches,
  startDaemon,
  story,
  stopAndCheck,
  type LogEvent,
} from './helpers.js';

const GROUP = '239.255.21.1';
const PORT = 6101;
const PSI_MS = 100;

t.test(
  'SIGKILL primary, return, SIGKILL backup, SIGSTOP primary: output stays clean',
  async (t) => {
    const prim = marker('prim');
    const back = marker('back');
    const d = startDaemon(t, {
      text: `
headend:
  name: E2E
  interface: 127.0.0.1
  ttl: 1
channels:
  - number: 21
    name: Failover
    output: udp://${GROUP}:${PORT}
    psi_interval: ${PSI_MS}ms
    stall_timeout: 1s
    return_after: 3s
    source:
      test: { pattern: testsrc2, resolution: 320x180, rate: 25, bitrate: 500k, text: ${prim} }
    backup:
      - test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 500k, tone: 440, text: ${back} }
`,
    });
    const rec = await openRecorder(t, GROUP, PORT);
    const isCh = (e: LogEvent): boolean => e.channel === '21 Failover';
    const up = (index: number) => (e: LogEvent) =>
      isCh(e) && e.event === 'source-up' && e.index === index;
    const ev = (name: string) => (e: LogEvent) => isCh(e) && e.event === name;

    await d.waitFor((e) => e.event === 'ready', 10_000);
    await d.waitFor(up(0), 10_000);
    await sleep(1500);

    // 1. SIGKILL the primary → failover to the backup.
    let from = d.events.length;
    process.kill(await childPid(prim), 'SIGKILL');
    const fo1 = await d.waitFor(ev('failover'), 5000, from);
    t.ok(fo1, 'failover after SIGKILL of the primary');
    await d.waitFor(up(1), 8000, from);
    // 2. The primary restarts with backoff and, healthy for 3 s, the channel returns to it.
    const ret1 = await d.waitFor(ev('return-to-primary'), 15_000, from);
    t.equal(ret1.reason, 'primary healthy again', 'returned because the primary is healthy');
    await d.waitFor(up(0), 5000, from);
    t.ok(
      d.events.slice(from).some((e) => e.event === 'source-start' && sourceMatches(e, prim)),
      'the primary was restarted',
    );
    await sleep(1000);

    // 3. SIGKILL the primary again, then the backup while it is in use.
    from = d.events.length;
    process.kill(await childPid(prim), 'SIGKILL');
    await d.waitFor(ev('failover'), 5000, from);
    await d.waitFor(up(1), 8000, from);
    await sleep(500);
    const from3 = d.events.length;
    process.kill(await childPid(back), 'SIGKILL');
    const bf = await d.waitFor(
      (e) => isCh(e) && e.event === 'source-failed' && e.index === 1,
      5000,
      from3,
    );
    t.equal(bf.reason, 'exit', 'the backup failure is seen as an exit');
    await d.waitFor(up(0), 10_000, from3);
    // The picture after this source-up is judged by a flow held for 1 s (pictureAfterMs): with
    // the SIGSTOP 1 s after it, the flow was cut before it had held, and the time was counted to
    // the backup's picture after the stall failover (2.5-2.7 s, close to the bound).
    await sleep(2000);

    // 4. SIGSTOP the primary: a stall after stall_timeout, failover, the stopped child is killed
    //    and restarted, and the channel returns to the primary.
    from = d.events.length;
    const stopped = await childPid(prim);
    process.kill(stopped, 'SIGSTOP');
    const st = await d.waitFor(
      (e) => isCh(e) && e.event === 'source-failed' && e.index === 0,
      5000,
      from,
    );
    t.equal(st.reason, 'stall', 'SIGSTOP is detected as a stall');
    await d.waitFor(ev('failover'), 3000, from);
    await d.waitFor(ev('return-to-primary'), 15_000, from);
    await d.waitFor(up(0), 5000, from);
    try {
      process.kill(stopped, 'SIGCONT'); // resume it (normally the daemon has killed it by now)
    } catch {
      // already gone
    }
    t.not(await childPid(prim), stopped, 'the stalled primary was replaced by a new child');
    await sleep(3000);

    await rec.close();
    await stopAndCheck(t, d, [prim, back]);

    const { scan } = assertCleanAcrossFailures(t, rec, PSI_MS, 'failover output');
    // Picture again within 3 s of each source's return (every source-up of the channel).
    const ups = d.events.filter((e) => isCh(e) && e.event === 'source-up');
    const fails = d.events.filter((e) => isCh(e) && e.event === 'source-failed');
    t.ok(ups.length >= 7, `source-up events: ${ups.length}`);
    for (const u of ups) {
      const next = fails.find((f) => f.atNs > u.atNs)?.atNs ?? Infinity;
      const ms = pictureAfterMs(scan.videoPesNs, u.atNs, next);
      t.ok(ms <= 3000, `picture ${ms.toFixed(0)} ms after source-up of index ${String(u.index)}`);
    }
    t.comment(story(d.events, '21 Failover', rec.datagrams[0]?.ns ?? 0));
  },
);
