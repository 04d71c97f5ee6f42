// SpliceProbe (src/mpegts/splice-probe.ts): a source waiting to take over is ready at its video's
// access point, and hands over PAT, PMT and the packets from the PCR before that point, so a
// remuxer spliced onto it starts the new video there, with no wait of its own.
import t from 'tap';
import { SpliceProbe } from '../../src/mpegts/splice-probe.js';
import { Remuxer } from '../../src/mpegts/remux/remuxer.js';
import { getPid, payloadUnitStart } from '../../src/mpegts/packet.js';
import { CODEC_H264, isRandomAccess } from '../../src/mpegts/rap.js';
import { synthesize, simpleProgram } from '../helpers/synth.js';
import { checkStream, collector } from '../helpers/ts-check.js';

function source(startPcr: number, gop = 25): Uint8Array {
  const p = simpleProgram(1);
  p.streams[0].gop = gop;
  return synthesize({ programs: [p], durationMs: 3000, muxRate: 3e6, startPcr }).ts;
}

t.test('ready at the access point; the handover starts the remuxer right there', async (t) => {
  const a = source(0);
  const b = source(9e9);
  const cut = 400 * 188; // 0.2 s into b's first GOP (1 s long)
  const probe = new SpliceProbe();
  let readyAt = -1;
  for (let o = cut; o < b.length && readyAt < 0; o += 1316)
    if (probe.push(b.subarray(o, o + 1316))) readyAt = o + 1316;
  t.ok(readyAt > 0, 'ready');
  t.notOk(probe.push(b.subarray(readyAt, readyAt + 1316)), 'a ready probe takes no more');
  const hand = probe.handover();
  t.equal(hand.length % 188, 0, 'whole packets');
  t.equal(getPid(hand, 0), 0, 'PAT first');
  t.equal(getPid(hand, 188), 0x1000, 'then the PMT');

  const c = collector();
  const r = new Remuxer({}, c.sink);
  for (let o = 0; o < a.length; o += 1316) r.push(a.subarray(o, o + 1316));
  const at = c.bytes().length;
  r.splice();
  r.push(hand);
  for (let o = readyAt; o < b.length; o += 1316) r.push(b.subarray(o, o + 1316));
  r.end();
  const out = c.bytes();
  let first = -1;
  for (let o = at; o < out.length && first < 0; o += 188)
    if (getPid(out, o) === 0x100 && payloadUnitStart(out, o)) first = o;
  t.ok(isRandomAccess(out, first, CODEC_H264), 'first video after the splice is the keyframe');
  t.ok((first - at) / 188 < 40, `${(first - at) / 188} packets before it: no wait for a GOP`);
  t.equal(r.stats.nonRapStarts, 0);
  t.equal(checkStream(out, 0x100, 0x1000).ccErrors, 0, 'CC continuous');
});

t.test('garbage and a program without access points never make it ready', async (t) => {
  const probe = new SpliceProbe();
  const junk = new Uint8Array(100_000).fill(0x47);
  t.notOk(probe.push(junk), 'garbage');
  const p = new SpliceProbe();
  const b = source(0, 10_000);
  t.notOk(p.push(b.subarray(40 * 188)), 'no keyframe after the first');
  t.equal(p.handover().length, 0, 'nothing to hand over');
});
