// An HLS adaptive ladder (`hls: { ladder: [720p, 360p] }`): ONE ffmpeg transcode per channel
// for all its rungs, fed the channel's own output (its tap, batched per event-loop turn into
// the child's stdin). Its video is decoded once and split; each rung is H.264 + AAC at its
// height and bitrate, written as MPEG-TS to a pipe of its own (fd 3, 4, …) and read back into a
// segmenter of its own (segmenter.ts, timed by that rung's PCRs). One transcode per channel,
// however many watch.
//
// The rungs are cut at the same instants, as a player switching between them needs (RFC 8216
// §6.2.4: matching content; Apple's HLS authoring spec: IDR frames aligned across variants).
// Every encoder of the one process sees the same frames with the same timestamps, and each
// forces an IDR frame at t = 0, S, 2S … (S the segment duration; `-sc_threshold 0` and a long
// `-g` add none between), so every rung has its random access points at the same pictures;
// the rung segmenters cut at each of them (keyframeAligned) and so number the same pictures
// with the same media sequence numbers. With one process per rung (before), each rung counted
// t from its own first frame and cut where its own 2 s ran out: segment n of two rungs held
// different pictures.
//
// A transcode that exits is started again after RESTART_MS (logged), all rungs together (each
// segmenter marks the splice EXT-X-DISCONTINUITY); one that cannot keep up has what it cannot
// take dropped (said once).

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { PCR_MODULUS, TS_PACKET_SIZE, getPcr, hasPcr } from '../../mpegts/packet.js';
import { HlsSegmenter, type SegmenterOptions } from './segmenter.js';

/** Rung names → height (px) and video bitrate (bit/s). */
export const RUNGS: Readonly<Record<string, { height: number; bps: number }>> = {
  '1080p': { height: 1080, bps: 5_000_000 },
  '720p': { height: 720, bps: 3_000_000 },
  '540p': { height: 540, bps: 2_000_000 },
  '480p': { height: 480, bps: 1_500_000 },
  '360p': { height: 360, bps: 800_000 },
  '240p': { height: 240, bps: 400_000 },
  '180p': { height: 180, bps: 250_000 },
};
const AUDIO_BPS = 96_000;
const RESTART_MS = 2000;
/** Bytes the transcode's stdin may hold before the channel's output is dropped for it. */
const MAX_PENDING = 8 << 20;
/** The rungs' first output pipe (fd): 0-2 are stdin, stdout and stderr. */
const FIRST_FD = 3;
/** Default segment duration (SegmenterOptions.targetMs). */
const DEFAULT_SEGMENT_MS = 2000;

/** One rung: its name, its segmenter, and the reading of its transcode output. */
export class Rung {
  readonly seg: HlsSegmenter;
  private carry = Buffer.alloc(0);
  private lastPcr = NaN;
  private wraps = 0;

  constructor(
    readonly name: string,
    segOpts: SegmenterOptions,
  ) {
    this.seg = new HlsSegmenter({ ...segOpts, keyframeAligned: true });
  }

  get height(): number {
    return RUNGS[this.name]!.height;
  }

  /** Peak bit rate announced in the master playlist (video, audio, ~10 % for the mux). */
  get bandwidth(): number {
    return Math.round((RUNGS[this.name]!.bps + AUDIO_BPS) * 1.1);
  }

  /** The transcode's output for this rung: whole packets, timed by its PCRs (unwrapped). */
  read(b: Buffer): void {
    const all = this.carry.length > 0 ? Buffer.concat([this.carry, b]) : b;
    let o = 0;
    for (; o + TS_PACKET_SIZE <= all.length; o += TS_PACKET_SIZE) {
      if (all[o] !== 0x47) continue; // ffmpeg writes aligned packets; skip anything else
      if (hasPcr(all, o)) {
        const pcr = getPcr(all, o);
        if (!Number.isNaN(this.lastPcr) && pcr + PCR_MODULUS / 2 < this.lastPcr) this.wraps++;
        this.lastPcr = pcr;
      }
      if (!Number.isNaN(this.lastPcr))
        this.seg.datagram(
          all.subarray(o, o + TS_PACKET_SIZE),
          this.lastPcr + this.wraps * PCR_MODULUS,
        );
    }
    this.carry = Buffer.from(all.subarray(o));
  }

