// The typed, validated, frozen form of channels.yaml: what the daemon, the sources and the
// outputs are built from. Produced only by loadConfigText/loadConfigFile (load.ts); every
// default is already applied, every duration is in ms and every bitrate in bit/s.
// The file format (keys, defaults, meanings) is documented in schema.ts.

/**
 * Test pattern generators: ffmpeg lavfi video sources that take size= and rate=. The value
 * in the spec is always the lavfi name; the file may also say `smpte` (smptebars) or
 * `smptehd` (smptehdbars), see PATTERN_ALIASES.
 */
export const TEST_PATTERNS = [
  'smptebars',
  'smptehdbars',
  'pal75bars',
  'pal100bars',
  'testsrc',
  'testsrc2',
  'rgbtestsrc',
  'yuvtestsrc',
  'colorspectrum',
  'mandelbrot',
  'life',
  'color',
] as const;
/** Short names accepted in the file for lavfi sources. */
export const PATTERN_ALIASES: Readonly<Record<string, (typeof TEST_PATTERNS)[number]>> = {
  smpte: 'smptebars',
  smptehd: 'smptehdbars',
};
export type TestPattern = (typeof TEST_PATTERNS)[number];

/** A generated test signal: lavfi video with a burned-in name and a sine tone or silence. */
export interface TestSourceSpec {
  /** The lavfi source name (`smpte` in the file is smptebars here). */
  pattern: TestPattern;
  /** 'WIDTHxHEIGHT', both even. */
  resolution: string;
  /** Frames per second. */
  rate: number;
  /** Video encoder bitrate, bit/s. */
  bitrate: number;
  /** Sine tone frequency in Hz; undefined = a silent audio track. */
  tone?: number;
  /** Text burned into the picture (the channel name unless set). */
  text: string;
  /** Keyframe interval, ms (default 1000; the alert card's is shorter). */
  gopMs?: number;
}

import type { TunerSpec } from '../tuners/types.js';
export type { TunerSpec };

/** Re-encoding of an ffmpeg source (absent = `-c copy`): the sources layer's own spec. */
import type { TranscodeSpec } from '../sources/types.js';
export type { TranscodeSpec };

/** One input of a channel. Exactly one of `url`, `test` and `tuner` is set. */
export interface SourceSpec {
  /** A tuner of `tuners:` (its whole multiplex; `service` picks the program). */
  tuner?: TunerSpec;
  /**
   * udp://[src@]group:port, rtp://…, http(s)://, rtsp(s)://, srt://, rtmp(s)://, or a file.
   * Relative file paths are resolved against the directory of channels.yaml, so a file
   * source's `url` is an absolute path (a file:// URL is turned into its path too).
   */
  url?: string;
  test?: TestSourceSpec;
  /** program_number to pick from an MPTS; undefined = the first program. */
  service?: number;
  /** Restart from the beginning at the end (files: default true; others: undefined). */
  loop?: boolean;
  transcode?: TranscodeSpec;
  /**
   * Canonical identity of the opened source: two channels whose sources have equal keys
   * share ONE opened source (same url/test/loop/transcode). `service` is not part of it.
   */
  key: string;
}

export type { OutputSpec } from '../../scheduler/output-contract.js';
import type { OutputSpec } from '../../scheduler/output-contract.js';
import type { PacingMode } from '../../scheduler/pacing-loop.js';
import type { NetworkSpec } from './network.js';
import type { SerialAlarmSpec } from './alert.js';
import type { ClusterSpec } from './cluster.js';
import type { AccessSpec, Subnet } from './access.js';
import type { TimetableRule } from '../../scheduler/timetable.js';

export interface ChannelSpec {
  /** Logical channel number, unique. */
  number: number;
  name: string;
  provider: string;
  /** From the name (or the `slug:` key): lowercase a-z0-9-, unique. */
  slug: string;
  output: OutputSpec;
  /** [primary, ...backups] in order. */
  sources: SourceSpec[];
  /** CBR mux rate in bit/s; undefined = VBR. */
  bitrate?: number;
  psiIntervalMs: number;
  /** Least DTS − PCR of every output PES, ms (default 100). */
  decodeMarginMs?: number;
  /** VBR only: how far the output may trail the input to even out its bursts, ms; 0: off. */
  vbrSmoothingMs?: number;
  /** No bytes for this long = the source failed. */
  stallMs: number;
  /** The primary must be healthy this long before the channel switches back to it. */
  returnAfterMs: number;
  /** Output program_number / service_id. */
  programNumber: number;
  transportStreamId: number;
  /** service_type (EN 300 468 §6.2.33) from `service_type:`; undefined: from the streams. */
  serviceType?: number;
  /** The channel's id in the XMLTV guide (`epg:`, default its slug). */
  epg: string;
  /** The number HD-capable receivers show instead (NIT HD simulcast LCN, 0x88). */
  hdLcn?: number;
  /** The channel's group (`group:`): alert zones, the M3U group-title. */
  group?: string;
  /** The channel's logo (`logo:`, a URL): the M3U tvg-logo. */
  logo?: string;
  /** HLS of the channel (`hls:`); undefined: none. */
  hls?: { segmentMs: number; window: number; ladder: string[]; encrypt: boolean };
  /** Timetable rules (`schedule:`), first match wins; absent or empty: none. */
  schedule?: ScheduleSpec[];
  /** Cluster mode: nodes this channel should run on (`prefer:`), and run on last (`avoid:`). */
  prefer?: string[];
  avoid?: string[];
  /** 1-based line of the channel's entry in the file (for log lines). */
  line: number;
}

