// Stalls of the daemon's own threads, logged as they happen so that a gap on the wire can be
// told apart from the machine's: the main thread's event loop (node:perf_hooks
// monitorEventLoopDelay: a ~150 ms block there outlasts the keep-alive's queue and leaves the
// output without datagrams) and the pacing thread's worst send lateness per stats period
// (PacerStats.lateMaxNs: send time − due time), with the daemon's own share of it (ownMaxMs:
// PacerStats.ownLateMaxNs, beyond how late the OS woke the thread and held it off its CPU
// within the pass): an operator reads from it
// whether the machine or the daemon made the send late. At most one line per kind every
// `everyMs`, with how many periods were over since the last line.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { PacerStats } from '../scheduler/pacer.js';
import type { Logger } from './log.js';

/** The event-loop probe's timer: the stalls worth a line are five times that. */
const RESOLUTION_MS = 20;

export interface StallWatchOptions {
  /** The main thread's event loop held this long is logged (default 100 ms). */
  loopMs?: number;
  /** A send this late is logged (default 20 ms: a few datagrams of a small channel). */
  lateMs?: number;
  /** Shortest interval between two lines of one kind (default 10 s). */
  everyMs?: number;
  /** How often the event loop's histogram is read (default 1 s). */
  checkMs?: number;
  /** The thread whose event loop is watched, as the log names it (default 'main'). */
  thread?: string;
}

export interface StallWatch {
  /**
   * Feed of a pacing loop's periodic report; `who` names a channel worker's (its number and
   * channels) where there are several.
   */
  pacer(st: PacerStats, who?: { worker?: number; channels: string[] }): void;
  stop(): void;
}

/** One kind of stall: logs the first over the threshold, then at most one line per `everyMs`. */
class Throttle {
  private lastLogMs = -Infinity;
  private over = 0;
  private worstMs = 0;
  /** The worst own share (ownMs) among the stalls folded into the next line. */
  private worstOwnMs = -Infinity;

  constructor(
    private readonly log: Logger,
    private readonly event: string,
    private readonly everyMs: number,
  ) {}

  /** `ownMs`: the daemon's own share of the stall, when known (logged as ownMaxMs). */
  note(ms: number, fields: Record<string, unknown>, ownMs?: number): void {
    this.over++;
    this.worstMs = Math.max(this.worstMs, ms);
    if (ownMs !== undefined) this.worstOwnMs = Math.max(this.worstOwnMs, ownMs);
    const now = Date.now();
    if (now - this.lastLogMs < this.everyMs) return;
    const tenth = (x: number) => Math.round(x * 10) / 10;
    this.log.log('warn', this.event, {
      ...fields,
      maxMs: tenth(this.worstMs),
      ...(this.worstOwnMs > -Infinity ? { ownMaxMs: tenth(Math.max(0, this.worstOwnMs)) } : {}),
      periods: this.over,
    });
    this.lastLogMs = now;
    this.over = 0;
    this.worstMs = 0;
    this.worstOwnMs = -Infinity;
  }
}

export function watchStalls(log: Logger, opts: StallWatchOptions = {}): StallWatch {
  const loopMs = opts.loopMs ?? 100;
  const lateMs = opts.lateMs ?? 20;
  const everyMs = opts.everyMs ?? 10_000;
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const loop = new Throttle(log, 'event-loop-stall', everyMs);
  const pacing = new Throttle(log, 'pacing-late', everyMs);
  /** Datagrams held back by the send licence since the last pacing-unlicensed line. */
  let unsent = 0;
  let unsentLogMs = -Infinity;
  /** Per channel worker: each says for itself which channels it holds back. */
  const late: Throttle[] = [];
  const timer = setInterval(() => {
    // The histogram holds the intervals between its timer's runs (ns): the stall is the excess.
    const ms = h.max / 1e6 - RESOLUTION_MS;
    h.reset();
    if (ms > loopMs) loop.note(ms, { thread: opts.thread ?? 'main' });
  }, opts.checkMs ?? 1000);
  timer.unref();
  return {
    pacer(st, who) {
      if (st.unlicensed > 0) {
        unsent += st.unlicensed;
        if (Date.now() - unsentLogMs >= everyMs) {
          unsentLogMs = Date.now();
          log.log('warn', 'pacing-unlicensed', {
            thread: 'pacing',
            ...(who?.worker === undefined ? {} : { worker: who.worker }),
            datagrams: unsent,
            message:
              'datagrams not sent: the send licence ran out (this node could not confirm its etcd lease in time)',
          });
          unsent = 0;
        }
      }
      const ms = st.lateMaxNs / 1e6;
      if (ms <= lateMs) return;
      const own = st.ownLateMaxNs / 1e6;
      if (who?.worker === undefined)
        pacing.note(ms, { thread: 'pacing', channels: st.channels }, own);
      else {
        const t = (late[who.worker] ??= new Throttle(log, 'pacing-late', everyMs));
        t.note(ms, { thread: 'pacing', worker: who.worker, channels: who.channels }, own);
      }
    },
    stop() {
      clearInterval(timer);
      h.disable();
    },
  };
}
