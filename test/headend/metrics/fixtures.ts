// Fake readers for the metrics tests: two channels with every input set, a pacer report, and a
// fake /proc with two ffmpeg children.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelStatus } from '../../../src/headend/channel/types.js';
import type { ChannelMetricsInput, HistogramSnapshot } from '../../../src/headend/metrics/index.js';
import type { PacerStats } from '../../../src/scheduler/protocol.js';

export function status(n: number, name: string, over: Partial<ChannelStatus> = {}): ChannelStatus {
  return {
    number: n,
    name,
    slug: name.toLowerCase(),
    state: 'running',
    sourceIndex: 0,
    source: 'test',
    output: 'udp://239.255.10.1:5001',
    bitrate: 1_500_000,
    restarts: 0,
    failovers: 0,
    datagramsSent: 1000,
    datagramsDropped: 0,
    clockSkewPpm: -1.5,
    clockChases: 1,
    remux: {
      packetsOut: 7000,
      inputCcErrors: 2,
      bytesSkipped: 188,
      splices: 1,
      decodeDelayMs: 284.5,
      decodeDelayRaises: 2,
    },
    ...over,
  };
}

export function hist(counts: number[], count: number, sum: number): HistogramSnapshot {
  return { buckets: [0.001, 0.01, 0.1], counts, sum, count };
}

export function channels(): ChannelMetricsInput[] {
  return [
    {
      status: status(101, 'News "One"\\HD'),
      sourceUpSinceMs: 1_000_000,
      pacingLateness: hist([90, 99, 100], 100, 0.05),
      psiIntervals: { pat: hist([0, 0, 10], 10, 0.95), pmt: hist([0, 0, 9], 10, 1.2) },
      pcrInterval: hist([0, 40, 50], 50, 1.4),
      rtspSessions: { udp: 2, tcp: 1, multicast: 0 },
    },
    {
      status: status(102, 'Sport', {
        state: 'failover',
        sourceIndex: 1,
        failovers: 3,
        restarts: 4,
      }),
    },
  ];
}

export const pacerStats: PacerStats = {
  channels: 2,
  sent: 500,
  unlicensed: 0,
  lateMaxNs: 250_000,
  ownLateMaxNs: 40_000,
  preemptedMaxNs: 1_500_000,
  sleeps: 100,
  yields: 10,
  spinNs: 250_000_000,
  oversleepMaxNs: 80_000,
  gcPausesTotal: 7,
  gcMaxNs: 300_000,
  marginNs: 100_000,
  periodNs: 1_000_000_000,
  realtime: false,
  grid: true,
};

/** A fake /proc with /proc/<pid>/stat for each pid: utime, stime in ticks. */
export function fakeProc(dir: string, pids: Record<number, [number, number]>): void {
  for (const [pid, [utime, stime]] of Object.entries(pids)) {
    mkdirSync(join(dir, pid), { recursive: true });
    // Fields 3..13 before utime (14) and stime (15); comm with a space and a ')' as ffmpeg's may.
    const fields = ['S', '1', pid, pid, '0', '-1', '4194560', '100', '0', '0', '0'];
    writeFileSync(
      join(dir, pid, 'stat'),
      `${pid} (ff mpeg) x) ${fields.join(' ')} ${utime} ${stime} 0 0 20 0 1 0 100 1000 10\n`,
    );
  }
}
