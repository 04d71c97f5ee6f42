import t from 'tap';
import { hex, toHex, withCrc, throughTs } from '../../helpers/psi.js';
import { parseSectionHeader, sectionCrcOk } from '../../../src/mpegts/psi/section.js';
import {
  EIT_PID,
  EitEvent,
  EitPf,
  parseEit,
  parseEitPf,
  serializeEitPf,
} from '../../../src/mpegts/psi/eit.js';

// EIT p/f actual for service 0x0101, version 2 (EN 300 468 §5.2.4, §6.2.37).
const PRESENT = withCrc(
  hex(`
  4e        // table_id: EIT p/f actual
  f0 3b     // section_syntax_indicator 1, reserved_future_use 1, reserved 11, section_length 59
  01 01     // service_id
  c5        // reserved 11, version_number 2, current_next_indicator 1
  00 01     // section_number 0 (present), last_section_number 1
  00 01     // transport_stream_id
  23 3a     // original_network_id
  01        // segment_last_section_number
  4e        // last_table_id
  12 34     // event_id
  ebdb 193000   // start_time: MJD 0xEBDB (2024-03-10), 19:30:00 UTC
  014500        // duration 01:45:00
  80 20     // running_status 4, free_CA_mode 0, descriptors_loop_length 32
  4d 1a     //   short_event_descriptor, length 26
  646575    //     ISO_639_language_code "deu"
  0a 54616765737363686175     //     event_name "Tagesschau"
  0b 4e6163687269636874656e   //     text "Nachrichten"
  54 02 2000                  //   content_descriptor (kept raw)
`),
);
const FOLLOWING = withCrc(
  hex(`
  4e f0 0f  // table_id, section_length 15
  01 01 c5  // service_id, version 2
  01 01     // section_number 1 (following), last_section_number 1
  0001 233a 01 4e  // TSID, ONID, segment_last_section_number, last_table_id
            // no event
`),
);

const EXPECTED: EitPf = {
  tableId: 0x4e,
  serviceId: 0x0101,
  transportStreamId: 1,
  originalNetworkId: 0x233a,
  version: 2,
  present: {
    eventId: 0x1234,
    startTime: new Date(Date.UTC(2024, 2, 10, 19, 30, 0)),
    durationSec: 6300,
    runningStatus: 4,
    freeCaMode: false,
    shortEvent: { language: 'deu', name: 'Tagesschau', text: 'Nachrichten' },
    otherDescriptors: [{ tag: 0x54, data: Uint8Array.of(0x20, 0x00) }],
  },
  following: null,
};

t.test('parses hand-built p/f sections', async (t) => {
  t.ok(sectionCrcOk(PRESENT) && sectionCrcOk(FOLLOWING));
  const pf = parseEitPf([PRESENT, FOLLOWING]);
  t.equal(pf.serviceId, 0x0101);
  t.equal(pf.present?.startTime?.toISOString(), '2024-03-10T19:30:00.000Z');
  t.equal(pf.present?.durationSec, 105 * 60);
  t.same(pf, EXPECTED);
  const eit = parseEit([FOLLOWING, PRESENT]);
  t.equal(eit.segmentLastSectionNumber, 1);
  t.equal(eit.lastTableId, 0x4e);
  t.equal(eit.events.length, 1);
  t.same(eit.events[0], EXPECTED.present);
});

t.test('serializes to the hand-built bytes', async (t) => {
  const s = serializeEitPf(EXPECTED);
  t.equal(s.length, 2);
  t.equal(toHex(s[0]), toHex(PRESENT));
  t.equal(toHex(s[1]), toHex(FOLLOWING));
});

