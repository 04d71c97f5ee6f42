// Time and Date Table and Time Offset Table: ETSI EN 300 468 §5.2.5-5.2.6, PID 0x0014.
// TDT, table_id 0x70, short section without CRC:
//   table_id(8) | section_syntax_indicator=0(1) reserved_future_use(1) reserved(2)
//   section_length(12) = 5 | UTC_time(40)
// TOT, table_id 0x73, short section with a CRC_32:
//   table_id(8) | 0(1) rfu(1) reserved(2) section_length(12) | UTC_time(40)
//   reserved(4) descriptors_loop_length(12) | descriptors | CRC_32
// local_time_offset_descriptor 0x58 (§6.2.20), 13 bytes per region:
//   country_code(24) country_region_id(6) reserved(1) local_time_offset_polarity(1)
//   local_time_offset(16, BCD hhmm) time_of_change(40) next_time_offset(16, BCD hhmm)
// Offsets are kept as signed minutes: polarity 1 means both offsets are negative (west of
// Greenwich). The writer puts the 0x58 descriptor(s) first, then the other descriptors.

import { buildShortSection, sectionTotalLength } from './section.js';
import {
  Descriptor,
  descriptorsLength,
  parseDescriptors,
  writeDescriptors,
} from './descriptors.js';
import { readBcdHhmm, readUtcTime, writeBcdHhmm, writeUtcTime } from './dvb-time.js';

export const TDT_TOT_PID = 0x0014;
export const TDT_TABLE_ID = 0x70;
export const TOT_TABLE_ID = 0x73;
export const DESC_LOCAL_TIME_OFFSET = 0x58;

export interface Tdt {
  /** UTC, whole seconds. */
  utc: Date;
}

export interface LocalTimeOffset {
  /** ISO 3166 alpha-3, e.g. "DEU". */
  countryCode: string;
  /** 0..63; 0 = no time zone extension. */
  regionId: number;
  /** Offset from UTC now, signed minutes (polarity 1 → negative). */
  offsetMinutes: number;
  /** When the offset changes to nextOffsetMinutes (null: all bits set). */
  timeOfChange: Date | null;
  nextOffsetMinutes: number;
}

export interface Tot {
  utc: Date;
  /** Entries of all local_time_offset_descriptors, in order. */
  offsets: LocalTimeOffset[];
  otherDescriptors: Descriptor[];
}

export function parseTdt(section: Uint8Array): Tdt {
  const utc = readUtcTime(section, 3);
  return { utc: utc ?? new Date(NaN) };
}

export function serializeTdt(tdt: Tdt): Uint8Array {
  const body = new Uint8Array(5);
  writeUtcTime(body, 0, tdt.utc);
  return buildShortSection(TDT_TABLE_ID, body, false);
}

function parseOffsets(d: Uint8Array, out: LocalTimeOffset[]): void {
  for (let p = 0; p + 13 <= d.length; p += 13) {
    const negative = (d[p + 3] & 0x01) !== 0;
    const signed = (m: number): number => (negative && m !== 0 ? -m : m);
    out.push({
      countryCode: String.fromCharCode(d[p], d[p + 1], d[p + 2]),
      regionId: d[p + 3] >> 2,
      offsetMinutes: signed(readBcdHhmm(d, p + 4)),
      timeOfChange: readUtcTime(d, p + 6),
      nextOffsetMinutes: signed(readBcdHhmm(d, p + 11)),
    });
  }
}

/** Parses a TOT section (the CRC is the caller's or the assembler's to check). */
export function parseTot(section: Uint8Array): Tot {
  const end = Math.min(sectionTotalLength(section), section.length) - 4;
  const utc = readUtcTime(section, 3) ?? new Date(NaN);
  const loopLen = ((section[8] & 0x0f) << 8) | section[9];
  const all = parseDescriptors(section, 10, Math.min(10 + loopLen, end));
  const offsets: LocalTimeOffset[] = [];
  const otherDescriptors: Descriptor[] = [];
  for (const d of all) {
    if (d.tag === DESC_LOCAL_TIME_OFFSET) parseOffsets(d.data, offsets);
    else otherDescriptors.push(d);
  }
  return { utc, offsets, otherDescriptors };
}

function offsetEntry(o: LocalTimeOffset): Uint8Array {
  if (
    (o.offsetMinutes < 0 && o.nextOffsetMinutes > 0) ||
    (o.offsetMinutes > 0 && o.nextOffsetMinutes < 0)
  )
    throw new RangeError(`${o.countryCode}: offsets of opposite signs share one polarity bit`);
  const negative = o.offsetMinutes < 0 || o.nextOffsetMinutes < 0;
  const e = new Uint8Array(13);
  for (let i = 0; i < 3; i++) e[i] = o.countryCode.charCodeAt(i) & 0xff;
  e[3] = ((o.regionId & 0x3f) << 2) | 0x02 | (negative ? 1 : 0);
  writeBcdHhmm(e, 4, o.offsetMinutes);
  writeUtcTime(e, 6, o.timeOfChange);
  writeBcdHhmm(e, 11, o.nextOffsetMinutes);
  return e;
}

/** The local_time_offset_descriptors for `offsets`, 19 regions per descriptor. */
export function localTimeOffsetDescriptors(offsets: readonly LocalTimeOffset[]): Descriptor[] {
  const out: Descriptor[] = [];
  for (let i = 0; i < offsets.length; i += 19) {
    const part = offsets.slice(i, i + 19).map(offsetEntry);
    const data = new Uint8Array(part.length * 13);
    part.forEach((e, k) => data.set(e, k * 13));
    out.push({ tag: DESC_LOCAL_TIME_OFFSET, data });
  }
  return out;
}

export function serializeTot(tot: Tot): Uint8Array {
  const ds = [...localTimeOffsetDescriptors(tot.offsets), ...tot.otherDescriptors];
  const len = descriptorsLength(ds);
  if (3 + 7 + len + 4 > 1024) throw new RangeError('TOT exceeds 1024 bytes');
  const body = new Uint8Array(7 + len);
  writeUtcTime(body, 0, tot.utc);
  body[5] = 0xf0 | (len >> 8);
  body[6] = len & 0xff;
  writeDescriptors(body, 7, ds);
  return buildShortSection(TOT_TABLE_ID, body, true);
}
