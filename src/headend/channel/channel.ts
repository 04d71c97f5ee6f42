// A channel of the daemon: its sources (primary and backups) → its output (channel-output.ts:
// one Remuxer, the channel's output identity and timeline → DatagramCutter → ClockMap → the
// Pacer's queue for its multicast output, the output monitor and the taps).
//
// Failover: when the source in use fails (exit, stall, garbage: reported by the SourceHub) or
// delivers bytes without the wanted program, or without video/audio payload, for
// `missingServiceMs`, the channel moves to the next source and splices it in (the remuxer
// starts its video at an access point and keeps PSI/PCR flowing until then). It returns to the
// primary once the primary (kept open and watched meanwhile) has been healthy for
// `returnAfterMs`: a planned switch, so the backup keeps playing until the primary reaches an
// access point (SpliceProbe), and the viewer sees no broken picture at all. While no source
// delivers, the remuxer's idle output (PAT/PMT/SDT and PCR, nulls in CBR) keeps the output
// alive, generated just ahead of the pacer so the queue never runs dry: tuned boxes stay tuned.

import type { SourceRef } from './input-cut.js';
import type { Remuxer } from '../../mpegts/remux/remuxer.js';
import { SpliceProbe } from '../../mpegts/splice-probe.js';
import type { Logger } from '../log.js';
import { SourceLink, type LinkEvents } from './source-link.js';
import { Programme } from './programme.js';
import type { OutputMonitor } from './output-monitor.js';
import { ChannelOutput, type RunningOutput } from './channel-output.js';
import type { LocalTimeOffset } from '../../mpegts/psi/tdt-tot.js';
import { EitFeed, type GuideView } from '../epg/eit-feed.js';
import { EitPassthrough } from '../../mpegts/remux/eit-passthrough.js';
import { EPG_PASSTHROUGH } from '../config/network.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { RtpStreamState } from '../rtsp/types.js';
import { everyTick } from './ticker.js';
import { updatedConfig } from './handle.js';
import { monotonicNs } from '../../scheduler/mono-clock.js';
import type {
  DatagramListener,
  ChannelConfig,
  ChannelSourceSpec,
  ChannelState,
  ChannelStatus,
  ChannelTuner,
  OutputScheduler,
  SourceProvider,
} from './types.js';

import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import type { OutputHandoff } from './output-handoff.js';
import type { StartWaves } from './start-waves.js';

export type { RunningOutput } from './channel-output.js';

export interface ChannelDeps {
  hub: SourceProvider;
  pacer: OutputScheduler;
  log: Logger;
  /** Position among the daemon's channels, so outputs are staggered. */
  staggerIndex: number;
  nowNs?: () => number;
  /** How far ahead of real time the output is scheduled (default 400 ms). */
  latencyMs?: number;
  /** Housekeeping period (default 40 ms). */
  tickMs?: number;
  /**
   * The RTP stream to continue (SSRC and next sequence number) when this channel replaces one
   * that a reload rebuilt: receivers (RTSP sessions, RTP multicast) see one stream go on, not
   * a new SSRC whose sequence may look older than the last packet they had.
   */
  rtp?: { ssrc: number; seq: number };
  /**
   * The running output of the channel this one replaces (a reload that rebuilt it with its
   * output sent as before: Channel.stop keepOutput), taken over as it is and spliced to this
   * channel's source, as a failover would be.
   */
  output?: RunningOutput;
  /**
   * The output a channel in another thread ran (a reload moved the channel to another channel
   * worker: output-handoff.ts), gone on from where it stands; `rtp` continues its RTP stream.
   */
  handoff?: OutputHandoff;
  /**
   * The SI of the output another node sent (a cluster takeover: cluster/identity.ts): this
   * output goes on with its versions and flags its first PCR (Remuxer.continueFrom).
   */
  continueFrom?: OutputSi;
  /** The network SI every output carries (NIT, TDT/TOT); none when absent. */
  si?: ChannelSi;
  /** Wall clock in ms (default Date.now), for the TDT/TOT and the timetable. */
  wallMs?: () => number;
  /** IANA zone of the timetable (default UTC). */
  timezone?: string;
  /**
   * The thread's start waves (start-waves.ts): a new channel takes its input in once admitted.
   * Absent, or a channel that goes on from an output (output, handoff, continueFrom): at once.
   */
  startWaves?: StartWaves;
}

