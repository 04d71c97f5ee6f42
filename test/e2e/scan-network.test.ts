import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
// `headend scan` and `headend probe` of the network tuners, as a user runs them, on the
// stand-ins (no SAT>IP server or HDHomeRun exists here): test/helpers/satip-server.ts plays an
// MPTS with a NIT spliced in (EACEM logical channel numbers), test/helpers/hdhomerun-server.ts
// answers discovery on UDP 65001 and serves a lineup of two channels on port 5004 (API and
// stream, as the stand-in serves both). Each scan --write adds the channels and a `tuners:`
// entry, validate accepts the file, run plays a written channel (ffprobe: the SDT name and the
// picture), and a second scan adds nothing.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FakeHdhomerun } from '../helpers/hdhomerun-server.js';
import { makeMpts, type MptsProgram } from '../helpers/mpts.js';
import { spliceNit, streamIds } from '../helpers/dvb/nit-splice.js';
import { SatipServer } from '../helpers/satip-server.js';
import { ffprobeJson, runCli, startDaemon, stopAndCheck, tempDir } from './helpers.js';

const MUXRATE = 1_000_000;
const HEAD = `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  http: false\n  rtsp: false\n`;

const cli = (dir: string, args: string[]) => runCli(args, { cwd: dir, timeoutMs: 90_000 });

interface Written {
  tuners?: Record<string, unknown>[];
  channels?: { number: number; name: string; output: string; source: Record<string, unknown> }[];
}

/** Plays the file with `headend run` and checks one channel's output with ffprobe. */
async function playsOne(
  t: Test,
  file: string,
  ch: { number: number; name: string; group: string; port: number; size: [number, number] },
): Promise<void> {
  const d = startDaemon(t, { file });
  await d.waitFor((e) => e.event === 'ready', 10_000);
  await d.waitFor(
    (e) => e.channel === `${ch.number} ${ch.name}` && e.event === 'source-up' && e.index === 0,
    25_000,
  );
  const p = await ffprobeJson(ch.group, ch.port, 8);
  const v = p.streams?.find((s) => s.codec_type === 'video');
  t.same([v?.width, v?.height], ch.size, `run: ${ch.number}'s picture`);
  t.equal(p.programs?.[0]?.tags?.service_name, ch.name, `run: ${ch.number} has the SDT name`);
  await stopAndCheck(t, d, []);
}

const SAT: MptsProgram[] = [
  { service: 1, name: 'Sat One', size: [320, 180], pattern: 'testsrc' },
  { service: 2, name: 'Sat Two', size: [256, 144], pattern: 'smptebars' },
  { service: 3, name: 'Sat Radio', size: [0, 0], pattern: '', radio: true },
];
const LCN: Record<number, number> = { 1: 301, 2: 302, 3: 351 };

