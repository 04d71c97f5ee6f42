import t from 'tap';
import { hex, toHex, withCrc, throughTs } from '../../helpers/psi.js';
import { parseSectionHeader, sectionBody, sectionCrcOk } from '../../../src/mpegts/psi/section.js';
import {
  Nit,
  NitTransportStream,
  NIT_PID,
  parseNit,
  serializeNit,
} from '../../../src/mpegts/psi/nit.js';

// NIT actual, network 0x3001, version 5 (EN 300 468 §5.2.1, §6.2.27, §6.2.35; EACEM LCN).
const HAND = withCrc(
  hex(`
  40        // table_id: NIT actual
  f0 4a     // section_syntax_indicator 1, reserved_future_use 1, reserved 11, section_length 74
  30 01     // network_id
  cb        // reserved 11, version_number 5, current_next_indicator 1
  00 00     // section_number, last_section_number
  f0 12     // reserved_future_use 1111, network_descriptors_length 18
  40 07 4d792049505456        //   network_name_descriptor "My IPTV"
  4a 07 0001 233a 0101 04     //   linkage_descriptor (kept raw)
  f0 2b     // reserved_future_use 1111, transport_stream_loop_length 43
  00 01     // transport_stream_id 1
  23 3a     // original_network_id
  f0 25     // reserved_future_use 1111, transport_descriptors_length 37
  41 06     //   service_list_descriptor, length 6
  0101 19   //     service 0x0101, type H.264 HD
  0102 02   //     service 0x0102, type radio
  44 0b 03460000 fff2 03 0069000f  //   cable_delivery_system_descriptor (kept raw)
  5f 04 00000028                   //   private_data_specifier: EACEM
  83 08     //   logical_channel_descriptor, length 8
  0101 fc01 //     service 0x0101, visible 1, reserved 11111, LCN 1
  0102 7e01 //     service 0x0102, visible 0, reserved 11111, LCN 513
`),
);

const EXPECTED: Nit = {
  tableId: 0x40,
  networkId: 0x3001,
  version: 5,
  networkName: 'My IPTV',
  networkDescriptors: [{ tag: 0x4a, data: hex('0001 233a 0101 04') }],
  transportStreams: [
    {
      transportStreamId: 1,
      originalNetworkId: 0x233a,
      services: [
        { serviceId: 0x0101, serviceType: 0x19 },
        { serviceId: 0x0102, serviceType: 0x02 },
      ],
      logicalChannels: [
        { serviceId: 0x0101, visible: true, lcn: 1 },
        { serviceId: 0x0102, visible: false, lcn: 513 },
      ],
      otherDescriptors: [{ tag: 0x44, data: hex('03460000 fff2 03 0069000f') }],
    },
  ],
};

t.test('parses a hand-built NIT section', async (t) => {
  t.equal(HAND.length, 77);
  t.ok(sectionCrcOk(HAND));
  const nit = parseNit([HAND]);
  t.equal(nit.networkId, 0x3001);
  t.equal(nit.version, 5);
  t.equal(nit.networkName, 'My IPTV');
  t.equal(nit.transportStreams[0].logicalChannels[1].lcn, 513);
  t.same(nit, EXPECTED);
});

t.test('serializes to the hand-built bytes', async (t) => {
  const out = serializeNit(EXPECTED);
  t.equal(out.length, 1);
  t.equal(toHex(out[0]), toHex(HAND));
});

function tsWith(descs: string): Uint8Array {
  const d = hex(descs);
  const loop = Uint8Array.from([
    0x00,
    0x02,
    0x00,
    0x03,
    0xf0 | (d.length >> 8),
    d.length & 0xff,
    ...d,
  ]);
  const body = Uint8Array.from([
    0xf0,
    0x00,
    0xf0 | (loop.length >> 8),
    loop.length & 0xff,
    ...loop,
  ]);
  const len = 5 + body.length + 4;
  return withCrc(
    Uint8Array.from([0x40, 0xf0 | (len >> 8), len & 0xff, 0x00, 0x01, 0xc1, 0, 0, ...body]),
  );
}

t.test('LCN descriptors are read only in EACEM scope', async (t) => {
  const bare = parseNit([tsWith('83 04 0101 fc05')]).transportStreams[0];
  t.same(bare.logicalChannels, [], 'no private_data_specifier: raw');
  t.same(bare.otherDescriptors, [{ tag: 0x83, data: hex('0101 fc05') }]);
  const nordig = parseNit([tsWith('5f 04 00000029 83 04 0101 fc05')]).transportStreams[0];
  t.same(nordig.logicalChannels, [], 'NorDig scope: raw');
  t.equal(nordig.otherDescriptors.length, 2);
  // EACEM scope holding another private descriptor: the specifier stays, LCNs are read.
  const mixed = parseNit([tsWith('5f 04 00000028 83 04 0101 fc05 86 01 aa')]);
  t.same(mixed.transportStreams[0].logicalChannels, [{ serviceId: 0x0101, visible: true, lcn: 5 }]);
  t.same(
    mixed.transportStreams[0].otherDescriptors.map((d) => d.tag),
    [0x5f, 0x86],
  );
  const again = parseNit(serializeNit(mixed));
  t.same(again, mixed, 'stable through serialize');
});

