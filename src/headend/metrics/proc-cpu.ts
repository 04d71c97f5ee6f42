// CPU time of child processes (the ffmpeg sources) from /proc/<pid>/stat (proc(5): fields 14
// utime and 15 stime, in clock ticks of sysconf(_SC_CLK_TCK), read once with `getconf CLK_TCK`).
// The total stays monotonic as children come and go: the last reading of a child that is gone
// is kept in `retired`, so a restart or an exit never makes the counter go down.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';

/** Clock ticks per second; 100 on every mainstream Linux when getconf is missing. */
export function clockTicks(log?: Logger): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(n) && n > 0) return n;
    log?.log('warn', 'metrics-clk-tck', { message: 'getconf CLK_TCK gave no number; using 100' });
  } catch (err) {
    log?.log('warn', 'metrics-clk-tck', {
      message: `getconf CLK_TCK failed (${err instanceof Error ? err.message : String(err)}); using 100`,
    });
  }
  return 100;
}

/** utime + stime in ticks from the text of /proc/<pid>/stat, or null when malformed. */
export function parseStatTicks(stat: string): number | null {
  // comm (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const rest = stat.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return utime + stime;
}

export class ChildCpu {
  private readonly last = new Map<number, number>();
  private retired = 0;

  constructor(
    private readonly ticksPerSecond: number,
    private readonly procRoot = '/proc',
  ) {}

  /** Total CPU seconds of every child seen so far, reading the given live pids now. */
  seconds(pids: readonly number[]): number {
    const live = new Set<number>();
    for (const pid of pids) {
      let ticks: number | null = null;
      try {
        ticks = parseStatTicks(readFileSync(`${this.procRoot}/${pid}/stat`, 'utf8'));
      } catch {
        ticks = null; // exited between the listing and this read: its last reading is retired below
      }
      if (ticks === null) continue;
      live.add(pid);
      this.last.set(pid, Math.max(ticks, this.last.get(pid) ?? 0));
    }
    for (const [pid, ticks] of this.last) {
      if (!live.has(pid)) {
        this.retired += ticks;
        this.last.delete(pid);
      }
    }
    let total = this.retired;
    for (const ticks of this.last.values()) total += ticks;
    return total / this.ticksPerSecond;
  }
}
