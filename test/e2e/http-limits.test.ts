// The HTTP surface's limits and edges on the real daemon (issue 13), the parts the other e2e
// files leave out:
// - client limits (http.max_clients 4, max_clients_per_channel 3, max_clients_per_address 2):
//   one stream more than each limit allows, from 127.0.0.1/.2/.3 (loopback addresses of the
//   private namespace) so that only that limit is reached, is refused with 503 and Retry-After,
//   logged (http-stream-refused naming the limit) and counted
//   (headend_http_stream_refused_total); headend_http_stream_clients follows the open streams;
// - a client that disconnects frees everything: with every stream closed the clients gauge reads
//   0 for each channel (a series per channel, 0 while nobody reads it) and the same address
//   gets its 2 streams again (and a third is refused);
// - udpxy's /rtp/<group>:<port> of a channel whose output is rtp://: 200, video/mp2t, plain TS
//   (no RTP header), ffprobe reads video and audio; /udp/ and /rtp/ of a group the headend does
//   not send, with http.relay off: 404, nothing joined;
// - HLS (hls: true): HEAD on index.m3u8 and on a segment, read off the socket: 200, the GET's
//   Content-Type and Content-Length, no body; Cache-Control max-age=1 (playlist) and
//   max-age=60, immutable (segment); a segment number outside the window: 404;
// - HDHomeRun emulation off (no headend.hdhomerun): /discover.json, /lineup.json,
//   /lineup_status.json and /device.xml are 404, neither an SSDP M-SEARCH nor SiliconDust's UDP
//   discovery is answered within 2 s; then a second daemon with it on (same moved discovery
//   ports: both probes answered there, so the silence above means something) and the guide
//   (epg: [test]): every /lineup.json entry's GuideName is the first display-name of the
//   /epg.xml <channel> that lists its GuideNumber, for names that need XML escaping.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket } from 'node:dgram';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { SaxesParser } from 'saxes';
import { encodeDiscoverRequest } from '../../src/headend/tuners/hdhomerun/packet.js';
import { parsePromText } from '../helpers/prom-text.js';
import { marker, probeKinds, sleep, startDaemon, stopAndCheck } from './helpers.js';

const HTTP_A = 18941;
const HTTP_B = 18942;
/** Discovery ports moved for both daemons (HEADEND_HDHOMERUN_PORTS), run one after the other. */
const PORTS = { discover: 65094, ssdp: 19094 };
const HDHR_ENV = { HEADEND_HDHOMERUN_PORTS: `${PORTS.discover},${PORTS.ssdp}` };
const TEXTS_A = [1, 2].map((k) => marker(`hlim${k}`));
const TEXTS_B = [1, 2, 3].map((k) => marker(`hguide${k}`));
const RTP_OUT = { group: '239.255.94.2', port: 6942 };

const pattern = (text: string): string =>
  `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 300k, ` +
  `text: ${text} }\n`;

const CONFIG_A =
  `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
  `  http: { listen: 127.0.0.1:${HTTP_A}, max_clients: 4, max_clients_per_channel: 3, ` +
  `max_clients_per_address: 2 }\n` +
  `channels:\n` +
  `  - number: 1\n    name: Limit A\n    slug: lim-a\n    output: udp://239.255.94.1:6941\n` +
  `    hls: true\n${pattern(TEXTS_A[0]!)}` +
  `  - number: 2\n    name: Limit B\n    slug: lim-b\n` +
  `    output: rtp://${RTP_OUT.group}:${RTP_OUT.port}\n${pattern(TEXTS_A[1]!)}`;

