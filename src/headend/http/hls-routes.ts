// The HLS paths of the HTTP surface (GET and HEAD; hls/hls-service.ts makes the segments):
//
//   /hls/<slug|number>/index.m3u8   the live media playlist (RFC 8216 §4), max-age=1
//   /hls/<slug|number>/<seq>.ts     a media segment, immutable, cached for its window
//
// behind the access rules (the channel's number is what is asked for); a ?token= is carried
// into the playlist's segment URIs. CORS: Access-Control-Allow-Origin: * (web players).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessGuard } from '../access/guard.js';
import { requestToken } from '../access/guard.js';
import type { HlsService } from '../hls/hls-service.js';

export interface HlsRoutesOptions {
  hls: HlsService;
  guard?: AccessGuard;
}

const PATH = /^\/hls\/([^/]+)\/(index\.m3u8|(\d{1,12})\.ts)$/;

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
  if (m[3] === undefined) {
    const q = url.searchParams.get('token');
    const suffix = q === null ? '' : `?token=${encodeURIComponent(q)}`;
    const text = ch.seg.playlist((seq) => `${seq}.ts${suffix}`);
    if (text === null)
      return refuse(req, res, 503, 'the first segment is not ready yet: try again shortly');
    return reply(req, res, 200, 'application/vnd.apple.mpegurl', text, {
      'cache-control': 'max-age=1',
    });
  }
  const s = ch.seg.segment(Number(m[3]));
  if (!s) return refuse(req, res, 404, `segment ${m[3]} is not in the window`);
  reply(req, res, 200, 'video/mp2t', s.bytes, { 'cache-control': 'max-age=60, immutable' });
}
