// The narrow interfaces a channel needs of the rest of the daemon (STYLE: each consumer declares
// what it uses of its parents). The config loader, SourceHub and Pacer satisfy them structurally.

import type {
  DatagramQueue,
  DestinationSpec,
  OutputInfo,
  OutputSpec,
} from '../../scheduler/output-contract.js';

import type { Unsubscribe } from '../sources/types.js';
import type { TunerStatus } from '../tuners/types.js';
import type { TimetableRule } from '../../scheduler/timetable.js';
import type { ProgrammeStatus } from './programme.js';

export interface ChannelSourceSpec {
  /** Identity of the opened source: equal keys share one opened source across channels. */
  key: string;
  /** program_number to pick from a multi-program input; first program when absent. */
  service?: number;
  url?: string;
  test?: unknown;
  /** A broadcast tuner: its id names it in the channel's status. */
  tuner?: { id: string };
}

/** The channel's output, as the config gives it and the pacer takes it. */
export type ChannelOutputSpec = OutputSpec;

export interface ChannelConfig {
  number: number;
  name: string;
  provider: string;
  slug: string;
  output: ChannelOutputSpec;
  /** [primary, ...backups]. */
  sources: ChannelSourceSpec[];
  bitrate?: number;
  psiIntervalMs: number;
  /** Least DTS − PCR of every output PES, ms (the remuxer's default, 100, when absent). */
  decodeMarginMs?: number;
  /** VBR smoothing bound, ms (the remuxer's default, 100, when absent). */
  vbrSmoothingMs?: number;
  stallMs: number;
  returnAfterMs: number;
  programNumber: number;
  transportStreamId: number;
  /** service_type for the SDT; undefined: from the streams. */
  serviceType?: number;
  /** The channel's id in the programme guide (XMLTV channel id). */
  epg: string;
  /** The channel's group (alert zones). */
  group?: string;
  /** Timetable rules: other sources by time of day, first match wins. */
  schedule?: ScheduleRule[];
}

/** A timetable rule as the channel takes it (config ScheduleSpec). */
export interface ScheduleRule {
  name: string;
  rule: TimetableRule;
  source: ChannelSourceSpec;
}

export interface SourceSubscriber {
  data(chunk: Uint8Array): void;
  restarted(): void;
  /** `message`: why, when the hub knows (ffmpeg's exit status and last error line). */
  failed(reason: string, message?: string): void;
}

/** Ends a subscription (SourceHub's, sources/types.ts): `{ linger }` when the channel stops. */
export type { Unsubscribe };

export interface SourceProvider {
  subscribe(
    spec: ChannelSourceSpec,
    sub: SourceSubscriber,
    /** `from`: go on from this packet of the run (SourceHub.subscribe). */
    opts?: { stallMs?: number; from?: Uint8Array },
  ): Unsubscribe;
  state(
    key: string,
  ):
    | { state: string; restarts: number; bytes: number; lastError?: string; tuner?: TunerStatus }
    | undefined;
}

export interface OutputQueue extends DatagramQueue {
  readonly stats: {
    sent: number;
    dropped: number;
    lateNs: number;
    bytes: number;
    /** Sends that failed (the pacer's count; absent from queues that do not count them). */
    sendErrors?: number;
    /** Sends under the burst limit's rule 3 (burst-limit.ts; absent where not counted). */
    relaxed?: number;
    /** Datagrams sent in two parts (burst-limit.ts rule 2; absent where not counted). */
    split?: number;
    lateness: { buckets: readonly number[]; counts: number[]; sumSeconds: number; count: number };
  };
  /** Settles when the output socket is open (its info) or could not open (an Error). */
  readonly ready: Promise<OutputInfo | Error>;
  /**
   * The channel's RTP stream: SSRC, and the k-th RTP packet carries sequence (seq + k) & 0xffff
   * (a datagram sent in two parts is two: stats.split).
   */
  readonly rtp: { ssrc: number; seq: number };
  addDestination(d: DestinationSpec): Promise<void>;
  removeDestination(id: string): Promise<void>;
  /**
   * No datagram in two parts any more (the queue drains while another goes on with its RTP
   * stream): once settled, stats.split stays. Absent where nothing is sent in parts.
   */
  sendWhole?(): Promise<void>;
}

export interface OutputScheduler {
  addChannel(ch: { id: string; output: ChannelOutputSpec; staggerIndex?: number }): OutputQueue;
  removeChannel(id: string): Promise<void>;
}

/** One datagram of a channel's output as queued for pacing: TS bytes (valid during the call). */
export type DatagramListener = (ts: Uint8Array, pcr27: number, dueNs: number) => void;

export type ChannelState = 'starting' | 'running' | 'failover' | 'down' | 'stopped';

export interface ChannelStatus {
  number: number;
  name: string;
  slug: string;
  state: ChannelState;
  /** Index of the source in use (0 = primary) and its URL or 'test'. */
  sourceIndex: number;
  source: string;
  output: string;
  bitrate: number;
  /** Runs of the channel's sources started again (the hub's count), over all its sources. */
  restarts: number;
  failovers: number;
  lastError?: string;
  datagramsSent: number;
  datagramsDropped: number;
  /**
   * Datagrams the burst limit let out above its rate (rule 3) because the channel stayed behind
   * without catching up (the pacing thread could not keep up); absent before the output opens.
   */
  datagramsRelaxed?: number;
  /**
   * Datagrams the burst window could not hold whole after a stall, sent in two parts (two RTP
   * packets; counted once in datagramsSent); absent before the output opens.
   */
  datagramsSplit?: number;
  /**
   * The send line's drift correction against the source's clock, ppm (ClockMap; negative:
   * sending faster than stream time); absent before the first datagram.
   */
  clockSkewPpm?: number;
  /**
   * Times the send line changed rate faster than ISO/IEC 13818-1 2.4.2.1 lets a system clock
   * (0.075 Hz/s) because the queue ran half its depth off (ClockMap); absent before the first
   * datagram.
   */
  clockChases?: number;
  remux: Record<string, number>;
  /** TR 101 290 counters of the channel's own output (an analyzer on its datagrams), when on. */
  analyzer?: Record<string, number>;
  /** The tuner of the source in use (or of the primary): its id and front-end reading. */
  tuner?: ChannelTuner;
  /** Timetable and alert: the rule in force, the next switch, the alert (when any is set). */
  programme?: ProgrammeStatus;
  /** The guide: its id and what the EIT p/f carries now (only with headend.epg). */
  guide?: ChannelGuide;
}

export interface ChannelGuide {
  id: string;
  present: { title: string; start: string; stop: string } | null;
  following: { title: string; start: string; stop: string } | null;
}

/** A channel's tuner as reported: the id, and the last reading when there is one. */
export interface ChannelTuner extends Partial<TunerStatus> {
  id: string;
}
