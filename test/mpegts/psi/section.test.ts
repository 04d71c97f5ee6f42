import t from 'tap';
import {
  buildLongSection,
  packetizeSections,
  parseSectionHeader,
  sectionCrcOk,
  packEntries,
} from '../../../src/mpegts/psi/section.js';
import { SectionAssembler } from '../../../src/mpegts/psi/assembler.js';
import type { SectionFault } from '../../../src/mpegts/psi/assembler.js';
import { TableCollector } from '../../../src/mpegts/psi/table-collector.js';
import { parsePat, serializePat } from '../../../src/mpegts/psi/pat.js';
import { parsePmt, serializePmt } from '../../../src/mpegts/psi/pmt.js';
import { languageDescriptor, languagesOf } from '../../../src/mpegts/psi/descriptors.js';

const PAT_BYTES = [
  0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2,
];

function collect() {
  const sections: Uint8Array[] = [];
  const faults: SectionFault[] = [];
  return {
    sections,
    faults,
    events: {
      onSection: (s: Uint8Array) => sections.push(s),
      onFault: (f: SectionFault) => faults.push(f),
    },
  };
}

function tsPacket(pid: number, pusi: boolean, cc: number, payload: number[]): Uint8Array {
  const b = new Uint8Array(188).fill(0xff);
  b.set([0x47, (pusi ? 0x40 : 0) | (pid >> 8), pid & 0xff, 0x10 | cc]);
  b.set(payload, 4);
  return b;
}

t.test('PAT from STANDARDS.md: parse and serialize byte-exact (13818-1 §2.4.4.3)', async (t) => {
  const s = Uint8Array.from(PAT_BYTES);
  t.ok(sectionCrcOk(s));
  const h = parseSectionHeader(s);
  t.match(h, {
    tableId: 0,
    syntax: true,
    length: 16,
    tableIdExtension: 1,
    version: 0,
    currentNext: true,
  });
  const pat = parsePat([s]);
  t.same(pat, { transportStreamId: 1, version: 0, programs: [{ programNumber: 1, pid: 0x1000 }] });
  t.same(Array.from(serializePat(pat)[0]), PAT_BYTES);
});

t.test('PAT with 600 programs splits into 3 sections and round-trips', async (t) => {
  const programs = Array.from({ length: 600 }, (_, i) => ({
    programNumber: i + 1,
    pid: 0x100 + i,
  }));
  const sections = serializePat({ transportStreamId: 7, version: 3, programs });
  t.equal(sections.length, 3);
  for (const s of sections) t.ok(s.length <= 1024 && sectionCrcOk(s));
  t.same(parsePat(sections).programs, programs);
});

t.test('PMT hand-built bytes (13818-1 §2.4.4.8)', async (t) => {
  // program 1, version 2, PCR PID 0x100, no program info,
  // stream 0x1B PID 0x100 no descriptors, stream 0x0F PID 0x101 with ISO 639 "eng"
  const body = [
    0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x06, 0x0a, 0x04,
    0x65, 0x6e, 0x67, 0x00,
  ];
  const s = buildLongSection({
    tableId: 2,
    tableIdExtension: 1,
    version: 2,
    sectionNumber: 0,
    lastSectionNumber: 0,
    body: Uint8Array.from(body),
  });
  t.same(Array.from(s.subarray(0, 8)), [
    0x02,
    0xb0,
    8 + body.length + 4 - 3,
    0x00,
    0x01,
    0xc5,
    0x00,
    0x00,
  ]);
  const pmt = parsePmt(s);
  t.equal(pmt.pcrPid, 0x100);
  t.equal(pmt.version, 2);
  t.equal(pmt.streams.length, 2);
  t.equal(pmt.streams[1].streamType, 0x0f);
  t.same(languagesOf(pmt.streams[1].descriptors), ['eng']);
  t.same(Array.from(serializePmt(pmt)), Array.from(s), 'serialize gives the same bytes');
});

t.test('assembler: pointer_field, two sections in one packet, stuffing', async (t) => {
  const c = collect();
  const a = new SectionAssembler(0, c.events);
  // pointer 0, PAT, then a second PAT (version 1) right after it, then 0xFF stuffing
  const pat2 = serializePat({
    transportStreamId: 1,
    version: 1,
    programs: [{ programNumber: 1, pid: 0x1000 }],
  })[0];
  a.push(tsPacket(0, true, 0, [0, ...PAT_BYTES, ...pat2]), 0);
  t.equal(c.sections.length, 2);
  t.equal(parseSectionHeader(c.sections[1]).version, 1);
  t.same(c.faults, []);
});

t.test('assembler: a section spanning packets, and pointer_field finishing it', async (t) => {
  const pmt = serializePmt({
    programNumber: 5,
    version: 0,
    pcrPid: 0x200,
    programInfo: [],
    streams: Array.from({ length: 40 }, (_, i) => ({
      streamType: 0x0f,
      pid: 0x200 + i,
      descriptors: [languageDescriptor('deu')],
    })),
  });
  t.ok(pmt.length > 184 * 2);
  const c = collect();
  const a = new SectionAssembler(0x30, c.events);
  // packet 1: pointer 0 + first 183 bytes; packet 2: 184 bytes; packet 3: pointer N + rest, then a PAT-like section
  a.push(tsPacket(0x30, true, 0, [0, ...pmt.subarray(0, 183)]), 0);
  a.push(tsPacket(0x30, false, 1, [...pmt.subarray(183, 367)]), 0);
  const rest = pmt.subarray(367);
  a.push(tsPacket(0x30, true, 2, [rest.length, ...rest, ...PAT_BYTES]), 0);
  t.equal(c.sections.length, 2);
  t.same(Array.from(c.sections[0]), Array.from(pmt));
  t.equal(c.sections[1][0], 0x00);
});

