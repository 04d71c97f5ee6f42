// Messages between the Pacer (main thread) and its worker (pacer-worker.ts), and the shared wake
// words. Data never travels in messages: datagrams go through each channel's ring (ring.ts).

import type { DestinationSpec, OutputInfo, OutputSpec } from './output-contract.js';
import type { RingLayout } from './ring.js';

/** Int32Array over a SharedArrayBuffer: the worker sleeps on WAKE_DATA. */
export const WAKE_DATA = 0;
/** Bumped with every control message, so the worker yields to read it. */
export const WAKE_CTRL = 1;
export const WAKE_WORDS = 2;

export type ToWorker =
  | {
      type: 'add';
      id: string;
      spec: OutputSpec;
      ring: RingLayout;
      /** The channel's counters (ring.ts createCounters), shared by its rings. */
      counters: SharedArrayBuffer;
      staggerIndex: number;
    }
  /** The channel's producer moved to this larger ring: send what the current one holds first. */
  | { type: 'ring'; id: string; ring: RingLayout }
  | { type: 'remove'; id: string }
  | { type: 'dest-add'; id: string; dest: DestinationSpec; req: number }
  | { type: 'dest-remove'; id: string; destId: string; req: number }
  /**
   * The channel's queue only drains from now on, while another queue goes on with its RTP
   * stream (a channel moved to another worker): no datagram is sent in two parts any more, so
   * the sequence numbers the queue still takes are its datagrams', known once this is answered.
   */
  | { type: 'whole'; id: string; req: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'opened'; id: string; info: OutputInfo }
  | { type: 'open-failed'; id: string; error: string }
  | { type: 'removed'; id: string }
  /** Answer to dest-add / dest-remove / whole: error set when it failed. */
  | { type: 'dest-done'; req: number; error?: string }
  | { type: 'stats'; stats: PacerStats }
  /** Sent once at start: the pacing thread's id, and its timer slack set (or why not). */
  | { type: 'thread'; thread: PacerThread }
  /** Sent once at start when a real-time priority was asked for. */
  | { type: 'realtime'; result: RealtimeResult }
  | { type: 'closed' };

/** Figures of the pacing loop over the last reporting period (about 1 s). */
export interface PacerStats {
  channels: number;
  /** Datagrams sent in the period. */
  sent: number;
  /** Datagrams not sent in the period because the send licence had run out (PacerOptions.licence). */
  unlicensed: number;
  /** Worst lateness of a send in the period (send time − due), ns. */
  lateMaxNs: number;
  /**
   * The daemon's own share of it: the worst lateness of a send in the period beyond how late
   * the OS ended the loop's wait before its pass (a sleep's oversleep, a spin that lost the
   * CPU), counted from when the burst limit let it leave (after a stall it spreads the backlog
   * on purpose), ns, and beyond the time within the pass the OS held the thread off its CPU
   * (preemptedMaxNs). What is left is the loop's own work: its passes, its event-loop turns,
   * its garbage collections, a producer that fell behind.
   */
  ownLateMaxNs: number;
  /**
   * The most time the OS held the thread off its CPU in the middle of a pass (preempted, or the
   * VM's vCPU held) before a send, ns, as taken out of a send's own share: read for the sends
   * that could be the period's worst own share (0 where the thread's CPU time cannot be read:
   * PacerThread.cpuClockError).
   */
  preemptedMaxNs: number;
  /** Sleeps (Atomics.wait) and event-loop yields in the period. */
  sleeps: number;
  yields: number;
  /** Time spent busy-waiting for due times, ns, in the period. */
  spinNs: number;
  /** Worst oversleep of a timed-out Atomics.wait in the period, ns. */
  oversleepMaxNs: number;
  /**
   * Garbage collections of the pacing thread's own heap since it started (each holds the thread:
   * no send leaves during one), and the longest seen in the period, ns. Seen when the thread's
   * event loop turns (PerformanceObserver 'gc'), so a pause counts in the period it was seen in.
   */
  gcPausesTotal: number;
  gcMaxNs: number;
  /** Current spin margin, ns. */
  marginNs: number;
  /** Length of the period, ns. */
  periodNs: number;
  /** The loop runs SCHED_FIFO (PacerOptions.realtimePriority took effect). */
  realtime: boolean;
  /**
   * At the end of the period the loop paces on the 1 ms grid without spinning: mode sleep,
   * or a spin budget spent at more than SpinBudget.GRID_RATE datagrams a second.
   */
  grid: boolean;
}

/** The pacing thread as the OS sees it. */
export interface PacerThread {
  /** Its kernel id (ps -L, top -H, chrt -p); 0 when /proc is not there. */
  tid: number;
  /** The timer slack it asked for, ns (realtime.ts). */
  timerSlackNs: number;
  /** Why the slack could not be set (its sleeps then end up to 50 µs later). */
  timerSlackError?: string;
  /** Its name as ps -L and top -H show it (absent: it could not be named). */
  name?: string;
  /** Its nice value as it runs (PacerOptions.nice when that took effect). */
  nice: number;
  /** Why the nice value asked for could not be set (realtime.ts setThreadNice). */
  niceError?: string;
  /** Its EEVDF slice as the kernel reads it back, ns (thread-slice.ts). */
  sliceNs?: number;
  /** Why the slice could not be asked for (it runs with the kernel's default). */
  sliceError?: string;
  /**
   * Why its clock is not the one that makes no JS value per read (mono-clock.ts nativeClock):
   * it reads performance.now(), whose garbage collections hold the thread now and then.
   */
  clockError?: string;
  /**
   * Why the thread's CPU time cannot be read (mono-clock.ts threadCpuReader): time the OS takes
   * its CPU away in the middle of a pass then counts as the daemon's own lateness.
   */
  cpuClockError?: string;
}

/** Whether the pacing thread runs SCHED_FIFO (PacerOptions.realtimePriority). */
export interface RealtimeResult {
  ok: boolean;
  priority: number;
  /** The pacing thread's id (a TID: ps -L, chrt -p). */
  tid: number;
  /** Why it could not (ok false). */
  error?: string;
}
