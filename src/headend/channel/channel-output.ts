// The output half of a channel: Remuxer (the output identity and timeline; each packet's output
// time comes out with it) → DatagramCutter (datagrams, each with its first packet's time) →
// ClockMap (output time to monotonic due time) → the pacer's queue for its multicast output,
// the output monitor and the taps, all in one pass as the remuxer lays its slots out; nothing is
// parsed back out of the bytes. It also holds the queue's life (opened, closed, or handed over
// to the channel a reload rebuilds: RunningOutput), the output clock (the TDT/TOT's UTC stamp,
// the RTP state RTSP reports), the idle filler that keeps the schedule `latencyMs` ahead of now
// while no source delivers, and the once-a-second watches of what was sent (send failures,
// lateness, a CBR rate below the content's). The sources and what feeds the remuxer are the
// channel's (channel.ts).

import { Remuxer } from '../../mpegts/remux/remuxer.js';
import type { RemuxSink } from '../../mpegts/remux/types.js';
import { DatagramCutter } from '../../scheduler/datagram-cutter.js';
import { ClockMap } from '../../scheduler/clock-map.js';
import { rtpTimestampFromPcr } from '../../mpegts/rtp.js';
import type { DestinationSpec, OutputInfo } from '../../scheduler/output-contract.js';
import type { RtpStreamState } from '../rtsp/types.js';
import type { LocalTimeOffset } from '../../mpegts/psi/tdt-tot.js';
import type { LogLevel } from '../log.js';
import { outputKey } from './output-key.js';
import { OutputMonitor } from './output-monitor.js';
import { OutputHealth } from './output-health.js';
import { CbrWatch } from './cbr-watch.js';
import { BehindWatch } from './behind-watch.js';
import type { ChannelConfig, DatagramListener, OutputQueue, OutputScheduler } from './types.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import type { OutputHandoff } from './output-handoff.js';
import { startsWithPacket, type InputCut, type SourceRef } from './input-cut.js';

/**
 * The share of the latency a new input starts ahead of now (spliceFillMs): three quarters, so
 * that a source quiet for QUIET_MS (250 ms of 400) still leaves the queue time for the filler.
 */
const SPLICE_LEAD = 0.75;

/**
 * A channel's output while it runs, as a rebuilt channel takes it over: the remuxer (PIDs,
 * continuity counters, table versions, timeline), the cutter (with a datagram half cut), the
 * clock map (due times go on), the pacer queue (socket, RTP stream, RTSP destinations, burst
 * window, what is queued) and the output monitor; the receivers see one stream go on.
 */
export interface RunningOutput {
  remuxer: Remuxer;
  cutter: DatagramCutter;
  clock: ClockMap;
  queue: OutputQueue;
  monitor: OutputMonitor;
  packetsPerDatagram: number;
  lastDueNs: number;
  lastPcr27: number;
  /** Datagrams queued so far (the next one's RTP sequence is the queue's first + this). */
  queued: number;
  /** Where its remuxer's input was cut (input-cut.ts); absent: the next channel splices. */
  cut?: InputCut;
}

export interface ChannelOutputDeps {
  pacer: OutputScheduler;
  /** Position among the daemon's channels, so outputs are staggered. */
  staggerIndex: number;
  nowNs: () => number;
  wallMs: () => number;
  /** How far ahead of real time the output is scheduled. */
  latencyMs: number;
  /** The RTP stream to continue (a reload rebuilt the channel): ChannelDeps.rtp. */
  rtp?: { ssrc: number; seq: number };
  /** The running output to take over: ChannelDeps.output. */
  kept?: RunningOutput;
  /** An output handed over from another thread to go on from: ChannelDeps.handoff. */
  handoff?: OutputHandoff;
  /** The SI of an output another node sent: ChannelDeps.continueFrom. */
  continueFrom?: OutputSi;
  /** NIT original_network_id and the TOT's local time offsets (ChannelSi). */
  originalNetworkId?: number;
  localTimeOffsets?: (utcMs: number) => readonly LocalTimeOffset[];
  /** What the watches say (the channel's logger), and the channel's last error. */
  log: (level: LogLevel, event: string, fields: Record<string, unknown>) => void;
  error: (message: string) => void;
}

