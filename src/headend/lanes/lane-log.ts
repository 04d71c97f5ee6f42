// The log lines of a channel worker (a lane) and the channels whose reports go with them.
//
// Lines go to the main thread's logger with a report of the channels taken after the work that
// logged them: whoever reads a line and then asks the HTTP API sees the state the line speaks
// of. A channel's own lines (its logger: `forChannel`) call for that channel's report only; a
// line of the lane itself (its sources, its pacing thread, its stalls) for every channel's.
// Before, every line and every command reply sent every channel's report: a reload that
// updated 250 channels built and posted 250 reports of 250 channels (5-9 ms each), 1.5 s of
// the worker's 3.2 s reload.

import type { LogFields, Logger, LogLevel } from '../log.js';
import type { LogLine } from './protocol.js';

/** What a flush sends: the lines, and whose reports (null: every channel's). */
export interface LaneLogBatch {
  lines: LogLine[];
  ids: ReadonlySet<number> | null;
}

export class LaneLog {
  private lines: LogLine[] = [];
  private readonly ids = new Set<number>();
  private all = false;

  /** @param onFirst called when a line or mark comes with nothing pending (schedule a flush). */
  constructor(private readonly onFirst: () => void) {}

  /** Whether lines or reports wait to be sent. */
  get pending(): boolean {
    return this.lines.length > 0 || this.all || this.ids.size > 0;
  }

  /** The lane's logger: its lines call for every channel's report. */
  logger(fields: LogFields): Logger {
    return new LaneLogger(this, fields, undefined);
  }

  /** Channel `id`'s logger (and its children's): its lines call for its own report. */
  forChannel(fields: LogFields, id: number): Logger {
    return new LaneLogger(this, fields, id);
  }

  /** Channel `id`'s state changed without a line (an update): its report goes at the flush. */
  mark(id: number): void {
    if (!this.pending) this.onFirst();
    this.ids.add(id);
  }

  push(line: LogLine, id: number | undefined): void {
    if (!this.pending) this.onFirst();
    this.lines.push(line);
    if (id === undefined) this.all = true;
    else this.ids.add(id);
  }

  /** Takes what is pending. */
  take(): LaneLogBatch {
    const batch: LaneLogBatch = { lines: this.lines, ids: this.all ? null : new Set(this.ids) };
    this.lines = [];
    this.ids.clear();
    this.all = false;
    return batch;
  }
}

class LaneLogger implements Logger {
  constructor(
    private readonly to: LaneLog,
    private readonly fields: LogFields,
    private readonly id: number | undefined,
  ) {}
  log(level: LogLevel, event: string, fields?: LogFields): void {
    this.to.push({ level, event, fields: { ...this.fields, ...fields } }, this.id);
  }
  child(fields: LogFields): Logger {
    return new LaneLogger(this.to, { ...this.fields, ...fields }, this.id);
  }
}
