// ffmpeg's stderr as structured events: one per line, the level taken from the `[warning]`
// prefix that `-loglevel level+…` writes, and the same message repeated within a window
// reported once with a count.
//
//   [mpegts @ 0x5581a0] [warning] Packet corrupt (stream = 0, dts = 1234).
//   → { level: 'warn', ffmpegLevel: 'warning', context: 'mpegts', message: 'Packet corrupt …' }

export interface StderrLine {
  level: 'info' | 'warn' | 'error';
  /** ffmpeg's own level word (warning, error, fatal, …), or undefined when none was written. */
  ffmpegLevel?: string;
  /** The component in `[name @ 0x…]`, if any. */
  context?: string;
  message: string;
}

const LINE_RE = /^(?:\[([A-Za-z0-9_:. -]+) @ 0x[0-9a-f]+\] )?(?:\[([a-z]+)\] )?(.*)$/;

export function parseStderrLine(line: string): StderrLine {
  const m = LINE_RE.exec(line) as RegExpExecArray;
  const [, context, word, message] = m;
  const out: StderrLine = { level: levelOf(word), message: message.trim() };
  if (word !== undefined) out.ffmpegLevel = word;
  if (context !== undefined) out.context = context;
  return out;
}

function levelOf(word: string | undefined): StderrLine['level'] {
  switch (word) {
    case 'panic':
    case 'fatal':
    case 'error':
      return 'error';
    case 'warning':
      return 'warn';
    default:
      return 'info';
  }
}

/** Splits a byte stream into lines (\n or \r), carrying a partial line between chunks. */
export class LineSplitter {
  private partial = '';
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 4096,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r\n|\r|\n/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > this.maxLine) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const l of lines) if (l.trim() !== '') this.onLine(l.slice(0, this.maxLine));
  }

  end(): void {
    if (this.partial.trim() !== '') this.onLine(this.partial);
    this.partial = '';
  }
}

/**
 * Lets the first occurrence of a message through, then at most one per `windowMs`, carrying
 * how many were held back. Addresses and numbers are ignored when comparing messages.
 */
export class RateLimiter {
  private readonly seen = new Map<string, { last: number; held: number }>();
  constructor(
    private readonly windowMs = 10_000,
    private readonly maxKeys = 256,
  ) {}

  /** Returns the number of identical messages held back since the last one let through, or -1 to drop. */
  admit(message: string, now: number): number {
    const key = message.replace(/0x[0-9a-f]+|\d+/gi, '#');
    const s = this.seen.get(key);
    if (s === undefined) {
      if (this.seen.size >= this.maxKeys) this.prune(now);
      this.seen.set(key, { last: now, held: 0 });
      return 0;
    }
    if (now - s.last < this.windowMs) {
      s.held++;
      return -1;
    }
    const held = s.held;
    s.last = now;
    s.held = 0;
    return held;
  }

  private prune(now: number): void {
    for (const [k, s] of this.seen) if (now - s.last >= this.windowMs) this.seen.delete(k);
    if (this.seen.size >= this.maxKeys) this.seen.clear();
  }
}
