// StreamStart (a client joining a running stream, HTTP-TS): joining the remuxed sample at
// several points, what the client gets starts with a PAT, then the PMT, video at a random
// access point, every stream at a PES start, no continuity error, and from then on every
// packet; a client that never sees a random access point starts video after rapWaitMs.
import t from 'tap';
import { remuxedSample } from '../helpers/remuxed-sample.js';
import { StreamStart } from '../../src/mpegts/stream-start.js';
import { getPid, hasPayload, payloadUnitStart } from '../../src/mpegts/packet.js';
import { isRandomAccess, codecFamily } from '../../src/mpegts/rap.js';
import { Demuxer } from '../../src/mpegts/demux.js';
import { checkStream } from '../helpers/ts-check.js';

const dgrams = remuxedSample();

const whole = new Demuxer();
for (const d of dgrams) whole.processAligned(d.bytes);
const program = whole.program!;
const video = program.streams.find((s) => s.kind === 'video')!;

function join(from: number, rapWaitMs = 1000): Uint8Array {
  const s = new StreamStart(rapWaitMs);
  const out = new Uint8Array(dgrams.length * 1316);
  let at = 0;
  for (const d of dgrams.slice(from)) at = s.filter(d.bytes, d.t27, out, at);
  t.ok(s.started, `joined at datagram ${from}: every stream started`);
  return out.subarray(0, at);
}

t.test('a client starts at a PAT, then the PMT, video at an access point', async (t) => {
  t.ok(video, `the sample has video (${video.codec ?? video.streamType})`);
  for (const from of [1, 37, Math.floor(dgrams.length / 3), Math.floor(dgrams.length / 2)]) {
    const got = join(from);
    t.equal(getPid(got, 0), 0, `from ${from}: the first packet is the PAT`);
    const pmtPid = whole.pat!.programs[0]!.pid;
    t.equal(getPid(got, 188), pmtPid, 'then the PMT');
    let firstVideo = -1;
    for (let o = 0; o < got.length; o += 188) {
      if (getPid(got, o) === video.pid && hasPayload(got, o)) {
        firstVideo = o;
        break;
      }
    }
    t.ok(
      firstVideo > 0 && isRandomAccess(got, firstVideo, codecFamily(video.streamType, video.codec)),
      'the first video packet opens a random access point',
    );
    for (const s of program.streams) {
      let o = 0;
      while (o < got.length && !(getPid(got, o) === s.pid && hasPayload(got, o))) o += 188;
      t.ok(o < got.length && payloadUnitStart(got, o), `PID ${s.pid} starts at a PES start`);
    }
    const chk = checkStream(got, program.pcrPid, pmtPid);
    t.equal(chk.ccErrors, 0, 'no continuity error for the client');
  }
});

t.test('no access point within rapWaitMs: video starts at its next PES', async (t) => {
  const got = join(1, 0);
  let o = 0;
  while (!(getPid(got, o) === video.pid && hasPayload(got, o))) o += 188;
  t.ok(payloadUnitStart(got, o), 'a PES start all the same');
});
