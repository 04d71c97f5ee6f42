// Per-channel metrics, every series labelled {channel="<number>", name="<service name>"}. Each
// metric reads the channels reader once per scrape (memoized by createMetrics), so the hot path
// never touches them.

import type { ChannelState } from '../channel/types.js';
import type { Metric } from 'prom-client';
import { RELAX_NS } from '../../scheduler/burst-limit.js';
import { histogramProblem, histogramSamples } from './histogram.js';
import { scrapeMetric, type Labels, type MetricKind, type Sample } from './scrape-metric.js';
import type { ChannelMetricsInput, HistogramSnapshot } from './types.js';

/** Every ChannelState, one series each in the state enum gauge. */
const STATE_SET = {
  starting: true,
  running: true,
  failover: true,
  down: true,
  stopped: true,
} satisfies Record<ChannelState, true>;
export const CHANNEL_STATES = Object.keys(STATE_SET) as ChannelState[];

export const RTSP_TRANSPORTS = ['udp', 'tcp', 'multicast'] as const;

export interface ChannelMetricsContext {
  channels: () => readonly ChannelMetricsInput[];
  now: () => number;
  /** Reports a malformed histogram (once per metric and channel). */
  badHistogram: (metric: string, labels: Labels, problem: string) => void;
}

const labelsOf = (c: ChannelMetricsInput): Labels => ({
  channel: String(c.status.number),
  name: c.status.name,
});

/** A metric with one value per channel; `value` undefined = no series for that channel. */
function perChannel(
  ctx: ChannelMetricsContext,
  name: string,
  type: MetricKind,
  help: string,
  value: (c: ChannelMetricsInput) => number | undefined,
): Metric {
  return scrapeMetric({
    name,
    help,
    type,
    collect: () => {
      const out: Sample[] = [];
      for (const c of ctx.channels()) {
        const v = value(c);
        if (v !== undefined) out.push({ labels: labelsOf(c), value: v });
      }
      return out;
    },
  });
}

function perChannelHistogram(
  ctx: ChannelMetricsContext,
  name: string,
  help: string,
  pick: (c: ChannelMetricsInput) => Iterable<[Labels, HistogramSnapshot]>,
): Metric {
  return scrapeMetric({
    name,
    help,
    type: 'histogram',
    collect: () => {
      const out: Sample[] = [];
      for (const c of ctx.channels()) {
        for (const [extra, h] of pick(c)) {
          const labels = { ...labelsOf(c), ...extra };
          const problem = histogramProblem(h);
          if (problem) ctx.badHistogram(name, labels, problem);
          else histogramSamples(name, labels, h, out);
        }
      }
      return out;
    },
  });
}

const remux = (c: ChannelMetricsInput, key: string): number | undefined => c.status.remux[key];
const secondsOf = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : ms / 1000;

