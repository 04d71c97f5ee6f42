// Fault loops (issue 9): SIGKILL and SIGSTOP of an ffmpeg primary, garbage bursts on a native
// udp:// primary and on an http:// primary read by ffmpeg, each followed by a planned return to
// the primary, two rounds of each, all at once on one daemon (fault-rounds.ts). The receivers
// record zero CC errors and no PCR jump without discontinuity_indicator; ffprobe finds every
// splice's first video packet to be a keyframe; audio and video keep DTS − PCR within
// 100 ms … 1 s on every channel kind (test pattern, udp, http, file). `npm run bench` runs the
// same rig for 20 rounds (bench/faults.ts).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { assertCleanAcrossFailures, stopAndCheck, tempDir } from './helpers.js';
import { faultRound, spliceFacts, startFaultRig } from './fault-rounds.js';

const ROUNDS = 2;

t.test('fault loops: every splice starts at a keyframe, the output stays clean', async (t) => {
  const rig = await startFaultRig(t);
  const faulty = rig.channels.filter((c) => c.kind !== 'file');
  await Promise.all(
    faulty.map(async (c) => {
      for (let i = 0; i < ROUNDS; i++) await faultRound(rig, c);
    }),
  );
  for (const c of rig.channels) await c.rec.close();
  await stopAndCheck(t, rig.d, Object.values(rig.markers));
  const dir = tempDir(t);
  for (const c of rig.channels) {
    assertCleanAcrossFailures(t, c.rec, 100, `${c.kind}`);
    const f = spliceFacts(c, dir);
    t.comment(`${c.kind}: ${JSON.stringify(f)}`);
    t.equal(f.nonRapStarts, 0, `${c.kind}: no splice starts outside a keyframe (of ${f.splices})`);
    if (c.kind !== 'file') {
      t.ok(f.splices >= 2 * ROUNDS, `${c.kind}: ${f.splices} splices seen by ffprobe`);
      t.ok(
        f.faultToKeyMs.every(Number.isFinite),
        `${c.kind}: a keyframe after every fault (${f.faultToKeyMs.map((x) => x.toFixed(0))} ms)`,
      );
      t.ok(
        f.returnToKeyMs.every(Number.isFinite),
        `${c.kind}: a keyframe after every return (${f.returnToKeyMs.map((x) => x.toFixed(0))} ms)`,
      );
    }
    t.ok(
      f.audioMarginMs.min >= 95 && f.audioMarginMs.max <= 1000,
      `${c.kind}: audio DTS − PCR ${f.audioMarginMs.min.toFixed(1)}…${f.audioMarginMs.max.toFixed(1)} ms`,
    );
    t.ok(
      f.videoMarginMs.min >= 95 && f.videoMarginMs.max <= 1000,
      `${c.kind}: video DTS − PCR ${f.videoMarginMs.min.toFixed(1)}…${f.videoMarginMs.max.toFixed(1)} ms`,
    );
  }
});
