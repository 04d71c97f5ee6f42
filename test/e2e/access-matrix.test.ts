// The access rules (headend.access, issue 13) on every unicast surface of the real daemon, as
// users try them: one daemon, two channels (1 Lobby, 2 Staff), HLS with AES-128, the HDHomeRun
// emulation, RTSP and HTTP on. The rules: 127.0.0.1 may play everything and write; the rest of
// 127.0.0.0/8 (127.0.0.2 and others: second loopback addresses in the private namespace, used
// as source addresses) is a subnet granted nothing; the tokens file (mode 0600) holds a
// front-desk token granted the package `lobby` (channel 1) and an operator's token granted only
// `write`. For each surface:
//   HTTP-TS /stream/<n> and udpxy's /udp/<group>:<port>, HLS (playlist, segment, key),
//   RTSP DESCRIBE and SETUP (raw requests over TCP: RTP/AVP/TCP interleaved and UDP
//   client_port), the M3U playlist (http, hls, rtsp URLs), /epg.xml, the HDHomeRun
//   /lineup.json, POST /api/reload and POST /api/alert (the `write` grant)
// the allowed subnet gets 200 (lists: everything); the denied subnet without a token gets 401
// with WWW-Authenticate: Bearer (lists: nothing); a bad token 403; the good token its package
// (200, lists hold only channel 1, with the token carried into their URLs, which then play), and
// 403 for the channel outside its package. Then: ten bad tokens from one address make the next
// request a 429 (RTSP: 403) while other addresses are untouched. Every denial is counted in
// /metrics (headend_http_denied_total by surface and reason: the exact tally of this test), logged
// once per client a minute (access-denied, the client by address or token holder, with its first
// refusal), and no token string ever appears in the daemon's log (run at debug level, where every
// request line is logged, ?token= left out). No headend.alert.token here: POST /api/alert is
// then the access rules' alone (a `write` grant: 200; else 401/403).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createDecipheriv } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  httpGet,
  marker,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  type HttpGot,
} from './helpers.js';

const HTTP = 18931;
const RTSP = 18932;
const RTP = 18934;
const HDHR_PORTS = '65093,19093'; // discovery and SSDP off the standard ports (other tests)
const OUT = [1, 2].map((k) => ({ group: `239.255.93.${k}`, port: 6930 + k }));
const TEXTS = [1, 2].map((k) => marker(`am${k}`));
const GOOD = 'frontdesk-93-token-4f1c2a7e'; // grants lobby (channel 1)
const OPS = 'operator-93-token-b83d05e1'; // grants write only
const BAD = 'forged-93-token-0d9e6b2c77';
const ALLOWED = '127.0.0.1';
const DENIED = '127.0.0.2';
const GUESSER = '127.0.0.3'; // the bad tokens (its own failure budget: ten a minute)
const FLOOD = '127.0.0.4'; // ten bad tokens, then a 429
const BASE = `http://127.0.0.1:${HTTP}`;

function config(tokens: string): string {
  const ch = (k: number, name: string): string =>
    `  - number: ${k}\n    name: ${name}\n    output: udp://${OUT[k - 1]!.group}:${OUT[k - 1]!.port}\n` +
    `    hls: { segment: 2s, encrypt: true }\n` +
    `    source:\n      test: { pattern: smpte, resolution: 256x144, rate: 25, bitrate: 200k, ` +
    `text: ${TEXTS[k - 1]} }\n`;
  return (
    `headend:\n  name: Access Matrix\n  interface: 127.0.0.1\n  ttl: 1\n` +
    `  rtsp: { listen: 127.0.0.1:${RTSP}, rtp_port: ${RTP} }\n` +
    `  http: { listen: 127.0.0.1:${HTTP} }\n  hdhomerun: { tuners: 2 }\n` +
    `  access:\n    packages: { lobby: [1], staff: [2] }\n` +
    `    subnets: { 127.0.0.1/32: [all, write], 127.0.0.0/8: [] }\n` +
    `    tokens_file: ${tokens}\n` +
    `channels:\n${ch(1, 'Lobby')}${ch(2, 'Staff')}`
  );
}