export class ChannelOutput {
  /** The output's identity (output-key.ts): the key of its queue in the pacer. */
  readonly key: string;
  readonly remuxer: Remuxer;
  readonly cutter: DatagramCutter;
  readonly clock: ClockMap;
  /** The channel's own output, checked as it is queued: PSI/PCR intervals, TR 101 290. */
  readonly monitor: OutputMonitor;
  private queue: OutputQueue | null = null;
  /** The queue it sends (or sent) through, kept after close for sharesWith. */
  private usedQueue: OutputQueue | null = null;
  /** Whether it opened (a failed one is not handed over: the next channel retries). */
  private opened = false;
  private lastDueNs = -1;
  /** Output time of the last datagram queued (RTP clock for RTCP). */
  private lastPcr27 = NaN;
  private bytesOut = 0;
  /** Datagrams queued (RunningOutput.queued). */
  private queued = 0;
  private rateBytes = 0;
  private rateSinceNs = 0;
  private rate = 0;
  /** Listeners of every datagram queued for pacing (RTP over TCP, output monitors). */
  private readonly taps = new Set<DatagramListener>();
  /** rtpState() as the output closed. */
  private closedRtp: RtpStreamState | undefined;
  /** Whether the output can send (socket open, sends going out): `down` when not. */
  private readonly health = new OutputHealth();
  /** A cut input to go on from, until the first bytes say whether they do (input-cut.ts). */
  private cut: InputCut | null = null;
  /** Sends later than 25 ms: said (channel-behind) at most every 10 s. */
  private readonly behind = new BehindWatch();
  /** ClockMap chases said so far (clock-chase). */
  private chasesSaid = 0;
  /** CBR channels: a mux rate below the content's is warned about (cbr-rate-too-low). */
  private cbrWatch: CbrWatch | null;

  constructor(
    config: ChannelConfig,
    private readonly deps: ChannelOutputDeps,
  ) {
    this.key = outputKey(config.output);
    this.cbrWatch = config.bitrate ? new CbrWatch(config.bitrate) : null;
    const kept = deps.kept;
    const sink: RemuxSink = (packets, times) => this.cutter.push(packets, times);
    const out = (bytes: Uint8Array, t27: number): void => this.queueDatagram(bytes, t27);
    this.remuxer =
      kept?.remuxer ??
      new Remuxer(
        {
          program: config.sources[0]?.service,
          transportStreamId: config.transportStreamId,
          programNumber: config.programNumber,
          serviceName: config.name,
          providerName: config.provider,
          serviceType: config.serviceType,
          originalNetworkId: deps.originalNetworkId,
          network: { localTimeOffsets: deps.localTimeOffsets },
          psiIntervalMs: config.psiIntervalMs,
          minDecodeMarginMs: config.decodeMarginMs,
          vbrSmoothingMs: config.vbrSmoothingMs,
          cbrBitrate: config.bitrate,
          // PCR only at datagram heads: each PCR then leaves exactly when it says.
          pcrAlign: config.output.packetsPerDatagram,
        },
        sink,
      );
    this.cutter =
      kept?.cutter ??
      new DatagramCutter({ packetsPerDatagram: config.output.packetsPerDatagram }, out);
    this.clock = kept?.clock ?? new ClockMap({ latencyMs: deps.latencyMs });
    this.chasesSaid = this.clock.stats.chases;
    // A kept remuxer asked the output it came from: from now on, this one.
    this.remuxer.setSpliceFill(() => this.spliceFillMs());
    this.monitor = kept?.monitor ?? new OutputMonitor();
    if (kept) this.takeOver(kept, config, sink, out);
    else if (deps.handoff) this.resume(deps.handoff, config);
    else if (deps.continueFrom) {
      this.remuxer.continueFrom(deps.continueFrom);
      this.remuxer.setIdentity(identityOf(config));
    }
  }

