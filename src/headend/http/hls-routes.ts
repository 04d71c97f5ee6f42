// The HLS paths of the HTTP surface (GET and HEAD; hls/hls-service.ts makes the segments):
//
//   /hls/<slug|number>/index.m3u8          the live media playlist (RFC 8216 §4), max-age=1
//   /hls/<slug|number>/<seq>.ts            a media segment, immutable, cached for its window
//   /hls/<slug|number>/master.m3u8         with a ladder: the master playlist (§4.3.4.2), its
//                                          rungs, highest first (not the channel itself: its
//                                          segments start at its source's own keyframes, which
//                                          are not the rungs' pictures)
//   /hls/<slug|number>/<rung>/index.m3u8   a rung's media playlist, and <rung>/<seq>.ts
//   /hls/<slug|number>/key                 the AES-128 key of an encrypted channel (no-store)
//
// behind the access rules (the channel's number is what is asked for); a ?token= is carried
// into the playlist's segment URIs. CORS: Access-Control-Allow-Origin: * (web players).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessGuard } from '../access/guard.js';
import { requestToken } from '../access/guard.js';
import type { HlsService } from '../hls/hls-service.js';
import type { Rung } from '../hls/ladder.js';

export interface HlsRoutesOptions {
  hls: HlsService;
  guard?: AccessGuard;
}

const PATH = /^\/hls\/([^/]+)\/(?:(\d{3,4}p)\/)?(index\.m3u8|master\.m3u8|key|(\d{1,12})\.ts)$/;

export function isHlsPath(path: string): boolean {
  return PATH.test(path);
}

function reply(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(bytes.length),
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

const refuse = (req: IncomingMessage, res: ServerResponse, status: number, message: string) =>
  reply(req, res, status, 'text/plain; charset=utf-8', `${message}\n`, {
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Bearer realm="headend"' } : {}),
  });

export function serveHls(
  o: HlsRoutesOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): void {
  const m = PATH.exec(url.pathname)!;
  let key: string;
  try {
    key = decodeURIComponent(m[1]!);
  } catch {
    return refuse(req, res, 400, 'the channel in the path is not valid');
  }
  const ch = o.hls.find(key);
  if (!ch) return refuse(req, res, 404, `no HLS for channel "${key}" (hls: is off for it)`);
  const token = requestToken(req.headers.authorization, url);
  if (o.guard) {
    const client = { address: req.socket.remoteAddress ?? '', token };
    const d = o.guard.check(client, { channel: ch.number }, 'hls');
    if (!d.ok)
      return refuse(
        req,
        res,
        d.status,
        d.status === 401 ? 'this channel needs a token' : 'this client may not play this channel',
      );
  }
  const q = url.searchParams.get('token');
  const suffix = q === null ? '' : `?token=${encodeURIComponent(q)}`;
  const what = m[3]!;
  const M3U8 = 'application/vnd.apple.mpegurl';
  if (what === 'key') {
    if (!ch.aes || m[2]) return refuse(req, res, 404, "this channel's HLS is not encrypted");
    return reply(req, res, 200, 'application/octet-stream', ch.aes, {
      'cache-control': 'no-store',
    });
  }
  if (what === 'master.m3u8') {
    if (m[2] || ch.rungs.length === 0) return refuse(req, res, 404, 'this channel has no ladder');
    return reply(req, res, 200, M3U8, masterPlaylist(ch, suffix), { 'cache-control': 'max-age=5' });
  }
  const rung = m[2] ? ch.rungs.find((r) => r.name === m[2]) : undefined;
  if (m[2] && !rung) return refuse(req, res, 404, `no rung ${m[2]} in this channel's ladder`);
  const seg = rung ? rung.seg : ch.seg;
  if (what === 'index.m3u8') {
    const keyUri = rung ? `../key${suffix}` : `key${suffix}`;
    const text = seg.playlist((seq) => `${seq}.ts${suffix}`, keyUri);
    if (text === null)
      return refuse(req, res, 503, 'the first segment is not ready yet: try again shortly');
    return reply(req, res, 200, M3U8, text, { 'cache-control': 'max-age=1' });
  }
  const s = seg.segment(Number(m[4]));
  if (!s) return refuse(req, res, 404, `segment ${m[4]} is not in the window`);
  reply(req, res, 200, 'video/mp2t', s.bytes, { 'cache-control': 'max-age=60, immutable' });
}

/**
 * The master playlist: the ladder's rungs, highest first. Only the rungs: they are cut at the
 * same pictures (hls/ladder.ts), so a player may switch between them at any segment (RFC 8216
 * §6.2.4; Apple's HLS authoring spec: IDR frames aligned across variants). The channel's own
 * segments start at its source's keyframes, not at those pictures: listed with them, a switch
 * to or from it would jump. Its own playlist stays at index.m3u8.
 */
export function masterPlaylist(
  ch: { rungs: readonly Pick<Rung, 'name' | 'height' | 'bandwidth'>[] },
  suffix: string,
): string {
  // Every segment of a rung starts with an IDR frame (§4.3.5.1).
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  const rungs = [...ch.rungs].sort((a, b) => b.bandwidth - a.bandwidth);
  for (const r of rungs) {
    const width = Math.round((r.height * 16) / 9 / 2) * 2;
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${width}x${r.height}`,
      `${r.name}/index.m3u8${suffix}`,
    );
  }
  return lines.join('\n') + '\n';
}
