// The ladder's master playlist (RFC 8216 §4.3.4.2): only the rungs, which the ladder cuts at the
// same pictures, highest bandwidth first, each with BANDWIDTH and a 16:9 RESOLUTION, marked
// EXT-X-INDEPENDENT-SEGMENTS (every rung segment starts with an IDR frame); not the channel's
// own playlist, whose segments start at its source's keyframes (a switch to it would jump).
import t from 'tap';
import { masterPlaylist } from '../../../src/headend/http/hls-routes.js';

const rung = (name: string, height: number, bandwidth: number) => ({ name, height, bandwidth });

t.test('the rungs only, highest first, with their resolution', async (t) => {
  const text = masterPlaylist(
    {
      rungs: [rung('180p', 180, 380_000), rung('720p', 720, 3_400_000), rung('360p', 360, 985_000)],
    },
    '',
  );
  t.equal(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-STREAM-INF:BANDWIDTH=3400000,RESOLUTION=1280x720',
      '720p/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=985000,RESOLUTION=640x360',
      '360p/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=380000,RESOLUTION=320x180',
      '180p/index.m3u8',
      '',
    ].join('\n'),
  );
  t.notMatch(text, /^index\.m3u8/m, "the channel's own playlist is not a variant");
});

t.test('a token is carried into every variant URI', async (t) => {
  const text = masterPlaylist({ rungs: [rung('240p', 240, 545_600)] }, '?token=a%20b');
  t.match(text, /RESOLUTION=426x240\n240p\/index\.m3u8\?token=a%20b\n$/);
});
