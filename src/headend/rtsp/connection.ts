// The RTSP server's TCP connections (RFC 2326 §1.4, §10: requests and responses on one
// connection, answered in order; RFC 7826 §10 for persistent connections), and the client's
// interleaved frames on them (RFC 2326 §10.12: '$' channel length data, RTCP from a TCP client).
//
// Input is accumulated per connection and parsed with the limits of message.ts; one request
// is handled at a time, so responses go out in request order. Bounds on what a client can make
// the server hold:
//   - unparsed input: the parser answers an error at its limits; input arriving while a
//     request is being handled pauses reading past `maxBuffer` until the backlog is parsed;
//   - responses: a client that pipelines requests without reading the answers is not read
//     until it does (not applied to a connection carrying RTP: see pump);
//   - after an answer that closes (the input cannot be resynchronised), the rest is ignored
//     and the connection ends once the client closes its side (or it goes idle);
//   - time: a message must complete once begun (slowloris: bytes dripped slowly are activity,
//     so the idle timeout alone never fires). Its head within `headMs` of its first byte, then
//     its body (or an interleaved frame) within `bodyMs`; else 408 and close (closeStalled).
//     Complete messages, however far apart, never trip this (the idle timeout judges those).

import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import {
  formatResponse,
  parseMessage,
  type PendingPart,
  type RtspLimits,
  type RtspRequest,
} from './message.js';

export interface Conn {
  socket: Socket;
  remote: string;
  buf: Buffer;
  busy: boolean;
  /** Answered with a close (the input cannot be resynchronised): the rest is ignored. */
  closing: boolean;
  lastActivity: number;
  /**
   * Date.now() when the incomplete message at the head of `buf` began (its part; blank lines
   * before a head count as its start), or -1 when there is none.
   */
  pendingSince: number;
  pending: PendingPart;
}

export interface Reply {
  status: number;
  headers?: Array<[string, string]>;
  body?: string;
  /** Close the connection after writing. */
  close?: boolean;
}

/** The counters the connections keep (part of the server's RtspStats). */
export interface ConnectionStats {
  connections: number;
  requests: number;
  /** Responses by status code. */
  responses: Record<number, number>;
  /** Connections closed because a message did not complete in time (slowloris). */
  requestTimeouts: number;
}

/** What the server does with a connection's messages. */
export interface ConnectionHandler {
  /** Answers a request; the next one on the connection waits for this. */
  request(c: Conn, req: RtspRequest): Promise<Reply>;
  /** An interleaved frame from the client (RFC 2326 §10.12). */
  interleaved(socket: Socket, channel: number): void;
  /** Whether the connection carries a TCP session's RTP. */
  carriesRtp(socket: Socket): boolean;
  /** The connection closed. */
  closed(socket: Socket): void;
}

export class Connections {
  readonly open = new Set<Conn>();
  private readonly maxBuffer: number;

  constructor(
    private readonly limits: RtspLimits,
    private readonly log: Logger,
    private readonly stats: ConnectionStats,
    private readonly handler: ConnectionHandler,
  ) {
    this.maxBuffer = limits.maxHeaderBytes + limits.maxBody + 4 + 65_535;
  }

