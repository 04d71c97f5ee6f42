// EIT passthrough (`epg: passthrough`): the input's EIT actual of the taken service, rewritten
// to the output's service_id, transport_stream_id and original_network_id with a fresh CRC;
// other services' sections and EIT other (0x4F) stay behind; a changed p/f is a new output
// version; a splice (reset) takes the old source's guide off the air. Then through a Remuxer:
// the output carries the input's events on PID 0x0012 under the output's ids, CC unbroken.
import t from 'tap';
import { EitPassthrough } from '../../../src/mpegts/remux/eit-passthrough.js';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import {
  parseEit,
  parseEitPf,
  serializeEitPf,
  type EitEvent,
} from '../../../src/mpegts/psi/eit.js';
import { serializeEitSchedule } from '../../../src/mpegts/psi/eit-schedule.js';
import { packetizeSections, sectionCrcOk } from '../../../src/mpegts/psi/section.js';
import { SectionAssembler } from '../../../src/mpegts/psi/assembler.js';
import { getPid } from '../../../src/mpegts/packet.js';
import { parseSdt, serializeSdt } from '../../../src/mpegts/psi/sdt.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';

const ev = (id: number, startMs: number, name: string): EitEvent => ({
  eventId: id,
  startTime: new Date(startMs),
  durationSec: 1800,
  runningStatus: 4,
  freeCaMode: false,
  shortEvent: { language: 'deu', name, text: `about ${name}` },
  otherDescriptors: [],
});
const T0 = Date.UTC(2026, 11, 7, 18, 0, 0);
const IN = { transportStreamId: 9, originalNetworkId: 0x2000 };

function pf(service: number, version: number, present: string, tableId = 0x4e): Uint8Array[] {
  return serializeEitPf({
    tableId,
    serviceId: service,
    ...IN,
    version,
    present: ev(1, T0, present),
    following: ev(2, T0 + 1_800_000, 'Next'),
  });
}

class Target {
  pf: ((v: number) => Uint8Array[]) | null | undefined;
  schedule: readonly Uint8Array[] = [];
  setEitPf(b: ((v: number) => Uint8Array[]) | null) {
    this.pf = b;
  }
  setEitSchedule(s: readonly Uint8Array[]) {
    this.schedule = s;
  }
}

function feed(p: EitPassthrough, sections: Uint8Array[], cc: number): void {
  const ts = packetizeSections(sections, 0x12, cc);
  for (let o = 0; o < ts.length; o += 188) p.packet(ts, o);
}

t.test('the taken service, rewritten; others left out', async (t) => {
  const target = new Target();
  const ids = {
    inputService: 1001,
    serviceId: 7,
    transportStreamId: 70,
    originalNetworkId: 0xff01,
  };
  const p = new EitPassthrough(target, () => ids);
  const schedule = serializeEitSchedule(
    { serviceId: 1001, ...IN, version: 12 },
    T0 - 18 * 3600_000,
    1,
    [ev(10, T0 + 3_600_000, 'Film'), ev(11, T0 + 7_200_000, 'News')],
  );
  feed(
    p,
    [
      ...pf(1002, 1, 'Other service'),
      ...pf(1001, 4, 'Quiz', 0x4f),
      ...pf(1001, 3, 'Quiz'),
      ...schedule,
    ],
    0,
  );
  p.flush();
  t.ok(target.pf, 'p/f handed over');
  const out = target.pf!(6);
  t.equal(out.length, 2, 'sections 0 and 1');
  t.ok(out.every(sectionCrcOk), 'fresh CRCs');
  const parsed = parseEitPf(out);
  t.match(parsed, {
    serviceId: 7,
    transportStreamId: 70,
    originalNetworkId: 0xff01,
    version: 6,
    present: { eventId: 1, shortEvent: { name: 'Quiz', language: 'deu' } },
    following: { eventId: 2, shortEvent: { name: 'Next' } },
  });
  const input = pf(1001, 3, 'Quiz');
  // Apart from the rewritten fields and the CRC, byte for byte the input.
  for (let k = 0; k < 2; k++) {
    const a = Buffer.from(out[k]);
    const b = Buffer.from(input[k]);
    for (const i of [3, 4, 5, 8, 9, 10, 11]) a[i] = b[i] = 0;
    t.equal(
      Buffer.compare(a.subarray(0, -4), b.subarray(0, -4)),
      0,
      `section ${k}: the input's bytes`,
    );
  }
  t.equal(target.schedule.length, schedule.length, 'the schedule too');
  const sched = parseEit(target.schedule.filter((s) => s[0] === schedule[0][0]));
  t.match(
    sched,
    { serviceId: 7, transportStreamId: 70, version: 12 },
    'schedule: the input version',
  );
  t.same(
    sched.events.map((e) => e.shortEvent?.name),
    ['Film', 'News'],
  );

  const before = target.pf;
  feed(p, pf(1001, 3, 'Quiz'), 5);
  p.flush();
  t.equal(target.pf, before, 'the same p/f again: nothing handed over');
  feed(p, pf(1001, 4, 'Final'), 7);
  p.flush();
  t.not(target.pf, before, 'a changed p/f is handed over');
  t.equal(parseEitPf(target.pf!(7)).present?.shortEvent?.name, 'Final');
  p.reset();
  p.flush();
  t.equal(target.pf, null, 'a splice takes the old source’s p/f off');
  t.same(target.schedule, [], 'and its schedule');
});

