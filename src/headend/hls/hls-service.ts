// The HLS of every channel that asks for it (`hls:`): one segmenter per channel (segmenter.ts)
// fed by the channel's tap from start to stop, whoever watches; served from memory by the HTTP
// surface:
//
//   GET /hls/<slug|number>/index.m3u8    the live media playlist (Cache-Control: max-age=1)
//   GET /hls/<slug|number>/<seq>.ts      a segment (immutable: cached for the window's time)
//
// both behind the access rules (a token given as ?token= is carried into the segment URIs),
// with Access-Control-Allow-Origin: * so that web players (hls.js) on other origins can read
// them. After a reload, sync() follows the config: new HLS channels start, dropped ones stop,
// a rebuilt channel's segmenter goes on from the new channel (its output continues). A
// ladder (ladder.ts) adds one transcode for all its rungs, fed from the same tap; `encrypt`
// gives the channel a random AES-128 key at start (segmenter.ts encrypts; the routes serve it).

import type { ChannelHandle } from '../channel/handle.js';
import type { ChannelSpec } from '../config/types.js';
import type { Logger } from '../log.js';
import { randomBytes } from 'node:crypto';
import { HlsSegmenter } from './segmenter.js';
import { Ladder, type Rung } from './ladder.js';

interface Running {
  handle: ChannelHandle;
  untap: () => void;
  seg: HlsSegmenter;
  /** The config it runs (JSON of spec.hls): another one restarts it. */
  key: string;
  /** Its ladder's transcode (null: no ladder, or no ffmpeg). */
  ladder: Ladder | null;
  /** The AES-128 key of its segments (encrypt), rungs included. */
  aes?: Buffer;
}

/** What the routes serve of a channel's HLS. */
export interface HlsChannel {
  number: number;
  slug: string;
  seg: HlsSegmenter;
  rungs: readonly Rung[];
  aes?: Buffer;
}

export class HlsService {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly specs: () => readonly ChannelSpec[],
    private readonly handles: () => readonly ChannelHandle[],
    private readonly log: Logger,
    /** ffmpeg (behind its parent-death wrapper) for ladders; null: none can run. */
    private readonly ffmpeg: () => readonly string[] | null,
  ) {}

  /** Starts, moves or stops segmenters as the config and the running channels say. */
  sync(): void {
    const bySlug = new Map(this.handles().map((h) => [h.config.slug, h]));
    const wanted = new Map(
      this.specs()
        .filter((s) => s.hls !== undefined)
        .map((s) => [s.slug, s]),
    );
    for (const [slug, r] of this.running) {
      const spec = wanted.get(slug);
      const h = bySlug.get(slug);
      const key = spec ? JSON.stringify(spec.hls) : '';
      if (!spec || !h || key !== r.key) {
        r.untap();
        r.ladder?.stop();
        this.running.delete(slug);
        this.log.log('info', 'hls-stop', { channel: slug });
      } else if (h !== r.handle) {
        r.untap();
        r.handle = h;
        r.untap = this.feed(h, r);
      }
    }
    for (const [slug, spec] of wanted) {
      const h = bySlug.get(slug);
      if (!h || this.running.has(slug)) continue;
      const hls = spec.hls!;
      const aes = hls.encrypt ? randomBytes(16) : undefined;
      const opts = { targetMs: hls.segmentMs, window: hls.window, key: aes };
      const ffmpeg = this.ffmpeg();
      if (hls.ladder.length > 0 && !ffmpeg)
        this.log.log('error', 'hls-ladder-off', {
          channel: slug,
          message: 'no ffmpeg to transcode with',
        });
      const ladder =
        ffmpeg && hls.ladder.length > 0
          ? new Ladder(hls.ladder, ffmpeg, slug, opts, this.log)
          : null;
      const r: Running = {
        handle: h,
        untap: () => {},
        seg: new HlsSegmenter(opts),
        key: JSON.stringify(hls),
        ladder,
        aes,
      };
      r.untap = this.feed(h, r);
      this.running.set(slug, r);
      this.log.log('info', 'hls-start', {
        channel: slug,
        segmentMs: hls.segmentMs,
        window: hls.window,
        ladder: hls.ladder,
        encrypt: hls.encrypt,
      });
    }
  }

  /** A channel's HLS by slug or number. */
  find(key: string): HlsChannel | undefined {
    for (const [slug, r] of this.running)
      if (slug === key || String(r.handle.config.number) === key)
        return {
          seg: r.seg,
          number: r.handle.config.number,
          slug,
          rungs: r.ladder?.rungs ?? [],
          aes: r.aes,
        };
    return undefined;
  }

  /** The channel's output into its segmenter and its ladder's transcodes. */
  private feed(h: ChannelHandle, r: Running): () => void {
    return h.tap((ts, t27) => {
      r.seg.datagram(ts, t27);
      r.ladder?.write(ts);
    });
  }

  /** Whether a channel (by slug) has HLS running. */
  has(slug: string): boolean {
    return this.running.has(slug);
  }

  stop(): void {
    for (const r of this.running.values()) {
      r.untap();
      r.ladder?.stop();
    }
    this.running.clear();
  }
}
