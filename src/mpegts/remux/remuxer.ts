// The packetizer at the heart of a channel: one program in, one single-program transport stream
// out (ISO/IEC 13818-1), with an output identity that never changes while the channel exists.
//
// How it works
// - Input bytes are staged by a Framer inside `mem`; the Demuxer gives each packet a role.
// - Packets of the selected program are copied (copyWithin, no allocation) into the open
//   *segment*: the run of input between two PCRs of the program's PCR PID (the anchors).
// - When the next anchor arrives, the segment's span [T0, T1) on the output clock is known and
//   one *walk* lays out its slots: content packets (PID/CC/PCR/PTS/DTS rewritten in place), PSI
//   repetitions (PAT, PMT, SDT every psiIntervalMs, §2.4.4 / EN 300 468), PCR-only packets so no
//   PCR gap exceeds pcrIntervalMs (§2.4.3.5, TR 101 290 2.3a), and in CBR mode null packets.
//   Each slot's PCR is the time of its byte position (VBR: linear over the segment's output
//   span, which vbr-smoothing.ts sizes to the input's mean rate, trailing the input by a
//   bounded lag; CBR: on the global constant-rate line), so PCR accuracy (TR 101 290 2.4) holds
//   by construction.
// - Output time = input time + offset, offset a multiple of 300 so PTS/DTS shift with PCR.
//   Input PCR wraps are unwrapped. A backwards PCR, a forward jump > MAX_PCR_STEP, an input
//   discontinuity_indicator, splice() or idle() start a new input timeline: the offset is chosen
//   so output time continues from where it stopped and no PTS goes back on any output PID; any
//   gap is filled with PSI/PCR (and nulls in CBR). The output timeline never breaks, so the
//   output carries no discontinuity_indicator, but for one case: an output taken up from
//   another process (continueFrom, a cluster takeover) flags its first PCR.

import { EIT_PID } from '../psi/eit.js';
import {
  TS_PACKET_SIZE,
  PCR_MODULUS,
  PTS_MODULUS,
  getPid,
  setPid,
  getCc,
  setCc,
  hasPayload,
  hasPcr,
  getPcr,
  setPcr,
  stripPcr,
  payloadUnitStart,
  discontinuityIndicator,
  setDiscontinuity,
  pcrDelta,
  ptsDelta,
  writePcrOnlyPacket,
  writeNullPacket,
  PCR_HZ,
  MAX_PCR_STEP,
} from '../packet.js';
import { Framer } from '../framer.js';
import type { PacketSink } from '../framer.js';
import { Demuxer, ROLE_PCR_ONLY } from '../demux.js';
import type { ProgramInfo, ServiceInfo } from '../demux.js';
import { addTimestampOffset, locatePesTimestamps, readTimestamp, TS_LO } from '../pes.js';
import { isPesKind } from '../stream-types.js';
import { assignOutputPids, PCR_ONLY_OFFSET } from './pid-map.js';
import { OutputPsi, outputSi, type OutputSi } from './output-psi.js';
import { StartGate } from './start-gate.js';
import { DecodeDelay } from './decode-delay.js';
import { codecFamily, isRandomAccess } from '../rap.js';
import { smoothedSpan } from './vbr-smoothing.js';
import type { OutputIdentity } from './output-psi.js';
import type {
  RemuxOptions,
  RemuxSink,
  RemuxStats,
  RemuxerInputState,
  RemuxerState,
} from './types.js';

const MS = PCR_HZ / 1000;
const MAX_ES = 64;
/** Packets a segment may hold before it is closed on an estimated time (sparse/absent PCR). */
const SEG_CAP = 16384;
const OUT_CAP = 448;
const STAGE_BYTES = 1316 * 64;
/** New content on a PID after a splice starts at least this much after its last PTS. */
const MIN_PTS_STEP = 40 * MS;
/** A PTS further than this from its segment's PCR belongs to no clock we know. */
const MAX_PTS_LEAD = 10_000 * MS;
/** Longest silence a splice may insert to keep PTS running forward. */
const MAX_SPLICE_GAP = 3_000 * MS;
/** Span of recent input over which the packet rate is averaged for estimated segment ends. */
const RATE_WINDOW = 2_000 * MS;
/** Least margin of aligned PCR placement: PCR every ≤ 25 ms, so a next segment of sparser slots
 * still finds a datagram head before the 35 ms interval (and well before 40 ms) runs out. */
const ALIGN_MARGIN = 10 * MS;
/** Slot length of VBR filler (no input): 8 packets per 35 ms, about 344 kbit/s of PSI/PCR/nulls. */
const IDLE_SLOT_TICKS = (35 * MS) / 8;

export class Remuxer implements PacketSink {
  readonly stats: RemuxStats = {
    packetsIn: 0,
    packetsOut: 0,
    packetsDropped: 0,
    nullPacketsOut: 0,
    psiPacketsOut: 0,
    pcrPacketsInserted: 0,
    splices: 0,
    bytesSkipped: 0,
    inputCcErrors: 0,
    rapStarts: 0,
    nonRapStarts: 0,
    contentPacketsIn: 0,
  };
  /** CBR segments that held more than the mux rate allows (output fell behind the input clock). */
  cbrOverflows = 0;
  /** Most the CBR output has run behind the input clock, in ms (0 when the rate always sufficed). */
  cbrMaxLagMs = 0;
  /** PES whose PTS was more than 10 s from its PCR (forwarded, ignored for splicing). */
  implausiblePts = 0;

  private readonly mem = new Uint8Array(STAGE_BYTES + (SEG_CAP + OUT_CAP + 1) * TS_PACKET_SIZE);
  private readonly segBase = STAGE_BYTES;
  private readonly outBase = STAGE_BYTES + SEG_CAP * TS_PACKET_SIZE;
  /** A ready null packet inside mem, copied into null slots with copyWithin. */
  private readonly nullAt = STAGE_BYTES + (SEG_CAP + OUT_CAP) * TS_PACKET_SIZE;
  private readonly framer: Framer;
  readonly demux: Demuxer;

  // Output identity: PIDs by kind (pid-map.ts), PSI/SI (output-psi.ts).
  private readonly basePid: number;
  private readonly psi: OutputPsi;

  // Per elementary stream of the current input program (index = Demuxer role).
  private readonly esOutPid = new Int16Array(MAX_ES).fill(-1);
  private readonly esIsPes = new Uint8Array(MAX_ES);
  /** Where each stream of a new input may start (video at an access point): start-gate.ts. */
  private readonly gate: StartGate;
  private readonly esInPid = new Int16Array(MAX_ES).fill(-1);
  private currentOutPids: number[] = [];
  private pcrInPid = -1;
  private readonly pcrOnlyOutPid: number;
  private outPcrPid: number;
  private pcrPidFixed = false;

  // Per PID.
  private readonly inLastCc = new Int8Array(8192).fill(-1);
  private readonly ccOut = new Uint8Array(8192).fill(15);
  private readonly lastPtsOut = new Float64Array(8192).fill(NaN);
  /** 1 until the PID's first PES on the current input timeline (its PTS must not go back). */
  private readonly firstPes = new Uint8Array(8192);
  /** 1 while the rest of a PES on this PID is being dropped (it would have presented too early). */
  private readonly dropPes = new Uint8Array(8192);
  /** Output PIDs that carry video: 1 + their codec family (rap.ts); 0 for other PIDs. */
  private readonly videoOut = new Uint8Array(8192);