/** Daemon B's channels: names with characters XML must escape, numbers out of order. */
const GUIDE = [
  { number: 105, name: 'News & Sport', group: '239.255.94.13', port: 6953 },
  { number: 11, name: 'Kids <1>', group: '239.255.94.11', port: 6951 },
  { number: 12, name: 'Café "Zürich"', group: '239.255.94.12', port: 6952 },
];
const CONFIG_B =
  `headend:\n  name: Guide Check\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
  `  epg: [test]\n  http: { listen: 127.0.0.1:${HTTP_B} }\n  hdhomerun: { tuners: 2 }\n` +
  `channels:\n` +
  GUIDE.map(
    (c, i) =>
      `  - number: ${c.number}\n    name: ${JSON.stringify(c.name)}\n` +
      `    output: udp://${c.group}:${c.port}\n${pattern(TEXTS_B[i]!)}`,
  ).join('');

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One whole request (its own connection) from `from`. */
function get(port: number, path: string, o: { from?: string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, localAddress: o.from ?? '127.0.0.1', agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface Open {
  status: number;
  headers: IncomingHttpHeaders;
  /** The first bytes received so far (up to 64 kB). */
  head(): Buffer;
  bytes(): number;
  /** Resolves when the response has ended or was closed (by either side). */
  ended: Promise<void>;
  /** Closes the connection (the client goes away) and waits for it. */
  close(): Promise<void>;
}

/** A stream left open from `from` until close(): resolves once its status line arrived. */
function open(path: string, from: string): Promise<Open> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: HTTP_A, path, localAddress: from, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          if (bytes < 65536) parts.push(c);
          bytes += c.length;
        });
        const ended = new Promise<void>((r) => res.on('close', () => r()));
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          head: () => Buffer.concat(parts),
          bytes: () => bytes,
          ended,
          close: async () => {
            res.destroy();
            await ended;
          },
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A HEAD request on a raw socket: the status, headers and every byte after the head. */
function rawHead(port: number, path: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () =>
      s.write(`HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`HEAD ${path}: no complete head`));
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]),
        headers,
        body: all.subarray(end + 4),
      });
    });
  });
}

/** Sends `msg` to port (on `group`, or 127.0.0.1) and collects every answer for `ms`. */
function udpAnswers(
  port: number,
  group: string | null,
  msg: Buffer,
  ms: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const got: string[] = [];
    s.on('message', (m) => got.push(m.toString('latin1')));
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      if (group) s.setMulticastInterface('127.0.0.1');
      s.send(msg, port, group ?? '127.0.0.1');
      setTimeout(() => s.close(() => resolve(got)), ms);
    });
  });
}

const M_SEARCH = Buffer.from(
  'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n' +
    'ST: ssdp:all\r\n\r\n',
);
/** A SiliconDust discovery request for any tuner (tuners/hdhomerun/packet.ts's frame). */
const DISCOVER = Buffer.from(encodeDiscoverRequest());

/** headend_http_stream_clients by channel and headend_http_stream_refused_total, now. */
async function streamMetrics(): Promise<{ clients: Record<string, number>; refused: number }> {
  const text = (await get(HTTP_A, '/metrics')).body.toString();
  const fams = parsePromText(text);
  const clients: Record<string, number> = {};
  for (const s of fams.get('headend_http_stream_clients')?.samples ?? [])
    clients[s.labels.channel!] = s.value;
  const refused = fams.get('headend_http_stream_refused_total')?.samples[0]?.value ?? NaN;
  return { clients, refused };
}
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

t.test('limits, udpxy /rtp/, HLS HEAD, HDHomeRun off', async (t) => {
  const d = startDaemon(t, { text: CONFIG_A }, HDHR_ENV);
  await d.waitFor((e) => e.event === 'ready', 20_000);
  for (const k of [1, 2])
    await d.waitFor(
      (e) => e.event === 'source-up' && e.channel === `${k} Limit ${k === 1 ? 'A' : 'B'}`,
      20_000,
    );
  const refusedLog = (): string[] =>
    d.events.filter((e) => e.event === 'http-stream-refused').map((e) => String(e.limit));

  await t.test('each client limit refuses the one stream too many, and counts it', async (t) => {
    const m0 = await streamMetrics();
    t.equal(m0.refused, 0, 'refused counter starts at 0');
    t.same(m0.clients, { 'lim-a': 0, 'lim-b': 0 }, 'no clients yet: 0 on each channel');
    const open1 = [await open('/stream/1', '127.0.0.1'), await open('/stream/lim-a', '127.0.0.1')];
    t.same(
      open1.map((s) => s.status),
      [200, 200],
      '127.0.0.1: 2 streams of channel 1 (its per-address limit)',
    );
    // Per address: 2 clients in all, channel 2 has none; only 127.0.0.1's 2 are at a limit.
    const perAddr = await open('/stream/2', '127.0.0.1');
    await perAddr.ended;
    t.equal(perAddr.status, 503, 'a third from 127.0.0.1 (another channel): 503');
    t.equal(perAddr.headers['retry-after'], '10', 'with Retry-After');
    t.equal(
      perAddr.head().toString(),
      'too many streams: the limit is 2 clients from 127.0.0.1\n',
      'naming the per-address limit',
    );
    t.equal((await streamMetrics()).refused, 1, 'refused_total 1');

    // Per channel: 127.0.0.2 takes channel 1's third slot; its second on channel 1 is refused
    // (3 clients in all, 127.0.0.2 has 1: only the channel is full).
    const ch1third = await open('/stream/1', '127.0.0.2');
    t.equal(ch1third.status, 200, "127.0.0.2: channel 1's third client");
    const perCh = await open('/stream/1', '127.0.0.2');
    await perCh.ended;
    t.equal(perCh.status, 503, 'a fourth on channel 1: 503');
    t.equal(
      perCh.head().toString(),
      'too many streams: the limit is 3 clients of channel lim-a\n',
      'naming the per-channel limit',
    );
    t.equal((await streamMetrics()).refused, 2, 'refused_total 2');

    // In all: 127.0.0.2 opens channel 2 (4 in all); 127.0.0.3, with none, on channel 2 (1 of
    // 3) is refused by the total alone.
    const ch2 = await open('/stream/2', '127.0.0.2');
    t.equal(ch2.status, 200, '127.0.0.2: channel 2, the fourth client in all');
    const total = await open('/stream/2', '127.0.0.3');
    await total.ended;
    t.equal(total.status, 503, 'a fifth in all (127.0.0.3, channel 2): 503');
    t.equal(
      total.head().toString(),
      'too many streams: the limit is 4 clients in all\n',
      'naming the total limit',
    );
    const m1 = await streamMetrics();
    t.equal(m1.refused, 3, 'refused_total 3: every refusal counted');
    t.same(m1.clients, { 'lim-a': 3, 'lim-b': 1 }, 'clients gauge: 3 on channel 1, 1 on channel 2');
    t.same(
      refusedLog(),
      ['2 clients from 127.0.0.1', '3 clients of channel lim-a', '4 clients in all'],
      'each refusal logged with its limit',
    );
    // The open streams are real: each has sent TS.
    await sleep(1500);
    const open4 = [...open1, ch1third, ch2];
    t.ok(
      open4.every((s) => s.bytes() > 188 * 7 && s.head()[0] === 0x47 && s.head()[188] === 0x47),
      `the 4 admitted clients receive TS (${open4.map((s) => s.bytes()).join(', ')} bytes)`,
    );

    // A client that disconnects frees everything.
    await Promise.all(open4.map((s) => s.close()));
    let m2 = await streamMetrics();
    for (let i = 0; i < 50 && sum(m2.clients) > 0; i++) {
      await sleep(100);
      m2 = await streamMetrics();
    }
    t.same(m2.clients, { 'lim-a': 0, 'lim-b': 0 }, 'clients gauge back to 0 on each channel');
    const ends = d.events.filter((e) => e.event === 'http-stream-end').length;
    t.equal(ends, 4, '4 http-stream-end logged');
    const again = [await open('/stream/1', '127.0.0.1'), await open('/stream/2', '127.0.0.1')];
    t.same(
      again.map((s) => s.status),
      [200, 200],
      '127.0.0.1 gets its 2 streams again',
    );
    const over = await open('/stream/2', '127.0.0.3');
    t.equal(over.status, 200, 'and 127.0.0.3 one (3 in all)');
    const third = await open('/stream/1', '127.0.0.1');
    await third.ended;
    t.equal(third.status, 503, 'a third from 127.0.0.1: 503 again (the limit still holds)');
    const m3 = await streamMetrics();
    t.same(m3.clients, { 'lim-a': 1, 'lim-b': 2 }, 'gauge: 1 and 2');
    t.equal(m3.refused, 4, 'refused_total 4');
    await Promise.all([...again, over].map((s) => s.close()));
    let m4 = await streamMetrics();
    for (let i = 0; i < 50 && sum(m4.clients) > 0; i++) {
      await sleep(100);
      m4 = await streamMetrics();
    }
    t.same(m4.clients, { 'lim-a': 0, 'lim-b': 0 }, 'gauge 0 again once they close');
  });

  await t.test("udpxy's /rtp/ of the RTP output; /udp/ of a group not sent", async (t) => {
    const path = `/rtp/${RTP_OUT.group}:${RTP_OUT.port}`;
    const s = await open(path, '127.0.0.1');
    t.equal(s.status, 200, `${path}: 200`);
    t.equal(s.headers['content-type'], 'video/mp2t', 'video/mp2t');
    await sleep(1000);
    await s.close();
    const b = s.head();
    t.ok(
      b.length >= 376 && b[0] === 0x47 && b[188] === 0x47,
      `plain TS from the first byte, no RTP header (${b.length} bytes, first 0x${b[0]?.toString(16)})`,
    );
    const kinds = await probeKinds(`http://127.0.0.1:${HTTP_A}${path}`);
    t.match(kinds, /video/, 'ffprobe reads video from it');
    t.match(kinds, /audio/, 'and audio');
    const before = (await streamMetrics()).refused;
    for (const p of [
      '/udp/239.255.94.9:6949',
      '/rtp/239.255.94.9:6949',
      '/udp/239.255.94.2:6999',
    ]) {
      const r = await get(HTTP_A, p);
      t.equal(r.status, 404, `${p} (not sent here, relay off): 404`);
      t.match(JSON.parse(r.body.toString()), { error: 'not-found' }, 'a JSON not-found');
    }
    t.equal((await streamMetrics()).refused, before, 'not counted as refused by a limit');
    t.notOk(
      d.events.some((e) => e.event === 'http-relay-join'),
      'no group joined',
    );
  });

  await t.test(
    'HLS: HEAD on the playlist and a segment, cache headers, unknown segment',
    async (t) => {
      const base = '/hls/lim-a';
      let list: Got = { status: 0, headers: {}, body: Buffer.alloc(0) };
      for (let i = 0; i < 40; i++) {
        list = await get(HTTP_A, `${base}/index.m3u8`);
        if (list.status === 200 && /^\d+\.ts$/m.test(list.body.toString())) break;
        await sleep(500);
      }
      t.equal(list.status, 200, 'the playlist: 200 with a segment');
      t.equal(
        list.headers['content-type'],
        'application/vnd.apple.mpegurl',
        'playlist: Content-Type application/vnd.apple.mpegurl',
      );
      t.equal(list.headers['cache-control'], 'max-age=1', 'playlist: Cache-Control max-age=1');
      // The playlist changes every 2 s: HEAD between two equal GETs.
      let head: Got | undefined;
      let same = -1;
      for (let i = 0; i < 5 && head === undefined; i++) {
        const a = await get(HTTP_A, `${base}/index.m3u8`);
        const h = await rawHead(HTTP_A, `${base}/index.m3u8`);
        const b = await get(HTTP_A, `${base}/index.m3u8`);
        if (a.body.equals(b.body)) {
          head = h;
          same = a.body.length;
        }
      }
      t.ok(head, 'a HEAD between two equal GETs of the playlist');
      t.equal(head?.status, 200, 'HEAD index.m3u8: 200');
      t.equal(head?.headers['content-type'], 'application/vnd.apple.mpegurl', 'its Content-Type');
      t.equal(
        head?.headers['content-length'],
        String(same),
        `Content-Length ${same}, as the GET's`,
      );
      t.equal(head?.headers['cache-control'], 'max-age=1', 'Cache-Control max-age=1');
      t.equal(head?.body.length, 0, 'no body');

      const seqs = [...list.body.toString().matchAll(/^(\d+)\.ts$/gm)].map((m) => Number(m[1]));
      const last = seqs[seqs.length - 1]!;
      const seg = await get(HTTP_A, `${base}/${last}.ts`);
      t.equal(seg.status, 200, `GET segment ${last}: 200`);
      t.ok(
        seg.body.length > 188 && seg.body.length % 188 === 0 && seg.body[0] === 0x47,
        `a TS segment (${seg.body.length} bytes)`,
      );
      const sh = await rawHead(HTTP_A, `${base}/${last}.ts`);
      t.equal(sh.status, 200, 'HEAD segment: 200');
      t.equal(sh.headers['content-type'], 'video/mp2t', 'Content-Type video/mp2t');
      t.equal(sh.headers['content-length'], String(seg.body.length), 'Content-Length as the GET');
      t.equal(sh.headers['cache-control'], 'max-age=60, immutable', 'Cache-Control immutable');
      t.equal(seg.headers['cache-control'], 'max-age=60, immutable', '(the GET too)');
      t.equal(sh.body.length, 0, 'no body');

      const unknown = last + 100_000;
      t.equal((await get(HTTP_A, `${base}/${unknown}.ts`)).status, 404, 'an unknown segment: 404');
      t.equal((await rawHead(HTTP_A, `${base}/${unknown}.ts`)).status, 404, 'HEAD too');
      t.equal(
        (await get(HTTP_A, '/hls/lim-b/index.m3u8')).status,
        404,
        'a channel without hls: 404',
      );
    },
  );

  await t.test('HDHomeRun emulation off: no paths, no discovery answers', async (t) => {
    for (const p of ['/discover.json', '/lineup.json', '/lineup_status.json', '/device.xml'])
      t.equal((await get(HTTP_A, p)).status, 404, `${p}: 404`);
    const ssdp = await udpAnswers(PORTS.ssdp, '239.255.255.250', M_SEARCH, 2000);
    t.same(ssdp, [], 'an SSDP M-SEARCH: no answer within 2 s');
    const udp = await udpAnswers(PORTS.discover, null, DISCOVER, 2000);
    t.same(udp, [], 'a SiliconDust discovery request: no answer within 2 s');
    t.notOk(
      d.events.some((e) => e.event === 'hdhomerun-listening'),
      'no discovery started',
    );
  });

  await stopAndCheck(t, d, TEXTS_A);
});

