// One opened source: starts runs, watches their health, tells subscribers, restarts with
// backoff. States:
//
//   idle ──open()──► starting ──first bytes──► running
//                       ▲  │                       │ exit / stall / garbage / spawn / open
//                       │  └──────────┬────────────┘
//                       └── backoff ◄─┘             (a stalled socket waits in 'starting')
//   any ──close()──► stopped
//
// A failure is told to every subscriber (failed(reason, message): the message says why, e.g.
// ffmpeg's last error line) and logged; the next bytes of a new
// stream instance are preceded by restarted() for each subscriber that had seen bytes before.

import { performance } from 'node:perf_hooks';
import type { Backoff } from './backoff.js';
import { SourceHealth } from './health.js';
import { RecentBytes } from './recent-bytes.js';
import { FanOut } from './fan-out.js';
import type { TunerStatus } from '../tuners/types.js';
import type { RunContext, SourceRun, StartRun } from './run.js';
import type {
  FailureReason,
  SourceEvent,
  SourceState,
  SourceStatus,
  SourceSubscriber,
} from './types.js';

export interface SupervisorOptions {
  key: string;
  /** What the source reads, for log messages. */
  describe: string;
  start: StartRun;
  log: (e: SourceEvent) => void;
  backoff: Backoff;
  /** Default stall time when no subscriber asks for its own. */
  stallMs: number;
  /** Silence allowed before the first byte of a run (ffmpeg probing a remote feed). */
  startMs: number;
  /** Keeps the stop of a run until the hub's close() has seen it end. */
  track: (p: Promise<void>) => void;
}

interface SubRecord {
  sub: SourceSubscriber;
  /** program_number the subscriber takes (undefined: the first program). */
  service: number | undefined;
  stallMs: number | undefined;
  /** Has received bytes: a new stream instance must be announced to it. */
  seen: boolean;
}

export class SupervisedSource {
  private stateNow: SourceState = 'idle';
  private subs: SubRecord[] = [];
  private run: SourceRun | undefined;
  private token: object | undefined;
  private runs = 0;
  private failures = 0;
  private readonly health = new SourceHealth();
  private runningSince = 0;
  /** A persistent run (socket) waiting for its feed after a stall: no new stall failure. */
  private waiting = false;
  private checkTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  restarts = 0;
  bytes = 0;
  lastError: string | undefined;
  since = Date.now();
  private tunerStatus: TunerStatus | undefined;
  private readonly serviceWatchers = new Set<() => void>();
  /** One subscriber takes the bytes as they come; two or more, their own packets each. */
  private readonly fan = new FanOut<SubRecord>((sub, bytes) => this.feed(sub, bytes));
  /** The run's last bytes, for a subscriber that goes on from a packet (recent-bytes.ts). */
  private readonly recent = new RecentBytes();

  constructor(private readonly o: SupervisorOptions) {}

  get state(): SourceState {
    return this.stateNow;
  }

  get pid(): number | undefined {
    return this.run?.pid;
  }

  get subscribers(): number {
    return this.subs.length;
  }

