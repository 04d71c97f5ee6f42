// Splits one multiplex among the channels that take services of it, so that each channel's
// demuxer and remuxer see only their own packets instead of the whole transport stream: with 8
// channels on one 40 Mbit/s MPTS every channel used to frame, copy and look up all 26,600
// packets a second, 7/8 of them to throw away.
//
// Each subscriber (a slot) names the service (program_number) it takes. A slot receives:
//   - the DVB SI PIDs (PAT, CAT, NIT, SDT/BAT, EIT, TDT/TOT: EN 300 468 §5.1.3; pid-plan.ts),
//   - its service's PMT PID (from the PAT, ISO/IEC 13818-1 §2.4.4.3) and the PCR_PID and
//     elementary PIDs that PMT names (§2.4.4.8),
//   - everything, while the PAT or its PMT is not known yet, or when it names no service (the
//     "first program" rule is the demuxer's to apply), so nothing it needs is lost at start.
// Tables are followed as they change (a new PAT or PMT version re-plans the slots before the
// next packet is routed). Packets come out whole and in order, one call per slot per chunk (per
// PIECE bytes of a longer one); bytes outside sync (TR 101 290 §5.2.1) are dropped here, once.
//
// No allocation and no byte loop per packet: one array holds the staging area (the framer's, or
// the chunk copied whole when it is whole packets) and each slot's region after it, and packets
// go to their slots with copyWithin, in runs where a chunk of whole packets allows (a JS loop
// per byte cost 230 ns a packet and was 16 % of a channel worker at 40 channels; a view per
// run for set() was an allocation per packet on an interleaved multiplex). The view a slot's
// packets are handed on in is kept per length (a new one per slot and piece was 17 % of a
// channel worker's garbage at 40 channels).

import { Framer, type PacketSink } from './framer.js';
import { SYNC_BYTE, TS_PACKET_SIZE, getPid } from './packet.js';
import { PidPlan, SI_PIDS } from './pid-plan.js';

const PID_COUNT = 0x2000;
/** Bytes routed at a time: 87 packets (twelve 7-packet datagrams and more). */
const PIECE = 87 * TS_PACKET_SIZE;
/** The staging area and each slot's region: a piece and what the framer may hold for sync. */
const REGION = PIECE + 8 * TS_PACKET_SIZE;

interface Slot {
  service: number | undefined;
  /** wants[pid] = 1: the slot takes packets of that PID. */
  readonly wants: Uint8Array;
  /** Its region's start in the router's array, and the bytes routed into it. */
  base: number;
  len: number;
  /** Start (in the staging area) of the run of packets not yet copied, −1 if none. */
  runStart: number;
  runEnd: number;
  /** views[n]: its region's first n packets (made on first use; the array is set with it). */
  readonly views: Uint8Array[];
}

export type RouteSink = (slot: number, packets: Uint8Array) => void;

export class ServiceRouter implements PacketSink {
  /** [0, REGION): staging; then slot i's region at (i + 1) · REGION. */
  private mem = new Uint8Array(REGION);
  private readonly framer = new Framer(this, REGION, { buf: this.mem, base: 0 });
  private plan: PidPlan;
  private planned = -1;
  private slots: Slot[] = [];
  /** Routing a piece of whole packets staged as it came (runs copied), else from the framer. */
  private inRuns = false;

  constructor(services: readonly (number | undefined)[]) {
    this.plan = new PidPlan(new Set(services));
    this.setServices(services);
  }

  /** Bytes dropped outside sync so far. */
  get bytesSkipped(): number {
    return this.framer.bytesSkipped;
  }