/** What the daemon gives each channel of the network's SI (headend/si/lineup.ts). */
export interface ChannelSi {
  /** NIT network_id, every output's original_network_id. */
  originalNetworkId: number;
  /** The line-up's NIT sections, version included. */
  nit: readonly Uint8Array[];
  /** The TOT's local time offset entries at a UTC instant; absent: TDT only. */
  localTimeOffsets?: (utcMs: number) => readonly LocalTimeOffset[];
  /** The programme guide (EIT p/f from the channel's `epg` id); absent: no EIT. */
  guide?: GuideView;
  /** Whether the headend has guide sources (the status shows the guide then). */
  guideOn?: () => boolean;
  /** Country of parental ratings (ISO 3166-1 alpha-3), null when unknown. */
  country?: string | null;
}

/** How long a stopping channel's kept output waits for its input's next PCR (cutInput). */
const CUT_WAIT_MS = 200;
/** Bytes must have stopped this long before the idle filler takes over (a live source is bursty). */
const QUIET_MS = 250;
/**
 * A planned switch waits this long at most for the new source's access point while the old
 * one plays on; then it switches anyway (the remuxer still starts the video at one).
 */
const PLANNED_WAIT_MS = 5000;

/** A planned switch in wait: the source to switch to, watched for an access point. */
interface PendingSwitch {
  index: number;
  why: string;
  /** The log event of the switch when it happens. */
  event?: string;
  probe: SpliceProbe;
  sinceNs: number;
}

export class Channel {
  readonly id: string;
  /** The output's identity (output-key.ts): the key of its queue in the pacer. */
  readonly outputKey: string;
  /** The channel's settings; identity fields change in place on reload (updateIdentity). */
  config: ChannelConfig;
  /** The output half: remuxer → cutter → clock map → pacer queue, monitor and taps. */
  private readonly output: ChannelOutput;
  private readonly remuxer: Remuxer;
  private readonly links: SourceLink[];
  private readonly events: LinkEvents;
  private log: Logger;
  private readonly nowNs: () => number;
  private readonly latencyMs: number;
  /**
   * Head of the source chain: 0 (the channel's own primary), or a link appended for a
   * timetable rule or an alert. The chain is [primary, backup 1, …]: failover walks it.
   */
  private primary = 0;
  /** Backups: links 1..backups. */
  private readonly backups: number;
  /** Timetable and alerts: what the head of the chain should be. */
  readonly programme: Programme;
  /** Stops the housekeeping tick (ticker.ts); null while the channel is not started. */
  private timer: (() => void) | null = null;
  /** stop() has begun: an output that opens now starts nothing. */
  private stopping = false;
  private active = 0;
  private state: ChannelState = 'starting';
  private failovers = 0;
  private lastError: string | undefined;
  private readonly missingServiceMs: number;
  /** Program presence of the source in use, as the remuxer's demuxer sees it. */
  private readonly remuxProgram = (): boolean => this.remuxer.demux.program !== null;
  /** When source bytes last made the remuxer emit packets (bytes of garbage make none). */
  private lastProducedNs = -1;
  private readonly wallMs: () => number;
  /** EIT p/f from the guide, null without one. */
  private eit: EitFeed | null = null;
  /** `epg: passthrough`: the source's own EIT for its service, rewritten for the output. */
  private eitPass: EitPassthrough | null = null;
  /** Date.now() when the source in use last came up (undefined while none is up). */
  sourceUpSinceMs: number | undefined;
  /** The channel's own output, checked as it is queued: PSI/PCR intervals, TR 101 290. */
  readonly monitor: OutputMonitor;
  private pending: PendingSwitch | null = null;
  /** cutInput: called once the remuxer is cut (feed), or at the time limit. */
  private onCut: (() => void) | null = null;
  /** The start waves let its input in (ChannelDeps.startWaves). */
  private admitted: boolean;