  status(): SourceStatus {
    const s: SourceStatus = {
      state: this.stateNow,
      restarts: this.restarts,
      bytes: this.bytes,
      since: this.since,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    if (this.tunerStatus !== undefined) s.tuner = this.tunerStatus;
    return s;
  }

  /**
   * `from`: the packet (188 bytes) where the subscriber goes on from another's reading: the
   * run's bytes from it on come first, when they are still kept (else only the live ones: the
   * subscriber sees the difference in its first bytes).
   */
  add(sub: SourceSubscriber, stallMs?: number, service?: number, from?: Uint8Array): SubRecord {
    const rec: SubRecord = { sub, service, stallMs, seen: false };
    let back = from && this.stateNow === 'running' ? this.recent.from(from) : null;
    // With others reading, it gets routed packets from now on: the replay ends where they go on.
    if (back) back = this.fan.replay(rec, back, this.subs.length);
    if (back) {
      rec.seen = true;
      this.feed(sub, back);
    }
    if (from)
      this.emit('info', 'resume', back ? 'bytes from the cut given' : 'the cut is not kept', {
        bytes: back?.length ?? 0,
        state: this.stateNow,
      });
    const before = this.serviceSet();
    this.subs = [...this.subs, rec];
    this.servicesChanged(before);
    this.fan.replan(this.subs, rec);
    return rec;
  }

  /** Returns how many subscribers remain. */
  remove(rec: SubRecord): number {
    const before = this.serviceSet();
    this.subs = this.subs.filter((r) => r !== rec);
    if (this.subs.length > 0) this.servicesChanged(before);
    this.fan.replan(this.subs);
    return this.subs.length;
  }

  private serviceSet(): Set<number | undefined> {
    return new Set(this.subs.map((r) => r.service));
  }

  private servicesChanged(before: Set<number | undefined>): void {
    const now = this.serviceSet();
    if (now.size === before.size && [...now].every((s) => before.has(s))) return;
    for (const f of [...this.serviceWatchers]) this.call(f);
  }

  open(): void {
    if (this.stateNow !== 'idle') return;
    const every = Math.min(250, Math.max(25, Math.floor(this.stallMs() / 8)));
    this.checkTimer = setInterval(() => this.check(), every);
    this.beginRun();
  }

  /** Stops for good; resolves when the run has ended (its child exited). */
  close(): Promise<void> {
    if (this.stateNow === 'stopped') return Promise.resolve();
    this.setState('stopped');
    clearInterval(this.checkTimer);
    clearTimeout(this.backoffTimer);
    const run = this.run;
    this.run = undefined;
    this.token = undefined;
    this.emit('info', 'stop', `stopped ${this.o.describe}`);
    const p = run !== undefined ? run.stop('SIGTERM') : Promise.resolve();
    this.o.track(p);
    return p;
  }

  private stallMs(): number {
    let ms = this.o.stallMs;
    for (const r of this.subs) if (r.stallMs !== undefined && r.stallMs < ms) ms = r.stallMs;
    return ms;
  }

  private beginRun(): void {
    this.backoffTimer = undefined;
    if (this.stateNow === 'stopped') return;
    this.runs++;
    if (this.runs > 1) this.restarts++;
    this.waiting = false;
    this.tunerStatus = undefined;
    this.serviceWatchers.clear();
    this.health.reset(performance.now());
    this.recent.clear();
    this.setState('starting');
    const token = {};
    this.token = token;
    const ctx: RunContext = {
      data: (chunk) => {
        if (this.token === token) this.onData(chunk);
      },
      ended: (reason, message) => {
        if (this.token !== token) return;
        const pid = this.run?.pid;
        this.run = undefined;
        this.token = undefined;
        this.fail(reason, message, token, pid);
      },
      event: (level, event, message, extra) => {
        if (this.token === token) this.emit(level, event, message, extra);
      },
      tuner: (status) => {
        if (this.token === token) this.tunerStatus = status;
      },
      services: () => this.serviceSet(),
      onServices: (f) => {
        const g = (): void => {
          if (this.token === token) f();
        };
        this.serviceWatchers.add(g);
        return () => this.serviceWatchers.delete(g);
      },
    };
    let run: SourceRun;
    try {
      run = this.o.start(ctx);
    } catch (err) {
      this.token = undefined;
      this.fail('spawn', err instanceof Error ? err.message : String(err), token);
      return;
    }
    if (this.token !== token) {
      // Ended while starting.
      this.o.track(run.stop('SIGKILL'));
      return;
    }
    this.run = run;
    this.emit('info', 'start', `starting ${this.o.describe}`, {
      pid: run.pid,
      attempt: this.failures,
    });
  }

  private onData(chunk: Uint8Array): void {
    const st = this.stateNow;
    if (st !== 'starting' && st !== 'running') return; // a socket in backoff: dropped
    this.bytes += chunk.length;
    const now = performance.now();
    const verdict = this.health.push(chunk, now);
    if (st === 'starting') {
      this.setState('running');
      this.runningSince = now;
      if (this.waiting) this.restarts++;
      this.waiting = false;
      if (this.failures > 0) {
        this.emit('info', 'recovered', `${this.o.describe} delivers again`, {
          restarts: this.restarts,
        });
      }
      for (const r of this.subs) {
        if (r.seen) this.call(() => r.sub.restarted());
      }
      this.fan.reset();
    }
    // Copied (a tuner's buffers are reused): for a subscriber that goes on from a packet.
    this.recent.push(chunk, now);
    const subs = this.subs;
    for (const r of subs) r.seen = true;
    this.fan.deliver(chunk, subs);
    if (verdict !== undefined && this.stateNow === 'running') {
      this.fail(
        'garbage',
        `more than half of the last ${this.health.bytes >> 10} KiB were not MPEG-TS`,
      );
    }
  }

  private check(): void {
    const st = this.stateNow;
    if ((st !== 'starting' && st !== 'running') || this.waiting) return;
    const stallMs = this.stallMs();
    const verdict = this.health.check(performance.now(), stallMs, this.o.startMs);
    if (verdict === 'stall') {
      this.fail('stall', `no bytes for ${st === 'starting' ? 'over ' : ''}${stallMs} ms`);
    } else if (verdict === 'garbage') {
      this.fail('garbage', `bytes but no MPEG-TS packet for ${stallMs} ms`);
    }
  }

  /** @param endedToken set when the run ended by itself (nothing left to stop). */
  private fail(
    reason: FailureReason,
    message: string,
    endedToken?: object,
    endedPid?: number,
  ): void {
    const st = this.stateNow;
    if (st !== 'starting' && st !== 'running') return;
    const now = performance.now();
    const healthyFor = st === 'running' ? now - this.runningSince : 0;
    this.failures++;
    this.lastError = `${reason}: ${message}`;
    this.emit('error', reason, message, { pid: endedPid ?? this.run?.pid, reason });
    for (const r of this.subs) this.call(() => r.sub.failed(reason, message));
    if (this.stateNow === 'stopped') return; // a subscriber let go of us meanwhile
    const run = endedToken === undefined ? this.run : undefined;
    if (run !== undefined && run.persistent && reason === 'stall') {
      // A socket keeps listening: the feed is taken as soon as it returns.
      this.waiting = true;
      this.setState('starting');
      return;
    }
    const delay = this.o.backoff.next(healthyFor);
    this.setState('backoff');
    this.emit('info', 'backoff', `retrying in ${delay} ms`, {
      delayMs: delay,
      attempt: this.o.backoff.attempt,
    });
    if (run !== undefined && run.persistent) {
      // Garbage on a socket: drop bytes for a while, then judge afresh.
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        if (this.stateNow !== 'backoff') return;
        this.health.reset(performance.now());
        this.waiting = true;
        this.setState('starting');
      }, delay);
      return;
    }
    if (run !== undefined) {
      this.run = undefined;
      this.token = undefined;
      this.o.track(run.stop('SIGKILL')); // a stopped (SIGSTOP) process only dies of SIGKILL
    }
    this.backoffTimer = setTimeout(() => this.beginRun(), delay);
  }

  /** Bytes to a subscriber (no closure per chunk, unlike call()). */
  private feed(sub: SourceSubscriber, bytes: Uint8Array): void {
    try {
      sub.data(bytes);
    } catch (err) {
      this.threw(err);
    }
  }

  /** A call into a subscriber; one that throws is logged, the others still get theirs. */
  private call(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.threw(err);
    }
  }

  private threw(err: unknown): void {
    this.emit('error', 'subscriber', `a subscriber threw: ${String(err)}`);
  }

  private setState(s: SourceState): void {
    if (s === this.stateNow) return;
    this.stateNow = s;
    this.since = Date.now();
  }

  private emit(level: SourceEvent['level'], event: string, message: string, extra?: object): void {
    try {
      this.o.log({ ...extra, source: this.o.key, level, event, message });
    } catch {
      // a logger must not break the source
    }
  }
}
