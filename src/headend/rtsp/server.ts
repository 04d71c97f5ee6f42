// The RTSP server (RFC 2326 RTSP/1.0; status codes and keep-alive as RFC 7826 clarifies them):
// rtsp://host:port/<channel-slug> or /<channel-number>, media control URL .../track1.
// Connections: connection.ts; the methods (OPTIONS … SET_PARAMETER): methods.ts; here the
// listener, the sessions' life (start, stop, end, timeout) and RTCP (RFC 3550 §6).
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
import { DEFAULT_LIMITS, type RtspLimits } from './message.js';
import type { Session } from './session.js';
import { Connections, type Reply } from './connection.js';
import { createMethods, type MethodContext } from './methods.js';
import { buildSenderReport, isRtcpCompound, rtpTimeAt } from './rtcp.js';

export interface RtspServerLimits extends RtspLimits {
  maxConnections: number;
  /** A connection without a playing TCP session closes after this long without a request. */
  idleConnectionMs: number;
  /**
   * A request's head (request line and headers) must complete within this long of its first
   * byte, else 408 and close: bytes dripped slowly (slowloris) are activity to the idle timeout.
   */
  requestHeadTimeoutMs: number;
  /** A request's body, or an interleaved frame from the client, must complete within this long. */
  requestBodyTimeoutMs: number;
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
  requestHeadTimeoutMs: 10_000,
  requestBodyTimeoutMs: 10_000,
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
  /** The access rules (DESCRIBE, SETUP): MethodContext.authorize. */
  authorize?: MethodContext['authorize'];
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
  /** Connections closed because a request (or frame) did not complete in time (408). */
  requestTimeouts: number;
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

const MULTICAST_DEST_ID = 'rtsp-multicast';

export async function startRtspServer(o: RtspServerOptions): Promise<RtspServer> {
  const limits: RtspServerLimits = { ...DEFAULT_SERVER_LIMITS, ...o.limits };
  const { spec, source, log } = o;
  const sessions = new Map<string, Session>();
  const perClient = new Map<string, number>();
  const byRtcpAddress = new Map<string, Session>();
  const multicastRefs = new Map<string, number>();
  const stats: RtspStats = {
    connections: 0,
    connectionsOpen: 0,
    connectionsRejected: 0,
    requests: 0,
    responses: {},
    requestTimeouts: 0,
    sessionsStarted: 0,
    sessionsTimedOut: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    tcpDropped: 0,
    tcpDisconnects: 0,
  };

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

  const conns = new Connections(limits, log, stats, {
    request: createMethods({
      spec,
      source,
      log,
      stats,
      sessions,
      perClient,
      byRtcpAddress,
      maxBufferedBytes: limits.maxBufferedBytes,
      publicHost: o.publicHost,
      authorize: o.authorize,
      startSession,
      stopSession,
      endSession,
    }),
    interleaved(socket, channel) {
      // RTCP from a TCP client (RFC 2326 §10.12): its receiver reports keep the session alive.
      for (const s of sessions.values()) {
        if (s.tcp?.socket === socket && s.tcp.channels[1] === channel) {
          stats.rtcpReceived++;
          s.reports++;
          s.lastSeen = Date.now();
        }
      }
    },
    carriesRtp: hasTcpSession,
    closed(socket) {
      for (const s of [...sessions.values()])
        if (s.tcp?.socket === socket) endSession(s, 'disconnect');
    },
  });

  const server: Server = createServer((socket) => conns.accept(socket));
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
  const shortest = Math.min(
    spec.sessionTimeoutMs,
    limits.requestHeadTimeoutMs,
    limits.requestBodyTimeoutMs,
  );
  const sweepMs = Math.min(1000, Math.max(50, Math.floor(shortest / 4)));
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
    conns.closeIdle(now, limits.idleConnectionMs);
    conns.closeStalled(now, limits.requestHeadTimeoutMs, limits.requestBodyTimeoutMs);
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
        connectionsOpen: conns.open.size,
        responses: { ...stats.responses },
        tcpDropped: dropped,
      };
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(sweep);
        const closed = new Promise<void>((r) => server.close(() => r()));
        for (const s of [...sessions.values()]) endSession(s, 'shutdown');
        conns.destroyAll();
        await closed;
        await new Promise<void>((r) => rtcp.close(() => r()));
        log.log('info', 'rtsp-stopped', {});
      })();
      return stopping;
    },
  };
}
