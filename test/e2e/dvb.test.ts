// A local DVB adapter feeding several channels (issue 10), on the real daemon. There is no
// tuner hardware and no dvb_vidtv module on these machines, so the adapter is a stand-in
// behind the same interfaces: test/helpers/dvb/zap-standin.ts in the place of dvbv5-zap
// (takes its arguments, prints libdvbv5's statistics lines) and demux-standin.ts in the place
// of scripts/dvb-demux.py (the hardware PID filter; the dvr device is a file holding an MPTS
// made by Debian's ffmpeg). What is tested is ours: the tuning parameters handed to
// dvbv5-zap, the PID filter the channels need (and its update on reload), one opened tuner for
// all its channels, lock reporting, failover to a backup when the lock is lost, and return.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { standinAdapter } from '../helpers/dvb/adapter.js';
import { filterFor, makeMpts } from '../helpers/mpts.js';
import {
  analyzeRecording,
  assertCleanAcrossFailures,
  failing,
  ffprobeJson,
  marker,
  openRecorder,
  pidsWithMarker,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';
import { ofChannel, tunerConfig, waitAllUp } from './tuner-rig.js';

const PROGRAMS = [
  { service: 1, name: 'Lobby One', size: [320, 180] as [number, number], pattern: 'testsrc' },
  { service: 2, name: 'Lobby Two', size: [256, 144] as [number, number], pattern: 'smptebars' },
  { service: 3, name: 'Not Taken', size: [192, 108] as [number, number], pattern: 'rgbtestsrc' },
];
const CHANNELS = [
  { number: 61, service: 1, group: '239.255.26.1', port: 6601 },
  { number: 62, service: 2, group: '239.255.26.2', port: 6602 },
];

t.test('a DVB adapter (stand-in) feeds two channels; lock lost → backup → back', async (t) => {
  const tag = marker('dvb');
  const dir = join(tempDir(t), tag);
  const mpts = join(dir, 'mpts.ts');
  mkdirSync(dir);
  makeMpts(mpts, PROGRAMS, 40);
  const { devices, adapter, zap, demux } = standinAdapter(dir, mpts);
  const tuner =
    `  - id: astra\n    adapter: 0\n    devices: ${devices}\n` +
    `    zap: ${zap}\n    demux: ${demux}\n    delivery: dvbs2\n    frequency: 11494M\n` +
    `    polarization: h\n    symbol_rate: 22000k\n    diseqc: 2\n    tune_timeout: 2s\n`;
  const config = (channels: typeof CHANNELS): string =>
    tunerConfig(tuner, 'astra', 'DVB', channels);
  const d = startDaemon(t, { text: config(CHANNELS) });
  const isCh = (c: { number: number }) => ofChannel('DVB', c);
  await d.waitFor((e) => e.event === 'ready', 10_000);
  await waitAllUp(d, 'DVB', CHANNELS, 0, 15_000);

  // The tuning handed to dvbv5-zap.
  const zapRuns = readFileSync(join(adapter, 'zap.log'), 'utf8').trim().split('\n');
  const first = JSON.parse(zapRuns[0]) as { args: string[]; conf: string };
  t.same(
    first.args.filter((a) => !a.endsWith('.conf')),
    ['-a', '0', '-f', '0', '-c', '-r', '-l', 'EXTENDED', '-S', '1', 'headend'],
    'dvbv5-zap: adapter 0, frontend 0, stay tuned, universal LNB, DiSEqC port 2',
  );
  for (const line of [
    'DELIVERY_SYSTEM = DVBS2',
    'FREQUENCY = 11494000',
    'POLARIZATION = HORIZONTAL',
    'SYMBOL_RATE = 22000000',
  ]) {
    t.match(first.conf, line, `channel file: ${line}`);
  }
  t.equal(zapRuns.length, 1, 'one tune for both channels');
  t.equal(
    d.events.filter((e) => e.event === 'source-start' && String(e.source).includes('astra')).length,
    1,
    'the tuner is opened once',
  );
  t.ok(
    d.events.some(
      (e) => e.event === 'source-lock' && /locked on 11494 MHz H dvbs2/.test(String(e.message)),
    ),
    'lock logged with the transponder',
  );

  // The hardware PID filter: SI, and exactly the PMT/PCR/streams of the two services taken.
  const want = (services: number[]): number[] => filterFor(mpts, services);
  const lastPids = (): string =>
    readFileSync(join(adapter, 'pids.log'), 'utf8').trim().split('\n').pop() ?? '';
  t.equal(lastPids(), want([1, 2]).join(' '), `PID filter: SI + services 1 and 2 (${lastPids()})`);

  // Status: lock, signal and C/N from the statistics lines, in /api/channels.
  const api = (await (await fetch('http://127.0.0.1:8080/api/channels')).json()) as {
    channels: {
      number: number;
      tuner?: { id: string; lock: boolean; signal?: { value: number } };
    }[];
  };
  const ch61 = api.channels.find((c) => c.number === 61);
  t.equal(ch61?.tuner?.id, 'astra', '/api/channels: the channel names its tuner');
  t.equal(ch61?.tuner?.lock, true, '/api/channels: locked');
  t.equal(ch61?.tuner?.signal?.value, -41.5, '/api/channels: signal -41.5 dBm');

  // Both outputs: their own program, named, clean.
  const recs = await Promise.all(CHANNELS.map((c) => openRecorder(t, c.group, c.port)));
  const probes = await Promise.all(CHANNELS.map((c) => ffprobeJson(c.group, c.port, 8)));
  await sleep(1000);
  CHANNELS.forEach((c, i) => {
    const p = PROGRAMS.find((x) => x.service === c.service)!;
    const v = probes[i].streams?.find((s) => s.codec_type === 'video');
    t.same([v?.width, v?.height], p.size, `${c.number}: service ${c.service}'s picture`);
    t.equal(probes[i].programs?.[0]?.tags?.service_name, `DVB ${c.number}`, `${c.number}: named`);
    const r = analyzeRecording(recs[i]);
    t.equal(r.priority1Errors, 0, `${c.number}: zero priority-1 errors ${failing(r)}`);
  });

  // Lock lost → after tune_timeout the tuner fails; both channels go to their backups.
  const lostAt = d.events.length;
  writeFileSync(join(adapter, 'state'), 'nolock');
  const failure = await d.waitFor((e) => e.event === 'source-tuner', 10_000, lostAt);
  t.match(
    String(failure.message),
    /^tuner astra \(.*frontend0\): lost lock on 11494 MHz H dvbs2 22000 kS\/s for 2 s$/,
    `the failure names the tuner and the transponder: ${String(failure.message)}`,
  );
  for (const c of CHANNELS) {
    await d.waitFor((e) => isCh(c)(e) && e.event === 'source-failed', 10_000, lostAt);
    await d.waitFor((e) => isCh(c)(e) && e.event === 'source-up' && e.index === 1, 15_000, lostAt);
  }
  writeFileSync(join(adapter, 'state'), 'lock');
  for (const c of CHANNELS) {
    await d.waitFor((e) => isCh(c)(e) && e.event === 'source-up' && e.index === 0, 30_000, lostAt);
  }
  await sleep(1500);
  await Promise.all(recs.map((r) => r.close()));
  CHANNELS.forEach((c, i) =>
    assertCleanAcrossFailures(t, recs[i], 100, `${c.number} across lock loss`),
  );

  // Reload without channel 61: the filter drops service 1's PIDs, 62 streams on.
  const reloadAt = d.events.length;
  writeFileSync(d.configFile, config(CHANNELS.slice(1)));
  d.proc.kill('SIGHUP');
  await d.waitFor((e) => e.event === 'reload', 15_000, reloadAt);
  await sleep(1000);
  t.equal(
    lastPids(),
    want([2]).join(' '),
    `PID filter after the reload: SI + service 2 (${lastPids()})`,
  );
  t.same(
    d.events.slice(reloadAt).filter((e) => isCh(CHANNELS[1])(e) && e.event === 'source-failed'),
    [],
    'channel 62 unaffected by the reload',
  );

  await stopAndCheck(t, d, []);
  t.same(pidsWithMarker(tag), [], 'no stand-in process left');
});