t.test('scan and probe a SAT>IP server (stand-in): write, validate, run, again', async (t) => {
  const dir = tempDir(t);
  const mpts = join(dir, 'sat.ts');
  makeMpts(mpts, SAT, 20, MUXRATE);
  const { tsid, onid } = streamIds(mpts);
  spliceNit(mpts, {
    networkId: 0x3002,
    version: 0,
    networkName: 'Sat Stand-in',
    networkDescriptors: [],
    transportStreams: [
      {
        transportStreamId: tsid,
        originalNetworkId: onid,
        services: [],
        logicalChannels: SAT.map((p) => ({
          serviceId: p.service,
          visible: true,
          lcn: LCN[p.service],
        })),
        otherDescriptors: [],
      },
    ],
  });
  const server = await SatipServer.start({ file: mpts });
  t.teardown(() => server.stop());
  const url = `satip://127.0.0.1:${server.port}`;
  const tp = 'dvbs2:11494M:h:22000k';
  const config = join(dir, 'channels.yaml');
  writeFileSync(config, `# SAT>IP scan test\n${HEAD}`);

  const probe = await cli(dir, ['probe', url, '--transponder', tp, '--seconds', '15']);
  t.equal(probe.code, 0, `probe exits 0 ${probe.stderr}`);
  t.match(probe.stdout, `${url} 11494M H dvbs2: 3 program(s)`, 'probe: the transponder');
  for (const p of SAT) {
    t.match(probe.stdout, `program ${p.service}  "${p.name}"`, `probe: program ${p.service}`);
  }

  const scanArgs = [
    ...['scan', url, '--transponder', tp, '--write', config],
    ...['--base', '239.255.30.1:6730', '--timeout', '15s'],
  ];
  const first = await cli(dir, scanArgs);
  t.equal(first.code, 0, `scan --write exits 0 ${first.stderr}`);
  t.match(first.stdout, /11494M H dvbs2: 3 service\(s\), tsid \d+ network "Sat Stand-in"/, 'head');
  t.match(first.stdout, /301\s+Sat One\s+\S*\s+TV\s+1\s+11494M H dvbs2\s+PMT 0x/, 'table row');
  t.match(first.stdout, /3 channel\(s\) added, 0 skipped/, 'three added');
  const id = `satip-127-0-0-1-11494h`;
  t.match(first.stdout, `tuner ${id} added`, 'the tuner entry added');
  const written = readFileSync(config, 'utf8');
  t.ok(written.startsWith(`# SAT>IP scan test\n${HEAD}`), 'head of the file unchanged');
  const doc = parse(written) as Written;
  t.same(
    doc.tuners,
    [
      {
        id,
        url,
        delivery: 'dvbs2',
        frequency: '11494M',
        polarization: 'h',
        symbol_rate: '22000k',
      },
    ],
    'tuners: the server with the transponder',
  );
  t.same(
    doc.channels?.map((c) => [c.number, c.name, c.output, c.source]),
    [
      [301, 'Sat One', 'udp://239.255.30.1:6730', { tuner: id, service: 1 }],
      [302, 'Sat Two', 'udp://239.255.30.2:6730', { tuner: id, service: 2 }],
      [351, 'Sat Radio', 'udp://239.255.30.3:6730', { tuner: id, service: 3 }],
    ],
    'the channels: LCN, SDT name, one group each, the tuner and service',
  );

  const valid = await cli(dir, ['validate', '-c', config]);
  t.equal(valid.stdout, 'OK: 3 channels\n', `validate accepts the file ${valid.stderr}`);

  const second = await cli(dir, scanArgs);
  t.equal(second.code, 0, `second scan exits 0 ${second.stderr}`);
  t.match(second.stdout, /0 channel\(s\) added, 3 skipped/, 'second scan: nothing added');
  t.equal(readFileSync(config, 'utf8'), written, 'file unchanged by the second scan');

  // One frequency on two inputs of the server (src=2, src=3: two dishes): two multiplexes,
  // each row written with its own tuner (the stand-in plays the same file on both, so the
  // second input's services clash with the first's LCNs).
  const two = join(dir, 'two.yaml');
  writeFileSync(two, HEAD);
  const setups = server.of('SETUP').length;
  const both = await cli(dir, [
    ...['scan', url, '--transponder', `${tp}:src=2`, '--transponder', `${tp}:src=3`],
    ...['--write', two, '--base', '239.255.30.41:6734', '--timeout', '15s'],
  ]);
  t.equal(both.code, 0, `scan of two inputs exits 0 ${both.stderr}`);
  t.same(
    server
      .of('SETUP')
      .slice(setups)
      .map((r) => r.query.get('src')),
    ['2', '3'],
    'each input tuned (SETUP src=)',
  );
  t.match(both.stdout, /11494M H dvbs2 src 2: 3 service/, 'the inputs are told apart');
  t.match(both.stdout, /3 channel\(s\) added, 3 skipped/, 'one input added, the other clashes');
  t.match(
    both.stdout,
    /! Sat One \(service 1, 11494M H dvbs2 src 3\): number 301 \(its LCN\) is already/,
    'the clash names the second input',
  );
  const twoDoc = parse(readFileSync(two, 'utf8')) as Written;
  t.same(
    twoDoc.tuners?.map((x) => [x.id, x.src]),
    [[id, 2]],
    "tuners: src=2's entry only",
  );
  t.same(
    twoDoc.channels?.map((c) => [c.number, c.source]),
    [
      [301, { tuner: id, service: 1 }],
      [302, { tuner: id, service: 2 }],
      [351, { tuner: id, service: 3 }],
    ],
    'the channels name the input they were found on',
  );

  await playsOne(t, config, {
    number: 302,
    name: 'Sat Two',
    group: '239.255.30.2',
    port: 6730,
    size: [256, 144],
  });
});

const AIR: MptsProgram[] = [
  { service: 1, name: 'Air One', size: [320, 180], pattern: 'testsrc' },
  { service: 2, name: 'Air Two', size: [256, 144], pattern: 'smptebars' },
];
const DEVICE = '1010CAFE';

