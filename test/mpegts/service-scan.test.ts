// ServiceScanner: SDT + NIT (LCN) + PAT/PMT of a hand-built multiplex (EN 300 468 §5.2.1,
// §5.2.3; EACEM TR-030 logical channel descriptors).
import t from 'tap';
import { hex, withCrc } from '../helpers/psi.js';
import { packetizeSections } from '../../src/mpegts/psi/section.js';
import { serializePat } from '../../src/mpegts/psi/pat.js';
import { serializePmt } from '../../src/mpegts/psi/pmt.js';
import { serializeSdt, type SdtService } from '../../src/mpegts/psi/sdt.js';
import { NIT_PID, serializeNit, type Nit } from '../../src/mpegts/psi/nit.js';
import {
  parseLcnEntries,
  ServiceScanner,
  type ServiceScanResult,
} from '../../src/mpegts/service-scan.js';

const TSID = 0x0401;
const ONID = 0x0001;

/** service_id, PMT PID, service_type, streams [stream_type, pid]. */
const SERVICES: [number, number, number, [number, number][]][] = [
  [
    0x0101,
    0x100,
    0x19,
    [
      [0x1b, 0x101],
      [0x0f, 0x102],
    ],
  ], // AVC HD TV
  [0x0102, 0x110, 0x02, [[0x03, 0x111]]], // radio by type
  [0x0103, 0x120, 0x01, [[0x0f, 0x121]]], // "TV" with audio only (ffmpeg): radio
  [0x0104, 0x130, 0x0c, [[0x05, 0x131]]], // data broadcast
];

function sdtService(sid: number, type: number, name: string, ca = false): SdtService {
  return {
    serviceId: sid,
    eitSchedule: false,
    eitPresentFollowing: false,
    runningStatus: 4,
    freeCaMode: ca,
    serviceType: type,
    providerName: 'Prov',
    serviceName: name,
    otherDescriptors: [],
  };
}

function tables(withNit: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  out.push(
    packetizeSections(
      serializePat({
        transportStreamId: TSID,
        version: 0,
        programs: [
          { programNumber: 0, pid: NIT_PID },
          ...SERVICES.map(([sid, pid]) => ({ programNumber: sid, pid })),
        ],
      }),
      0,
    ),
  );
  for (const [sid, pid, , streams] of SERVICES) {
    out.push(
      packetizeSections(
        [
          serializePmt({
            programNumber: sid,
            version: 0,
            pcrPid: streams[0][1],
            programInfo: [],
            streams: streams.map(([streamType, p]) => ({ streamType, pid: p, descriptors: [] })),
          }),
        ],
        pid,
      ),
    );
  }
  out.push(
    packetizeSections(
      serializeSdt({
        transportStreamId: TSID,
        originalNetworkId: ONID,
        version: 0,
        services: SERVICES.map(([sid, , type], i) =>
          sdtService(sid, type, `Service ${i + 1}`, sid === 0x0104),
        ),
      }),
      0x11,
    ),
  );
  if (withNit) {
    const nit: Nit = {
      networkId: 0x3001,
      version: 1,
      networkName: 'Test Net',
      networkDescriptors: [],
      transportStreams: [
        {
          transportStreamId: TSID,
          originalNetworkId: ONID,
          services: [],
          logicalChannels: [
            { serviceId: 0x0101, visible: true, lcn: 101 },
            { serviceId: 0x0102, visible: true, lcn: 801 },
            { serviceId: 0x0103, visible: false, lcn: 802 },
          ],
          // HD simulcast numbers under their own EACEM specifier.
          otherDescriptors: [
            { tag: 0x5f, data: hex('00000028') },
            { tag: 0x88, data: hex('0101 fc01') }, // service 0x0101 visible, HD LCN 1
          ],
        },
        {
          transportStreamId: TSID + 1,
          originalNetworkId: ONID,
          services: [],
          logicalChannels: [{ serviceId: 0x0201, visible: true, lcn: 5 }],
          otherDescriptors: [],
        },
      ],
    };
    out.push(packetizeSections(serializeNit(nit), NIT_PID));
  }
  return out;
}

function feed(s: ServiceScanner, parts: Uint8Array[]): void {
  for (const p of parts) s.push(p);
}