  /** The slots, in order: slot i takes service services[i]. */
  setServices(services: readonly (number | undefined)[]): void {
    const before = this.slots;
    const size = (services.length + 1) * REGION;
    if (this.mem.length < size) {
      // Grown (in steps, kept): the bytes the framer holds move with it.
      const mem = new Uint8Array(Math.max(size, this.mem.length * 2));
      this.framer.restage({ buf: mem, base: 0 });
      this.mem = mem;
    }
    this.slots = services.map((service, i) => ({
      service,
      wants: before[i]?.wants ?? new Uint8Array(PID_COUNT),
      base: (i + 1) * REGION,
      len: 0,
      runStart: -1,
      runEnd: -1,
      views: [],
    }));
    this.plan.setServices(new Set(services));
    this.planned = -1;
  }

  /**
   * The bytes taken in and not yet routed: the head of a packet astride chunks (or packets
   * awaiting sync). A reader that goes on with the source's bytes as they come, when the router
   * is dropped, takes them first.
   */
  pending(): Uint8Array {
    return this.framer.pending();
  }

  /** A new stream instance (the source restarted): tables and partial packets forgotten. */
  reset(): void {
    this.framer.reset();
    this.plan.reset();
    this.planned = -1;
  }

  /**
   * Routes one chunk: `sink(slot, packets)` for every slot that has packets in it (a chunk
   * longer than PIECE: in pieces, each routed in turn). The packets are a view valid during
   * the call.
   */
  route(chunk: Uint8Array, sink: RouteSink): void {
    for (let at = 0; at < chunk.length; at += PIECE) {
      const end = Math.min(chunk.length, at + PIECE);
      this.piece(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end), sink);
    }
  }

  private piece(piece: Uint8Array, sink: RouteSink): void {
    for (const s of this.slots) s.len = 0;
    if (this.framer.pendingLength === 0 && aligned(piece)) {
      // Whole packets (a UDP or RTP datagram, a tuner read): staged as they are, runs copied.
      this.mem.set(piece, 0);
      this.inRuns = true;
      for (let o = 0; o < piece.length; o += TS_PACKET_SIZE) this.packet(this.mem, o);
      for (const s of this.slots) this.flush(s);
      this.inRuns = false;
    } else {
      this.framer.push(piece);
    }
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s.len > 0)
        sink(i, (s.views[s.len / TS_PACKET_SIZE] ??= this.mem.subarray(s.base, s.base + s.len)));
    }
  }

  packet(b: Uint8Array, o: number): void {
    this.plan.packet(b, o);
    if (this.plan.revision !== this.planned) this.replan();
    const pid = getPid(b, o);
    for (const s of this.slots) {
      if (s.wants[pid] === 0) continue;
      if (!this.inRuns) {
        // From the framer's staging, which it moves at the end of each scan: copied now.
        this.mem.copyWithin(s.base + s.len, o, o + TS_PACKET_SIZE);
        s.len += TS_PACKET_SIZE;
        continue;
      }
      if (s.runEnd !== o) {
        this.flush(s);
        s.runStart = o;
      }
      s.runEnd = o + TS_PACKET_SIZE;
    }
  }

  /** Copies a slot's pending run of packets out of the staged piece. */
  private flush(s: Slot): void {
    if (s.runStart < 0) return;
    this.mem.copyWithin(s.base + s.len, s.runStart, s.runEnd);
    s.len += s.runEnd - s.runStart;
    s.runStart = -1;
    s.runEnd = -1;
  }

  private replan(): void {
    this.planned = this.plan.revision;
    for (const s of this.slots) {
      const pids = s.service === undefined ? undefined : this.plan.pidsOf(s.service);
      if (pids === undefined) {
        s.wants.fill(1);
        continue;
      }
      s.wants.fill(0);
      for (const pid of SI_PIDS) s.wants[pid] = 1;
      for (const pid of pids) s.wants[pid] = 1;
    }
  }
}

/** Whole packets, each starting with the sync byte. */
function aligned(chunk: Uint8Array): boolean {
  if (chunk.length === 0 || chunk.length % TS_PACKET_SIZE !== 0) return false;
  for (let o = 0; o < chunk.length; o += TS_PACKET_SIZE) if (chunk[o] !== SYNC_BYTE) return false;
  return true;
}
