// One SAT>IP stream on a server, as the RTSP side sees it (SAT>IP Protocol Specification
// 1.2.2 §3.5, over RFC 2326):
//
//   SETUP rtsp://host:port/?<tuning>&pids=…        Transport → Session: id;timeout=N,
//                                                  com.ses.streamID: S
//   PLAY  rtsp://host:port/stream=S?<tuning>&pids=… starts the RTP
//   PLAY  rtsp://host:port/stream=S?delpids=…&addpids=…   the PID set follows the channels
//   OPTIONS (Session)  every timeout/2: the keep-alive (§3.5.4: any request with the Session
//                      header refreshes it; without one the server drops the stream)
//   TEARDOWN rtsp://host:port/stream=S              frees the tuner
//
// PID changes (coalesced by the caller: tuners/pids.ts) are sent one PLAY at a time, the
// latest wanted set after the one in flight, and only once the first PLAY is answered.
// The session is not the TCP connection (RFC 2326 §3): when the server closes the connection
// of a UDP stream we connect again and ask OPTIONS with our Session; a 454 or a refused
// connection means the server forgot us (restarted), and the session is lost.

import { headendError, isHeadendError, type HeadendError } from '../../errors.js';
import { parseSession, RtspClient, type RtspResponse } from './rtsp-client.js';
import { pidChangeQuery, pidsValue, type SatipPids } from './url.js';

/** What a status means from a SAT>IP server (SAT>IP 1.2.2 §3.5.14; RFC 2326 §7.1.1). */
export const SATIP_STATUS: Readonly<Record<number, string>> = {
  400: 'bad request (malformed query)',
  403: 'forbidden: a tuning value is out of range or not understood',
  404: 'not found: no stream with that ID',
  405: 'method not allowed (tuning not possible with these values)',
  408: 'request timeout',
  414: 'request URI too long (too many PIDs)',
  453: 'not enough bandwidth: no free tuner or stream slot on the server',
  454: 'session not found',
  455: 'method not valid in this state',
  461: 'unsupported transport',
  501: 'not implemented',
  503: 'service unavailable: the server reached its maximum of tuners or sessions',
};

export function describeStatus(r: RtspResponse): string {
  return (
    `${r.status} ${r.reason}`.trim() +
    (SATIP_STATUS[r.status] ? ` (${SATIP_STATUS[r.status]})` : '')
  );
}

export interface SessionEvents {
  /** The server forgot the session or became unreachable. */
  lost(message: string): void;
  /** The server refused a PID change. */
  refused(message: string): void;
  /** For RTP over TCP: the connection's interleaved frames. */
  onFrame?: (channel: number, buf: Uint8Array, off: number, len: number) => void;
  /** A PID change was accepted (for logs). */
  pids?: (query: string) => void;
}

export interface SessionOptions {
  host: string;
  port: number;
  /** True when RTP rides the RTSP connection: losing it loses the stream. */
  interleaved: boolean;
  requestTimeoutMs?: number;
}

export class SatipSession {
  private client: RtspClient | undefined;
  private sessionId: string | undefined;
  streamId: string | undefined;
  timeoutS = 60;
  private sent: SatipPids = [];
  private wanted: SatipPids = [];
  private keepAlive: NodeJS.Timeout | undefined;
  private busy = false;
  /** The first PLAY was answered 200: PID changes may go. */
  private live = false;
  private done = false;
  private reconnecting: Promise<void> | undefined;

  constructor(
    private readonly o: SessionOptions,
    private readonly ev: SessionEvents,
  ) {}

  get base(): string {
    return `rtsp://${this.o.host}:${this.o.port}/`;
  }

  get streamUri(): string {
    return `${this.base}stream=${this.streamId ?? ''}`;
  }

  /** The RTSP connection (its local address is where RTP is to be sent). */
  get connection(): RtspClient | undefined {
    return this.client;
  }

  async connect(): Promise<HeadendError | undefined> {
    let client: RtspClient | undefined;
    const c = await RtspClient.connect({
      host: this.o.host,
      port: this.o.port,
      requestTimeoutMs: this.o.requestTimeoutMs,
      onFrame: this.ev.onFrame,
      onClose: (why) => {
        if (client !== undefined) this.connectionLost(client, why);
      },
    });
    if (isHeadendError(c)) return c;
    client = c;
    if (this.done) {
      c.close();
      return undefined;
    }
    this.client = c;
    return undefined;
  }

  /** SETUP with the query and transport; a response with another status is returned as is. */
  async setup(
    query: string,
    transport: string,
    pids: SatipPids,
  ): Promise<RtspResponse | HeadendError> {
    const r = await this.req('SETUP', `${this.base}?${query}`, [['Transport', transport]]);
    if (isHeadendError(r) || r.status !== 200) return r;
    const s = parseSession(r.headers.get('session'));
    this.sessionId = s?.id;
    this.timeoutS = s?.timeoutS ?? 60;
    this.streamId = r.headers.get('com.ses.streamid')?.trim();
    this.sent = pids;
    this.wanted = pids;
    return r;
  }

