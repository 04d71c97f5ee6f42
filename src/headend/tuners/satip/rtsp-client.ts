// A minimal RTSP/1.0 client (RFC 2326) over one TCP connection, for a SAT>IP server: one
// request at a time (§9.1: pipelining is allowed, but SAT>IP servers do not all take it),
// answers matched by CSeq (§12.17), every wait bounded.
//
//   Request  = Method SP Request-URI SP "RTSP/1.0" CRLF *(header CRLF) CRLF       (§6)
//   Response = "RTSP/1.0" SP Status-Code SP Reason-Phrase CRLF *(header CRLF) CRLF
//              [body of Content-Length bytes]                                     (§7, §12.14)
//
// RTP and RTCP interleaved in the connection (§10.12) arrive between responses:
//
//   '$' (0x24) | channel (1 byte) | length (2 bytes, big endian) | <length bytes>
//
// Received bytes are staged in one preallocated buffer, large enough for the biggest frame
// (4 + 65535) or answer (head + body limits); frames are handed out as (buf, off, len) into
// it, so interleaved data costs no allocation per packet. A request from the server (§10:
// servers may send some) is answered 501.

import { connect, type Socket } from 'node:net';
import { fromSystemError, headendError, type HeadendError } from '../../errors.js';

export interface RtspResponse {
  status: number;
  reason: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: Buffer;
}

export interface RtspClientOptions {
  host: string;
  port: number;
  /** Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Status line plus headers; default 8192 bytes. */
  maxHeaderBytes?: number;
  /** Default 16384 bytes. */
  maxBody?: number;
  /** An interleaved frame; the bytes are only valid during the call. */
  onFrame?: (channel: number, buf: Uint8Array, off: number, len: number) => void;
  /** The connection ended without close() being called (server closed, reset, bad answer). */
  onClose?: (why: HeadendError) => void;
}

interface Pending {
  cseq: number;
  what: string;
  resolve: (r: RtspResponse | HeadendError) => void;
  timer: NodeJS.Timeout;
}

