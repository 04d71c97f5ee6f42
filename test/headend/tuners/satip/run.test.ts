// The SAT>IP source backend (src/headend/tuners/satip/) through a real SourceHub, against the
// SAT>IP server stand-in (test/helpers/satip-server.ts) playing an MPTS that ffmpeg makes
// here: three programs (101, 102, 103), each H.264 + AAC. Checked: the PIDs asked for in SETUP
// and PLAY are the PidPlan's for the subscribed services and only those arrive; addpids /
// delpids follow the subscribers; the keep-alive holds a 5 s session for 12 s; a server restart
// ends the run (and the next run works); 503 / 453 / 404 and no lock end it 'tuner' with the
// meaning; an unreachable server ends it 'open'; RTP interleaved over TCP; stop() tears down.
import '../../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SourceHub } from '../../../../src/headend/sources/hub.js';
import type { SatipTunerSpec } from '../../../../src/headend/tuners/types.js';
import { getPid, TS_PACKET_SIZE } from '../../../../src/mpegts/packet.js';
import { ALL_SERVICES } from '../../../../src/mpegts/pid-plan.js';
import { FFPROBE, tempDir } from '../../../e2e/helpers.js';
import { makeMpts } from '../../../helpers/mpts.js';
import { SatipServer } from '../../../helpers/satip-server.js';
import { EventLog, Recorder, sleep, waitFor } from '../../sources/helpers.js';

const SI = [0, 1, 16, 17, 18, 20];
const TUNING = {
  delivery: 'dvbs2',
  frequencyHz: 11_494_000_000,
  polarization: 'h',
  symbolRate: 22_000_000,
  modulation: '8psk',
} as const;

interface Program {
  pmt: number;
  pcr: number;
  streams: number[];
}

/** The MPTS (test/helpers/mpts.ts) and, from ffprobe (not our code), each program's PIDs. */
function mpts(t: Test): { file: string; programs: Map<number, Program> } {
  const file = join(tempDir(t), 'mpts.ts');
  makeMpts(
    file,
    ['testsrc2', 'smptebars', 'rgbtestsrc'].map((pattern, i) => ({
      service: 101 + i,
      name: `P${101 + i}`,
      size: [160, 90] as [number, number],
      pattern,
    })),
    6,
  );
  const r = spawnSync(FFPROBE, ['-v', 'error', '-show_programs', '-of', 'json', file], {
    encoding: 'utf8',
  });
  const json = JSON.parse(r.stdout) as {
    programs: { program_id: number; pmt_pid: number; pcr_pid: number; streams: { id: string }[] }[];
  };
  const map = new Map<number, Program>();
  for (const p of json.programs) {
    map.set(p.program_id, {
      pmt: p.pmt_pid,
      pcr: p.pcr_pid,
      streams: p.streams.map((s) => Number(s.id)),
    });
  }
  return { file, programs: map };
}

const { file: MPTS, programs: PROGRAMS } = mpts(t);

/** The PIDs a plan for these services passes: SI, PMTs, PCR and streams, sorted. */
function planFor(...services: number[]): number[] {
  const set = new Set(SI);
  for (const s of services) {
    const p = PROGRAMS.get(s)!;
    for (const pid of [p.pmt, p.pcr, ...p.streams]) set.add(pid);
  }
  return [...set].sort((a, b) => a - b);
}

function pidsIn(r: Recorder): Set<number> {
  const set = new Set<number>();
  for (const c of r.kept) {
    for (let o = 0; o + TS_PACKET_SIZE <= c.length; o += TS_PACKET_SIZE) set.add(getPid(c, o));
  }
  return set;
}

async function server(t: Test, o: Partial<Parameters<typeof SatipServer.start>[0]> = {}) {
  const s = await SatipServer.start({ file: MPTS, ...o });
  t.teardown(() => s.stop());
  return s;
}

function hub(t: Test) {
  const log = new EventLog();
  const h = new SourceHub({ log: log.log, backoff: { initialMs: 100, maxMs: 300 } });
  t.teardown(() => h.close());
  return { h, log };
}