  /**
   * Continues a running output: the channel's identity and mux settings apply from its next
   * packets as a reload's in-place update would, and the remuxer splices to the channel's
   * source. The output goes on without a continuity error.
   */
  private takeOver(
    kept: RunningOutput,
    c: ChannelConfig,
    sink: RemuxSink,
    out: (bytes: Uint8Array, t27: number) => void,
  ): void {
    // First where the output goes: the splice below sends the old source's last packets.
    this.queue = kept.queue;
    this.lastDueNs = kept.lastDueNs;
    this.lastPcr27 = kept.lastPcr27;
    this.queued = kept.queued;
    kept.remuxer.setSink(sink);
    kept.cutter.setOut(out);
    this.cut = kept.cut ?? null;
    this.goOn(c, kept.packetsPerDatagram);
  }

  /**
   * Goes on from an output another thread ran (output-handoff.ts): its remuxer, cutter and
   * clock states; the queue is this thread's own, opened with the RTP stream continued
   * (ChannelDeps.rtp), its first datagram due after the old queue's last.
   */
  private resume(h: OutputHandoff, c: ChannelConfig): void {
    this.cut = h.cut ?? null;
    if (h.cut) this.remuxer.resume(h.remuxer, h.cut.input);
    else this.remuxer.restore(h.remuxer);
    this.cutter.restore(h.cutter);
    this.clock.restore(h.clock);
    this.lastDueNs = h.lastDueNs;
    this.lastPcr27 = h.lastPcr27;
    this.goOn(c, h.packetsPerDatagram);
  }

  /**
   * A continued output takes the channel's identity and mux, and splices to its source, unless
   * its input was cut: then the first bytes decide (input()).
   */
  private goOn(c: ChannelConfig, packetsPerDatagram: number): void {
    this.remuxer.setIdentity(identityOf(c));
    this.setMux(c, { packetsPerDatagram, bitrate: c.bitrate });
    if (!this.cut) this.remuxer.splice(c.sources[0]?.service ?? null);
  }

  /** The packet to read source `spec` on from, when the output's input was cut on it. */
  resumeFrom(spec: SourceRef): Uint8Array | undefined {
    const cut = this.cut;
    return cut && cut.key === spec.key && cut.service === spec.service
      ? cut.input.cutPacket
      : undefined;
  }

  /**
   * Source bytes about to go into the remuxer, from source `spec`: the first after a cut go on
   * from it when they begin at its packet (returns true: the output goes on mid-stream);
   * otherwise the output splices to them.
   */
  input(chunk: Uint8Array, spec: SourceRef): boolean {
    const cut = this.cut;
    if (!cut) return false;
    const from = this.resumeFrom(spec);
    this.cut = null;
    if (from !== undefined && startsWithPacket(chunk, from)) {
      this.remuxer.readOn();
      this.deps.log('info', 'input-resumed', { source: cut.key });
      return true;
    } else {
      // Another source (a reload changed it), or its bytes from the cut are gone (input-cut.ts,
      // said): the output splices to what comes.
      if (from !== undefined)
        this.deps.log('info', 'input-spliced', {
          source: spec.key,
          message: 'the bytes after the cut were not there any more: spliced to the source',
        });
      this.remuxer.splice(spec.service ?? null);
      return false;
    }
  }

  /** The output splices (a failover, a restart): a cut input is no longer gone on from. */
  dropCut(): void {
    this.cut = null;
  }

  /**
   * The queue: the one taken over, or a new one in the pacer; settles when its socket is open
   * (its info) or could not open (an Error).
   */
  open(config: ChannelConfig): Promise<OutputInfo | Error> {
    const d = this.deps;
    this.queue ??= d.pacer.addChannel({
      id: this.key,
      output: d.rtp ? { ...config.output, rtp: d.rtp } : config.output,
      staggerIndex: d.staggerIndex,
    });
    this.usedQueue = this.queue;
    const queue = this.queue;
    return queue.ready.then((r) => {
      if (this.queue !== queue) return new Error('output closed');
      this.rateSinceNs = d.nowNs();
      this.health.opened(r);
      this.opened = !(r instanceof Error);
      return r;
    });
  }