t.test('parses a schedule section (0x50) with an undefined start time', async (t) => {
  const s = withCrc(
    hex(`
    50 f0 27  // table_id: EIT schedule actual, section_length 39
    0101 c1   // service_id, version 0
    08 0f     // section_number 8, last_section_number 15
    0001 233a // TSID, ONID
    0f 51     // segment_last_section_number 15, last_table_id 0x51
    0001 ebdc 000000 003000 10 00  // event 1: 2024-03-11 00:00, 30 min, status 0, free_CA 1
    0002 ffffffffff 013000 00 00   // event 2: start undefined, 1h30
  `),
  );
  const eit = parseEit([s]);
  t.equal(eit.tableId, 0x50);
  t.equal(eit.segmentLastSectionNumber, 15);
  t.equal(eit.lastTableId, 0x51);
  t.same(eit.events, [
    {
      eventId: 1,
      startTime: new Date(Date.UTC(2024, 2, 11)),
      durationSec: 1800,
      runningStatus: 0,
      freeCaMode: true,
      otherDescriptors: [],
    },
    {
      eventId: 2,
      startTime: null,
      durationSec: 5400,
      runningStatus: 0,
      freeCaMode: false,
      otherDescriptors: [],
    },
  ]);
});

function event(id: number, extra = 0): EitEvent {
  return {
    eventId: id,
    startTime: new Date(Date.UTC(2025, 0, 1, 6, 0, 0) + id * 60_000),
    durationSec: 3599,
    runningStatus: id === 1 ? 4 : 1,
    freeCaMode: id % 2 === 0,
    shortEvent: { language: 'fra', name: 'Journal télévisé', text: 'Les titres\nMétéo' },
    otherDescriptors: Array.from({ length: extra }, (_, i) => ({
      tag: 0x4e,
      data: Uint8Array.from({ length: 250 }, (_, k) => (i + k) & 0xff),
    })),
  };
}

t.test('round trip: present only, following only, both, other TS (0x4F)', async (t) => {
  const base = {
    tableId: 0x4e,
    serviceId: 7,
    transportStreamId: 8,
    originalNetworkId: 9,
    version: 31,
  };
  for (const pf of [
    { ...base, present: event(1), following: null },
    { ...base, present: null, following: event(2) },
    { ...base, present: event(1), following: event(2) },
    { ...base, tableId: 0x4f, present: null, following: null },
  ]) {
    const s = serializeEitPf(pf);
    t.equal(s.length, 2);
    s.forEach((x, i) => {
      const h = parseSectionHeader(x);
      t.equal(h.sectionNumber, i);
      t.equal(h.lastSectionNumber, 1);
      t.equal(x[1] & 0x40, 0x40, 'private bit set');
      t.equal(x[12], 1, 'segment_last_section_number');
      t.equal(x[13], pf.tableId, 'last_table_id');
    });
    t.same(parseEitPf(s), pf);
  }
});

t.test('large events: up to 4096 bytes per section, beyond throws', async (t) => {
  const pf: EitPf = {
    tableId: 0x4e,
    serviceId: 1,
    transportStreamId: 1,
    originalNetworkId: 1,
    version: 0,
    present: event(1, 15),
    following: event(2, 3),
  };
  const s = serializeEitPf(pf);
  t.ok(s[0].length > 1024 && s[0].length <= 4096, `${s[0].length} bytes`);
  t.same(parseEitPf(s), pf);
  const { out, faults } = throughTs(s, EIT_PID);
  t.same(faults, []);
  t.same(out.map(toHex), s.map(toHex));
  t.throws(() => serializeEitPf({ ...pf, present: event(1, 16) }), RangeError);
});

t.test('short_event_descriptor fields are cut to fit 255 bytes', async (t) => {
  const long = 'x'.repeat(300);
  const pf: EitPf = {
    tableId: 0x4e,
    serviceId: 1,
    transportStreamId: 1,
    originalNetworkId: 1,
    version: 0,
    present: { ...event(1), shortEvent: { language: 'eng', name: long, text: long } },
    following: null,
  };
  const back = parseEitPf(serializeEitPf(pf));
  t.equal(back.present?.shortEvent?.name, 'x'.repeat(126));
  t.equal(back.present?.shortEvent?.text, 'x'.repeat(250 - 126));
});

t.test('sections survive TS packetization and reassembly', async (t) => {
  const sections = [PRESENT, FOLLOWING, ...serializeEitPf({ ...EXPECTED, following: event(5) })];
  const { out, faults } = throughTs(sections, EIT_PID);
  t.same(faults, []);
  t.same(out.map(toHex), sections.map(toHex));
});
