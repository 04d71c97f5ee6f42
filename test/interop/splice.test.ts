// Interoperability across source restarts: `cat a.ts c.ts a.ts` (two differently made files:
// other size, other PIDs, other service_id and name, a clock 5000 s away) joins three timelines
// with PCR jumps back and forth. The output must be one unbroken timeline: ffprobe and ffmpeg
// clean, no frame lost, PTS/DTS never going back on any stream, no gap a decoder would notice,
// and zero priority-1/2 errors (no CC error, no PCR discontinuity).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutput, cli, ffmpeg, packetTimes, probe, tempDir } from './helpers.js';
import type { StreamPackets } from './helpers.js';

const dir = tempDir(t);
const a = join(dir, 'a.ts');
const c = join(dir, 'c.ts');
const joined = join(dir, 'aca.ts');

t.before(() => {
  ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000'],
    ...['-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-metadata', 'service_name=Source A', '-f', 'mpegts', a],
  ]);
  ffmpeg([
    ...['-f', 'lavfi', '-i', 'smptebars=size=240x180:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=600:sample_rate=48000'],
    ...['-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '12'],
    ...['-c:a', 'aac', '-output_ts_offset', '5000', '-mpegts_service_id', '7'],
    ...['-mpegts_pmt_start_pid', '0x200', '-mpegts_start_pid', '0x300'],
    ...['-metadata', 'service_name=Source C', '-f', 'mpegts', c],
  ]);
  const A = readFileSync(a);
  writeFileSync(joined, Buffer.concat([A, readFileSync(c), A]));
});

/** Packets per codec type of a file, as ffprobe demuxes them. */
function countsByType(file: string): Map<string, number> {
  const { info } = probe(file);
  const times = packetTimes(file);
  const out = new Map<string, number>();
  for (const s of info.streams) {
    const n = times.get(s.index)?.pts.length ?? 0;
    out.set(s.codec_type, (out.get(s.codec_type) ?? 0) + n);
  }
  return out;
}

function firstNonIncreasing(v: number[]): number {
  for (let i = 1; i < v.length; i++) if (!(v[i] > v[i - 1])) return i;
  return -1;
}

function largestStep(v: number[]): number {
  let m = 0;
  for (let i = 1; i < v.length; i++) m = Math.max(m, v[i] - v[i - 1]);
  return m;
}

t.test('a → c → a restarts: one clean, continuous output', (t) => {
  const out = join(dir, 'out.ts');
  const r = cli(['remux', joined, out]);
  t.equal(r.code, 0, `remux exits 0 (${r.stdout.trim()})`);
  const info = checkOutput(t, out, { input: a, skipDurations: true });

  const inA = countsByType(a);
  const inC = countsByType(c);
  const got = countsByType(out);
  for (const type of ['video', 'audio']) {
    t.equal(
      got.get(type),
      2 * (inA.get(type) ?? 0) + (inC.get(type) ?? 0),
      `every ${type} frame of a, c and a again is in the output`,
    );
  }

  const times = packetTimes(out);
  for (const s of info.streams) {
    const p: StreamPackets = times.get(s.index) ?? { pts: [], dts: [] };
    // Video may reorder (B-frames): DTS must increase. Audio: PTS must increase.
    const v = s.codec_type === 'video' ? p.dts : p.pts;
    const what = s.codec_type === 'video' ? 'DTS' : 'PTS';
    const bad = firstNonIncreasing(v);
    t.equal(bad, -1, `${s.codec_name} ${what} strictly increases (first fault at #${bad})`);
    const step = largestStep(v);
    t.ok(step < 0.7, `${s.codec_name}: largest ${what} step ${step.toFixed(3)} s < 700 ms`);
  }

  const total = Number(info.format.duration);
  const parts = [a, c, a].reduce((sum, f) => sum + Number(probe(f).info.format.duration), 0);
  t.ok(
    total >= parts - 0.1 && total <= parts + 1,
    `output lasts ${total.toFixed(3)} s for ${parts.toFixed(3)} s of input`,
  );
  t.end();
});