t.test("HDHomeRun on: the lineup's guide names are the guide's", async (t) => {
  const d = startDaemon(t, { text: CONFIG_B }, HDHR_ENV);
  await d.waitFor((e) => e.event === 'hdhomerun-listening', 20_000);
  await d.waitFor((e) => e.event === 'epg-loaded', 20_000);
  const base = `http://127.0.0.1:${HTTP_B}`;

  // The discovery probes of the off-case, answered here.
  const ssdp = await udpAnswers(PORTS.ssdp, '239.255.255.250', M_SEARCH, 2000);
  t.ok(
    ssdp.some((a) => a.startsWith('HTTP/1.1 200 OK\r\n') && a.includes(`${base}/device.xml`)),
    'with hdhomerun on, the same M-SEARCH is answered',
  );
  const udp = await udpAnswers(PORTS.discover, null, DISCOVER, 2000);
  t.equal(udp.length, 1, 'and the same UDP discovery request');

  const lr = await get(HTTP_B, '/lineup.json');
  t.equal(lr.status, 200, '/lineup.json: 200');
  const lineup = JSON.parse(lr.body.toString()) as {
    GuideNumber: string;
    GuideName: string;
    URL: string;
  }[];
  t.same(
    lineup.map((l) => l.GuideNumber),
    ['11', '12', '105'],
    'the lineup: every channel, by number',
  );
  const er = await get(HTTP_B, '/epg.xml');
  t.equal(er.status, 200, '/epg.xml: 200');
  // The guide's channels: id → display-names, in order; and programmes per channel id.
  const channels = new Map<string, string[]>();
  const programmes = new Map<string, number>();
  let current: string | null = null;
  let inName = false;
  let nameText = '';
  const p = new SaxesParser();
  p.on('opentag', (n) => {
    if (n.name === 'channel') {
      current = String(n.attributes.id);
      channels.set(current, []);
    } else if (n.name === 'display-name' && current !== null) {
      inName = true;
      nameText = '';
    } else if (n.name === 'programme') {
      const id = String(n.attributes.channel);
      programmes.set(id, (programmes.get(id) ?? 0) + 1);
    }
  });
  p.on('text', (x) => {
    if (inName) nameText += x;
  });
  p.on('closetag', (n) => {
    if (n.name === 'display-name' && inName) {
      channels.get(current!)!.push(nameText);
      inName = false;
    } else if (n.name === 'channel') current = null;
  });
  p.write(er.body.toString()).close();
  t.equal(channels.size, lineup.length, `the guide has ${channels.size} channels, as the lineup`);
  for (const l of lineup) {
    const hit = [...channels].filter(([, names]) => names.includes(l.GuideNumber));
    t.equal(hit.length, 1, `GuideNumber ${l.GuideNumber}: one guide channel lists it`);
    const [id, names] = hit[0] ?? ['', []];
    t.equal(names[0], l.GuideName, `${l.GuideNumber}: GuideName "${l.GuideName}" = display-name`);
    t.equal(
      l.GuideName,
      GUIDE.find((c) => String(c.number) === l.GuideNumber)?.name,
      `${l.GuideNumber}: the configured name`,
    );
    t.equal(l.URL, `${base}/stream/${l.GuideNumber}`, `${l.GuideNumber}: URL /stream/<number>`);
    t.ok((programmes.get(id) ?? 0) > 0, `${l.GuideNumber}: the guide has its programmes (${id})`);
  }
  await stopAndCheck(t, d, TEXTS_B);
});
