// Interoperability: an ffmpeg-made HEVC (libx265) + AC-3 single-program TS through
// `headend remux`, judged by ffprobe, ffmpeg's decoders, our Analyzer and an independent PCR
// reader. HEVC at this size is a low-bitrate, bursty stream: few packets between PCRs.
import t from 'tap';
import { join } from 'node:path';
import { checkOutput, cli, ffmpeg, hasEncoder, tempDir } from './helpers.js';

const encoder = hasEncoder('libx265') ? 'libx265' : null;
if (!encoder) {
  t.plan(0, 'this ffmpeg has no libx265 encoder');
} else {
  const dir = tempDir(t);
  const input = join(dir, 'hevc-ac3.ts');
  const NAME = 'Interop HEVC';

  t.before(() => {
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000'],
      ...['-t', '5', '-c:v', encoder, '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-x265-params', 'log-level=error', '-c:a', 'ac3', '-b:a', '128k'],
      ...['-metadata', `service_name=${NAME}`, '-f', 'mpegts', input],
    ]);
  });

  t.test('remux keeps HEVC and AC-3, durations and the service name', (t) => {
    const out = join(dir, 'out.ts');
    const r = cli(['remux', input, out, '--program', '1']);
    t.equal(r.code, 0, `remux exits 0 (${r.stderr.trim()})`);
    const info = checkOutput(t, out, { input, serviceName: NAME, videoSize: [320, 240] });
    t.same(
      info.streams.map((s) => [s.codec_name, s.id]),
      [
        ['hevc', '0x100'],
        ['ac3', '0x110'],
      ],
      'HEVC on the video PID, AC-3 on the first audio PID',
    );
    t.end();
  });

  t.test('--cbr 1M on HEVC + AC-3 is clean too', (t) => {
    const out = join(dir, 'cbr.ts');
    const r = cli(['remux', input, out, '--cbr', '1M']);
    t.equal(r.code, 0, 'remux exits 0');
    checkOutput(t, out, { input });
    t.end();
  });
}