t.test('scan an HDHomeRun (stand-in) by device id: lineup, one channel, write, run', async (t) => {
  const dir = tempDir(t);
  const files = AIR.map((p, i) => {
    const f = join(dir, `air${i + 1}.ts`);
    makeMpts(f, [p], 20, MUXRATE);
    return f;
  });
  const box = new FakeHdhomerun({
    deviceId: DEVICE,
    tuners: 2,
    channels: [
      { guideNumber: '5.1', name: 'Air One', file: files[0], hd: true },
      { guideNumber: '5.2', name: 'Air Two', file: files[1] },
      { guideNumber: '5.3', name: 'Pay One', file: files[1], drm: true },
    ],
    byteRate: MUXRATE / 8,
    discoveryPort: 65001,
    port: 5004,
  });
  await box.start();
  t.teardown(() => box.stop());
  const common = ['--discover', '127.0.0.1', '--timeout', '15s'];

  // The lineup as a table, then scanned and written.
  const lineup = await cli(dir, ['scan', `hdhomerun://${DEVICE}`, '--lineup', ...common]);
  t.equal(lineup.code, 0, `scan --lineup exits 0 ${lineup.stderr}`);
  t.match(lineup.stdout, /5\.1\s+Air One\s+HD/, 'lineup: 5.1');
  t.match(lineup.stdout, /5\.2\s+Air Two/, 'lineup: 5.2');
  t.ok(box.discoverRequests > 0, 'the device id was resolved by discovery');

  const all = join(dir, 'lineup.yaml');
  writeFileSync(all, HEAD);
  const allArgs = [
    ...['scan', `hdhomerun://${DEVICE}`, '--write', all],
    ...['--base', '239.255.30.11:6731', ...common],
  ];
  const first = await cli(dir, allArgs);
  t.equal(first.code, 0, `lineup scan --write exits 0 ${first.stderr}`);
  t.match(first.stdout, /2 channel\(s\) added, 0 skipped/, 'lineup: two added');
  t.match(
    first.stdout,
    /not scanned: 5\.3 Pay One: DRM: copy-protected/,
    'lineup: the DRM channel is named as not scanned, and why',
  );
  t.match(first.stderr, /"event":"scan-skipped".*"guideNumber":"5\.3"/, 'and logged');
  t.notOk(
    box.streamRequests().some((r) => r.path === '/auto/v5.3'),
    'its stream was never asked for',
  );
  const doc = parse(readFileSync(all, 'utf8')) as Written;
  const ids = ['hdhr-1010cafe-5-1', 'hdhr-1010cafe-5-2'];
  t.same(
    doc.tuners,
    [
      { id: ids[0], url: `hdhomerun://${DEVICE}/5.1`, discover: '127.0.0.1' },
      { id: ids[1], url: `hdhomerun://${DEVICE}/5.2`, discover: '127.0.0.1' },
    ],
    'lineup: one tuner entry per channel, found where the scan found it',
  );
  t.same(
    doc.channels?.map((c) => [c.number, c.name, c.output, c.source]),
    [
      [1, 'Air One', 'udp://239.255.30.11:6731', { tuner: ids[0], service: 1 }],
      [2, 'Air Two', 'udp://239.255.30.12:6731', { tuner: ids[1], service: 2 }],
    ],
    'lineup: the channels',
  );
  const valid = await cli(dir, ['validate', '-c', all]);
  t.equal(valid.stdout, 'OK: 2 channels\n', `validate accepts the lineup file ${valid.stderr}`);
  const written = readFileSync(all, 'utf8');
  const again = await cli(dir, allArgs);
  t.match(again.stdout, /0 channel\(s\) added, 2 skipped/, 'lineup again: nothing added');
  t.equal(readFileSync(all, 'utf8'), written, 'lineup file unchanged by the second scan');

  // One channel: into its own file, and into the lineup's file (already there).
  const one = join(dir, 'one.yaml');
  writeFileSync(one, HEAD);
  const single = await cli(dir, [
    ...['scan', `hdhomerun://${DEVICE}/5.2`, '--write', one],
    ...['--base', '239.255.30.21:6732', ...common],
  ]);
  t.equal(single.code, 0, `one-channel scan exits 0 ${single.stderr}`);
  t.match(single.stdout, /1 channel\(s\) added, 0 skipped/, 'one channel added');
  t.same(
    (parse(readFileSync(one, 'utf8')) as Written).tuners,
    [{ id: ids[1], url: `hdhomerun://${DEVICE}/5.2`, discover: '127.0.0.1' }],
    'one channel: its tuner entry',
  );
  const dup = await cli(dir, [
    ...['scan', `hdhomerun://${DEVICE}/5.2`, '--write', all],
    ...['--base', '239.255.30.11:6731', ...common],
  ]);
  t.match(dup.stdout, /0 channel\(s\) added, 1 skipped/, 'one channel into the lineup file: none');

  // probe of a config tuner id uses the tuner's own discover: address.
  const probe = await cli(dir, ['probe', ids[0], '-c', all, '--seconds', '15']);
  t.equal(probe.code, 0, `probe of the tuner id exits 0 ${probe.stderr}`);
  t.match(probe.stdout, 'program 1  "Air One"', 'probe: the program');

  await playsOne(t, one, {
    number: 1,
    name: 'Air Two',
    group: '239.255.30.21',
    port: 6732,
    size: [256, 144],
  });
});
