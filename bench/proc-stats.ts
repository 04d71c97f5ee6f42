// CPU and memory of a running process, from /proc (proc(5)), for the benches that judge whole
// programs (bench/dvblast.ts, bench/modes.ts): user+sys time of the process and of each of its
// threads (/proc/<pid>/task/<tid>/stat fields 14 and 15), and its peak resident set (VmHWM).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** user+sys CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  return statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * The pacing thread's tid in a daemon's log (its JSON lines): the first pacer-thread line's.
 * A lane logs it with its number first ("worker":0), so the field is looked for anywhere in
 * the line (bench/modes.ts stopped at "never logged" when channel workers became the default).
 */
export function pacerThreadTid(log: string): number | undefined {
  const m = /"event":"pacer-thread"[^\n]*?"tid":(\d+)/.exec(log);
  return m ? Number(m[1]) : undefined;
}

/** Peak resident set (VmHWM), MB. */
export function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds of each thread of `pid` so far, by tid (threads that ended are not listed). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpu(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between the listing and the read: it has no figure
    }
  }
  return out;
}

function statCpu(s: string): number {
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
