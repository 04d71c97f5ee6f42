// EIT schedule segmentation (eit-schedule.ts): ETSI TS 101 211 §4.1.4.2 — 3-hour segments from
// 00:00 UTC of the first day, 8 sections per segment, 32 segments per table_id, empty segments
// as one empty section, segment_last_section_number / last_section_number / last_table_id.
import t from 'tap';
import { serializeEitSchedule } from '../../../src/mpegts/psi/eit-schedule.js';
import { parseEitEvents, type EitEvent } from '../../../src/mpegts/psi/eit.js';
import { parseSectionHeader } from '../../../src/mpegts/psi/section.js';
import { crc32Mpeg2 } from '../../../src/mpegts/crc32.js';

const DAY0 = Date.UTC(2026, 11, 4);
const H = 3_600_000;
const ev = (id: number, atMs: number, name = `E${id}`, text = ''): EitEvent => ({
  eventId: id,
  startTime: new Date(atMs),
  durationSec: 1800,
  runningStatus: 0,
  freeCaMode: false,
  shortEvent: { language: 'eng', name, text },
  otherDescriptors: [],
});
const H_ = { serviceId: 5, transportStreamId: 6, originalNetworkId: 0xff01, version: 3 };

t.test('segments, section numbers, the two sub-tables', async (t) => {
  const events = [
    ev(1, DAY0 - H), // yesterday: left out
    ev(2, DAY0 + 1 * H), // segment 0
    ev(3, DAY0 + 7 * H), // segment 2
    ev(4, DAY0 + 5 * 24 * H + 4 * H), // day 5, 04:00: segment 41 = table 0x51, segment 9
    ev(5, DAY0 + 9 * 24 * H), // beyond 8 days: left out
  ];
  const sections = serializeEitSchedule(H_, DAY0, 8, events);
  const heads = sections.map((s) => ({
    ...parseSectionHeader(s),
    segLast: s[12],
    lastTable: s[13],
  }));
  const t50 = heads.filter((h) => h.tableId === 0x50);
  const t51 = heads.filter((h) => h.tableId === 0x51);
  t.equal(t50.length, 32, 'table 0x50: one section for each of its 32 segments');
  t.same(
    t50.map((h) => h.sectionNumber),
    Array.from({ length: 32 }, (_, i) => i * 8),
  );
  t.ok(
    t50.every((h) => h.lastSectionNumber === 248),
    'last_section_number: segment 31',
  );
  t.equal(t51.length, 10, 'table 0x51: segments 32..41');
  t.ok(t51.every((h) => h.lastSectionNumber === 72));
  t.ok(
    heads.every((h) => h.segLast === h.sectionNumber),
    'one section per segment here',
  );
  t.ok(
    heads.every((h) => h.lastTable === 0x51),
    'last_table_id 0x51',
  );
  t.ok(heads.every((h) => h.version === 3 && h.tableIdExtension === 5));
  t.ok(
    sections.every((s) => crc32Mpeg2(s) === 0),
    'CRC_32 of each section',
  );
  const ids = (s: Uint8Array) => parseEitEvents(s).map((e) => e.eventId);
  t.same(ids(sections[0]), [2]);
  t.same(ids(sections[1]), [], 'segment 1: empty');
  t.same(ids(sections[2]), [3]);
  t.same(ids(sections[32 + 9]), [4]);
  t.same(serializeEitSchedule(H_, DAY0, 8, [ev(1, DAY0 - H)]), [], 'nothing to list: no sections');
});

t.test('a full segment spreads over up to 8 sections of ≤ 4096 bytes', async (t) => {
  const long = 'x'.repeat(200);
  const events = Array.from({ length: 60 }, (_, i) => ev(i, DAY0 + 60_000 * i, `Event ${i}`, long));
  const sections = serializeEitSchedule(H_, DAY0, 1, events);
  const seg0 = sections.filter((s) => parseSectionHeader(s).sectionNumber < 8);
  t.ok(seg0.length > 1 && seg0.length <= 8, `${seg0.length} sections for segment 0`);
  t.ok(sections.every((s) => s.length <= 4096));
  t.ok(
    seg0.every((s) => s[12] === seg0.length - 1),
    'segment_last_section_number',
  );
  const listed = seg0.flatMap((s) => parseEitEvents(s).map((e) => e.eventId));
  t.same(
    listed,
    listed.slice().sort((a, b) => a - b),
    'in start order',
  );
  t.equal(listed.length, 60, 'all 60 fit in 8 sections');
});
