// HlsSegmenter (RFC 8216): the remuxed sample cut into segments that start with PAT, PMT and a
// video access point, about the target long; a live playlist of the last `window` segments
// with a moving media sequence and a target duration that bounds every EXTINF; output time
// going back starts a segment marked EXT-X-DISCONTINUITY, counted by
// EXT-X-DISCONTINUITY-SEQUENCE once it leaves the window. keyframeAligned (the ladder's rungs,
// whose encoder puts an access point at each boundary) cuts at every access point, even one a
// little less than the target after the last.
import t from 'tap';
import { remuxedSample } from '../../helpers/remuxed-sample.js';
import { HlsSegmenter } from '../../../src/headend/hls/segmenter.js';
import { getPid, hasPayload, payloadUnitStart } from '../../../src/mpegts/packet.js';
import { isRandomAccess, codecFamily } from '../../../src/mpegts/rap.js';
import { Demuxer } from '../../../src/mpegts/demux.js';

const dgrams = remuxedSample();
const span = (dgrams[dgrams.length - 1]!.t27 - dgrams[0]!.t27) / 27e6;

t.test('segments: PAT, PMT, an access point; a live window', async (t) => {
  const seg = new HlsSegmenter({ targetMs: 1000, window: 3 });
  for (const d of dgrams) seg.datagram(d.bytes, d.t27);
  const text = seg.playlist((n) => `${n}.ts`)!;
  t.ok(span > 3, `the sample lasts ${span.toFixed(1)} s`);
  const lines = text.trim().split('\n');
  t.same(lines.slice(0, 2), ['#EXTM3U', '#EXT-X-VERSION:3']);
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]);
  const durations = [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
  t.ok(durations.length <= 3, 'at most the window');
  t.ok(
    durations.every((x) => Math.round(x) <= target),
    `EXTINFs ${durations} within ${target}`,
  );
  const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]);
  const uris = lines.filter((l) => l.endsWith('.ts')).map((l) => Number(l.slice(0, -3)));
  t.same(
    uris,
    uris.map((_, i) => first + i),
    'sequence numbers follow the media sequence',
  );
  for (const n of uris) {
    const b = seg.segment(n)!.bytes;
    t.equal(getPid(b, 0), 0, `segment ${n}: the PAT first`);
    const dm = new Demuxer();
    dm.processAligned(b.subarray(0, 376));
    t.ok(dm.program, 'then the PMT');
    const video = dm.program!.streams.find((s) => s.kind === 'video')!;
    let o = 376;
    while (!(getPid(b, o) === video.pid && hasPayload(b, o))) o += 188;
    t.ok(
      isRandomAccess(b, o, codecFamily(video.streamType, video.codec)),
      'video from an access point',
    );
  }
});

t.test('a timeline that goes back: a discontinuity, counted when it leaves', async (t) => {
  const seg = new HlsSegmenter({ targetMs: 1000, window: 12 });
  for (const d of dgrams) seg.datagram(d.bytes, d.t27);
  for (const d of dgrams) seg.datagram(d.bytes, d.t27); // the same output time again
  const text = seg.playlist((n) => `${n}.ts`)!;
  t.match(text, /#EXT-X-DISCONTINUITY\n/, 'marked');
  t.notMatch(text, /#EXT-X-DISCONTINUITY-SEQUENCE/, 'none has left the window yet');
  // Later output, contiguous: the marked segment slides out of the window.
  for (let k = 1; k <= 4; k++) {
    const shift = k * (span + 1) * 27e6;
    for (const d of dgrams) seg.datagram(d.bytes, d.t27 + shift);
  }
  const later = seg.playlist((n) => `${n}.ts`)!;
  t.match(later, /#EXT-X-DISCONTINUITY-SEQUENCE:[1-9]/, 'counted once gone from the window');
});

t.test(
  'keyframeAligned: a segment at every access point, even one just short of the target',
  async (t) => {
    // The sample's access points, by output time.
    const dm = new Demuxer();
    const raps: number[] = [];
    for (const d of dgrams)
      for (let o = 0; o < d.bytes.length; o += 188) {
        const r = dm.process(d.bytes, o);
        const video = dm.program?.streams.findIndex((s) => s.kind === 'video') ?? -1;
        if (r < 0 || r !== video || !payloadUnitStart(d.bytes, o)) continue;
        const s = dm.program!.streams[video]!;
        if (isRandomAccess(d.bytes, o, codecFamily(s.streamType, s.codec))) raps.push(d.t27);
      }
    t.ok(raps.length >= 4, `${raps.length} access points`);
    const gaps = raps.slice(1).map((x, i) => (x - raps[i]!) / 27e3);
    // A target a little over the longest gap: every gap falls short of it, as the PCR-timed gap
    // between two rung keyframes forced exactly one target apart can.
    const targetMs = Math.max(...gaps) * 1.01;
    const count = (aligned: boolean): number => {
      const seg = new HlsSegmenter({ targetMs, window: 30, keyframeAligned: aligned });
      for (const d of dgrams) seg.datagram(d.bytes, d.t27);
      seg.datagram(dgrams[0]!.bytes, dgrams.at(-1)!.t27 + 27e6 * 10); // closes the last one
      return seg.count;
    };
    t.equal(count(true), raps.length, 'aligned: one segment per access point');
    t.ok(
      count(false) <= Math.ceil(raps.length / 2) + 1,
      `not aligned: every other one (${count(false)})`,
    );
  },
);
