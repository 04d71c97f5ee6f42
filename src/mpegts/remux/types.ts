// Options, sink and counters of the remuxer (src/mpegts/remux/remuxer.ts): the contract between
// the packetizer and whoever feeds it (the daemon's channels, `headend remux`, tests, benches).

import type { NetworkTablesOptions } from './network-tables.js';
import type { DemuxPsi } from '../demux.js';
import type { OutputPsiState } from './output-psi.js';

export interface RemuxOptions {
  /** Input program_number to select from an MPTS; default: the first program of the PAT. */
  program?: number;
  /** Output transport_stream_id (PAT, SDT). Default 1. */
  transportStreamId?: number;
  /** Output program_number / service_id. Default 1. */
  programNumber?: number;
  /** Output original_network_id (SDT). Default 0xFF01 (private temporary use, EN 300 468). */
  originalNetworkId?: number;
  /** Service name in the SDT. Default: the input's SDT name for the program, else "Service N". */
  serviceName?: string;
  /** Provider name in the SDT. Default: the input's, else "headend". */
  providerName?: string;
  /** service_type in the SDT (EN 300 468 §6.2.33); default from the streams / input SDT. */
  serviceType?: number;
  /** NIT and TDT/TOT repetition and the TOT's local time (network-tables.ts). */
  network?: NetworkTablesOptions;
  /** Emit an SDT actual. Default true. */
  sdt?: boolean;
  /** PAT/PMT (and SDT) repetition interval in ms of output time. Default 100. */
  psiIntervalMs?: number;
  /** Longest gap between PCRs on the output in ms; PCR-only packets fill gaps. Default 35 (≤ 40). */
  pcrIntervalMs?: number;
  /** Constant mux rate in bit/s: pads with null packets, PCR consistent with that rate. VBR if unset. */
  cbrBitrate?: number;
  /** First output PID for elementary streams; video gets base, audio base+0x10.., others +0x20... Default 0x100. */
  basePid?: number;
  /** PMT PID of the output program. Default 0x1000. */
  pmtPid?: number;
  /**
   * Packets per output datagram (1..7). Above 1, PCR is carried only by PCR-only packets that
   * open a datagram (output packet index ≡ 0 mod pcrAlign), so every PCR leaves at the time it
   * names; content PCR fields become stuffing. Within a datagram the packets all arrive at
   * once, so a PCR in packet k would arrive k packet-times early (1.1 ms at 4 Mbit/s for k = 3).
   * Falls back to unaligned PCR where datagrams are too sparse to keep pcrIntervalMs. Default 1.
   */
  pcrAlign?: number;
  /**
   * Least time, in ms, between a PES's arrival (the PCR of its first packet) and its decoding
   * (DTS, else PTS): the output keeps every stream at least this far ahead of the decoder by a
   * common decode delay added to PTS/DTS, never past the T-STD's 1 s (ISO/IEC 13818-1
   * §2.4.2.6). The delay aims 60 ms above the minimum; a PES found within 30 ms of it gets
   * the delay raised at the next video keyframe, one below it at once. Default 100.
   */
  minDecodeMarginMs?: number;
  /**
   * VBR only: how far (ms) the output may trail the input so that its rate follows the input's
   * mean rather than its bursts (a muxer's frame-sized bursts, a sparse segment between two
   * PCRs): vbr-smoothing.ts. 0 turns it off (each segment laid out over its own span). The
   * decode delay allows for it. Default 100, at most 500.
   */
  vbrSmoothingMs?: number;
  /**
   * How long (ms of input time) a new input's video may wait for a random access point before
   * it starts at the next PES anyway (a non-RAP start). Default 3000.
   */
  rapWaitMs?: number;
}

/**
 * Receives whole 188-byte output packets and their output times: `times[i]` (i below the
 * packet count) is when packet i's first byte leaves on the output clock (27 MHz, unwrapped: the
 * PCR a decoder sees it arrive at, §2.4.2.2), the time the remuxer laid the slot out for. It
 * never goes back and never jumps: the output timeline does not break (remuxer.ts). Both views
 * are valid only during the call: copy to keep.
 */
export type RemuxSink = (packets: Uint8Array, times: Float64Array) => void;

export interface RemuxStats {
  packetsIn: number;
  packetsOut: number;
  /** Input packets of PIDs outside the selected program (or unknown), dropped. */
  packetsDropped: number;
  nullPacketsOut: number;
  psiPacketsOut: number;
  /** PCR-only packets inserted to keep PCR intervals ≤ pcrIntervalMs. */
  pcrPacketsInserted: number;
  /** Timeline splices: input restarts, PCR jumps, splice() calls. */
  splices: number;
  /** Bytes skipped while resynchronising on garbage input. */
  bytesSkipped: number;
  /** Input CC errors seen on the selected program's PIDs. */
  inputCcErrors: number;
  /** Video starts (first output, each splice) at a random access point (start-gate.ts). */
  rapStarts: number;
  /** Video starts elsewhere: no access point within rapWaitMs, or none readable. */
  nonRapStarts: number;
  /** Input packets with payload on the selected program's elementary streams (before any wait). */
  contentPacketsIn: number;
}

/**
 * A remuxer's output as it stands (Remuxer.state), plain data that crosses threads: per PID
 * continuity counter, last PTS and video codec family (8192 entries each), the output PCR PID,
 * the timeline and CBR line, the PSI/SI with versions and counters, the counters so far.
 */
export interface RemuxerState {
  ccOut: Uint8Array;
  lastPtsOut: Float64Array;
  videoOut: Uint8Array;
  outPcrPid: number;
  pcrPidFixed: boolean;
  currentOutPids: number[];
  haveTimeline: boolean;
  offset: number;
  outEnd: number;
  /** Where the input laid out ends on the output clock (outEnd less the smoothing lag). */
  inEnd: number;
  slotT: number;
  lastPcrOutT: number;
  nextPsiDue: number;
  psiStep: number;
  slotTicks: number;
  cbrOrigin: number;
  cbrNext: number;
  pcrAlign: number;
  alignAt: number;
  rate: { ticksPerPacket: number; ticks: number; packets: number };
  delay: { value: number; raises: number; min: number; max: number };
  stats: RemuxStats;
  cbr: { overflows: number; maxLagMs: number };
  implausiblePts: number;
  psi: OutputPsiState;
}

/**
 * The input side of a Remuxer cut before an input PCR (Remuxer.cutAtNextAnchor), plain data:
 * with the output's state() it lets another Remuxer go on with the same input from that packet
 * (Remuxer.resume) as if one remuxer had read it all: no splice, no wait for an access point.
 */
export interface RemuxerInputState {
  /** The input packet the cut stopped before (a PCR of the input's PCR PID): the next one's first. */
  cutPacket: Uint8Array;
  lastAnchorRaw: number;
  lastAnchorIn: number;
  /** Per input PID: the last continuity counter (8192 entries). */
  inLastCc: Int8Array;
  /** Per output PID: 1 until its first PES on this input timeline; 1 while a PES is dropped. */
  firstPes: Uint8Array;
  dropPes: Uint8Array;
  delay: { pending: boolean; raiseTo: number; maxRaw: number };
  pcrDiscontinuityNext: boolean;
  /** What each stream still waits for to start (StartGate.waits): a stream not begun yet. */
  gate: { wait: Uint8Array; armedIn: number };
  /** The input's PSI as last taken whole (Demuxer.psi). */
  psi: DemuxPsi;
}
