// Readiness, watchdog, reload and stop notifications to systemd (the sd_notify protocol,
// sd_notify(3): newline-separated VAR=VALUE datagrams on the AF_UNIX socket named by
// NOTIFY_SOCKET, '@' = abstract namespace). Node has no AF_UNIX datagram sockets, so each
// notification is handed to the `systemd-notify` binary (systemd-notify(1)), which sends it
// as if from its parent (this process) and, without --no-block, waits until the manager has
// processed it (a BARRIER=1 round trip), so the message is attributed to our unit even though
// systemd-notify has exited. The unit needs NotifyAccess=all (systemd/headend.service).
// Everything is a no-op without NOTIFY_SOCKET. Notifications are sent one at a time, in order.

import { execFile } from 'node:child_process';
import type { Logger } from './log.js';

export interface Notifier {
  /** True when NOTIFY_SOCKET is set (running under systemd with Type=notify). */
  readonly enabled: boolean;
  /** READY=1 (and STATUS=); starts the watchdog pings on the first call. */
  ready(status?: string): void;
  /** RELOADING=1 with MONOTONIC_USEC (for Type=notify-reload); send ready() when done. */
  reloading(status?: string): void;
  /** STOPPING=1; stops the watchdog pings. */
  stopping(status?: string): void;
  /** STATUS=<text>, shown by systemctl status. */
  status(text: string): void;
  /** Resolves when every notification queued so far has been handed to the manager. */
  flush(): Promise<void>;
  /** Stops the watchdog timer (flush() first to let queued notifications out). */
  close(): void;
}

export interface NotifierOptions {
  log: Logger;
  /** Environment to read NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID from (process.env). */
  env?: NodeJS.ProcessEnv;
  /** The systemd-notify binary ('systemd-notify' on PATH). */
  binary?: string;
  /** Checked before each watchdog ping: a false answer skips it, so systemd restarts us. */
  healthy?: () => boolean;
  pid?: number;
}

/** CLOCK_MONOTONIC in µs: libuv's hrtime is clock_gettime(CLOCK_MONOTONIC) on Linux. */
const monotonicUsec = (): bigint => process.hrtime.bigint() / 1000n;

/** STATUS= takes one line. */
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/** The watchdog period in ms (half of WATCHDOG_USEC), or null when no watchdog is asked of us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export function createNotifier(o: NotifierOptions): Notifier {
  const env = o.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  const binary = o.binary ?? 'systemd-notify';
  const pid = o.pid ?? process.pid;
  const log = o.log;
  let queue: Promise<void> = Promise.resolve();
  let broken = false;
  let timer: NodeJS.Timeout | null = null;
  // Only systemd-notify gets the socket: ffmpeg children must not inherit it (sd_notify(3)'s
  // unset_environment), while the watchdog settings stay readable for this process.
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (socket && env === process.env) delete process.env.NOTIFY_SOCKET;

  const send = (fields: string[]): void => {
    if (!socket || broken) return;
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          execFile(binary, fields, { env: childEnv, timeout: 10_000 }, (err, _out, stderr) => {
            if (err) {
              const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
              if (missing) broken = true;
              log.log('warn', 'notify-failed', {
                notification: fields.join(' '),
                message: missing
                  ? `${binary} not found: systemd notifications are off`
                  : `${binary} failed: ${String(stderr).trim() || err.message}`,
              });
            }
            resolve();
          });
        }),
    );
  };

  const startWatchdog = (): void => {
    if (timer || !socket) return;
    const ms = watchdogIntervalMs(env, pid);
    if (ms === null) return;
    log.log('info', 'watchdog', { intervalMs: ms });
    timer = setInterval(() => {
      if (o.healthy && !o.healthy()) {
        log.log('warn', 'watchdog-skipped', { message: 'unhealthy: watchdog ping withheld' });
        return;
      }
      send(['WATCHDOG=1']);
    }, ms);
    timer.unref();
  };
  const withStatus = (fields: string[], status?: string): string[] =>
    status === undefined ? fields : [...fields, `STATUS=${oneLine(status)}`];

  return {
    enabled: socket !== undefined && socket !== '',
    ready(status) {
      send(withStatus(['READY=1'], status));
      startWatchdog();
    },
    reloading(status) {
      send(withStatus(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`], status));
    },
    stopping(status) {
      if (timer) clearInterval(timer);
      timer = null;
      send(withStatus(['STOPPING=1'], status));
    },
    status(text) {
      send([`STATUS=${oneLine(text)}`]);
    },
    flush: () => queue,
    close() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