  constructor(
    config: ChannelConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.config = config;
    this.id = `${config.number}`;
    this.log = deps.log.child({ channel: `${config.number} ${config.name}` });
    this.nowNs = deps.nowNs ?? monotonicNs;
    this.latencyMs = deps.latencyMs ?? 400;
    this.missingServiceMs = Math.max(3000, config.stallMs);
    this.wallMs = deps.wallMs ?? Date.now;
    const gate = deps.startWaves;
    this.admitted = !gate || !!deps.output || !!deps.handoff || !!deps.continueFrom;
    this.output = new ChannelOutput(config, {
      pacer: deps.pacer,
      staggerIndex: deps.staggerIndex,
      nowNs: this.nowNs,
      wallMs: this.wallMs,
      latencyMs: this.latencyMs,
      rtp: deps.rtp,
      kept: deps.output,
      handoff: deps.handoff,
      continueFrom: deps.continueFrom,
      originalNetworkId: deps.si?.originalNetworkId,
      localTimeOffsets: deps.si?.localTimeOffsets,
      log: (level, event, fields) => this.log.log(level, event, fields),
      error: (message) => (this.lastError = message),
    });
    this.outputKey = this.output.key;
    this.remuxer = this.output.remuxer;
    this.monitor = this.output.monitor;
    this.events = {
      data: (l: SourceLink, c: Uint8Array) => this.onData(l, c),
      restarted: (l: SourceLink) => this.onRestarted(l),
      failed: (l: SourceLink, r: string, m?: string) => this.onFailed(l, r, m),
    };
    this.links = config.sources.map(
      (s, i) => new SourceLink(i, s, deps.hub, this.events, config.stallMs, this.nowNs),
    );
    this.links[0]?.useProgramOf(this.remuxProgram);
    this.backups = Math.max(0, this.links.length - 1);
    this.programme = new Programme(this, deps.timezone ?? 'UTC', this.wallMs);
    if (deps.si) this.remuxer.setNit(deps.si.nit);
    this.configureEit();
    // The timetable's rule in force now becomes the head of the chain before anything opens.
    if (config.schedule?.length) this.programme.setSchedule(config.schedule);
  }

  /**
   * The EIT the output carries: the source's own (`epg: passthrough`), or one made from the
   * guide (the channel's `epg` id), or none without SI.
   */
  private configureEit(): void {
    const si = this.deps.si;
    this.remuxer.setEitTap(null);
    this.remuxer.setSdtPassthrough(false);
    this.remuxer.setEitPf(null);
    this.remuxer.setEitSchedule([]);
    this.eit = null;
    this.eitPass = null;
    if (si === undefined) return;
    const ids = () => ({
      serviceId: this.config.programNumber,
      transportStreamId: this.config.transportStreamId,
      originalNetworkId: si.originalNetworkId,
    });
    if (this.config.epg === EPG_PASSTHROUGH) {
      const pass = new EitPassthrough(this.remuxer, () => ({
        ...ids(),
        inputService: this.remuxer.demux.program?.programNumber ?? null,
      }));
      this.remuxer.setEitTap((b, o) => pass.packet(b, o));
      this.remuxer.setSdtPassthrough(true);
      this.eitPass = pass;
    } else if (si.guide !== undefined) {
      this.eit = new EitFeed(si.guide, () => this.config.epg, ids, si.country ?? null);
    }
  }

  /** The line-up's new NIT (a reload changed it): out with the next PSI block. */
  setNit(sections: readonly Uint8Array[]): void {
    this.remuxer.setNit(sections);
  }