t.test('services with SDT names and types, NIT numbers, PMT streams', async (t) => {
  let now = 0;
  const s = new ServiceScanner({ now: () => now });
  const parts = tables(true);
  feed(s, parts.slice(0, -1));
  t.equal(s.complete, false, 'not complete without the NIT (PAT announces one)');
  feed(s, parts.slice(-1));
  t.equal(s.complete, true, 'complete with the NIT');
  now = 1000;
  const r: ServiceScanResult = s.result();
  t.equal(r.transportStreamId, TSID);
  t.equal(r.originalNetworkId, ONID);
  t.equal(r.networkId, 0x3001);
  t.equal(r.networkName, 'Test Net');
  t.same(
    r.services.map((x) => [x.serviceId, x.serviceName, x.providerName, x.kind, x.lcn, x.visible]),
    [
      [0x0101, 'Service 1', 'Prov', 'hd', 101, true],
      [0x0102, 'Service 2', 'Prov', 'radio', 801, true],
      [0x0103, 'Service 3', 'Prov', 'radio', 802, false],
      [0x0104, 'Service 4', 'Prov', 'data', undefined, undefined],
    ],
  );
  t.equal(r.services[0].hdLcn, 1, 'HD simulcast LCN (0x88)');
  t.same(
    r.services.map((x) => x.scrambled),
    [false, false, false, true],
    'free_CA_mode',
  );
  t.same(
    r.services[0].streams.map((x) => [x.pid, x.codec]),
    [
      [0x101, 'h264'],
      [0x102, 'aac'],
    ],
  );
  t.same(
    r.network.map((e) => [e.transportStreamId, e.lcns.map((l) => l.lcn)]),
    [
      [TSID, [101, 801, 802]],
      [TSID + 1, [5]],
    ],
    'every transport stream of the NIT, with its numbers',
  );
});

t.test('no NIT: complete after the bounded wait', async (t) => {
  let now = 0;
  const s = new ServiceScanner({ now: () => now, nitWaitMs: 500 });
  feed(s, tables(false));
  t.equal(s.complete, false);
  now = 499;
  t.equal(s.complete, false);
  now = 500;
  t.equal(s.complete, true, 'complete 500 ms after PAT, PMTs and SDT');
  t.equal(s.result().nitSeen, false);
  t.equal(s.result().services[0].lcn, undefined);
});

t.test('no PMT yet: never complete', async (t) => {
  let now = 0;
  const s = new ServiceScanner({ now: () => now, nitWaitMs: 0 });
  const parts = tables(true);
  feed(s, [parts[0], parts[1], ...parts.slice(-2)]);
  now = 60_000;
  t.equal(s.complete, false);
});

// EACEM TR-030 §6.2.1 logical_channel_descriptor, hand-assembled bit by bit:
//   service_id(16) visible_service_flag(1) reserved(5) logical_channel_number(10)
t.test('LCN descriptor byte layout (hand-computed)', async (t) => {
  // service 0x0065, visible 1, reserved 11111, LCN 101 = 0b00_0110_0101:
  //   byte 2 = 1 11111 00 = 0xfc, byte 3 = 0x65
  // service 0x0066, visible 0, reserved 11111, LCN 1000 = 0b11_1110_1000:
  //   byte 2 = 0 11111 11 = 0x7f, byte 3 = 0xe8
  t.same(parseLcnEntries(hex('0065 fc65 0066 7fe8')), [
    { serviceId: 0x65, visible: true, lcn: 101 },
    { serviceId: 0x66, visible: false, lcn: 1000 },
  ]);
  // NorDig v1: visible(1) reserved(1) LCN(14): 0x3fff is 16383.
  t.same(parseLcnEntries(hex('0001 ffff'), 14), [{ serviceId: 1, visible: true, lcn: 16383 }]);

  // A whole NIT section, written by hand, through the scanner: EACEM 0x83 and 0x88, and a 0x83
  // with no private_data_specifier (read as EACEM's) in a second transport stream.
  const nit = withCrc(
    hex(`
    40 f0 31  // NIT actual, section_length 49
    3001      // network_id
    c1 00 00  // version 0, current; section 0 of 0
    f0 00     // network_descriptors_length 0
    f0 24     // transport_stream_loop_length 36
    0401 0001 f0 12   // TS 0x0401, ONID 1, descriptors 18
      5f 04 00000028  //   private_data_specifier: EACEM
      83 04 0101 fc65 //   LCN: service 0x0101 visible, 101
      88 04 0101 fc01 //   HD simulcast LCN: service 0x0101 visible, 1
    0402 0001 f0 06   // TS 0x0402, ONID 1, descriptors 6
      83 04 0201 7c07 //   LCN, no specifier: service 0x0201 hidden, 7
  `),
  );
  const s = new ServiceScanner({ now: () => 0 });
  feed(s, [...tables(false), packetizeSections([nit], NIT_PID)]);
  const r = s.result();
  t.equal(r.nitSeen, true);
  t.same(
    r.network.map((e) => [e.transportStreamId, e.lcns, e.hdLcns]),
    [
      [
        0x0401,
        [{ serviceId: 0x0101, visible: true, lcn: 101 }],
        [{ serviceId: 0x0101, visible: true, lcn: 1 }],
      ],
      [0x0402, [{ serviceId: 0x0201, visible: false, lcn: 7 }], []],
    ],
  );
  t.equal(r.services[0].lcn, 101);
  t.equal(r.services[0].hdLcn, 1);
});
