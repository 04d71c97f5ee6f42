// Unit tests of the extended M3U playlist (src/headend/http/m3u.ts) and the channel JSON view,
// on hand-built channel lists.
import t from 'tap';
import {
  multicastUrl,
  playlistM3u,
  rtspUrl,
  type PlaylistChannel,
} from '../../src/headend/http/m3u.js';
import { channelsJson, findChannel } from '../../src/headend/http/channel-json.js';
import type { ChannelStatus } from '../../src/headend/channel/types.js';

function ch(
  number: number,
  name: string,
  slug: string,
  provider: string,
  out: Partial<PlaylistChannel['output']> = {},
): PlaylistChannel {
  return {
    number,
    name,
    slug,
    provider,
    output: {
      protocol: 'udp',
      group: '239.1.1.1',
      port: 5000,
      ttl: 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
      ...out,
    },
  };
}

const list = [
  ch(205, 'Sports "Live"', 'sports-live', 'Big, Co', {
    protocol: 'rtp',
    group: '239.1.1.5',
    port: 6000,
  }),
  ch(101, 'News', 'news', 'Acme', { group: '239.1.1.1', port: 5000 }),
  ch(150, 'Movies\nHD', 'movies-hd', 'Acme', {
    group: '232.1.1.2',
    port: 5002,
    source: '10.0.0.1',
  }),
];

t.test(
  'multicast playlist: #EXTM3U, number order, tvg attributes, VLC multicast URLs',
  async (t) => {
    const text = playlistM3u(list, null);
    t.equal(
      text,
      [
        '#EXTM3U',
        '#EXTINF:-1 tvg-chno="101" tvg-name="News" tvg-id="news" group-title="Acme",News',
        'udp://@239.1.1.1:5000',
        '#EXTINF:-1 tvg-chno="150" tvg-name="Movies HD" tvg-id="movies-hd" group-title="Acme",Movies HD',
        'udp://10.0.0.1@232.1.1.2:5002',
        `#EXTINF:-1 tvg-chno="205" tvg-name="Sports 'Live'" tvg-id="sports-live" group-title="Big, Co",Sports "Live"`,
        'rtp://@239.1.1.5:6000',
        '',
      ].join('\n'),
    );
    // No line break may come from a name: every #EXTINF is followed by exactly one URL line.
    const lines = text.trimEnd().split('\n');
    t.equal(lines.length, 1 + 2 * list.length);
  },
);

t.test('rtsp=1 playlist: rtsp://host:port/<slug> in the same order', async (t) => {
  const text = playlistM3u(list, { host: '192.0.2.7', port: 8554 });
  const urls = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  t.same(urls, [
    'rtsp://192.0.2.7:8554/news',
    'rtsp://192.0.2.7:8554/movies-hd',
    'rtsp://192.0.2.7:8554/sports-live',
  ]);
  t.equal(rtspUrl({ host: '::1', port: 554 }, 'a'), 'rtsp://[::1]:554/a');
  t.equal(multicastUrl(list[0]!.output), 'rtp://@239.1.1.5:6000');
});

t.test('empty channel list is just the header', async (t) => {
  t.equal(playlistM3u([], null), '#EXTM3U\n');
});

t.test('channel JSON: fields, number order, uptime, lookup by slug or number', async (t) => {
  const status = (number: number, extra: Partial<ChannelStatus> = {}): ChannelStatus => ({
    number,
    name: 'x',
    slug: 'x',
    state: 'running',
    sourceIndex: 0,
    source: 'udp://@239.9.9.9:1234',
    output: 'udp://@239.1.1.1:5000',
    bitrate: 3_000_000,
    restarts: 2,
    failovers: 1,
    datagramsSent: 10,
    datagramsDropped: 0,
    remux: { pcrRestamped: 3 },
    ...extra,
  });
  const channels = [
    { spec: list[0]!, status: status(205, { analyzer: { ccErrors: 4 }, lastError: 'boom' }) },
    { spec: list[1]!, status: status(101) },
  ];
  const j = channelsJson({ name: 'hq', version: '1.2.3', startedAtMs: 1000 }, channels, 62_500);
  t.same(j.headend, { name: 'hq', version: '1.2.3', uptimeSec: 61 });
  t.same(
    j.channels.map((c) => c.number),
    [101, 205],
  );
  t.same(j.channels[1], {
    number: 205,
    name: 'Sports "Live"',
    slug: 'sports-live',
    provider: 'Big, Co',
    output: 'rtp://@239.1.1.5:6000',
    state: 'running',
    sourceIndex: 0,
    source: 'udp://@239.9.9.9:1234',
    bitrate: 3_000_000,
    restarts: 2,
    failovers: 1,
    lastError: 'boom',
    datagramsSent: 10,
    datagramsDropped: 0,
    remux: { pcrRestamped: 3 },
    analyzer: { ccErrors: 4 },
  });
  t.equal(j.channels[0]!.lastError, null);
  t.notOk('analyzer' in j.channels[0]!, 'no analyzer key when the channel has none');
  t.equal(findChannel(channels, 'news')?.spec.number, 101);
  t.equal(findChannel(channels, '205')?.spec.slug, 'sports-live');
  t.equal(findChannel(channels, '999'), undefined);
  t.equal(findChannel(channels, 'nope'), undefined);
});

t.test('radio="true" on every radio service_type of EN 300 468 Table 87, not on TV', async (t) => {
  const typed = [0x01, 0x02, 0x07, 0x0a, 0x19].map((serviceType, i) => ({
    ...ch(300 + i, `S${serviceType}`, `s${serviceType}`, 'Acme'),
    serviceType,
  }));
  const extinf = playlistM3u(typed, null)
    .split('\n')
    .filter((l) => l.startsWith('#EXTINF'));
  t.same(
    extinf.map((l) => l.includes(' radio="true"')),
    [false, true, true, true, false],
    'digital radio 0x02, FM radio 0x07 and advanced codec radio 0x0A are radio',
  );
});
