// EIT schedule, actual transport stream: ETSI EN 300 468 §5.2.4 with the segmentation of
// ETSI TS 101 211 §4.1.4.2. Section layout as in eit.ts (table_id_extension = service_id).
//   - table_id 0x50 holds the first 4 days, 0x51 the next 4 (… up to 0x5F); last_table_id is
//     the last one used.
//   - Each sub-table (table_id) is 32 segments of 3 hours, segment 0 starting at 00:00 UTC of
//     the first day ("today"); a segment is up to 8 sections, section_number = 8 × segment + k.
//   - An event goes in the segment of its start time, events in start order; a segment's
//     sections carry segment_last_section_number = its own last section; a segment without
//     events (up to the last one holding events) is one empty section.
//   - last_section_number = the last section of the sub-table's last segment in use.
//   - Each section at most 4096 bytes (§5.1.4: private sections of EIT).

import { buildLongSection, concatBytes, MAX_PRIVATE_SECTION } from './section.js';
import { eitEventEntry, type EitEvent } from './eit.js';

export const EIT_SCHEDULE_ACTUAL_FIRST = 0x50;
const SEGMENT_MS = 3 * 3_600_000;
const SEGMENTS_PER_TABLE = 32;
const SECTIONS_PER_SEGMENT = 8;
/** Header (8) + TSID, ONID, segment_last, last_table_id (6) + CRC (4). */
const OVERHEAD = 8 + 6 + 4;

export interface EitScheduleHeader {
  serviceId: number;
  transportStreamId: number;
  originalNetworkId: number;
  version: number;
}

/**
 * The schedule sections of `events` (sorted by start) from `dayStartMs` (00:00 UTC of the
 * first day) for `days` days (1-64), all sub-tables in order. Events starting before
 * dayStartMs or after the last day are left out (the present one is in p/f). Events too many
 * for one segment's 8 sections are dropped from its end.
 */
export function serializeEitSchedule(
  h: EitScheduleHeader,
  dayStartMs: number,
  days: number,
  events: readonly EitEvent[],
): Uint8Array[] {
  const segments = Math.ceil((days * 24) / 3);
  const bySegment: Uint8Array[][] = Array.from({ length: segments }, () => []);
  for (const ev of events) {
    if (ev.startTime === null) continue;
    const seg = Math.floor((ev.startTime.getTime() - dayStartMs) / SEGMENT_MS);
    if (seg >= 0 && seg < segments) bySegment[seg].push(eitEventEntry(ev));
  }
  let lastUsed = -1;
  bySegment.forEach((s, i) => {
    if (s.length > 0) lastUsed = i;
  });
  if (lastUsed < 0) return [];
  const lastTable = Math.floor(lastUsed / SEGMENTS_PER_TABLE);
  const out: Uint8Array[] = [];
  for (let table = 0; table <= lastTable; table++) {
    const tableId = EIT_SCHEDULE_ACTUAL_FIRST + table;
    const first = table * SEGMENTS_PER_TABLE;
    const last = table === lastTable ? lastUsed : first + SEGMENTS_PER_TABLE - 1;
    // Each segment's sections: entries packed up to the section size, at most 8.
    const packed = [];
    for (let seg = first; seg <= last; seg++) {
      const sections: Uint8Array[][] = [[]];
      let size = 0;
      for (const e of bySegment[seg]) {
        if (size + e.length > MAX_PRIVATE_SECTION - OVERHEAD && sections.at(-1)!.length > 0) {
          if (sections.length === SECTIONS_PER_SEGMENT) break;
          sections.push([]);
          size = 0;
        }
        sections.at(-1)!.push(e);
        size += e.length;
      }
      packed.push(sections);
    }
    const lastSection = (last - first) * SECTIONS_PER_SEGMENT + packed.at(-1)!.length - 1;
    packed.forEach((sections, i) => {
      const base = i * SECTIONS_PER_SEGMENT;
      const segmentLast = base + sections.length - 1;
      sections.forEach((entries, k) => {
        const head = Uint8Array.of(
          h.transportStreamId >> 8,
          h.transportStreamId & 0xff,
          h.originalNetworkId >> 8,
          h.originalNetworkId & 0xff,
          segmentLast,
          EIT_SCHEDULE_ACTUAL_FIRST + lastTable,
        );
        out.push(
          buildLongSection({
            tableId,
            tableIdExtension: h.serviceId,
            version: h.version,
            sectionNumber: base + k,
            lastSectionNumber: lastSection,
            privateBit: true,
            body: concatBytes([head, ...entries]),
          }),
        );
      });
    });
  }
  return out;
}