  // Open segment.
  private readonly segFlags = new Uint8Array(SEG_CAP);
  private segOpen = false;
  private segCount = 0;
  private segHasAnchor = false;
  private segT0 = 0;
  private segAnchorIn = 0;
  /** segAnchorIn on the 33-bit 90 kHz clock. */
  private segAnchor90 = 0;

  // Timeline (27 MHz ticks, unwrapped doubles).
  private haveTimeline = false;
  private offset = 0;
  /** Decode delay added to PTS/DTS on top of the offset (decode-delay.ts). */
  private readonly delay: DecodeDelay;
  /** (offset + delay)/300 modulo 2^33 as hi·2^30 + lo, for allocation-free PTS/DTS rewriting. */
  private tsOffHi = 0;
  private tsOffLo = 0;
  /** Output time of the slot being filled with content (the PCR a decoder sees it arrive at). */
  private slotT = 0;
  /**
   * Output time the content packet in that slot would have at its input's own spacing (the
   * segment's span spread over its packets): slotT less this is the lag VBR smoothing or the
   * CBR line adds, which the decode delay's allowance covers.
   */
  private contentT = 0;
  /** The walked segment's input span per content packet (27 MHz). */
  private contentSpacing = 0;
  private offsetPending = false;
  private splicePending = false;
  /** The next PCR goes out with discontinuity_indicator set (continueFrom). */
  private pcrDiscontinuityNext = false;
  private lastAnchorRaw = 0;
  private lastAnchorIn = 0;
  private outEnd = 0;
  /**
   * Where the input laid out so far ends on the output clock; outEnd is later by the lag VBR
   * smoothing trails with (vbr-smoothing.ts), equal without it.
   */
  private inEnd = 0;
  private ticksPerPacket: number;
  private rateTicks = 0;
  private ratePackets = 0;
  private nextPsiDue = -Infinity;
  private readonly eitFlags = { pf: false, schedule: false };
  /** Input EIT packets go here (EIT passthrough); null: dropped like any other SI. */
  private eitTap: ((b: Uint8Array, o: number) => void) | null = null;
  /**
   * Spacing of PSI repetitions: each is scheduled from when the previous one actually left,
   * 10 % early, so that landing a few slots late (a block due just after a dense segment
   * ends up in sparser slots) still keeps every gap within psiIntervalMs.
   */
  private psiStep: number;
  private readonly pcrTicks: number;
  /** VBR smoothing: the most the output may trail the input (vbr-smoothing.ts); 0: off. */
  private readonly smoothTicks: number;

  // CBR line.
  private slotTicks: number;
  private cbrOrigin = 0;
  private cbrNext = 0;

  private outCount = 0;
  /** Output time of each packet in the output buffer (27 MHz, unwrapped): RemuxSink's times. */
  private readonly outTimes = new Float64Array(OUT_CAP);
  /** Packets per datagram that PCRs align to (RemuxOptions.pcrAlign). */
  private pcrAlign: number;
  /** Output packet index from which datagrams of pcrAlign packets are counted (setMux). */
  private alignAt = 0;
  /** Output time of the last PCR written, for aligned PCR placement. */
  private lastPcrOutT = -Infinity;
  /** cutAtNextAnchor: 0 not asked, 1 at the next anchor, 2 cut (input ignored since). */
  private cutStage = 0;
  private cutInput: RemuxerInputState | null = null;
  /** resume(): the input's program is the one the output carries on (no splice for it). */
  private resuming = false;
  /** setSpliceFill. */
  private spliceFill: (() => number) | null = null;

  constructor(
    opts: RemuxOptions,
    private sink: RemuxSink,
  ) {
    this.basePid = opts.basePid ?? 0x100;
    this.pcrOnlyOutPid = this.basePid + PCR_ONLY_OFFSET;
    this.outPcrPid = this.basePid;
    this.psiStep = 0.9 * (opts.psiIntervalMs ?? 100) * MS;
    this.pcrTicks = Math.min(opts.pcrIntervalMs ?? 35, 40) * MS;
    this.pcrAlign = Math.max(1, Math.min(7, Math.floor(opts.pcrAlign ?? 1)));
    this.slotTicks = opts.cbrBitrate ? (TS_PACKET_SIZE * 8 * PCR_HZ) / opts.cbrBitrate : 0;
    this.ticksPerPacket = this.slotTicks || (TS_PACKET_SIZE * 8 * PCR_HZ) / 4_000_000;
    this.smoothTicks = Math.max(0, Math.min(500, opts.vbrSmoothingMs ?? 100)) * MS;
    this.delay = new DecodeDelay(
      opts.minDecodeMarginMs ?? 100,
      this.slotTicks === 0 ? this.smoothTicks : 0,
    );
    this.gate = new StartGate(MAX_ES, Math.max(0, opts.rapWaitMs ?? 3000) * MS);
    this.framer = new Framer(this, STAGE_BYTES, { buf: this.mem, base: 0 });
    writeNullPacket(this.mem, this.nullAt);
    this.demux = new Demuxer(opts.program === undefined ? {} : { program: opts.program }, {
      onProgram: (p) => this.onProgram(p),
      onService: (s) => this.onService(s),
    });
    this.psi = new OutputPsi({
      transportStreamId: opts.transportStreamId ?? 1,
      programNumber: opts.programNumber ?? 1,
      pmtPid: opts.pmtPid ?? 0x1000,
      originalNetworkId: opts.originalNetworkId ?? 0xff01,
      sdt: opts.sdt !== false,
      serviceName: opts.serviceName,
      providerName: opts.providerName,
      serviceType: opts.serviceType,
      network: { psiIntervalMs: opts.psiIntervalMs, ...opts.network },
    });
  }

  /**
   * The NIT every output of the network carries (sections with their version, made for the
   * whole line-up), or null for none. Goes out with the next PSI block, then every
   * network.nitIntervalMs.
   */
  setNit(sections: readonly Uint8Array[] | null): void {
    this.psi.network.setNit(sections);
  }

  /**
   * The service's EIT present/following (table 0x4E, service_id = the output's program_number):
   * a builder of its sections for a version number, or null for none. The SDT's
   * EIT_present_following_flag follows.
   */
  setEitPf(build: ((version: number) => Uint8Array[]) | null): void {
    this.psi.network.setEitPf(build);
    this.eitFlags.pf = build !== null;
    if (this.psi.setEitFlags(this.eitFlags.pf, this.eitFlags.schedule)) this.nextPsiDue = -Infinity;
  }

  /**
   * The service's EIT schedule (tables 0x50…, sections with their version; [] for none), sent
   * as a carousel; the SDT's EIT_schedule_flag follows.
   */
  /**
   * Receives every input packet of PID 0x0012 (the input's EIT), read during the call only;
   * null: none (the default). For EIT passthrough (eit-passthrough.ts).
   */
  setEitTap(tap: ((b: Uint8Array, o: number) => void) | null): void {
    this.eitTap = tap;
  }

  /**
   * How much PSI/PCR (and nulls in CBR) to put before a new input timeline's first packet, in
   * ms, asked as its offset is decided (null: none, the default): the owner's queue, drained
   * while the input was awaited, is deepened again before the input goes on (ChannelOutput).
   */
  setSpliceFill(fill: (() => number) | null): void {
    this.spliceFill = fill;
  }

  /**
   * SDT passthrough: the output SDT's service entry carries the input entry's descriptors
   * other than the service_descriptor (whose name, provider and type stay the output's).
   */
  setSdtPassthrough(on: boolean): void {
    if (this.psi.setSdtPassthrough(on)) this.nextPsiDue = -Infinity;
  }

