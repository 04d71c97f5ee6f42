// The daemon's sources, one opened source per key, shared by every channel that subscribes
// with that key (one transponder or MPTS, many services):
//
//   const hub = new SourceHub({ log: (e) => logger.log(e) });
//   const off = hub.subscribe(spec, { data, restarted, failed }); // the first one opens
//   off();                                  // the last one closes (after lingerMs)
//   await hub.close();                      // no child left behind
//
// udp:// and rtp:// are read natively (UdpReceiver); everything else is an ffmpeg child.
//
// A source whose last subscriber leaves with `off({ linger: true })` (a stopping channel:
// channel.ts stop) runs on for `lingerMs` (tuners excepted: another transponder may need the
// adapter at once): a channel rebuilt by a reload, or moved to another channel worker,
// subscribes again within milliseconds and goes on with the same run. A failover's close does
// not linger (a backup no longer in use stops at once, as before). Closing
// at once started its ffmpeg child again: 0.5-1 s without input for a test pattern, seconds for
// a network source that must connect and probe. A subscriber with another spec for the key (a
// reload changed the source) does not reuse a lingering run: it is closed and opened anew.
// A subscriber may ask to go on `from` a packet another stopped reading before (a channel's
// remuxer cut for a move or a rebuild): it gets the run's recent bytes from it first
// (recent-bytes.ts).

import { isHeadendError } from '../errors.js';
import { parseInputAddress } from '../inputs/url.js';
import { Backoff } from './backoff.js';
import { ffmpegArgs, sourceKind } from './ffmpeg-args.js';
import { deathSignalWrapper, ffmpegCaps, resolveFfmpeg } from './ffmpeg-path.js';
import { startFfmpeg } from './ffmpeg-source.js';
import { startHdhomerun, type HdhomerunOptions } from '../tuners/hdhomerun/run.js';
import type { StartRun } from './run.js';
import { RateLimiter } from './stderr-log.js';
import { SupervisedSource } from './supervisor.js';
import type {
  SourceEvent,
  SourceSpec,
  SourceStatus,
  SourceSubscriber,
  Unsubscribe,
} from './types.js';
import { startUdp } from './udp-source.js';
import { startDvb } from '../tuners/dvb/run.js';
import { startSatip } from '../tuners/satip/run.js';

export interface SourceHubOptions {
  /** ffmpeg binary; default resolveFfmpeg() (FFMPEG_PATH, PATH, ffmpeg-static). */
  ffmpegPath?: string;
  log: (e: SourceEvent) => void;
  /** No bytes for this long is a failure. Default 2000 ms. */
  stallMs?: number;
  /** Silence allowed before the first byte of a run. Default max(stallMs, 8000 ms). */
  startMs?: number;
  /** Restart delays: initial × 2^n up to max, ±20 % jitter. Default 500 ms … 10 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** A run healthy this long resets the backoff. Default 10 000 ms. */
  healthyMs?: number;
  /** For tests: the jitter's randomness. */
  random?: () => number;
  /** Start children under `setpriv --pdeathsig KILL` when possible. Default true. */
  deathSignal?: boolean;
  /** HDHomeRun tuners: where discovery asks (interface, unicast targets), status poll period. */
  hdhomerun?: HdhomerunOptions;
  /** How long a source with no subscriber left runs on (not tuners). Default LINGER_MS. */
  lingerMs?: number;
}

/** Default SourceHubOptions.lingerMs: longer than a reload's rebuild or a move takes. */
export const LINGER_MS = 3000;

export class SourceHub {
  private readonly sources = new Map<string, SupervisedSource>();
  private readonly specs = new Map<string, string>();
  private readonly pending = new Set<Promise<void>>();
  /** Sources with no subscriber, running on until their timer closes them. */
  private readonly lingering = new Map<SupervisedSource, NodeJS.Timeout>();
  private ffmpeg: { path: string } | { error: string } | undefined;
  private closed = false;

  constructor(private readonly opts: SourceHubOptions) {}

  /**
   * Subscribes to the source `spec.key`, opening it on the first subscriber. Returns the
   * unsubscribe function; the last unsubscribe stops the source (its ffmpeg child is killed).
   */
  subscribe(
    spec: SourceSpec,
    sub: SourceSubscriber,
    opts?: { stallMs?: number; from?: Uint8Array },
  ): Unsubscribe {
    if (this.closed) throw new Error('SourceHub is closed');
    let src = this.sources.get(spec.key);
    if (src !== undefined && this.unlinger(src) && this.specs.get(spec.key) !== identity(spec)) {
      this.retire(spec.key, src);
      src = undefined;
    }
    if (src === undefined) {
      src = this.create(spec);
      this.sources.set(spec.key, src);
      this.specs.set(spec.key, identity(spec));
    } else if (this.specs.get(spec.key) !== identity(spec)) {
      this.opts.log({
        source: spec.key,
        level: 'warn',
        event: 'spec',
        message: 'another subscriber gave a different spec for this key; the first one is used',
      });
    }
    const s = src;
    const rec = s.add(sub, opts?.stallMs, spec.service, opts?.from);
    if (s.state === 'idle') s.open();
    let done = false;
    return (o) => {
      if (done) return;
      done = true;
      if (s.remove(rec) > 0) return;
      const ms = o?.linger && spec.tuner === undefined ? (this.opts.lingerMs ?? LINGER_MS) : 0;
      if (ms > 0 && !this.closed) {
        const timer = setTimeout(() => this.retire(spec.key, s), ms);
        timer.unref();
        this.lingering.set(s, timer);
      } else this.retire(spec.key, s);
    };
  }

