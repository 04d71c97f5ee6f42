// A SAT>IP server stand-in, written for the tests of our SAT>IP client (not a product: no
// discovery, no real tuner). It speaks enough of SAT>IP 1.2.2 §3.5 over RFC 2326 RTSP on
// 127.0.0.1 to exercise a client end to end:
//
//   SETUP  ?src=…&freq=…&pids=…  with client_port=a-b (RTP/UDP) or interleaved=a-b (TCP)
//          → Session: id;timeout=N, com.ses.streamID: S, Transport
//   PLAY   stream=S?pids=… | addpids=… | delpids=…   (pids=all, pids=none)
//   OPTIONS (keep-alive), TEARDOWN; 454 for a session it does not know, 404 for a stream ID
//
// It plays an MPTS file in a loop at the file's PCR rate (or a given bit rate), passing only
// the PIDs of each session's set, 7 TS packets per RTP datagram (RFC 2250), to the client's
// UDP port or interleaved on the RTSP connection; every 250 ms it sends RTCP SR + SDES + APP
// "SES1" with the tuner's level, lock and quality (lock configurable: an unlocked tuner sends
// no RTP). Sessions without a request for `sessionTimeoutS` are dropped. It can be told to
// answer a status (503, 453, 404) to a method, stopped (every connection closed, sessions
// forgotten) and restarted on the same port, and records every request.
import './private-network.js'; // its sockets only inside the private network namespace

import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { formatResponse, parseMessage, type RtspRequest } from '../../src/headend/rtsp/message.js';
import { buildSenderReport } from '../../src/headend/rtsp/rtcp.js';
import { getPcr, getPid, hasPcr, TS_PACKET_SIZE } from '../../src/mpegts/packet.js';
import { writeRtpHeader, RTP_HEADER_SIZE } from '../../src/mpegts/rtp.js';
import { buildSes1 } from '../../src/headend/tuners/satip/rtcp-status.js';

export interface SatipServerOptions {
  /** The MPTS to play. */
  file: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Session timeout announced and enforced (s). Default 60. */
  sessionTimeoutS?: number;
  /** bit/s; default the file's PCR rate. */
  bitrate?: number;
  /** The tuner's lock as RTCP reports it (false: no RTP either). Default true. */
  lock?: boolean;
}

export interface RecordedRequest {
  method: string;
  uri: string;
  session: string | undefined;
  /** The query of the URI. */
  query: URLSearchParams;
  transport: string | undefined;
}

type Dest =
  | { kind: 'udp'; host: string; rtp: number; rtcp: number }
  | { kind: 'tcp'; socket: TcpSocket; channels: [number, number] };

interface Session {
  id: string;
  streamId: number;
  dest: Dest;
  pids: Set<number> | 'all';
  query: URLSearchParams;
  lastSeen: number;
  playing: boolean;
  startedAt: number;
  sentBytes: number;
  pos: number;
  seq: number;
  ssrc: number;
  out: Buffer;
  outLen: number;
}

export class SatipServer {
  readonly requests: RecordedRequest[] = [];
  /** Answer this status to every request of this method (until cleared). */
  fail: { method: string; status: number } | undefined;
  lock: boolean;
  port = 0;
  readonly bitrate: number;
  private readonly ts: Buffer;
  private server: Server | undefined;
  private readonly conns = new Set<TcpSocket>();
  private readonly sessions = new Map<string, Session>();
  private rtpOut: UdpSocket | undefined;
  private rtcpOut: UdpSocket | undefined;
  private tick: NodeJS.Timeout | undefined;
  private rtcpTick: NodeJS.Timeout | undefined;
  private nextStream = 1;

  constructor(private readonly o: SatipServerOptions) {
    this.ts = readFileSync(o.file);
    this.bitrate = o.bitrate ?? pcrRate(this.ts);
    this.lock = o.lock ?? true;
  }

  static async start(o: SatipServerOptions): Promise<SatipServer> {
    const s = new SatipServer(o);
    s.port = o.port ?? 0;
    await s.listen();
    return s;
  }

  /** Sessions alive now (ids). */
  get sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** The PID set of a session ('all' or a sorted list). */
  pidsOf(id: string): number[] | 'all' | undefined {
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    return s.pids === 'all' ? 'all' : [...s.pids].sort((a, b) => a - b);
  }

