// Integration tests of the HTTP surface (src/headend/http.ts) on 127.0.0.1, port 0, with fake
// channel data: every route, status codes, HEAD, 405/404, and the hardening (oversize head →
// 431, garbage → 400, oversize body → 413; the server keeps answering afterwards).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { connect } from 'node:net';
import { startHttpServer, type HttpServer } from '../../src/headend/http.js';
import { createLogger } from '../../src/headend/log.js';
import type { ChannelStatus } from '../../src/headend/channel/types.js';
import type { ChannelSpec } from '../../src/headend/config/types.js';
import { channelSpec } from '../helpers/channel-spec.js';
import type { ReloadResult } from '../../src/headend/services.js';

const spec = (number: number, name: string, slug: string, group: string): ChannelSpec =>
  channelSpec(number, name, slug, group, { provider: 'Acme "TV"' });

function status(s: ChannelSpec, state: ChannelStatus['state']): ChannelStatus {
  return {
    number: s.number,
    name: s.name,
    slug: s.slug,
    state,
    sourceIndex: 0,
    source: 'test',
    output: `udp://@${s.output.group}:5000`,
    bitrate: 1_000_000,
    restarts: 0,
    failovers: 0,
    datagramsSent: 5,
    datagramsDropped: 0,
    remux: {},
  };
}

const lines: Record<string, unknown>[] = [];
const log = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
const channels = [
  { spec: spec(102, 'Sport', 'sport', '239.1.1.2'), status: null as unknown as ChannelStatus },
  { spec: spec(101, 'News', 'news', '239.1.1.1'), status: null as unknown as ChannelStatus },
];
channels[0]!.status = status(channels[0]!.spec, 'running');
channels[1]!.status = status(channels[1]!.spec, 'starting');
let rtsp: { host: string; port: number } | null = { host: '0.0.0.0', port: 8554 };
let reloadResult: ReloadResult = {
  ok: true,
  errors: [],
  added: ['x'],
  removed: [],
  restarted: [],
  updated: [],
  unchanged: ['news'],
};

let server: HttpServer;
let base: string;

t.before(async () => {
  server = await startHttpServer({
    listen: { host: '127.0.0.1', port: 0 },
    log,
    headend: () => ({ name: 'test-headend', version: '9.9.9', startedAtMs: Date.now() - 5000 }),
    channels: () => channels,
    rtsp: () => rtsp,
    reload: async () => reloadResult,
  });
  base = `http://127.0.0.1:${server.address.port}`;
});
t.teardown(() => server.stop());

t.test('logs http-listening with the bound address', async (t) => {
  const e = lines.find((l) => l.event === 'http-listening');
  t.ok(e);
  t.equal(e?.host, '127.0.0.1');
  t.equal(e?.port, server.address.port);
  t.ok(server.address.port > 0);
  t.equal(server.name, 'http');
});

t.test('GET /playlist.m3u', async (t) => {
  const r = await fetch(`${base}/playlist.m3u`);
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^audio\/x-mpegurl/);
  const body = await r.text();
  const port = new URL(base).port;
  t.equal(
    body,
    `#EXTM3U x-tvg-url="http://127.0.0.1:${port}/epg.xml"\n` +
      `#EXTINF:-1 tvg-chno="101" tvg-name="News" tvg-id="news" group-title="Acme 'TV'",News\n` +
      'udp://@239.1.1.1:5000\n' +
      `#EXTINF:-1 tvg-chno="102" tvg-name="Sport" tvg-id="sport" group-title="Acme 'TV'",Sport\n` +
      'udp://@239.1.1.2:5000\n',
  );
});

