import t from 'tap';
import { hex, toHex, withCrc, throughTs } from '../../helpers/psi.js';
import { parseSectionHeader, sectionCrcOk } from '../../../src/mpegts/psi/section.js';
import { parseSdt, serializeSdt, Sdt, SdtService, SDT_PID } from '../../../src/mpegts/psi/sdt.js';

// SDT actual, TS 1, ONID 0x233A, version 3, two services (EN 300 468 §5.2.3, §6.2.33).
const HAND = withCrc(
  hex(`
  42        // table_id: SDT actual
  f0 3d     // section_syntax_indicator 1, reserved_future_use 1, reserved 11, section_length 61
  00 01     // transport_stream_id
  c7        // reserved 11, version_number 3, current_next_indicator 1
  00 00     // section_number, last_section_number
  23 3a     // original_network_id
  ff        // reserved_future_use
  01 01     // service_id 0x0101
  ff        // reserved_future_use 111111, EIT_schedule 1, EIT_present_following 1
  80 14     // running_status 4, free_CA_mode 0, descriptors_loop_length 20
  48 0e     //   service_descriptor, length 14
  19        //     service_type: H.264 HD
  04 41434d45                //     provider_name "ACME"
  07 4e6577732048 44         //     service_name "News HD"
  53 02 0b 00                //   CA_identifier_descriptor 0x0B00 (kept raw)
  01 02     // service_id 0x0102
  fd        // reserved_future_use, EIT_schedule 0, EIT_present_following 1
  30 13     // running_status 1 (not running), free_CA_mode 1, descriptors_loop_length 19
  48 11     //   service_descriptor, length 17
  02        //     service_type: radio
  00        //     provider_name_length 0
  0e 15 526164696f205a c3bc 72696368   //     service_name 0x15 UTF-8 "Radio Zürich"
`),
);

const EXPECTED: Sdt = {
  tableId: 0x42,
  transportStreamId: 1,
  originalNetworkId: 0x233a,
  version: 3,
  services: [
    {
      serviceId: 0x0101,
      eitSchedule: true,
      eitPresentFollowing: true,
      runningStatus: 4,
      freeCaMode: false,
      serviceType: 0x19,
      providerName: 'ACME',
      serviceName: 'News HD',
      otherDescriptors: [{ tag: 0x53, data: Uint8Array.of(0x0b, 0x00) }],
    },
    {
      serviceId: 0x0102,
      eitSchedule: false,
      eitPresentFollowing: true,
      runningStatus: 1,
      freeCaMode: true,
      serviceType: 0x02,
      providerName: '',
      serviceName: 'Radio Zürich',
      otherDescriptors: [],
    },
  ],
};

t.test('parses a hand-built SDT section', async (t) => {
  t.equal(HAND.length, 64);
  t.ok(sectionCrcOk(HAND));
  const sdt = parseSdt([HAND]);
  t.equal(sdt.tableId, 0x42);
  t.equal(sdt.transportStreamId, 1);
  t.equal(sdt.originalNetworkId, 0x233a);
  t.equal(sdt.version, 3);
  t.equal(sdt.services.length, 2);
  t.same(sdt, EXPECTED);
});

t.test('serializes to the hand-built bytes', async (t) => {
  const out = serializeSdt(EXPECTED);
  t.equal(out.length, 1);
  t.equal(toHex(out[0]), toHex(HAND));
});

t.test('round trip, SDT other and a service without service_descriptor', async (t) => {
  const other: Sdt = { ...EXPECTED, tableId: 0x46, transportStreamId: 9 };
  const s = serializeSdt(other);
  t.equal(s[0][0], 0x46);
  t.same(parseSdt(s), other);
  // A loop without service_descriptor reads as type 0 with empty names.
  const bare = withCrc(hex('42 f0 12 0007 c1 00 00 0001 ff 0005 fc 80 00'));
  const p = parseSdt([bare]);
  t.same(p.services[0], {
    serviceId: 5,
    eitSchedule: false,
    eitPresentFollowing: false,
    runningStatus: 4,
    freeCaMode: false,
    serviceType: 0,
    providerName: '',
    serviceName: '',
    otherDescriptors: [],
  });
});

