// Remuxer.setIdentity (hot reload of a name/number-only change): PAT, PMT and SDT are rewritten
// with version_number bumped (ISO/IEC 13818-1 §2.4.4.5, EN 300 468 §5.2.3), while PIDs,
// continuity counters and the timeline carry on untouched.
import t from 'tap';
import { Remuxer } from '../../../src/mpegts/remux/remuxer.js';
import { Demuxer } from '../../../src/mpegts/demux.js';
import type { ProgramInfo, ServiceInfo } from '../../../src/mpegts/demux.js';
import type { Pat } from '../../../src/mpegts/psi/pat.js';
import { synthesize, simpleProgram } from '../../helpers/synth.js';
import { checkStream, collector } from '../../helpers/ts-check.js';

interface Seen {
  pats: Pat[];
  programs: ProgramInfo[];
  services: ServiceInfo[];
}

function demux(ts: Uint8Array): Seen {
  const seen: Seen = { pats: [], programs: [], services: [] };
  const d = new Demuxer(
    {},
    {
      onPat: (p) => seen.pats.push(p),
      onProgram: (p) => seen.programs.push(p),
      onService: (s) => seen.services.push(s),
    },
  );
  d.processAligned(ts);
  return seen;
}

t.test('setIdentity rewrites PAT/PMT/SDT with new versions, CC and PIDs continue', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(7, 0x44, 0x50)],
    durationMs: 2000,
    muxRate: 3e6,
    pcrIntervalMs: 30,
    withSdt: true,
  });
  const c = collector();
  const r = new Remuxer(
    { programNumber: 3, transportStreamId: 9, serviceName: 'Old', providerName: 'P1' },
    c.sink,
  );
  const half = Math.floor(ts.length / 188 / 2) * 188;
  r.push(ts.subarray(0, half));
  const before = c.bytes().length;
  t.equal(
    r.setIdentity({ serviceName: 'Old', providerName: 'P1' }),
    false,
    'same identity: no change',
  );
  t.equal(
    r.setIdentity({
      serviceName: 'New',
      providerName: 'P2',
      programNumber: 4,
      transportStreamId: 10,
    }),
    true,
  );
  r.push(ts.subarray(half));
  r.end();
  const out = c.bytes();

  const head = demux(out.subarray(0, before));
  const tail = demux(out.subarray(before));
  t.equal(head.services.at(-1)?.serviceName, 'Old');
  t.equal(head.pats.at(-1)?.transportStreamId, 9);
  t.same(
    head.pats.at(-1)?.programs.map((p) => p.programNumber),
    [3],
  );
  t.equal(tail.services.at(-1)?.serviceName, 'New');
  t.equal(tail.services.at(-1)?.providerName, 'P2');
  t.equal(tail.services.at(-1)?.serviceId, 4);
  t.equal(tail.pats.at(-1)?.transportStreamId, 10);
  t.same(
    tail.pats.at(-1)?.programs.map((p) => p.programNumber),
    [4],
  );
  t.equal(tail.programs.at(-1)?.programNumber, 4);
  // The versions moved on: PAT and PMT differ from those before the change.
  t.not(tail.pats.at(-1)?.version, head.pats.at(-1)?.version, 'PAT version bumped');
  t.not(tail.programs.at(-1)?.version, head.programs.at(-1)?.version, 'PMT version bumped');
  // Same PIDs, no continuity break across the change.
  t.same(
    tail.programs.at(-1)?.streams.map((s) => s.pid),
    head.programs.at(-1)?.streams.map((s) => s.pid),
  );
  t.equal(tail.programs.at(-1)?.pmtPid, head.programs.at(-1)?.pmtPid);
  const chk = checkStream(out, 0x100, 0x1000);
  t.equal(chk.ccErrors, 0, 'no CC errors');
  t.equal(chk.discontinuities, 0, 'no discontinuities');
  t.ok(chk.minPcrStepMs > 0, 'PCR keeps increasing');
  t.equal(r.stats.splices, 0, 'no splice');
});

t.test('a name that stops being configured follows the input SDT again', async (t) => {
  const { ts } = synthesize({
    programs: [simpleProgram(7, 0x44, 0x50)],
    durationMs: 1200,
    muxRate: 3e6,
    pcrIntervalMs: 30,
    withSdt: true,
  });
  const c = collector();
  const r = new Remuxer({ serviceName: 'Configured' }, c.sink);
  const half = Math.floor(ts.length / 188 / 2) * 188;
  r.push(ts.subarray(0, half));
  const inputName = demux(ts).services.at(-1)?.serviceName;
  t.ok(inputName, 'the input has a service name');
  const before = c.bytes().length;
  r.setIdentity({ serviceName: undefined });
  r.push(ts.subarray(half));
  r.end();
  const out = c.bytes();
  t.equal(demux(out.subarray(0, before)).services.at(-1)?.serviceName, 'Configured');
  t.equal(demux(out.subarray(before)).services.at(-1)?.serviceName, inputName);
});