/** One HTTP request to the daemon (helpers.ts httpGet). */
const get = (path: string, o: Parameters<typeof httpGet>[2] = {}): Promise<HttpGot> =>
  httpGet(HTTP, path, o);

interface RtspReply {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** An RTSP connection from `from`: requests one at a time, replies parsed (head and body). */
class Rtsp {
  private buf = '';
  private waiting: ((r: RtspReply) => void) | null = null;
  private cseq = 0;
  private constructor(private readonly s: Socket) {
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      this.buf += c;
      this.parse();
    });
  }

  static open(from: string): Promise<Rtsp> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: RTSP, localAddress: from }, () =>
        resolve(new Rtsp(s)),
      );
      s.on('error', reject);
    });
  }

  request(method: string, url: string, headers: Record<string, string> = {}): Promise<RtspReply> {
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no RTSP reply to ${method}`)), 5000);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.s.write(lines.join('\r\n') + '\r\n\r\n');
    });
  }

  close(): void {
    this.s.destroy();
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const [first, ...rest] = this.buf.slice(0, end).split('\r\n');
    const headers = new Map<string, string>();
    for (const l of rest) {
      const i = l.indexOf(':');
      headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.slice(end + 4, end + 4 + length);
    this.buf = this.buf.slice(end + 4 + length);
    const w = this.waiting;
    this.waiting = null;
    w({ status: Number(/^RTSP\/1\.0 (\d{3})/.exec(first ?? '')?.[1] ?? 0), headers, body });
  }
}

/** One RTSP request on its own connection from `from`. */
async function rtsp(
  method: string,
  path: string,
  from: string,
  o: { token?: string; transport?: string } = {},
): Promise<RtspReply> {
  const c = await Rtsp.open(from);
  try {
    const h: Record<string, string> = {};
    if (o.token) h.Authorization = `Bearer ${o.token}`;
    if (method === 'DESCRIBE') h.Accept = 'application/sdp';
    if (o.transport) h.Transport = o.transport;
    const r = await c.request(method, `rtsp://127.0.0.1:${RTSP}${path}`, h);
    // A session made: torn down on the same connection, as a player ends.
    const session = r.headers.get('session')?.split(';')[0];
    if (session) {
      const down = await c.request('TEARDOWN', `rtsp://127.0.0.1:${RTSP}${path}`, {
        Session: session,
      });
      if (down.status !== 200) throw new Error(`TEARDOWN: ${down.status}`);
    }
    return r;
  } finally {
    c.close();
  }
}

const TCP = 'RTP/AVP/TCP;unicast;interleaved=0-1';
const UDP = 'RTP/AVP;unicast;client_port=18936-18937';

/** The media segment URIs and the key URI of an HLS playlist. */
function hlsUris(text: string): { segments: string[]; key: string | undefined } {
  return {
    segments: text.split('\n').filter((l) => /^\d+\.ts/.test(l)),
    key: /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(text)?.[1],
  };
}

/** An encrypted segment decrypted (AES-128-CBC, the IV its media sequence number). */
function decrypt(enc: Buffer, key: Buffer, seq: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  const d = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([d.update(enc), d.final()]);
}

/** The M3U entries: [#EXTINF line, URL]. */
function entries(m3u: string): [string, string][] {
  const lines = m3u.split('\n');
  const out: [string, string][] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('#EXTINF')) out.push([l, lines[i + 1] ?? '']);
  });
  return out;
}

