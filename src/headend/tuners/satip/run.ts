// A SAT>IP tuner as a source run (SAT>IP Protocol Specification 1.2.2 §3.5 over RFC 2326
// RTSP, RTP/RTCP per RFC 3550 with the RFC 2250 MP2T payload): connect, SETUP with the
// tuning and the PIDs the channels need, PLAY, then
//
//   RTP (UDP port pair, or interleaved in the RTSP connection) ─► header stripped ─► ctx.data
//                                                               └► TunerPids (PidPlan)
//   the plan widens (PAT → PMTs → streams) or ctx.services() changes (coalesced by TunerPids)
//       ─► PLAY stream=S?delpids=…&addpids=…   (pids=all while a subscriber takes every service)
//   RTCP APP "SES1" ─► ctx.tuner({ lock, signal %, snr % })
//
// The run ends by itself (ctx.ended, once) when:
//   'open'   the server cannot be reached, or the RTP ports cannot be bound
//   'tuner'  SETUP/PLAY refused (404, 453, 503 … with the spec's meaning), or no lock (or no
//            RTP at all) for tuneTimeoutMs after PLAY, or the lock lost for that long
//   'exit'   the session is lost: keep-alive unanswered, server restarted, connection gone
// and then tears the stream down itself. Not persistent: the supervisor restarts it with
// backoff. Receive path: one view per datagram (the payload), nothing else allocated.

import type { Socket } from 'node:dgram';
import { isHeadendError } from '../../errors.js';
import type { RunContext, SourceRun } from '../../sources/run.js';
import type { FailureReason } from '../../sources/types.js';
import { ALL_SERVICES } from '../../../mpegts/pid-plan.js';
import { parseRtpHeader, type RtpHeader } from '../../../mpegts/rtp.js';
import { TunerPids } from '../pids.js';
import type { SatipTunerSpec } from '../types.js';
import { parseInterleaved } from './rtsp-client.js';
import { parseRtcpStatus, tunerStatus } from './rtcp-status.js';
import { bindRtpPair, closeRtpPair, type RtpPorts } from './rtp-ports.js';
import { describeStatus, SatipSession } from './session.js';
import { describeTuning, setupQuery, type SatipPids } from './url.js';

export interface SatipRunOptions {
  /** PID changes gathered this long before one PLAY (TunerPids). Default 100 ms. */
  settleMs?: number;
  /** TEARDOWN waits at most this long on stop. Default 500 ms. */
  teardownMs?: number;
}

export function startSatip(
  spec: SatipTunerSpec,
  ctx: RunContext,
  opts: SatipRunOptions = {},
): SourceRun {
  const run = new SatipRun(spec, ctx, opts);
  void run.start();
  return run;
}

class SatipRun implements SourceRun {
  readonly pid = undefined;
  readonly persistent = false;
  private readonly session: SatipSession;
  private readonly pids: TunerPids;
  private readonly rtpHeader = {} as RtpHeader;
  private ports: RtpPorts | undefined;
  private channels: [number, number] = [0, 1];
  private serverAddress = '';
  private finished = false;
  private closing: Promise<void> | undefined;
  private watch: NodeJS.Timeout | undefined;
  private playAt = 0;
  private rtpSeen = false;
  private lock: boolean | undefined;
  /** Since when the tuner is known (or assumed) unlocked; undefined while locked. */
  private unlockedSince: number | undefined;
  private everLocked = false;

  constructor(
    private readonly spec: SatipTunerSpec,
    private readonly ctx: RunContext,
    private readonly opts: SatipRunOptions,
  ) {
    this.session = new SatipSession(
      {
        host: spec.host,
        port: spec.port,
        interleaved: spec.transport === 'tcp',
      },
      {
        lost: (m) => this.end('exit', `session lost: ${m}`),
        refused: (m) => this.end('tuner', m),
        onFrame: (ch, b, o, n) => {
          if (ch === this.channels[0]) this.onRtp(b, o, n);
          else if (ch === this.channels[1]) this.onRtcp(b, o, n);
        },
        pids: (q) => this.ctx.event('info', 'pids', `tuner ${spec.id}: PLAY ${q}`),
      },
    );
    // Changes before the first PLAY is answered wait in the session (sent after it).
    this.pids = new TunerPids(ctx, () => this.session.want(this.wantedPids()), opts.settleMs);
  }