  setEitSchedule(sections: readonly Uint8Array[]): void {
    this.psi.network.setEitSchedule(sections);
    this.eitFlags.schedule = sections.length > 0;
    if (this.psi.setEitFlags(this.eitFlags.pf, this.eitFlags.schedule)) this.nextPsiDue = -Infinity;
  }

  /**
   * Sends the output to `sink` from now on: a rebuilt channel taking this output over, with its
   * continuity counters, versions and timeline (then splice() to its source).
   */
  setSink(sink: RemuxSink): void {
    this.sink = sink;
  }

  /**
   * Output time `t27` (27 MHz, as in the output's PCRs) leaves at UTC `utcMs`: the TDT/TOT are
   * stamped through it. Keep it current (the caller's clock mapping may be re-anchored).
   */
  setUtcReference(t27: number, utcMs: number): void {
    this.psi.network.setUtcReference(t27, utcMs);
  }

  /** Feeds input bytes (any alignment, garbage tolerated). */
  push(chunk: Uint8Array): void {
    this.framer.push(chunk);
    this.stats.bytesSkipped = this.framer.bytesSkipped;
    this.stats.rapStarts = this.gate.rapStarts;
    this.stats.nonRapStarts = this.gate.nonRapStarts;
    this.flushOut();
  }

  /** True while a stream of the input in use waits for its start (video: an access point). */
  get starting(): boolean {
    return this.gate.waiting;
  }

  /** End of input: closes the open segment on an estimated time and flushes everything. */
  end(): void {
    this.framer.end();
    this.stats.bytesSkipped = this.framer.bytesSkipped;
    this.closeSegmentEstimated();
    this.flushOut();
  }

  /**
   * The next bytes come from another source (failover, restart): forget the input's PSI and
   * continuity state and join its timeline to the output's without a break. `program` selects
   * the input program_number of the new source (null: its first program; omitted: unchanged).
   */
  splice(program?: number | null): void {
    this.clearCut();
    this.closeSegmentEstimated();
    this.splicePending = true;
    this.framer.reset(); // a partial packet of the old source must not join the new one's bytes
    this.demux.reset(program);
    this.inLastCc.fill(-1);
    this.gate.armAll();
    this.flushOut();
  }

  /**
   * Keeps the output alive with no input: closes what is open, then emits `ms` of PSI and PCR
   * (null-padded in CBR) on the running timeline. The next input anchor starts a new input
   * timeline, joined to the output's where this left it.
   */
  idle(ms: number): void {
    this.clearCut();
    this.closeSegmentEstimated();
    if (!this.haveTimeline) this.startTimeline(0);
    this.fillTo(this.outEnd + ms * MS);
    this.splicePending = true;
    // What comes after a pause continues without the pictures it refers to: start it afresh.
    this.gate.armAll();
    this.flushOut();
  }

  /**
   * Changes the output's service name, provider, program_number or transport_stream_id while
   * running: PAT/PMT/SDT are rewritten with their version_number bumped (ISO/IEC 13818-1
   * §2.4.4.5, EN 300 468 §5.2.3) and sent at the next slot; PIDs, continuity counters and the
   * timeline are untouched. Returns true when any table changed.
   */
  setIdentity(id: OutputIdentity): boolean {
    const changed = this.psi.setIdentity(id);
    if (changed) this.nextPsiDue = -Infinity;
    return changed;
  }

  /**
   * Changes the mux while running (hot reload): the CBR rate (null or 0: VBR), the PSI
   * repetition interval, the PCR alignment. What was sent stands; PIDs, continuity counters and
   * the timeline carry on, and the next slots follow the new settings:
   * - a new rate re-anchors the constant-rate line where the output stands (outEnd), so slots go
   *   on without gap or overlap (CBR↔VBR alike); from CBR to VBR, an open segment that the line
   *   left behind (a CBR line running late) moves forward to outEnd, its PTS with it;
   * - the next PSI block is due the new interval (less 10 %) after the last one started;
   * - a new pcrAlign counts datagrams from the old one's next head (the first output packet
   *   index ≥ packets out on its grid), which is where DatagramCutter.setPacketsPerDatagram
   *   switches too. Returns true when anything changed.
   */
  setMux(opts: { cbrBitrate?: number | null; psiIntervalMs?: number; pcrAlign?: number }): boolean {
    let changed = false;
    if (opts.cbrBitrate !== undefined) {
      const slot = opts.cbrBitrate ? (TS_PACKET_SIZE * 8 * PCR_HZ) / opts.cbrBitrate : 0;
      if (slot !== this.slotTicks) {
        changed = true;
        const lag = Math.ceil((this.outEnd - this.segT0) / 300) * 300;
        if (slot === 0 && this.segOpen && !this.offsetPending && lag > 0) {
          this.setOffset(this.offset + lag);
          this.segT0 += lag;
        }
        this.slotTicks = slot;
        this.delay.allowance = slot === 0 ? this.smoothTicks : 0;
        this.cbrOrigin = this.outEnd;
        this.cbrNext = 0;
      }
    }
    if (opts.psiIntervalMs !== undefined) {
      const step = 0.9 * opts.psiIntervalMs * MS;
      if (step !== this.psiStep) {
        changed = true;
        this.nextPsiDue += step - this.psiStep;
        this.psiStep = step;
      }
    }
    if (opts.pcrAlign !== undefined) {
      const align = Math.max(1, Math.min(7, Math.floor(opts.pcrAlign)));
      if (align !== this.pcrAlign) {
        changed = true;
        const old = this.pcrAlign;
        const from = this.stats.packetsOut - this.alignAt;
        this.alignAt += Math.max(0, Math.ceil(from / old)) * old;
        this.pcrAlign = align;
      }
    }
    return changed;
  }

  /**
   * The output as it stands, to go on in another Remuxer (a channel moved to another thread):
   * its identity (PIDs, continuity counters, PSI/SI versions), its timeline and its mux state.
   * Taken after splice(), which sent what the input had given; nothing of the input is in it.
   */
  state(): RemuxerState {
    return {
      ccOut: this.ccOut.slice(),
      lastPtsOut: this.lastPtsOut.slice(),
      videoOut: this.videoOut.slice(),
      outPcrPid: this.outPcrPid,
      pcrPidFixed: this.pcrPidFixed,
      currentOutPids: [...this.currentOutPids],
      haveTimeline: this.haveTimeline,
      offset: this.offset,
      outEnd: this.outEnd,
      inEnd: this.inEnd,
      slotT: this.slotT,
      lastPcrOutT: this.lastPcrOutT,
      nextPsiDue: this.nextPsiDue,
      psiStep: this.psiStep,
      slotTicks: this.slotTicks,
      cbrOrigin: this.cbrOrigin,
      cbrNext: this.cbrNext,
      pcrAlign: this.pcrAlign,
      alignAt: this.alignAt,
      rate: {
        ticksPerPacket: this.ticksPerPacket,
        ticks: this.rateTicks,
        packets: this.ratePackets,
      },
      delay: {
        value: this.delay.value,
        raises: this.delay.raises,
        min: this.delay.min,
        max: this.delay.max,
      },
      stats: { ...this.stats },
      cbr: { overflows: this.cbrOverflows, maxLagMs: this.cbrMaxLagMs },
      implausiblePts: this.implausiblePts,
      psi: this.psi.state(),
    };
  }

