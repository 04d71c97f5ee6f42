import t from 'tap';
import {
  drawtextLiteral,
  escapeGraph,
  ffmpegArgs,
  quoteOption,
  sourceKind,
} from '../../../src/headend/sources/ffmpeg-args.js';
import type { SourceSpec } from '../../../src/headend/sources/types.js';

const HEAD = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+warning'];
/** Network inputs probe 1 s instead of ffmpeg's 5 s (faster start after a restart). */
const PROBE = ['-analyzeduration', '1000000'];
const MUX = ['-f', 'mpegts', '-mpegts_flags', '+resend_headers', '-muxdelay', '0.1', 'pipe:1'];
const COPY = ['-map', '0:v?', '-map', '0:a?', '-c', 'copy'];
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

t.test('kind of each source', async (t) => {
  const cases: [string, string][] = [
    ['udp://@239.1.1.1:5000', 'native'],
    ['rtp://10.0.0.1@232.1.1.1:5000', 'native'],
    ['/media/clip.ts', 'file'],
    ['clip.mp4', 'file'],
    ['file:///media/clip.ts', 'file'],
    ['/dev/video0', 'device'],
    ['v4l2:/dev/video0', 'device'],
    ['rtsp://cam/stream', 'rtsp'],
    ['https://cdn/live.m3u8', 'http'],
    ['srt://10.0.0.1:9000?mode=caller', 'srt'],
    ['rtmp://host/app/key', 'url'],
  ];
  for (const [url, kind] of cases) t.equal(sourceKind({ key: 'k', url }), kind, url);
  t.equal(sourceKind({ key: 'k', test: testSpec() }), 'test');
});

t.test('ffmpegArgs, one case per kind', async (t) => {
  const cases: [string, SourceSpec, string[]][] = [
    [
      'file, looped in real time',
      { key: 'f', url: '/media/clip.ts' },
      [...HEAD, '-stream_loop', '-1', '-re', '-i', '/media/clip.ts', ...COPY, ...MUX],
    ],
    [
      'file:// URL, loop off',
      { key: 'f', url: 'file:///media/clip.ts', loop: false },
      [...HEAD, '-re', '-i', '/media/clip.ts', ...COPY, ...MUX],
    ],
    [
      'HLS over https',
      { key: 'h', url: 'https://cdn.example/live/index.m3u8' },
      [...HEAD, ...PROBE, '-i', 'https://cdn.example/live/index.m3u8', ...COPY, ...MUX],
    ],
    [
      'RTSP over TCP',
      { key: 'r', url: 'rtsp://cam.local:554/stream1' },
      [
        ...HEAD,
        ...PROBE,
        '-rtsp_transport',
        'tcp',
        '-i',
        'rtsp://cam.local:554/stream1',
        ...COPY,
        ...MUX,
      ],
    ],
    [
      'a finished HLS recording, looped: read at its own pace, restarted at its end',
      { key: 'h', url: 'https://cdn.example/vod/index.m3u8', loop: true },
      [...HEAD, ...PROBE, '-re', '-i', 'https://cdn.example/vod/index.m3u8', ...COPY, ...MUX],
    ],
    [
      'SRT',
      { key: 's', url: 'srt://10.0.0.1:9000?mode=caller' },
      [...HEAD, ...PROBE, '-i', 'srt://10.0.0.1:9000?mode=caller', ...COPY, ...MUX],
    ],
    [
      'one service of an MPTS over http',
      { key: 'm', url: 'http://tuner/stream', service: 1002 },
      [
        ...HEAD,
        ...PROBE,
        '-i',
        'http://tuner/stream',
        '-map',
        '0:p:1002',
        '-c',
        'copy',
        '-mpegts_service_id',
        '1002',
        ...MUX,
      ],
    ],
    [
      'a device is transcoded by default',
      { key: 'd', url: 'v4l2:/dev/video0' },
      [
        ...HEAD,
        '-f',
        'v4l2',
        '-i',
        '/dev/video0',
        '-map',
        '0:v?',
        '-map',
        '0:a?',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-tune',
        'zerolatency',
        '-pix_fmt',
        'yuv420p',
        '-force_key_frames',
        'expr:gte(t,n_forced*1)',
        '-c:a',
        'aac',
        '-b:a',
        '128000',
        '-ac',
        '2',
        ...MUX,
      ],
    ],
    [
      'transcode profile',
      {
        key: 't',
        url: 'http://x/y.ts',
        transcode: { video: 'h264', videoBitrate: 3e6, size: '1280x720', audioBitrate: 96e3 },
      },
      [
        ...HEAD,
        ...PROBE,
        '-i',
        'http://x/y.ts',
        '-map',
        '0:v?',
        '-map',
        '0:a?',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-tune',
        'zerolatency',
        '-pix_fmt',
        'yuv420p',
        '-force_key_frames',
        'expr:gte(t,n_forced*1)',
        '-s',
        '1280x720',
        '-b:v',
        '3000000',
        '-maxrate',
        '3000000',
        '-bufsize',
        '3000000',
        '-c:a',
        'aac',
        '-b:a',
        '96000',
        '-ac',
        '2',
        ...MUX,
      ],
    ],
    [
      'transcode audio only',
      { key: 't', url: 'srt://h:1', transcode: { audio: 'mp2', audioBitrate: 192000 } },
      [
        ...HEAD,
        ...PROBE,
        '-i',
        'srt://h:1',
        '-map',
        '0:v?',
        '-map',
        '0:a?',
        '-c:v',
        'copy',
        '-c:a',
        'mp2',
        '-b:a',
        '192000',
        '-ac',
        '2',
        ...MUX,
      ],
    ],
  ];
  for (const [name, spec, want] of cases) t.same(ffmpegArgs(spec), want, name);
});

