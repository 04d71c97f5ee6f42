// Fault soak (issue 9): the fault rig of the end-to-end tests (test/e2e/fault-rounds.ts) for
// `--rounds` rounds (default 20) of each fault at once on one daemon — SIGKILL and SIGSTOP of
// an ffmpeg primary, 3 s garbage bursts on a native udp:// primary and on an http:// primary
// read by ffmpeg — each followed by a planned return to the primary; plus a file channel.
// Per fault kind: time from fault to the first keyframe on the wire and from the planned switch
// to it (median, max), splices ffprobe found and how many did not start at a keyframe (must be
// 0), CC errors, and the audio/video DTS − PCR range on every channel kind.
// Run inside the private network namespace: `bash scripts/in-netns.sh node dist/bench/faults.js`.

import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, fmt, hostInfo, writeResult } from './cli.js';
import { describeFloor, measureFloor } from './floor.js';
import { analyzeRecording, check } from '../test/e2e/helpers.js';
import { faultRound, spliceFacts, startFaultRig } from '../test/e2e/fault-rounds.js';

const rounds = arg('rounds', 20);
const teardowns: (() => unknown)[] = [];
const t = { teardown: (f: () => unknown) => teardowns.push(f) } as unknown as Test;

function stats(xs: number[]): { median: number; max: number; missing: number } {
  const ok = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    median: ok.length ? ok[Math.floor(ok.length / 2)] : NaN,
    max: ok.length ? ok[ok.length - 1] : NaN,
    missing: xs.length - ok.length,
  };
}

async function main(): Promise<void> {
  // The machine's floor first (bench/floor.ts): the times below are hundreds of ms to seconds,
  // set by stall_timeout and ffmpeg's start, but they are judged beside it all the same.
  const floor = await measureFloor('spin', arg('floor-seconds', 5));
  console.log(`machine floor: ${describeFloor(floor)}`);
  const t0 = Date.now();
  const rig = await startFaultRig(t);
  const faulty = rig.channels.filter((c) => c.kind !== 'file');
  const failures: string[] = [];
  await Promise.all(
    faulty.map(async (c) => {
      for (let i = 0; i < rounds; i++) {
        try {
          await faultRound(rig, c);
        } catch (e) {
          failures.push(`${c.kind} round ${i + 1}: ${(e as Error).message}`);
          break;
        }
      }
    }),
  );
  for (const c of rig.channels) await c.rec.close();
  await rig.d.stop();
  const dir = mkdtempSync(join(tmpdir(), 'headend-faults-'));
  const rows = rig.channels.map((c) => {
    const f = spliceFacts(c, dir);
    const report = analyzeRecording(c.rec);
    return {
      kind: c.kind,
      rounds: c.faults.length,
      splices: f.splices,
      nonRapStarts: f.nonRapStarts,
      faultToKeyframeMs: stats(f.faultToKeyMs),
      returnToKeyframeMs: stats(f.returnToKeyMs),
      ccErrors: check(report, '1.4').errors,
      pcrDiscontinuityErrors: check(report, '2.3b').errors,
      audioDtsPcrMs: f.audioMarginMs,
      videoDtsPcrMs: f.videoMarginMs,
      splicesDetail: f.detail,
    };
  });
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `fault soak: ${rounds} rounds of each fault, ${((Date.now() - t0) / 1e3).toFixed(0)} s`,
  );
  console.log(
    'kind   rounds  splices  non-RAP  fault→key med/max ms  return→key med/max ms  CC err  audio DTS−PCR ms  video DTS−PCR ms',
  );
  for (const r of rows) {
    console.log(
      `${r.kind.padEnd(6)} ${String(r.rounds).padStart(6)} ${String(r.splices).padStart(8)} ` +
        `${String(r.nonRapStarts).padStart(8)}  ${fmt(r.faultToKeyframeMs.median, 0).padStart(9)} / ` +
        `${fmt(r.faultToKeyframeMs.max, 0).padEnd(8)}  ${fmt(r.returnToKeyframeMs.median, 0).padStart(9)} / ` +
        `${fmt(r.returnToKeyframeMs.max, 0).padEnd(9)}  ${String(r.ccErrors).padStart(6)}  ` +
        `${fmt(r.audioDtsPcrMs.min)}…${fmt(r.audioDtsPcrMs.max)}`.padEnd(18) +
        `${fmt(r.videoDtsPcrMs.min)}…${fmt(r.videoDtsPcrMs.max)}`,
    );
  }
  for (const f of failures) console.log(`round failed: ${f}`);
  const path = writeResult('faults', { host: hostInfo(), floor, rounds, rows, failures });
  console.log(`results: ${path}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const f of teardowns.reverse()) await f();
  });