  /**
   * Goes on from another Remuxer's state() (made with the same basePid, PMT PID and network
   * options): the next packets carry on its continuity counters, versions and timeline, and
   * the next input is spliced on as splice() would (its PTS after the last sent on each PID).
   * Then setIdentity/setMux apply a new config's settings as in place.
   */
  restore(s: RemuxerState): void {
    this.ccOut.set(s.ccOut);
    this.lastPtsOut.set(s.lastPtsOut);
    this.videoOut.set(s.videoOut);
    this.outPcrPid = s.outPcrPid;
    this.pcrPidFixed = s.pcrPidFixed;
    this.currentOutPids = [...s.currentOutPids];
    this.haveTimeline = s.haveTimeline;
    this.outEnd = s.outEnd;
    this.inEnd = s.inEnd;
    this.slotT = s.slotT;
    this.lastPcrOutT = s.lastPcrOutT;
    this.nextPsiDue = s.nextPsiDue;
    this.psiStep = s.psiStep;
    this.slotTicks = s.slotTicks;
    this.cbrOrigin = s.cbrOrigin;
    this.cbrNext = s.cbrNext;
    this.pcrAlign = s.pcrAlign;
    this.alignAt = s.alignAt;
    this.ticksPerPacket = s.rate.ticksPerPacket;
    this.rateTicks = s.rate.ticks;
    this.ratePackets = s.rate.packets;
    Object.assign(this.delay, s.delay);
    this.delay.allowance = this.slotTicks === 0 ? this.smoothTicks : 0;
    Object.assign(this.stats, s.stats);
    // Counted on by the framer and the gate (push() copies theirs into stats): a moved channel's
    // counters go on instead of starting again (a Prometheus counter must not go back).
    this.framer.bytesSkipped = s.stats.bytesSkipped;
    this.gate.rapStarts = s.stats.rapStarts;
    this.gate.nonRapStarts = s.stats.nonRapStarts;
    this.cbrOverflows = s.cbr.overflows;
    this.cbrMaxLagMs = s.cbr.maxLagMs;
    this.implausiblePts = s.implausiblePts;
    this.psi.restore(s.psi);
    // The SDT's EIT flags as carried: the same EIT set again (the moved channel's) keeps the SDT.
    this.eitFlags.pf = s.psi.flags.eitPf;
    this.eitFlags.schedule = s.psi.flags.eitSchedule;
    this.setOffset(s.offset);
    this.splicePending = this.haveTimeline;
    this.gate.armAll();
  }

  /**
   * Stops reading the input just before its next PCR on the PCR PID that goes on with the
   * timeline, everything before that packet sent (the segment it closes timed by that PCR, as
   * without the cut); input after it is ignored. inputState() then holds what another Remuxer
   * needs to read on from that very packet (resume), a stream's wait to start included. While
   * a splice is pending or no segment is open, the cut waits for the next anchor.
   */
  cutAtNextAnchor(): void {
    if (this.cutStage === 0) this.cutStage = 1;
  }

  /** After the cut: the input side, for resume() with state(); null before it. */
  inputState(): RemuxerInputState | null {
    return this.cutInput;
  }

  /**
   * Goes on from a Remuxer cut by cutAtNextAnchor (its state() and inputState(), made with the
   * same options): fed the input from `input.cutPacket` on, it sends what the other would have
   * sent had it read on — the same packets with the same counters at the same output times. The
   * input's PSI comes with the state, so nothing waits for the input to repeat it.
   */
  resume(s: RemuxerState, input: RemuxerInputState): void {
    this.restore(s);
    this.resuming = true;
    this.demux.prime(input.psi);
    this.resuming = false;
    this.gate.setWaits(input.gate);
    this.splicePending = false;
    this.lastAnchorRaw = input.lastAnchorRaw;
    this.lastAnchorIn = input.lastAnchorIn;
    this.inLastCc.set(input.inLastCc);
    this.firstPes.set(input.firstPes);
    this.dropPes.set(input.dropPes);
    this.delay.resumeInput(input.delay);
    this.pcrDiscontinuityNext = input.pcrDiscontinuityNext;
  }

  /**
   * This remuxer, cut, reads on from its own cut packet (a channel rebuilt in place takes the
   * output over): feed it the input from `inputState().cutPacket` on, as if never cut.
   */
  readOn(): void {
    this.clearCut();
    // The framer holds the start of the packet after the cut, which comes again whole.
    this.framer.reset();
  }

  /** Forgets a cut (asked or done): the input is read again. */
  private clearCut(): void {
    this.cutStage = 0;
    this.cutInput = null;
  }

  /** cutAtNextAnchor: cuts before packet b[o] when it is the anchor to cut at. */
  private tryCut(b: Uint8Array, o: number): boolean {
    if (getPid(b, o) !== this.pcrInPid || !hasPcr(b, o)) return false;
    if (!this.haveTimeline || this.splicePending || !this.segOpen) return false;
    const d = pcrDelta(getPcr(b, o), this.lastAnchorRaw);
    if (discontinuityIndicator(b, o) || d <= 0 || d > MAX_PCR_STEP) return false;
    // What onAnchor does with the segment this PCR closes; the packet is the next remuxer's.
    if (this.offsetPending) this.decideOffset();
    this.finalize(this.segT0 + (this.lastAnchorIn + d - this.segAnchorIn));
    this.segOpen = false;
    this.cutStage = 2;
    this.cutInput = {
      cutPacket: b.slice(o, o + TS_PACKET_SIZE),
      lastAnchorRaw: this.lastAnchorRaw,
      lastAnchorIn: this.lastAnchorIn,
      inLastCc: this.inLastCc.slice(),
      firstPes: this.firstPes.slice(),
      dropPes: this.dropPes.slice(),
      delay: this.delay.inputState(),
      pcrDiscontinuityNext: this.pcrDiscontinuityNext,
      gate: this.gate.waits(),
      psi: this.demux.psi(),
    };
    return true;
  }

  /** The output's PSI/SI as it stands (cluster/identity.ts keeps it for another node). */
  psiState(): OutputSi {
    return outputSi(this.psi.state());
  }

  /**
   * Starts as the continuation of an output another process sent (a cluster takeover): its
   * PSI/SI with the versions receivers hold (OutputPsi.continueFrom), and the first PCR with
   * discontinuity_indicator set (ISO/IEC 13818-1 §2.4.3.5): this output's timeline is new,
   * and the flag tells receivers the jump is meant. Call before the first packet.
   */
  continueFrom(psi: OutputSi): void {
    this.psi.continueFrom(psi);
    this.eitFlags.pf = psi.flags.eitPf;
    this.eitFlags.schedule = psi.flags.eitSchedule;
    // Its PCR PID and stream PIDs too: sent before the input's program is known (idle, CBR
    // fill), the PMT must stay the one receivers hold.
    if (psi.program) {
      this.outPcrPid = psi.pcrPid;
      this.pcrPidFixed = true;
      this.currentOutPids = [...psi.pids];
    }
    this.pcrDiscontinuityNext = true;
  }

  private flagPcrDiscontinuity(at: number): void {
    setDiscontinuity(this.mem, at, true);
    this.pcrDiscontinuityNext = false;
  }

  /** Output time reached so far (27 MHz, unwrapped). */
  get outputTime(): number {
    return this.outEnd;
  }

  // ---------------------------------------------------------------- per input packet

