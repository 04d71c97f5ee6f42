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
// next packet is routed). Packets come out whole and in order, one call per slot per chunk;
// bytes outside sync (TR 101 290 §5.2.1) are dropped here, once.
//
// No allocation per packet: packets are copied into one reused buffer per slot, in runs when
// the chunk is whole packets (a datagram), else one by one out of the framer's buffer.

import { Framer, type PacketSink } from './framer.js';
import { SYNC_BYTE, TS_PACKET_SIZE, getPid } from './packet.js';
import { PidPlan, SI_PIDS } from './pid-plan.js';

const PID_COUNT = 0x2000;

interface Slot {
  service: number | undefined;
  /** wants[pid] = 1: the slot takes packets of that PID. */
  readonly wants: Uint8Array;
  out: Uint8Array;
  len: number;
  /** Start (in the framer's buffer) of the run of packets not yet copied, −1 if none. */
  runStart: number;
  runEnd: number;
}

export type RouteSink = (slot: number, packets: Uint8Array) => void;

export class ServiceRouter implements PacketSink {
  private readonly framer = new Framer(this);
  private plan: PidPlan;
  private planned = -1;
  private slots: Slot[] = [];
  /** The aligned chunk being routed in place (packets copied in runs), else undefined. */
  private runs: Uint8Array | undefined;

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
    this.slots = services.map((service, i) => ({
      service,
      wants: before[i]?.wants ?? new Uint8Array(PID_COUNT),
      out: before[i]?.out ?? new Uint8Array(0),
      len: 0,
      runStart: -1,
      runEnd: -1,
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

  /** Routes one chunk: `sink(slot, packets)` for every slot that has packets in it. */
  route(chunk: Uint8Array, sink: RouteSink): void {
    const need = this.framer.pendingLength + chunk.length;
    for (const s of this.slots) {
      if (s.out.length < need) s.out = new Uint8Array(need + (need >> 1));
      s.len = 0;
    }
    if (this.framer.pendingLength === 0 && aligned(chunk)) {
      // Whole packets (a UDP or RTP datagram, a tuner read): routed in place, runs copied.
      this.runs = chunk;
      for (let o = 0; o < chunk.length; o += TS_PACKET_SIZE) this.packet(chunk, o);
      for (const s of this.slots) this.flush(s);
      this.runs = undefined;
    } else {
      this.framer.push(chunk);
    }
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s.len > 0) sink(i, s.out.subarray(0, s.len));
    }
  }

  packet(b: Uint8Array, o: number): void {
    this.plan.packet(b, o);
    if (this.plan.revision !== this.planned) this.replan();
    const pid = getPid(b, o);
    for (const s of this.slots) {
      if (s.wants[pid] === 0) continue;
      if (b !== this.runs) {
        // From the framer's staging buffer, which it reuses: copied now.
        const out = s.out;
        for (let k = 0, at = s.len; k < TS_PACKET_SIZE; k++) out[at + k] = b[o + k];
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

  /**
   * Copies a slot's pending run of packets out of the chunk being routed: byte by byte, as a
   * view per run (set(subarray)) was one allocation per packet on an interleaved multiplex
   * (its services take turns), a third of what a channel worker allocated at 40 channels.
   */
  private flush(s: Slot): void {
    const src = this.runs;
    if (s.runStart < 0 || src === undefined) return;
    const out = s.out;
    for (let k = s.runStart, at = s.len; k < s.runEnd; k++, at++) out[at] = src[k];
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
