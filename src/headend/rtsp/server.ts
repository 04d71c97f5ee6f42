// The RTSP server (RFC 2326 RTSP/1.0; status codes and keep-alive as RFC 7826 clarifies them):
// rtsp://host:port/<channel-slug> or /<channel-number>, media control URL .../track1.
//
//   OPTIONS                      Public methods (§10.1)
//   DESCRIBE                     SDP (RFC 4566, MP2T over RTP, RFC 2250); with ?multicast, c= group/TTL
//   SETUP                        Transport: RTP/AVP;multicast | RTP/AVP;unicast;client_port |
//                                RTP/AVP/TCP;interleaved (§12.39); Session: id;timeout=s (§12.37)
//   PLAY / PAUSE / TEARDOWN      §10.5 / §10.6 / §10.7, RTP-Info url;seq;rtptime (§12.33)
//   GET_PARAMETER, SET_PARAMETER empty body: keep-alive (§10.8, §10.9)
//
// Unicast UDP and multicast are sent by the channel's pacing worker (RtspChannelSource
// addDestination), from rtpPort; this server only owns the RTCP port (rtpPort + 1): it sends
// SR + SDES to each UDP session every `srIntervalMs` and counts the receiver reports, which
// refresh the session. RTP over TCP is written here from the channel's tap (interleaved.ts).
// A raw-UDP channel's RTP companion group is fed only while a multicast session plays it.

import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Logger } from '../log.js';
import type { RtspSpec } from '../config/types.js';
import type { DaemonService } from '../services.js';
import type { RtspChannel, RtspChannelSource } from './types.js';
import { channelSdp } from '../sdp.js';
import {
  DEFAULT_LIMITS,
  formatResponse,
  parseMessage,
  type RtspLimits,
  type RtspRequest,
} from './message.js';
import { chooseTransport, formatTransport, type TransportAnswer } from './transport.js';
import { newSessionId, sessionIdOf, type Session } from './session.js';
import { InterleavedSender } from './interleaved.js';
import { buildSenderReport, isRtcpCompound, rtpTimeAt } from './rtcp.js';