  accept(socket: Socket): void {
    const remote = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const c: Conn = {
      socket,
      remote,
      buf: Buffer.alloc(0),
      busy: false,
      closing: false,
      lastActivity: Date.now(),
      pendingSince: -1,
      pending: 'head',
    };
    this.open.add(c);
    this.stats.connections++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (c.closing) return;
      c.lastActivity = Date.now();
      if (c.pendingSince < 0) startPending(c, 'head', c.lastActivity);
      c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
      // Input arriving while a request is being handled: stop reading past the limit; the
      // pump parses the backlog down and reads on (see its end).
      if (c.buf.length > this.maxBuffer) socket.pause();
      if (!c.busy) void this.pump(c);
    });
    socket.on('error', (err) =>
      this.log.log('debug', 'rtsp-connection-error', { client: remote, message: err.message }),
    );
    socket.on('close', () => {
      this.open.delete(c);
      this.handler.closed(socket);
    });
  }

  /** Closes connections without a request for `idleMs` that carry no RTP. */
  closeIdle(now: number, idleMs: number): void {
    for (const c of this.open) {
      if (now - c.lastActivity > idleMs && !this.handler.carriesRtp(c.socket)) {
        this.log.log('debug', 'rtsp-connection-idle', { client: c.remote });
        c.socket.destroy();
      }
    }
  }

  /**
   * Closes connections whose incomplete message has taken too long: its head over `headMs`
   * since its first byte, its body or an interleaved frame over `bodyMs` since the head (or
   * the frame's first byte). Answered 408 (RFC 2326 §11.3.6) and closed. A connection busy
   * with a request (the server's time, not the client's) is not judged.
   */
  closeStalled(now: number, headMs: number, bodyMs: number): void {
    for (const c of this.open) {
      if (c.busy || c.closing || c.pendingSince < 0 || c.socket.destroyed) continue;
      const limit = c.pending === 'head' ? headMs : bodyMs;
      const ms = now - c.pendingSince;
      if (ms <= limit) continue;
      this.stats.requestTimeouts++;
      this.log.log('warn', 'rtsp-request-timeout', {
        client: c.remote,
        part: c.pending,
        ms,
        limitMs: limit,
        bytes: c.buf.length,
      });
      this.write(c, undefined, { status: 408, close: true });
      // The answer goes out, then the socket closes, whether or not the client reads or
      // closes its side.
      const socket = c.socket;
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }

  destroyAll(): void {
    for (const c of this.open) c.socket.destroy();
  }

  private async pump(c: Conn): Promise<void> {
    const { log, stats } = this;
    c.busy = true;
    try {
      while (c.buf.length > 0 && !c.socket.destroyed && !c.closing) {
        // A client that pipelines requests without reading the answers: stop reading until it
        // does, so its responses never pile up here. (A connection carrying RTP is bounded by
        // the slow-client drop and disconnect instead: its buffer may never drain empty.)
        if (c.socket.writableNeedDrain && !this.handler.carriesRtp(c.socket)) {
          await drained(c.socket);
          continue;
        }
        const r = parseMessage(c.buf, this.limits);
        if (r.kind === 'need-more') {
          // The head is done and the body is due, or the first look at a frame: its clock.
          if (r.part !== c.pending) startPending(c, r.part, Date.now());
          break;
        }
        if (r.consumed >= 0) c.buf = c.buf.subarray(r.consumed);
        // Blank lines belong to the next message's head: its clock runs on (a client that
        // drips only CRLFs is stalling too).
        if (r.kind === 'skip') continue;
        // What follows is the next message, begun by now.
        if (r.consumed >= 0) startPending(c, 'head', c.buf.length > 0 ? Date.now() : -1);
        if (r.kind === 'interleaved') {
          this.handler.interleaved(c.socket, r.channel);
          continue;
        }
        if (r.kind === 'error') {
          log.log('warn', 'rtsp-bad-request', {
            client: c.remote,
            status: r.status,
            message: r.message,
          });
          this.write(c, r.cseq, { status: r.status, close: r.consumed < 0 });
          if (r.consumed < 0) break;
          continue;
        }
        stats.requests++;
        let reply: Reply;
        try {
          reply = await this.handler.request(c, r.request);
        } catch (err) {
          log.log('error', 'rtsp-handler-error', {
            client: c.remote,
            method: r.request.method,
            message: err instanceof Error ? err.message : String(err),
          });
          reply = { status: 500 };
        }
        this.write(c, r.request.cseq, reply);
      }
    } finally {
      c.busy = false;
    }
    if (c.socket.destroyed || c.closing) return;
    // The parser wants more only below its limits, so this is a safety net.
    if (c.buf.length > this.maxBuffer) {
      log.log('warn', 'rtsp-bad-request', {
        client: c.remote,
        message: 'unparsed input over limit',
      });
      c.socket.destroy();
    } else if (c.socket.isPaused()) c.socket.resume();
  }

  private write(c: Conn, cseq: string | undefined, r: Reply): void {
    this.stats.responses[r.status] = (this.stats.responses[r.status] ?? 0) + 1;
    if (c.socket.destroyed) return;
    const text = formatResponse(r.status, cseq, r.headers, r.body);
    if (r.close) {
      c.closing = true;
      c.buf = Buffer.alloc(0);
      c.socket.end(text);
    } else c.socket.write(text);
  }
}

function startPending(c: Conn, part: PendingPart, since: number): void {
  c.pending = part;
  c.pendingSince = since;
}

/** Stops reading until the socket's pending output has been sent (or it closed). */
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