t.test('access rules on every unicast surface of the real daemon', async (t) => {
  const dir = tempDir(t);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `# who token grants\nfrontdesk ${GOOD} lobby\nops ${OPS} write\n`);
  chmodSync(tokens, 0o600);
  const d = startDaemon(
    t,
    { text: config(tokens) },
    { HEADEND_HDHOMERUN_PORTS: HDHR_PORTS },
    // At debug level every request line is logged too: tokens must not be in those either.
    { args: ['--log-level', 'debug'] },
  );
  await d.waitFor((e) => e.event === 'ready', 20_000);
  for (const k of [1, 2])
    await d.waitFor(
      (e) => e.event === 'source-up' && e.channel === `${k} ${k === 1 ? 'Lobby' : 'Staff'}`,
      20_000,
    );

  // What the daemon must have counted and logged, kept as the requests go.
  const tally = new Map<string, number>();
  const logged = new Map<string, string>();
  /** A request expected to be refused: counted (surface, reason), logged once per client. */
  const refusal = (surface: string, reason: string, who: string): void => {
    const k = `${surface} ${reason}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
    if (!logged.has(who)) logged.set(who, k);
  };
  const holder = (from: string): string => `frontdesk@${from}`;

  // HLS segments first (about 2 s each): each channel's playlist from the allowed subnet.
  const playlists: string[] = [];
  for (const k of [1, 2]) {
    let text = '';
    for (let i = 0; i < 60; i++) {
      const r = await get(`/hls/${k}/index.m3u8`);
      text = r.body.toString();
      if (r.status === 200 && /#EXTINF/.test(text)) break;
      await sleep(500);
    }
    playlists.push(text);
  }

  await t.test('HTTP-TS: /stream/<n> and /udp/<group>:<port>', async (t) => {
    for (const k of [1, 2]) {
      const r = await get(`/stream/${k}`, { readMs: 800 });
      t.equal(r.status, 200, `allowed subnet, channel ${k}: 200`);
      t.ok(r.body.length >= 188 && r.body[0] === 0x47, `and TS (${r.body.length} bytes)`);
    }
    const none = await get('/stream/1', { from: DENIED, readMs: 300 });
    t.equal(none.status, 401, 'denied subnet, no token: 401');
    t.match(none.headers['www-authenticate'], /^Bearer /, 'with WWW-Authenticate: Bearer');
    refusal('stream', 'no-token', DENIED);
    const bad = await get('/stream/1', { from: GUESSER, token: BAD, readMs: 300 });
    t.equal(bad.status, 403, 'bad token: 403');
    t.equal(bad.headers['www-authenticate'], undefined, 'a 403 asks for no token');
    refusal('stream', 'bad-token', GUESSER);
    t.equal(
      (await get('/stream/1', { token: BAD, readMs: 300 })).status,
      403,
      'a bad token from the allowed subnet: 403 too (a mistyped token is noticed)',
    );
    refusal('stream', 'bad-token', ALLOWED);
    const good = await get('/stream/1', { from: DENIED, token: GOOD, readMs: 1000 });
    t.equal(good.status, 200, 'good token (header): 200');
    t.ok(good.body.length >= 188 && good.body[0] === 0x47, `and TS (${good.body.length} bytes)`);
    t.equal(
      (await get(`/stream/lobby?token=${GOOD}`, { from: DENIED, readMs: 300 })).status,
      200,
      'good token (?token=, by slug): 200',
    );
    t.equal(
      (await get(`/stream/2?token=${GOOD}`, { from: DENIED, readMs: 300 })).status,
      403,
      'good token, channel outside its package: 403',
    );
    refusal('stream', 'not-granted', holder(DENIED));
    const [o1, o2] = [OUT[0]!, OUT[1]!];
    t.equal(
      (await get(`/udp/${o2.group}:${o2.port}`, { readMs: 500 })).status,
      200,
      'udpxy path, allowed subnet: 200',
    );
    const unone = await get(`/udp/${o1.group}:${o1.port}`, { from: DENIED, readMs: 300 });
    t.equal(unone.status, 401, 'udpxy path, denied subnet: 401');
    t.match(unone.headers['www-authenticate'], /^Bearer /, 'with WWW-Authenticate: Bearer');
    refusal('stream', 'no-token', DENIED);
    const ugood = await get(`/udp/${o1.group}:${o1.port}?token=${GOOD}`, {
      from: DENIED,
      readMs: 800,
    });
    t.equal(ugood.status, 200, 'udpxy path of channel 1 with the good token: 200');
    t.equal(ugood.body[0], 0x47, 'and TS');
    t.equal(
      (await get(`/udp/${o2.group}:${o2.port}?token=${GOOD}`, { from: DENIED, readMs: 300 }))
        .status,
      403,
      'udpxy path of channel 2 with the good token: 403',
    );
    refusal('stream', 'not-granted', holder(DENIED));
  });

  await t.test('HLS: playlist, segment and AES-128 key', async (t) => {
    const own = hlsUris(playlists[0]!);
    t.ok(
      own.segments.length > 0,
      `allowed subnet: channel 1 has segments (${own.segments.length})`,
    );
    t.equal(own.key, 'key', 'and an AES-128 key URI');
    t.match(playlists[1], /#EXTINF/, 'allowed subnet: channel 2 playlist too');
    const seg = own.segments[own.segments.length - 1]!;
    const seq = Number(/^(\d+)\.ts/.exec(seg)![1]);
    const segR = await get(`/hls/1/${seg}`);
    t.equal(segR.status, 200, `allowed subnet: segment ${seg} 200`);
    t.ok(
      segR.body.length > 0 && segR.body.length % 16 === 0,
      `AES-128-CBC blocks (${segR.body.length} bytes)`,
    );
    const keyR = await get('/hls/1/key');
    t.equal(keyR.status, 200, 'allowed subnet: key 200');
    t.equal(keyR.body.length, 16, 'a 16-byte key');
    t.equal(keyR.headers['cache-control'], 'no-store', 'not cached');
    const clear = decrypt(segR.body, keyR.body, seq);
    t.equal(clear[0], 0x47, 'the segment decrypts with it to TS');
    t.equal((await get('/hls/2/key')).body.length, 16, 'allowed subnet: channel 2 key too');

    for (const [what, path] of [
      ['playlist', '/hls/1/index.m3u8'],
      ['segment', `/hls/1/${seg}`],
      ['key', '/hls/1/key'],
    ] as const) {
      const none = await get(path, { from: DENIED });
      t.equal(none.status, 401, `denied subnet, no token, ${what}: 401`);
      t.match(none.headers['www-authenticate'], /^Bearer /, 'with WWW-Authenticate: Bearer');
      t.match(none.body.toString(), /needs a token/, 'the refusal, not the content');
      refusal('hls', 'no-token', DENIED);
      const bad = await get(path, { from: GUESSER, token: BAD });
      t.equal(bad.status, 403, `bad token, ${what}: 403`);
      t.match(bad.body.toString(), /may not play/, 'the refusal, not the content');
      refusal('hls', 'bad-token', GUESSER);
    }

    const list = await get(`/hls/lobby/index.m3u8?token=${GOOD}`, { from: DENIED });
    t.equal(list.status, 200, 'good token, playlist: 200');
    const text = list.body.toString();
    const u = hlsUris(text);
    t.equal(u.key, `key?token=${GOOD}`, 'the key URI carries the token');
    t.ok(
      u.segments.length > 0 && u.segments.every((s) => s.endsWith(`.ts?token=${GOOD}`)),
      `the segment URIs carry it (${u.segments.length})`,
    );
    const last = u.segments[u.segments.length - 1]!;
    const lseq = Number(/^(\d+)\.ts/.exec(last)![1]);
    const gseg = await get(`/hls/lobby/${last}`, { from: DENIED });
    t.equal(gseg.status, 200, `good token, segment ${lseq} by its URI: 200`);
    const gkey = await get(`/hls/lobby/${u.key!}`, { from: DENIED });
    t.equal(gkey.status, 200, 'good token, key by its URI: 200');
    t.same(gkey.body, keyR.body, 'the same key');
    t.equal(decrypt(gseg.body, gkey.body, lseq)[0], 0x47, 'the segment decrypts to TS');
    t.equal(
      (await get(`/hls/1/${seg}`, { from: DENIED, token: GOOD })).status,
      200,
      'good token in the header: 200',
    );

    for (const [what, path] of [
      ['playlist', '/hls/2/index.m3u8'],
      ['segment', `/hls/2/${hlsUris(playlists[1]!).segments[0]!}`],
      ['key', '/hls/staff/key'],
    ] as const) {
      const r = await get(`${path}?token=${GOOD}`, { from: DENIED });
      t.equal(r.status, 403, `good token, channel outside its package, ${what}: 403`);
      refusal('hls', 'not-granted', holder(DENIED));
    }
  });

  await t.test('RTSP: DESCRIBE and SETUP', async (t) => {
    for (const k of [1, 2]) {
      const r = await rtsp('DESCRIBE', `/${k}`, ALLOWED);
      t.equal(r.status, 200, `allowed subnet, DESCRIBE ${k}: 200`);
      t.match(r.body, /m=video \d+ RTP\/AVP 33/, 'an MP2T SDP');
    }
    const setupOk = await rtsp('SETUP', '/1/track1', ALLOWED, { transport: UDP });
    t.equal(setupOk.status, 200, 'allowed subnet, SETUP (UDP client_port): 200');
    t.match(setupOk.headers.get('transport'), /client_port=18936-18937/, 'the transport taken');
    t.match(setupOk.headers.get('session'), /^[^;]+;timeout=\d+/, 'and a session');

    for (const [method, path, transport] of [
      ['DESCRIBE', '/1', undefined],
      ['SETUP', '/1/track1', TCP],
    ] as const) {
      const none = await rtsp(method, path, DENIED, { transport });
      t.equal(none.status, 401, `denied subnet, no token, ${method}: 401`);
      t.match(
        none.headers.get('www-authenticate'),
        /^Bearer /,
        `${method} 401 has WWW-Authenticate: Bearer`,
      );
      t.equal(none.headers.get('session'), undefined, 'and no session');
      refusal('rtsp', 'no-token', DENIED);
      const bad = await rtsp(method, path, GUESSER, { token: BAD, transport });
      t.equal(bad.status, 403, `bad token, ${method}: 403`);
      t.equal(bad.headers.get('www-authenticate'), undefined, 'a 403 asks for no token');
      refusal('rtsp', 'bad-token', GUESSER);
      const other = await rtsp(method, path.replace('/1', `/2`) + `?token=${GOOD}`, DENIED, {
        transport,
      });
      t.equal(other.status, 403, `good token, channel outside its package, ${method}: 403`);
      refusal('rtsp', 'not-granted', holder(DENIED));
    }
    const desc = await rtsp('DESCRIBE', '/1', DENIED, { token: GOOD });
    t.equal(desc.status, 200, 'good token, DESCRIBE: 200');
    t.match(desc.body, /a=control:rtsp:\/\/[^\s]+\/1\/track1/, 'with the media control URL');
    const tcp = await rtsp('SETUP', '/1/track1', DENIED, { token: GOOD, transport: TCP });
    t.equal(tcp.status, 200, 'good token, SETUP (RTP/AVP/TCP interleaved): 200');
    t.match(tcp.headers.get('transport'), /RTP\/AVP\/TCP;unicast;interleaved=0-1/, 'interleaved');
    const udp = await rtsp('SETUP', `/lobby/track1?token=${GOOD}`, DENIED, { transport: UDP });
    t.equal(udp.status, 200, 'good token (?token=), SETUP (UDP): 200');
    t.match(udp.headers.get('session'), /;timeout=/, 'a session');
  });

  await t.test('M3U playlist and guide: a client sees only what it may play', async (t) => {
    const all = entries((await get('/playlist.m3u?format=http')).body.toString());
    t.same(
      all.map(([, url]) => url),
      [`${BASE}/stream/lobby`, `${BASE}/stream/staff`],
      'allowed subnet: both channels',
    );
    const none = await get('/playlist.m3u?format=http', { from: DENIED });
    t.equal(none.status, 200, 'denied subnet, no token: 200');
    t.match(none.body.toString(), /^#EXTM3U/, 'a playlist');
    t.same(entries(none.body.toString()), [], 'with no channel in it');
    t.equal(
      (await get('/playlist.m3u?format=http', { from: GUESSER, token: BAD })).status,
      403,
      'bad token: 403',
    );
    refusal('playlist', 'bad-token', GUESSER);
    for (const [format, url] of [
      ['http', `${BASE}/stream/lobby?token=${GOOD}`],
      ['hls', `${BASE}/hls/lobby/index.m3u8?token=${GOOD}`],
      ['rtsp', `rtsp://127.0.0.1:${RTSP}/lobby?token=${GOOD}`],
    ] as const) {
      const r = await get(`/playlist.m3u?format=${format}&token=${GOOD}`, { from: DENIED });
      t.equal(r.status, 200, `good token, format=${format}: 200`);
      const e = entries(r.body.toString());
      t.same(
        e.map(([, u]) => u),
        [url],
        `only channel 1, its URL with the token (${format})`,
      );
      t.match(e[0]?.[0], /tvg-chno="1"/, 'as channel 1');
    }
    // The URLs the playlist gave play from the denied subnet.
    t.equal(
      (await get(`/stream/lobby?token=${GOOD}`, { from: DENIED, readMs: 300 })).status,
      200,
      'its HTTP URL plays',
    );
    t.equal(
      (await get(`/hls/lobby/index.m3u8?token=${GOOD}`, { from: DENIED })).status,
      200,
      'its HLS URL plays',
    );
    t.equal(
      (await rtsp('DESCRIBE', `/lobby?token=${GOOD}`, DENIED)).status,
      200,
      'its RTSP URL is described',
    );
    const header = entries(
      (await get('/playlist.m3u?format=http', { from: DENIED, token: GOOD })).body.toString(),
    );
    t.same(
      header.map(([, u]) => u),
      [`${BASE}/stream/lobby`],
      'a token in the header: channel 1 (the player sends its header again)',
    );

    const guideAll = (await get('/epg.xml')).body.toString();
    t.match(guideAll, /<channel id="staff">/, 'guide, allowed subnet: channel 2 in it');
    const guide = await get(`/epg.xml?token=${GOOD}`, { from: DENIED });
    t.equal(guide.status, 200, 'guide, good token: 200');
    t.match(guide.body.toString(), /<channel id="lobby">/, 'channel 1 in it');
    t.notMatch(guide.body.toString(), /<channel id="staff">/, 'channel 2 not');
    t.notMatch(
      (await get('/epg.xml', { from: DENIED })).body.toString(),
      /<channel id=/,
      'guide, denied subnet: no channel',
    );
  });

  await t.test('HDHomeRun /lineup.json: only what the client may play', async (t) => {
    const all = await get('/lineup.json');
    t.equal(all.status, 200, 'allowed subnet: 200');
    t.same(
      (JSON.parse(all.body.toString()) as { GuideNumber: string; URL: string }[]).map((x) => [
        x.GuideNumber,
        x.URL,
      ]),
      [
        ['1', `${BASE}/stream/1`],
        ['2', `${BASE}/stream/2`],
      ],
      'allowed subnet: both channels',
    );
    const none = await get('/lineup.json', { from: DENIED });
    t.equal(none.status, 200, 'denied subnet, no token: 200');
    t.same(JSON.parse(none.body.toString()), [], 'an empty lineup');
    t.equal((await get('/lineup.json', { from: GUESSER, token: BAD })).status, 403, 'bad: 403');
    refusal('playlist', 'bad-token', GUESSER);
    const good = await get(`/lineup.json?token=${GOOD}`, { from: DENIED });
    t.equal(good.status, 200, 'good token: 200');
    const lineup = JSON.parse(good.body.toString()) as Record<string, unknown>[];
    t.same(
      lineup,
      [{ GuideNumber: '1', GuideName: 'Lobby', URL: `${BASE}/stream/1?token=${GOOD}` }],
      'only channel 1, its URL with the token',
    );
    const played = await get(new URL(lineup[0]!.URL as string).pathname + `?token=${GOOD}`, {
      from: DENIED,
      readMs: 800,
    });
    t.equal(played.status, 200, 'and its URL plays from the denied subnet');
    t.equal(played.body[0], 0x47, 'TS');
    t.notMatch(good.body.toString(), /stream\/2/, 'no URL of channel 2');
  });

  await t.test('write endpoints: POST /api/reload and /api/alert', async (t) => {
    const off = JSON.stringify({ state: 'off' });
    for (const [surface, path, body] of [
      ['reload', '/api/reload', undefined],
      ['alert', '/api/alert', off],
    ] as const) {
      const ok = await get(path, { method: 'POST', body });
      t.equal(ok.status, 200, `${path} from the allowed subnet (write): 200`);
      const none = await get(path, { method: 'POST', body, from: DENIED });
      t.equal(none.status, 401, `${path}, denied subnet, no token: 401`);
      t.match(none.headers['www-authenticate'], /^Bearer /, 'with WWW-Authenticate: Bearer');
      refusal(surface, 'no-token', DENIED);
      const bad = await get(path, { method: 'POST', body, from: GUESSER, token: BAD });
      t.equal(bad.status, 403, `${path}, bad token: 403`);
      refusal(surface, 'bad-token', GUESSER);
      const play = await get(path, { method: 'POST', body, from: DENIED, token: GOOD });
      t.equal(play.status, 403, `${path}, a token without write: 403`);
      refusal(surface, 'not-granted', holder(DENIED));
      const write = await get(path, { method: 'POST', body, from: DENIED, token: OPS });
      t.equal(write.status, 200, `${path}, the operator's token (write): 200`);
      t.equal(
        (await get(`${path}?token=${OPS}`, { method: 'POST', body, from: DENIED })).status,
        200,
        `${path}, the operator's token as ?token=: 200`,
      );
    }
    const st = JSON.parse((await get('/api/alert')).body.toString()) as { on: boolean };
    t.equal(st.on, false, 'no alert was turned on');
  });

  await t.test('ten bad tokens from one address: 429, others untouched', async (t) => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      codes.push(
        (await get('/stream/1', { from: FLOOD, token: `${BAD}${i}`, readMs: 200 })).status,
      );
      refusal('stream', 'bad-token', FLOOD);
    }
    t.same(codes, Array(10).fill(403), 'ten bad tokens: 403 each');
    const r = await get('/stream/1', { from: FLOOD, token: GOOD, readMs: 200 });
    t.equal(r.status, 429, 'then even the good token: 429');
    refusal('stream', 'too-many-failures', FLOOD);
    t.equal(
      (await rtsp('DESCRIBE', '/1', FLOOD, { token: GOOD })).status,
      403,
      'RTSP (no 429 there): 403',
    );
    refusal('rtsp', 'too-many-failures', FLOOD);
    t.equal(
      (await get('/stream/1', { from: DENIED, token: GOOD, readMs: 300 })).status,
      200,
      'another address with the good token: 200',
    );
  });

  // Counted: exactly this test's refusals, by surface and reason.
  const metrics = (await get('/metrics')).body.toString();
  const counted = new Map<string, number>();
  for (const m of metrics.matchAll(/^headend_http_denied_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]),
    );
    if (Number(m[2]) > 0) counted.set(`${labels.surface} ${labels.reason}`, Number(m[2]));
  }
  const sorted = (m: Map<string, unknown>) => [...m.entries()].sort();
  t.same(sorted(counted), sorted(tally), 'headend_http_denied_total: every refusal, by surface');
  for (const s of ['stream', 'hls', 'rtsp', 'playlist', 'reload', 'alert'])
    t.ok(counted.has(`${s} bad-token`), `surface="${s}" counted`);

  // Logged: once per client a minute (all of this ran within one), the client by address or
  // token holder, with the surface and reason of its first refusal.
  const denials = d.events.filter((e) => e.event === 'access-denied');
  const seen = new Map(
    denials.map((e) => [String(e.client), `${String(e.surface)} ${String(e.reason)}`]),
  );
  t.equal(seen.size, denials.length, `no client logged twice (${denials.length} lines)`);
  t.same(sorted(seen), sorted(logged), 'access-denied: every client, its first refusal');
  t.notMatch(
    JSON.stringify(d.events) + d.otherLines.join('\n'),
    new RegExp(`${GOOD}|${OPS}|${BAD}`),
    'no token string in the log',
  );
  const lines = (event: string, field: string) =>
    d.events.filter((e) => e.event === event && /[?&]token=/.test(String(e[field])));
  t.ok(
    lines('http-request', 'path').length > 0 && lines('rtsp-request', 'uri').length > 0,
    'the request lines with ?token= are logged (debug)',
  );
  t.ok(
    [...lines('http-request', 'path'), ...lines('rtsp-request', 'uri')].every((e) =>
      /[?&]token=…/.test(String(e.path ?? e.uri)),
    ),
    'with the token left out',
  );

  await stopAndCheck(t, d, TEXTS);
});
