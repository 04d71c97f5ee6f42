// Starts a pacing thread as headend.pacing says (mode, spin budget, nice, real-time priority) and
// says what it got: its thread id, name, timer slack and nice value, whether SCHED_FIFO took,
// and each time it goes on or off the 1 ms grid. The main thread starts one when channels run
// on it; each channel worker (lane-worker.ts) starts its own.

import type { PacingSpec } from '../config/types.js';
import type { Logger } from '../log.js';
import { OUTPUT_MODULE } from '../output/output.js';
import { Pacer, type PacerStats } from '../../scheduler/pacer.js';

export function startPacer(
  pacing: PacingSpec,
  log: Logger,
  onStats: (st: PacerStats) => void,
  onError?: (e: Error) => void,
  /** The send licence (PacerOptions.licence: cluster mode's lease). */
  licence?: SharedArrayBuffer,
): Pacer {
  const { spinBudgetPercent } = pacing;
  let grid = false;
  const pacer = new Pacer({
    outputModule: OUTPUT_MODULE,
    onStats: (st) => {
      const wasGrid = grid;
      grid = st.grid;
      onStats(st);
      if (st.grid !== wasGrid && pacing.mode !== 'sleep') logGrid(log, st);
    },
    onError,
    realtimePriority: pacing.realtimePriority,
    nice: pacing.nice,
    mode: pacing.mode,
    spinBudget: spinBudgetPercent === null ? undefined : spinBudgetPercent / 100,
    licence,
  });
  void pacer.thread.then((th) => {
    if (th === null) return; // the worker failed: onError said so
    log.log('info', 'pacer-thread', {
      tid: th.tid,
      mode: pacing.mode,
      ...(spinBudgetPercent === null ? {} : { spinBudgetPercent }),
      timerSlackNs: th.timerSlackError ? null : th.timerSlackNs,
      nice: th.nice,
      sliceNs: th.sliceNs ?? null,
      ...(th.sliceError !== undefined ? { sliceError: th.sliceError } : {}),
      ...(th.clockError !== undefined ? { clockError: th.clockError } : {}),
      ...(th.cpuClockError !== undefined ? { cpuClockError: th.cpuClockError } : {}),
      ...(th.name !== undefined ? { name: th.name } : {}),
    });
    if (th.niceError) {
      log.log('warn', 'pacer-nice-failed', {
        nice: pacing.nice,
        message: th.niceError,
        hint: "its sends may wait behind the daemon's other threads when the CPUs are busy: run as root, or with CAP_SYS_NICE, or LimitNICE= in the unit (headend install-systemd sets it)",
      });
    }
    if (th.timerSlackError) {
      log.log('warn', 'pacer-timer-slack-failed', {
        message: th.timerSlackError,
        hint: 'sends may leave up to 50 µs later than they could',
      });
    }
  });
  void pacer.realtime.then((r) => {
    if (r === null) return;
    if (r.ok) log.log('info', 'pacer-realtime', { priority: r.priority, tid: r.tid });
    else {
      log.log('warn', 'pacer-realtime-failed', {
        priority: r.priority,
        message: r.error,
        hint: 'its sends may wait up to a scheduler tick (4 ms) behind busy threads: run as root, or with CAP_SYS_NICE, or LimitRTPRIO= in the unit (headend install-systemd sets it); headend.pacing.realtime_priority: 0 paces without it',
      });
    }
  });
  return pacer;
}

/** The pacing thread went on or off the 1 ms grid (SpinBudget): precision for CPU, said once. */
function logGrid(log: Logger, st: PacerStats): void {
  const perSecond = st.periodNs > 0 ? Math.round(st.sent / (st.periodNs / 1e9)) : 0;
  log.log('info', 'pacing-grid', {
    grid: st.grid,
    datagramsPerSecond: perSecond,
    message: st.grid
      ? `pacing on the 1 ms grid: spinning to each of ${perSecond} datagrams a second would pass the spin budget (what falls due within 1 ms leaves in one wake-up)`
      : 'spinning to each send again: it fits the spin budget',
  });
}