function tuner(port: number, o: Partial<SatipTunerSpec> = {}): SatipTunerSpec {
  return {
    id: 'sat1',
    kind: 'satip',
    host: '127.0.0.1',
    port,
    tuning: { ...TUNING },
    src: 1,
    transport: 'udp',
    tuneTimeoutMs: 4000,
    ...o,
  };
}

t.test('the PIDs of the subscribed service are asked for, and only those arrive', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder(true);
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: 102 }, r);
  const want = planFor(102);
  t.ok(
    await waitFor(() => String(s.pidsOf(s.sessionIds[0] ?? '')) === String(want), 8000),
    `the server passes ${want.join(',')} (has ${String(s.pidsOf(s.sessionIds[0] ?? ''))})`,
  );
  const setup = s.of('SETUP')[0];
  t.equal(
    setup.uri.replace(/^rtsp:\/\/[^/]+/, ''),
    `/?src=1&freq=11494&pol=h&msys=dvbs2&sr=22000&mtype=8psk&pids=${SI.join(',')}`,
    'SETUP: the tuning and the SI PIDs',
  );
  t.match(setup.transport, /^RTP\/AVP;unicast;client_port=(\d*[02468])-\d+$/, 'an even RTP port');
  const plays = s.of('PLAY');
  t.equal(plays[0].query.get('freq'), '11494', 'the first PLAY carries the query');
  t.ok(
    plays.slice(1).every((p) => p.query.has('addpids') && !p.query.has('pids')),
    `then only addpids: ${plays.map((p) => p.uri.replace(/^.*\?/, '')).join(' | ')}`,
  );
  t.ok(plays.length <= 4, `${plays.length} PLAYs (coalesced: PAT, PMT, not one per table)`);
  const streams = PROGRAMS.get(102)!.streams;
  t.ok(await waitFor(() => streams.every((p) => pidsIn(r).has(p)), 8000, 100), 'its streams');
  const got = pidsIn(r);
  t.ok(
    [...got].every((p) => want.includes(p)),
    `only planned PIDs arrive: ${[...got].join(',')}`,
  );
  for (const pid of PROGRAMS.get(102)!.streams) t.ok(got.has(pid), `stream PID ${pid} arrives`);
  t.match(h.state('satip')?.tuner, { lock: true, signal: { unit: '%' }, snr: { value: 100 } });
});

t.test('addpids and delpids follow the subscribers', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const a = new Recorder(true);
  const b = new Recorder(true);
  const spec = tuner(s.port);
  const offA = h.subscribe({ key: 'satip', tuner: spec, service: 102 }, a);
  const pidsNow = (): string => String(s.pidsOf(s.sessionIds[0] ?? ''));
  t.ok(await waitFor(() => pidsNow() === String(planFor(102)), 8000), 'service 102 planned');
  const before = s.of('PLAY').length;
  h.subscribe({ key: 'satip', tuner: spec, service: 103 }, b);
  t.ok(await waitFor(() => pidsNow() === String(planFor(102, 103)), 8000), '103 added');
  offA();
  t.ok(await waitFor(() => pidsNow() === String(planFor(103)), 8000), '102 removed');
  const changes = s.of('PLAY').slice(before);
  t.ok(
    changes.every(
      (p) => !p.query.has('pids') && (p.query.has('addpids') || p.query.has('delpids')),
    ),
    `changes by addpids/delpids: ${changes.map((p) => p.uri.replace(/^.*\?/, '')).join(' | ')}`,
  );
  const p102 = PROGRAMS.get(102)!;
  const dels = changes.flatMap((p) => (p.query.get('delpids') ?? '').split(',').filter(Boolean));
  t.same(
    dels.map(Number).sort((x, y) => x - y),
    [p102.pmt, ...p102.streams].sort((x, y) => x - y),
  );
  t.equal(s.sessionIds.length, 1, 'one session throughout');
  t.equal(s.of('SETUP').length, 1, 'one SETUP');
  await sleep(100); // datagrams sent before the delpids was applied
  b.kept = [];
  const s103 = PROGRAMS.get(103)!.streams;
  t.ok(await waitFor(() => s103.every((p) => pidsIn(b).has(p)), 8000, 100), "103's streams");
  const got = pidsIn(b);
  t.notOk(
    p102.streams.some((p) => got.has(p)),
    `102's streams no longer arrive (${[...got]})`,
  );
  t.ok(
    PROGRAMS.get(103)!.streams.every((p) => got.has(p)),
    "103's streams arrive",
  );
});