const USER_AGENT = 'headend';
const STATUS_LINE = /^RTSP\/\d\.\d (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^[A-Z_]+ \S+ RTSP\/\d\.\d$/;

export class RtspClient {
  private readonly buf: Buffer;
  private len = 0;
  private cseq = 0;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly maxHeader: number;
  private readonly maxBody: number;

  private constructor(
    private readonly socket: Socket,
    private readonly o: RtspClientOptions,
  ) {
    this.maxHeader = o.maxHeaderBytes ?? 8192;
    this.maxBody = o.maxBody ?? 16384;
    this.buf = Buffer.allocUnsafe(Math.max(4 + 65535, this.maxHeader + 4 + this.maxBody) + 1024);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.lost(fromSystemError('E_NET', this.name(), err)));
    socket.on('close', () => this.lost(headendError('E_NET', `${this.name()}: connection closed`)));
  }

  /** Opens the connection; resolves to the client, or to why it could not connect. */
  static connect(o: RtspClientOptions): Promise<RtspClient | HeadendError> {
    return new Promise((resolve) => {
      const socket = connect({ host: o.host, port: o.port });
      const what = `cannot connect to ${o.host}:${o.port}`;
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(headendError('E_NET', `${what}: no answer within ${ms(o.connectTimeoutMs)}`));
      }, o.connectTimeoutMs ?? 5000);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(fromSystemError('E_NET', what, err));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(new RtspClient(socket, o));
      });
    });
  }

  /** Our address on the connection (where the server reaches us). */
  get localAddress(): string {
    return this.socket.localAddress ?? '127.0.0.1';
  }

  /** The server's address as connected (RTP comes from there). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? this.o.host;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Sends a request once the previous one is answered; resolves to the answer (any status),
   * or to an error: no answer in time, connection lost.
   */
  request(
    method: string,
    uri: string,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ): Promise<RtspResponse | HeadendError> {
    const p = this.queue.then(() => this.send(method, uri, headers));
    this.queue = p;
    return p;
  }

  /** Closes the connection (no onClose); a request waiting gets an error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.settle(headendError('E_NET', `${this.name()}: connection closed by us`));
  }

  private send(
    method: string,
    uri: string,
    headers: ReadonlyArray<readonly [string, string]>,
  ): Promise<RtspResponse | HeadendError> {
    if (this.closed) {
      return Promise.resolve(headendError('E_NET', `${this.name()}: not connected`));
    }
    const cseq = ++this.cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, `User-Agent: ${USER_AGENT}`];
    for (const [k, v] of headers) lines.push(`${k}: ${v}`);
    const timeout = this.o.requestTimeoutMs ?? 5000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending?.cseq !== cseq) return;
        this.pending = undefined;
        resolve(
          headendError('E_RTSP', `${this.name()}: no answer to ${method} within ${ms(timeout)}`),
        );
      }, timeout);
      this.pending = { cseq, what: method, resolve, timer };
      this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    });
  }

  private settle(r: RtspResponse | HeadendError): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private lost(why: HeadendError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.settle(why);
    this.o.onClose?.(why);
  }

  private name(): string {
    return `RTSP ${this.o.host}:${this.o.port}`;
  }

  private onData(chunk: Buffer): void {
    for (let at = 0; at < chunk.length && !this.closed;) {
      const n = Math.min(this.buf.length - this.len, chunk.length - at);
      if (n === 0) {
        this.lost(headendError('E_RTSP', `${this.name()}: answer larger than the buffer`));
        return;
      }
      chunk.copy(this.buf, this.len, at, at + n);
      this.len += n;
      at += n;
      this.parse();
    }
  }

  /** Consumes every complete message at the front of the staged bytes. */
  private parse(): void {
    const b = this.buf;
    let p = 0;
    while (p < this.len && !this.closed) {
      if (b[p] === 0x24) {
        if (this.len - p < 4) break;
        const n = (b[p + 2] << 8) | b[p + 3];
        if (this.len - p < 4 + n) break;
        this.o.onFrame?.(b[p + 1], b, p + 4, n);
        p += 4 + n;
        continue;
      }
      if (b[p] === 0x0d || b[p] === 0x0a) {
        p++;
        continue;
      }
      const used = this.message(p);
      if (used === 0) break;
      p += used;
    }
    if (p > 0) {
      b.copyWithin(0, p, this.len);
      this.len -= p;
    }
  }

  /** One response (or server request) at buf[p..]: bytes used, 0 when incomplete. */
  private message(p: number): number {
    const b = this.buf;
    const limit = Math.min(this.len, p + this.maxHeader + 4);
    let headEnd = -1;
    for (let i = p; i + 3 < limit; i++) {
      if (b[i] === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) {
        headEnd = i;
        break;
      }
    }
    if (headEnd < 0) {
      if (this.len - p > this.maxHeader + 4) {
        this.lost(
          headendError('E_RTSP', `${this.name()}: answer head over ${this.maxHeader} bytes`),
        );
      }
      return 0;
    }
    const lines = b.toString('latin1', p, headEnd).split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const k = line.slice(0, colon).trim().toLowerCase();
      const v = line.slice(colon + 1).trim();
      const prev = headers.get(k);
      headers.set(k, prev === undefined ? v : `${prev}, ${v}`);
    }
    const cl = headers.get('content-length') ?? '0';
    const bodyLen = /^\d{1,9}$/.test(cl) ? Number(cl) : -1;
    if (bodyLen < 0 || bodyLen > this.maxBody) {
      this.lost(headendError('E_RTSP', `${this.name()}: bad or too large Content-Length ${cl}`));
      return 0;
    }
    const start = headEnd + 4;
    if (this.len < start + bodyLen) return 0;
    const used = start + bodyLen - p;
    const m = STATUS_LINE.exec(lines[0]);
    if (m === null) {
      if (REQUEST_LINE.test(lines[0])) {
        // A request from the server (RFC 2326 §10): we implement none.
        const cseq = headers.get('cseq');
        this.socket.write(
          `RTSP/1.0 501 Not Implemented\r\n${cseq !== undefined ? `CSeq: ${cseq}\r\n` : ''}\r\n`,
        );
        return used;
      }
      this.lost(
        headendError('E_RTSP', `${this.name()}: not an RTSP answer: '${lines[0].slice(0, 80)}'`),
      );
      return 0;
    }
    const cseq = headers.get('cseq');
    // An answer to a request that already timed out carries an older CSeq: dropped.
    if (this.pending !== undefined && (cseq === undefined || Number(cseq) === this.pending.cseq)) {
      this.settle({
        status: Number(m[1]),
        reason: m[2] ?? '',
        headers,
        body: Buffer.from(b.subarray(start, start + bodyLen)),
      });
    }
    return used;
  }
}

/** Session header (RFC 2326 §12.37): `id[;timeout=N]`, timeout default 60 s. */
export function parseSession(v: string | undefined): { id: string; timeoutS: number } | undefined {
  if (v === undefined) return undefined;
  const [id, ...params] = v.split(';').map((s) => s.trim());
  if (id === '') return undefined;
  let timeoutS = 60;
  for (const p of params) {
    const m = /^timeout\s*=\s*(\d+)$/i.exec(p);
    if (m !== null && Number(m[1]) > 0) timeoutS = Number(m[1]);
  }
  return { id, timeoutS };
}

/** `interleaved=a-b` (or `=a`) of a Transport header, else undefined. */
export function parseInterleaved(transport: string | undefined): [number, number] | undefined {
  const m = /interleaved=(\d+)(?:-(\d+))?/i.exec(transport ?? '');
  if (m === null) return undefined;
  const a = Number(m[1]);
  return [a, m[2] !== undefined ? Number(m[2]) : a + 1];
}

function ms(v: number | undefined): string {
  return `${v ?? 5000} ms`;
}
