// One subscription of a channel to one of its sources, with the health the channel decides on:
// when bytes last came, and whether the wanted program is present. A source the channel is not
// using (a recovering primary) is judged by a Framer + Demuxer of its own reading PSI only; the
// source in use is judged by the remuxer's demuxer (`useProgramOf`), so its bytes are framed
// and demuxed once, not twice.
//
// Restarts are the hub's own count of the source's runs (SourceProvider.state(key).restarts),
// taken over the time this link was subscribed: every run the supervisor started again counts,
// also one that died before its first byte, and also while the channel used another source.

import { Framer } from '../../mpegts/framer.js';
import { Demuxer } from '../../mpegts/demux.js';
import { hasPayload } from '../../mpegts/packet.js';
import type {
  ChannelSourceSpec,
  ChannelTuner,
  SourceProvider,
  SourceSubscriber,
  Unsubscribe,
} from './types.js';

export interface LinkEvents {
  data(link: SourceLink, chunk: Uint8Array): void;
  restarted(link: SourceLink): void;
  /** `message`: why, when the hub says (ffmpeg's exit status and last error line). */
  failed(link: SourceLink, reason: string, message?: string): void;
}

export class SourceLink implements SourceSubscriber {
  lastDataNs = -1;
  /** When the program's video/audio last carried payload (PSI and nulls alone do not count). */
  lastPayloadNs = -1;
  /**
   * Since when the payload is watched (opened, bytes began, restarted, or last reported
   * missing).
   */
  payloadWatchNs = -1;
  /** This link's own demuxer saw payload in the chunk being read. */
  private sawPayload = false;
  /** Since when the source has delivered the program without a failure; -1 when not healthy. */
  healthySinceNs = -1;
  /** When bytes started to come without the program showing up; -1 when n/a. */
  awaitingProgramSinceNs = -1;
  bytes = 0;
  private demux: Demuxer;
  private readonly framer: Framer;
  private unsubscribe: Unsubscribe | null = null;
  /** Restarts counted over earlier subscriptions (closed since). */
  private restartsBefore = 0;
  /** The hub's restart count of the source when this subscription began. */
  private restartsAtOpen = 0;
  /** Set while the channel uses this source: where to read program presence instead. */
  private programOf: (() => boolean) | null = null;

  constructor(
    readonly index: number,
    readonly spec: ChannelSourceSpec,
    private readonly hub: SourceProvider,
    private readonly events: LinkEvents,
    private readonly stallMs: number,
    private readonly nowNs: () => number,
  ) {
    this.demux = this.newDemux();
    this.framer = new Framer({
      packet: (b, o) => {
        if (this.demux.process(b, o) >= 0 && hasPayload(b, o)) this.sawPayload = true;
      },
    });
  }

  get subscribed(): boolean {
    return this.unsubscribe !== null;
  }

  /** The wanted program is in the source's PAT/PMT. */
  get programPresent(): boolean {
    return this.programOf ? this.programOf() : this.demux.program !== null;
  }

  /**
   * In use: read program presence from the channel's remuxer (which sees these bytes anyway).
   * Not in use (null): watch PSI with this link's own demuxer, from a fresh start.
   */
  useProgramOf(programOf: (() => boolean) | null): void {
    if (!programOf && this.programOf) this.reset();
    this.programOf = programOf;
  }

  get label(): string {
    if (this.spec.tuner !== undefined) return `tuner:${this.spec.tuner.id}`;
    return this.spec.url ?? 'test';
  }

  /** `from`: go on from this packet of the source's run (a moved or rebuilt channel's cut). */
  open(from?: Uint8Array): void {
    if (this.unsubscribe) return;
    this.payloadWatchNs = this.nowNs();
    this.unsubscribe = this.hub.subscribe(this.spec, this, {
      stallMs: this.stallMs,
      ...(from ? { from } : {}),
    });
    this.restartsAtOpen = this.hubRestarts();
  }

  /** `linger`: the channel is stopping, not failing over (Unsubscribe). */
  close(linger = false): void {
    this.restartsBefore = this.restarts;
    this.unsubscribe?.({ linger });
    this.unsubscribe = null;
    this.healthySinceNs = -1;
    this.awaitingProgramSinceNs = -1;
    this.reset();
  }

  /**
   * How many times the source's runs (ffmpeg processes, or a socket's feed after a stall) were
   * started again while this link was subscribed (restarts of a shared source before it
   * subscribed are not its own).
   */
  get restarts(): number {
    if (!this.unsubscribe) return this.restartsBefore;
    return this.restartsBefore + Math.max(0, this.hubRestarts() - this.restartsAtOpen);
  }

  /** A tuner source: its id and the front end's last reading. */
  get tuner(): ChannelTuner | undefined {
    if (this.spec.tuner === undefined) return undefined;
    const reading = this.hub.state(this.spec.key)?.tuner;
    return { id: this.spec.tuner.id, ...reading };
  }

  private hubRestarts(): number {
    return this.hub.state(this.spec.key)?.restarts ?? 0;
  }

  /**
   * Healthy: bytes within the stall time, the program present and its video/audio carrying
   * payload, for at least `forMs`.
   */
  healthyFor(forMs: number, now: number): boolean {
    if (this.healthySinceNs < 0 || this.lastDataNs < 0) return false;
    if (now - this.lastDataNs > this.stallMs * 1e6) return false;
    return now - this.healthySinceNs >= forMs * 1e6;
  }

  data(chunk: Uint8Array): void {
    const now = this.nowNs();
    // Bytes begin (the first, or after a stall): their payload is watched from now, not from
    // when the link opened (a source that starts later is not failed at its first bytes).
    if (this.lastDataNs < 0 || now - this.lastDataNs > this.stallMs * 1e6)
      this.payloadWatchNs = now;
    this.lastDataNs = now;
    this.bytes += chunk.length;
    if (!this.programOf) {
      this.sawPayload = false;
      this.framer.push(chunk);
      if (this.sawPayload) this.lastPayloadNs = now;
    }
    if (this.programPresent) {
      const payload = this.lastPayloadNs >= 0 && now - this.lastPayloadNs <= this.stallMs * 1e6;
      if (!payload) this.healthySinceNs = -1;
      else if (this.healthySinceNs < 0) this.healthySinceNs = now;
      this.awaitingProgramSinceNs = -1;
    } else if (this.awaitingProgramSinceNs < 0) {
      this.awaitingProgramSinceNs = now;
    }
    this.events.data(this, chunk);
  }

  /** The payload and program watches begin afresh at `now` (the channel took its input in). */
  watchFrom(now: number): void {
    this.payloadWatchNs = now;
    this.awaitingProgramSinceNs = -1;
  }

  restarted(): void {
    this.payloadWatchNs = this.nowNs();
    this.reset();
    this.events.restarted(this);
  }

  failed(reason: string, message?: string): void {
    this.healthySinceNs = -1;
    this.awaitingProgramSinceNs = -1;
    this.events.failed(this, reason, message);
  }

  private reset(): void {
    this.demux = this.newDemux();
    this.framer.reset();
  }

  private newDemux(): Demuxer {
    return new Demuxer(this.spec.service === undefined ? {} : { program: this.spec.service });
  }
}
