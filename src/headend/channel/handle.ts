// What the rest of the daemon holds of a running channel (STYLE: each consumer declares what it
// uses): the daemon's reload, the metrics, the HTTP API, RTSP, SAP and the alerts. A Channel on
// the main thread satisfies it as it is; a LaneChannel (lanes/lane-channel.ts) is the same
// channel running in a channel worker, seen through its periodic reports and its commands.

import type { HistogramSnapshot } from '../metrics/types.js';
import type { RtpStreamState } from '../rtsp/types.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { ChannelConfig, ChannelStatus, DatagramListener } from './types.js';
import type { ChannelAlert } from './programme.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';

/** The output checks the metrics read (output-monitor.ts). */
export interface ChannelMonitorView {
  psiIntervals(): { pat: HistogramSnapshot; pmt: HistogramSnapshot; sdt: HistogramSnapshot };
  siIntervals(): {
    nit: HistogramSnapshot;
    eit_pf: HistogramSnapshot;
    tdt: HistogramSnapshot;
    tot: HistogramSnapshot;
  };
  pcrInterval(): HistogramSnapshot;
}

/** How late the pacer sent each datagram: cumulative counts per bucket, seconds. */
export interface PacingLateness {
  buckets: number[];
  counts: number[];
  sum: number;
  count: number;
}

/**
 * What a stopped channel hands to the channel that replaces it when its output goes on as it
 * was (Channel.stop keepOutput): opaque to the daemon, which only passes it back to the host
 * that made it.
 */
export type CarriedOutput = object;

export interface ChannelHandle {
  readonly config: ChannelConfig;
  /** The output's identity (output-key.ts). */
  readonly outputKey: string;
  /** When the source in use last came up (ms since the epoch). */
  readonly sourceUpSinceMs: number | undefined;
  readonly monitor: ChannelMonitorView;
  readonly programme: { setAlert(alert: ChannelAlert | null): void };
  start(): void | Promise<void>;
  stop(opts?: { keepOutput?: boolean }): Promise<CarriedOutput | null>;
  status(): ChannelStatus;
  /** Whether this channel and `other` send through the same output queue (a handed-over one). */
  sharesOutputWith(other: ChannelHandle): boolean;
  /** In place (reload); resolves once applied (a channel worker's: once it said so). */
  updateIdentity(next: ChannelConfig): void | Promise<void>;
  updateMux(next: ChannelConfig): void | Promise<void>;
  updateSchedule(next: ChannelConfig): void | Promise<void>;
  setNit(sections: readonly Uint8Array[]): void;
  tap(listener: DatagramListener): () => void;
  addRtpDestination(d: DestinationSpec): Promise<void>;
  removeRtpDestination(id: string): Promise<void>;
  rtpState(): RtpStreamState | undefined;
  /** The output's PSI/SI as it stands (cluster/identity.ts); undefined once stopped. */
  psiState(): OutputSi | undefined | Promise<OutputSi | undefined>;
  pacingLateness(): PacingLateness | undefined;
}

/**
 * A running channel's config after an in-place reload (reload/config-diff.ts updateKinds):
 * what each kind of update takes from the new entry, the rest as it runs.
 */
export const updatedConfig = {
  /** Name, number, provider, slug, program_number, transport_stream_id, epg. */
  identity: (prev: ChannelConfig, next: ChannelConfig): ChannelConfig => ({
    ...prev,
    number: next.number,
    name: next.name,
    provider: next.provider,
    slug: next.slug,
    programNumber: next.programNumber,
    transportStreamId: next.transportStreamId,
    epg: next.epg,
  }),
  /** Bitrate (CBR rate or VBR), psi_interval, packets per datagram. */
  mux: (prev: ChannelConfig, next: ChannelConfig): ChannelConfig => ({
    ...prev,
    bitrate: next.bitrate,
    psiIntervalMs: next.psiIntervalMs,
    output: { ...prev.output, packetsPerDatagram: next.output.packetsPerDatagram },
  }),
  /** The timetable and the alert zone (group). */
  schedule: (prev: ChannelConfig, next: ChannelConfig): ChannelConfig => ({
    ...prev,
    schedule: next.schedule,
    group: next.group,
  }),
};
