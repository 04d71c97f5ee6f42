// Event Information Table: ETSI EN 300 468 §5.2.4, PID 0x0012.
// table_id 0x4E p/f actual, 0x4F p/f other, 0x50..0x5F schedule actual, 0x60..0x6F other.
//   long section header (table_id_extension = service_id, private bit = 1)
//   transport_stream_id(16) | original_network_id(16)
//   segment_last_section_number(8) | last_table_id(8)
//   { event_id(16) start_time(40) duration(24)
//     running_status(3) free_CA_mode(1) descriptors_loop_length(12) descriptors }*
//   CRC_32
// Present/following (§5.1.2, §5.2.4): section 0 holds the present event, section 1 the
// following one; either may carry no event. An EIT section is at most 4096 bytes.
// short_event_descriptor 0x4D (§6.2.37): ISO_639_language_code(24) event_name_length(8)
//   event_name text_length(8) text. The writer puts it first in the event's loop.
// extended_event_descriptor 0x4E (§6.2.15): descriptor_number(4) last_descriptor_number(4)
//   ISO_639_language_code(24) length_of_items(8) items text_length(8) text — a text longer
//   than one descriptor continues in the next (receivers join them in descriptor_number order).

import {
  orderedSections as ordered,
  buildLongSection,
  concatBytes,
  MAX_PRIVATE_SECTION,
  parseSectionHeader,
  sectionBody,
} from './section.js';
import {
  Descriptor,
  descriptorsLength,
  parseDescriptors,
  writeDescriptors,
} from './descriptors.js';
import { decodeDvbText, encodeDvbText } from './dvb-text.js';
import { readBcdDuration, readUtcTime, writeBcdDuration, writeUtcTime } from './dvb-time.js';

export const EIT_PID = 0x0012;
export const EIT_PF_ACTUAL_TABLE_ID = 0x4e;
export const EIT_PF_OTHER_TABLE_ID = 0x4f;
export const DESC_SHORT_EVENT = 0x4d;

export interface ShortEvent {
  /** ISO 639-2 code, 3 letters. */
  language: string;
  name: string;
  text: string;
}

export interface EitEvent {
  eventId: number;
  /** UTC start, whole seconds; null when undefined (all bits set). */
  startTime: Date | null;
  durationSec: number;
  runningStatus: number;
  freeCaMode: boolean;
  /** The first short_event_descriptor, decoded. */
  shortEvent?: ShortEvent;
  /** Other descriptors, raw and in order. */
  otherDescriptors: Descriptor[];
}

/** Fields shared by every section of an EIT sub-table. */
export interface EitHeader {
  /** 0x4E by default in EitPf. */
  tableId?: number;
  serviceId: number;
  transportStreamId: number;
  originalNetworkId: number;
  version: number;
}

/** Any EIT sub-table, events in section order. */
export interface Eit extends EitHeader {
  tableId: number;
  segmentLastSectionNumber: number;
  lastTableId: number;
  events: EitEvent[];
}

/** A present/following sub-table: section 0 → present, section 1 → following. */
export interface EitPf extends EitHeader {
  present: EitEvent | null;
  following: EitEvent | null;
}

/** Header (8) + TSID, ONID, segment_last, last_table_id (6) + CRC (4). */
const EIT_OVERHEAD = 8 + 6 + 4;

function parseShortEvent(d: Uint8Array): ShortEvent {
  const nLen = d[3] ?? 0;
  const name = d.subarray(4, Math.min(4 + nLen, d.length));
  const tAt = 4 + nLen;
  const tLen = d[tAt] ?? 0;
  const text = d.subarray(tAt + 1, Math.min(tAt + 1 + tLen, d.length));
  return {
    language: String.fromCharCode(d[0] ?? 0x20, d[1] ?? 0x20, d[2] ?? 0x20),
    name: decodeDvbText(name),
    text: decodeDvbText(text),
  };
}

/** Builds a short_event_descriptor; name and text are cut so it fits 255 bytes. */
export function shortEventDescriptor(e: ShortEvent): Descriptor {
  const name = encodeDvbText(e.name, 126);
  const text = encodeDvbText(e.text, 250 - name.length);
  const data = new Uint8Array(5 + name.length + text.length);
  for (let i = 0; i < 3; i++) data[i] = e.language.charCodeAt(i) & 0xff;
  data[3] = name.length;
  data.set(name, 4);
  data[4 + name.length] = text.length;
  data.set(text, 5 + name.length);
  return { tag: DESC_SHORT_EVENT, data };
}

export const DESC_EXTENDED_EVENT = 0x4e;
/** Text bytes of one extended_event_descriptor without items: 255 − 6. */
const EXTENDED_TEXT_BYTES = 249;

/**
 * A long text as extended_event_descriptors (no items), cut between characters, each part a
 * DVB text of its own; at most `max` (≤ 16) descriptors, the text cut short beyond them.
 */
