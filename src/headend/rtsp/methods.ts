// The RTSP methods (RFC 2326 §10; status codes §7.1.1, RFC 7826 §17): each request of a
// connection becomes a reply here; sessions are created (SETUP) and their state changes
// (PLAY, PAUSE, TEARDOWN) through the server's session functions (server.ts).
//
//   OPTIONS                      Public methods (§10.1)
//   DESCRIBE                     SDP (RFC 4566, MP2T over RTP, RFC 2250); with ?multicast, c= group/TTL
//   SETUP                        Transport: RTP/AVP;multicast | RTP/AVP;unicast;client_port |
//                                RTP/AVP/TCP;interleaved (§12.39); Session: id;timeout=s (§12.37)
//   PLAY / PAUSE / TEARDOWN      §10.5 / §10.6 / §10.7, RTP-Info url;seq;rtptime (§12.33, RFC 3550
//                                timestamps)
//   GET_PARAMETER, SET_PARAMETER empty body: keep-alive (§10.8, §10.9)
//   ANNOUNCE, RECORD, REDIRECT   405; anything else 501

import type { Logger } from '../log.js';
import { isMulticast } from '../output/output.js';
import type { RtspSpec } from '../config/types.js';
import type { RtspChannel, RtspChannelSource } from './types.js';
import type { RtspRequest } from './message.js';
import type { Conn, Reply } from './connection.js';
import { channelSdp } from '../sdp.js';
import { chooseTransport, formatTransport, type TransportAnswer } from './transport.js';
import { newSessionId, sessionIdOf, type Session } from './session.js';
import { InterleavedSender } from './interleaved.js';
import { rtpTimeAt } from './rtcp.js';
import { withoutToken } from '../access/guard.js';

const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER';
/** SAT>IP's stream control path segment (`stream=N`). */
const SATIP_STREAM = /^stream=\d+$/;

export interface MethodContext {
  spec: RtspSpec;
  source: RtspChannelSource;
  log: Logger;
  stats: { sessionsStarted: number };
  sessions: Map<string, Session>;
  perClient: Map<string, number>;
  byRtcpAddress: Map<string, Session>;
  /** Unsent bytes a TCP session may hold before its packets are dropped. */
  maxBufferedBytes: number;
  /** The host name or address put in SDP o= (default: the address the client connected to). */
  publicHost?: string;
  /**
   * Whether the client (its address, the bearer token it sent: Authorization: Bearer, or
   * ?token= in the URL) may play the channel (access/guard.ts); absent: every client may.
   */
  authorize?: (
    client: { address: string; token?: string },
    channel: number,
  ) => { ok: true } | { ok: false; status: number };
  /** Ready → Playing: the reply to send instead of 200 when it fails. */
  startSession(s: Session, ch: RtspChannel): Promise<Reply | undefined>;
  stopSession(s: Session): void;
  endSession(s: Session, reason: string): void;
}

/** The request handler of the server's connections. */
export function createMethods(x: MethodContext): (c: Conn, req: RtspRequest) => Promise<Reply> {
  const { spec, source, log, stats, sessions, perClient, byRtcpAddress } = x;
  const { maxBufferedBytes, publicHost, startSession, stopSession, endSession, authorize } = x;

  /**
   * The access rules for DESCRIBE and SETUP: 401 with WWW-Authenticate: Bearer (RFC 6750 §3)
   * when a token is wanted, 403 when refused (RTSP has no 429: too many bad tokens is 403).
   */
  function refused(c: Conn, req: RtspRequest, query: string, channel: number): Reply | undefined {
    if (!authorize) return undefined;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
    const token = bearer?.[1] ?? new URLSearchParams(query).get('token') ?? undefined;
    const d = authorize({ address: c.socket.remoteAddress ?? c.remote, token }, channel);
    if (d.ok) return undefined;
    if (d.status === 401)
      return { status: 401, headers: [['WWW-Authenticate', 'Bearer realm="headend"']] };
    return { status: 403 };
  }
  const timeoutS = Math.max(1, Math.round(spec.sessionTimeoutMs / 1000));

  /**
   * The channel a URL names: /<slug or number>, its media /<…>/track1, or SAT>IP's control
   * form /<…>/stream=N. `session`: a bare /stream=N (SAT>IP clients such as VLC's, which build
   * their PLAY/TEARDOWN/OPTIONS URL from the server root, SAT>IP 1.2 §3.5) names the session's
   * channel.
   */
  function resolve(
    uri: string,
    session?: Session,
  ): { channel: RtspChannel; base: string; query: string } | undefined {
    const m = /^rtsps?:\/\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?/i.exec(uri);
    if (m === null) return undefined;
    const segs = (m[2] ?? '').split('/').filter((x) => x !== '');
    if (segs.length === 1 && session !== undefined && SATIP_STREAM.test(segs[0])) {
      segs[0] = session.slug;
    }
    if (segs.length === 0 || segs.length > 2) return undefined;
    if (segs.length === 2 && segs[1] !== 'track1' && !SATIP_STREAM.test(segs[1])) return undefined;
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
      uri: withoutToken(req.uri),
      session: sid,
    });
    switch (req.method) {
      case 'OPTIONS':
        if (sid !== undefined && session === undefined) return { status: 454 };
        return { status: 200, headers: [['Public', PUBLIC], ...sessionHeader] };
      case 'DESCRIBE': {
        const r = resolve(req.uri);
        if (r === undefined) return { status: 404 };
        const no = refused(c, req, r.query, r.channel.number);
        if (no) return no;
        const ch = r.channel;
        // The c= line names the multicast group only when asked (?multicast): GStreamer's
        // rtspsrc, given a multicast c=, refuses every unicast transport.
        const mc = /(^|&)multicast(=|&|$)/.test(r.query) ? multicastOf(ch) : undefined;
        const origin = publicHost ?? (c.socket.localAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
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
        const r = resolve(req.uri, session);
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
    const no = refused(c, req, r.query, r.channel.number);
    if (no) return no;
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
      const sender = new InterleavedSender(c.socket, channels, maxBufferedBytes);
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

  return handle;
}
