import t from 'tap';
import { Demuxer, ROLE_DROP, ROLE_PSI } from '../../src/mpegts/demux.js';
import type { ProgramInfo } from '../../src/mpegts/demux.js';
import { synthesize, simpleProgram } from '../helpers/synth.js';
import { languageDescriptor } from '../../src/mpegts/psi/descriptors.js';

const mpts = () =>
  synthesize({
    programs: [
      simpleProgram(101, 0x100, 0x1000),
      {
        programNumber: 102,
        pmtPid: 0x1001,
        pcrPid: 0x200,
        serviceName: 'Second',
        streams: [
          { pid: 0x200, streamType: 0x02, fps: 25, frameBytes: 3000 },
          {
            pid: 0x201,
            streamType: 0x03,
            fps: 30,
            frameBytes: 200,
            descriptors: [languageDescriptor('fra')],
          },
          {
            pid: 0x202,
            streamType: 0x06,
            fps: 30,
            frameBytes: 200,
            descriptors: [{ tag: 0x6a, data: new Uint8Array(1) }],
          },
        ],
      },
      simpleProgram(103, 0x300, 0x1002),
    ],
    durationMs: 500,
    muxRate: 8_000_000,
    withSdt: true,
  }).ts;

t.test('selects a program of an MPTS and classifies its streams', async (t) => {
  const programs: ProgramInfo[] = [];
  const d = new Demuxer({ program: 102 }, { onProgram: (p) => programs.push(p) });
  d.processAligned(mpts());
  t.equal(programs.length, 1, 'announced once');
  const p = programs[0];
  t.equal(p.programNumber, 102);
  t.equal(p.pmtPid, 0x1001);
  t.equal(p.pcrPid, 0x200);
  t.same(
    p.streams.map((s) => [s.pid, s.kind, s.codec, s.languages]),
    [
      [0x200, 'video', 'mpeg2video', []],
      [0x201, 'audio', 'mp2', ['fra']],
      [0x202, 'audio', 'ac3', []],
    ],
  );
  t.equal(d.role[0x200], 0);
  t.equal(d.role[0x202], 2);
  t.equal(d.role[0x100], ROLE_DROP, 'other programs dropped');
  t.equal(d.role[0x1001], ROLE_PSI);
  t.equal(d.service?.serviceName, 'Second');
});

t.test('default is the first program; unknown program yields nothing', async (t) => {
  const d = new Demuxer();
  d.processAligned(mpts());
  t.equal(d.program?.programNumber, 101);
  const lost = new Demuxer({ program: 999 });
  lost.processAligned(mpts());
  t.equal(lost.program, null);
  t.equal(lost.pat?.programs.length, 3);
});

t.test('follows a PMT version change and reset()', async (t) => {
  const a = synthesize({ programs: [simpleProgram(1)], durationMs: 300, muxRate: 4e6 }).ts;
  const p2 = simpleProgram(1);
  p2.streams.push({ pid: 0x105, streamType: 0x0f, fps: 43, frameBytes: 100 });
  const b = synthesize({ programs: [p2], durationMs: 300, muxRate: 4e6 }).ts;
  // second stream has the same version number (0): a content change must still be seen
  const seen: number[] = [];
  const d = new Demuxer({}, { onProgram: (p) => seen.push(p.streams.length) });
  d.processAligned(a);
  d.processAligned(b);
  t.same(seen, [2, 3]);
  d.reset();
  t.equal(d.program, null);
  d.processAligned(a);
  t.same(seen, [2, 3, 2]);
});

t.test('garbage and truncated input never throw out of the demuxer', async (t) => {
  let s = 99;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const ts = mpts();
  for (let iter = 0; iter < 30; iter++) {
    const x = ts.slice(0, Math.floor(rnd() * ts.length));
    for (let k = 0; k < 200; k++) x[Math.floor(rnd() * x.length)] = Math.floor(rnd() * 256);
    const d = new Demuxer();
    t.doesNotThrow(() => d.processAligned(x));
  }
});
