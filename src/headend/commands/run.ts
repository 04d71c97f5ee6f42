// `headend run [-c FILE] [--log-format json|logfmt] [--log-level LEVEL]`: runs the daemon on
// channels.yaml until SIGTERM/SIGINT. Exit 0 after a clean stop, 1 when the configuration is
// invalid (every error is logged with file:line:column first) or when the stop did not finish
// within 5 s of the signal (`stop-timeout` says what was left): then the process exits at once,
// whatever still holds its event loop.

import { EXIT_STOP_TIMEOUT, runDaemon } from '../run-daemon.js';
import { startServices } from '../wiring.js';
import { createLogger } from '../log.js';
import type { LogFormat, LogLevel } from '../log.js';

export interface RunCliOptions {
  config?: string;
  logFormat?: string;
  logLevel?: string;
}

export async function runCommand(o: RunCliOptions): Promise<number> {
  const format: LogFormat = o.logFormat === 'logfmt' ? 'logfmt' : 'json';
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  const level = levels.includes(o.logLevel as LogLevel) ? (o.logLevel as LogLevel) : 'info';
  const log = createLogger({ format, level });
  const code = await runDaemon({
    configFile: o.config,
    log,
    startServices: (d) => startServices(d, log),
  });
  // Log lines are written synchronously to stderr (a file, pipe or TTY on Linux): none is lost.
  if (code === EXIT_STOP_TIMEOUT) process.exit(code);
  return code;
}
