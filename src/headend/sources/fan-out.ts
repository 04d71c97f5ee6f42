// How one source's chunks reach its readers (SupervisedSource's subscribers): one reader takes
// the bytes as they come; two or more take their own service's packets each, whole, through a
// ServiceRouter (service-router.ts).
//
// The seam between the two, on a source whose chunks are not whole packets (an ffmpeg pipe, an
// HTTP body): a router frames from the next packet boundary on, while a reader that was taking
// the bytes as they came holds the head of the packet astride. That reader is owed the packet's
// tail (`lead` bytes) before the routed packets, or its framer loses the packet (a CC error on
// the channel already on air, when a reload adds a second channel on its multiplex). Going back
// to one reader, the router's unrouted bytes (the head of the packet astride) go to the reader
// that stays, before the bytes as they come. PacketPhase (mpegts/packet-phase.ts) says where
// the boundary is; where it cannot (garbage), the seam loses that packet, as before.
//
// A newcomer that goes on from another's reading (a replay of the run's recent bytes,
// SupervisedSource.add) is given what the others hold: its replay ends with the same head and it
// gets the same tail, or it ends at its last whole packet.

import { TS_PACKET_SIZE } from '../../mpegts/packet.js';
import { PacketPhase } from '../../mpegts/packet-phase.js';
import { ServiceRouter } from '../../mpegts/service-router.js';
import type { SourceSubscriber } from './types.js';

export interface Reader {
  readonly sub: SourceSubscriber;
  /** program_number taken (undefined: the first program). */
  readonly service: number | undefined;
}

export class FanOut<R extends Reader> {
  private router: ServiceRouter | undefined;
  /** Where the bytes as they come stand between packets (while there is no router). */
  private readonly phase = new PacketPhase();
  /** Bytes of the next chunks owed to `leadTo` as they come, before routing starts. */
  private lead = 0;
  private leadTo: R[] = [];
  /**
   * Bytes of the next chunks kept from the one reader (no router): the tail of a packet whose
   * head it never got (it came while routing was about to begin, and the others left).
   */
  private skip = 0;
  /** A newcomer whose replay ends with the head the others hold (replay() to replan()). */
  private holds: R | undefined;
  /** The readers a chunk being routed goes to (one may leave during it). */
  private routing: R[] = [];
  /** A slot's packets to its reader (made once: no closure per chunk). */
  private readonly routed = (slot: number, packets: Uint8Array): void => {
    const r = this.routing[slot];
    if (r) this.feed(r.sub, packets);
  };

  constructor(private readonly feed: (sub: SourceSubscriber, bytes: Uint8Array) => void) {}

  /** A new stream instance (a new run): framing, tables and the phase start afresh. */
  reset(): void {
    this.router?.reset();
    this.phase.reset();
    this.lead = 0;
    this.leadTo = [];
    this.skip = 0;
  }

  /** One chunk of the run to `readers` (the current list, kept as it is during the call). */
  deliver(chunk: Uint8Array, readers: R[]): void {
    const router = this.router;
    if (router === undefined) {
      this.phase.push(chunk);
      let bytes = chunk;
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        if (n === chunk.length) return;
        bytes = chunk.subarray(n);
      }
      for (const r of readers) this.feed(r.sub, bytes);
      return;
    }
    let rest = chunk;
    if (this.lead > 0) {
      const n = Math.min(this.lead, chunk.length);
      const tail = n === chunk.length ? chunk : chunk.subarray(0, n);
      for (const r of this.leadTo) if (readers.includes(r)) this.feed(r.sub, tail);
      this.lead -= n;
      if (this.lead === 0) this.leadTo = [];
      if (n === chunk.length) return;
      rest = chunk.subarray(n);
    }
    this.routing = readers;
    router.route(rest, this.routed);
  }

  /**
   * A newcomer's replay of the run's recent bytes (from a packet boundary to the last chunk),
   * before it joins `others` readers: the bytes to give it.
   */
  replay(rec: R, back: Uint8Array, others: number): Uint8Array {
    this.holds = undefined;
    if (others === 0) return back; // it alone takes the bytes as they come: all of them
    const head = back.length % TS_PACKET_SIZE;
    if (head > 0 && head === this.held()) {
      this.holds = rec;
      return back;
    }
    return back.subarray(0, back.length - head);
  }

  /** After a reader came or went: `readers` is the new list; `newcomer`, the one that came. */
  replan(readers: R[], newcomer?: R): void {
    const holds = this.holds === newcomer ? this.holds : undefined;
    this.holds = undefined;
    if (readers.length < 2) {
      if (this.router !== undefined) this.unroute(readers[0]);
      return;
    }
    const services = readers.map((r) => r.service);
    if (this.router !== undefined) {
      this.router.setServices(services);
      if (holds !== undefined && this.lead > 0) this.leadTo.push(holds);
      return;
    }
    this.router = new ServiceRouter(services);
    const partial = this.phase.partial;
    this.lead = partial > 0 ? TS_PACKET_SIZE - partial : 0;
    this.leadTo = this.lead > 0 ? readers.filter((r) => r !== newcomer || r === holds) : [];
  }

  /** The head of the packet astride that the readers hold now (0: none, or not known). */
  private held(): number {
    if (this.router === undefined) return Math.max(0, this.phase.partial);
    return this.lead > 0 ? TS_PACKET_SIZE - this.lead : 0;
  }

  /** Back to the bytes as they come, for `stays` (if any). */
  private unroute(stays: R | undefined): void {
    const router = this.router!;
    this.router = undefined;
    if (this.lead > 0) {
      // Routing never began: the bytes as they come go on from the head the readers hold; one
      // that does not hold it (a newcomer) is spared the tail.
      this.phase.partial = TS_PACKET_SIZE - this.lead;
      if (stays !== undefined && !this.leadTo.includes(stays)) this.skip = this.lead;
    } else {
      const pending = router.pending();
      if (stays !== undefined && pending.length > 0) this.feed(stays.sub, pending);
      this.phase.reset();
      this.phase.push(pending);
    }
    this.lead = 0;
    this.leadTo = [];
  }
}
