// Real-time scheduling of the calling thread (sched(7): SCHED_FIFO), for the pacing worker.
//
// Node has no API for a thread's scheduling policy, so the thread finds its own TID
// (/proc/thread-self → "<pid>/task/<tid>") and runs util-linux `chrt -f -p PRIO TID` on it,
// which changes that one thread only (a policy is per thread on Linux). It is allowed to root,
// to a process with CAP_SYS_NICE, or up to the process's RLIMIT_RTPRIO (systemd LimitRTPRIO=).
//
// Why: a normally scheduled thread waits behind other runnable threads for its turn (EEVDF
// slices of ~1-3 ms) and so sends late; a SCHED_FIFO thread preempts them as soon as its timer
// fires. It must then sleep, not spin (see SpinMargin.REALTIME_MAX_NS).
// It is the default (DEFAULT_REALTIME_PRIORITY) in the modes that sleep between sends (balanced,
// sleep). Measured (perf sched, 20 channels with two x264 transcodes at nice 10, HZ 250): the
// normally scheduled pacing thread, at nice −10 with a 0.2 ms slice (thread-slice.ts), still
// waited 1-4.2 ms after 25 of 18,000 wake-ups in 14 s, 22 of them behind one x264 thread that
// ran on until the next scheduler tick; SCHED_FIFO preempts it when the timer fires. bench/scale,
// 20 channels beside two x264 transcodes, 3 runs each: PCR jitter p99 1.5-2.6 ms → 71-100 µs.
//
// Timer slack (prctl(2) PR_SET_TIMERSLACK, proc(5) /proc/<tid>/timerslack_ns): the kernel may
// end a normal thread's timed sleep up to its slack late, 50 µs by default, to batch wake-ups.
// A thread may lower its own without any privilege; the pacing thread sets 1 µs, which cut its
// typical wake-up delay on this class of VM from ~90 µs to ~40 µs. (SCHED_FIFO threads have no
// slack.)
//
// Nice (setpriority(2), sched(7)): on Linux a nice value belongs to one thread, set through its
// TID. The pacing thread asks for PACING_NICE (headend.pacing.nice): under EEVDF a thread's
// weight decides how soon it runs when it wakes while the CPUs are busy. Measured here (40
// channels, perf sched): at nice 0 its wake-ups waited up to 5.5 ms behind the daemon's own
// main thread and V8's garbage-collection helpers (both CPUs busy for 4-9 ms at a major GC),
// and the worst send was 16 ms late; at −10 it ran at once and the worst send was 5 ms late.
// Lowering a nice value needs root, CAP_SYS_NICE or RLIMIT_NICE (systemd LimitNICE=, which
// `headend install-systemd` sets); raising it is always allowed. Threads made by a thread
// start with its nice value: only the pacing thread sets its own, after it started.

import { spawnSync } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';
import type { RealtimeResult } from './protocol.js';

/** The calling thread's kernel id, or 0 when /proc is not there. */
export function threadId(): number {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0; // no /proc (not Linux): the caller reports it as the reason
  }
}

/** Puts the calling thread under SCHED_FIFO at `priority` (1-99). Never throws. */
export function makeThreadRealtime(priority: number, chrt = 'chrt'): RealtimeResult {
  const tid = threadId();
  if (tid === 0) return { ok: false, priority, tid, error: 'no /proc/thread-self (not Linux?)' };
  const r = spawnSync(chrt, ['-f', '-p', String(priority), String(tid)], {
    encoding: 'utf8',
    timeout: 5000,
  });
  if (r.error) return { ok: false, priority, tid, error: `${chrt}: ${r.error.message}` };
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').pop() ?? '';
    // chrt names itself in its messages already ("chrt: failed to set pid …").
    const named = why.startsWith(`${basename(chrt)}:`);
    return { ok: false, priority, tid, error: named ? why : `${chrt}: ${why}` };
  }
  return { ok: true, priority, tid };
}

