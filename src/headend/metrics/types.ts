// What the metrics module reads at scrape time (Prometheus text exposition format 0.0.4). The
// daemon injects readers returning these shapes; nothing is pushed from the hot path: a scrape
// asks the readers for the current figures and renders them.

import type { ClusterStatus } from '../cluster/coordinator.js';
import type { HttpMetricsInput } from './http-metrics.js';
import type { AlertMetricsInput } from './alert-metrics.js';
import type { ChannelStatus } from '../channel/types.js';
import type { PacerStats } from '../../scheduler/protocol.js';
import type { Logger } from '../log.js';
import type { TunerReport } from '../tuners/report.js';

/**
 * A histogram accumulated elsewhere (the pacing worker, an output monitor), as Prometheus keeps
 * one: `buckets` are the upper bounds in seconds, ascending, without +Inf; `counts[i]` is the
 * cumulative number of observations ≤ buckets[i] (non-decreasing, ≤ count); `count` is every
 * observation (the +Inf bucket) and `sum` their total in seconds. All of it only ever grows.
 */
export interface HistogramSnapshot {
  buckets: readonly number[];
  counts: readonly number[];
  sum: number;
  count: number;
}

/** RTSP sessions of a channel, by how the client receives it. */
export interface RtspSessionCounts {
  udp: number;
  tcp: number;
  multicast: number;
}

/** One channel as a scrape sees it. */
export interface ChannelMetricsInput {
  /** Channel.status(): state, sourceIndex, bitrate, restarts, failovers, datagramsSent and the
   * remuxer's stats (packetsOut, inputCcErrors, bytesSkipped, splices). */
  status: ChannelStatus;
  /** Date.now() when the source in use last came up; undefined while no source is up. */
  sourceUpSinceMs?: number;
  /** How late each datagram left versus its due time (seconds). */
  pacingLateness?: HistogramSnapshot;
  /** Output PSI repetition intervals by table name ('pat', 'pmt', 'sdt'), seconds. */
  psiIntervals?: Readonly<Record<string, HistogramSnapshot>>;
  /** The same for the network SI: nit, eit_pf, tdt, tot. */
  siIntervals?: Readonly<Record<string, HistogramSnapshot>>;
  /** Output PCR intervals, seconds. */
  pcrInterval?: HistogramSnapshot;
  /** RTSP sessions of this channel by transport (undefined when RTSP is off). */
  rtspSessions?: RtspSessionCounts;
}

export interface MetricsOptions {
  /** Access denials and HTTP MPEG-TS clients (headend_http_*); absent: none. */
  http?: () => HttpMetricsInput | undefined;
  /** Cluster mode's state (cluster-metrics.ts); absent or null: a single headend. */
  cluster?: () => ClusterStatus | null | undefined;
  /** The emergency override's state (headend_alert_*); absent: no such series. */
  alerts?: () => AlertMetricsInput | undefined;
  channels: () => readonly ChannelMetricsInput[];
  /** The pacing loop's latest report (Pacer's onStats), undefined before the first. */
  /** Each pacing thread's latest report; `worker` names a channel worker's. */
  pacing: () => readonly { worker?: number; stats: PacerStats }[];
  /** Pids of the running ffmpeg children. */
  ffmpegChildren: () => readonly number[];
  /** The configured tuners (none: no headend_tuner_* series). */
  tuners?: () => readonly TunerReport[];
  log?: Logger;
  /** Wall clock in ms (Date.now). */
  now?: () => number;
  /** /proc (tests point it elsewhere). */
  procRoot?: string;
  /** Skip prom-client's process/Node.js default metrics (tests that count series). */
  defaultMetrics?: boolean;
}

export interface Metrics {
  /** The Content-Type of render()'s text. */
  readonly contentType: string;
  /**
   * The exposition text of every metric (or only of those `names`, each known: has()), read
   * from the injected readers now.
   */
  render(names?: readonly string[]): Promise<string>;
  /** Whether a metric of that name is served. */
  has(name: string): boolean;
}