t.test('through the remuxer: the input EIT on the output under its ids', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(1001, 0x44, 0x50), simpleProgram(1002, 0x64, 0x70)],
    durationMs: 4000,
    muxRate: 3e6,
    pcrIntervalMs: 30,
  });
  const c = collector();
  const r = new Remuxer(
    { program: 1001, programNumber: 7, transportStreamId: 70, psiIntervalMs: 100 },
    c.sink,
  );
  const p = new EitPassthrough(r, () => ({
    inputService: r.demux.program?.programNumber ?? null,
    serviceId: 7,
    transportStreamId: 70,
    originalNetworkId: 0xff01,
  }));
  r.setEitTap((b, o) => p.packet(b, o));
  const eit = packetizeSections([...pf(1001, 2, 'Match'), ...pf(1002, 2, 'Not this')], 0x12);
  const step = 188 * 500;
  let cc = 0;
  for (let o = 0; o < ts.length; o += step) {
    r.push(ts.subarray(o, o + step));
    // The input's EIT every chunk, its CC running on.
    const copy = eit.slice();
    for (let k = 0; k < copy.length; k += 188) copy[k + 3] = (copy[k + 3] & 0xf0) | (cc++ & 0x0f);
    r.push(copy);
    p.flush();
  }
  r.end();
  const out = c.bytes();
  t.equal(checkStream(out, 0x100, 0x1000).ccErrors, 0, 'CC unbroken on every PID');
  const sections: Uint8Array[] = [];
  const asm = new SectionAssembler(0x12, { onSection: (s) => void sections.push(s) });
  for (let o = 0; o < out.length; o += 188) if (getPid(out, o) === 0x12) asm.push(out, o);
  t.ok(sections.length >= 4, `EIT sections on the output: ${sections.length}`);
  t.ok(
    sections.every((s) => ((s[3] << 8) | s[4]) === 7),
    'every one for service 7',
  );
  t.ok(
    sections.every((s) => parseEitPf([s]).present?.shortEvent?.name !== 'Not this'),
    'never the other service',
  );
  t.equal(parseEitPf(sections.slice(-2)).present?.shortEvent?.name, 'Match');
});

t.test('SDT passthrough: the input entry’s other descriptors, the output’s own name', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(1001, 0x44, 0x50)],
    durationMs: 1500,
    muxRate: 3e6,
    pcrIntervalMs: 30,
  });
  // The broadcaster's SDT: its name, and a CA_identifier (0x53) and a private descriptor.
  const extra = [
    { tag: 0x53, data: Uint8Array.of(0x0b, 0x00) },
    { tag: 0x5f, data: Uint8Array.of(0, 0, 0, 0x28) },
  ];
  const sdt = packetizeSections(
    serializeSdt({
      ...IN,
      version: 1,
      services: [
        {
          serviceId: 1001,
          eitSchedule: true,
          eitPresentFollowing: true,
          runningStatus: 4,
          freeCaMode: false,
          serviceType: 1,
          providerName: 'Broadcaster',
          serviceName: 'Their Name',
          otherDescriptors: extra,
        },
      ],
    }),
    0x11,
  );
  const run = (pass: boolean) => {
    const c = collector();
    const r = new Remuxer(
      {
        program: 1001,
        programNumber: 7,
        transportStreamId: 70,
        serviceName: 'Lobby',
        psiIntervalMs: 100,
      },
      c.sink,
    );
    r.setSdtPassthrough(pass);
    r.push(sdt);
    r.push(ts);
    r.end();
    const out = c.bytes();
    const sections: Uint8Array[] = [];
    const asm = new SectionAssembler(0x11, { onSection: (s) => void sections.push(s) });
    for (let o = 0; o < out.length; o += 188) if (getPid(out, o) === 0x11) asm.push(out, o);
    return parseSdt([sections.at(-1)!]).services[0];
  };
  const on = run(true);
  t.equal(on.serviceId, 7);
  t.equal(on.serviceName, 'Lobby', 'the configured name stays');
  t.same(
    on.otherDescriptors.map((d) => [d.tag, [...d.data]]),
    extra.map((d) => [d.tag, [...d.data]]),
    'the input descriptors pass',
  );
  t.same(run(false).otherDescriptors, [], 'without passthrough: none');
});
