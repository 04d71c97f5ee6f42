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
// a rebuilt channel's segmenter goes on from the new channel (its output continues).

import type { ChannelHandle } from '../channel/handle.js';
import type { ChannelSpec } from '../config/types.js';
import type { Logger } from '../log.js';
import { HlsSegmenter } from './segmenter.js';

interface Running {
  handle: ChannelHandle;
  untap: () => void;
  seg: HlsSegmenter;
  key: string;
}

export class HlsService {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly specs: () => readonly ChannelSpec[],
    private readonly handles: () => readonly ChannelHandle[],
    private readonly log: Logger,
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
        this.running.delete(slug);
        this.log.log('info', 'hls-stop', { channel: slug });
      } else if (h !== r.handle) {
        r.untap();
        r.handle = h;
        r.untap = h.tap((ts, t27) => r.seg.datagram(ts, t27));
      }
    }
    for (const [slug, spec] of wanted) {
      const h = bySlug.get(slug);
      if (!h || this.running.has(slug)) continue;
      const seg = new HlsSegmenter({ targetMs: spec.hls!.segmentMs, window: spec.hls!.window });
      const untap = h.tap((ts, t27) => seg.datagram(ts, t27));
      this.running.set(slug, { handle: h, untap, seg, key: JSON.stringify(spec.hls) });
      this.log.log('info', 'hls-start', {
        channel: slug,
        segmentMs: spec.hls!.segmentMs,
        window: spec.hls!.window,
      });
    }
  }

  /** The segmenter of a channel by slug or number, with its channel's number. */
  find(key: string): { seg: HlsSegmenter; number: number; slug: string } | undefined {
    for (const [slug, r] of this.running)
      if (slug === key || String(r.handle.config.number) === key)
        return { seg: r.seg, number: r.handle.config.number, slug };
    return undefined;
  }

  /** Whether a channel (by slug) has HLS running. */
  has(slug: string): boolean {
    return this.running.has(slug);
  }

  stop(): void {
    for (const r of this.running.values()) r.untap();
    this.running.clear();
  }
}