  /**
   * Closes the queue, unless `keep` and it opened: then it stays, still sending what is queued,
   * and is returned for the channel that replaces this one.
   */
  async close(
    keep: boolean,
    packetsPerDatagram: number,
    cutSource?: SourceRef,
  ): Promise<RunningOutput | null> {
    const q = this.queue;
    const kept = keep && this.opened && q !== null;
    if (q && !kept) await this.deps.pacer.removeChannel(this.key);
    // Its final RTP state (the sent count is final now), for a channel that continues it.
    this.closedRtp = this.rtpState();
    this.queue = null;
    if (!kept) return null;
    return {
      remuxer: this.remuxer,
      cutter: this.cutter,
      clock: this.clock,
      queue: q,
      monitor: this.monitor,
      packetsPerDatagram,
      lastDueNs: this.lastDueNs,
      lastPcr27: this.lastPcr27,
      queued: this.queued,
      ...cutOf(this.remuxer, cutSource),
    };
  }

  /** Whether this output and `other` sent through the same pacer queue (a handed-over one). */
  sharesWith(other: ChannelOutput): boolean {
    return this.usedQueue !== null && this.usedQueue === other.usedQueue;
  }

  /**
   * A mux change (a reload's, or a taken-over output's), from the next packets: the remuxer's
   * CBR rate, PSI interval and PCR alignment, the cutter's packets per datagram. `was`: the
   * settings in force.
   */
  setMux(next: ChannelConfig, was: { packetsPerDatagram: number; bitrate?: number }): void {
    const ppd = next.output.packetsPerDatagram;
    this.remuxer.setMux({
      cbrBitrate: next.bitrate ?? null,
      psiIntervalMs: next.psiIntervalMs,
      pcrAlign: ppd,
    });
    if (ppd !== was.packetsPerDatagram) this.cutter.setPacketsPerDatagram(ppd);
    // The shortfall watch measures against the rate in force (a stale one would warn wrongly).
    if (was.bitrate !== next.bitrate)
      this.cbrWatch = next.bitrate ? new CbrWatch(next.bitrate) : null;
  }

  /** One datagram out of the cutter (a view valid during the call): due time, queue, watchers. */
  private queueDatagram(bytes: Uint8Array, t27: number): void {
    const q = this.queue;
    if (!q) return; // closed: the remuxer's last slots go nowhere
    const due = this.clock.dueNs(t27, this.deps.nowNs());
    this.lastDueNs = due;
    this.queued++;
    this.bytesOut += bytes.length;
    this.lastPcr27 = t27;
    q.enqueue(bytes, due, t27);
    this.monitor.datagram(bytes, t27, due);
    // Listeners get a view that is valid only during the call (copy to keep it).
    for (const l of this.taps) l(bytes, t27, due);
  }

  /**
   * Filler before a new input (Remuxer.setSpliceFill): what brings the queue back to
   * SPLICE_LEAD of the latency ahead of now. A first input after the starting filler (which
   * waits until half the latency is left), or one after a source went quiet, would otherwise go
   * on that shallow for good (the drift controller moves it by 6 ms a minute at most), and the
   * next quiet of QUIET_MS left the queue empty: sends late by up to 150 ms, then a burst.
   */
  private spliceFillMs(): number {
    if (this.lastDueNs < 0) return 0; // nothing queued yet: the clock anchors latency ahead
    const now = this.deps.nowNs();
    // The queue's depth is the new input's from here on: the drift controller measures it afresh.
    this.clock.recalibrate(now);
    const aheadMs = (this.lastDueNs - now) / 1e6;
    const latencyMs = this.deps.latencyMs;
    return Math.min(latencyMs, Math.max(0, SPLICE_LEAD * latencyMs - aheadMs));
  }

  /** The TDT/TOT are stamped through this: output time → the wall clock of its due time. */
  stampUtc(now: number): void {
    if (this.lastDueNs >= 0)
      this.remuxer.setUtcReference(
        this.lastPcr27,
        this.deps.wallMs() + (this.lastDueNs - now) / 1e6,
      );
  }