  /** Requests of one method. */
  of(method: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Closes every RTSP connection but keeps the sessions (a server that closes idle links). */
  dropConnections(): void {
    for (const c of this.conns) c.destroy();
  }

  /** The server goes down: listener and connections closed, sessions forgotten. */
  async stop(): Promise<void> {
    clearInterval(this.tick);
    clearInterval(this.rtcpTick);
    this.sessions.clear();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const srv = this.server;
    this.server = undefined;
    await Promise.all([
      srv ? new Promise<void>((r) => srv.close(() => r())) : undefined,
      closeUdp(this.rtpOut),
      closeUdp(this.rtcpOut),
    ]);
    this.rtpOut = this.rtcpOut = undefined;
  }

  /** Up again on the same port, knowing no session. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  private async listen(): Promise<void> {
    this.rtpOut = await udp();
    this.rtcpOut = await udp();
    const srv = createServer((c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = srv;
    this.port = (srv.address() as { port: number }).port;
    this.tick = setInterval(() => this.pump(), 10);
    this.rtcpTick = setInterval(() => this.reportAll(), 250);
  }

  private accept(c: TcpSocket): void {
    this.conns.add(c);
    let buf = Buffer.alloc(0);
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const r = parseMessage(buf);
        if (r.kind === 'need-more') break;
        if (r.kind === 'error') {
          c.write(formatResponse(r.status, r.cseq));
          if (r.consumed < 0) return void c.destroy();
          buf = buf.subarray(r.consumed);
          continue;
        }
        buf = buf.subarray(r.consumed);
        if (r.kind === 'request') c.write(this.handle(r.request, c));
      }
    });
    c.on('error', () => undefined);
    c.on('close', () => {
      this.conns.delete(c);
      for (const [id, s] of this.sessions) {
        if (s.dest.kind === 'tcp' && s.dest.socket === c) this.sessions.delete(id);
      }
    });
  }

  private handle(req: RtspRequest, c: TcpSocket): string {
    const url = new URL(req.uri.replace(/^rtsp:/, 'http:'));
    const sid = req.headers.get('session')?.split(';')[0].trim();
    this.requests.push({
      method: req.method,
      uri: req.uri,
      session: sid,
      query: url.searchParams,
      transport: req.headers.get('transport'),
    });
    const answer = (status: number, headers: [string, string][] = []): string =>
      formatResponse(status, req.cseq, headers);
    if (this.fail?.method === req.method) return answer(this.fail.status);
    const s = sid === undefined ? undefined : this.sessions.get(sid);
    if (sid !== undefined && s === undefined) return answer(454);
    if (s !== undefined) s.lastSeen = Date.now();
    const sessionHeader: [string, string][] =
      s === undefined ? [] : [['Session', `${s.id};timeout=${this.timeoutS}`]];
    const streamMatch = /\/stream=(\d+)/.exec(url.pathname);
    if (streamMatch !== null && s !== undefined && Number(streamMatch[1]) !== s.streamId) {
      return answer(404);
    }
    switch (req.method) {
      case 'OPTIONS':
        return answer(200, [
          ...sessionHeader,
          ['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN'],
        ]);
      case 'SETUP': {
        const t = req.headers.get('transport') ?? '';
        const cp = /client_port=(\d+)-(\d+)/.exec(t);
        const il = /interleaved=(\d+)-(\d+)/.exec(t);
        let dest: Dest;
        if (/RTP\/AVP\/TCP/.test(t) && il !== null) {
          dest = { kind: 'tcp', socket: c, channels: [Number(il[1]), Number(il[2])] };
        } else if (cp !== null) {
          const host = c.remoteAddress ?? '127.0.0.1';
          dest = { kind: 'udp', host, rtp: Number(cp[1]), rtcp: Number(cp[2]) };
        } else {
          return answer(461);
        }
        const n = s ?? this.newSession(dest);
        n.dest = dest;
        this.apply(n, url.searchParams);
        const rtpPort = (this.rtpOut?.address() as { port: number }).port;
        const transport =
          dest.kind === 'tcp'
            ? `RTP/AVP/TCP;unicast;interleaved=${dest.channels.join('-')}`
            : `RTP/AVP;unicast;destination=${dest.host};client_port=${dest.rtp}-${dest.rtcp};` +
              `server_port=${rtpPort}-${rtpPort + 1}`;
        return answer(200, [
          ['Session', `${n.id};timeout=${this.timeoutS}`],
          ['com.ses.streamID', String(n.streamId)],
          ['Transport', transport],
        ]);
      }
      case 'PLAY': {
        if (s === undefined) return answer(454);
        this.apply(s, url.searchParams);
        if (!s.playing) {
          s.playing = true;
          s.startedAt = Date.now();
          s.sentBytes = 0;
        }
        return answer(200, [...sessionHeader, ['RTP-Info', `url=${req.uri}`]]);
      }
      case 'TEARDOWN':
        if (s === undefined) return answer(454);
        this.sessions.delete(s.id);
        return answer(200, sessionHeader);
      default:
        return answer(405);
    }
  }

  private get timeoutS(): number {
    return this.o.sessionTimeoutS ?? 60;
  }

  private newSession(dest: Dest): Session {
    const s: Session = {
      id: Math.floor(Math.random() * 0xffffffff)
        .toString(16)
        .padStart(8, '0'),
      streamId: this.nextStream++,
      dest,
      pids: new Set(),
      query: new URLSearchParams(),
      lastSeen: Date.now(),
      playing: false,
      startedAt: 0,
      sentBytes: 0,
      pos: 0,
      seq: Math.floor(Math.random() * 65536),
      ssrc: Math.floor(Math.random() * 0xffffffff),
      out: Buffer.alloc(RTP_HEADER_SIZE + 7 * TS_PACKET_SIZE),
      outLen: 0,
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /** Tuning and pids=/addpids=/delpids= of a query. */
  private apply(s: Session, q: URLSearchParams): void {
    for (const [k, v] of q) if (!/pids$/.test(k)) s.query.set(k, v);
    const list = (v: string): number[] =>
      v === 'none' || v === '' ? [] : v.split(',').map((x) => Number(x));
    const pids = q.get('pids');
    if (pids !== null) s.pids = pids === 'all' ? 'all' : new Set(list(pids));
    const set = s.pids;
    if (set === 'all') return;
    for (const p of list(q.get('delpids') ?? '')) set.delete(p);
    for (const p of list(q.get('addpids') ?? '')) set.add(p);
  }

  /** Sends what is due of the file to every playing session (and drops timed-out ones). */
  private pump(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastSeen > this.timeoutS * 1000) {
        this.sessions.delete(s.id);
        continue;
      }
      if (!s.playing || !this.lock) continue;
      const due = Math.floor((((now - s.startedAt) / 1000) * this.bitrate) / 8);
      while (s.sentBytes + TS_PACKET_SIZE <= due) {
        const p = s.pos;
        const pid = getPid(this.ts, p);
        if (s.pids === 'all' || s.pids.has(pid)) {
          this.ts.copy(s.out, RTP_HEADER_SIZE + s.outLen * TS_PACKET_SIZE, p, p + TS_PACKET_SIZE);
          if (++s.outLen === 7) this.flush(s);
        }
        s.sentBytes += TS_PACKET_SIZE;
        s.pos = p + 2 * TS_PACKET_SIZE > this.ts.length ? 0 : p + TS_PACKET_SIZE;
      }
      if (s.outLen > 0) this.flush(s);
    }
  }

  private flush(s: Session): void {
    writeRtpHeader(s.out, 0, {
      sequence: s.seq,
      timestamp: Math.floor(((Date.now() - s.startedAt) * 90) % 0x1_0000_0000),
      ssrc: s.ssrc,
    });
    s.seq = (s.seq + 1) & 0xffff;
    const pkt = Buffer.from(s.out.subarray(0, RTP_HEADER_SIZE + s.outLen * TS_PACKET_SIZE));
    s.outLen = 0;
    this.send(s, 0, pkt);
  }

  private send(s: Session, which: 0 | 1, pkt: Buffer): void {
    const d = s.dest;
    if (d.kind === 'udp') {
      const sock = which === 0 ? this.rtpOut : this.rtcpOut;
      sock?.send(pkt, which === 0 ? d.rtp : d.rtcp, d.host);
    } else if (!d.socket.destroyed) {
      const head = Buffer.from([0x24, d.channels[which], pkt.length >> 8, pkt.length & 0xff]);
      d.socket.write(Buffer.concat([head, pkt]));
    }
  }

  private reportAll(): void {
    for (const s of this.sessions.values()) {
      if (!s.playing) continue;
      const q = s.query;
      const pids = s.pids === 'all' ? 'all' : [...s.pids].sort((a, b) => a - b).join(',');
      const lock = this.lock;
      const text =
        `ver=1.0;src=${q.get('src') ?? 1};tuner=1,${lock ? 200 : 0},${lock ? 1 : 0},` +
        `${lock ? 15 : 0},${q.get('freq') ?? ''},${q.get('pol') ?? ''},${q.get('msys') ?? ''},` +
        `${q.get('mtype') ?? ''},off,0.35,${q.get('sr') ?? ''},auto;pids=${pids}`;
      const sr = buildSenderReport({
        ssrc: s.ssrc,
        wallMs: Date.now(),
        rtpTime: 0,
        packets: 0,
        octets: 0,
        cname: 'satip-stand-in',
      });
      this.send(s, 1, Buffer.concat([sr, buildSes1(s.ssrc, text)]));
    }
  }
}

/** bit/s between the first and last PCR of the first PCR PID. */
export function pcrRate(ts: Uint8Array): number {
  let pid = -1;
  let first: [number, number] | undefined;
  let last: [number, number] | undefined;
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) {
    if (!hasPcr(ts, o)) continue;
    if (pid < 0) pid = getPid(ts, o);
    if (getPid(ts, o) !== pid) continue;
    if (first === undefined) first = [o, getPcr(ts, o)];
    else last = [o, getPcr(ts, o)];
  }
  if (first === undefined || last === undefined || last[1] <= first[1]) return 2_000_000;
  return ((last[0] - first[0]) * 8 * 27e6) / (last[1] - first[1]);
}

function udp(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('error', () => undefined);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function closeUdp(s: UdpSocket | undefined): Promise<void> {
  return new Promise((r) => (s === undefined ? r() : s.close(() => r())));
}
