import t from 'tap';
import { hex, toHex, withCrc, throughTs } from '../../helpers/psi.js';
import { sectionCrcOk, sectionHasCrc } from '../../../src/mpegts/psi/section.js';
import {
  parseTdt,
  parseTot,
  serializeTdt,
  serializeTot,
  TDT_TOT_PID,
  Tot,
} from '../../../src/mpegts/psi/tdt-tot.js';

// TDT (EN 300 468 §5.2.5) carrying the Annex C example time 93/10/13 12:45:00.
const TDT = hex(`
  70        // table_id: TDT
  70 05     // section_syntax_indicator 0, reserved_future_use 1, reserved 11, section_length 5
  c079 124500  // UTC_time: MJD 0xC079, 12:45:00
`);

// TOT (§5.2.6) with a local_time_offset_descriptor (§6.2.20) for two regions.
const TOT = withCrc(
  hex(`
  73        // table_id: TOT
  70 27     // section_syntax_indicator 0, reserved_future_use 1, reserved 11, section_length 39
  ebf0 005959  // UTC_time: 2024-03-31 00:59:59
  f0 1c     // reserved 1111, descriptors_loop_length 28
  58 1a     //   local_time_offset_descriptor, length 26
  444555    //     country_code "DEU"
  02        //     country_region_id 0, reserved 1, local_time_offset_polarity 0
  0100      //     local_time_offset +01:00
  ebf0 010000  //  time_of_change 2024-03-31 01:00:00
  0200      //     next_time_offset +02:00
  425241    //     country_code "BRA"
  07        //     country_region_id 1, reserved 1, local_time_offset_polarity 1 (west)
  0300      //     local_time_offset -03:00
  ffffffffff   //  time_of_change undefined
  0300      //     next_time_offset -03:00
`),
);

const TOT_EXPECTED: Tot = {
  utc: new Date(Date.UTC(2024, 2, 31, 0, 59, 59)),
  offsets: [
    {
      countryCode: 'DEU',
      regionId: 0,
      offsetMinutes: 60,
      timeOfChange: new Date(Date.UTC(2024, 2, 31, 1, 0, 0)),
      nextOffsetMinutes: 120,
    },
    {
      countryCode: 'BRA',
      regionId: 1,
      offsetMinutes: -180,
      timeOfChange: null,
      nextOffsetMinutes: -180,
    },
  ],
  otherDescriptors: [],
};

t.test('TDT: parse hand-built bytes, serialize back', async (t) => {
  t.notOk(sectionHasCrc(TDT), 'no CRC');
  t.equal(parseTdt(TDT).utc.toISOString(), '1993-10-13T12:45:00.000Z');
  t.equal(toHex(serializeTdt({ utc: new Date(Date.UTC(1993, 9, 13, 12, 45)) })), toHex(TDT));
  const now = new Date(Date.UTC(2031, 6, 4, 23, 5, 9));
  t.same(parseTdt(serializeTdt({ utc: now })), { utc: now });
});

t.test('TOT: parse hand-built bytes', async (t) => {
  t.ok(sectionHasCrc(TOT) && sectionCrcOk(TOT));
  const tot = parseTot(TOT);
  t.equal(tot.utc.toISOString(), '2024-03-31T00:59:59.000Z');
  t.equal(tot.offsets.length, 2);
  t.equal(tot.offsets[1].offsetMinutes, -180);
  t.equal(tot.offsets[1].timeOfChange, null);
  t.same(tot, TOT_EXPECTED);
});

t.test('TOT: serialize to the hand-built bytes and round trip', async (t) => {
  t.equal(toHex(serializeTot(TOT_EXPECTED)), toHex(TOT));
  const withOther: Tot = {
    ...TOT_EXPECTED,
    otherDescriptors: [{ tag: 0x5f, data: Uint8Array.of(0, 0, 0, 0x28) }],
  };
  t.same(parseTot(serializeTot(withOther)), withOther);
  const empty: Tot = { utc: new Date(0), offsets: [], otherDescriptors: [] };
  t.same(parseTot(serializeTot(empty)), empty);
});

t.test('TOT: more than 19 regions use several descriptors', async (t) => {
  const offsets = Array.from({ length: 45 }, (_, i) => ({
    countryCode: 'AUS',
    regionId: i + 1,
    offsetMinutes: 600 + (i % 3) * 30,
    timeOfChange: new Date(Date.UTC(2025, 3, 6, 16, 0, 0)),
    nextOffsetMinutes: 540 + (i % 3) * 30,
  }));
  const tot: Tot = { utc: new Date(Date.UTC(2025, 0, 1)), offsets, otherDescriptors: [] };
  const s = serializeTot(tot);
  t.equal(((s[8] & 0x0f) << 8) | s[9], 3 * 2 + 45 * 13, 'three descriptors');
  t.same(parseTot(s), tot);
});

t.test('TOT: offsets of opposite sign cannot share the polarity bit', async (t) => {
  const bad = { ...TOT_EXPECTED.offsets[0], offsetMinutes: -60, nextOffsetMinutes: 60 };
  t.throws(() => serializeTot({ ...TOT_EXPECTED, offsets: [bad] }), RangeError);
  const west = { ...TOT_EXPECTED.offsets[0], offsetMinutes: 0, nextOffsetMinutes: -60 };
  const s = serializeTot({ ...TOT_EXPECTED, offsets: [west] });
  t.same(parseTot(s).offsets[0], west, 'zero with negative next offset');
});

t.test('TDT and TOT survive TS packetization and reassembly', async (t) => {
  const sections = [TDT, TOT, serializeTot(TOT_EXPECTED)];
  const { out, faults } = throughTs(sections, TDT_TOT_PID);
  t.same(faults, []);
  t.same(out.map(toHex), sections.map(toHex));
});