  /** The first PLAY (with the tuning query); starts the keep-alive. */
  async play(query: string): Promise<RtspResponse | HeadendError> {
    const r = await this.req('PLAY', `${this.streamUri}?${query}`, this.sessionHeader());
    if (!isHeadendError(r) && r.status === 200) {
      this.live = true;
      this.scheduleKeepAlive();
      void this.flush();
    }
    return r;
  }

  /** The PID set the server should pass (sent when the PLAY in flight, if any, is answered). */
  want(pids: SatipPids): void {
    this.wanted = pids;
    void this.flush();
  }

  /** The PID set last accepted by the server. */
  get pids(): SatipPids {
    return this.sent;
  }

  /** TEARDOWN (waiting at most `waitMs`), then closes the connection. */
  async teardown(waitMs = 500): Promise<void> {
    this.done = true;
    clearTimeout(this.keepAlive);
    const c = this.client;
    if (c !== undefined && c.isOpen && this.sessionId !== undefined) {
      const t = c.request('TEARDOWN', this.streamUri, this.sessionHeader());
      await Promise.race([t, new Promise((r) => setTimeout(r, waitMs).unref())]);
    }
    c?.close();
    this.client = undefined;
  }

  private async flush(): Promise<void> {
    if (this.done || this.busy || !this.live) return;
    const target = this.wanted;
    const q = pidChangeQuery(this.sent, target);
    if (q === undefined) return;
    this.busy = true;
    const r = await this.req('PLAY', `${this.streamUri}?${q}`, this.sessionHeader());
    this.busy = false;
    if (this.done) return;
    if (isHeadendError(r)) return this.lose(`PID change unanswered: ${r.message}`);
    if (r.status === 454) return this.lose(`the server no longer knows session ${this.sessionId}`);
    if (r.status !== 200) return this.ev.refused(`PLAY ${q} answered ${describeStatus(r)}`);
    this.sent = target;
    this.ev.pids?.(`${q} (now pids=${pidsValue(target)})`);
    if (this.wanted !== target) void this.flush();
  }

  private scheduleKeepAlive(): void {
    clearTimeout(this.keepAlive);
    if (this.done) return;
    this.keepAlive = setTimeout(() => void this.ping(), (this.timeoutS * 1000) / 2);
  }

  private async ping(): Promise<void> {
    if (this.done) return;
    const r = await this.req('OPTIONS', this.base, this.sessionHeader());
    if (this.done) return;
    if (isHeadendError(r)) return this.lose(`keep-alive failed: ${r.message}`);
    if (r.status === 454) return this.lose(`the server no longer knows session ${this.sessionId}`);
    if (r.status !== 200) return this.lose(`keep-alive answered ${describeStatus(r)}`);
    this.scheduleKeepAlive();
  }

  /** The connection closed under us: RTP over TCP is gone; a UDP stream may survive it. */
  private connectionLost(c: RtspClient, why: HeadendError): void {
    if (this.done || this.client !== c) return;
    this.client = undefined;
    if (this.o.interleaved || this.sessionId === undefined) {
      return this.lose(`${why.message} (the stream rode on it)`);
    }
    this.reconnecting = (async () => {
      const err = await this.connect();
      this.reconnecting = undefined;
      if (this.done) return;
      if (err !== undefined)
        return this.lose(`connection closed, and reconnecting failed: ${err.message}`);
      const r = await this.req('OPTIONS', this.base, this.sessionHeader());
      if (this.done) return;
      if (isHeadendError(r)) return this.lose(`connection closed, then ${r.message}`);
      if (r.status !== 200) {
        return this.lose(
          `connection closed, and the server no longer knows session ${this.sessionId} ` +
            `(${describeStatus(r)}): restarted?`,
        );
      }
    })();
  }

  private lose(message: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.keepAlive);
    this.client?.close();
    this.client = undefined;
    this.ev.lost(message);
  }

  private req(
    method: string,
    uri: string,
    headers: [string, string][] = [],
  ): Promise<RtspResponse | HeadendError> {
    const c = this.client;
    if (c !== undefined) return c.request(method, uri, headers);
    const again = this.reconnecting;
    if (again !== undefined) {
      return again.then(() => this.req(method, uri, headers));
    }
    return Promise.resolve(
      headendError('E_NET', `RTSP ${this.o.host}:${this.o.port}: not connected`),
    );
  }

  private sessionHeader(): [string, string][] {
    return this.sessionId === undefined ? [] : [['Session', this.sessionId]];
  }
}