function testSpec(extra: Partial<SourceSpec['test']> = {}): NonNullable<SourceSpec['test']> {
  return { pattern: 'smptebars', resolution: '640x360', rate: 25, bitrate: 800_000, ...extra };
}

t.test('test pattern: lavfi video + tone, x264 with 1 s GOP, AAC', async (t) => {
  const args = ffmpegArgs({ key: 'p', test: testSpec({ tone: 1000 }) }, { drawtext: false });
  t.same(args, [
    ...HEAD,
    '-re',
    '-f',
    'lavfi',
    '-i',
    'smptebars=size=640x360:rate=25',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=1000:sample_rate=48000',
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '25',
    '-keyint_min',
    '25',
    '-b:v',
    '800000',
    '-maxrate',
    '800000',
    '-bufsize',
    '800000',
    '-c:a',
    'aac',
    '-b:a',
    '96000',
    '-ac',
    '2',
    ...MUX,
  ]);
});

t.test(
  'test pattern: silence without a tone, text burned in when drawtext and a font exist',
  async (t) => {
    const spec: SourceSpec = { key: 'p', test: testSpec({ text: "Ch 1: Bob's 100%", rate: 30 }) };
    const args = ffmpegArgs(spec, { drawtext: true, fontFile: FONT });
    t.ok(args.includes('anullsrc=channel_layout=stereo:sample_rate=48000'), 'silence');
    t.equal(args[args.indexOf('-g') + 1], '30', 'GOP = 1 s');
    const vf = args[args.indexOf('-vf') + 1];
    t.match(vf, /^drawtext=fontfile=\\'\/usr\/share\/fonts/, 'font file, graph-escaped quotes');
    t.match(vf, /Ch 1: Bob\\'\\\\\\'\\'s 100\\\\%/, 'name escaped at three levels');
    t.match(vf, /,drawtext=.*text=\\'%\{localtime:%T\}\\'$/, 'a running clock');
    t.same(args.slice(args.indexOf('-metadata'), args.indexOf('-metadata') + 2), [
      '-metadata',
      "service_name=Ch 1: Bob's 100%",
    ]);
    const noFont = ffmpegArgs(spec, { drawtext: true });
    t.notOk(noFont.includes('-vf'), 'no font: no text, no failure');
    const noFilter = ffmpegArgs(spec, { drawtext: false, fontFile: FONT });
    t.notOk(noFilter.includes('-vf'), 'no drawtext: no text');
  },
);

t.test('escaping helpers', async (t) => {
  t.equal(drawtextLiteral('50% \\o/'), '50\\% \\\\o/');
  t.equal(quoteOption("it's"), "'it'\\''s'");
  t.equal(escapeGraph("drawtext=text='a,b;[c]'"), "drawtext=text=\\'a\\,b\\;\\[c\\]\\'");
});
