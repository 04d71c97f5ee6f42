import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
// `headend scan` and `headend probe` of a tuner, on the DVB adapter stand-in (see dvb.test.ts):
// the dvr device is an ffmpeg MPTS with a NIT spliced in (EACEM logical channel numbers, which
// ffmpeg does not write). scan lists the services with their LCNs and SDT names, --write adds
// them to channels.yaml (one existing channel clashes), validate accepts the file, run plays
// it, and a second scan adds nothing.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeMpts } from '../helpers/mpts.js';
import { spliceNit, streamIds } from '../helpers/dvb/nit-splice.js';
import { standinAdapter } from '../helpers/dvb/adapter.js';
import {
  ffprobeJson,
  marker,
  pidsWithMarker,
  runCli,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';

const PROGRAMS = [
  { service: 1, name: 'Alpha One', size: [320, 180] as [number, number], pattern: 'testsrc' },
  { service: 2, name: 'Beta Two', size: [256, 144] as [number, number], pattern: 'smptebars' },
  {
    service: 3,
    name: 'Gamma Radio',
    size: [0, 0] as [number, number],
    pattern: '',
    radio: true,
  },
];
const LCN: Record<number, number> = { 1: 101, 2: 102, 3: 201 };

const cli = (args: string[]) => runCli(args);

t.test('scan a DVB adapter (stand-in): list, write, validate, run, scan again', async (t) => {
  const tag = marker('scan');
  const dir = join(tempDir(t), tag);
  mkdirSync(dir, { recursive: true });
  const mpts = join(dir, 'mpts.ts');
  makeMpts(mpts, PROGRAMS, 20);
  const { tsid, onid } = streamIds(mpts);
  spliceNit(mpts, {
    networkId: 0x3001,
    version: 0,
    networkName: 'Stand-in Net',
    networkDescriptors: [],
    transportStreams: [
      {
        transportStreamId: tsid,
        originalNetworkId: onid,
        services: [],
        logicalChannels: PROGRAMS.map((p) => ({
          serviceId: p.service,
          visible: true,
          lcn: LCN[p.service],
        })),
        otherDescriptors: [],
      },
    ],
  });
  const rig = standinAdapter(dir, mpts);
  const config = join(dir, 'channels.yaml');
  const original =
    `# Scan test headend\n` +
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n\n` +
    `tuners:\n  - id: astra # the dish on the roof\n    adapter: 0\n` +
    `    devices: ${rig.devices}\n    zap: ${rig.zap}\n` +
    `    demux: ${rig.demux}\n    delivery: dvbs2\n    frequency: 11494M\n` +
    `    polarization: h\n    symbol_rate: 22000k\n    tune_timeout: 3s\n\n` +
    `channels:\n  # taken by hand before the scan\n  - number: 5\n    name: Beta by hand\n` +
    `    output: udp://239.255.27.1:6700\n    source: { tuner: astra, service: 2 }\n`;
  writeFileSync(config, original);

  // The listing.
  const list = await cli(['scan', 'astra', '-c', config, '--json', '--timeout', '15s']);
  t.equal(list.code, 0, `scan --json exits 0 ${list.stderr}`);
  const j = JSON.parse(list.stdout) as {
    transponders: { transponder: string; nit: boolean; networkName?: string }[];
    services: { serviceId: number; serviceName: string; lcn?: number; kind: string }[];
  };
  t.same(
    j.transponders.map((x) => [x.transponder, x.nit, x.networkName]),
    [['11494M H dvbs2', true, 'Stand-in Net']],
    'one transponder, its NIT seen',
  );
  t.same(
    j.services.map((s) => [s.serviceId, s.serviceName, s.lcn, s.kind]),
    [
      [1, 'Alpha One', 101, 'tv'],
      [2, 'Beta Two', 102, 'tv'],
      [3, 'Gamma Radio', 201, 'radio'],
    ],
    'every service with its LCN, SDT name and type',
  );

  // The table and --write.
  const first = await cli([
    ...['scan', 'astra', '-c', config, '--write', config],
    ...['--base', '239.255.27.1:6700', '--timeout', '15s'],
  ]);
  t.equal(first.code, 0, `scan --write exits 0 ${first.stderr}`);
  t.match(first.stdout, /101\s+Alpha One\s+\S*\s+TV\s+1\s+11494M H dvbs2\s+PMT 0x/, 'table row');
  t.match(first.stdout, /2 channel\(s\) added, 1 skipped/, 'two added, one clash');
  t.match(
    first.stdout,
    /! Beta Two \(service 2, 11494M H dvbs2\): tuner astra service 2 is already channel 5/,
    'the clash is reported',
  );
  const written = readFileSync(config, 'utf8');
  t.ok(written.startsWith(original.split('channels:')[0]), 'head of the file unchanged');
  for (const c of ['# Scan test headend', '# the dish on the roof', '# taken by hand']) {
    t.ok(written.includes(c), `comment kept: ${c}`);
  }
  t.match(
    written,
    '  - number: 101\n    name: Alpha One\n    output: udp://239.255.27.2:6700\n' +
      '    source: { tuner: astra, service: 1 }\n',
    'channel 101 as written',
  );
  t.match(written, 'name: Gamma Radio # radio', 'the radio service is marked');

  const valid = await cli(['validate', '-c', config]);
  t.equal(valid.stdout, 'OK: 3 channels\n', `validate accepts the file ${valid.stderr}`);

  // A second scan adds nothing and leaves the file as it is.
  const second = await cli(['scan', 'astra', '-c', config, '--write', config, '--timeout', '15s']);
  t.equal(second.code, 0, `second scan exits 0 ${second.stderr}`);
  t.match(second.stdout, /0 channel\(s\) added, 3 skipped/, 'second scan: nothing added');
  t.equal(readFileSync(config, 'utf8'), written, 'file unchanged by the second scan');

  // probe of the tuner prints what probe prints for each program.
  const probe = await cli(['probe', 'astra', '-c', config, '--seconds', '15']);
  t.equal(probe.code, 0, `probe astra exits 0 ${probe.stderr}`);
  t.match(probe.stdout, /program 1 {2}"Alpha One"/, 'probe: program 1 named');
  t.match(probe.stdout, /program 3 {2}"Gamma Radio"/, 'probe: program 3 named');

  // run plays the written file: channel 101 carries service 1, named from the SDT.
  const d = startDaemon(t, { file: config });
  await d.waitFor((e) => e.event === 'ready', 10_000);
  await d.waitFor(
    (e) => e.channel === '101 Alpha One' && e.event === 'source-up' && e.index === 0,
    20_000,
  );
  const p = await ffprobeJson('239.255.27.2', 6700, 8);
  const v = p.streams?.find((s) => s.codec_type === 'video');
  t.same([v?.width, v?.height], PROGRAMS[0].size, "101: service 1's picture");
  t.equal(p.programs?.[0]?.tags?.service_name, 'Alpha One', '101: the SDT name');
  await stopAndCheck(t, d, []);
  t.same(pidsWithMarker(tag), [], 'no stand-in process left');
});
