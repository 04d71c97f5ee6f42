// The headend's read-only HTTP surface (RFC 9110 semantics over node:http, no framework):
//
//   GET  /playlist.m3u            extended M3U: ?format=multicast (udp, rtp; the default),
//                                 rtsp (or ?rtsp=1), http, hls: the channels the client may play
//   GET  /hls/<slug>/index.m3u8   HLS of channels with `hls:` (and their segments)
//                                                                         http/hls-routes.ts
//                                                                                   http/m3u.ts
//   GET  /stream/<slug|number>    the channel as HTTP MPEG-TS; /udp/<g>:<p>, /rtp/<g>:<p>
//                                 (udpxy's paths) too                 http/stream-routes.ts
//   GET  /epg.xml                 the guide of the channels as XMLTV (tvg-id = slug) epg/xmltv-out.ts
//   GET  /api/channels            headend + every channel's state as JSON      http/channel-json.ts
//   GET  /api/channels/<slug|n>   one channel (404 JSON when unknown)
//   GET  /api/cluster             cluster mode: nodes, leases, owners, load    cluster/coordinator.ts
//   GET  /healthz                 200 "ok", or 503 naming the channels that are down
//   GET  /metrics                 the injected metrics (Prometheus text), else a placeholder
//   POST /api/reload              the injected reload → ReloadResult (200 ok, 422 invalid);
//                                 clients granted `write` (access/policy.ts)
//   GET  /api/alert               the emergency override's state              http/alert-api.ts
//   POST /api/alert               turn it on or off (the alert token, or a `write` grant)
//
// HEAD is answered for every GET (RFC 9110 §9.3.2: same headers, no body); a known path with
// another method gets 405 with Allow (§15.5.6); an unknown path 404 JSON. Hardening: header
// size and header/request timeouts are bounded (node:http options), request bodies are read
// up to BODY_LIMIT (413 beyond), malformed requests get 400/431 from clientError,
// and a handler that throws answers 500 and is logged, never crashing the daemon.

import type { TunerReport } from './tuners/report.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChannelStatus } from './channel/types.js';
import type { ChannelSpec, HdhrSpec, ListenSpec } from './config/types.js';
import { discoverJson, deviceXml, lineupJson, lineupStatusJson } from './hdhr/device.js';
import { fromSystemError } from './errors.js';
import { channelJson, channelsJson, findChannel, type HeadendInfo } from './http/channel-json.js';
import type { GuardDecision } from './access/guard.js';
import { playlistM3u } from './http/m3u.js';
import { epgXml } from './epg/xmltv-out.js';
import { hasAlertToken, postAlert, type AlertApi } from './http/alert-api.js';
import type { Programme } from './epg/xmltv.js';
import type { Logger } from './log.js';
import type { DaemonService, ReloadResult } from './services.js';
import { denial, requestToken, withoutToken, type AccessGuard } from './access/guard.js';
import { isStreamPath, serveStream, type StreamRoutesOptions } from './http/stream-routes.js';
import { isHlsPath, serveHls, type HlsRoutesOptions } from './http/hls-routes.js';
import type { PlaylistUrls } from './http/m3u.js';
import type { ClusterStatus } from './cluster/coordinator.js';

