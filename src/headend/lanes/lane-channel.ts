// A channel that runs in a channel worker (lane-worker.ts), as the main thread holds it
// (ChannelHandle): what the metrics, the HTTP API and RTSP read comes from the lane's latest
// report (every LaneInit.reportMs); what they do (reload, alert, RTSP destinations and taps)
// goes to the lane as a command.

import type { ChannelAlert } from '../channel/programme.js';
import {
  updatedConfig,
  type CarriedOutput,
  type ChannelHandle,
  type ChannelMonitorView,
  type PacingLateness,
} from '../channel/handle.js';
import { outputKey } from '../channel/output-key.js';
import type { ChannelConfig, ChannelStatus, DatagramListener } from '../channel/types.js';
import type { HistogramSnapshot } from '../metrics/types.js';
import type { RtpStreamState } from '../rtsp/types.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { ChannelReport, FromLane } from './protocol.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import type { OutputHandoff } from '../channel/output-handoff.js';

/** How a channel is added to a lane. */
export interface LaneAdd {
  staggerIndex: number;
  rtp?: { ssrc: number; seq: number };
  /** An output the lane kept (a stop reply's carry). */
  carry?: number;
  /** An output another lane hands over (Lane.exportCarry); the add waits for it. */
  handoff?: Promise<OutputHandoff | undefined>;
  /** The SI of an output another node sent (a cluster takeover). */
  continueFrom?: OutputSi;
}

/** What a LaneChannel needs of its lane (lane.ts). */
export interface LaneLink {
  readonly lane: number;
  add(ch: LaneChannel, o: LaneAdd): void;
  send(m: { t: 'start' | 'tap'; id: number; on?: boolean }): void;
  /** Resolves once the lane has applied it (its log lines are in). */
  update(id: number, kind: 'identity' | 'mux' | 'schedule', config: ChannelConfig): Promise<void>;
  alert(id: number, alert: ChannelAlert | null): void;
  request(
    m:
      | { t: 'identity' | 'mux' | 'schedule'; id: number; config: ChannelConfig }
      | { t: 'stop'; id: number; keepOutput: boolean }
      | { t: 'dest-add'; id: number; dest: DestinationSpec }
      | { t: 'dest-remove'; id: number; destId: string }
      | { t: 'psi'; id: number },
  ): Promise<Extract<FromLane, { t: 'reply' }>>;
  setNit(sections: readonly Uint8Array[]): void;
}

/** A lane's kept output (the `carry` of its stop reply), good only in that lane. */
export interface LaneCarry {
  lane: number;
  carry: number;
  /** The channel that sent through it. */
  from: LaneChannel;
}

/** A kept output moved to another lane: its state as the old lane hands it over. */
export interface LaneMove {
  from: LaneChannel;
  handoff: Promise<OutputHandoff | undefined>;
}

const EMPTY: HistogramSnapshot = { buckets: [], counts: [], sum: 0, count: 0 };

export class LaneChannel implements ChannelHandle {
  readonly outputKey: string;
  private report: ChannelReport | undefined;
  private failure: string | undefined;
  private stopped = false;
  private finalRtp: RtpStreamState | undefined;
  /** The RTP stream as last reported before its lane was lost (moveTo continues it). */
  private lostRtp: RtpStreamState | undefined;
  private readonly taps = new Set<DatagramListener>();
  /** The channel whose output this one took over (a reload), for sharesOutputWith. */
  private readonly from: LaneChannel | undefined;
  readonly monitor: ChannelMonitorView;
  readonly programme: { setAlert(alert: ChannelAlert | null): void };
  /** What a rebuild in a new lane needs (moveTo): the alert, started, RTSP destinations. */
  private alert: ChannelAlert | null = null;
  private started = false;
  private readonly staggerIndex: number;
  private readonly destinations = new Map<string, DestinationSpec>();

  constructor(
    public config: ChannelConfig,
    readonly id: number,
    private link: LaneLink,
    o: {
      staggerIndex: number;
      rtp?: { ssrc: number; seq: number };
      carry?: LaneCarry;
      moved?: LaneMove;
      continueFrom?: OutputSi;
    },
  ) {
    this.staggerIndex = o.staggerIndex;
    this.outputKey = outputKey(config.output);
    this.from = o.carry?.from ?? o.moved?.from;
    // The kept output sends to the RTSP destinations of the channel it came from.
    for (const [k, d] of this.from?.destinations ?? []) this.destinations.set(k, d);
    this.monitor = {
      psiIntervals: () => this.report?.psi ?? { pat: EMPTY, pmt: EMPTY, sdt: EMPTY },
      siIntervals: () => this.report?.si ?? { nit: EMPTY, eit_pf: EMPTY, tdt: EMPTY, tot: EMPTY },
      pcrInterval: () => this.report?.pcr ?? EMPTY,
    };
    this.programme = {
      setAlert: (a) => {
        this.alert = a;
        this.link.alert(this.id, a);
      },
    };
    link.add(this, {
      staggerIndex: o.staggerIndex,
      rtp: o.rtp,
      carry: o.carry?.carry,
      handoff: o.moved?.handoff,
      continueFrom: o.continueFrom,
    });
    // A moved output's queue is new: the RTSP destinations go to it too.
    if (o.moved) for (const d of this.destinations.values()) this.addDestination(link, d);
  }

  private addDestination(link: LaneLink, d: DestinationSpec): void {
    void link.request({ t: 'dest-add', id: this.id, dest: d }).then((r) => {
      if (r.error !== undefined) this.destinations.delete(d.id);
    });
  }

