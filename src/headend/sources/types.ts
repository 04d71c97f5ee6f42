// The source layer's vocabulary: what a channel asks for (SourceSpec), what it hears back
// (SourceSubscriber), and what the hub reports (SourceEvent, SourceStatus).
//
// SourceSpec is a local copy of the shape the channel config produces; the config layer owns
// the schema and the lead reconciles the two.

import type { TunerSpec, TunerStatus } from '../tuners/types.js';

export interface TestPatternSpec {
  /** lavfi video source: testsrc2, smptebars, smptehdbars, … (see TEST_PATTERNS). */
  pattern: string;
  /** WIDTHxHEIGHT, e.g. 640x360. */
  resolution: string;
  /** Frames per second. */
  rate: number;
  /** Video bitrate in bits/s (audio is AAC 96 kbit/s on top). */
  bitrate: number;
  /** Sine tone frequency in Hz; silence (anullsrc) when absent. */
  tone?: number;
  /** Text burned in (the channel name), with a running clock under it. */
  text?: string;
  /** Keyframe interval, ms (default 1000). */
  gopMs?: number;
}

export interface TranscodeSpec {
  /** Video encoder: h264 (libx264), hevc, mpeg2, copy, or an ffmpeg encoder name. */
  video?: string;
  /** Audio encoder: aac, mp2, ac3, copy, or an ffmpeg encoder name. */
  audio?: string;
  /** bits/s */
  videoBitrate?: number;
  /** bits/s */
  audioBitrate?: number;
  /** WIDTHxHEIGHT */
  size?: string;
}

export interface SourceSpec {
  /** A broadcast tuner (DVB adapter, SAT>IP, HDHomeRun): the whole multiplex it receives. */
  tuner?: TunerSpec;
  /** udp://, rtp:// (native), or anything ffmpeg reads: http(s), HLS, rtsp, srt, a file, a device. */
  url?: string;
  /** A lavfi test pattern instead of a url. */
  test?: TestPatternSpec;
  /** program_number to take from an MPTS (ffmpeg sources extract it; native sources pass all). */
  service?: number;
  /** Files only: loop forever (default true). */
  loop?: boolean;
  /** Re-encode instead of -c copy. */
  transcode?: TranscodeSpec;
  /** Identity of the opened source: equal keys share one opened source. */
  key: string;
}

export type SourceState = 'idle' | 'starting' | 'running' | 'backoff' | 'stopped';

export interface SourceEvent {
  /** The source's key. */
  source: string;
  level: 'info' | 'warn' | 'error';
  /** start, exit, stall, garbage, open, spawn, ffmpeg, backoff, recovered, stop */
  event: string;
  message: string;
  [k: string]: unknown;
}

export interface SourceSubscriber {
  /** TS bytes (any alignment). The view is only valid during the call. */
  data(chunk: Uint8Array): void;
  /** The source (re)started: the next bytes are a new stream instance (the channel calls remuxer.splice()). */
  restarted(): void;
  /**
   * The source failed (exit, stall, garbage, spawn, open); it will retry by itself with backoff.
   * `message` says why, e.g. 'ffmpeg exited with code 1: <ffmpeg's last error line>'.
   */
  failed(reason: string, message?: string): void;
}

export interface SourceStatus {
  state: SourceState;
  /** Runs started after the first one. */
  restarts: number;
  /** TS bytes received since the source was opened. */
  bytes: number;
  lastError?: string;
  /** Date.now() of the last state change. */
  since: number;
  /** Tuner sources: the front end's latest reading. */
  tuner?: TunerStatus;
}

/** Why a run failed, as passed to SourceSubscriber.failed. */
export type FailureReason = 'exit' | 'stall' | 'garbage' | 'spawn' | 'open' | 'tuner';

/**
 * Ends a subscription. `linger`: the channel is stopping (a reload rebuilds it, or it moves to
 * another worker) and will likely subscribe again at once: the source runs on for a while
 * (SourceHub's lingerMs) instead of closing. A failover's closes do not linger.
 */
export type Unsubscribe = (o?: { linger?: boolean }) => void;
