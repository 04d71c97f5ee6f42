// HTTP MPEG-TS and the access rules on the real daemon (issue 13), as users try them:
// - /stream/1 is chunked and carries the very bytes of the channel's multicast (a run of 50
//   datagrams from the middle of 30 s found whole in a recording of the group);
// - ffprobe reads /stream/<n> and udpxy's /udp/<group>:<port> (video and audio); ffmpeg records
//   /stream/1, /udp/<group>:<port> of channel 2 and channel 2's HLS playlist for 30 s each, all
//   at once: each recording has video and audio and zero TR 101 290 priority-1 errors, as has
//   a raw recording of /stream/1 over the same 30 s (the bytes as sent, where a continuity
//   error would show: ffmpeg writes its own counters); VLC plays the HTTP URL (when VLC can
//   run here);
// - 200 concurrent clients on one channel and 5 that never read (a small receive window, from
//   python3): the 200 lose nothing (no continuity error, about the same bytes each), the 5 are
//   dropped and counted;
// - access (headend.access): 127.0.0.1 may play everything and write; 127.0.0.2 (a second
//   loopback address in the private namespace) only with a token: none = 401 with
//   WWW-Authenticate, a bad one = 403, a good one = its package; the playlist shows only what
//   the client may play (with the token in its HTTP URLs); RTSP DESCRIBE says 401/403/200 the
//   same way; POST /api/reload needs `write`; every denial counted in /metrics and logged
//   without the token.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Analyzer } from '../../src/mpegts/analyzer/index.js';
import { getCc, getPid, hasPayload } from '../../src/mpegts/packet.js';
import { vlcPlays, vlcSkipReason } from '../helpers/vlc.js';
import {
  FFMPEG,
  failing,
  marker,
  openRecorder,
  probeKinds,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  httpGet,
  type HttpGot,
} from './helpers.js';

const HTTP = 18761;
const RTSP = 18762;
const OUT = [1, 2].map((k) => ({ group: `239.255.61.${k}`, port: 6610 + k }));
const TEXTS = [1, 2].map((k) => marker(`hs${k}`));
const GOOD = 'lobby-token-0123456789';
const BAD = 'wrong-token-0123456789';

function config(tokens: string): string {
  const ch = (k: number): string =>
    `  - number: ${k}\n    name: H${k}\n    output: udp://${OUT[k - 1]!.group}:${OUT[k - 1]!.port}\n` +
    `    bitrate: 1M\n    logo: http://logos.invalid/h${k}.png\n    group: floor-${k}\n` +
    `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 300k, ` +
    `text: ${TEXTS[k - 1]} }\n` +
    (k === 2 ? '    hls: true\n' : '');
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n` +
    `  rtsp: { listen: 127.0.0.1:${RTSP}, rtp_port: 18764 }\n` +
    `  http: { listen: 127.0.0.1:${HTTP}, max_clients_per_address: 300, client_buffer: 65536 }\n` +
    `  access:\n    packages: { lobby: [1] }\n` +
    `    subnets: { 127.0.0.1/32: [all, write] }\n    tokens_file: ${tokens}\n` +
    `channels:\n${ch(1)}${ch(2)}`
  );
}

/** One HTTP request to the daemon (helpers.ts httpGet). */
const get = (path: string, o: Parameters<typeof httpGet>[2] = {}): Promise<HttpGot> =>
  httpGet(HTTP, path, o);

/** Continuity errors in a client's bytes (whole packets from its first). */
function ccErrors(b: Buffer): number {
  const last = new Int8Array(8192).fill(-1);
  let errors = 0;
  for (let o = 0; o + 188 <= b.length; o += 188) {
    if (b[o] !== 0x47) return errors + 1000; // lost alignment: counts as broken
    const pid = getPid(b, o);
    if (pid === 0x1fff) continue;
    const cc = getCc(b, o);
    const l = last[pid]!;
    if (l >= 0 && cc !== (hasPayload(b, o) ? (l + 1) & 15 : l)) errors++;
    last[pid] = cc;
  }
  return errors;
}

/** An RTSP DESCRIBE from `from`: the status code. */
function describe(path: string, from: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: RTSP, localAddress: from }, () =>
      s.write(
        `DESCRIBE rtsp://127.0.0.1:${RTSP}${path} RTSP/1.0\r\nCSeq: 1\r\n` +
          (token ? `Authorization: Bearer ${token}\r\n` : '') +
          `Accept: application/sdp\r\n\r\n`,
      ),
    );
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /^RTSP\/1\.0 (\d{3})/.exec(text);
      if (m && text.includes('\r\n\r\n')) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', reject);
  });
}

/** The priority-1 checks (TR 101 290 §5.2.1) with errors, as `id count`. */
const priority1 = (r: ReturnType<Analyzer['report']>): string[] =>
  r.tr101290.priority1.filter((x) => x.errors > 0).map((x) => `${x.id} ${x.errors}`);

