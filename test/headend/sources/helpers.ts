// Shared by the source-layer tests: a recording subscriber, waiting, and /proc lookups.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Framer } from '../../../src/mpegts/framer.js';
import { Demuxer, type ProgramInfo } from '../../../src/mpegts/demux.js';
import type { SourceEvent, SourceSubscriber } from '../../../src/headend/sources/types.js';

export const FFMPEG = '/usr/bin/ffmpeg';

export interface Mark {
  what: 'data' | 'restarted' | 'failed';
  at: number;
  reason?: string;
  /** failed(): why, as the hub says it. */
  message?: string;
}

/** A subscriber that records what it is told (first data of each instance, not every chunk). */
export class Recorder implements SourceSubscriber {
  marks: Mark[] = [];
  bytes = 0;
  lastDataAt = 0;
  program: ProgramInfo | null = null;
  serviceName = '';
  kept: Uint8Array[] = [];
  private fresh = true;
  private readonly demux = new Demuxer(
    {},
    {
      onProgram: (p) => (this.program = p),
      onService: (s) => (this.serviceName = s.serviceName),
    },
  );
  private readonly framer = new Framer({ packet: (b, o) => void this.demux.process(b, o) });

  constructor(private readonly keep = false) {}

  data(chunk: Uint8Array): void {
    const now = performance.now();
    if (this.fresh) this.marks.push({ what: 'data', at: now });
    this.fresh = false;
    this.bytes += chunk.length;
    this.lastDataAt = now;
    this.framer.push(chunk);
    if (this.keep) this.kept.push(Uint8Array.from(chunk));
  }

  restarted(): void {
    this.marks.push({ what: 'restarted', at: performance.now() });
    this.fresh = true;
    this.framer.reset();
    this.demux.reset();
    this.program = null;
  }

  failed(reason: string, message?: string): void {
    this.marks.push({ what: 'failed', at: performance.now(), reason, message });
    this.fresh = true;
  }

  /** The sequence of marks as text: 'data failed:exit restarted data'. */
  get story(): string {
    return this.marks.map((m) => (m.reason ? `${m.what}:${m.reason}` : m.what)).join(' ');
  }

  find(what: Mark['what'], from = 0): Mark | undefined {
    return this.marks.slice(from).find((m) => m.what === what);
  }
}

export class EventLog {
  events: (SourceEvent & { at: number })[] = [];
  log = (e: SourceEvent): void => {
    this.events.push({ ...e, at: performance.now() });
  };
  of(event: string): (SourceEvent & { at: number })[] {
    return this.events.filter((e) => e.event === event);
  }
}

export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  stepMs = 10,
): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Live (not zombie) processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmd.includes(marker)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** True while /proc/<pid> is a live process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function marker(): string {
  return `headend-test-${Math.random().toString(36).slice(2, 10)}`;
}