  /**
   * Adds the output to the pacer and, once it is open (or has failed), opens the first source
   * and starts the schedule; resolves then.
   */
  start(): Promise<void> {
    const o = this.config.output;
    const started = this.output.open(this.config).then((r) => {
      if (this.stopping) return; // stopped (or stopping) meanwhile
      // The source opens and the schedule starts only now: whatever was queued before the
      // output could send (the pacing thread's first start takes half a second) left late, in
      // one burst.
      const link = this.links[this.active];
      link?.open(link && this.output.resumeFrom(link.spec));
      this.timer = everyTick(this.deps.tickMs ?? 40, () => this.tick());
      if (r instanceof Error) {
        this.lastError = r.message;
        this.log.log('error', 'output-failed', { message: r.message });
      } else {
        this.log.log('info', 'output-open', { local: r.local, interface: r.interfaceAddress });
        if (!r.tosApplied) {
          this.log.log('warn', 'tos-not-applied', {
            message:
              `TOS ${o.tos} cannot be set without the native UDP addon (see the native-udp ` +
              `line): mark ${o.group}:${o.port} on the box instead (an nftables mangle rule, ` +
              'see the README)',
          });
        }
      }
    });
    this.log.log('info', 'channel-start', {
      output: this.outputKey,
      sources: this.links.map((l) => l.label),
    });
    return started;
  }

  /**
   * Stops the sources and the schedule. The output closes too, unless `keepOutput` and it is
   * open: then it stays, still sending what is queued, and is returned for the channel that
   * replaces this one (ChannelDeps.output; output-key.ts keepsOutput says when). An output that
   * did not open closes (null), so the next channel opens it afresh.
   */
  async stop(opts: { keepOutput?: boolean } = {}): Promise<RunningOutput | null> {
    this.stopping = true;
    this.deps.startWaves?.forget(this, this.nowNs());
    this.programme.stop();
    if (this.timer) this.timer();
    this.timer = null;
    // A kept output's input is cut before an input PCR, for the next channel to read on from.
    const cutSource = opts.keepOutput === true ? await this.cutInput() : undefined;
    // A stopping channel is most often rebuilt or moved at once: its sources linger (SourceHub).
    for (const l of this.links) l.close(true);
    const kept = await this.output.close(
      opts.keepOutput === true,
      this.config.output.packetsPerDatagram,
      cutSource,
    );
    this.state = 'stopped';
    this.log.log(
      'info',
      'channel-stop',
      kept ? { output: 'kept', ...(kept.cut ? { input: 'cut' } : {}) } : undefined,
    );
    return kept;
  }

