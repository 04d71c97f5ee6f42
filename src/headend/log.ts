// Structured logs: one event per line on stderr, JSON (default) or logfmt, with a level, an
// event name and fields (the channel on every channel line). Repeats of the same line (same
// event, message and fields) within 10 s are folded into one line that says how many were
// suppressed; state changes without a message are never folded.
//
// Under systemd (JOURNAL_STREAM set: stderr goes to the journal) every line starts with the
// syslog priority, `<3>` error · `<4>` warn · `<6>` info · `<7>` debug, which journald takes as
// the entry's priority and strips (SyslogLevelPrefix=), and the `ts` field is left out: the
// journal stamps each entry itself. Elsewhere lines are plain JSON / logfmt with `ts`.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'logfmt';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. { channel: '101 News' }). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  write?: (line: string) => void;
  /** Repeat window in ms (default 10 000); 0 disables folding. */
  repeatWindowMs?: number;
  now?: () => number;
  /** journald mode (priority prefix, no ts); default: JOURNAL_STREAM is set. */
  journald?: boolean;
}

const SYSLOG_PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

interface Repeat {
  until: number;
  suppressed: number;
}

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = opts.format ?? 'json';
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const window = opts.repeatWindowMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const repeats = new Map<string, Repeat>();
  const journald = opts.journald ?? Boolean(process.env.JOURNAL_STREAM);

  const emit = (level: LogLevel, event: string, fields: LogFields): void => {
    if (ORDER[level] < min) return;
    const t = now();
    // Only a line with a message (ffmpeg's stderr, a crash loop's exit) can be a flood, and only
    // a line identical in every field is a repeat. State changes (source-up, failover,
    // return-to-primary: no message) are news each time and are never folded.
    if (window > 0 && fields.message !== undefined) {
      const key = `${level}|${event}|${JSON.stringify(fields)}`;
      const r = repeats.get(key);
      if (r && t < r.until) {
        r.suppressed++;
        return;
      }
      if (r && r.suppressed > 0) fields = { ...fields, repeated: r.suppressed };
      repeats.set(key, { until: t + window, suppressed: 0 });
      if (repeats.size > 10_000) repeats.clear();
    }
    const record: LogFields = journald
      ? { level, event, ...fields }
      : { ts: new Date(t).toISOString(), level, event, ...fields };
    const line = format === 'json' ? JSON.stringify(record) : logfmt(record);
    write(journald ? `<${SYSLOG_PRIORITY[level]}>${line}` : line);
  };

  const make = (b: LogFields): Logger => ({
    log: (level, event, fields = {}) => emit(level, event, { ...b, ...fields }),
    child: (fields) => make({ ...b, ...fields }),
  });
  return make(base);
}

function logfmt(r: LogFields): string {
  return Object.entries(r)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
    })
    .join(' ');
}
