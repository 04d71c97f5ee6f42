// Where commands write: results on stdout, structured logs and errors on stderr.
// Injected so commands can be driven from tests and, later, from the daemon.

import type { HeadendError } from '../errors.js';

export interface CommandIo {
  /** Result text for the user (reports, summaries), written to stdout as is. */
  out(text: string): void;
  /** One structured log event: a JSON object on one line of stderr. */
  log(level: 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>): void;
  /** A human-readable error for the user on stderr (no stack trace). */
  error(err: HeadendError): void;
}

export const processIo: CommandIo = {
  out(text) {
    process.stdout.write(text);
  },
  log(level, event, fields = {}) {
    process.stderr.write(
      JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + '\n',
    );
  },
  error(err) {
    process.stderr.write(`headend: ${err.message} [${err.code}]\n`);
  },
};

/** Exit statuses shared by every command. */
export const EXIT_OK = 0;
/** The stream has priority-1 (TR 101 290) errors. */
export const EXIT_STREAM_ERRORS = 1;
/** Bad usage, or a file/network input or output that could not be used. */
export const EXIT_USAGE = 2;