t.test('service list and LCN loops over 255 bytes use several descriptors', async (t) => {
  const ts: NitTransportStream = {
    transportStreamId: 1,
    originalNetworkId: 2,
    services: Array.from({ length: 100 }, (_, i) => ({ serviceId: i + 1, serviceType: 1 })),
    logicalChannels: Array.from({ length: 100 }, (_, i) => ({
      serviceId: i + 1,
      visible: true,
      lcn: i + 1,
    })),
    otherDescriptors: [],
  };
  const nit: Nit = {
    tableId: 0x40,
    networkId: 1,
    version: 0,
    networkName: '',
    networkDescriptors: [],
    transportStreams: [ts],
  };
  const s = serializeNit(nit);
  t.equal(s.length, 1);
  t.same(parseNit(s), nit);
});

function bigNit(nTs: number): Nit {
  const transportStreams: NitTransportStream[] = [];
  for (let i = 0; i < nTs; i++) {
    transportStreams.push({
      transportStreamId: i + 1,
      originalNetworkId: 0x233a,
      services: Array.from({ length: 10 }, (_, k) => ({
        serviceId: i * 16 + k,
        serviceType: 0x19,
      })),
      logicalChannels: Array.from({ length: 10 }, (_, k) => ({
        serviceId: i * 16 + k,
        visible: k !== 3,
        lcn: (i * 10 + k) & 0x3ff,
      })),
      otherDescriptors: [{ tag: 0x44, data: hex('03460000 fff2 03 0069000f') }],
    });
  }
  return {
    tableId: 0x40,
    networkId: 0x3001,
    version: 17,
    networkName: 'Réseau',
    networkDescriptors: [{ tag: 0x4a, data: hex('0001 233a 0101 04') }],
    transportStreams,
  };
}

t.test('a long transport stream loop splits; network descriptors stay in section 0', async (t) => {
  const nit = bigNit(40);
  const sections = serializeNit(nit);
  t.ok(sections.length > 1, `${sections.length} sections`);
  sections.forEach((s, i) => {
    const h = parseSectionHeader(s);
    t.ok(s.length <= 1024, `section ${i} is ${s.length} bytes`);
    t.ok(sectionCrcOk(s));
    t.equal(h.sectionNumber, i);
    t.equal(h.lastSectionNumber, sections.length - 1);
    const b = sectionBody(s);
    const ndLen = ((b[0] & 0x0f) << 8) | b[1];
    if (i === 0) t.ok(ndLen > 0, 'network descriptors in section 0');
    else t.equal(ndLen, 0, `no network descriptors in section ${i}`);
  });
  t.same(parseNit(sections), nit);
  t.same(parseNit([...sections].reverse()), nit);
});

t.test('sections survive TS packetization and reassembly', async (t) => {
  for (const sections of [[HAND], serializeNit(bigNit(40))]) {
    const { out, faults } = throughTs(sections, NIT_PID);
    t.same(faults, []);
    t.same(out.map(toHex), sections.map(toHex));
  }
});

t.test('randomized round trip', async (t) => {
  let seed = 0x417;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const alphabet = ['N', 'e', 't', ' ', '1', 'ü', 'Ж', '中', '📡'];
  const text = (): string =>
    Array.from({ length: rnd(16) }, () => alphabet[rnd(alphabet.length)]).join('');
  // Tags the reader interprets (0x40 network name, 0x41, 0x5F, 0x83) are left out of raw loops.
  const rawTags = [0x42, 0x43, 0x44, 0x4a, 0x5a, 0x62, 0x6d, 0x7f];
  const raw = (): { tag: number; data: Uint8Array } => ({
    tag: rawTags[rnd(rawTags.length)],
    data: Uint8Array.from({ length: rnd(20) }, () => rnd(256)),
  });
  let bad = 0;
  for (let iter = 0; iter < 200; iter++) {
    const nit: Nit = {
      tableId: rnd(2) ? 0x40 : 0x41,
      networkId: rnd(0x10000),
      version: rnd(32),
      networkName: text(),
      networkDescriptors: Array.from({ length: rnd(3) }, raw),
      transportStreams: Array.from({ length: rnd(30) }, () => ({
        transportStreamId: rnd(0x10000),
        originalNetworkId: rnd(0x10000),
        services: Array.from({ length: rnd(12) }, () => ({
          serviceId: rnd(0x10000),
          serviceType: rnd(256),
        })),
        logicalChannels: Array.from({ length: rnd(12) }, () => ({
          serviceId: rnd(0x10000),
          visible: rnd(2) === 1,
          lcn: rnd(1024),
        })),
        otherDescriptors: Array.from({ length: rnd(3) }, raw),
      })),
    };
    const sections = serializeNit(nit);
    const { out } = throughTs(sections, NIT_PID);
    const back = parseNit(out);
    if (sections.some((s) => s.length > 1024) || JSON.stringify(back) !== JSON.stringify(nit)) {
      bad++;
      t.same(back, nit, `iteration ${iter}`);
    }
  }
  t.equal(bad, 0, '200 random NITs round-trip');
});

t.test('HD simulcast LCNs (0x88) in EACEM scope: read, written after the 0x83s', async (t) => {
  // An HD service 0x0102 numbered 5 on HD receivers, 105 on others; an SD twin 0x0101 at 5.
  const hand = tsWith('5f 04 00000028 83 08 0101 fc05 0102 fc69 88 04 0102 fc05');
  const nit = parseNit([hand]);
  const ts = nit.transportStreams[0];
  t.same(ts.logicalChannels, [
    { serviceId: 0x0101, visible: true, lcn: 5 },
    { serviceId: 0x0102, visible: true, lcn: 105 },
  ]);
  t.same(ts.hdSimulcastChannels, [{ serviceId: 0x0102, visible: true, lcn: 5 }]);
  t.same(ts.otherDescriptors, [], 'the EACEM specifier is implied');
  t.equal(toHex(serializeNit(nit)[0]), toHex(hand), 'written back byte for byte');
});