  /**
   * With no output from the input, emits filler so the scheduled output stays `latencyMs` ahead
   * of now. Filler that opens a schedule (the first, or after the queue ran dry) is due from
   * `latencyMs` ahead on already: a quarter of it is enough, where the whole would leave the
   * queue twice as deep (and every source that follows, and an alert's switch, that much
   * later). `starting`: the channel's first source sends bytes that gave nothing out yet (the
   * remuxer waits for a PCR, a keyframe): filler splices, and would make what is about to
   * start wait for its next keyframe, so it waits until half the latency is left (the
   * whole-latency opening filler gave a source 500 ms before the first top-up by its size,
   * and a queue 400 ms too deep).
   */
  keepAlive(now: number, starting = false): void {
    const latencyMs = this.deps.latencyMs;
    const aheadMs = this.lastDueNs < 0 ? 0 : (this.lastDueNs - now) / 1e6;
    const afresh = this.clock.anchorsAfresh(now);
    if (starting && !afresh && aheadMs > latencyMs / 2) return;
    const wantMs = afresh ? latencyMs / 4 : latencyMs - Math.max(0, aheadMs);
    if (this.cut) {
      // The source's bytes from the cut are on their way (another thread's hub): the queue
      // holds out until an eighth of the latency is left, then filler goes out, and the input
      // no longer goes on from the cut (the filler moved the output on: it splices).
      if (aheadMs > latencyMs / 8) return;
      this.deps.log('info', 'input-spliced', {
        source: this.cut.key,
        message: 'the bytes after the cut did not come in time: spliced to the source',
      });
      this.cut = null;
    }
    if (afresh || wantMs > latencyMs / 4) {
      // A source gone quiet: at once what brings the queue to half the latency, then at most a
      // quarter of it per tick. Every channel of an input that stops goes quiet in the same
      // tick, and 350 ms of filler each at once (200 channels: 70 s of output) held the thread
      // long enough to send late (23-61 ms at 200-250 channels, bench/scale's input end).
      const ms =
        afresh || starting
          ? wantMs
          : Math.min(wantMs, Math.max(latencyMs / 4, latencyMs / 2 - aheadMs));
      this.remuxer.idle(ms);
      // Filler sets the queue's depth, not a source's clock: measured afresh once one goes on.
      this.clock.recalibrate(now);
      this.stampUtc(now);
    }
  }

  /**
   * Calls `listener` with every datagram queued (TS bytes, output time, due time); the bytes
   * are valid only during the call. Returns the unsubscribe function.
   */
  tap(listener: DatagramListener): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  /**
   * The output clock: [output time (27 MHz, unwrapped), monotonic ns] of the last datagram
   * queued, or undefined before the first.
   */
  outputClock(): { pcr27: number; dueNs: number } | undefined {
    return Number.isFinite(this.lastPcr27)
      ? { pcr27: this.lastPcr27, dueNs: this.lastDueNs }
      : undefined;
  }

  /** The drift correction of the send line, ppm (ClockMap), or undefined before the first datagram. */
  get clockSkewPpm(): number | undefined {
    return this.lastDueNs < 0 ? undefined : this.clock.stats.skewPpm;
  }

  /** Times the send line was chased back faster than the standard allows (ClockMap). */
  get clockChases(): number | undefined {
    return this.lastDueNs < 0 ? undefined : this.clock.stats.chases;
  }

  /** The queue's counters (undefined while closed). */
  get stats(): OutputQueue['stats'] | undefined {
    return this.queue?.stats;
  }

  /** The output's bit rate over the last second. */
  get bitrate(): number {
    return this.rate;
  }

  /** Why the output is down (it cannot send), or undefined. */
  get problem(): string | undefined {
    return this.health.problem;
  }

  /**
   * Sends the paced RTP stream to one more receiver (RTSP), from the pacing worker. Rejects
   * when the output is closed or the destination cannot be opened.
   */
  addRtpDestination(d: DestinationSpec): Promise<void> {
    return this.queue ? this.queue.addDestination(d) : Promise.reject(new Error('channel stopped'));
  }