  /**
   * Make-before-break (input-cut.ts): the remuxer stops reading just before the source in use
   * gives its next PCR, at most CUT_WAIT_MS from now; the source it read, once cut.
   */
  private cutInput(): Promise<SourceRef | undefined> {
    const link = this.links[this.active];
    const live = this.state === 'running' || this.state === 'failover';
    if (!link?.subscribed || this.pending || !live) return Promise.resolve(undefined);
    this.remuxer.cutAtNextAnchor();
    const source = { key: link.spec.key, service: link.spec.service };
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.onCut = null;
        resolve(this.remuxer.inputState() ? source : undefined);
      };
      const timer = setTimeout(done, CUT_WAIT_MS);
      this.onCut = done;
    });
  }

  /** Whether this channel and `other` sent through the same pacer queue (a handed-over one). */
  sharesOutputWith(other: Channel): boolean {
    return this.output.sharesWith(other.output);
  }

  /**
   * Hot reload of an identity-only change (name, number, provider, program_number,
   * transport_stream_id, epg): the output's PAT/PMT/SDT (and EIT) are rewritten with new versions, and the
   * sources, PIDs, continuity counters and timeline carry on. Other fields of `next` are
   * ignored (the caller decides that only identity changed).
   */
  updateIdentity(next: ChannelConfig): void {
    const prev = this.config;
    this.eit?.invalidate();
    const passChanged = (prev.epg === EPG_PASSTHROUGH) !== (next.epg === EPG_PASSTHROUGH);
    this.config = updatedConfig.identity(prev, next);
    this.log = this.deps.log.child({ channel: `${next.number} ${next.name}` });
    if (passChanged) this.configureEit();
    // Passed-through sections carry the output's ids: made again with the new ones.
    this.eitPass?.reidentify();
    this.remuxer.setIdentity({
      serviceName: next.name,
      providerName: next.provider,
      programNumber: next.programNumber,
      transportStreamId: next.transportStreamId,
    });
    this.log.log('info', 'channel-updated', {
      from: `${prev.number} ${prev.name}`,
      provider: next.provider,
      programNumber: next.programNumber,
      transportStreamId: next.transportStreamId,
    });
  }

  /**
   * Hot reload of a mux change (bitrate: the CBR rate, or CBR↔VBR; psi_interval; packets per
   * datagram): the remuxer's next slots and the cutter's next datagram (both from the same
   * packet) follow the new settings, while sources, continuity counters and the timeline carry
   * on. Other fields of `next` are ignored (the caller decides what changed).
   */
  updateMux(next: ChannelConfig): void {
    const prev = this.config;
    const ppd = next.output.packetsPerDatagram;
    this.config = updatedConfig.mux(prev, next);
    this.output.setMux(next, {
      packetsPerDatagram: prev.output.packetsPerDatagram,
      bitrate: prev.bitrate,
    });
    const changed: Record<string, unknown> = {};
    if (prev.bitrate !== next.bitrate) {
      changed.bitrate = next.bitrate ?? 'vbr';
      changed.previousBitrate = prev.bitrate ?? 'vbr';
    }
    if (prev.psiIntervalMs !== next.psiIntervalMs) {
      changed.psiIntervalMs = next.psiIntervalMs;
      changed.previousPsiIntervalMs = prev.psiIntervalMs;
    }
    if (prev.output.packetsPerDatagram !== ppd) {
      changed.packetsPerDatagram = ppd;
      changed.previousPacketsPerDatagram = prev.output.packetsPerDatagram;
    }
    this.log.log('info', 'channel-updated', changed);
  }

  status(): ChannelStatus {
    const q = this.output.stats;
    const s = this.remuxer.stats;
    const outputDown = this.state !== 'stopped' ? this.output.problem : undefined;
    return {
      number: this.config.number,
      name: this.config.name,
      slug: this.config.slug,
      state: outputDown !== undefined ? 'down' : this.state,
      sourceIndex: this.active,
      source: this.links[this.active]?.label ?? '',
      output: this.outputKey,
      bitrate: outputDown !== undefined ? 0 : Math.round(this.output.bitrate),
      restarts: this.links.reduce((n, l) => n + l.restarts, 0),
      failovers: this.failovers,
      lastError: outputDown ?? this.lastError,
      datagramsSent: q?.sent ?? 0,
      datagramsDropped: q?.dropped ?? 0,
      datagramsRelaxed: q?.relaxed,
      datagramsSplit: q?.split,
      clockSkewPpm: this.output.clockSkewPpm,
      clockChases: this.output.clockChases,
      remux: {
        ...s,
        cbrOverflows: this.remuxer.cbrOverflows,
        cbrMaxLagMs: this.remuxer.cbrMaxLagMs,
        decodeDelayMs: this.remuxer.decodeMarginMs.delay,
        decodeDelayRaises: this.remuxer.delayRaises,
      },
      analyzer: this.monitor.analyzerCounters(),
      ...this.tunerStatus(),
      ...(this.config.schedule?.length || this.programme.alertOn
        ? { programme: this.programme.status() }
        : {}),
      ...(this.eit && this.deps.si?.guideOn?.()
        ? { guide: { id: this.config.epg, ...this.eit.now } }
        : {}),
    };
  }

  /** The tuner of the source in use, else of the primary (so a lost lock shows on backup). */
  private tunerStatus(): { tuner?: ChannelTuner } {
    const tuner = this.links[this.active]?.tuner ?? this.links[0]?.tuner;
    return tuner !== undefined ? { tuner } : {};
  }

  // ------------------------------------------------------------------ sources

  private onData(link: SourceLink, chunk: Uint8Array): void {
    const p = this.pending;
    if (p && link.index === p.index) {
      if (p.probe.push(chunk)) this.switchTo(p.index, p.why, p.probe.handover(), p.event);
      return;
    }
    if (link.index !== this.active) return;
    if (!this.admitted && !this.admit(link)) return;
    this.feed(link, chunk);
    // Up: the program is there and carries video/audio (since the last 'no payload' failure).
    const payload = link.lastPayloadNs >= 0 && link.lastPayloadNs >= link.payloadWatchNs;
    const up = this.active === this.primary ? 'running' : 'failover';
    if (this.state !== up && this.remuxer.demux.program && payload) {
      this.state = up;
      this.sourceUpSinceMs = Date.now();
      this.log.log('info', 'source-up', { source: link.label, index: link.index });
    }
  }

  /**
   * Asks the start waves whether the input may come in; until then its bytes are dropped and
   * filler keeps the output going. The source's watches (payload, program) start at admission:
   * the wait is the waves', not the source's.
   */
  private admit(link: SourceLink): boolean {
    const now = this.nowNs();
    if (!this.deps.startWaves!.admit(this, now)) return false;
    this.admitted = true;
    link.watchFrom(now);
    return true;
  }

  /** The output splices to the source's next bytes (a cut input is no longer gone on from). */
  private splice(service: number | null): void {
    this.output.dropCut();
    this.remuxer.splice(service);
  }

  /** Source bytes into the remuxer, and the packets that come out of it to the pacer. */
  private feed(link: SourceLink, chunk: Uint8Array): void {
    const s = this.remuxer.stats;
    const before = s.packetsOut;
    const content = s.contentPacketsIn;
    // Read on from the cut: the stream goes on mid-way, as the channel it came from produced
    // it (not a start, nor quiet: filler now would splice it and re-arm its start).
    if (this.output.input(chunk, link.spec)) this.lastProducedNs = this.nowNs();
    this.remuxer.push(chunk);
    if (this.onCut && this.remuxer.inputState()) this.onCut();
    const now = this.nowNs();
    if (s.packetsOut !== before) this.lastProducedNs = now;
    if (s.contentPacketsIn !== content) link.lastPayloadNs = now;
    this.output.stampUtc(now);
  }

  private onRestarted(link: SourceLink): void {
    if (link.index !== this.active) return;
    this.splice(link.spec.service ?? null);
  }

  private onFailed(link: SourceLink, reason: string, message?: string): void {
    this.lastError = `${link.label}: ${reason}${message ? `: ${message}` : ''}`;
    // Why (ffmpeg's message) goes to lastError; the line stays a state change that is never
    // folded as a repeat (log.ts folds only lines with a message).
    this.log.log('warn', 'source-failed', { source: link.label, index: link.index, reason });
    if (this.pending && link.index === this.pending.index) {
      this.log.log('info', 'switch-cancelled', { to: link.label, reason });
      this.pending = null;
      return;
    }
    if (link.index !== this.active) return;
    this.state = 'down';
    this.sourceUpSinceMs = undefined;
    // The old source is gone: a switch that waited for the new one's access point goes now.
    const next = this.pending ? this.pending.index : this.nextInChain(this.active);
    if (next !== this.active) this.switchTo(next, reason);
  }

  /**
   * Switches to source `index` while the one in use plays on: the switch happens when the new
   * source reaches a random access point (or after PLANNED_WAIT_MS).
   */
  private planSwitch(index: number, why: string, event?: string): void {
    const link = this.links[index];
    link.open();
    this.pending = {
      index,
      why,
      event,
      probe: new SpliceProbe(link.spec.service),
      sinceNs: this.nowNs(),
    };
    this.log.log('info', 'switch-planned', { to: link.label, reason: why });
  }

  /**
   * Moves to source `index` now. `handover` (a planned switch): the new source's bytes from
   * its access point on (SpliceProbe), fed at once after the splice.
   */
  private switchTo(index: number, why: string, handover?: Uint8Array, event?: string): void {
    const from = this.active;
    // Stopping (its input being cut): no other source is opened to linger for nothing.
    if (index === from || this.stopping) return;
    const waitedMs = this.pending ? (this.nowNs() - this.pending.sinceNs) / 1e6 : undefined;
    this.pending = null;
    this.active = index;
    const link = this.links[index];
    this.links[from].useProgramOf(null);
    link.useProgramOf(this.remuxProgram);
    link.open();
    this.splice(link.spec.service ?? null);
    this.eitPass?.reset();
    this.sourceUpSinceMs = undefined;
    // Backups run only while in use; the primary stays open so its recovery is seen.
    if (from !== this.primary) this.links[from].close();
    const back = index === this.primary;
    if (!back) this.failovers++;
    this.state = 'down';
    this.log.log(back ? 'info' : 'warn', event ?? (back ? 'return-to-primary' : 'failover'), {
      from: this.links[from].label,
      to: link.label,
      reason: why,
      ...(waitedMs === undefined
        ? {}
        : { waitedMs: Math.round(waitedMs), atAccessPoint: !!handover }),
    });
    if (handover) this.onData(link, handover);
  }

  // ------------------------------------------------------------------ programme

  /**
   * Puts `spec` at the head of the source chain (a timetable rule, an alert), or the channel's
   * own primary back (null); the backups stay behind it. `now` switches at once (the remuxer
   * starts the video at the new source's first access point); `planned` lets the source in
   * use play on until the new one reaches one (at most PLANNED_WAIT_MS). Both splice: same
   * PIDs, continuity and timeline.
   */
  setContent(spec: ChannelSourceSpec | null, mode: 'now' | 'planned', why: string): void {
    const index = spec === null ? 0 : this.linkFor(spec);
    const old = this.primary;
    if (index === old) return;
    this.primary = index;
    const p = this.pending;
    if (p && p.index !== index) {
      this.pending = null;
      if (p.index !== this.active) this.links[p.index].close();
    }
    // The old head is watched no longer unless it is what plays (it closes when left).
    if (old !== this.active && this.pending?.index !== old) this.links[old].close();
    const label = this.links[index].label;
    if (this.timer === null) {
      // Not started: the channel opens the head when its output is ready.
      this.links[this.active].useProgramOf(null);
      this.active = index;
      this.links[index].useProgramOf(this.remuxProgram);
      this.splice(this.links[index].spec.service ?? null);
      this.log.log('info', 'programme', { source: label, reason: why });
      return;
    }
    if (this.active === index) {
      this.log.log('info', 'programme', { source: label, reason: why });
      return;
    }
    if (mode === 'now') this.switchTo(index, why, undefined, 'programme');
    else if (this.pending?.index !== index) this.planSwitch(index, why, 'programme');
  }

  /** Reload: new timetable rules, followed from now on (sources in use carry on). */
  updateSchedule(next: ChannelConfig): void {
    this.config = updatedConfig.schedule(this.config, next);
    this.programme.setSchedule(next.schedule);
  }

  /** The link reading `spec` (the same source and service), appended when there is none. */
  private linkFor(spec: ChannelSourceSpec): number {
    const i = this.links.findIndex(
      (l) => l.spec.key === spec.key && l.spec.service === spec.service,
    );
    if (i >= 0) return i;
    this.links.push(
      new SourceLink(
        this.links.length,
        spec,
        this.deps.hub,
        this.events,
        this.config.stallMs,
        this.nowNs,
      ),
    );
    return this.links.length - 1;
  }

  /** The source after `index` in the chain [primary, backup 1, …], wrapping; itself if alone. */
  private nextInChain(index: number): number {
    const chain = [this.primary];
    for (let b = 1; b <= this.backups; b++) if (b !== this.primary) chain.push(b);
    const at = chain.indexOf(index);
    return chain[(at + 1) % chain.length];
  }

  // ------------------------------------------------------------------ housekeeping

  private tick(): void {
    const now = this.nowNs();
    const link = this.links[this.active];
    // A channel waiting for its wave (admit) reads no input yet: nothing to watch.
    if (
      link &&
      this.admitted &&
      link.awaitingProgramSinceNs >= 0 &&
      now - link.awaitingProgramSinceNs > this.missingServiceMs * 1e6
    ) {
      link.awaitingProgramSinceNs = now;
      const want = link.spec.service === undefined ? 'a program' : `service ${link.spec.service}`;
      link.failed(`missing service: the source carries no ${want}`);
    }
    if (
      link &&
      this.admitted &&
      link.lastDataNs >= 0 &&
      now - link.lastDataNs <= this.config.stallMs * 1e6 &&
      link.payloadWatchNs >= 0 &&
      now - Math.max(link.lastPayloadNs, link.payloadWatchNs) > this.missingServiceMs * 1e6
    ) {
      // Bytes, even PSI, but no picture or sound: as good as a stall (an encoder whose input
      // died often sends just that).
      link.payloadWatchNs = now;
      link.failed(`no payload: no video or audio packets for ${this.missingServiceMs} ms`);
    }
    const p = this.pending;
    if (p && now - p.sinceNs > PLANNED_WAIT_MS * 1e6) {
      this.switchTo(
        p.index,
        `${p.why}; no access point within ${PLANNED_WAIT_MS} ms`,
        undefined,
        p.event,
      );
    } else if (
      !p &&
      this.active !== this.primary &&
      this.links[this.primary].healthyFor(this.config.returnAfterMs, now)
    ) {
      this.planSwitch(this.primary, 'primary healthy again');
    }
    // Quiet: no bytes, or bytes that give no output (garbage until the hub calls it a failure
    // after stall_timeout): either way the filler keeps PSI and PCR flowing meanwhile.
    const bytesFlow = !!link && link.lastDataNs >= 0 && now - link.lastDataNs <= QUIET_MS * 1e6;
    const quiet =
      !bytesFlow ||
      this.lastProducedNs < 0 ||
      now - this.lastProducedNs > QUIET_MS * 1e6 ||
      !this.remuxer.demux.program;
    if (quiet) {
      if (link && link.lastDataNs >= 0 && now - link.lastDataNs > this.config.stallMs * 1e6)
        this.state = 'down';
      // The channel's first source sends bytes, nothing out of them yet (the remuxer waits
      // for a PCR, a keyframe): they are about to start.
      this.output.keepAlive(now, bytesFlow && this.lastProducedNs < 0);
    }
    this.output.sample(now);
    // EIT p/f (and schedule) for what is on air when this output reaches the TVs.
    this.eitPass?.flush();
    const eit = this.eit?.update(this.wallMs() + this.latencyMs);
    if (eit?.pf !== undefined) this.remuxer.setEitPf(eit.pf);
    if (eit?.schedule !== undefined) this.remuxer.setEitSchedule(eit.schedule);
  }

  // ------------------------------------------------------------------ output (channel-output.ts)

  /**
   * Calls `listener` with every datagram the channel queues (TS bytes, output time, due time);
   * the bytes are valid only during the call. Returns the unsubscribe function.
   */
  tap(listener: DatagramListener): () => void {
    return this.output.tap(listener);
  }

  /** [output time (27 MHz, unwrapped), monotonic ns] of the last datagram queued. */
  outputClock(): { pcr27: number; dueNs: number } | undefined {
    return this.output.outputClock();
  }

  /** Sends the channel's paced RTP stream to one more receiver (RTSP). */
  addRtpDestination(d: DestinationSpec): Promise<void> {
    return this.output.addRtpDestination(d);
  }

  removeRtpDestination(id: string): Promise<void> {
    return this.output.removeRtpDestination(id);
  }

  /** The paced RTP stream as RTSP needs it (RTP-Info, RTCP SR). */
  /** The output's PSI/SI as it stands, for the node that may take the channel over. */
  psiState(): OutputSi {
    return this.remuxer.psiState();
  }

  rtpState(): RtpStreamState | undefined {
    return this.output.rtpState();
  }

  /** How late the pacing worker sent each datagram (cumulative counts, seconds). */
  pacingLateness(): ReturnType<ChannelOutput['pacingLateness']> {
    return this.output.pacingLateness();
  }
}
