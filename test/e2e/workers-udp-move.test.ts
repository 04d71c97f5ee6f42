// Channels on native UDP inputs moved to another channel worker by load balance (issue 12 item
// 4), on the real daemon with two workers: channels 1, 2 and 3-4 read inputs X, Z and Y, three
// in one worker and one in the other; a reload removes the one, and the channels of one input
// of the other worker move to the emptied one, which does not receive that input yet. The
// worker they go to opens it before the old one cuts them (make-before-break of the input,
// ChannelHost.warm), so a moved channel reads on from the cut (input-resumed) instead of
// splicing to the input and waiting for its next keyframe (input-spliced, before). Checked on
// the wire with the recordings of the channels across the move: zero continuity and priority-1
// errors, no PTS gap (TR 101 290 1.4, 2.5), and a moved channel's longest wait between
// pictures within 100 ms of the unmoved ones'.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TsSender,
  analyzeRecording,
  check,
  failing,
  maxGapMs,
  openRecorder,
  scan,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';

const SAMPLE = fileURLToPath(new URL('../../../samples/sample.ts', import.meta.url));
const HTTP = '127.0.0.1:18748';
const INS = [
  { group: '239.255.48.9', port: 6489 },
  { group: '239.255.48.10', port: 6490 },
  { group: '239.255.48.11', port: 6491 },
];
/** Channel k's input: 1 reads X, 2 reads Z, 3 and 4 read Y. */
const inputOf = (k: number): (typeof INS)[number] => INS[k === 1 ? 0 : k === 2 ? 1 : 2]!;
const OUTS = [1, 2, 3, 4].map((k) => ({ group: `239.255.48.${k}`, port: 6480 + k }));

function configText(numbers: number[]): string {
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
    `  http: { listen: ${HTTP} }\n  pacing: { workers: 2 }\nchannels:\n` +
    numbers
      .map((k) => {
        const input = inputOf(k);
        const out = OUTS[k - 1]!;
        return (
          `  - number: ${k}\n    name: U${k}\n    output: udp://${out.group}:${out.port}\n` +
          `    source: udp://@${input.group}:${input.port}?interface=127.0.0.1\n`
        );
      })
      .join('')
  );
}

t.test('a UDP channel moved by load balance reads on from the cut in its new worker', async (t) => {
  const senders = INS.map((i) => new TsSender(SAMPLE, i.group, i.port));
  for (const s of senders) await s.start();
  t.teardown(() => senders.forEach((s) => s.stop()));
  const dir = tempDir(t);
  const file = join(dir, 'channels.yaml');
  writeFileSync(file, configText([1, 2, 3, 4]));
  const d = startDaemon(t, { file });
  await d.waitFor((e) => e.event === 'ready', 15_000);
  for (let k = 1; k <= 4; k++)
    await d.waitFor((e) => e.event === 'source-up' && e.channel === `${k} U${k}`, 20_000);
  const workerOf = (k: number): unknown =>
    d.events.find((e) => e.event === 'source-up' && e.channel === `${k} U${k}`)?.worker;
  t.equal(workerOf(4), workerOf(3), 'channels 3 and 4 (one input) share a worker');
  const lanes = [1, 2, 3, 4].map(workerOf);
  const alone = [1, 2, 3, 4].filter((k) => lanes.filter((w) => w === workerOf(k)).length === 1);
  t.equal(alone.length, 1, `one channel alone in its worker (${alone.join()})`);
  const stay = [1, 2, 3, 4].filter((k) => k !== alone[0]);

  const recs = await Promise.all(
    stay.map((k) => openRecorder(t, OUTS[k - 1]!.group, OUTS[k - 1]!.port)),
  );
  await sleep(1500);
  const from = d.events.length;
  writeFileSync(file, configText(stay));
  d.proc.kill('SIGHUP');
  const r = await d.waitFor((e) => e.event === 'reload', 15_000, from);
  t.same(r.removed, [`u${alone[0]}`], 'the reload removes the channel alone in its worker');
  await d.waitFor((e) => e.event === 'channel-moved' && e.reason === 'load balance', 15_000, from);
  await sleep(1000);
  const moves = d.events.slice(from).filter((e) => e.event === 'channel-moved');
  const movedK = stay.filter((k) => moves.some((e) => e.channel === `${k} U${k}`));
  t.ok(movedK.length >= 1, `channels ${movedK.join(', ')} move to the emptied worker`);
  for (const k of movedK) {
    const ends = await d.waitFor(
      (e) =>
        (e.event === 'input-resumed' || e.event === 'input-spliced') && e.channel === `${k} U${k}`,
      10_000,
      from,
    );
    t.equal(ends.event, 'input-resumed', `U${k}: its input read on from the cut, not spliced`);
    // Its input was opened in the new worker before the old one cut the channel (the move is
    // logged once the cut output is handed on).
    const at = d.events.indexOf(moves.find((e) => e.channel === `${k} U${k}`)!);
    const opened = d.events.findIndex(
      (e, i) =>
        i >= from &&
        e.event === 'source-start' &&
        String(e.source).includes(inputOf(k).group) &&
        e.worker === workerOf(alone[0]!),
    );
    t.ok(opened >= 0 && opened < at, `U${k}: its input opened in the new worker first`);
  }
  await sleep(2500);
  await Promise.all(recs.map((x) => x.close()));
  const gaps = recs.map((rec) => maxGapMs(scan(rec.datagrams).videoPesNs));
  recs.forEach((rec, i) => {
    const k = stay[i]!;
    const rep = analyzeRecording(rec);
    t.ok(rec.datagrams.length > 100, `U${k}: ${rec.datagrams.length} datagrams recorded`);
    t.equal(check(rep, '1.4').errors, 0, `U${k}: zero continuity errors across the move`);
    t.equal(check(rep, '2.5').errors, 0, `U${k}: no PTS gap across the move`);
    t.equal(rep.priority1Errors, 0, `U${k}: zero priority-1 errors (${failing(rep)})`);
  });
  const unmoved = Math.max(...gaps.filter((_, i) => !movedK.includes(stay[i]!)), 0);
  for (const k of movedK) {
    const g = gaps[stay.indexOf(k)]!;
    t.ok(
      g <= unmoved + 100,
      `U${k}: longest wait between pictures across the move ${g.toFixed(0)} ms ` +
        `(the unmoved meanwhile: ${unmoved.toFixed(0)} ms)`,
    );
  }
  await stopAndCheck(t, d, []);
});