export interface RtspServerLimits extends RtspLimits {
  maxConnections: number;
  /** A connection without a playing TCP session closes after this long without a request. */
  idleConnectionMs: number;
  /** Unsent bytes a TCP session may hold before its packets are dropped. */
  maxBufferedBytes: number;
  /** A TCP session dropping continuously for this long is disconnected. */
  dropDisconnectMs: number;
  /** RTCP sender report interval (RFC 3550 §6.2; at most 5 s here). */
  srIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: RtspServerLimits = {
  ...DEFAULT_LIMITS,
  maxConnections: 2048,
  idleConnectionMs: 60_000,
  maxBufferedBytes: 2 * 1024 * 1024,
  dropDisconnectMs: 5_000,
  srIntervalMs: 2_000,
};

export interface RtspServerOptions {
  spec: RtspSpec;
  source: RtspChannelSource;
  log: Logger;
  /** The host name or address put in SDP o= (default: the address the client connected to). */
  publicHost?: string;
  limits?: Partial<RtspServerLimits>;
}

export interface RtspStats {
  /** Connections accepted so far. */
  connections: number;
  /** Connections open now. */
  connectionsOpen: number;
  connectionsRejected: number;
  requests: number;
  /** Responses by status code. */
  responses: Record<number, number>;
  sessionsStarted: number;
  sessionsTimedOut: number;
  rtcpSent: number;
  rtcpReceived: number;
  tcpDropped: number;
  tcpDisconnects: number;
}

export interface RtspServer extends DaemonService {
  readonly name: 'rtsp';
  readonly address: { host: string; port: number };
  /** Live sessions by transport (for metrics), of one channel or all. */
  sessions(slug?: string): { udp: number; tcp: number; multicast: number };
  stats(): RtspStats;
  stop(): Promise<void>;
}

const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER';
const MULTICAST_DEST_ID = 'rtsp-multicast';

interface Conn {
  socket: Socket;
  remote: string;
  buf: Buffer;
  busy: boolean;
  /** Answered with a close (the input cannot be resynchronised): the rest is ignored. */
  closing: boolean;
  lastActivity: number;
}

interface Reply {
  status: number;
  headers?: Array<[string, string]>;
  body?: string;
  /** Close the connection after writing. */
  close?: boolean;
}

export async function startRtspServer(o: RtspServerOptions): Promise<RtspServer> {
  const limits: RtspServerLimits = { ...DEFAULT_SERVER_LIMITS, ...o.limits };
  const { spec, source, log } = o;
  const timeoutS = Math.max(1, Math.round(spec.sessionTimeoutMs / 1000));
  const sessions = new Map<string, Session>();
  const perClient = new Map<string, number>();
  const byRtcpAddress = new Map<string, Session>();
  const multicastRefs = new Map<string, number>();
  const conns = new Set<Conn>();
  const stats: RtspStats = {
    connections: 0,
    connectionsOpen: 0,
    connectionsRejected: 0,
    requests: 0,
    responses: {},
    sessionsStarted: 0,
    sessionsTimedOut: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    tcpDropped: 0,
    tcpDisconnects: 0,
  };
  const maxBuffer = limits.maxHeaderBytes + limits.maxBody + 4 + 65_535;

  // RTCP port: receiver reports in, sender reports out.
  const rtcp: UdpSocket = createSocket('udp4');
  rtcp.on('message', (msg, rinfo) => {
    const s = byRtcpAddress.get(`${rinfo.address}:${rinfo.port}`);
    if (s === undefined || !isRtcpCompound(msg)) return;
    stats.rtcpReceived++;
    s.reports++;
    s.lastSeen = Date.now();
  });
  rtcp.on('error', (err) => log.log('warn', 'rtsp-rtcp-error', { message: err.message }));
  await new Promise<void>((resolve, reject) => {
    rtcp.once('error', reject);
    rtcp.bind(spec.rtpPort + 1, spec.listen.host, () => {
      rtcp.off('error', reject);
      resolve();
    });
  });

  const server: Server = createServer((socket) => accept(socket));
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => {
    stats.connectionsRejected++;
    log.log('warn', 'rtsp-connection-rejected', {
      message: `over ${limits.maxConnections} connections`,
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.listen.port, spec.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    rtcp.close();
    throw err;
  }
  server.on('error', (err) => log.log('error', 'rtsp-server-error', { message: err.message }));
  const bound = server.address();
  const address = {
    host: spec.listen.host,
    port: typeof bound === 'object' && bound !== null ? bound.port : spec.listen.port,
  };
  log.log('info', 'rtsp-listening', {
    host: address.host,
    port: address.port,
    rtcpPort: spec.rtpPort + 1,
  });

  let stopping: Promise<void> | undefined;
  let lastSr = 0;
  const sweepMs = Math.min(1000, Math.max(50, Math.floor(spec.sessionTimeoutMs / 4)));
  const sweep = setInterval(() => {
    const now = Date.now();
    const nowNs = Number(process.hrtime.bigint());
    const live = new Set(source.channels().map((c) => c.slug));
    for (const s of [...sessions.values()]) {
      if (!live.has(s.slug)) endSession(s, 'channel-removed');
      else if (s.kind !== 'tcp' && now - s.lastSeen > spec.sessionTimeoutMs) {
        stats.sessionsTimedOut++;
        endSession(s, 'timeout');
      } else if (s.tcp?.sender && s.tcp.sender.droppingSinceNs > 0) {
        if (nowNs - s.tcp.sender.droppingSinceNs > limits.dropDisconnectMs * 1e6) {
          stats.tcpDisconnects++;
          log.log('warn', 'rtsp-slow-client', {
            session: s.id,
            channel: s.slug,
            client: s.client,
            dropped: s.tcp.sender.dropped,
          });
          s.tcp.socket.destroy();
        }
      }
    }
    for (const c of conns) {
      if (now - c.lastActivity > limits.idleConnectionMs && !hasTcpSession(c.socket)) {
        log.log('debug', 'rtsp-connection-idle', { client: c.remote });
        c.socket.destroy();
      }
    }
    if (now - lastSr >= limits.srIntervalMs) {
      lastSr = now;
      sendReports(nowNs);
    }
  }, sweepMs);
  sweep.unref();

  function hasTcpSession(socket: Socket): boolean {
    for (const s of sessions.values()) if (s.tcp?.socket === socket) return true;
    return false;
  }

  function accept(socket: Socket): void {
    const remote = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const c: Conn = {
      socket,
      remote,
      buf: Buffer.alloc(0),
      busy: false,
      closing: false,
      lastActivity: Date.now(),
    };
    conns.add(c);
    stats.connections++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (c.closing) return;
      c.lastActivity = Date.now();
      c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
      // Input arriving while a request is being handled: stop reading past the limit; the
      // pump parses the backlog down and reads on (see its end).
      if (c.buf.length > maxBuffer) socket.pause();
      if (!c.busy) void pump(c);
    });
    socket.on('error', (err) =>
      log.log('debug', 'rtsp-connection-error', { client: remote, message: err.message }),
    );
    socket.on('close', () => {
      conns.delete(c);
      for (const s of [...sessions.values()])
        if (s.tcp?.socket === socket) endSession(s, 'disconnect');
    });
  }

  async function pump(c: Conn): Promise<void> {
    c.busy = true;
    try {
      while (c.buf.length > 0 && !c.socket.destroyed && !c.closing) {
        // A client that pipelines requests without reading the answers: stop reading until it
        // does, so its responses never pile up here. (A connection carrying RTP is bounded by
        // the slow-client drop and disconnect instead: its buffer may never drain empty.)
        if (c.socket.writableNeedDrain && !hasTcpSession(c.socket)) {
          await drained(c.socket);
          continue;
        }
        const r = parseMessage(c.buf, limits);
        if (r.kind === 'need-more') break;
        if (r.consumed >= 0) c.buf = c.buf.subarray(r.consumed);
        if (r.kind === 'skip') continue;
        if (r.kind === 'interleaved') {
          // RTCP from a TCP client (RFC 2326 §10.12): its receiver reports keep the session alive.
          for (const s of sessions.values()) {
            if (s.tcp?.socket === c.socket && s.tcp.channels[1] === r.channel) {
              stats.rtcpReceived++;
              s.reports++;
              s.lastSeen = Date.now();
            }
          }
          continue;
        }
        if (r.kind === 'error') {
          log.log('warn', 'rtsp-bad-request', {
            client: c.remote,
            status: r.status,
            message: r.message,
          });
          write(c, r.cseq, { status: r.status, close: r.consumed < 0 });
          if (r.consumed < 0) break;
          continue;
        }
        stats.requests++;
        let reply: Reply;
        try {
          reply = await handle(c, r.request);
        } catch (err) {
          log.log('error', 'rtsp-handler-error', {
            client: c.remote,
            method: r.request.method,
            message: err instanceof Error ? err.message : String(err),
          });
          reply = { status: 500 };
        }
        write(c, r.request.cseq, reply);
      }
    } finally {
      c.busy = false;
    }
    if (c.socket.destroyed || c.closing) return;
    // The parser wants more only below its limits, so this is a safety net.
    if (c.buf.length > maxBuffer) {
      log.log('warn', 'rtsp-bad-request', {
        client: c.remote,
        message: 'unparsed input over limit',
      });
      c.socket.destroy();
    } else if (c.socket.isPaused()) c.socket.resume();
  }

  function drained(socket: Socket): Promise<void> {
    socket.pause();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        if (!socket.destroyed) socket.resume();
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  function write(c: Conn, cseq: string | undefined, r: Reply): void {
    stats.responses[r.status] = (stats.responses[r.status] ?? 0) + 1;
    if (c.socket.destroyed) return;
    const text = formatResponse(r.status, cseq, r.headers, r.body);
    if (r.close) {
      c.closing = true;
      c.buf = Buffer.alloc(0);
      c.socket.end(text);
    } else c.socket.write(text);
  }

  /** The channel and whether the URL names its media (track1) or the aggregate. */
  function resolve(uri: string): { channel: RtspChannel; base: string; query: string } | undefined {
    const m = /^rtsps?:\/\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?/i.exec(uri);
    if (m === null) return undefined;
    const segs = (m[2] ?? '').split('/').filter((x) => x !== '');
    if (segs.length === 0 || segs.length > 2) return undefined;
    if (segs.length === 2 && segs[1] !== 'track1') return undefined;
    let key: string;
    try {
      key = decodeURIComponent(segs[0]);
    } catch {
      return undefined;
    }
    const channel = source
      .channels()
      .find((ch) => ch.slug === key || (/^\d+$/.test(key) && ch.number === Number(key)));
    if (channel === undefined) return undefined;
    return { channel, base: `rtsp://${m[1]}/${segs[0]}`, query: m[3] ?? '' };
  }

  function multicastOf(
    ch: RtspChannel,
  ): { group: string; port: number; ttl: number; companion: boolean } | undefined {
    if (ch.output.protocol === 'rtp' && isMulticast(ch.output.group)) {
      return { group: ch.output.group, port: ch.output.port, ttl: ch.output.ttl, companion: false };
    }
    if (ch.companionGroup !== undefined) {
      return {
        group: ch.companionGroup,
        port: ch.output.port,
        ttl: ch.output.ttl,
        companion: true,
      };
    }
    return undefined;
  }

  async function handle(c: Conn, req: RtspRequest): Promise<Reply> {
    const sid = sessionIdOf(req.headers.get('session'));
    const session = sid === undefined ? undefined : sessions.get(sid);
    if (session !== undefined) session.lastSeen = Date.now();
    const sessionHeader: Array<[string, string]> = session ? [['Session', session.id]] : [];
    log.log('debug', 'rtsp-request', {
      client: c.remote,
      method: req.method,
      uri: req.uri,
      session: sid,
    });
    switch (req.method) {
      case 'OPTIONS':
        if (sid !== undefined && session === undefined) return { status: 454 };
        return { status: 200, headers: [['Public', PUBLIC], ...sessionHeader] };
      case 'DESCRIBE': {
        const r = resolve(req.uri);
        if (r === undefined) return { status: 404 };
        const ch = r.channel;
        // The c= line names the multicast group only when asked (?multicast): GStreamer's
        // rtspsrc, given a multicast c=, refuses every unicast transport.
        const mc = /(^|&)multicast(=|&|$)/.test(r.query) ? multicastOf(ch) : undefined;
        const origin = o.publicHost ?? (c.socket.localAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
        const body = channelSdp({
          sessionId: ch.number,
          version: 1,
          origin,
          name: ch.name,
          info: `${ch.number} ${ch.name}${ch.provider ? ` (${ch.provider})` : ''}`,
          transport: 'rtp',
          multicast: mc ? { group: mc.group, ttl: mc.ttl, source: ch.output.source } : null,
          port: mc ? mc.port : 0,
          control: { aggregate: r.base, media: `${r.base}/track1` },
        });
        return {
          status: 200,
          headers: [
            ['Content-Type', 'application/sdp'],
            ['Content-Base', `${r.base}/`],
          ],
          body,
        };
      }
      case 'SETUP':
        return setup(c, req, sid, session);
      case 'PLAY': {
        if (session === undefined) return { status: 454 };
        const r = resolve(req.uri);
        if (r === undefined) return { status: 404 };
        if (r.channel.slug !== session.slug) return { status: 459 };
        if (session.state === 'ready') {
          const err = await startSession(session, r.channel);
          if (err !== undefined) return err;
        }
        return {
          status: 200,
          headers: [
            ['Session', session.id],
            ['Range', 'npt=0.000-'],
            ...rtpInfo(session, `${r.base}/track1`),
          ],
        };
      }
      case 'PAUSE':
        if (session === undefined) return { status: 454 };
        stopSession(session);
        return { status: 200, headers: sessionHeader };
      case 'TEARDOWN':
        if (session === undefined) return { status: 454 };
        endSession(session, 'teardown');
        return { status: 200, headers: sessionHeader };
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        if (sid !== undefined && session === undefined) return { status: 454 };
        if (req.body.length > 0) return { status: 451, headers: sessionHeader };
        return { status: 200, headers: sessionHeader };
      case 'ANNOUNCE':
      case 'RECORD':
      case 'REDIRECT':
        return { status: 405, headers: [['Allow', PUBLIC]] };
      default:
        return { status: 501, headers: [['Public', PUBLIC]] };
    }
  }

  function setup(
    c: Conn,
    req: RtspRequest,
    sid: string | undefined,
    existing: Session | undefined,
  ): Reply {
    const r = resolve(req.uri);
    if (r === undefined) return { status: 404 };
    const header = req.headers.get('transport');
    if (header === undefined) return { status: 400 };
    if (sid !== undefined && existing === undefined) return { status: 454 };
    if (existing !== undefined && existing.slug !== r.channel.slug) return { status: 459 };
    if (existing !== undefined && existing.state === 'playing')
      return {
        status: 455,
        headers: [['Allow', 'PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER, OPTIONS']],
      };
    const t = chooseTransport(header);
    if (t === undefined) return { status: 461 };
    const ch = r.channel;
    let answer: TransportAnswer;
    const mc = t.kind === 'multicast' ? multicastOf(ch) : undefined;
    if (t.kind === 'multicast' && mc === undefined) return { status: 461 };
    if (existing === undefined) {
      if (sessions.size >= spec.maxSessions) {
        log.log('warn', 'rtsp-session-refused', {
          client: c.remote,
          message: `over ${spec.maxSessions} sessions`,
        });
        return { status: 503 };
      }
      if ((perClient.get(c.remote) ?? 0) >= spec.maxSessionsPerClient) {
        log.log('warn', 'rtsp-session-refused', {
          client: c.remote,
          message: `over ${spec.maxSessionsPerClient} sessions for this client`,
        });
        return { status: 503 };
      }
    }
    const s: Session = existing ?? {
      id: newSessionId(),
      client: c.remote,
      slug: ch.slug,
      kind: t.kind,
      state: 'ready',
      lastSeen: Date.now(),
      reports: 0,
    };
    if (s.udp) byRtcpAddress.delete(`${s.udp.address}:${s.udp.rtcpPort}`);
    s.kind = t.kind;
    s.udp = undefined;
    s.tcp = undefined;
    s.multicast = undefined;
    const ssrc = source.rtpState(ch.slug)?.ssrc;
    if (t.kind === 'udp' && t.clientPorts) {
      s.udp = { address: c.remote, rtpPort: t.clientPorts[0], rtcpPort: t.clientPorts[1] };
      byRtcpAddress.set(`${c.remote}:${t.clientPorts[1]}`, s);
      answer = {
        kind: 'udp',
        clientPorts: t.clientPorts,
        serverPorts: [spec.rtpPort, spec.rtpPort + 1],
        ssrc,
      };
    } else if (t.kind === 'tcp') {
      const channels = t.interleaved ?? [0, 1];
      const sender = new InterleavedSender(c.socket, channels, limits.maxBufferedBytes);
      s.tcp = { socket: c.socket, channels, sender };
      answer = { kind: 'tcp', interleaved: channels, ssrc: sender.ssrc };
    } else {
      s.multicast = mc!;
      answer = { kind: 'multicast', group: mc!.group, port: mc!.port, ttl: mc!.ttl, ssrc };
    }
    if (existing === undefined) {
      sessions.set(s.id, s);
      perClient.set(c.remote, (perClient.get(c.remote) ?? 0) + 1);
      stats.sessionsStarted++;
      log.log('info', 'rtsp-session-start', {
        session: s.id,
        channel: s.slug,
        client: s.client,
        transport: s.kind,
      });
    }
    return {
      status: 200,
      headers: [
        ['Transport', formatTransport(answer)],
        ['Session', `${s.id};timeout=${timeoutS}`],
      ],
    };
  }

  async function startSession(s: Session, ch: RtspChannel): Promise<Reply | undefined> {
    try {
      if (s.udp) {
        await source.addDestination(ch.slug, {
          id: s.id,
          address: s.udp.address,
          port: s.udp.rtpPort,
          ttl: 64,
        });
      } else if (s.multicast) {
        const n = multicastRefs.get(ch.slug) ?? 0;
        multicastRefs.set(ch.slug, n + 1);
        if (n === 0 && s.multicast.companion) {
          const m = s.multicast;
          await source.addDestination(ch.slug, {
            id: MULTICAST_DEST_ID,
            address: m.group,
            port: m.port,
            ttl: m.ttl,
          });
          log.log('info', 'rtsp-companion-on', { channel: ch.slug, group: `${m.group}:${m.port}` });
        }
      } else if (s.tcp?.sender) {
        s.tcp.untap = source.tap(ch.slug, s.tcp.sender.onDatagram);
      }
    } catch (err) {
      log.log('error', 'rtsp-play-failed', {
        session: s.id,
        channel: ch.slug,
        message: err instanceof Error ? err.message : String(err),
      });
      if (s.multicast) releaseMulticast(s);
      return { status: 500 };
    }
    s.state = 'playing';
    if (!sessions.has(s.id)) {
      // Torn down (timeout, disconnect) while the destination was being added: undo.
      stopSession(s);
      return { status: 454 };
    }
    log.log('info', 'rtsp-play', {
      session: s.id,
      channel: ch.slug,
      client: s.client,
      transport: s.kind,
    });
    return undefined;
  }

  function rtpInfo(s: Session, url: string): Array<[string, string]> {
    const nowNs = Number(process.hrtime.bigint());
    const st = source.rtpState(s.slug);
    if (s.tcp?.sender) {
      const rtptime = st ? `;rtptime=${rtpTimeAt(st.rtpTime, st.atNs, nowNs)}` : '';
      return [['RTP-Info', `url=${url};seq=${s.tcp.sender.seq}${rtptime}`]];
    }
    if (st === undefined) return [['RTP-Info', `url=${url}`]];
    return [
      ['RTP-Info', `url=${url};seq=${st.nextSeq};rtptime=${rtpTimeAt(st.rtpTime, st.atNs, nowNs)}`],
    ];
  }

  function releaseMulticast(s: Session): void {
    const n = (multicastRefs.get(s.slug) ?? 1) - 1;
    if (n > 0) {
      multicastRefs.set(s.slug, n);
      return;
    }
    multicastRefs.delete(s.slug);
    if (s.multicast?.companion) {
      source.removeDestination(s.slug, MULTICAST_DEST_ID);
      log.log('info', 'rtsp-companion-off', {
        channel: s.slug,
        group: `${s.multicast.group}:${s.multicast.port}`,
      });
    }
  }

  /** Playing → Ready: stop sending. */
  function stopSession(s: Session): void {
    if (s.state !== 'playing') return;
    s.state = 'ready';
    if (s.udp) source.removeDestination(s.slug, s.id);
    else if (s.multicast) releaseMulticast(s);
    else if (s.tcp) {
      s.tcp.untap?.();
      s.tcp.untap = undefined;
      if (s.tcp.sender) stats.tcpDropped += s.tcp.sender.dropped;
    }
  }

  function endSession(s: Session, reason: string): void {
    if (!sessions.delete(s.id)) return;
    stopSession(s);
    const n = (perClient.get(s.client) ?? 1) - 1;
    if (n > 0) perClient.set(s.client, n);
    else perClient.delete(s.client);
    if (s.udp) byRtcpAddress.delete(`${s.udp.address}:${s.udp.rtcpPort}`);
    log.log('info', 'rtsp-session-end', {
      session: s.id,
      channel: s.slug,
      client: s.client,
      transport: s.kind,
      reason,
      reports: s.reports,
      dropped: s.tcp?.sender?.dropped,
    });
  }

  function sendReports(nowNs: number): void {
    const wallMs = Date.now();
    for (const s of sessions.values()) {
      if (s.state !== 'playing') continue;
      if (s.udp) {
        const st = source.rtpState(s.slug);
        if (st === undefined) continue;
        const sr = buildSenderReport({
          ssrc: st.ssrc,
          wallMs,
          rtpTime: rtpTimeAt(st.rtpTime, st.atNs, nowNs),
          packets: st.packets,
          octets: st.octets,
          cname: `headend@${address.host}`,
        });
        rtcp.send(sr, s.udp.rtcpPort, s.udp.address);
        stats.rtcpSent++;
      } else if (s.tcp?.sender && s.tcp.sender.packets > 0) {
        const t = s.tcp.sender;
        const sr = buildSenderReport({
          ssrc: t.ssrc,
          wallMs,
          rtpTime: rtpTimeAt(t.lastRtpTime, t.lastDueNs, nowNs),
          packets: t.packets,
          octets: t.octets,
          cname: `headend@${address.host}`,
        });
        if (t.sendRtcp(sr)) stats.rtcpSent++;
      }
    }
  }

  return {
    name: 'rtsp',
    address,
    sessions(slug?: string) {
      const n = { udp: 0, tcp: 0, multicast: 0 };
      for (const s of sessions.values()) if (slug === undefined || s.slug === slug) n[s.kind]++;
      return n;
    },
    stats() {
      let dropped = stats.tcpDropped;
      for (const s of sessions.values())
        if (s.state === 'playing' && s.tcp?.sender) dropped += s.tcp.sender.dropped;
      return {
        ...stats,
        connectionsOpen: conns.size,
        responses: { ...stats.responses },
        tcpDropped: dropped,
      };
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(sweep);
        const closed = new Promise<void>((r) => server.close(() => r()));
        for (const s of [...sessions.values()]) endSession(s, 'shutdown');
        for (const c of conns) c.socket.destroy();
        await closed;
        await new Promise<void>((r) => rtcp.close(() => r()));
        log.log('info', 'rtsp-stopped', {});
      })();
      return stopping;
    },
  };
}

function isMulticast(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}