/** One timetable rule: another source for the channel while the rule is in force. */
export interface ScheduleSpec {
  name: string;
  rule: TimetableRule;
  source: SourceSpec;
}

/** `headend.alert` (config/alert.ts). */
export interface AlertSpec {
  message: string;
  /** What channels show; undefined: the card (the message, a tone). */
  source?: SourceSpec;
  /** Zone → channel groups; a zone not listed is the group of its name. */
  zones: Record<string, string[]>;
  /** Bearer token of POST /api/alert; undefined: that trigger is off. */
  token?: string;
  serial?: SerialAlarmSpec;
}

export interface ListenSpec {
  host: string;
  /** 0: any free port. */
  port: number;
}

/** `headend.http`: where it listens, and its HTTP-TS client limits. */
export interface HttpSpec extends ListenSpec {
  maxClients: number;
  maxPerChannel: number;
  maxPerAddress: number;
  /** Bytes a client may fall behind before it is dropped. */
  clientBufferBytes: number;
  /** Groups the udpxy relay may join ([]: none). */
  relay: Subnet[];
}

/** `headend.hdhomerun`: the emulated tuner as media servers see it. */
export interface HdhrSpec {
  tuners: number;
  /** 8 hex digits; undefined: derived from the headend's name and network id. */
  deviceId?: string;
  name: string;
  /** The address in discovery answers; undefined: http's listen address or the interface's. */
  address?: string;
}

export interface RtspSpec {
  listen: ListenSpec;
  /** Even; RTCP on rtpPort + 1. */
  rtpPort: number;
  /** Added (as a 32-bit number) to a raw-UDP channel's group for its RTP companion group. */
  companionOffset: number;
  sessionTimeoutMs: number;
  maxSessions: number;
  maxSessionsPerClient: number;
}

export interface SapSpec {
  address: '239.255.255.255' | '224.2.127.254';
  port: number;
  ttl: number;
}

/** headend.pacing: how the pacing thread is scheduled. */
export interface PacingSpec {
  /** SCHED_FIFO priority of the pacing thread, 1-99; 0 = normal scheduling (defaultRealtimePriority). */
  realtimePriority: number;
  /** The pacing thread's nice value, −20..19 (scheduler/realtime.ts). */
  nice: number;
  /** PM QoS CPU latency (µs) held while running; null = leave the kernel's choice. */
  cpuDmaLatencyUs: number | null;
  /** How the pacing thread waits for due times (PacingMode). */
  mode: PacingMode;
  /** Share of one core (percent) it may spend spinning to due times; null: the mode's. */
  spinBudgetPercent: number | null;
  /** Channel workers (lanes/channel-host.ts): a count (0: the main thread) or 'auto'. */
  workers: number | 'auto';
}

export interface HeadendSpec {
  name: string;
  /** XMLTV guide sources (paths relative to the config's directory, URLs, or `test`). */
  epg: string[];
  /** How often the guide is read again, ms. */
  epgRefreshMs: number;
  /** NIT network, original_network_id, clock (config/network.ts). */
  network: NetworkSpec;
  /** Default egress interface of every output. */
  interface: string;
  ttl: number;
  tos: number;
  /** ffmpeg binary from the config; undefined = FFMPEG_PATH, PATH, ffmpeg-static. */
  ffmpeg?: string;
  /** null: off. */
  http: HttpSpec | null;
  /** HDHomeRun emulation (`headend.hdhomerun`); null: off. */
  hdhomerun: HdhrSpec | null;
  /** Cluster mode (`headend.cluster`, config/cluster.ts); null: a single headend. */
  cluster: ClusterSpec | null;
  /** Who may use the unicast surfaces and write (`headend.access`); null: not configured. */
  access: AccessSpec | null;
  rtsp: RtspSpec | null;
  sap: SapSpec | null;
  pacing: PacingSpec;
  /** Reload when the file changes. */
  watch: boolean;
  /** The emergency override (`headend.alert`); null: not configured. */
  alert: AlertSpec | null;
  /** The `tuners:` list, in file order. */
  tuners: TunerSpec[];
  channels: ChannelSpec[];
  /** The file the config was read from, as given. */
  file: string;
}

/** One problem in a config file. `line`/`column` are 1-based; 0 when not about a position. */
export interface ConfigError {
  file: string;
  line: number;
  column: number;
  /** Key path, `channels[2].source.url`; '' for the file or the document as a whole. */
  path: string;
  message: string;
}

export type ConfigResult = { config: HeadendSpec } | { errors: ConfigError[] };