const SLOW = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'GET /stream/1 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
time.sleep(float(sys.argv[2]))
`;

t.test('HTTP MPEG-TS and access rules on the real daemon', async (t) => {
  const dir = tempDir(t);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `frontdesk ${GOOD} lobby\n`);
  chmodSync(tokens, 0o600);
  const d = startDaemon(t, { text: config(tokens) });
  await d.waitFor((e) => e.event === 'ready', 20_000);
  for (const k of [1, 2])
    await d.waitFor((e) => e.event === 'source-up' && e.channel === `${k} H${k}`, 20_000);

  // 5 clients that never read (a 4.6 kB receive window): the kernel holds a few MB for each
  // before the daemon's own buffer grows, so they start now and are looked at last.
  const slow = Array.from({ length: 5 }, () =>
    spawn('python3', ['-c', SLOW, String(HTTP), '90'], { stdio: 'ignore' }),
  );
  t.teardown(() => slow.forEach((p) => p.kill()));
  // A raw 30 s recording and ffmpeg's, side by side, while the rest runs; and the channel's
  // multicast over the same time, whose bytes the HTTP stream must carry.
  const mcast = await openRecorder(t, OUT[0]!.group, OUT[0]!.port);
  const rawArrivals: [Buffer, number][] = [];
  let chunked = '';
  const raw = new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: HTTP, path: '/stream/1' }, (res) => {
      chunked = String(res.headers['transfer-encoding']);
      res.on('data', (c: Buffer) => rawArrivals.push([c, Number(process.hrtime.bigint())]));
      setTimeout(() => res.destroy(), 30_000);
      res.on('close', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  /** ffmpeg reads `url` for 30 s into `file`, copying every stream: its exit code. */
  const record = (url: string, file: string): Promise<number | null> =>
    new Promise((resolve) =>
      spawn(FFMPEG, ['-v', 'error', '-y', '-i', url, '-t', '30', '-map', '0', '-c', 'copy', file], {
        stdio: 'ignore',
      }).on('exit', (code) => resolve(code)),
    );
  const base = `http://127.0.0.1:${HTTP}`;
  const recordings = [
    { what: '/stream/1', file: join(dir, 'rec-stream.ts'), url: `${base}/stream/1` },
    {
      what: 'the udpxy path',
      file: join(dir, 'rec-udp.ts'),
      url: `${base}/udp/${OUT[1]!.group}:${OUT[1]!.port}`,
    },
    { what: 'the HLS playlist', file: join(dir, 'rec-hls.ts'), url: `${base}/hls/h2/index.m3u8` },
  ];
  const ff = recordings.slice(0, 2).map((r) => record(r.url, r.file));
  // HLS: once its first segments are there.
  ff.push(
    (async () => {
      for (let i = 0; i < 40; i++) {
        const r = await fetch(recordings[2]!.url);
        if (r.status === 200 && ((await r.text()).match(/#EXTINF/g) ?? []).length >= 2) break;
        await sleep(500);
      }
      return record(recordings[2]!.url, recordings[2]!.file);
    })(),
  );

  const kinds1 = await probeKinds(`http://127.0.0.1:${HTTP}/stream/1`);
  t.ok(/video/.test(kinds1) && /audio/.test(kinds1), 'ffprobe /stream/1: video and audio');
  const kinds2 = await probeKinds(`http://127.0.0.1:${HTTP}/udp/${OUT[1]!.group}:${OUT[1]!.port}`);
  t.ok(/video/.test(kinds2) && /audio/.test(kinds2), 'ffprobe udpxy path: video and audio');
  const head = await get('/stream/h2', { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD /stream/<slug>: 200');
  t.equal(head.headers['content-type'], 'video/mp2t');
  t.match(head.headers['cache-control'], /no-cache/);
  t.equal((await get('/stream/9', { readMs: 500 })).status, 404, 'an unknown channel: 404');

  const skip = vlcSkipReason();
  if (skip) t.comment(`VLC: skipped: ${skip}`);
  else {
    const err = await vlcPlays(t, `http://127.0.0.1:${HTTP}/stream/1`);
    t.match(err, /using demux module "ts"/, 'VLC: MPEG-TS demux of the HTTP stream');
    t.match(err, /using video decoder module/, 'VLC: a video decoder');
  }

  // Access, surface by surface, from the other loopback address.
  const ext = '127.0.0.2';
  const none = await get('/stream/1', { from: ext, readMs: 300 });
  t.equal(none.status, 401, 'no token: 401');
  t.match(none.headers['www-authenticate'], /^Bearer/, 'with WWW-Authenticate: Bearer');
  t.equal(
    (await get('/stream/1', { from: ext, token: BAD, readMs: 300 })).status,
    403,
    'bad token: 403',
  );
  const good = await get('/stream/1', { from: ext, token: GOOD, readMs: 1500 });
  t.equal(good.status, 200, 'good token: 200');
  t.ok(
    good.body.length > 188 && good.body[0] === 0x47,
    `and the stream (${good.body.length} bytes)`,
  );
  t.equal(
    (await get(`/stream/2?token=${GOOD}`, { from: ext, readMs: 300 })).status,
    403,
    'not in its package: 403',
  );
  const list = await get(`/playlist.m3u?format=http&token=${GOOD}`, { from: ext });
  t.equal(list.status, 200);
  t.match(list.body.toString(), /tvg-logo="http:\/\/logos.invalid\/h1.png" group-title="floor-1"/);
  t.match(
    list.body.toString(),
    new RegExp(`/stream/h1\\?token=${GOOD}`),
    'HTTP URLs carry the token',
  );
  t.notMatch(list.body.toString(), /H2/, 'the playlist lists only what the client may play');
  t.match((await get('/playlist.m3u')).body.toString(), /H2/, 'the full list for 127.0.0.1');
  t.equal(await describe('/1', ext), 401, 'RTSP DESCRIBE without a token: 401');
  t.equal(await describe('/1', ext, BAD), 403, 'with a bad one: 403');
  t.equal(await describe('/1', ext, GOOD), 200, 'with a good one: 200');
  t.equal(await describe(`/2?token=${GOOD}`, ext), 403, 'another channel: 403');
  t.equal(await describe('/2', '127.0.0.1'), 200, '127.0.0.1: 200');
  t.equal(
    (await get('/api/reload', { from: ext, method: 'POST', token: GOOD })).status,
    403,
    'reload without write: 403',
  );
  t.equal((await get('/api/reload', { method: 'POST' })).status, 200, 'reload from 127.0.0.1: 200');

  // 200 readers (the 5 that never read started with the recordings).
  const readers = await Promise.all(
    Array.from({ length: 200 }, () => get('/stream/1', { readMs: 12_000 })),
  );
  const sizes = readers.map((r) => r.body.length).sort((a, b) => a - b);
  t.ok(
    readers.every((r) => r.status === 200),
    '200 readers: 200 each',
  );
  t.equal(readers.filter((r) => ccErrors(r.body) > 0).length, 0, 'no reader lost a packet');
  t.ok(sizes[0]! > 0.8 * sizes[199]!, `bytes each ${sizes[0]}-${sizes[199]}: none fell behind`);
  let metrics = '';
  let dropped = 0;
  for (let i = 0; i < 60 && dropped < 5; i++) {
    if (i > 0) await sleep(1000);
    metrics = (await get('/metrics')).body.toString();
    dropped = Number(/^headend_http_stream_dropped_total (\d+)/m.exec(metrics)?.[1]);
  }
  t.ok(dropped >= 5, `the 5 that never read are dropped (${dropped})`);
  const slowLines = d.events.filter((e) => e.event === 'http-stream-slow-client');
  t.ok(slowLines.length >= 5, `and logged (${slowLines.length})`);
  t.match(metrics, /headend_http_denied_total\{surface="stream",reason="no-token"\} [1-9]/);
  t.match(metrics, /headend_http_denied_total\{surface="rtsp",reason="bad-token"\} [1-9]/);
  const denied = d.events.filter((e) => e.event === 'access-denied');
  t.ok(denied.length > 0, `denials logged (${denied.length})`);
  t.notMatch(JSON.stringify(d.events), new RegExp(`${GOOD}|${BAD}`), 'no token in the log');

  await raw;
  const sent = Buffer.concat((await mcast.close()).map((x) => x.data));
  const got = Buffer.concat(rawArrivals.map(([c]) => c));
  t.equal(chunked, 'chunked', 'HTTP-TS: Transfer-Encoding: chunked');
  // After its start (PAT, PMT, an access point), the HTTP stream is the multicast's datagrams
  // back to back: a run of 50 of them from the middle of the recording is found there whole.
  const run = got.subarray(got.length >> 1, (got.length >> 1) + 50 * 7 * 188);
  t.ok(
    run.length === 50 * 7 * 188 && sent.indexOf(run) >= 0,
    `the same bytes as the multicast (${got.length} bytes over HTTP, ${sent.length} sent)`,
  );
  const a = new Analyzer();
  for (const [c, ns] of rawArrivals) a.push(c, ns);
  a.end();
  const rep = a.report();
  t.same(priority1(rep), [], `the raw 30 s: zero priority-1 errors (${failing(rep)})`);
  const codes = await Promise.all(ff);
  for (const [i, r] of recordings.entries()) {
    t.equal(codes[i], 0, `ffmpeg recorded 30 s of ${r.what}`);
    const fa = new Analyzer(); // timed by the recording's own PCRs
    fa.push(readFileSync(r.file));
    fa.end();
    const frep = fa.report();
    const secs = frep.totals.durationSec;
    t.ok(secs >= 25, `${r.what}: ${secs.toFixed(1)} s recorded`);
    t.same(priority1(frep), [], `${r.what}: zero priority-1 errors (${failing(frep)})`);
    const kinds = await probeKinds(r.file);
    t.ok(/video/.test(kinds) && /audio/.test(kinds), `${r.what}: video and audio in the recording`);
  }
  await stopAndCheck(t, d, TEXTS);
});