  /** A new transcode: what is left of the last one's output is not a whole packet of the next. */
  restart(): void {
    this.carry = Buffer.alloc(0);
  }
}

/** The transcode of one channel's ladder. */
export class Ladder {
  readonly rungs: readonly Rung[];
  private proc: ChildProcess | null = null;
  private stopped = false;
  private batch: Buffer[] = [];
  private scheduled = false;
  private dropping = false;
  private readonly segmentS: number;

  constructor(
    names: readonly string[],
    /** ffmpeg, behind the parent-death wrapper when there is one (sources/ffmpeg-path.ts). */
    private readonly command: readonly string[],
    private readonly channel: string,
    segOpts: SegmenterOptions,
    private readonly log: Logger,
  ) {
    this.rungs = names.map((n) => new Rung(n, segOpts));
    this.segmentS = (segOpts.targetMs ?? DEFAULT_SEGMENT_MS) / 1000;
    this.start();
  }

  /** One datagram of the channel's output (valid during the call). */
  write(ts: Uint8Array): void {
    if (!this.proc?.stdin || this.stopped) return;
    this.batch.push(Buffer.from(ts));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const stdin = this.proc?.stdin;
      const data = Buffer.concat(this.batch);
      this.batch = [];
      if (!stdin || stdin.destroyed) return;
      if (stdin.writableLength > MAX_PENDING) {
        if (!this.dropping)
          this.log.log('warn', 'hls-transcode-behind', {
            channel: this.channel,
            rungs: this.rungs.map((r) => r.name),
            message: 'the transcode cannot keep up: the channel output is dropped for it',
          });
        this.dropping = true;
        return;
      }
      this.dropping = false;
      stdin.write(data);
    });
  }

  stop(): void {
    this.stopped = true;
    const p = this.proc;
    if (!p) return;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 2000);
    t.unref();
    p.once('exit', () => clearTimeout(t));
  }

  /** ffmpeg's arguments: one input, its video split once per rung, one output per rung. */
  args(): string[] {
    const n = this.rungs.length;
    const k = (v: number): string => `${Math.round(v / 1000)}k`;
    const split = `[0:v:0]split=${n}${this.rungs.map((_, i) => `[s${i}]`).join('')}`;
    const scales = this.rungs.map((r, i) => `[s${i}]scale=-2:${r.height}[v${i}]`);
    const args = [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'mpegts', '-i', 'pipe:0'],
      ...['-filter_complex', [split, ...scales].join(';')],
    ];
    this.rungs.forEach((r, i) => {
      const bps = RUNGS[r.name]!.bps;
      args.push(
        ...['-map', `[v${i}]`, '-map', '0:a:0?'],
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', k(bps), '-maxrate', k(bps)],
        ...['-bufsize', k(2 * bps), '-g', '600', '-sc_threshold', '0', '-forced-idr', '1'],
        ...['-force_key_frames', `expr:gte(t,n_forced*${this.segmentS})`],
        ...['-c:a', 'aac', '-b:a', k(AUDIO_BPS), '-f', 'mpegts', `pipe:${FIRST_FD + i}`],
      );
    });
    return args;
  }

  private start(): void {
    const [cmd, ...pre] = this.command;
    const outs = this.rungs.map(() => 'pipe' as const);
    const p = spawn(cmd!, [...pre, ...this.args()], {
      stdio: ['pipe', 'ignore', 'pipe', ...outs],
    });
    this.proc = p;
    let err = '';
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-400)));
    p.stdin!.on('error', () => {}); // EPIPE when it exits: the exit is what is logged
    this.rungs.forEach((r, i) => {
      r.restart();
      (p.stdio[FIRST_FD + i] as Readable).on('data', (b: Buffer) => r.read(b));
    });
    p.on('error', (e) =>
      this.log.log('error', 'hls-transcode-error', { channel: this.channel, message: e.message }),
    );
    p.on('exit', (code, signal) => {
      this.proc = null;
      if (this.stopped) return;
      this.log.log('warn', 'hls-transcode-exit', {
        channel: this.channel,
        rungs: this.rungs.map((r) => r.name),
        code,
        signal,
        message: err.trim(),
      });
      const t = setTimeout(() => !this.stopped && this.start(), RESTART_MS);
      t.unref();
    });
    this.log.log('info', 'hls-transcode-start', {
      channel: this.channel,
      rungs: this.rungs.map((r) => r.name),
      pid: p.pid,
    });
  }
}