export function extendedEventDescriptors(language: string, text: string, max = 16): Descriptor[] {
  const parts: Uint8Array[] = [];
  let rest = [...text];
  while (rest.length > 0 && parts.length < Math.min(16, max)) {
    // The most characters whose encoding fits (a character never split).
    let lo = 1;
    let hi = rest.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (encodeDvbText(rest.slice(0, mid).join('')).length <= EXTENDED_TEXT_BYTES) lo = mid;
      else hi = mid - 1;
    }
    parts.push(encodeDvbText(rest.slice(0, lo).join('')));
    rest = rest.slice(lo);
  }
  return parts.map((t, i) => {
    const data = new Uint8Array(6 + t.length);
    data[0] = (i << 4) | (parts.length - 1);
    for (let k = 0; k < 3; k++) data[1 + k] = language.charCodeAt(k) & 0xff;
    data[4] = 0; // length_of_items
    data[5] = t.length;
    data.set(t, 6);
    return { tag: DESC_EXTENDED_EVENT, data };
  });
}

/** Parses the event loop of one EIT section. */
export function parseEitEvents(section: Uint8Array): EitEvent[] {
  const b = sectionBody(section);
  const events: EitEvent[] = [];
  let p = 6;
  while (p + 12 <= b.length) {
    const len = ((b[p + 10] & 0x0f) << 8) | b[p + 11];
    const all = parseDescriptors(b, p + 12, Math.min(p + 12 + len, b.length));
    const seIndex = all.findIndex((d) => d.tag === DESC_SHORT_EVENT);
    const ev: EitEvent = {
      eventId: (b[p] << 8) | b[p + 1],
      startTime: readUtcTime(b, p + 2),
      durationSec: readBcdDuration(b, p + 7),
      runningStatus: b[p + 10] >> 5,
      freeCaMode: (b[p + 10] & 0x10) !== 0,
      otherDescriptors: all.filter((_, i) => i !== seIndex),
    };
    if (seIndex >= 0) ev.shortEvent = parseShortEvent(all[seIndex].data);
    events.push(ev);
    p += 12 + len;
  }
  return events;
}

function headerOf(s: Uint8Array): Omit<Eit, 'events'> {
  const h = parseSectionHeader(s);
  const b = sectionBody(s);
  return {
    tableId: h.tableId,
    serviceId: h.tableIdExtension,
    transportStreamId: (b[0] << 8) | b[1],
    originalNetworkId: (b[2] << 8) | b[3],
    version: h.version,
    segmentLastSectionNumber: b[4],
    lastTableId: b[5],
  };
}

/** Parses the sections of one EIT sub-table (p/f or schedule), events in section order. */
export function parseEit(sections: readonly Uint8Array[]): Eit {
  const list = ordered(sections);
  const events: EitEvent[] = [];
  for (const s of list) events.push(...parseEitEvents(s));
  return { ...headerOf(list[0]), events };
}

/** Parses a present/following sub-table: the event of section 0 and of section 1. */
export function parseEitPf(sections: readonly Uint8Array[]): EitPf {
  const list = ordered(sections);
  const h = headerOf(list[0]);
  const pf: EitPf = {
    tableId: h.tableId,
    serviceId: h.serviceId,
    transportStreamId: h.transportStreamId,
    originalNetworkId: h.originalNetworkId,
    version: h.version,
    present: null,
    following: null,
  };
  for (const s of list) {
    const n = parseSectionHeader(s).sectionNumber;
    const ev = parseEitEvents(s)[0] ?? null;
    if (n === 0) pf.present = ev;
    else if (n === 1) pf.following = ev;
  }
  return pf;
}

/** The bytes of one event in an EIT event loop. */
export function eitEventEntry(ev: EitEvent): Uint8Array {
  const ds = ev.shortEvent
    ? [shortEventDescriptor(ev.shortEvent), ...ev.otherDescriptors]
    : ev.otherDescriptors;
  const len = descriptorsLength(ds);
  if (len > 0xfff) throw new RangeError(`event ${ev.eventId} descriptors exceed 4095 bytes`);
  const e = new Uint8Array(12 + len);
  e[0] = ev.eventId >> 8;
  e[1] = ev.eventId & 0xff;
  writeUtcTime(e, 2, ev.startTime);
  writeBcdDuration(e, 7, ev.durationSec);
  e[10] = ((ev.runningStatus & 0x07) << 5) | (ev.freeCaMode ? 0x10 : 0) | (len >> 8);
  e[11] = len & 0xff;
  writeDescriptors(e, 12, ds);
  return e;
}

/**
 * Serializes a present/following EIT into its two sections (section 0 present, section 1
 * following; an absent event leaves its section with an empty loop).
 */
export function serializeEitPf(pf: EitPf): Uint8Array[] {
  const tableId = pf.tableId ?? EIT_PF_ACTUAL_TABLE_ID;
  const head = Uint8Array.of(
    pf.transportStreamId >> 8,
    pf.transportStreamId & 0xff,
    pf.originalNetworkId >> 8,
    pf.originalNetworkId & 0xff,
    1, // segment_last_section_number
    tableId, // last_table_id
  );
  return [pf.present, pf.following].map((ev, i) => {
    const entry = ev ? eitEventEntry(ev) : new Uint8Array(0);
    if (entry.length > MAX_PRIVATE_SECTION - EIT_OVERHEAD)
      throw new RangeError(`event ${ev?.eventId} exceeds one EIT section`);
    return buildLongSection({
      tableId,
      tableIdExtension: pf.serviceId,
      version: pf.version,
      sectionNumber: i,
      lastSectionNumber: 1,
      privateBit: true,
      body: concatBytes([head, entry]),
    });
  });
}
