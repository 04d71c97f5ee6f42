// `headend run`: the daemon (daemon.ts) under process signals. SIGHUP reloads; SIGTERM/SIGINT
// stop it, taken from the start on so that a signal during the start does not kill the process
// with ffmpeg children half started. The stop has STOP_DEADLINE_MS (5 s) from the signal; a
// signal that comes again meanwhile is logged (`stop-signal-again`) and the clean stop goes on.
// Past the deadline it logs `stop-timeout` with what had not stopped, kills the ffmpeg
// children left and returns EXIT_STOP_TIMEOUT: `headend run` then exits at once.

import { startDaemon, type DaemonOptions, type RunningDaemon } from './daemon.js';
import { createNotifier, type Notifier } from './notify.js';

/** How long a stop may take from the signal before `headend run` gives up on it. */
export const STOP_DEADLINE_MS = 5000;
/** Exit status of a stop that did not finish within STOP_DEADLINE_MS. */
export const EXIT_STOP_TIMEOUT = 1;

/** `headend run`: runs until SIGTERM/SIGINT (SIGHUP reloads); resolves to the exit status. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  // SIGHUP's default action ends the process: take it before starting, and reload once the
  // daemon is up if it came during the start.
  const notify = opts.notify ?? createNotifier({ log: opts.log });
  let d: RunningDaemon | null = null;
  let hupDuringStart = false;
  const reload = (running: RunningDaemon): void => {
    notify.reloading('reloading');
    void running.reload('SIGHUP').then((r) => notify.ready(r.ok ? 'reloaded' : 'reload rejected'));
  };
  const onHup = (): void => {
    if (d) reload(d);
    else hupDuringStart = true;
  };
  if (opts.reloadOnSighup !== false) process.on('SIGHUP', onHup);
  // SIGTERM/SIGINT during the start must not kill the process with ffmpeg children half
  // started: take them now; the stop runs once the start is over. They stay taken until the
  // end: a second signal during the stop (systemd's, an impatient Ctrl-C) must not end the
  // process by its default action halfway through the clean stop.
  const { log } = opts;
  let signals = 0;
  let onSignal: ((sig: NodeJS.Signals) => void) | null = null;
  const signal =
    opts.stopSignal ??
    new Promise<void>((resolve) => {
      onSignal = (sig) => {
        if (++signals === 1) return resolve();
        log.log('warn', 'stop-signal-again', {
          signal: sig,
          message: `already stopping: the clean stop goes on (at most ${STOP_DEADLINE_MS / 1000} s)`,
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
  const dropSignals = (): void => {
    if (onSignal) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  };
  // The deadline runs from the signal, also when it comes during the start.
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    void signal.then(() => {
      deadlineTimer = setTimeout(() => resolve('timeout'), opts.stopDeadlineMs ?? STOP_DEADLINE_MS);
    });
  });
  const started = await Promise.race([startDaemon(opts), deadline]);
  if (started === 'timeout') return stopTimedOut(opts, notify, ['the start'], [], dropSignals);
  d = started;
  if (!d) {
    clearTimeout(deadlineTimer);
    process.off('SIGHUP', onHup);
    dropSignals();
    notify.status('configuration error: not started');
    await notify.flush();
    notify.close();
    return 1;
  }
  notify.ready(`${d.channels.length} channels`);
  if (hupDuringStart) reload(d);
  await signal;
  process.off('SIGHUP', onHup);
  notify.stopping('stopping');
  const running = d;
  const result = await Promise.race([running.stop().then(() => 'ok' as const), deadline]);
  if (result === 'timeout') {
    return stopTimedOut(opts, notify, running.stopPending(), running.ffmpegPids(), dropSignals);
  }
  clearTimeout(deadlineTimer);
  dropSignals();
  await notify.flush();
  notify.close();
  return 0;
}

/**
 * The stop missed its deadline: says what had not stopped, kills the ffmpeg children left (by
 * pid; they would die with the process anyway, by their parent-death signal) and returns
 * EXIT_STOP_TIMEOUT, on which the caller exits at once.
 */
function stopTimedOut(
  opts: DaemonOptions,
  notify: Notifier,
  pending: string[],
  ffmpegPids: number[],
  dropSignals: () => void,
): number {
  const seconds = (opts.stopDeadlineMs ?? STOP_DEADLINE_MS) / 1000;
  opts.log.log('error', 'stop-timeout', {
    message: `not stopped after ${seconds} s: ${pending.join(', ') || 'nothing left?'}; exiting`,
    pending,
    killed: ffmpegPids,
  });
  for (const pid of ffmpegPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  dropSignals();
  notify.close();
  return EXIT_STOP_TIMEOUT;
}
