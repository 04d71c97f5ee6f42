// Splices start the new source at a random access point (issue 9, item 1): after splice() the
// output's video resumes at the new source's next keyframe, audio and the other streams at a
// PES start after it, and meanwhile the output carries PSI and PCR. The wait is bounded.
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import type { RemuxOptions } from '../../../src/mpegts/remux/types.js';
import { getPid, payloadUnitStart } from '../../../src/mpegts/packet.js';
import { CODEC_H264, isRandomAccess } from '../../../src/mpegts/rap.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';

const PKT = 188;

function source(gop: number, startPcr: number, ms = 4000): Uint8Array {
  const p = simpleProgram(1, 0x100, 0x1000);
  p.streams[0].gop = gop;
  return synthesize({ programs: [p], durationMs: ms, muxRate: 3e6, startPcr, ptsDelayMs: 400 }).ts;
}

/** Remuxes a, then splices to b from byte `cut` on; returns the output and where b's part begins. */
function run(a: Uint8Array, b: Uint8Array, cut: number, opts: RemuxOptions = {}) {
  const c = collector();
  const r = new Remuxer(opts, c.sink);
  for (let o = 0; o < a.length; o += 1316) r.push(a.subarray(o, o + 1316));
  const at = c.bytes().length;
  r.splice();
  for (let o = cut; o < b.length; o += 1316) r.push(b.subarray(o, Math.min(o + 1316, b.length)));
  r.end();
  return { r, out: c.bytes(), at };
}

/** Packet indexes of PES starts on `pid` from byte `from` on. */
function pesStarts(out: Uint8Array, pid: number, from: number): number[] {
  const list: number[] = [];
  for (let o = from; o + PKT <= out.length; o += PKT)
    if (getPid(out, o) === pid && payloadUnitStart(out, o)) list.push(o);
  return list;
}

t.test('a splice into the middle of a GOP starts the video at the next keyframe', async (t) => {
  const a = source(12, 0);
  const b = source(25, 5e9); // keyframes every second, cut 0.4 s into the first GOP
  const cut = Math.floor((0.4 * 3e6) / 8 / PKT) * PKT;
  const { r, out, at } = run(a, b, cut);
  const video = pesStarts(out, 0x100, at);
  const audio = pesStarts(out, 0x110, at);
  t.ok(video.length > 50, `${video.length} video PES after the splice`);
  t.ok(isRandomAccess(out, video[0], CODEC_H264), 'the first video PES after it is a keyframe');
  t.ok(audio[0] > video[0], 'audio resumes after the video does');
  t.equal(r.stats.nonRapStarts, 0, 'no start outside an access point');
  t.equal(r.stats.rapStarts, 2, 'the first output and the splice start at access points');
  const c = checkStream(out, 0x100, 0x1000);
  t.equal(c.ccErrors, 0, 'CC continuous');
  t.ok(c.maxPcrGapMs <= 40, `PCR gap ${c.maxPcrGapMs.toFixed(1)} ms while waiting`);
  t.ok(c.maxPatGapMs <= 100, `PAT gap ${c.maxPatGapMs.toFixed(1)} ms while waiting`);
  // The wait: from the splice to the first keyframe about 0.6 s of b (1 s GOP, cut at 0.4 s).
  const waitPackets = (video[0] - at) / PKT;
  t.ok(waitPackets > 0, `${waitPackets} packets of PSI/PCR before the keyframe`);
});

t.test('the wait for an access point is bounded (rapWaitMs), then counted', async (t) => {
  const a = source(12, 0);
  const b = source(1000, 5e9, 3000); // one keyframe at 0, none after the cut
  const cut = Math.floor((0.4 * 3e6) / 8 / PKT) * PKT;
  const { r, out, at } = run(a, b, cut, { rapWaitMs: 500 });
  const video = pesStarts(out, 0x100, at);
  t.ok(video.length > 20, 'video resumes');
  t.notOk(isRandomAccess(out, video[0], CODEC_H264), 'not at an access point');
  t.equal(r.stats.nonRapStarts, 1, 'and counted as a non-RAP start');
  const c = checkStream(out, 0x100, 0x1000);
  const times = c.pcrs.filter(([i]) => i * PKT >= at);
  t.ok(times.length > 0);
  t.equal(c.ccErrors, 0);
});