  packet(b: Uint8Array, o: number): void {
    if (this.cutStage !== 0 && (this.cutStage === 2 || this.tryCut(b, o))) return;
    this.stats.packetsIn++;
    const r = this.demux.process(b, o);
    let outPid: number;
    let pes = 0;
    if (r >= 0) {
      outPid = this.esOutPid[r];
      pes = this.esIsPes[r];
    } else if (r === ROLE_PCR_ONLY) {
      // A PCR PID carrying no stream: its PCRs time the segments; the packets stay behind
      // (the output carries PCR on its own PCR PID).
      if (getPid(b, o) === this.pcrInPid && hasPcr(b, o)) this.onAnchor(b, o);
      this.stats.packetsDropped++;
      return;
    } else {
      // The input's EIT, for a channel that passes it through (setEitTap).
      if (this.eitTap !== null && getPid(b, o) === EIT_PID) this.eitTap(b, o);
      if (r !== -2) this.stats.packetsDropped++;
      return;
    }
    const pid = getPid(b, o);
    if (hasPayload(b, o)) {
      this.stats.contentPacketsIn++;
      const cc = getCc(b, o);
      const last = this.inLastCc[pid];
      if (last >= 0 && !discontinuityIndicator(b, o)) {
        if (cc === last) {
          this.stats.packetsDropped++; // duplicate (§2.4.3.3): never forward it
          return;
        }
        if (cc !== ((last + 1) & 0x0f)) this.stats.inputCcErrors++;
      }
      this.inLastCc[pid] = cc;
    }
    if (pid === this.pcrInPid && hasPcr(b, o)) this.onAnchor(b, o);
    if (!this.segOpen || outPid < 0) {
      this.stats.packetsDropped++;
      return;
    }
    if (r >= 0 && this.gate.wait[r] !== 0 && !this.gate.admit(r, b, o)) {
      this.stats.packetsDropped++;
      return;
    }
    if (this.segCount === SEG_CAP) {
      this.closeSegmentEstimated();
      this.openSegment(this.outEnd - this.offset, false);
      this.segT0 = this.outEnd;
    }
    const at = this.segBase + this.segCount * TS_PACKET_SIZE;
    this.mem.copyWithin(at, o, o + TS_PACKET_SIZE);
    setPid(this.mem, at, outPid);
    if (this.segCount === 0 && pid === this.pcrInPid && outPid === this.outPcrPid && hasPcr(b, o)) {
      this.segHasAnchor = true;
    }
    this.segFlags[this.segCount] = pes;
    this.segCount++;
  }

  private onAnchor(b: Uint8Array, o: number): void {
    const raw = getPcr(b, o);
    if (!this.haveTimeline) {
      this.startTimeline(raw);
      this.lastAnchorRaw = raw;
      this.lastAnchorIn = raw;
      this.openSegment(raw, true); // the offset is 0; decideOffset picks the decode delay
      return;
    }
    const d = pcrDelta(raw, this.lastAnchorRaw);
    const jump = this.splicePending || discontinuityIndicator(b, o) || d < 0 || d > MAX_PCR_STEP;
    if (!jump) {
      if (d === 0) return; // a repeated PCR value adds no time: treat as content
      const inNow = this.lastAnchorIn + d;
      this.gate.anchor(inNow);
      if (this.segOpen) {
        if (this.offsetPending) this.decideOffset();
        this.finalize(this.segT0 + (inNow - this.segAnchorIn));
      }
      this.lastAnchorRaw = raw;
      this.lastAnchorIn = inNow;
      this.openSegment(inNow, false);
      return;
    }
    this.stats.splices++;
    this.splicePending = false;
    this.gate.restartClock();
    this.closeSegmentEstimated();
    this.lastAnchorRaw = raw;
    this.lastAnchorIn = raw;
    this.openSegment(raw, true);
  }

  private setOffset(offset: number): void {
    this.offset = offset;
    this.updateTsOffset();
  }

  /** The PTS/DTS offset: the timeline offset plus the decode delay. */
  private updateTsOffset(): void {
    let o90 = ((this.offset + this.delay.value) / 300) % PTS_MODULUS;
    if (o90 < 0) o90 += PTS_MODULUS;
    this.tsOffHi = Math.floor(o90 / TS_LO);
    this.tsOffLo = o90 - this.tsOffHi * TS_LO;
  }

  private startTimeline(raw: number): void {
    this.haveTimeline = true;
    this.setOffset(0);
    this.outEnd = raw;
    this.inEnd = raw;
    this.cbrOrigin = raw;
    this.cbrNext = 0;
  }

  private openSegment(anchorIn: number, pendingOffset: boolean): void {
    this.segOpen = true;
    this.segCount = 0;
    this.segHasAnchor = false;
    this.segAnchorIn = anchorIn;
    this.segAnchor90 = Math.floor((anchorIn % PCR_MODULUS) / 300);
    this.offsetPending = pendingOffset;
    this.segT0 = anchorIn + this.offset;
  }

  /**
   * After a new input timeline begins, picks the offset: the new input goes on where the old
   * one ended (inEnd), and every PES in the first segment presents after the last PTS sent on
   * its output PID. The lag VBR smoothing trailed the old input with carries into the new
   * one's first segments, where it is pulled back as ever: taken into the offset, it would
   * shift every later timestamp, and each splice (a failover, an alert and its end) would
   * leave the queue deeper by up to the smoothing bound for good.
   */
  private decideOffset(): void {
    const lag = this.smoothing()
      ? Math.min(this.smoothTicks, Math.max(0, this.outEnd - this.inEnd))
      : 0;
    // Filler asked for before the new input (setSpliceFill) replaces the smoothing's pull-back.
    const fill = Math.min(MAX_SPLICE_GAP, Math.max(0, (this.spliceFill?.() ?? 0) * MS));
    let a = fill > 0 ? this.outEnd + fill : this.outEnd - lag;
    const anchor90 = this.segAnchor90;
    this.firstPes.fill(1);
    this.delay.pending = true;
    for (let i = 0; i < this.segCount; i++) {
      if (this.segFlags[i] === 0) continue;
      const at = this.segBase + i * TS_PACKET_SIZE;
      const loc = locatePesTimestamps(this.mem, at);
      if (loc === 0) continue;
      const last = this.lastPtsOut[getPid(this.mem, at)];
      if (Number.isNaN(last)) continue;
      const lead = ptsDelta(readTimestamp(this.mem, at + (loc & 0xff)), anchor90) * 300;
      if (lead <= -MAX_PTS_LEAD || lead >= MAX_PTS_LEAD) continue;
      a = Math.max(a, last + MIN_PTS_STEP - lead - this.delay.value);
    }
    a = Math.min(a, this.outEnd + MAX_SPLICE_GAP);
    this.setOffset(Math.ceil((a - this.segAnchorIn) / 300) * 300);
    this.segT0 = this.segAnchorIn + this.offset;
    this.offsetPending = false;
    if (this.segT0 > this.outEnd) this.fillTo(this.segT0);
  }

  /** VBR smoothing is on: the output may trail its input (vbr-smoothing.ts). */
  private smoothing(): boolean {
    return this.slotTicks === 0 && this.smoothTicks > 0;
  }

