// PSI/SI section header, writer and TS packetization. ISO/IEC 13818-1 §2.4.4 (PSI),
// ETSI EN 300 468 §5.1 (SI sections), Annex A (CRC).
//
// Long form (section_syntax_indicator = 1):
//   table_id(8) | section_syntax_indicator(1) private(1) reserved(2) section_length(12)
//   table_id_extension(16) | reserved(2) version_number(5) current_next_indicator(1)
//   section_number(8) | last_section_number(8) | ...body... | CRC_32(32)
// Short form (indicator = 0): table_id, flags+section_length, body (TDT; TOT adds a CRC_32).
// section_length counts bytes after the length field, CRC included.

import { crc32Mpeg2 } from '../crc32.js';
import { AFC_PAYLOAD, TS_PACKET_SIZE, writeHeader } from '../packet.js';

/** Largest section PSI allows (PAT, PMT, CAT, NIT, SDT...): section_length ≤ 1021. */
export const MAX_PSI_SECTION = 1024;
/** EIT and other private sections may reach 4096 bytes. */
export const MAX_PRIVATE_SECTION = 4096;

export interface SectionHeader {
  tableId: number;
  syntax: boolean;
  /** Total bytes of the section, header and CRC included. */
  length: number;
  tableIdExtension: number;
  version: number;
  currentNext: boolean;
  sectionNumber: number;
  lastSectionNumber: number;
}

export function sectionTotalLength(s: Uint8Array, o = 0): number {
  return 3 + (((s[o + 1] & 0x0f) << 8) | s[o + 2]);
}

/** Parses the common header. Short-form sections report extension/version/numbers as 0. */
export function parseSectionHeader(s: Uint8Array): SectionHeader {
  const syntax = (s[1] & 0x80) !== 0;
  return {
    tableId: s[0],
    syntax,
    length: sectionTotalLength(s),
    tableIdExtension: syntax ? (s[3] << 8) | s[4] : 0,
    version: syntax ? (s[5] >> 1) & 0x1f : 0,
    currentNext: syntax ? (s[5] & 1) === 1 : true,
    sectionNumber: syntax ? s[6] : 0,
    lastSectionNumber: syntax ? s[7] : 0,
  };
}

/** True when the section carries a CRC_32: every long-form section, and the TOT (0x73). */
export function sectionHasCrc(s: Uint8Array): boolean {
  return (s[1] & 0x80) !== 0 || s[0] === 0x73;
}

/** True when the CRC_32 at the end of a section is right (CRC over the whole section is 0). */
export function sectionCrcOk(s: Uint8Array): boolean {
  return s.length >= 4 && crc32Mpeg2(s, 0, s.length) === 0;
}

export interface LongSectionFields {
  tableId: number;
  tableIdExtension: number;
  version: number;
  currentNext?: boolean;
  sectionNumber: number;
  lastSectionNumber: number;
  /** private_indicator bit: 0 for PAT/PMT/CAT (§2.4.4), 1 for DVB SI tables (EN 300 468 §5.2). */
  privateBit?: boolean;
  body: Uint8Array;
}

/** Builds a long-form section with its CRC_32. */
export function buildLongSection(f: LongSectionFields): Uint8Array {
  const total = 8 + f.body.length + 4;
  const s = new Uint8Array(total);
  const len = total - 3;
  s[0] = f.tableId;
  s[1] = 0x80 | (f.privateBit ? 0x40 : 0) | 0x30 | ((len >> 8) & 0x0f);
  s[2] = len & 0xff;
  s[3] = (f.tableIdExtension >> 8) & 0xff;
  s[4] = f.tableIdExtension & 0xff;
  s[5] = 0xc0 | ((f.version & 0x1f) << 1) | (f.currentNext === false ? 0 : 1);
  s[6] = f.sectionNumber;
  s[7] = f.lastSectionNumber;
  s.set(f.body, 8);
  writeCrc(s);
  return s;
}

/** Builds a short-form section (syntax 0). With withCrc, appends a CRC_32 (TOT). */
export function buildShortSection(
  tableId: number,
  body: Uint8Array,
  withCrc: boolean,
  privateBit = true,
): Uint8Array {
  const total = 3 + body.length + (withCrc ? 4 : 0);
  const s = new Uint8Array(total);
  const len = total - 3;
  s[0] = tableId;
  s[1] = (privateBit ? 0x40 : 0) | 0x30 | ((len >> 8) & 0x0f);
  s[2] = len & 0xff;
  s.set(body, 3);
  if (withCrc) writeCrc(s);
  return s;
}

function writeCrc(s: Uint8Array): void {
  const crc = crc32Mpeg2(s, 0, s.length - 4);
  const n = s.length;
  s[n - 4] = crc >>> 24;
  s[n - 3] = (crc >>> 16) & 0xff;
  s[n - 2] = (crc >>> 8) & 0xff;
  s[n - 1] = crc & 0xff;
}

/** Sections of one sub-table in section_number order, duplicates dropped (§2.4.4.4). */
export function orderedSections(sections: readonly Uint8Array[]): Uint8Array[] {
  const byNumber = new Map<number, Uint8Array>();
  for (const s of sections) {
    const n = parseSectionHeader(s).sectionNumber;
    if (!byNumber.has(n)) byNumber.set(n, s);
  }
  return [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

/** Body of a long section: the bytes between last_section_number and CRC_32. */
export function sectionBody(s: Uint8Array): Uint8Array {
  return s.subarray(8, sectionTotalLength(s) - 4);
}

/**
 * Groups loop entries into as few chunks as fit `capacity` bytes each, keeping order. Used by
 * table writers to split a long loop over several sections (one chunk per section). An entry
 * larger than capacity is a caller error and throws (it could never be serialized).
 */
export function packEntries(entries: Uint8Array[], capacity: number): Uint8Array[][] {
  const chunks: Uint8Array[][] = [];
  let cur: Uint8Array[] = [];
  let used = 0;
  for (const e of entries) {
    if (e.length > capacity)
      throw new RangeError(`loop entry of ${e.length} bytes exceeds ${capacity}`);
    if (used + e.length > capacity && cur.length > 0) {
      chunks.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(e);
    used += e.length;
  }
  chunks.push(cur);
  return chunks;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Splits sections into TS packets on one PID (§2.4.4.2): each section starts in a new packet
 * with payload_unit_start_indicator = 1 and pointer_field = 0; the last packet of a section is
 * stuffed with 0xFF. Continuity counters are written as 0..n-1 from `firstCc`; emitters that
 * repeat the table rewrite them per output.
 */
export function packetizeSections(
  sections: readonly Uint8Array[],
  pid: number,
  firstCc = 0,
): Uint8Array {
  let count = 0;
  for (const s of sections) count += Math.max(1, Math.ceil((s.length + 1) / 184));
  const out = new Uint8Array(count * TS_PACKET_SIZE);
  let o = 0;
  let cc = firstCc;
  for (const s of sections) {
    let at = 0;
    let first = true;
    while (first || at < s.length) {
      writeHeader(out, o, pid, first, AFC_PAYLOAD, cc);
      cc = (cc + 1) & 0x0f;
      let p = o + 4;
      if (first) out[p++] = 0; // pointer_field
      const n = Math.min(o + TS_PACKET_SIZE - p, s.length - at);
      out.set(s.subarray(at, at + n), p);
      p += n;
      at += n;
      out.fill(0xff, p, o + TS_PACKET_SIZE);
      o += TS_PACKET_SIZE;
      first = false;
    }
  }
  return out;
}