  async start(): Promise<void> {
    const { spec, session } = this;
    const err = await session.connect();
    if (err !== undefined) return this.end('open', err.message);
    const conn = session.connection;
    if (this.finished || conn === undefined) return;
    this.serverAddress = conn.remoteAddress;
    let transport: string;
    if (spec.transport === 'tcp') {
      transport = `RTP/AVP/TCP;unicast;interleaved=${this.channels[0]}-${this.channels[1]}`;
    } else {
      const ports = await bindRtpPair(conn.localAddress);
      if (isHeadendError(ports)) return this.end('open', ports.message);
      if (this.finished) {
        void closeRtpPair(ports);
        return;
      }
      this.ports = ports;
      ports.rtp.on('message', (m: Buffer, r) => {
        if (r.address === this.serverAddress) this.onRtp(m, 0, m.length);
      });
      ports.rtcp.on('message', (m: Buffer, r) => {
        if (r.address === this.serverAddress) this.onRtcp(m, 0, m.length);
      });
      this.watchSocket(ports.rtp);
      this.watchSocket(ports.rtcp);
      transport = `RTP/AVP;unicast;client_port=${ports.port}-${ports.port + 1}`;
    }
    const pids = this.wantedPids();
    const query = setupQuery(spec.tuning, spec.src, pids);
    const setup = await session.setup(query, transport, pids);
    if (this.finished) return;
    if (isHeadendError(setup)) return this.end('exit', `SETUP: ${setup.message}`);
    if (setup.status !== 200) return this.end('tuner', `SETUP answered ${describeStatus(setup)}`);
    if (session.streamId === undefined || session.streamId === '') {
      return this.end('tuner', 'SETUP answer without com.ses.streamID');
    }
    if (spec.transport === 'tcp') {
      this.channels = parseInterleaved(setup.headers.get('transport')) ?? this.channels;
    }
    const play = await session.play(query);
    if (this.finished) return;
    if (isHeadendError(play)) return this.end('exit', `PLAY: ${play.message}`);
    if (play.status !== 200) return this.end('tuner', `PLAY answered ${describeStatus(play)}`);
    this.playAt = performance.now();
    this.unlockedSince = this.playAt;
    const every = Math.max(20, Math.min(250, this.spec.tuneTimeoutMs / 8));
    this.watch = setInterval(() => this.checkLock(), every);
    this.ctx.event(
      'info',
      'tuned',
      `tuner ${spec.id}: ${describeTuning(spec.tuning)} on ${this.where()}, stream ` +
        `${session.streamId}, session timeout ${session.timeoutS} s, RTP over ${spec.transport}`,
      { streamId: session.streamId },
    );
  }

  stop(): Promise<void> {
    this.finished = true;
    return this.close();
  }

  /** `pids=all` when a subscriber takes every service (a scan), else the plan's list. */
  private wantedPids(): SatipPids {
    return this.ctx.services().has(ALL_SERVICES) ? 'all' : this.pids.pids;
  }

  private onRtp(b: Uint8Array, off: number, len: number): void {
    if (this.finished) return;
    const h = parseRtpHeader(b, off, len, this.rtpHeader);
    if (h === null || h.payloadLength === 0) return;
    const payload = b.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    if (!this.rtpSeen) {
      this.rtpSeen = true;
      if (this.lock !== false) this.unlockedSince = undefined; // no status yet: data is lock
    }
    this.ctx.data(payload);
    this.pids.push(payload);
  }

  private onRtcp(b: Uint8Array, off: number, len: number): void {
    if (this.finished) return;
    const r = parseRtcpStatus(b, off, len);
    if (r === null) return;
    const now = performance.now();
    this.ctx.tuner(tunerStatus(r, Date.now()));
    if (r.lock) {
      this.unlockedSince = undefined;
      this.everLocked = true;
    } else {
      this.unlockedSince ??= now;
    }
    this.lock = r.lock;
  }

  private checkLock(): void {
    if (this.finished) return;
    const now = performance.now();
    const limit = this.spec.tuneTimeoutMs;
    const after = `${Math.round(limit / 100) / 10} s`;
    const on = describeTuning(this.spec.tuning);
    if (this.unlockedSince !== undefined && now - this.unlockedSince >= limit) {
      const what =
        this.everLocked || this.rtpSeen ? `lost lock on ${on} for` : `no lock on ${on} after`;
      return this.end('tuner', `${what} ${after}`);
    }
    if (!this.rtpSeen && now - this.playAt >= limit) {
      this.end('tuner', `locked on ${on} but no RTP from the server after ${after}`);
    }
  }

  private watchSocket(s: Socket): void {
    s.on('error', (err) => this.end('open', `RTP socket: ${err.message}`));
  }

  private where(): string {
    return `SAT>IP server ${this.spec.host}:${this.spec.port}`;
  }

  /** Ends the run by itself (once; never after stop()), then releases the server's tuner. */
  private end(reason: FailureReason, message: string): void {
    if (this.finished) return;
    this.finished = true;
    void this.close();
    this.ctx.ended(reason, `tuner ${this.spec.id}: ${message} (${this.where()})`);
  }

  private close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.watch);
      this.pids.close();
      await this.session.teardown(this.opts.teardownMs ?? 500);
      if (this.ports !== undefined) await closeRtpPair(this.ports);
    })();
    return this.closing;
  }
}