  /**
   * The decode delay of a new input, at its first segment with PES in it (decode-delay.ts);
   * `spacing`: the segment's own time per packet, so that packet i is taken to arrive i ×
   * spacing after the anchor, as on the input (the lag VBR smoothing adds is the delay's
   * allowance). The remuxer's mean rate would not do: it is mostly the old input's, and a
   * sparse one (an alert card's still picture) took a dense successor's packets to leave
   * seconds late, raising the delay of every later timestamp by up to 450 ms at a time.
   * Returns false when the segment holds no PES yet.
   */
  private decideDelay(spacing: number): boolean {
    const anchor90 = this.segAnchor90;
    let minRaw = Infinity;
    let maxRaw = -Infinity;
    let floor = -Infinity;
    let seen = 0;
    for (let i = 0; i < this.segCount; i++) {
      if (this.segFlags[i] === 0) continue;
      const at = this.segBase + i * TS_PACKET_SIZE;
      const loc = locatePesTimestamps(this.mem, at);
      if (loc === 0) continue;
      const tsAt = at + (loc >> 8 || loc & 0xff);
      const dLead = ptsDelta(readTimestamp(this.mem, tsAt), anchor90) * 300;
      if (dLead <= -MAX_PTS_LEAD || dLead >= MAX_PTS_LEAD) continue;
      const raw = dLead - i * spacing;
      minRaw = Math.min(minRaw, raw);
      maxRaw = Math.max(maxRaw, raw);
      const pid = getPid(this.mem, at);
      // Its PTS (not DTS) after the PID's last PTS sent, as decideOffset placed it.
      const last = this.lastPtsOut[pid];
      if (last === last) {
        const lead = ptsDelta(readTimestamp(this.mem, at + (loc & 0xff)), anchor90) * 300;
        floor = Math.max(floor, last + MIN_PTS_STEP - (this.segT0 + lead));
      }
      for (let e = 0; e < 31 && this.esOutPid[e] >= 0; e++)
        if (this.esOutPid[e] === pid) seen |= 1 << e;
    }
    if (minRaw === Infinity) return false;
    let unseen = false;
    for (let e = 0; e < 31 && this.esOutPid[e] >= 0; e++)
      if (this.esIsPes[e] === 1 && (seen & (1 << e)) === 0) unseen = true;
    this.delay.decide(minRaw, maxRaw, unseen, floor);
    this.updateTsOffset();
    return true;
  }

  /** Closes the open segment with an end time estimated from the recent packet rate. */
  private closeSegmentEstimated(): void {
    if (!this.segOpen) return;
    if (this.offsetPending) this.decideOffset();
    const t1 = this.segT0 + Math.max(1, this.segCount) * this.ticksPerPacket;
    this.finalize(t1, false);
    this.segOpen = false;
  }

  // ---------------------------------------------------------------- program and SI

  private onProgram(p: ProgramInfo): void {
    let moved = this.pcrInPid !== p.pcrPid;
    for (let i = 0; i < p.streams.length && i < MAX_ES; i++)
      if (this.esInPid[i] !== p.streams[i].pid) moved = true;
    if (this.haveTimeline && moved && !this.resuming) {
      // Another source's packets (possibly another clock) must not join the open segment.
      this.closeSegmentEstimated();
      this.splicePending = true;
    }
    const kinds = p.streams.map((s) => s.kind);
    const pids = assignOutputPids(kinds, this.basePid);
    const changed = (i: number): boolean =>
      this.esInPid[i] !== p.streams[i].pid || this.esOutPid[i] !== pids[i];
    this.gate.setStreams(p.streams, this.haveTimeline && moved ? () => true : changed);
    for (let i = 0; i < MAX_ES; i++) {
      const inPid = i < p.streams.length ? p.streams[i].pid : -1;
      const outPid = i < p.streams.length ? pids[i] : -1;
      this.esInPid[i] = inPid;
      this.esOutPid[i] = outPid;
      this.esIsPes[i] = i < p.streams.length && isPesKind(p.streams[i].kind) ? 1 : 0;
      if (outPid >= 0) {
        const s = p.streams[i];
        this.videoOut[outPid] = s.kind === 'video' ? 1 + codecFamily(s.streamType, s.codec) : 0;
      }
    }
    this.pcrInPid = p.pcrPid;
    // The output PCR PID is part of the identity: the first video, else audio, else other
    // stream's output PID of the first program seen, whatever PID the input carries its PCR
    // on; fixed from the first packet out (PCR-only packets keep it if its stream goes away).
    const kindOrder = ['video', 'audio'];
    let best = -1;
    for (let i = 0; i < p.streams.length; i++) {
      if (pids[i] < 0) continue;
      const rank = kindOrder.indexOf(p.streams[i].kind);
      const bestRank = best < 0 ? 99 : kindOrder.indexOf(p.streams[best].kind);
      if (best < 0 || (rank >= 0 && (bestRank < 0 || rank < bestRank))) best = i;
    }
    if (!this.pcrPidFixed) this.outPcrPid = best >= 0 ? pids[best] : this.pcrOnlyOutPid;
    this.currentOutPids = pids;
    if (this.psi.setProgram(p, pids, this.outPcrPid)) this.nextPsiDue = -Infinity;
  }

  private onService(s: ServiceInfo): void {
    if (this.psi.setInputService(s)) this.nextPsiDue = -Infinity;
  }

  // ---------------------------------------------------------------- the walk

  /** Emits output from outEnd up to t with no content (PSI, PCR, nulls). */
  private fillTo(t: number): void {
    while (t - this.outEnd > 1) {
      const t0 = this.outEnd;
      const t1 = Math.min(t, t0 + this.pcrTicks);
      this.walk(t0, t1, 0, false);
    }
    this.inEnd = this.outEnd; // filler trails no input
  }

  private finalize(t1: number, measured = true): void {
    const n = this.segCount;
    const t0 = this.segT0;
    if (measured && n > 0 && t1 > t0) {
      this.rateTicks += t1 - t0;
      this.ratePackets += n;
      if (this.rateTicks > RATE_WINDOW) {
        this.rateTicks /= 2;
        this.ratePackets /= 2;
      }
      this.ticksPerPacket = this.rateTicks / this.ratePackets;
    }
    if (t1 <= t0) t1 = t0 + Math.max(1, n) * this.ticksPerPacket;
    if (this.delay.pending && n > 0) this.decideDelay((t1 - t0) / n);
    this.contentSpacing = n > 0 ? (t1 - t0) / n : 0;
    const lag = this.outEnd - t0;
    if (this.smoothing() && lag >= 0 && this.stats.packetsOut > 0) {
      // VBR: the output follows the input's mean rate, trailing it by a bounded lag.
      const span = smoothedSpan(t1 - t0, n, lag, this.ticksPerPacket, this.smoothTicks);
      this.walk(this.outEnd, this.outEnd + span, n, this.segHasAnchor);
    } else {
      this.walk(t0, t1, n, this.segHasAnchor);
    }
    this.inEnd = t1;
    this.segCount = 0;
  }