t.test('the keep-alive holds a session with a 5 s timeout for 12 s', async (t) => {
  const s = await server(t, { sessionTimeoutS: 5 });
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: 101 }, r);
  t.ok(await waitFor(() => s.sessionIds.length === 1, 5000));
  const id = s.sessionIds[0];
  await sleep(12_000);
  t.same(s.sessionIds, [id], 'the same session is alive');
  const pings = s.of('OPTIONS').filter((q) => q.session === id);
  t.ok(pings.length >= 4, `${pings.length} OPTIONS with the session`);
  const bytes = r.bytes;
  await sleep(500);
  t.ok(r.bytes > bytes, 'still streaming');
  t.equal(r.story, 'data', 'never failed');
});

t.test('a session the server drops is noticed by the keep-alive', async (t) => {
  const s = await server(t, { sessionTimeoutS: 2 });
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: 101 }, r);
  t.ok(await waitFor(() => r.bytes > 0, 5000));
  s.fail = { method: 'OPTIONS', status: 454 };
  t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), 'failed');
  t.match(r.find('failed'), {
    reason: 'exit',
    message:
      /^tuner sat1: session lost: the server no longer knows session \w+ \(SAT>IP server 127\.0\.0\.1:\d+\)$/,
  });
});

t.test('a UDP stream outlives its RTSP connection while the server knows it', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: 101 }, r);
  t.ok(await waitFor(() => r.bytes > 0, 8000), 'playing');
  const id = s.sessionIds[0];
  const asked = s.of('OPTIONS').length;
  s.dropConnections();
  t.ok(
    await waitFor(
      () =>
        s
          .of('OPTIONS')
          .slice(asked)
          .some((q) => q.session === id),
      3000,
    ),
    'reconnected and asked for its session',
  );
  const bytes = r.bytes;
  await sleep(500);
  t.ok(r.bytes > bytes, 'still streaming');
  t.same(s.sessionIds, [id], 'the same session');
  t.equal(r.story, 'data', 'never failed');
});

t.test('a server restart ends the run; the next run works', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: 101 }, r);
  t.ok(await waitFor(() => r.program !== null, 8000), 'playing');
  const first = s.sessionIds[0];
  await s.restart();
  t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), 'failed');
  const f = r.find('failed');
  t.equal(f?.reason, 'exit');
  t.match(
    f?.message,
    /^tuner sat1: session lost: connection closed.* \(SAT>IP server 127\.0\.0\.1:\d+\)$/,
  );
  t.ok(await waitFor(() => r.story.endsWith('restarted data'), 8000), `then: ${r.story}`);
  t.equal(s.sessionIds.length, 1, 'a new session');
  t.not(s.sessionIds[0], first);
  t.ok(await waitFor(() => r.program?.programNumber === 101, 5000), 'the program again');
});

t.test('refusals end the run as tuner failures with the meaning', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['SETUP', 503, /SETUP answered 503 Service Unavailable \(service unavailable: .*tuners/],
    ['SETUP', 453, /SETUP answered 453 Not Enough Bandwidth \(not enough bandwidth: no free tuner/],
    ['PLAY', 404, /PLAY answered 404 Not Found \(not found: no stream with that ID\)/],
  ];
  for (const [method, status, message] of cases) {
    const s = await server(t);
    s.fail = { method, status };
    const { h } = hub(t);
    const r = new Recorder();
    h.subscribe({ key: `satip${status}`, tuner: tuner(s.port), service: 101 }, r);
    t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), `${status}: failed`);
    const f = r.find('failed');
    t.equal(f?.reason, 'tuner', `${status}: reason`);
    t.match(f?.message, /^tuner sat1: /, `${status}: names the tuner`);
    t.match(f?.message, message, `${status}: ${f?.message}`);
    t.match(f?.message, `(SAT>IP server 127.0.0.1:${s.port})`, `${status}: names the server`);
    t.equal(r.bytes, 0);
    await h.close();
  }
});