/** Largest request head accepted (request line + headers), bytes: beyond it, 431. */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Largest request body read (and discarded), bytes: beyond it, 413. */
export const BODY_LIMIT = 64 * 1024;
/** A client must send its whole head within this, and the whole request within REQUEST_TIMEOUT_MS. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpServerOptions {
  listen: ListenSpec;
  log: Logger;
  headend: () => HeadendInfo;
  channels: () => readonly { spec: ChannelSpec; status: ChannelStatus }[];
  /** Where RTSP URLs point (host 0.0.0.0/::: the host the client asked for); null: RTSP off. */
  rtsp: () => { host: string; port: number } | null;
  /** Programmes of a guide id (/epg.xml); absent: an empty guide. */
  programmes?: (id: string) => readonly Programme[];
  /** The configured tuners (the `tuners` list of /api/channels). */
  tuners?: () => readonly TunerReport[];
  /**
   * The exposition text: every metric, or only those `names` (GET /metrics?name=…&name=…);
   * `unknown` names the first that is not served.
   */
  metrics?: (
    names?: readonly string[],
  ) => Promise<{ contentType: string; body: string } | { unknown: string }>;
  reload?: () => Promise<ReloadResult>;
  /** The emergency override (GET/POST /api/alert, /healthz); absent: 404. */
  alert?: AlertApi;
  /** Clock for uptime (tests). */
  now?: () => number;
  /** HTTP MPEG-TS (/stream/…); absent: 404. */
  stream?: StreamRoutesOptions;
  /** The access rules; absent: every client may read everything and write. */
  guard?: AccessGuard;
  /** Whether headend.access is configured (then a `write` grant may post alerts). */
  accessConfigured?: () => boolean;
  /** HLS (/hls/…); absent: 404. */
  hls?: HlsRoutesOptions;
  /** HDHomeRun emulation (hdhr/device.ts); absent: its paths are 404. */
  hdhomerun?: { spec: () => HdhrSpec | null; deviceId: string };
  /** Cluster mode's state (GET /api/cluster); null: a single headend (404). */
  cluster?: () => ClusterStatus | null;
}

export interface HttpServer extends DaemonService {
  readonly name: 'http';
  readonly address: { host: string; port: number };
  stop(): Promise<void>;
}

interface Reply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

type Route = (req: IncomingMessage, url: URL, body: Buffer) => Promise<Reply> | Reply;

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

function json(status: number, value: unknown): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(value, null, 2) + '\n' };
}

function text(status: number, body: string): Reply {
  return { status, type: TEXT_TYPE, body };
}

function jsonError(status: number, error: string, message: string): Reply {
  return json(status, { error, message });
}