t.test('empty SDT is one section', async (t) => {
  const empty: Sdt = {
    tableId: 0x42,
    transportStreamId: 2,
    originalNetworkId: 3,
    version: 0,
    services: [],
  };
  const s = serializeSdt(empty);
  t.equal(s.length, 1);
  t.same(parseSdt(s), empty);
});

function bigSdt(n: number): Sdt {
  const services: SdtService[] = [];
  for (let i = 0; i < n; i++) {
    services.push({
      serviceId: 1000 + i,
      eitSchedule: i % 2 === 0,
      eitPresentFollowing: true,
      runningStatus: 4,
      freeCaMode: i % 3 === 0,
      serviceType: 0x19,
      providerName: 'Provider Name ' + i,
      serviceName: `Channel number ${i} with a rather long name`,
      otherDescriptors: [{ tag: 0x5f, data: Uint8Array.of(0, 0, 0, 0x28) }],
    });
  }
  return { tableId: 0x42, transportStreamId: 7, originalNetworkId: 8, version: 30, services };
}

t.test('a long service loop splits over several sections', async (t) => {
  const sdt = bigSdt(120);
  const sections = serializeSdt(sdt);
  t.ok(sections.length > 1, `${sections.length} sections`);
  sections.forEach((s, i) => {
    const h = parseSectionHeader(s);
    t.ok(s.length <= 1024, `section ${i} is ${s.length} bytes`);
    t.ok(sectionCrcOk(s));
    t.equal(h.sectionNumber, i);
    t.equal(h.lastSectionNumber, sections.length - 1);
    t.equal(h.version, 30);
    t.equal(s[1] & 0x40, 0x40, 'private bit set');
  });
  t.same(parseSdt(sections), sdt);
  t.same(parseSdt([...sections].reverse()), sdt, 'order of arrival does not matter');
});

t.test('sections survive TS packetization and reassembly', async (t) => {
  for (const sections of [[HAND], serializeSdt(bigSdt(120))]) {
    const { out, faults } = throughTs(sections, SDT_PID);
    t.same(faults, []);
    t.same(out.map(toHex), sections.map(toHex));
  }
});

t.test('randomized round trip', async (t) => {
  let seed = 0x5d7;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const alphabet = ['a', 'Z', ' ', '9', '\n', '-', 'é', 'Ж', 'Ω', '中', '📺', 'ß'];
  const text = (): string =>
    Array.from({ length: rnd(20) }, () => alphabet[rnd(alphabet.length)]).join('');
  let bad = 0;
  for (let iter = 0; iter < 200; iter++) {
    const services: SdtService[] = Array.from({ length: rnd(40) }, () => ({
      serviceId: rnd(0x10000),
      eitSchedule: rnd(2) === 1,
      eitPresentFollowing: rnd(2) === 1,
      runningStatus: rnd(8),
      freeCaMode: rnd(2) === 1,
      serviceType: rnd(256),
      providerName: text(),
      serviceName: text(),
      otherDescriptors: Array.from({ length: rnd(3) }, () => ({
        tag: 0x49 + rnd(0x30),
        data: Uint8Array.from({ length: rnd(30) }, () => rnd(256)),
      })),
    }));
    const sdt: Sdt = {
      tableId: rnd(2) ? 0x42 : 0x46,
      transportStreamId: rnd(0x10000),
      originalNetworkId: rnd(0x10000),
      version: rnd(32),
      services,
    };
    const sections = serializeSdt(sdt);
    const { out } = throughTs(sections, SDT_PID);
    const back = parseSdt(out);
    if (sections.some((s) => s.length > 1024) || JSON.stringify(back) !== JSON.stringify(sdt)) {
      bad++;
      t.same(back, sdt, `iteration ${iter}`);
    }
  }
  t.equal(bad, 0, '200 random SDTs round-trip');
});