t.test('no lock within tune_timeout: a tuner failure naming the transponder', async (t) => {
  const s = await server(t, { lock: false });
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port, { tuneTimeoutMs: 1000 }), service: 101 }, r);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), 'failed');
  t.match(r.find('failed'), {
    reason: 'tuner',
    message: /^tuner sat1: no lock on 11494 MHz H after 1 s \(SAT>IP server 127\.0\.0\.1:\d+\)$/,
  });
  t.match(h.state('satip'), { lastError: /no lock/ });
  t.ok(await waitFor(() => s.of('TEARDOWN').length >= 1, 2000), 'the tuner is released');
});

t.test('an unreachable server: an open failure naming it', async (t) => {
  const s = await server(t);
  const port = s.port;
  await s.stop();
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(port), service: 101 }, r);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), 'failed');
  t.match(r.find('failed'), {
    reason: 'open',
    message: new RegExp(
      `^tuner sat1: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`,
    ),
  });
});

t.test('RTP interleaved in the RTSP connection', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder(true);
  h.subscribe({ key: 'satip', tuner: tuner(s.port, { transport: 'tcp' }), service: 103 }, r);
  const s103 = PROGRAMS.get(103)!.streams;
  t.ok(await waitFor(() => s103.every((p) => pidsIn(r).has(p)), 8000, 100), 'its streams');
  t.match(s.of('SETUP')[0].transport, /^RTP\/AVP\/TCP;unicast;interleaved=0-1$/);
  const got = pidsIn(r);
  t.ok(
    [...got].every((p) => planFor(103).includes(p)),
    `only planned PIDs: ${[...got]}`,
  );
  for (const pid of PROGRAMS.get(103)!.streams) t.ok(got.has(pid), `stream PID ${pid} arrives`);
  t.match(h.state('satip')?.tuner, { lock: true, signal: { value: 78.4, unit: '%' } });
});

t.test('stop() sends TEARDOWN for the session', async (t) => {
  for (const transport of ['udp', 'tcp'] as const) {
    const s = await server(t);
    const { h } = hub(t);
    const r = new Recorder();
    const off = h.subscribe({ key: 'satip', tuner: tuner(s.port, { transport }), service: 101 }, r);
    t.ok(await waitFor(() => r.bytes > 0, 8000), `${transport}: playing`);
    const id = s.sessionIds[0];
    off();
    await h.close();
    const td = s.of('TEARDOWN');
    t.equal(td.length, 1, `${transport}: one TEARDOWN`);
    t.equal(td[0]?.session, id, `${transport}: with the session`);
    t.match(td[0]?.uri, /\/stream=\d+$/, `${transport}: on the stream URI`);
    t.same(s.sessionIds, [], `${transport}: the server holds no session`);
  }
});

t.test('a lock lost for tune_timeout mid-stream ends the run', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'satip', tuner: tuner(s.port, { tuneTimeoutMs: 1000 }), service: 101 }, r);
  t.ok(await waitFor(() => r.bytes > 0, 8000), 'playing');
  s.lock = false;
  t.ok(await waitFor(() => r.find('failed') !== undefined, 4000), 'failed');
  t.match(r.find('failed'), {
    reason: 'tuner',
    message: /^tuner sat1: lost lock on 11494 MHz H for 1 s \(SAT>IP server 127\.0\.0\.1:\d+\)$/,
  });
  t.match(h.state('satip')?.tuner, { lock: false, signal: { value: 0 } });
});

t.test('every service (a scan): pids=all', async (t) => {
  const s = await server(t);
  const { h } = hub(t);
  const r = new Recorder(true);
  h.subscribe({ key: 'satip', tuner: tuner(s.port), service: ALL_SERVICES }, r);
  const every = [...PROGRAMS.values()].flatMap((p) => p.streams);
  t.ok(
    await waitFor(() => every.every((pid) => pidsIn(r).has(pid)), 8000, 100),
    'every stream of every program arrives',
  );
  t.equal(s.of('SETUP')[0].query.get('pids'), 'all');
  t.equal(s.of('PLAY').length, 1, 'no PID changes while every PID passes');
  const got = pidsIn(r);
  for (const p of PROGRAMS.values()) {
    for (const pid of p.streams) t.ok(got.has(pid), `stream PID ${pid} arrives`);
  }
});
