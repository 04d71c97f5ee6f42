// The streaming paths of the HTTP surface (GET and HEAD), each a channel's HTTP MPEG-TS
// (ts-stream.ts) once the access rules allow it (access/guard.ts):
//
//   /stream/<slug|number>          the channel
//   /udp/<group>:<port>            udpxy's paths, for clients set up for a udpxy relay: the
//   /rtp/<group>:<port>            channel whose output is that group and port
//
// The client's token: `Authorization: Bearer …` or `?token=…`. Refusals are JSON with a code:
// 401 (a token is wanted, with WWW-Authenticate: Bearer, RFC 6750 §3), 403, 429 (too many bad
// tokens), 404 (no such channel).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelHandle } from '../channel/handle.js';
import type { AccessGuard } from '../access/guard.js';
import { denial, requestToken } from '../access/guard.js';
import { channelSource, type TsSource, type TsStreams } from './ts-stream.js';
import type { Relay } from './relay.js';

export interface StreamRoutesOptions {
  handles: () => readonly ChannelHandle[];
  streams: TsStreams;
  guard?: AccessGuard;
  /** udpxy's relay of other groups (http.relay); absent: only the channels' own outputs. */
  relay?: Relay;
}

const STREAM = /^\/stream\/([^/]+)$/;
const UDPXY = /^\/(udp|rtp)\/@?(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/?$/;

/** Whether `path` is a streaming path (then `serve` answers it). */
export function isStreamPath(path: string): boolean {
  return STREAM.test(path) || UDPXY.test(path);
}

function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error, message }) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Finds the channel of a streaming path. */
function channelOf(path: string, handles: readonly ChannelHandle[]): ChannelHandle | undefined {
  const m = STREAM.exec(path);
  if (m) {
    let key: string;
    try {
      key = decodeURIComponent(m[1]!).replace(/\.ts$/, '');
    } catch {
      return undefined;
    }
    return handles.find((h) => h.config.slug === key || String(h.config.number) === key);
  }
  const u = UDPXY.exec(path);
  if (!u) return undefined;
  const port = Number(u[3]);
  return handles.find((h) => h.config.output.group === u[2] && h.config.output.port === port);
}

export function serveStream(
  o: StreamRoutesOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): void {
  const handle = channelOf(url.pathname, o.handles());
  let source: TsSource | undefined = handle && channelSource(handle);
  const u = UDPXY.exec(url.pathname);
  if (!source && u && o.relay?.allows(u[2]!))
    source = o.relay.source(u[2]!, Number(u[3]), u[1] === 'rtp');
  if (!source) {
    const why = u && o.relay ? ' (and the relay does not take that group)' : '';
    refuse(req, res, 404, 'not-found', `no channel at ${url.pathname}${why}`);
    return;
  }
  if (o.guard) {
    const d = o.guard.check(
      {
        address: req.socket.remoteAddress ?? '',
        token: requestToken(req.headers.authorization, url),
      },
      handle ? { channel: handle.config.number } : 'relay',
      'stream',
    );
    if (!d.ok) {
      const { error, message } = denial(
        d,
        handle
          ? `this client may not play channel ${handle.config.number}`
          : 'this client may not use the relay (it needs the grant all)',
      );
      refuse(
        req,
        res,
        d.status,
        error,
        message,
        d.status === 401 ? { 'www-authenticate': 'Bearer realm="headend"' } : {},
      );
      return;
    }
  }
  o.streams.serve(req, res, source);
}