/**
 * Names the calling thread as ps -L, top -H and perf show it (/proc/<tid>/comm, proc(5): at
 * most 15 bytes, longer is cut). Never throws: the error says why not.
 */
export function nameThread(name: string): { ok: true } | { ok: false; error: string } {
  const tid = threadId();
  if (tid === 0) return { ok: false, error: 'no /proc/thread-self (not Linux?)' };
  try {
    writeFileSync(`/proc/${tid}/comm`, name.slice(0, 15));
    return { ok: true };
  } catch (e) {
    return { ok: false, error: `/proc/${tid}/comm: ${(e as Error).message}` };
  }
}

/** What the pacing thread and the channel workers are called (nameThread). */
export const PACER_THREAD_NAME = 'headend-pacer';
export const laneThreadName = (lane: number): string => `headend-lane${lane}`;

/** The slack the pacing thread asks for, ns. */
export const PACING_TIMER_SLACK_NS = 1000;

/** Sets the calling thread's timer slack (ns). Never throws: the error says why it did not. */
export function setThreadTimerSlack(ns: number): { ok: true } | { ok: false; error: string } {
  const tid = threadId();
  if (tid === 0) return { ok: false, error: 'no /proc/thread-self (not Linux?)' };
  try {
    // /proc/<tid> is the thread itself (not /proc/thread-self, whose directory has no such file).
    writeFileSync(`/proc/${tid}/timerslack_ns`, String(Math.max(1, Math.round(ns))));
    return { ok: true };
  } catch (e) {
    return { ok: false, error: `/proc/${tid}/timerslack_ns: ${(e as Error).message}` };
  }
}

/** The nice value the pacing thread asks for by default (headend.pacing.nice). */
export const PACING_NICE = -10;

/**
 * headend.pacing.realtime_priority when the config does not say: SCHED_FIFO 10 in the modes
 * that sleep between sends, none in `spin` (a real-time thread that spins to every send at a
 * high datagram rate never sleeps, and the kernel then stops it for 50 ms a second:
 * SpinMargin.REALTIME_MAX_NS). 10: above every normal thread, below threaded interrupts (50).
 */
export const DEFAULT_REALTIME_PRIORITY = 10;
export function defaultRealtimePriority(mode: 'spin' | 'balanced' | 'sleep'): number {
  return mode === 'spin' ? 0 : DEFAULT_REALTIME_PRIORITY;
}

/** What setThreadNice did: the thread's nice value after it, and why not, when it failed. */
export interface NiceResult {
  ok: boolean;
  /** The nice value asked for. */
  asked: number;
  /** The thread's nice value now (as before, when it failed). */
  nice: number;
  /** The thread's id (a TID: ps -L, renice -p); 0 when /proc is not there. */
  tid: number;
  error?: string;
}

/**
 * Sets the calling thread's nice value (−20..19), only this thread's. Never throws: the result
 * says why not. `set`/`get` are os.setPriority/os.getPriority (injected by tests).
 */
export function setThreadNice(
  nice: number,
  set: (pid: number, priority: number) => void = setPriority,
  get: (pid: number) => number = getPriority,
): NiceResult {
  const tid = threadId();
  if (tid === 0)
    return { ok: false, asked: nice, nice: 0, tid, error: 'no /proc/thread-self (not Linux?)' };
  const now = (): number => {
    try {
      return get(tid);
    } catch {
      return 0; // the thread's own nice value is always readable on Linux; 0 if not
    }
  };
  try {
    set(tid, nice);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { info?: { code?: string } };
    const code = err.info?.code ?? err.code ?? '';
    const why = code === 'EACCES' || code === 'EPERM' ? 'not permitted' : err.message;
    return {
      ok: false,
      asked: nice,
      nice: now(),
      tid,
      error: `setpriority(${tid}, ${nice}): ${why} (${code})`,
    };
  }
  const got = now();
  return got === nice
    ? { ok: true, asked: nice, nice: got, tid }
    : {
        ok: false,
        asked: nice,
        nice: got,
        tid,
        error: `setpriority(${tid}, ${nice}) left nice ${got}`,
      };
}
