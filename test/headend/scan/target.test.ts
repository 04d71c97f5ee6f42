// headend scan targets: --transponder syntax checked by the config's tuner resolver, config
// tuners given other transponders, satip:// and hdhomerun:// URLs, the lineup parser, --base.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHeadendError } from '../../../src/headend/errors.js';
import {
  parseTransponder,
  resolveTarget,
  type ScanPlan,
} from '../../../src/headend/scan/target.js';
import { parseLineup } from '../../../src/headend/tuners/hdhomerun/lineup.js';
import { discoverAddress, outputBase } from '../../../src/headend/scan/options.js';

const dir = mkdtempSync(join(tmpdir(), 'scan-target-'));
t.teardown(() => undefined);

t.test('transponder syntax: positional values by delivery system, key=value', async (t) => {
  const cases: [string, unknown][] = [
    [
      'dvbs2:11494M:h:22000k',
      { delivery: 'dvbs2', frequency: '11494M', polarization: 'h', symbol_rate: '22000k' },
    ],
    [
      'dvbs2:11494M:v:27.5M:8psk:plp=3',
      {
        delivery: 'dvbs2',
        frequency: '11494M',
        polarization: 'v',
        symbol_rate: '27.5M',
        modulation: '8psk',
        plp: 3,
      },
    ],
    ['dvbt2:474M:8M:1', { delivery: 'dvbt2', frequency: '474M', bandwidth: '8M', plp: 1 }],
    [
      'dvbc:346M:6900k:qam256',
      { delivery: 'dvbc', frequency: '346M', symbol_rate: '6900k', modulation: 'qam256' },
    ],
    ['atsc:57M:8vsb', { delivery: 'atsc', frequency: '57M', modulation: '8vsb' }],
  ];
  for (const [text, want] of cases) t.same(parseTransponder(text), want, text);
  const errors: [string, RegExp][] = [
    ['dvbx:11494M', /starts with the delivery system, one of dvbs, dvbs2/],
    ['dvbs2', /no frequency \(e\.g\. dvbs2:11494M:h:22000k\)/],
    ['atsc:57M:8vsb:extra', /too many values; atsc takes atsc:FREQUENCY:MODULATION/],
    ['dvbt:474M:lnb=x', /unknown key 'lnb'/],
  ];
  for (const [text, re] of errors) {
    const r = parseTransponder(text);
    t.ok(isHeadendError(r) && re.test(r.message), `${text}: ${(r as Error).message}`);
  }
});

t.test('satip:// needs transponders; each is checked as a tuners: entry', async (t) => {
  const none = resolveTarget('satip://10.0.0.9', { transponders: [] });
  t.match((none as Error).message, /needs the transponders to tune/);
  const p = resolveTarget('satip://10.0.0.9:8554', {
    transponders: ['dvbs2:11494M:h:22000k', 'dvbs:12603M:v:22000k'],
  }) as ScanPlan;
  t.same(
    p.transponders.map((x) => [x.label, x.tuner.id, x.tuner.kind, x.entry?.id]),
    [
      ['11494M H dvbs2', 'satip-10-0-0-9-11494h', 'satip', 'satip-10-0-0-9-11494h'],
      ['12603M V dvbs', 'satip-10-0-0-9-12603v', 'satip', 'satip-10-0-0-9-12603v'],
    ],
  );
  const out = resolveTarget('satip://10.0.0.9', { transponders: ['dvbs2:8000M:h:22000k'] });
  t.match(
    (out as Error).message,
    /^--transponder 'dvbs2:8000M:h:22000k': frequency: frequency 8000MHz is outside dvbs2's/,
    'range checked by the config resolver',
  );
  const sr = resolveTarget('satip://10.0.0.9', { transponders: ['dvbs2:11494M:h'] });
  t.match((sr as Error).message, /missing required key 'symbol_rate'/);
});

t.test('hdhomerun:// with a channel, and without (the lineup)', async (t) => {
  const p = resolveTarget('hdhomerun://1010CAFE/5.1', { transponders: [] }) as ScanPlan;
  t.equal(p.transponders[0].label, 'hdhomerun 5.1');
  t.equal(p.transponders[0].tuner.kind, 'hdhomerun');
  t.same(resolveTarget('hdhomerun://192.168.1.50', { transponders: [] }), {
    lineupHost: '192.168.1.50',
  });
  t.match(
    (resolveTarget('hdhomerun://x/5.1', { transponders: ['atsc:57M:8vsb'] }) as Error).message,
    /tunes by channel/,
  );
});