  removeRtpDestination(id: string): Promise<void> {
    return this.queue ? this.queue.removeDestination(id) : Promise.resolve();
  }

  /**
   * The paced RTP stream as RTSP needs it (RTP-Info, RTCP SR): SSRC, the next sequence number,
   * an RTP time with the monotonic time it belongs to, and the packets/octets sent.
   */
  rtpState(): RtpStreamState | undefined {
    const q = this.queue;
    if (!q) return this.closedRtp;
    const st = q.stats;
    const clock = this.outputClock();
    return {
      ssrc: q.rtp.ssrc,
      nextSeq: (q.rtp.seq + st.sent + (st.split ?? 0)) & 0xffff,
      rtpTime: clock ? rtpTimestampFromPcr(clock.pcr27) : 0,
      atNs: clock ? clock.dueNs : this.deps.nowNs(),
      packets: st.sent + (st.split ?? 0),
      octets: st.bytes,
    };
  }

  /** How late the pacing worker sent each datagram (cumulative counts, seconds). */
  pacingLateness():
    { buckets: number[]; counts: number[]; sum: number; count: number } | undefined {
    const l = this.queue?.stats.lateness;
    if (!l) return undefined;
    // Prometheus form without the +Inf bucket (its count is `count`).
    return {
      buckets: [...l.buckets],
      counts: l.counts.slice(0, l.buckets.length),
      sum: l.sumSeconds,
      count: l.count,
    };
  }

  /** Each tick: once a second, the rate and the watches of what was sent. */
  sample(now: number): void {
    const dt = now - this.rateSinceNs;
    if (dt < 1e9) return;
    this.rate = ((this.bytesOut - this.rateBytes) * 8 * 1e9) / dt;
    this.rateBytes = this.bytesOut;
    this.rateSinceNs = now;
    const log = this.deps.log;
    const q = this.queue?.stats;
    const change = q ? this.health.sample(q.sent, q.sendErrors ?? 0) : undefined;
    if (change) log(change.level, change.event, { message: change.message });
    const behind = q ? this.behind.sample(now, q.lateness, q.relaxed ?? 0) : undefined;
    if (behind) log('warn', 'channel-behind', behind);
    const clock = this.clock.stats;
    if (clock.chases > this.chasesSaid) {
      this.chasesSaid = clock.chases;
      log('warn', 'clock-chase', {
        chases: clock.chases,
        sourcePpm: Math.round(clock.sourcePpm * 100) / 100,
        skewPpm: Math.round(clock.skewPpm * 100) / 100,
        leadMs: Math.round(clock.leadMs),
        setpointMs: Math.round(clock.setpointMs),
        message:
          "the queue ran more than half its depth off: the source's clock (or this machine's) " +
          'changed rate faster than ISO/IEC 13818-1 allows (0.075 Hz/s); the send line is ' +
          'changing rate at up to 2 ppm/s to keep the queue',
      });
    }
    const low = this.cbrWatch?.sample(now, {
      ...this.remuxer.stats,
      cbrOverflows: this.remuxer.cbrOverflows,
      cbrMaxLagMs: this.remuxer.cbrMaxLagMs,
    });
    if (low) {
      this.deps.error(low.message);
      const { message, ...fields } = low;
      log('warn', 'cbr-rate-too-low', { ...fields, message });
    }
  }
}

/** The output identity a channel's config gives its remuxer. */
const identityOf = (c: ChannelConfig) => ({
  serviceName: c.name,
  providerName: c.provider,
  programNumber: c.programNumber,
  transportStreamId: c.transportStreamId,
});

/** The remuxer's cut, when it was cut (Channel.stop with keepOutput) on `source`. */
function cutOf(remuxer: Remuxer, source: SourceRef | undefined): { cut?: InputCut } {
  const input = remuxer.inputState();
  return input && source ? { cut: { input, key: source.key, service: source.service } } : {};
}