t.test('assembler: CC gap drops the partial section, duplicate packet ignored', async (t) => {
  const pmt = serializePmt({
    programNumber: 5,
    version: 0,
    pcrPid: 0x200,
    programInfo: [],
    streams: Array.from({ length: 40 }, (_, i) => ({
      streamType: 0x0f,
      pid: 0x200 + i,
      descriptors: [languageDescriptor('fra')],
    })),
  });
  const pk = packetizeSections([pmt], 0x30);
  t.ok(pk.length >= 188 * 3, 'section spans at least 3 packets');
  const c = collect();
  const a = new SectionAssembler(0x30, c.events);
  a.push(pk, 0);
  a.push(pk, 0); // duplicate
  a.push(pk, 188 * 2); // packet 1 lost
  t.same(c.sections, []);
  t.same(c.faults, ['continuity']);
  const d = collect();
  const b = new SectionAssembler(0x30, d.events);
  for (let o = 0; o < pk.length; o += 188) {
    b.push(pk, o);
    if (o === 0) b.push(pk, o);
  }
  t.equal(d.sections.length, 1, 'duplicate of the first packet does not hurt');
});

t.test('assembler: onRepeat gets an unchanged section as the same array, unchecked', async (t) => {
  const pat1 = serializePat({
    transportStreamId: 1,
    version: 1,
    programs: [{ programNumber: 1, pid: 0x1000 }],
  })[0];
  const sections: Uint8Array[] = [];
  const repeats: Uint8Array[] = [];
  const faults: SectionFault[] = [];
  const a = new SectionAssembler(0, {
    onSection: (s) => sections.push(s),
    onRepeat: (s) => repeats.push(s),
    onFault: (f) => faults.push(f),
  });
  let cc = 0;
  const send = (bytes: ArrayLike<number>): void =>
    a.push(tsPacket(0, true, cc++ & 0x0f, [0, ...Array.from(bytes)]), 0);
  send(PAT_BYTES);
  send(PAT_BYTES);
  send(PAT_BYTES);
  t.equal(sections.length, 1, 'parsed once');
  t.equal(repeats.length, 2, 'then two repetitions');
  t.ok(
    repeats.every((r) => r === sections[0]),
    'each the array onSection had',
  );
  send(pat1);
  t.equal(sections.length, 2, 'a new version is a section');
  t.same(Array.from(sections[1]), Array.from(pat1));
  const bad = Array.from(pat1);
  bad[9] ^= 1; // a program_number bit: the CRC no longer matches
  send(bad);
  t.same(faults, ['crc'], 'a changed section with a bad CRC is a fault, not a repeat');
  t.equal(repeats.length, 2);
  send(pat1);
  t.equal(repeats.length, 3, 'the good one again repeats the last good section');
  a.reset();
  send(pat1);
  t.equal(sections.length, 3, 'after reset() the same section is a section again');
  const plain = collect();
  const b = new SectionAssembler(0, plain.events);
  b.push(tsPacket(0, true, 0, [0, ...PAT_BYTES]), 0);
  b.push(tsPacket(0, true, 1, [0, ...PAT_BYTES]), 0);
  t.equal(plain.sections.length, 2, 'without onRepeat every repetition is a section');
  t.not(plain.sections[0], plain.sections[1], 'each its own array');
});

t.test('assembler: bad CRC is a fault, not a section', async (t) => {
  const bad = PAT_BYTES.slice();
  bad[15] ^= 1;
  const c = collect();
  new SectionAssembler(0, c.events).push(tsPacket(0, true, 0, [0, ...bad]), 0);
  t.same(c.sections, []);
  t.same(c.faults, ['crc']);
});

t.test('packetize → assemble round trip for random section sizes', async (t) => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let iter = 0; iter < 100; iter++) {
    const sections = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, i) => {
      const body = Uint8Array.from({ length: Math.floor(rnd() * 1000) }, () =>
        Math.floor(rnd() * 256),
      );
      return buildLongSection({
        tableId: 0x42,
        tableIdExtension: iter,
        version: 0,
        sectionNumber: i,
        lastSectionNumber: 3,
        body,
      });
    });
    const pk = packetizeSections(sections, 0x11);
    const c = collect();
    const a = new SectionAssembler(0x11, c.events);
    for (let o = 0; o < pk.length; o += 188) a.push(pk, o);
    t.same(
      c.sections.map((s) => Array.from(s)),
      sections.map((s) => Array.from(s)),
    );
  }
});

t.test(
  'table collector: complete tables only, once per version, current_next=0 ignored',
  async (t) => {
    const mk = (n: number, last: number, v: number, cn = true) =>
      buildLongSection({
        tableId: 0x42,
        tableIdExtension: 1,
        version: v,
        currentNext: cn,
        sectionNumber: n,
        lastSectionNumber: last,
        body: Uint8Array.of(n, v),
      });
    const tc = new TableCollector();
    t.equal(tc.push(mk(0, 1, 0)), null);
    const full = tc.push(mk(1, 1, 0));
    t.equal(full?.length, 2);
    t.equal(tc.push(mk(0, 1, 0)), null);
    t.equal(tc.push(mk(1, 1, 0)), null, 'same version again: nothing new');
    t.equal(tc.push(mk(0, 0, 1, false)), null, 'next version announced, not current');
    t.equal(tc.push(mk(0, 0, 1))?.length, 1, 'new version delivered');
  },
);

t.test('packEntries groups in order and refuses oversize entries', async (t) => {
  const e = (n: number) => new Uint8Array(n);
  t.same(
    packEntries([e(4), e(4), e(4)], 8).map((c) => c.length),
    [2, 1],
  );
  t.throws(() => packEntries([e(9)], 8));
});
