// A Logger that keeps every line it is given, for tests that check what was logged.
import type { Logger, LogFields, LogLevel } from '../../src/headend/log.js';

export interface Line {
  level: LogLevel;
  event: string;
  fields: LogFields;
}

/** Logs into `lines`; child loggers log into the same list. */
export function logger(lines: Line[]): Logger {
  const l: Logger = {
    log: (level, event, fields = {}) => void lines.push({ level, event, fields }),
    child: () => l,
  };
  return l;
}
