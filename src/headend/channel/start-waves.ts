// Brings one thread's channels up in waves when their inputs begin together (a daemon started
// with its inputs live, an MPTS feeding dozens of channels, a reload that adds many).
//
// A channel's first content is the costliest work it ever does: its first tables and, while the
// thread is new, the first runs of the data path through code V8 has not optimized yet, while
// V8's compiler threads take most of a CPU beside it for about a second. bench/scale's set-up
// at 250 channels from five MPTS inputs, 2 vCPUs: with every channel starting at once, the
// channel worker's thread waited 75-140 ms of every 250 ms for a CPU and fell up to 565 ms
// behind its inputs in half the runs, past its 400 ms queue: sends up to 400 ms late for 2-3 s.
// Waiting channels cost little (all 250 held back with their inputs flowing: a third of a CPU,
// no compiler burst), so the first wave is small, and its burst of compiling lands while the
// thread still has room; in 8 of 8 runs with waves no send was more than 11 ms late.
//
// A channel's input is taken in (admit) only within a wave: the first FIRST_WAVE channels at
// once, then twice as many as the last wave each WAVE_MS, but only while the thread has room:
// its event loop was busy at most MAX_BUSY of the time since the last look (a thread behind on
// its inputs is busy all the time). 250 channels are in after 3.0-3.5 s. A look that finds the
// thread busy lets in only an even share of the channels still waiting, so that a thread busy
// throughout has them all in by MAX_WAIT_MS without taking the rest in at once then. Until
// admitted, a channel drops its input's bytes, its output carries filler (PSI, PCR) as before
// its input began, and its source's watches wait (Channel.admit). No channel waits longer than
// MAX_WAIT_MS. A thread that starts at most FIRST_WAVE channels at once holds none back.
//
// StartWaves is pure (time comes in as `nowNs`, the load through StartWavesOptions.busy);
// threadBusy and loggedStartWaves bind it to the calling thread.

import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';

/** Channels admitted at once before the first wait. */
export const FIRST_WAVE = 8;
/** Least time between two waves. */
export const WAVE_MS = 500;
/** The longest a channel waits, whatever the thread's load. */
export const MAX_WAIT_MS = 5000;
/** A wave opens only if the thread was busy at most this share of the time since the last look. */
export const MAX_BUSY = 0.8;

export interface StartWavesOptions {
  /**
   * The thread's busy share (0-1) since the previous call (its event loop utilization: see
   * threadBusy). Absent: never busy.
   */
  busy?: () => number;
  /** Said when channels begin to wait, and when the last of them is admitted. */
  log?: (event: 'channels-staged' | 'channels-staged-done', fields: Record<string, number>) => void;
}

export class StartWaves {
  private readonly busy: () => number;
  private readonly log: StartWavesOptions['log'];
  /** Channels that asked and wait: when each first asked. */
  private readonly waiting = new Map<object, number>();
  /** Admissions left in the current wave. */
  private left = FIRST_WAVE;
  /** Size of the next wave. */
  private next = 2 * FIRST_WAVE;
  /** When the current wave opened, or the thread's load was last looked at (NaN: never). */
  private waveAt = NaN;
  /** Staging in course: when its first channel waited, and the channels admitted since. */
  private stagedAt = NaN;
  private stagedAdmitted = 0;

  constructor(opts: StartWavesOptions = {}) {
    this.busy = opts.busy ?? (() => 0);
    this.log = opts.log;
  }

  /** Channels waiting for their wave. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Whether `who` may take its input in now; asked at each of its input's chunks until yes. */
  admit(who: object, nowNs: number): boolean {
    if (Number.isNaN(this.waveAt)) {
      this.waveAt = nowNs;
      this.busy(); // the first look measures from here
    }
    if (this.left > 0) {
      this.left--;
      return this.admitted(who, nowNs);
    }
    const since = this.waiting.get(who);
    if (since === undefined) {
      if (this.waiting.size === 0 && Number.isNaN(this.stagedAt)) {
        this.stagedAt = nowNs;
        this.stagedAdmitted = 0;
        this.log?.('channels-staged', { firstWave: FIRST_WAVE, waveMs: WAVE_MS });
      }
      this.waiting.set(who, nowNs);
    } else if (nowNs - since >= MAX_WAIT_MS * 1e6) {
      return this.admitted(who, nowNs);
    }
    if (nowNs - this.waveAt < WAVE_MS * 1e6) return false;
    this.waveAt = nowNs;
    // Looked at once per WAVE_MS: a busy thread gets no full wave, only its even share of the
    // channels that would otherwise all come in together at MAX_WAIT_MS (busyShare).
    if (this.busy() > MAX_BUSY) {
      this.left = this.busyShare(nowNs) - 1;
      return this.admitted(who, nowNs);
    }
    this.left = this.next - 1;
    this.next *= 2;
    return this.admitted(who, nowNs);
  }

  /**
   * What a look that finds the thread busy lets in: the waiting channels spread evenly over
   * the looks left before the first of them has waited MAX_WAIT_MS (at least one). A thread
   * busy at every look would otherwise hold them all to that moment and take them in at
   * once, the cold start the waves are there to spread (250 channels: 242 together at 5 s,
   * against ~27 a look).
   */
  private busyShare(nowNs: number): number {
    const oldest = this.waiting.values().next().value ?? nowNs; // a Map keeps insertion order
    const looksLeft = Math.floor((oldest + MAX_WAIT_MS * 1e6 - nowNs) / (WAVE_MS * 1e6));
    return Math.ceil(this.waiting.size / Math.max(1, looksLeft));
  }

  /** `who` stopped (admitted or not): it waits no longer. */
  forget(who: object, nowNs: number): void {
    if (this.waiting.delete(who)) this.settle(nowNs);
  }

  private admitted(who: object, nowNs: number): true {
    if (!Number.isNaN(this.stagedAt)) this.stagedAdmitted++;
    if (this.waiting.delete(who)) this.settle(nowNs);
    return true;
  }

  /** The last waiting channel is in: staging is over. */
  private settle(nowNs: number): void {
    if (this.waiting.size > 0 || Number.isNaN(this.stagedAt)) return;
    this.log?.('channels-staged-done', {
      channels: this.stagedAdmitted,
      ms: Math.round((nowNs - this.stagedAt) / 1e6),
    });
    this.stagedAt = NaN;
  }
}

/** The calling thread's event loop utilization since the previous call (node:perf_hooks). */
export function threadBusy(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return share;
  };
}

/** The start waves of the calling thread, its staging said in `log` (channel workers, main thread). */
export function loggedStartWaves(log: Logger): StartWaves {
  return new StartWaves({
    busy: threadBusy(),
    log: (event, fields) =>
      log.log('info', event, {
        ...fields,
        message:
          event === 'channels-staged'
            ? 'many channels began at once: their inputs are taken in by waves, each once the ' +
              'thread has room'
            : 'every channel waiting for its wave has taken its input in',
      }),
  });
}
