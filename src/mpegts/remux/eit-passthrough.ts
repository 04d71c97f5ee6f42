// EIT passthrough (`epg: passthrough`): a broadcast source's own guide for the service a channel
// takes, carried on the channel's output instead of one made from XMLTV. The input's EIT actual
// sections (PID 0x0012; present/following table_id 0x4E, schedule 0x50…0x5F; ETSI EN 300 468
// §5.2.4) of the input service are kept, the latest of each (table_id, section_number), and
// handed to the output rewritten for the output's identity:
//
//   table_id(8) | syntax(1) '1'(1) rsvd(2) section_length(12)
//   service_id(16)                         ← the output's program_number
//   rsvd(2) version_number(5) current_next(1)   (p/f: the output's own version, see below)
//   section_number(8) last_section_number(8)
//   transport_stream_id(16)                ← the output's
//   original_network_id(16)                ← the headend's network
//   segment_last_section_number(8) last_table_id(8) events… CRC_32  ← recomputed
//
// EIT "other" tables (0x4F, 0x60…0x6F) describe other multiplexes and are left out. The p/f
// goes to NetworkTables.setEitPf (which numbers its versions: a change of the input's p/f is a
// new version on the output); the schedule, each section with the input's version, to
// setEitSchedule. Nothing is allocated per packet; a section is copied only when it changed.
// The SDT side of passthrough is the remuxer's (setSdtPassthrough): the input SDT entry's
// descriptors other than the service_descriptor ride in the output's entry.

import { crc32Mpeg2 } from '../crc32.js';
import { SectionAssembler } from '../psi/assembler.js';
import { EIT_PID } from '../psi/eit.js';

export interface EitTarget {
  setEitPf(build: ((version: number) => Uint8Array[]) | null): void;
  setEitSchedule(sections: readonly Uint8Array[]): void;
}

export interface EitIdentity {
  /** program_number of the input service whose EIT is passed; null: not known yet. */
  inputService: number | null;
  serviceId: number;
  transportStreamId: number;
  originalNetworkId: number;
}

export class EitPassthrough {
  private readonly assembler = new SectionAssembler(EIT_PID, {
    onSection: (s) => this.onSection(s),
  });
  /** Latest section by (table_id << 8 | section_number). */
  private readonly sections = new Map<number, Uint8Array>();
  private pfDirty = false;
  private scheduleDirty = false;
  private service: number | null = null;

  constructor(
    private readonly target: EitTarget,
    private readonly identity: () => EitIdentity,
  ) {}

  /** One input packet of PID 0x0012 at b[o]. */
  packet(b: Uint8Array, o: number): void {
    this.assembler.push(b, o);
  }

  /** The input changed (a splice): what the old one said is gone from the output. */
  reset(): void {
    this.assembler.reset();
    if (this.sections.size === 0) return;
    this.sections.clear();
    this.pfDirty = true;
    this.scheduleDirty = true;
  }

  /** The output's ids changed (a reload): the sections are made again with the new ones. */
  reidentify(): void {
    if (this.sections.size === 0) return;
    this.pfDirty = true;
    this.scheduleDirty = true;
  }

  /** Hands what changed since the last call to the output (call it now and then, not per packet). */
  flush(): void {
    if (this.pfDirty) {
      this.pfDirty = false;
      const pf = this.table(0x4e, 0x4e);
      this.target.setEitPf(
        pf.length === 0 ? null : (version) => pf.map((s) => this.rewrite(s, version)),
      );
    }
    if (this.scheduleDirty) {
      this.scheduleDirty = false;
      this.target.setEitSchedule(this.table(0x50, 0x5f).map((s) => this.rewrite(s, -1)));
    }
  }

  private onSection(s: Uint8Array): void {
    const tid = s[0];
    if (tid !== 0x4e && (tid < 0x50 || tid > 0x5f)) return;
    if (s.length < 18 || (s[1] & 0x80) === 0 || (s[5] & 0x01) === 0) return;
    const want = this.identity().inputService;
    if (want !== this.service) {
      // Another input service: nothing of the old one's guide stays.
      this.service = want;
      this.sections.clear();
      this.pfDirty = this.scheduleDirty = true;
    }
    if (want === null || ((s[3] << 8) | s[4]) !== want) return;
    const key = (tid << 8) | s[6];
    const old = this.sections.get(key);
    if (old !== undefined && sameBytes(old, s)) return;
    this.sections.set(key, s.slice());
    if (tid === 0x4e) this.pfDirty = true;
    else this.scheduleDirty = true;
  }

  /** The sections of table_ids lo…hi, in table and section order. */
  private table(lo: number, hi: number): Uint8Array[] {
    return [...this.sections.entries()]
      .filter(([k]) => k >> 8 >= lo && k >> 8 <= hi)
      .sort(([a], [b]) => a - b)
      .map(([, s]) => s);
  }

  /** A copy with the output's ids (and `version` unless < 0) and a fresh CRC. */
  private rewrite(s: Uint8Array, version: number): Uint8Array {
    const id = this.identity();
    const out = s.slice();
    out[3] = id.serviceId >> 8;
    out[4] = id.serviceId & 0xff;
    if (version >= 0) out[5] = (out[5] & 0xc1) | ((version & 0x1f) << 1);
    out[8] = id.transportStreamId >> 8;
    out[9] = id.transportStreamId & 0xff;
    out[10] = id.originalNetworkId >> 8;
    out[11] = id.originalNetworkId & 0xff;
    const end = out.length - 4;
    const crc = crc32Mpeg2(out, 0, end);
    out[end] = crc >>> 24;
    out[end + 1] = (crc >>> 16) & 0xff;
    out[end + 2] = (crc >>> 8) & 0xff;
    out[end + 3] = crc & 0xff;
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