t.test('GET /playlist.m3u?rtsp=1: wildcard RTSP host → the Host the client used', async (t) => {
  const r = await fetch(`${base}/playlist.m3u?rtsp=1`);
  t.equal(r.status, 200);
  const urls = (await r.text()).split('\n').filter((l) => l.startsWith('rtsp://'));
  t.same(urls, ['rtsp://127.0.0.1:8554/news', 'rtsp://127.0.0.1:8554/sport']);
  rtsp = { host: '192.0.2.5', port: 554 };
  const r2 = await (await fetch(`${base}/playlist.m3u?rtsp=1`)).text();
  t.match(r2, /\nrtsp:\/\/192\.0\.2\.5:554\/news\n/);
  rtsp = null;
  const r3 = await fetch(`${base}/playlist.m3u?rtsp=1`);
  t.equal(r3.status, 404);
  t.match(await r3.text(), /RTSP is off/);
  rtsp = { host: '0.0.0.0', port: 8554 };
});

t.test('GET /api/channels and /api/channels/<slug|number>', async (t) => {
  const r = await fetch(`${base}/api/channels`);
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^application\/json/);
  const j = (await r.json()) as {
    headend: { name: string; version: string; uptimeSec: number };
    channels: { number: number; slug: string; state: string; output: string }[];
  };
  t.equal(j.headend.name, 'test-headend');
  t.equal(j.headend.version, '9.9.9');
  t.ok(j.headend.uptimeSec >= 5);
  t.same(
    j.channels.map((c) => [c.number, c.slug, c.state]),
    [
      [101, 'news', 'starting'],
      [102, 'sport', 'running'],
    ],
  );
  const one = await fetch(`${base}/api/channels/sport`);
  t.equal(one.status, 200);
  t.match(await one.json(), { number: 102, slug: 'sport', output: 'udp://@239.1.1.2:5000' });
  const byNumber = await fetch(`${base}/api/channels/101`);
  t.match(await byNumber.json(), { slug: 'news' });
  const missing = await fetch(`${base}/api/channels/nope`);
  t.equal(missing.status, 404);
  t.match(await missing.json(), { error: 'not-found', message: /nope/ });
});

t.test('GET /healthz: 200 ok; 503 naming down channels ("starting" is not down)', async (t) => {
  const r = await fetch(`${base}/healthz`);
  t.equal(r.status, 200);
  t.equal(await r.text(), 'ok\n');
  channels[0]!.status = { ...channels[0]!.status, state: 'down' };
  const d = await fetch(`${base}/healthz`);
  t.equal(d.status, 503);
  const body = await d.text();
  t.match(body, /102 Sport \(sport\)/);
  t.notMatch(body, /News/);
  channels[0]!.status = { ...channels[0]!.status, state: 'running' };
});

