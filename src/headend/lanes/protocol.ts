// The messages between the main thread and a channel worker (a lane: lane-worker.ts hosts
// channels, their remux, their native UDP inputs and their own pacing thread; lane.ts is its
// main-thread side). Channels are named by a number the main thread gives; sources the lane
// cannot open itself (ffmpeg children, tuners) are subscriptions the main thread serves.

import type { PacingSpec } from '../config/types.js';
import type { ChannelAlert } from '../channel/programme.js';
import type { ChannelConfig, ChannelSourceSpec, ChannelStatus } from '../channel/types.js';
import type { PacingLateness } from '../channel/handle.js';
import type { OutputHandoff } from '../channel/output-handoff.js';
import type { HistogramSnapshot } from '../metrics/types.js';
import type { RtpStreamState } from '../rtsp/types.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { PacerStats } from '../../scheduler/protocol.js';
import type { SourceStatus } from '../sources/types.js';
import type { LogFields, LogLevel } from '../log.js';
import type { Programme } from '../epg/xmltv.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';

/** workerData of a lane. */
export interface LaneInit {
  /** The lane's number (0-based), in its log lines and metrics as `worker`. */
  lane: number;
  pacing: PacingSpec;
  /** The network SI every output carries (ChannelSi less what the lane makes itself). */
  originalNetworkId: number;
  nit: Uint8Array[];
  timezone: string;
  /** ISO 3166-1 alpha-3; null: TDT only, no local time offset. */
  country: string | null;
  /** How often the lane reports its channels (ms). */
  reportMs: number;
  /** The send licence of its pacing thread (cluster mode: PacerOptions.licence). */
  licence?: SharedArrayBuffer;
}

/** One channel's state, as a lane reports it every LaneInit.reportMs. */
export interface ChannelReport {
  status: ChannelStatus;
  sourceUpSinceMs?: number;
  lateness?: PacingLateness;
  psi: { pat: HistogramSnapshot; pmt: HistogramSnapshot; sdt: HistogramSnapshot };
  si: {
    nit: HistogramSnapshot;
    eit_pf: HistogramSnapshot;
    tdt: HistogramSnapshot;
    tot: HistogramSnapshot;
  };
  pcr: HistogramSnapshot;
  rtp?: RtpStreamState;
}

export interface LogLine {
  level: LogLevel;
  event: string;
  fields: LogFields;
}

export type ToLane =
  | {
      t: 'add';
      id: number;
      config: ChannelConfig;
      staggerIndex: number;
      rtp?: { ssrc: number; seq: number };
      /** An output this lane kept (a stop reply's carry) that the channel takes over. */
      carry?: number;
      /** An output another lane ran (its export reply), gone on from where it stands. */
      handoff?: OutputHandoff;
      /** The SI of an output another node sent (a cluster takeover): Remuxer.continueFrom. */
      continueFrom?: OutputSi;
    }
  /** The channel's output SI as it stands (Remuxer.psiState), in the reply. */
  | { t: 'psi'; id: number; req: number }
  /** A kept output (a stop reply's carry) goes to another lane: its state in the reply. */
  | { t: 'export'; req: number; carry: number }
  /**
   * A channel is about to move here: open the inputs the lane receives itself (native UDP)
   * now, so that their recent bytes hold its old lane's cut; replied once they deliver.
   */
  | { t: 'warm'; req: number; sources: ChannelSourceSpec[] }
  | { t: 'start'; id: number }
  | { t: 'stop'; id: number; req: number; keepOutput: boolean }
  | { t: 'identity' | 'mux' | 'schedule'; id: number; req: number; config: ChannelConfig }
  | { t: 'alert'; id: number; alert: ChannelAlert | null }
  | { t: 'nit'; sections: Uint8Array[] }
  | { t: 'guide'; generation: number; entries: [string, Programme[]][]; on: boolean }
  | { t: 'tap'; id: number; on: boolean }
  | { t: 'dest-add'; id: number; req: number; dest: DestinationSpec }
  | { t: 'dest-remove'; id: number; req: number; destId: string }
  | { t: 'src-data'; sub: number; chunk: Uint8Array }
  | { t: 'src-restarted'; sub: number }
  | { t: 'src-failed'; sub: number; reason: string; message?: string }
  | { t: 'src-state'; states: [string, SourceStatus][] }
  | { t: 'close'; req: number };

export type FromLane =
  /**
   * Channels' reports (every channel's every LaneInit.reportMs; between, those of the channels
   * the lines speak of: lane-log.ts), then the log lines since the last (logged after it is
   * applied).
   */
  | { t: 'report'; channels: [number, ChannelReport][]; logs: LogLine[] }
  /** The channel could not be built (its constructor threw). */
  | { t: 'failed'; id: number; message: string }
  | {
      t: 'reply';
      req: number;
      error?: string;
      carry?: number;
      rtp?: RtpStreamState;
      handoff?: OutputHandoff;
      psi?: OutputSi;
    }
  /** Datagrams the channel queued while tapped: bytes back to back, one entry each. */
  | {
      t: 'tap-data';
      id: number;
      bytes: Uint8Array;
      lens: Int32Array;
      pcr27: Float64Array;
      dueNs: Float64Array;
    }
  | {
      t: 'src-sub';
      sub: number;
      spec: ChannelSourceSpec;
      stallMs?: number;
      /** Go on from this packet of the run (SourceHub.subscribe `from`). */
      from?: Uint8Array;
    }
  | { t: 'src-unsub'; sub: number; linger: boolean }
  | { t: 'pacer-stats'; stats: PacerStats };