/** Unspecified listen addresses mean "whatever the client reached us at". */
function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The host part of a Host header (RFC 9110 §7.2), when it is a plain name or address literal. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return undefined;
  const host = m[1]!;
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const now = o.now ?? Date.now;
  const log = o.log;

  const client = (req: IncomingMessage, url: URL) => ({
    address: req.socket.remoteAddress ?? '',
    token: requestToken(req.headers.authorization, url),
  });
  /** The channel numbers the client may see, or the denial (a bad token). */
  const visibleTo = (req: IncomingMessage, url: URL, surface: 'playlist' | 'guide') => {
    const all = o.channels().map((c) => c.spec.number);
    return o.guard ? o.guard.visible(client(req, url), all, surface) : all;
  };
  const denied = (d: Extract<GuardDecision, { ok: false }>): Reply => {
    const { error, message } = denial(d, 'this client may not do that');
    const r = jsonError(d.status, error, message);
    return d.status === 401
      ? { ...r, headers: { 'www-authenticate': 'Bearer realm="headend"' } }
      : r;
  };

  const routes = new Map<string, Partial<Record<string, Route>>>();
  routes.set('/playlist.m3u', {
    GET: (req, url) => {
      const seen = visibleTo(req, url, 'playlist');
      if (!Array.isArray(seen)) return denied(seen);
      const legacyRtsp = ['1', 'true', 'yes'].includes(url.searchParams.get('rtsp') ?? '');
      const format = url.searchParams.get('format') ?? (legacyRtsp ? 'rtsp' : 'multicast');
      const token = url.searchParams.get('token') ?? undefined;
      const here = hostOfHeader(req.headers.host) ?? req.socket.localAddress ?? '127.0.0.1';
      const bare = here.replace(/^::ffff:/, '');
      let urls: PlaylistUrls;
      if (format === 'multicast' || format === 'udp' || format === 'rtp') {
        urls = { kind: 'multicast' };
      } else if (format === 'http' || format === 'hls') {
        urls = { kind: format, host: bare, port: req.socket.localPort ?? 0, token };
      } else if (format === 'rtsp') {
        const r = o.rtsp();
        if (r === null) {
          return text(
            404,
            'RTSP is off in this headend (headend.rtsp: false), so there are no RTSP URLs; ' +
              '/playlist.m3u lists the multicast URLs\n',
          );
        }
        urls = { kind: 'rtsp', host: isWildcard(r.host) ? bare : r.host, port: r.port, token };
      } else {
        return text(
          400,
          `unknown format "${format}": multicast (every channel's own), udp or rtp (the channels sent so), rtsp, http or hls\n`,
        );
      }
      const channels = o.channels().map((c) => c.spec);
      const host = here.includes(':') && !here.startsWith('[') ? `[${here}]` : here;
      return {
        status: 200,
        type: 'audio/x-mpegurl; charset=utf-8',
        body: playlistM3u(
          channels.filter(
            (c) =>
              seen.includes(c.number) &&
              (format !== 'hls' || c.hls !== undefined) &&
              // udp / rtp: the channels a client of that one protocol can join.
              ((format !== 'udp' && format !== 'rtp') || c.output.protocol === format),
          ),
          urls,
          `http://${host}:${req.socket.localPort}/epg.xml`,
        ),
      };
    },
  });
  routes.set('/epg.xml', {
    GET: (req, url) => {
      const seen = visibleTo(req, url, 'guide');
      if (!Array.isArray(seen)) return denied(seen);
      return {
        status: 200,
        type: 'application/xml; charset=utf-8',
        body: epgXml(
          o
            .channels()
            .map((c) => c.spec)
            .filter((c) => seen.includes(c.number)),
          o.programmes ?? (() => []),
        ),
        headers: { 'cache-control': 'max-age=300' },
      };
    },
  });
  // HDHomeRun emulation: the device's HTTP API, its URLs on the address the client used.
  const hdhr = o.hdhomerun;
  const baseOf = (req: IncomingMessage): string => {
    const here = hostOfHeader(req.headers.host) ?? req.socket.localAddress ?? '127.0.0.1';
    const bare = here.replace(/^::ffff:/, '');
    return `http://${bare.includes(':') ? `[${bare}]` : bare}:${req.socket.localPort}`;
  };
  if (hdhr) {
    const off = (): Reply => jsonError(404, 'not-found', 'HDHomeRun emulation is off');
    const view = (req: IncomingMessage, spec: HdhrSpec) => ({
      spec,
      deviceId: hdhr.deviceId,
      base: baseOf(req),
    });
    routes.set('/discover.json', {
      GET: (req) => {
        const spec = hdhr.spec();
        return spec ? json(200, discoverJson(view(req, spec))) : off();
      },
    });
    routes.set('/lineup.json', {
      GET: (req, url) => {
        if (!hdhr.spec()) return off();
        const seen = visibleTo(req, url, 'playlist');
        if (!Array.isArray(seen)) return denied(seen);
        const channels = o
          .channels()
          .map((c) => c.spec)
          .filter((c) => seen.includes(c.number));
        const token = url.searchParams.get('token') ?? undefined;
        return json(200, lineupJson(baseOf(req), channels, token));
      },
    });
    routes.set('/lineup_status.json', {
      GET: () => (hdhr.spec() ? json(200, lineupStatusJson()) : off()),
    });
    // A media server asks for a scan (POST /lineup.post?scan=start): the lineup is the config.
    routes.set('/lineup.post', { POST: () => (hdhr.spec() ? json(200, {}) : off()) });
    routes.set('/device.xml', {
      GET: (req) => {
        const spec = hdhr.spec();
        if (!spec) return off();
        return { status: 200, type: 'text/xml; charset=utf-8', body: deviceXml(view(req, spec)) };
      },
    });
  }

  routes.set('/api/channels', {
    GET: () => json(200, channelsJson(o.headend(), o.channels(), now(), o.tuners?.() ?? [])),
  });
  routes.set('/api/cluster', {
    GET: () => {
      const c = o.cluster?.();
      return c
        ? json(200, c)
        : jsonError(404, 'not-found', 'this headend is not in a cluster (headend.cluster)');
    },
  });
  routes.set('/healthz', {
    GET: () => {
      const down = [...o.channels()]
        .filter((c) => c.status.state === 'down')
        .sort((a, b) => a.spec.number - b.spec.number);
      // An alert on is said (the channels are fine: it does not change the status).
      const alerts = (o.alert?.state().alerts ?? []).map(
        (a) => `alert on: zone ${a.zone} since ${a.since} (${a.trigger})\n`,
      );
      if (down.length === 0) return text(200, 'ok\n' + alerts.join(''));
      const list = down.map((c) => `${c.spec.number} ${c.spec.name} (${c.spec.slug})`);
      return text(503, `down: ${list.join(', ')}\n` + alerts.join(''));
    },
  });
  routes.set('/metrics', {
    GET: async (_req, url) => {
      if (!o.metrics) return text(200, '# headend: metrics are not available in this build yet\n');
      // ?name=a&name=b: only those (a dashboard or a bench polling one figure often).
      const names = url.searchParams.getAll('name');
      const m = await o.metrics(names.length > 0 ? names : undefined);
      if ('unknown' in m) return jsonError(404, 'not-found', `no metric named ${m.unknown}`);
      return { status: 200, type: m.contentType, body: m.body };
    },
  });
  routes.set('/api/reload', {
    POST: async (req, url) => {
      const d = o.guard?.check(client(req, url), 'write', 'reload');
      if (d && !d.ok) return denied(d);
      if (!o.reload) {
        return jsonError(501, 'not-implemented', 'reload is not available in this daemon');
      }
      const result = await o.reload();
      log.log('info', 'http-reload', { ok: result.ok, errors: result.errors.length });
      return json(result.ok ? 200 : 422, result);
    },
  });

  routes.set('/api/alert', {
    GET: () =>
      o.alert ? json(200, o.alert.state()) : jsonError(404, 'not-found', 'no alert service'),
    POST: (req, url, body) => {
      if (!o.alert) return jsonError(404, 'not-found', 'no alert service');
      // With access rules, a client granted `write` needs no alert token; without an alert
      // token the access rules alone decide (401/403, not the trigger-off 404).
      let granted = false;
      if (o.guard && o.accessConfigured?.() && !hasAlertToken(o.alert, req)) {
        const d = o.guard.check(client(req, url), 'write', 'alert');
        const rulesOnly = o.alert.token() === undefined;
        if (!d.ok && (rulesOnly || d.reason === 'bad-token' || d.reason === 'too-many-failures'))
          return denied(d);
        granted = d.ok;
      }
      const r = postAlert(o.alert, req, body, granted);
      if (r.status !== 200)
        log.log('warn', 'http-alert-refused', { status: r.status, from: req.socket.remoteAddress });
      return { ...json(r.status, r.body), ...(r.headers ? { headers: r.headers } : {}) };
    },
  });

  const lookup = (path: string): Partial<Record<string, Route>> | undefined => {
    const exact = routes.get(path);
    if (exact) return exact;
    const m = /^\/api\/channels\/([^/]+)$/.exec(path);
    if (!m) return undefined;
    let key: string;
    try {
      key = decodeURIComponent(m[1]!);
    } catch {
      return { GET: () => jsonError(400, 'bad-request', 'the channel in the path is not valid') };
    }
    return {
      GET: () => {
        const ch = findChannel(o.channels(), key);
        if (!ch) return jsonError(404, 'not-found', `no channel with slug or number "${key}"`);
        return json(200, channelJson(ch));
      },
    };
  };

  const answer = async (req: IncomingMessage, body: Buffer): Promise<Reply> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://headend.invalid');
    } catch {
      return jsonError(400, 'bad-request', 'the request target is not a valid path');
    }
    const entry = lookup(url.pathname);
    if (!entry) return jsonError(404, 'not-found', `no such resource: ${url.pathname}`);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const route = entry[method];
    if (!route) {
      const allow = Object.keys(entry).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      return {
        ...jsonError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`),
        headers: { allow: allow.join(', ') },
      };
    }
    return route(req, url, body);
  };

  const send = (req: IncomingMessage, res: ServerResponse, r: Reply): void => {
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(r.body, 'utf8');
    res.writeHead(r.status, {
      'content-type': r.type,
      'content-length': String(body.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...r.headers,
    });
    log.log('debug', 'http-request', {
      method: req.method,
      path: withoutToken(req.url),
      status: r.status,
    });
    // HEAD: same headers, no body (node:http drops it too; say so explicitly).
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const url = URL.canParse(req.url ?? '', 'http://headend.invalid')
        ? new URL(req.url ?? '/', 'http://headend.invalid')
        : undefined;
      const stream = url && o.stream && isStreamPath(url.pathname) ? o.stream : undefined;
      const hls = url && o.hls && isHlsPath(url.pathname) ? o.hls : undefined;
      if (url && (stream || hls)) {
        try {
          if (stream) serveStream(stream, req, res, url);
          else serveHls(hls!, req, res, url);
        } catch (err) {
          log.log('error', 'http-error', {
            method: req.method,
            path: url.pathname,
            message: err instanceof Error ? err.message : String(err),
          });
          if (!res.headersSent) send(req, res, jsonError(500, 'internal', 'the stream failed'));
          else res.destroy();
        }
        return;
      }
    }
    // Bodies are read, bounded (POST /api/alert reads its JSON).
    let bodyBytes = 0;
    const chunks: Buffer[] = [];
    let tooLarge = Number(req.headers['content-length'] ?? 0) > BODY_LIMIT;
    const finish = (): void => {
      if (tooLarge) {
        res.setHeader('connection', 'close');
        send(
          req,
          res,
          jsonError(413, 'too-large', `request bodies are limited to ${BODY_LIMIT} bytes`),
        );
        return;
      }
      answer(req, Buffer.concat(chunks)).then(
        (r) => send(req, res, r),
        (err: unknown) => {
          log.log('error', 'http-error', {
            method: req.method,
            path: withoutToken(req.url),
            message: err instanceof Error ? err.message : String(err),
          });
          send(req, res, jsonError(500, 'internal', 'the request failed inside the headend'));
        },
      );
    };
    if (tooLarge) {
      finish();
      req.resume();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (!tooLarge && bodyBytes <= BODY_LIMIT) chunks.push(chunk);
      if (bodyBytes > BODY_LIMIT && !tooLarge) {
        tooLarge = true;
        req.pause();
        finish();
      }
    });
    req.on('end', () => {
      if (!tooLarge) finish();
    });
    req.on('error', (err) => {
      log.log('debug', 'http-request-error', { message: err.message });
    });
  };

  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
    },
    handle,
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log.log('debug', 'http-client-error', { code: err.code, message: err.message });
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
        `content-length: ${reason.length + 1}\r\n\r\n${reason}\n`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown): void => {
      reject(
        fromSystemError('E_NET', `HTTP: cannot listen on ${o.listen.host}:${o.listen.port}`, err),
      );
    };
    server.once('error', onError);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => {
    log.log('error', 'http-error', { message: err.message });
  });
  const a = server.address() as AddressInfo;
  const address = { host: a.address, port: a.port };
  log.log('info', 'http-listening', {
    host: address.host,
    port: address.port,
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`,
  });

  return {
    name: 'http',
    address,
    reloaded: () => {
      o.stream?.streams.reattach();
      o.hls?.hls.sync();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        o.stream?.streams.close();
        o.hls?.hls.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
