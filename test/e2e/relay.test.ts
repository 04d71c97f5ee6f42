// udpxy's relay of other groups (http.relay) on the real daemon: a raw-UDP group fed by the
// test's sender and an RTP group fed by ffmpeg's rtp_mpegts muxer, neither a channel, are
// joined on demand and read by ffprobe through /udp/<group>:<port> and /rtp/<group>:<port>
// (video and audio); a group outside http.relay is 404; the group is left when the last client
// goes (http-relay-leave).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FFMPEG, FFPROBE, TsSender, marker, startDaemon, stopAndCheck } from './helpers.js';

const SAMPLE = fileURLToPath(new URL('../../../samples/sample.ts', import.meta.url));
const HTTP = 18791;
const TEXT = marker('relay');
const CONFIG =
  `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
  `  http: { listen: 127.0.0.1:${HTTP}, relay: [239.255.62.0/24] }\n` +
  `channels:\n  - number: 1\n    name: R\n    output: udp://239.255.62.1:6621\n` +
  `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 300k, text: ${TEXT} }\n`;

function probe(url: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      FFPROBE,
      [
        '-v',
        'error',
        '-rw_timeout',
        '8000000',
        '-show_entries',
        'stream=codec_type',
        '-of',
        'csv=p=0',
        url,
      ],
      { timeout: 30_000 },
      (e, out) => (e ? reject(e) : resolve(out)),
    ),
  );
}

t.test('the relay joins other groups on demand', async (t) => {
  const udp = new TsSender(SAMPLE, '239.255.62.5', 6625);
  await udp.start();
  t.teardown(() => udp.stop());
  const rtp = spawn(
    FFMPEG,
    [
      '-v',
      'error',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      SAMPLE,
      '-map',
      '0',
      '-c',
      'copy',
      '-f',
      'rtp_mpegts',
      'rtp://239.255.62.6:6627?ttl=1&localaddr=127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => rtp.kill('SIGKILL'));
  const d = startDaemon(t, { text: CONFIG });
  await d.waitFor((e) => e.event === 'ready', 20_000);
  const base = `http://127.0.0.1:${HTTP}`;

  const a = await probe(`${base}/udp/239.255.62.5:6625`);
  t.match(a, /video/, '/udp/: ffprobe reads video');
  t.match(a, /audio/, 'and audio');
  const b = await probe(`${base}/rtp/239.255.62.6:6627`);
  t.match(b, /video/, '/rtp/: the RTP header stripped, ffprobe reads video');
  t.match(b, /audio/, 'and audio');
  t.ok(
    d.events.some((e) => e.event === 'http-relay-join'),
    'joined on demand',
  );
  await d.waitFor((e) => e.event === 'http-relay-leave', 10_000);
  t.pass('left when the last client went');
  const outside = await fetch(`${base}/udp/239.255.63.5:6625`);
  t.equal(outside.status, 404, 'a group outside http.relay: 404');
  await outside.body?.cancel();
  await stopAndCheck(t, d, [TEXT]);
});