export function channelMetrics(ctx: ChannelMetricsContext): Metric[] {
  const one = (h: HistogramSnapshot | undefined): [Labels, HistogramSnapshot][] =>
    h ? [[{}, h]] : [];
  return [
    perChannel(
      ctx,
      'headend_channel_output_bitrate_bits',
      'gauge',
      'Output bitrate of the channel over the last measurement window, bit/s.',
      (c) => c.status.bitrate,
    ),
    perChannel(
      ctx,
      'headend_channel_output_packets_total',
      'counter',
      'TS packets the channel put out (remuxer packetsOut).',
      (c) => remux(c, 'packetsOut'),
    ),
    perChannel(
      ctx,
      'headend_channel_datagrams_sent_total',
      'counter',
      'Datagrams the pacer sent for the channel.',
      (c) => c.status.datagramsSent,
    ),
    perChannel(
      ctx,
      'headend_channel_datagrams_dropped_total',
      'counter',
      'Datagrams dropped because the channel queue was full.',
      (c) => c.status.datagramsDropped,
    ),
    perChannel(
      ctx,
      'headend_channel_datagrams_relaxed_total',
      'counter',
      'Datagrams the burst limit let out above its rate (burst rule 3) because the channel ' +
        `stayed more than ${RELAX_NS / 1e6} ms behind without catching up (the pacing thread ` +
        'could not keep up).',
      (c) => c.status.datagramsRelaxed,
    ),
    perChannel(
      ctx,
      'headend_channel_datagrams_split_total',
      'counter',
      'Datagrams the burst limit sent in two parts after a stall: the packets its 10 ms window ' +
        'held at once, then the rest (counted once in datagrams_sent_total).',
      (c) => c.status.datagramsSplit,
    ),
    perChannel(
      ctx,
      'headend_channel_clock_skew_ppm',
      'gauge',
      "Drift correction of the channel's send line against its source's clock, ppm (negative: " +
        "sending faster than stream time): the source's rate as measured, and while the queue " +
        'runs more than 20 ms off the depth it settled at, up to 5 ppm more. Once the rate is ' +
        'acquired it changes by at most 0.075 Hz/s of 27 MHz (ISO/IEC 13818-1 2.4.2.1).',
      (c) => c.status.clockSkewPpm,
    ),
    perChannel(
      ctx,
      'headend_channel_clock_chases_total',
      'counter',
      'Times the send line changed rate faster than ISO/IEC 13818-1 lets a clock (0.075 Hz/s), ' +
        "at up to 2 ppm/s, because its queue ran more than half its depth off: the source's " +
        "clock (or this machine's) changed rate beyond the standard.",
      (c) => c.status.clockChases,
    ),
    scrapeMetric({
      name: 'headend_channel_source_state',
      help: 'State of the channel: 1 on the series of the current state, 0 on the others.',
      type: 'gauge',
      collect: () => {
        const out: Sample[] = [];
        for (const c of ctx.channels()) {
          for (const state of CHANNEL_STATES)
            out.push({
              labels: { ...labelsOf(c), state },
              value: c.status.state === state ? 1 : 0,
            });
        }
        return out;
      },
    }),
    perChannel(
      ctx,
      'headend_channel_source_index',
      'gauge',
      'Index of the source in use: 0 = primary, 1.. = the backups in order.',
      (c) => c.status.sourceIndex,
    ),
    perChannel(
      ctx,
      'headend_channel_source_up_seconds',
      'gauge',
      'Seconds since the source in use came up (0 while none is up).',
      (c) =>
        c.sourceUpSinceMs === undefined ? 0 : Math.max(0, (ctx.now() - c.sourceUpSinceMs) / 1000),
    ),
    perChannel(
      ctx,
      'headend_channel_source_restarts_total',
      'counter',
      'Restarts of the channel sources.',
      (c) => c.status.restarts,
    ),
    perChannel(
      ctx,
      'headend_channel_failovers_total',
      'counter',
      'Switches of the channel from one source to another.',
      (c) => c.status.failovers,
    ),
    perChannel(
      ctx,
      'headend_channel_input_cc_errors_total',
      'counter',
      'Continuity counter errors seen on the channel input.',
      (c) => remux(c, 'inputCcErrors'),
    ),
    perChannel(
      ctx,
      'headend_channel_input_skipped_bytes_total',
      'counter',
      'Input bytes skipped to regain TS packet sync.',
      (c) => remux(c, 'bytesSkipped'),
    ),
    perChannel(
      ctx,
      'headend_channel_timestamp_splices_total',
      'counter',
      'Timestamp discontinuities the remuxer spliced into a continuous output clock.',
      (c) => remux(c, 'splices'),
    ),
    perChannel(
      ctx,
      'headend_channel_decode_delay_seconds',
      'gauge',
      'Time added to every PTS/DTS so that each PES arrives ahead of its decoding time; what a ' +
        'switch (failover, alert) waits for on screen besides the new source, seconds.',
      (c) => secondsOf(remux(c, 'decodeDelayMs')),
    ),
    perChannel(
      ctx,
      'headend_channel_decode_delay_raises_total',
      'counter',
      'Raises of the decode delay while an input ran (its PES came too close to their ' +
        'decoding time); each steps every timestamp later once.',
      (c) => remux(c, 'decodeDelayRaises'),
    ),
    perChannelHistogram(
      ctx,
      'headend_channel_pacing_lateness_seconds',
      'How late each datagram of the channel left versus its due time, seconds.',
      (c) => one(c.pacingLateness),
    ),
    perChannelHistogram(
      ctx,
      'headend_channel_psi_interval_seconds',
      'Interval between repetitions of each PSI table on the output, seconds.',
      (c) => Object.entries(c.psiIntervals ?? {}).map(([table, h]) => [{ table }, h]),
    ),
    perChannelHistogram(
      ctx,
      'headend_channel_si_interval_seconds',
      'Interval between repetitions of the network SI on the output (nit, eit_pf, tdt, tot), seconds.',
      (c) => Object.entries(c.siIntervals ?? {}).map(([table, h]) => [{ table }, h]),
    ),
    perChannelHistogram(
      ctx,
      'headend_channel_pcr_interval_seconds',
      'Interval between PCRs on the output, seconds.',
      (c) => one(c.pcrInterval),
    ),
    scrapeMetric({
      name: 'headend_channel_rtsp_sessions',
      help: 'RTSP sessions playing the channel, by transport (udp, tcp interleaved, multicast).',
      type: 'gauge',
      collect: () => {
        const out: Sample[] = [];
        for (const c of ctx.channels()) {
          const s = c.rtspSessions;
          if (!s) continue;
          for (const transport of RTSP_TRANSPORTS)
            out.push({ labels: { ...labelsOf(c), transport }, value: s[transport] });
        }
        return out;
      },
    }),
  ];
}