  /**
   * Lays out the slots of [t0, t1): n content packets from the segment, PSI blocks, PCR-only
   * packets, and nulls where the rate asks for them (CBR line, or the VBR floor density).
   *
   * Slot j leaves at t_j: VBR t0 + j·(t1−t0)/m (one constant rate per segment), CBR the global
   * line. Placement rules, which bound every gap by construction:
   * - With an anchor (input PCR packet) it takes slot 0; without, slot 0 is a PCR-only packet.
   * - k more PCR-only packets go to slots ⌊i·m/(k+1)⌋, k the least with span/(k+1) + slot ≤
   *   pcrTicks, so consecutive PCRs (this segment's and the next one's slot 0) are ≤ pcrTicks apart.
   * - A PSI block starts at the last slot from which it (plus one PCR that may cut in) ends by
   *   its due time; the next one is due psiStep after this one started.
   */
  private walk(t0: number, t1: number, n: number, hasAnchor: boolean): void {
    const d = t1 - t0;
    const cbr = this.slotTicks > 0;
    const bp = this.psi.beginWalk(t0);
    if (!this.pcrPidFixed) {
      this.pcrPidFixed = true;
      if (this.psi.setProgram(this.demux.program, this.currentOutPids, this.outPcrPid)) {
        this.nextPsiDue = -Infinity;
      }
    }
    if (this.nextPsiDue < t0) this.nextPsiDue = t0;
    const lineSlots = cbr ? Math.round((t1 - this.cbrOrigin) / this.slotTicks) - this.cbrNext : 0;
    const g0 = this.cbrNext;
    const base = this.stats.packetsOut;
    const align = this.pcrAlign;
    // Slot count m, PCR inserts and PSI blocks depend on one another; the counts only grow, so
    // this settles in a few rounds. Aligned mode (PCR only at datagram heads) is used when
    // heads come often enough; otherwise PCR slots are placed freely (below).
    let aligned = align > 1;
    let k = 0;
    let blocks = 0;
    let m = 0;
    let mandatory = 0;
    let slot = 0;
    let lead0 = 0;
    for (let round = 0; ; round++) {
      lead0 = aligned ? 0 : hasAnchor ? 0 : 1;
      mandatory = n + blocks * bp + k + lead0;
      // At least one slot, so a walk always moves output time forward (fillTo relies on it).
      if (cbr) m = Math.max(1, mandatory, lineSlots);
      // VBR: at least the filler's density (8 packets per 35 ms), padded with nulls where the
      // content is sparser (idle, a new input's video waiting for its keyframe, a still
      // picture's P-frames): 7-packet datagrams, PCR at their heads, must still leave every
      // ~30 ms, or the PCRs of one datagram arrive together 100 ms and more after the last
      // (TR 101 290 2.3a on the wire).
      else m = Math.max(1, mandatory, Math.ceil(d / IDLE_SLOT_TICKS));
      slot = cbr ? this.slotTicks : d / m;
      // Heads come every align slots. A VBR slot is at most IDLE_SLOT_TICKS (the floor above),
      // so heads of 7 are ≤ 30.6 ms apart, within the 35 ms PCR interval: PCR at every head.
      // (A limit of 3 heads per PCR interval left every VBR output under ~900 kbit/s with
      // PCRs anywhere in a datagram: the example's Test Card, 400 kbit/s, had two PCRs in a
      // datagram now and then, one of them sent 25 ms early.)
      if (aligned && align * slot > this.pcrTicks) {
        aligned = false; // datagrams too sparse here to carry every PCR at a head
        k = 0;
        continue;
      }
      const span = m * slot;
      let kk = 0;
      if (aligned) {
        kk = this.alignedPcrCount(base, m, t0, g0, slot, cbr);
      } else {
        while (span / (kk + 1) + slot > this.pcrTicks && kk < m) kk++;
      }
      const bb = this.psiBlockCount(cbr ? this.cbrOrigin + g0 * slot : t0, m, slot, bp);
      if ((kk <= k && bb <= blocks) || round > 16) break;
      k = Math.max(k, kk);
      blocks = Math.max(blocks, bb);
    }
    const anchorAt0 = !aligned && hasAnchor && this.stats.packetsOut > 0;
    if (cbr && lineSlots < m) {
      // More to send than the mux rate allows here: the line runs late and catches up later.
      const lagMs = ((m - lineSlots) * this.slotTicks + (this.outEnd - t0)) / MS;
      if (lagMs > this.cbrMaxLagMs) this.cbrMaxLagMs = lagMs;
      if (n > 0) this.cbrOverflows++;
    }
    // Unaligned: PCR-only i (1..k) goes to slot ⌊i·m/(k+1)⌋; i = 0 (no anchor) to slot 0.
    let pcrLeft = k + lead0;
    let pcrI = hasAnchor ? 1 : 0;
    let nextPcrSlot = pcrI <= k ? Math.floor((pcrI * m) / (k + 1)) : m;
    let psiLeft = blocks * bp;
    let psiIdx = 0; // packet index inside the current block; > 0 while a block is being sent
    const mem = this.mem;
    let ci = 0;
    for (let j = 0; j < m; j++) {
      const t = cbr ? this.cbrOrigin + (g0 + j) * slot : t0 + j * slot;
      const left = m - j;
      const owed = n - ci + psiLeft + pcrLeft;
      if (this.outCount === OUT_CAP) this.flushOut();
      const at = this.outBase + this.outCount * TS_PACKET_SIZE;
      this.outTimes[this.outCount++] = t;
      if (anchorAt0 && j === 0) {
        this.slotT = t;
        this.copyContent(at, ci++);
        if (hasPcr(mem, at)) {
          setPcr(mem, at, Math.round(t));
          this.lastPcrOutT = t;
          if (this.pcrDiscontinuityNext) this.flagPcrDiscontinuity(at);
        }
      } else if (
        aligned
          ? this.alignedPcrDue(base + j, t, slot, this.lastPcrOutT) && left > n - ci + psiLeft
          : pcrLeft > 0 && (j >= nextPcrSlot || left <= pcrLeft)
      ) {
        writePcrOnlyPacket(
          mem,
          at,
          this.outPcrPid,
          this.ccOut[this.outPcrPid],
          Math.round(t),
          this.pcrDiscontinuityNext,
        );
        this.pcrDiscontinuityNext = false;
        this.lastPcrOutT = t;
        if (pcrLeft > 0) pcrLeft--;
        if (!aligned) {
          pcrI++;
          nextPcrSlot = pcrI <= k ? Math.floor((pcrI * m) / (k + 1)) : m;
        }
        this.stats.pcrPacketsInserted++;
      } else if (
        psiLeft > 0 &&
        (psiIdx > 0 || t + (bp + 1) * slot > this.nextPsiDue || left <= owed - (n - ci))
      ) {
        if (psiIdx === 0) {
          this.nextPsiDue = t + this.psiStep;
          this.psi.blockStart(t);
        }
        this.psi.writePacket(psiIdx, mem, at);
        psiIdx = (psiIdx + 1) % bp;
        psiLeft--;
        this.stats.psiPacketsOut++;
      } else if (
        ci < n &&
        ((!cbr && m <= mandatory) || left <= owed || t0 + (ci * d) / n <= t + slot / 2)
      ) {
        this.slotT = t;
        this.copyContent(at, ci++);
        if (hasPcr(mem, at)) {
          if (aligned) stripPcr(mem, at);
          else {
            setPcr(mem, at, Math.round(t));
            if (this.pcrDiscontinuityNext) this.flagPcrDiscontinuity(at);
          }
        }
      } else {
        mem.copyWithin(at, this.nullAt, this.nullAt + TS_PACKET_SIZE);
        this.stats.nullPacketsOut++;
      }
    }
    if (cbr) {
      this.cbrNext = g0 + m;
      this.outEnd = this.cbrOrigin + this.cbrNext * slot;
    } else {
      this.outEnd = t1;
    }
    this.stats.packetsOut += m;
  }

  /**
   * PSI blocks the walk will start in m slots from tFirst: the placement rule below (a block
   * starts at the first slot from which it, plus one PCR that may cut in, ends after its due
   * time; the next is due psiStep after it starts) replayed without PCR cut-ins. Cut-ins only
   * delay a start, so this never counts too few; an extra block goes out at the walk's end.
   */
  private psiBlockCount(tFirst: number, m: number, slot: number, bp: number): number {
    let count = 0;
    let free = 0; // first slot after the previous block
    for (let due = this.nextPsiDue; ;) {
      const j = Math.max(free, Math.floor((due - tFirst) / slot) - bp);
      if (j >= m) return count;
      count++;
      free = j + bp;
      due = tFirst + j * slot + this.psiStep;
    }
  }