t.test('the first output starts at an access point too', async (t) => {
  const b = source(25, 0, 3000);
  const cut = Math.floor((0.5 * 3e6) / 8 / PKT) * PKT;
  const c = collector();
  const r = new Remuxer({}, c.sink);
  r.push(b.subarray(cut));
  r.end();
  const out = c.bytes();
  const video = pesStarts(out, 0x100, 0);
  t.ok(isRandomAccess(out, video[0], CODEC_H264), 'first video PES is a keyframe');
  t.equal(r.stats.nonRapStarts, 0);
});

t.test(
  'sound the old source already covered is dropped, not a step for every stream',
  async (t) => {
    // a presents 800 ms after its PCR, b only 150 ms: b's first audio, which comes after b's
    // first PCR interval, would present before a's last one.
    const pa = simpleProgram(1);
    const pb = simpleProgram(1);
    pb.streams[1].startMs = 200;
    const a = synthesize({ programs: [pa], durationMs: 2000, muxRate: 3e6, ptsDelayMs: 800 }).ts;
    const b = synthesize({
      programs: [pb],
      durationMs: 2000,
      muxRate: 3e6,
      ptsDelayMs: 150,
      startPcr: 4e9,
    }).ts;
    const c = collector();
    const r = new Remuxer({}, c.sink);
    for (let o = 0; o < a.length; o += 1316) r.push(a.subarray(o, o + 1316));
    r.splice();
    for (let o = 0; o < b.length; o += 1316) r.push(b.subarray(o, o + 1316));
    r.end();
    const s = checkStream(c.bytes(), 0x100, 0x1000);
    for (const [pid, list] of s.pts) {
      let back = 0;
      for (let i = 1; i < list.length; i++) if (list[i] <= list[i - 1]) back++;
      t.equal(back, 0, `PID ${pid.toString(16)}: PTS never go back`);
    }
    t.equal(r.delayRaises, 0, 'no raise of the decode delay: the video runs on untouched');
    t.equal(s.ccErrors, 0, 'CC continuous (dropped packets leave the CC alone)');
  },
);

t.test('setSpliceFill: PSI/PCR before a new input, as much as asked', async (t) => {
  // The channel deepens its queue again at a splice (ChannelOutput.spliceFillMs): the new
  // input's first packet goes out that much later on the output clock, the gap kept filled.
  const a = source(25, 0, 2000);
  const b = source(25, 5e9, 2000);
  const gap = (fillMs: number | null): { ms: number; out: Uint8Array } => {
    const parts: Uint8Array[] = [];
    const times: number[] = [];
    const r = new Remuxer({}, (p, tt) => {
      parts.push(p.slice());
      for (let i = 0; i < p.length / PKT; i++) times.push(tt[i]);
    });
    r.setSpliceFill(fillMs === null ? null : () => fillMs);
    for (let o = 0; o < a.length; o += 1316) r.push(a.subarray(o, o + 1316));
    r.idle(0);
    const before = times[times.length - 1];
    const at = times.length;
    for (let o = 0; o < b.length; o += 1316) r.push(b.subarray(o, Math.min(o + 1316, b.length)));
    r.end();
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let k = 0;
    for (const p of parts) (out.set(p, k), (k += p.length));
    const first = pesStarts(out, 0x100, at * PKT)[0] / PKT;
    return { ms: (times[first] - before) / 27e3, out };
  };
  const plain = gap(null);
  const filled = gap(250);
  t.ok(plain.ms < 100, `without: the new input starts ${plain.ms.toFixed(0)} ms after the old`);
  t.ok(
    filled.ms >= 250 && filled.ms <= 265,
    `with 250 ms asked: ${filled.ms.toFixed(0)} ms after the old`,
  );
  const c = checkStream(filled.out, 0x100, 0x1000);
  t.equal(c.ccErrors, 0, 'CC continuous');
  t.ok(c.maxPcrGapMs <= 40, `PCR gap ${c.maxPcrGapMs.toFixed(1)} ms across the fill`);
  t.ok(c.maxPatGapMs <= 100, `PAT gap ${c.maxPatGapMs.toFixed(1)} ms across the fill`);
});