  /** Ends a source's linger (its timer); whether it was lingering. */
  private unlinger(s: SupervisedSource): boolean {
    const timer = this.lingering.get(s);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.lingering.delete(s);
    return true;
  }

  /** Closes a source nobody subscribes to (any more). */
  private retire(key: string, s: SupervisedSource): void {
    this.unlinger(s);
    if (s.subscribers > 0) return;
    if (this.sources.get(key) === s) {
      this.sources.delete(key);
      this.specs.delete(key);
    }
    void s.close();
  }

  state(key: string): SourceStatus | undefined {
    return this.sources.get(key)?.status();
  }

  /** Process id of the source's ffmpeg child (undefined when native or not running). */
  pidOf(key: string): number | undefined {
    return this.sources.get(key)?.pid;
  }

  /** Keys of the opened sources. */
  keys(): string[] {
    return [...this.sources.keys()];
  }

  /** Stops every source and waits until every ffmpeg child has exited. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    const all = [...this.sources.values()];
    this.sources.clear();
    this.specs.clear();
    await Promise.all(all.map((s) => s.close()));
    await Promise.all([...this.pending]);
  }

  private track = (p: Promise<void>): void => {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  };

  private create(spec: SourceSpec): SupervisedSource {
    const stallMs = this.opts.stallMs ?? 2000;
    return new SupervisedSource({
      key: spec.key,
      describe: describe(spec),
      start: this.starter(spec),
      log: this.opts.log,
      backoff: new Backoff({
        initialMs: this.opts.backoff?.initialMs ?? 500,
        maxMs: this.opts.backoff?.maxMs ?? 10_000,
        healthyMs: this.opts.healthyMs ?? 10_000,
        random: this.opts.random ?? Math.random,
      }),
      stallMs,
      startMs: this.opts.startMs ?? Math.max(stallMs, 8000),
      track: this.track,
    });
  }

  private starter(spec: SourceSpec): StartRun {
    const tuner = spec.tuner;
    if (tuner?.kind === 'dvb') return (ctx) => startDvb(tuner, ctx, { demux: tuner.demux });
    if (tuner?.kind === 'hdhomerun') {
      return (ctx) => startHdhomerun(tuner, ctx, this.opts.hdhomerun);
    }
    if (tuner?.kind === 'satip') return (ctx) => startSatip(tuner, ctx);
    if (sourceKind(spec) === 'native') {
      const input = parseInputAddress(spec.url ?? '');
      if (isHeadendError(input) || input.kind !== 'network') {
        const why = isHeadendError(input) ? input.message : 'not a network input';
        return failing('open', why);
      }
      return (ctx) => startUdp(input, ctx);
    }
    const limiter = new RateLimiter(10_000);
    return (ctx) => {
      const ff = this.resolve();
      if ('error' in ff) return failing('spawn', ff.error)(ctx);
      const caps = spec.test !== undefined ? ffmpegCaps(ff.path) : { drawtext: false };
      const wrapper = this.opts.deathSignal === false ? [] : deathSignalWrapper();
      return startFfmpeg(
        { ffmpegPath: ff.path, args: ffmpegArgs(spec, caps), wrapper, limiter },
        ctx,
      );
    };
  }

  private resolve(): { path: string } | { error: string } {
    if (this.ffmpeg === undefined) {
      this.ffmpeg =
        this.opts.ffmpegPath !== undefined ? { path: this.opts.ffmpegPath } : resolveFfmpeg();
    }
    return this.ffmpeg;
  }
}

/** A run that cannot start: it ends at once (asynchronously) with this reason. */
function failing(reason: 'open' | 'spawn', message: string): StartRun {
  return (ctx) => {
    queueMicrotask(() => ctx.ended(reason, message));
    return { pid: undefined, persistent: false, stop: () => Promise.resolve() };
  };
}

/** The spec without what differs between subscribers of one opened source (the service). */
function identity(spec: SourceSpec): string {
  return JSON.stringify({ ...spec, service: undefined });
}

function describe(spec: SourceSpec): string {
  if (spec.tuner !== undefined) return `tuner ${spec.tuner.id}`;
  if (spec.test !== undefined) return `test:${spec.test.pattern}`;
  return spec.url ?? spec.key;
}