  /**
   * Copies content packet ci of the segment to `at` and rewrites CC, DI and PTS/DTS in place.
   * Takes only small integers: a fractional or > 2^31 number passed to a call that is not
   * inlined is boxed, and this runs for every packet (the PCR is written by the caller).
   */
  /**
   * PCR-only packets the aligned walk will place (the same rule, alignedPcrDue, replayed over the
   * segment's slot times). The margin at heads (two datagrams, at least ALIGN_MARGIN) covers the
   * next segment's slots being longer.
   */
  private alignedPcrCount(
    base: number,
    m: number,
    t0: number,
    g0: number,
    slot: number,
    cbr: boolean,
  ): number {
    let last = this.lastPcrOutT;
    let count = 0;
    for (let j = 0; j < m; j++) {
      const t = cbr ? this.cbrOrigin + (g0 + j) * slot : t0 + j * slot;
      if (this.alignedPcrDue(base + j, t, slot, last)) {
        count++;
        last = t;
      }
    }
    return count;
  }

  /**
   * Whether output packet `index` (leaving at t) takes a PCR-only packet in aligned mode: at a
   * datagram head when waiting for the next head could let the gap since `last` exceed
   * pcrTicks; anywhere when even the next head would be too late (after a stretch placed
   * without alignment, whose last PCR counted on this segment's slot 0).
   */
  private alignedPcrDue(index: number, t: number, slot: number, last: number): boolean {
    const align = this.pcrAlign;
    const toHead =
      index < this.alignAt
        ? this.alignAt - index
        : (align - ((index - this.alignAt) % align)) % align;
    if (toHead === 0) return t - last + Math.max(2 * align * slot, ALIGN_MARGIN) > this.pcrTicks;
    return t + toHead * slot - last > this.pcrTicks;
  }

  private copyContent(at: number, ci: number): void {
    const src = this.segBase + ci * TS_PACKET_SIZE;
    this.contentT = this.segT0 + ci * this.contentSpacing;
    this.mem.copyWithin(at, src, src + TS_PACKET_SIZE);
    this.rewriteContent(at, this.segFlags[ci]);
  }

  /** In-place rewrite of one content packet placed in an output slot of time t. */
  private rewriteContent(at: number, pes: number): void {
    const mem = this.mem;
    const pid = getPid(mem, at);
    if (pes !== 0 && payloadUnitStart(mem, at)) {
      this.dropPes[pid] = this.rewritePes(at, pid) || hasPcr(mem, at) ? 0 : 1;
    }
    if (this.dropPes[pid] === 1 && !hasPcr(mem, at)) {
      // Sound (or subtitles) of the new input for a time the old one already covered: the
      // slot carries a null packet instead, and the PID's CC does not move.
      mem.copyWithin(at, this.nullAt, this.nullAt + TS_PACKET_SIZE);
      this.stats.nullPacketsOut++;
      return;
    }
    if (hasPayload(mem, at)) {
      const cc = (this.ccOut[pid] + 1) & 0x0f;
      this.ccOut[pid] = cc;
      setCc(mem, at, cc);
    } else {
      setCc(mem, at, this.ccOut[pid]);
    }
    if (discontinuityIndicator(mem, at)) setDiscontinuity(mem, at, false);
  }

  /**
   * Rewrites the PTS/DTS of the PES that starts at `at` (PID `pid`). Returns false, leaving it
   * untouched, for the first PES of a non-video PID on a new input timeline that would present
   * less than MIN_PTS_STEP after the last one sent: it is dropped, and so are the next ones
   * until one presents late enough (video keeps the step by a raise of the decode delay).
   */
  private rewritePes(at: number, pid: number): boolean {
    const mem = this.mem;
    const loc = locatePesTimestamps(mem, at);
    if (loc !== 0) {
      const ptsAt = at + (loc & 0xff);
      // Input PTS relative to the segment's anchor, in local doubles (no call takes them).
      const pts =
        ((mem[ptsAt] >> 1) & 0x07) * TS_LO +
        ((mem[ptsAt + 1] << 22) |
          ((mem[ptsAt + 2] >> 1) << 15) |
          (mem[ptsAt + 3] << 7) |
          (mem[ptsAt + 4] >> 1));
      let lead = (pts - this.segAnchor90) % PTS_MODULUS;
      if (lead < 0) lead += PTS_MODULUS;
      if (lead > PTS_MODULUS / 2) lead -= PTS_MODULUS;
      lead *= 300;
      const dtsRel = loc >> 8;
      // A PTS more than MAX_PTS_LEAD from its own PCR is not this clock's (a stray packet of
      // another source): it is forwarded, but never steers the splice arithmetic.
      if (lead > -MAX_PTS_LEAD && lead < MAX_PTS_LEAD) {
        let dLead = lead;
        if (dtsRel !== 0) {
          const d = at + dtsRel;
          const dts =
            ((mem[d] >> 1) & 0x07) * TS_LO +
            ((mem[d + 1] << 22) |
              ((mem[d + 2] >> 1) << 15) |
              (mem[d + 3] << 7) |
              (mem[d + 4] >> 1));
          dLead = (dts - this.segAnchor90) % PTS_MODULUS;
          if (dLead < 0) dLead += PTS_MODULUS;
          if (dLead > PTS_MODULUS / 2) dLead -= PTS_MODULUS;
          dLead *= 300;
        }
        if (this.firstPes[pid] === 1 && this.videoOut[pid] === 0) {
          if (this.segT0 + lead + this.delay.value < this.lastPtsOut[pid] + MIN_PTS_STEP) {
            return false;
          }
          this.firstPes[pid] = 0;
        }
        const v = this.videoOut[pid];
        const key = v !== 0 && this.delay.awaitsKeyframe && isRandomAccess(mem, at, v - 1);
        // The first PES of a PID on a new input presents after the PID's last one.
        let atLeast = 0;
        if (this.firstPes[pid] === 1) {
          this.firstPes[pid] = 0;
          const last = this.lastPtsOut[pid];
          if (last === last) atLeast = last + MIN_PTS_STEP - (this.segT0 + lead);
        }
        const dts = this.segT0 + dLead;
        if (this.delay.check(dts - this.slotT, dts - this.contentT, atLeast, key)) {
          this.updateTsOffset();
        }
        const ptsOut = this.segT0 + lead + this.delay.value;
        if (!(ptsOut <= this.lastPtsOut[pid])) this.lastPtsOut[pid] = ptsOut;
      } else {
        this.implausiblePts++;
      }
      addTimestampOffset(mem, ptsAt, this.tsOffHi, this.tsOffLo);
      if (dtsRel !== 0) addTimestampOffset(mem, at + dtsRel, this.tsOffHi, this.tsOffLo);
    }
    return true;
  }

  /** The decode margin (DTS − PCR at arrival) of the output's PES so far, in ms. */
  get decodeMarginMs(): { min: number; max: number; delay: number } {
    const d = this.delay;
    return { min: d.min / MS, max: d.max / MS, delay: d.value / MS };
  }

  /** Times the decode delay was raised while running. */
  get delayRaises(): number {
    return this.delay.raises;
  }

  private flushOut(): void {
    if (this.outCount === 0) return;
    const n = this.outCount;
    this.outCount = 0;
    this.sink(this.mem.subarray(this.outBase, this.outBase + n * TS_PACKET_SIZE), this.outTimes);
  }
}
