// An HLS adaptive ladder (`hls: { ladder: [720p, 360p] }`): one ffmpeg transcode per rung, fed
// the channel's own output (its tap, batched per event-loop turn into the child's stdin),
// H.264 + AAC at the rung's height and bitrate with a keyframe every 2 s (so every rung can be
// cut where the others are), its MPEG-TS read back from stdout into a segmenter of its own
// (segmenter.ts, timed by the transcode's PCRs). One transcode per rung per channel, however
// many watch. A transcode that exits is started again after RESTART_MS (logged); one that
// cannot keep up has what it cannot take dropped (said once, the rung then starts afresh).

import { spawn, type ChildProcess } from 'node:child_process';
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

export class Rung {
  readonly seg: HlsSegmenter;
  private proc: ChildProcess | null = null;
  private stopped = false;
  private batch: Buffer[] = [];
  private scheduled = false;
  private carry = Buffer.alloc(0);
  private lastPcr = NaN;
  private wraps = 0;
  private dropping = false;

  constructor(
    readonly name: string,
    /** ffmpeg, behind the parent-death wrapper when there is one (sources/ffmpeg-path.ts). */
    private readonly command: readonly string[],
    private readonly channel: string,
    segOpts: SegmenterOptions,
    private readonly log: Logger,
  ) {
    this.seg = new HlsSegmenter(segOpts);
    this.start();
  }

  get height(): number {
    return RUNGS[this.name]!.height;
  }

  /** Peak bit rate announced in the master playlist (video, audio, ~10 % for the mux). */
  get bandwidth(): number {
    return Math.round((RUNGS[this.name]!.bps + AUDIO_BPS) * 1.1);
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
            rung: this.name,
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

  private start(): void {
    const { height, bps } = RUNGS[this.name]!;
    const k = (n: number): string => `${Math.round(n / 1000)}k`;
    const args = [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'mpegts', '-i', 'pipe:0'],
      ...['-map', '0:v:0', '-map', '0:a:0?', '-vf', `scale=-2:${height}`],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', k(bps), '-maxrate', k(bps)],
      ...['-bufsize', k(2 * bps), '-g', '50', '-sc_threshold', '0'],
      ...['-force_key_frames', 'expr:gte(t,n_forced*2)'],
      ...['-c:a', 'aac', '-b:a', k(AUDIO_BPS), '-f', 'mpegts', 'pipe:1'],
    ];
    const [cmd, ...pre] = this.command;
    const p = spawn(cmd!, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = p;
    let err = '';
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-400)));
    p.stdin!.on('error', () => {}); // EPIPE when it exits: the exit is what is logged
    p.stdout!.on('data', (b: Buffer) => this.read(b));
    p.on('error', (e) =>
      this.log.log('error', 'hls-transcode-error', {
        channel: this.channel,
        rung: this.name,
        message: e.message,
      }),
    );
    p.on('exit', (code, signal) => {
      this.proc = null;
      if (this.stopped) return;
      this.log.log('warn', 'hls-transcode-exit', {
        channel: this.channel,
        rung: this.name,
        code,
        signal,
        message: err.trim(),
      });
      const t = setTimeout(() => !this.stopped && this.start(), RESTART_MS);
      t.unref();
    });
    this.log.log('info', 'hls-transcode-start', {
      channel: this.channel,
      rung: this.name,
      pid: p.pid,
    });
  }

  /** The transcode's output: whole packets, timed by its PCRs (unwrapped). */
  private read(b: Buffer): void {
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
}