t.test('a config tuner, as is and on other transponders', async (t) => {
  const file = join(dir, 'channels.yaml');
  writeFileSync(
    file,
    `tuners:\n  - id: roof\n    adapter: 1\n    delivery: dvbs2\n    frequency: 11494M\n` +
      `    polarization: h\n    symbol_rate: 22000k\n    diseqc: 2\n` +
      `  - id: box\n    url: satip://10.0.0.9\n    src: 2\n    delivery: dvbs2\n` +
      `    frequency: 11494M\n    polarization: h\n    symbol_rate: 22000k\n` +
      `channels: []\n`,
  );
  const same = resolveTarget('roof', { configFile: file, transponders: [] }) as ScanPlan;
  t.equal(same.transponders[0].tuner.id, 'roof');
  t.equal(same.transponders[0].entry, undefined, 'no entry to add: the tuner exists');

  const dvb = resolveTarget('roof', {
    configFile: file,
    transponders: ['dvbs2:11494M:h:22000k', 'dvbs2:12603M:v:22000k'],
  }) as ScanPlan;
  t.equal(dvb.transponders[0].tuner.id, 'roof', 'its own transponder: the tuner itself');
  t.equal(dvb.transponders[0].unwritable, undefined);
  const other = dvb.transponders[1].tuner;
  t.ok(other.kind === 'dvb' && other.adapter === 1 && other.tuning.diseqc === 2, 'adapter kept');
  t.ok(other.kind === 'dvb' && other.tuning.frequencyHz === 12_603_000_000, 'tuning replaced');
  t.match(dvb.transponders[1].unwritable, /adapter 1 is tuner 'roof'/, 'one adapter, one entry');

  const sat = resolveTarget('box', {
    configFile: file,
    transponders: ['dvbs2:12603M:v:22000k'],
  }) as ScanPlan;
  t.same(sat.transponders[0].entry, {
    id: 'box-12603v',
    url: 'satip://10.0.0.9',
    src: 2,
    delivery: 'dvbs2',
    frequency: '12603M',
    polarization: 'v',
    symbol_rate: '22000k',
  });

  t.match(
    (resolveTarget('nope', { configFile: file, transponders: [] }) as Error).message,
    /no tuner 'nope' in .*channels\.yaml \(tuners: roof, box\)/,
  );
  t.match(
    (resolveTarget('roof', { transponders: [] }) as Error).message,
    /no config file to find a tuner/,
  );
});

t.test('lineup.json and --base', async (t) => {
  t.same(
    parseLineup([
      { GuideNumber: '5.1', GuideName: 'KQED', URL: 'http://x:5004/auto/v5.1', HD: 1 },
      { GuideName: 'no number' },
      { GuideNumber: 705, GuideName: 'Pay', DRM: 1 },
    ]),
    [
      {
        guideNumber: '5.1',
        guideName: 'KQED',
        url: 'http://x:5004/auto/v5.1',
        hd: true,
        drm: false,
      },
      { guideNumber: '705', guideName: 'Pay', url: '', hd: false, drm: true },
    ],
  );
  t.ok(isHeadendError(parseLineup({})));
  t.same(outputBase('239.255.10.1:5000'), { group: '239.255.10.1', port: 5000 });
  t.same(outputBase('udp://239.1.2.3:6000'), { group: '239.1.2.3', port: 6000 });
  for (const bad of ['10.0.0.1:5000', '239.255.10.1', '239.255.10.1:70000', '239.0.0.5:5000']) {
    t.ok(isHeadendError(outputBase(bad)), `--base ${bad} refused`);
  }
});

t.test('--discover: written as the discover: of a device id, HDHomeRun only', async (t) => {
  const p = resolveTarget('hdhomerun://1010CAFE/5.1', {
    transponders: [],
    discover: '192.168.1.255',
  }) as ScanPlan;
  t.same(p.transponders[0].entry, {
    id: 'hdhr-1010cafe-5-1',
    url: 'hdhomerun://1010CAFE/5.1',
    discover: '192.168.1.255',
  });
  t.equal(
    p.transponders[0].tuner.kind === 'hdhomerun' && p.transponders[0].tuner.discover,
    '192.168.1.255',
    'the tuning asks there',
  );
  const host = resolveTarget('hdhomerun://192.168.1.50/5.1', {
    transponders: [],
    discover: '192.168.1.255',
  }) as ScanPlan;
  t.same(
    host.transponders[0].entry,
    {
      id: 'hdhr-192-168-1-50-5-1',
      url: 'hdhomerun://192.168.1.50/5.1',
    },
    'a host needs no discovery',
  );
  t.same(resolveTarget('hdhomerun://1010CAFE', { transponders: [], discover: '10.0.0.255' }), {
    lineupHost: '1010CAFE',
    discover: '10.0.0.255',
  });
  t.match(
    (
      resolveTarget('satip://10.0.0.9', {
        transponders: ['dvbs2:11494M:h:22000k'],
        discover: '10.0.0.255',
      }) as Error
    ).message,
    /--discover is for HDHomeRun/,
  );
  t.equal(discoverAddress(' 192.168.1.255 '), '192.168.1.255');
  for (const bad of ['eth0', '192.168.1', '300.1.1.1', '']) {
    t.ok(isHeadendError(discoverAddress(bad)), `--discover ${bad} refused`);
  }
});

t.test('labels tell apart multiplexes on one frequency (src, plp)', async (t) => {
  const label = (url: string, tp: string): string =>
    (resolveTarget(url, { transponders: [tp] }) as ScanPlan).transponders[0].label;
  t.equal(label('satip://10.0.0.9', 'dvbs2:11494M:h:22000k'), '11494M H dvbs2');
  t.equal(label('satip://10.0.0.9', 'dvbs2:11494M:h:22000k:src=2'), '11494M H dvbs2 src 2');
  t.equal(label('satip://10.0.0.9', 'dvbt2:474M:8M:1'), '474M dvbt2 plp 1');
});
