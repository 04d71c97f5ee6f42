// A SAT>IP server feeding two channels (issue 10), on the real daemon. No SAT>IP box exists
// here, so test/helpers/satip-server.ts stands in for one (RTSP on 127.0.0.1, RTP of an MPTS
// made by Debian's ffmpeg, honouring pids=/addpids=/delpids= and the session timeout). Checked:
// the tuning in the SETUP query, one session for both channels whose PID list is exactly what
// they need, delpids when a reload removes a channel, and a server restart mid-stream failing
// the channel over to its backup and back with zero CC errors at the receiver.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filterFor, makeMpts } from '../helpers/mpts.js';
import { SatipServer } from '../helpers/satip-server.js';
import {
  analyzeRecording,
  assertCleanAcrossFailures,
  failing,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';
import { tunerConfig, waitAllUp } from './tuner-rig.js';

const PROGRAMS = [
  { service: 1, name: 'Sat One', size: [320, 180] as [number, number], pattern: 'testsrc' },
  { service: 2, name: 'Sat Two', size: [256, 144] as [number, number], pattern: 'smptebars' },
  { service: 3, name: 'Sat Three', size: [192, 108] as [number, number], pattern: 'rgbtestsrc' },
];
const CHANNELS = [
  { number: 81, service: 1, group: '239.255.28.1', port: 6801 },
  { number: 82, service: 2, group: '239.255.28.2', port: 6802 },
];

t.test(
  'a SAT>IP server (stand-in) feeds two channels; reload → delpids; restart → backup → back',
  async (t) => {
    const dir = tempDir(t);
    const mpts = join(dir, 'sat.ts');
    makeMpts(mpts, PROGRAMS, 40, 1_500_000);
    const server = await SatipServer.start({ file: mpts, sessionTimeoutS: 10 });
    t.teardown(() => server.stop());
    const tuner =
      `  - id: sat\n    url: satip://127.0.0.1:${server.port}\n    delivery: dvbs2\n` +
      `    frequency: 11494M\n    polarization: h\n    symbol_rate: 22000k\n    tune_timeout: 2s\n` +
      `    fec: 2/3\n    rolloff: 0.35\n    pilots: on\n`;
    const config = (channels: typeof CHANNELS): string =>
      tunerConfig(tuner, 'sat', 'SAT', channels);
    const d = startDaemon(t, { text: config(CHANNELS) });
    await d.waitFor((e) => e.event === 'ready', 10_000);
    await waitAllUp(d, 'SAT', CHANNELS, 0, 20_000);

    const setups = server.of('SETUP');
    t.equal(setups.length, 1, 'one SETUP: one session for both channels');
    const q = setups[0]?.query;
    t.same(
      ['src', 'freq', 'pol', 'msys', 'sr', 'fec', 'ro', 'plts'].map((k) => q?.get(k)),
      ['1', '11494', 'h', 'dvbs2', '22000', '23', '0.35', 'on'],
      `the tuning in the SETUP query (${q?.toString()})`,
    );
    const want = (services: number[]): number[] => filterFor(mpts, services);
    const session = (): string => server.sessionIds[0] ?? '';
    await sleep(500); // the PID plan settles (coalesced over 100 ms)
    t.same(server.pidsOf(session()), want([1, 2]), 'the session passes SI + services 1 and 2');

    const recs = await Promise.all(CHANNELS.map((c) => openRecorder(t, c.group, c.port)));
    const probes = await Promise.all(CHANNELS.map((c) => ffprobeJson(c.group, c.port, 8)));
    CHANNELS.forEach((c, i) => {
      const p = PROGRAMS.find((x) => x.service === c.service)!;
      const v = probes[i].streams?.find((s) => s.codec_type === 'video');
      t.same([v?.width, v?.height], p.size, `${c.number}: service ${c.service}'s picture`);
      t.equal(probes[i].programs?.[0]?.tags?.service_name, `SAT ${c.number}`, `${c.number}: named`);
      const r = analyzeRecording(recs[i]);
      t.equal(r.priority1Errors, 0, `${c.number}: zero priority-1 errors ${failing(r)}`);
    });

    // The server restarts mid-stream: the session is gone, the tuner fails; backups; back.
    const restartAt = d.events.length;
    await server.restart();
    await waitAllUp(d, 'SAT', CHANNELS, 1, 20_000, restartAt);
    await waitAllUp(d, 'SAT', CHANNELS, 0, 40_000, restartAt);
    await sleep(1500);
    await Promise.all(recs.map((r) => r.close()));
    CHANNELS.forEach((c, i) =>
      assertCleanAcrossFailures(t, recs[i], 100, `${c.number} across a server restart`),
    );

    // Reload without channel 81: PLAY with delpids; the session keeps service 2 only.
    const plays = server.of('PLAY').length;
    const reloadAt = d.events.length;
    writeFileSync(d.configFile, config(CHANNELS.slice(1)));
    d.proc.kill('SIGHUP');
    await d.waitFor((e) => e.event === 'reload', 15_000, reloadAt);
    await sleep(1000);
    const later = server.of('PLAY').slice(plays);
    t.ok(
      later.some((r) => r.query.has('delpids')),
      `a PLAY with delpids (${later.map((r) => r.query.toString()).join(' | ')})`,
    );
    t.same(server.pidsOf(session()), want([2]), 'the session passes SI + service 2');
    t.equal(
      server.of('SETUP').length,
      2,
      'no new session for the reload (one more only for the restart)',
    );

    await stopAndCheck(t, d, []);
    await sleep(300);
    t.ok(server.of('TEARDOWN').length >= 1, 'TEARDOWN when the daemon stops');
  },
);