  get lane(): number {
    return this.link.lane;
  }

  get sourceUpSinceMs(): number | undefined {
    return this.report?.sourceUpSinceMs;
  }

  start(): void {
    this.started = true;
    this.link.send({ t: 'start', id: this.id });
  }

  /**
   * Rebuilds the channel in `link` (its lane's thread was lost): the same config, continuing
   * its RTP stream (SSRC, sequence) from the last report, under the alert it was under, with
   * its taps and RTSP destinations. The output starts a new timeline there: one discontinuity,
   * where the thread's loss already made a gap.
   */
  moveTo(link: LaneLink): void {
    if (this.stopped) return;
    this.link = link;
    this.failure = undefined;
    const rtp = this.report?.rtp ?? this.lostRtp;
    this.report = undefined;
    link.add(this, {
      staggerIndex: this.staggerIndex,
      rtp: rtp && { ssrc: rtp.ssrc, seq: rtp.nextSeq },
    });
    if (this.alert) link.alert(this.id, this.alert);
    if (this.started) link.send({ t: 'start', id: this.id });
    if (this.taps.size > 0) link.send({ t: 'tap', id: this.id, on: true });
    for (const d of this.destinations.values()) this.addDestination(link, d);
  }

  async stop(opts: { keepOutput?: boolean } = {}): Promise<CarriedOutput | null> {
    this.stopped = true;
    this.taps.clear();
    const r = await this.link.request({
      t: 'stop',
      id: this.id,
      keepOutput: opts.keepOutput === true,
    });
    this.finalRtp = r.rtp;
    if (r.carry === undefined) return null;
    const carry: LaneCarry = { lane: this.link.lane, carry: r.carry, from: this };
    return carry;
  }

  /** The lane's report (protocol.ts report). */
  onReport(r: ChannelReport): void {
    if (!this.stopped) this.report = r;
  }

  /** The lane could not build the channel. */
  onFailed(message: string): void {
    this.failure = message;
  }

  /** The lane is gone (its thread failed). */
  onLaneLost(message: string): void {
    this.failure = message;
    this.lostRtp = this.report?.rtp ?? this.lostRtp;
    this.report = undefined;
  }

  status(): ChannelStatus {
    const st = this.report?.status;
    const c = this.config;
    // The report may predate a reload's identity change: the names are the config's.
    const names = { number: c.number, name: c.name, slug: c.slug };
    if (st && this.failure === undefined)
      return { ...st, ...names, ...(this.stopped ? { state: 'stopped' as const } : {}) };
    return {
      ...names,
      state: this.stopped ? 'stopped' : this.failure !== undefined ? 'down' : 'starting',
      sourceIndex: 0,
      source: c.sources[0]?.url ?? (c.sources[0]?.test !== undefined ? 'test' : ''),
      output: this.outputKey,
      bitrate: 0,
      restarts: 0,
      failovers: 0,
      ...(this.failure !== undefined ? { lastError: this.failure } : {}),
      datagramsSent: 0,
      datagramsDropped: 0,
      remux: {},
    };
  }

  sharesOutputWith(other: ChannelHandle): boolean {
    return other === this || this.from === other || (other as LaneChannel).from === this;
  }

  updateIdentity(next: ChannelConfig): Promise<void> {
    this.config = updatedConfig.identity(this.config, next);
    return this.link.update(this.id, 'identity', next);
  }

  updateMux(next: ChannelConfig): Promise<void> {
    this.config = updatedConfig.mux(this.config, next);
    return this.link.update(this.id, 'mux', next);
  }

  updateSchedule(next: ChannelConfig): Promise<void> {
    this.config = updatedConfig.schedule(this.config, next);
    return this.link.update(this.id, 'schedule', next);
  }

  setNit(sections: readonly Uint8Array[]): void {
    this.link.setNit(sections);
  }

  tap(listener: DatagramListener): () => void {
    if (this.taps.size === 0) this.link.send({ t: 'tap', id: this.id, on: true });
    this.taps.add(listener);
    return () => {
      if (!this.taps.delete(listener) || this.taps.size > 0 || this.stopped) return;
      this.link.send({ t: 'tap', id: this.id, on: false });
    };
  }

  /** Datagrams the lane forwarded while tapped. */
  onTapData(m: Extract<FromLane, { t: 'tap-data' }>): void {
    let off = 0;
    for (let i = 0; i < m.lens.length; i++) {
      const len = m.lens[i]!;
      const ts = m.bytes.subarray(off, off + len);
      off += len;
      for (const l of this.taps) l(ts, m.pcr27[i]!, m.dueNs[i]!);
    }
  }

  async addRtpDestination(d: DestinationSpec): Promise<void> {
    const r = await this.link.request({ t: 'dest-add', id: this.id, dest: d });
    if (r.error !== undefined) throw new Error(r.error);
    this.destinations.set(d.id, d);
    if (r.rtp && this.report) this.report = { ...this.report, rtp: r.rtp };
  }

  async removeRtpDestination(id: string): Promise<void> {
    this.destinations.delete(id);
    const r = await this.link.request({ t: 'dest-remove', id: this.id, destId: id });
    if (r.error !== undefined) throw new Error(r.error);
  }

  async psiState(): Promise<OutputSi | undefined> {
    if (this.stopped) return undefined;
    return (await this.link.request({ t: 'psi', id: this.id })).psi;
  }

  rtpState(): RtpStreamState | undefined {
    return this.stopped ? this.finalRtp : this.report?.rtp;
  }

  pacingLateness(): PacingLateness | undefined {
    return this.report?.lateness;
  }
}