t.test('GET /metrics placeholder; HEAD has headers and no body', async (t) => {
  const r = await fetch(`${base}/metrics`);
  t.equal(r.status, 200);
  t.match(await r.text(), /^# /);
  const h = await fetch(`${base}/api/channels`, { method: 'HEAD' });
  t.equal(h.status, 200);
  t.ok(Number(h.headers.get('content-length')) > 0);
  t.equal(await h.text(), '');
  const h2 = await fetch(`${base}/playlist.m3u`, { method: 'HEAD' });
  t.equal(h2.status, 200);
  t.match(h2.headers.get('content-type'), /mpegurl/);
});

t.test('POST /api/reload: 200 ok, 422 invalid; GET on it is 405', async (t) => {
  const r = await fetch(`${base}/api/reload`, { method: 'POST' });
  t.equal(r.status, 200);
  t.same(await r.json(), reloadResult);
  reloadResult = { ...reloadResult, ok: false, errors: ['channels.yaml:3:5: bad'] };
  const bad = await fetch(`${base}/api/reload`, { method: 'POST', body: 'ignored' });
  t.equal(bad.status, 422);
  t.match(await bad.json(), { ok: false, errors: ['channels.yaml:3:5: bad'] });
  const g = await fetch(`${base}/api/reload`);
  t.equal(g.status, 405);
  t.equal(g.headers.get('allow'), 'POST');
});

t.test('wrong method → 405 with Allow; unknown path → 404 JSON', async (t) => {
  const r = await fetch(`${base}/playlist.m3u`, { method: 'DELETE' });
  t.equal(r.status, 405);
  t.equal(r.headers.get('allow'), 'GET, HEAD');
  const n = await fetch(`${base}/nothing/here`);
  t.equal(n.status, 404);
  t.match(await n.json(), { error: 'not-found' });
});

/** Sends raw bytes, returns everything the server answers until it closes. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.address.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', (e) => (out ? resolve(out) : reject(e)));
    s.write(bytes);
  });
}

t.test(
  'hardening: oversize head → 431, garbage → 400, big body → 413; still answering',
  async (t) => {
    const big = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    t.match(big, /^HTTP\/1\.1 431 /);
    const garbage = await raw('\x00\x01 THIS IS NOT HTTP\r\n\r\n');
    t.match(garbage, /^HTTP\/1\.1 400 /);
    const body = await raw(
      'POST /api/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\nabc',
    );
    t.match(body, /^HTTP\/1\.1 413 /);
    const badPath = await raw(
      'GET /api/channels/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    t.match(badPath, /^HTTP\/1\.1 400 /);
    const r = await fetch(`${base}/healthz`);
    t.equal(r.status, 200, 'the server still answers');
  },
);

t.test('no reload/metrics injected: 501 and placeholder', async (t) => {
  const s = await startHttpServer({
    listen: { host: '127.0.0.1', port: 0 },
    log,
    headend: () => ({ name: 'h', version: '0', startedAtMs: 0 }),
    channels: () => [],
    rtsp: () => null,
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }),
  });
  t.teardown(() => s.stop());
  const r = await fetch(`http://127.0.0.1:${s.address.port}/api/reload`, { method: 'POST' });
  t.equal(r.status, 501);
  const m = await fetch(`http://127.0.0.1:${s.address.port}/metrics`);
  t.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4');
  t.equal(await m.text(), 'up 1\n');
  const p = await fetch(`http://127.0.0.1:${s.address.port}/playlist.m3u`);
  t.equal(await p.text(), `#EXTM3U x-tvg-url="http://127.0.0.1:${s.address.port}/epg.xml"\n`);
  const g = await fetch(`http://127.0.0.1:${s.address.port}/epg.xml`);
  t.equal(g.headers.get('content-type'), 'application/xml; charset=utf-8');
  t.match(await g.text(), /<tv generator-info-name="headend">\n<\/tv>\n$/, 'no channels, no guide');
});

t.test('listening on a taken port fails with E_NET', async (t) => {
  await t.rejects(
    startHttpServer({
      listen: { host: '127.0.0.1', port: server.address.port },
      log,
      headend: () => ({ name: 'h', version: '0', startedAtMs: 0 }),
      channels: () => [],
      rtsp: () => null,
    }),
    { code: 'E_NET', message: /address already in use/ },
  );
});

t.test(
  'GET /playlist.m3u?format=…: each kind of URL; udp and rtp list the channels sent so',
  async (t) => {
    const urls = async (q: string): Promise<string[]> =>
      (await (await fetch(`${base}/playlist.m3u?${q}`)).text())
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
    const out = channels[0]!.spec.output;
    const was = out.protocol;
    out.protocol = 'rtp'; // 102 Sport sends RTP, 101 News plain UDP
    try {
      t.same(await urls('format=multicast'), ['udp://@239.1.1.1:5000', 'rtp://@239.1.1.2:5000']);
      t.same(await urls('format=udp'), ['udp://@239.1.1.1:5000'], 'udp: the UDP channel only');
      t.same(await urls('format=rtp'), ['rtp://@239.1.1.2:5000'], 'rtp: the RTP channel only');
    } finally {
      out.protocol = was;
    }
    const port = new URL(base).port;
    t.same(await urls('format=rtsp'), [
      'rtsp://127.0.0.1:8554/news',
      'rtsp://127.0.0.1:8554/sport',
    ]);
    t.same(await urls('format=http'), [
      `http://127.0.0.1:${port}/stream/news`,
      `http://127.0.0.1:${port}/stream/sport`,
    ]);
    t.same(await urls('format=hls'), [], 'hls: only channels with hls (none here)');
    const bad = await fetch(`${base}/playlist.m3u?format=dash`);
    t.equal(bad.status, 400);
    t.match(await bad.text(), /unknown format "dash"/);
  },
);
