// The tuners: section of channels.yaml (src/headend/config/tuners.ts): every tuning key parsed
// into Hz and symbols/s with its units, the keys that apply to each kind and delivery system,
// and each problem reported at FILE:LINE:COLUMN with what to write instead.
import t from 'tap';
import { loadConfigText } from '../../../src/headend/config/index.js';
import type { ConfigError } from '../../../src/headend/config/types.js';

const CHANNEL =
  'channels:\n  - number: 1\n    name: One\n    output: udp://239.255.1.1:5000\n' +
  '    source: { tuner: sat, service: 1001 }\n';

function load(tuners: string, channels = CHANNEL) {
  return loadConfigText(`tuners:\n${tuners}${channels}`, 'c.yaml', { interfaces: null });
}
function errors(tuners: string, channels = CHANNEL): ConfigError[] {
  const r = load(tuners, channels);
  if (!('errors' in r)) throw new Error('expected errors');
  return r.errors;
}
const SAT = (extra = ''): string =>
  '  - id: sat\n    adapter: 0\n    delivery: dvbs2\n    frequency: 11494M\n' +
  `    polarization: h\n    symbol_rate: 22000k\n${extra}`;

t.test('a satellite adapter: units, defaults, the channel source', async (t) => {
  const r = load(SAT('    diseqc: 2\n'));
  if (!('config' in r)) throw new Error(JSON.stringify(r.errors));
  const [tuner] = r.config.tuners;
  t.match(tuner, {
    id: 'sat',
    kind: 'dvb',
    adapter: 0,
    frontend: 0,
    devices: '/dev/dvb',
    zap: 'dvbv5-zap',
    tuneTimeoutMs: 10_000,
    tuning: {
      delivery: 'dvbs2',
      frequencyHz: 11_494_000_000,
      polarization: 'h',
      symbolRate: 22_000_000,
      diseqc: 2,
      lnb: { lowHz: 9_750_000_000, highHz: 10_600_000_000, switchHz: 11_700_000_000 },
    },
  });
  const src = r.config.channels[0].sources[0];
  t.equal(src.tuner?.id, 'sat', 'the channel source is the tuner');
  t.equal(src.service, 1001);
  t.match(src.key, /^tuner:sat#[0-9a-f]{8}$/, 'a short key');
});

t.test(
  'frequencies and symbol rates in every unit; terrestrial, cable, SAT>IP, HDHomeRun',
  async (t) => {
    for (const [text, hz] of [
      ['11494M', 11_494_000_000],
      ['11.494G', 11_494_000_000],
      ['11494MHz', 11_494_000_000],
      ['11494000k', 11_494_000_000],
      ['11494000000', 11_494_000_000],
    ] as const) {
      const r = load(SAT().replace('11494M', text));
      t.equal(
        'config' in r && r.config.tuners[0].kind === 'dvb' && r.config.tuners[0].tuning.frequencyHz,
        hz,
        text,
      );
    }
    const r = load(
      '  - id: t2\n    url: satip://10.0.0.9:8554\n    delivery: dvbt2\n    frequency: 474MHz\n' +
        '    plp: 1\n    bandwidth: 7M\n    transport: tcp\n' +
        '  - id: cable\n    adapter: 1\n    delivery: dvbc\n    frequency: 346M\n' +
        '    symbol_rate: 6900k\n    modulation: QAM256\n' +
        '  - id: hd\n    url: hdhomerun://1010CAFE/5.1\n    discover: 127.0.0.1\n',
      CHANNEL.replace('tuner: sat', 'tuner: t2'),
    );
    if (!('config' in r)) throw new Error(JSON.stringify(r.errors));
    const [t2, cable, hd] = r.config.tuners;
    t.match(t2, {
      kind: 'satip',
      host: '10.0.0.9',
      port: 8554,
      src: 1,
      transport: 'tcp',
      tuning: { delivery: 'dvbt2', frequencyHz: 474_000_000, plp: 1, bandwidthHz: 7_000_000 },
    });
    t.match(cable, {
      kind: 'dvb',
      adapter: 1,
      tuning: { symbolRate: 6_900_000, modulation: 'qam256' },
    });
    t.same(hd, {
      id: 'hd',
      kind: 'hdhomerun',
      device: '1010CAFE',
      channel: '5.1',
      port: 5004,
      discover: '127.0.0.1',
    });
  },
);

t.test('DVB-S2 fec, rolloff and pilots: parsed, auto when absent', async (t) => {
  const r = load(SAT('    fec: 3/4\n    rolloff: 0.2\n    pilots: on\n'));
  if (!('config' in r)) throw new Error(JSON.stringify(r.errors));
  t.match(r.config.tuners[0], { tuning: { fec: '3/4', rolloff: '0.20', pilots: true } });
  const auto = load(SAT('    fec: auto\n    pilots: off\n'));
  if (!('config' in auto)) throw new Error(JSON.stringify(auto.errors));
  const tuner = auto.config.tuners[0];
  if (tuner.kind !== 'dvb') throw new Error('a dvb tuner');
  t.equal(tuner.tuning.fec, undefined, 'fec: auto is no fec');
  t.equal(tuner.tuning.rolloff, undefined);
  t.equal(tuner.tuning.pilots, false);
});

t.test('bad tuning keys: each at its line:column, with what to write', async (t) => {
  const cases: [string, RegExp, string][] = [
    [
      SAT().replace('11494M', '11494'),
      /frequency .*outside.*write 11494M for MHz|outside dvbs2/,
      '11494',
    ],
    [
      SAT().replace('22000k', '22000'),
      /symbol rate 22000 is outside 100k to 100M \(.*write 22000k\)/,
      '22000',
    ],
    [
      SAT().replace('polarization: h', 'polarization: x'),
      /expected a polarization: h \(horizontal\)/,
      'x',
    ],
    [
      SAT().replace('dvbs2', 'dvbs3'),
      /unknown delivery system 'dvbs3' \(did you mean 'dvbs/,
      'dvbs3',
    ],
    [SAT('    diseqc: 5\n'), /diseqc: expected an integer from 1 to 4/, '5'],
    [SAT('    fec: 3/5x\n'), /unknown FEC rate '3\/5x'.*expected one of auto, 1\/2/, '3/5x'],
    [SAT('    rolloff: 0.3\n'), /expected a roll-off of 0.35, 0.25 or 0.20, got 0.3/, '0.3'],
    [SAT('    pilots: maybe\n'), /pilots: expected on or off/, 'maybe'],
    [
      SAT('    rolloff: 0.25\n').replace('dvbs2', 'dvbs'),
      /rolloff applies only to DVB-S2/,
      'rolloff',
    ],
    [SAT('    bandwidth: 8M\n'), /bandwidth applies only to terrestrial/, 'bandwidth'],
    [
      SAT('    lnb: { low: 9750M }\n').replace('11494M', '12.5G'),
      /IF of 2750MHz, outside the tuner's 950M-2150M/,
      '12.5G',
    ],
    [SAT('    lnb: { low: 9800M }\n'), /dvbv5-zap has no LNB type with these oscillators/, '{ low'],
    [SAT('    lnb: { low: 9750M, high: 10600M }\n'), /needs both high and switch/, '{ low'],
    [
      SAT('    unicable: { slot: 9, frequency: 1210M }\n'),
      /slot: expected an integer from 1 to 8/,
      '9, frequency',
    ],
    [SAT('    frontend: x\n'), /frontend: expected an integer from 0 to 255/, 'x'],
    [SAT('    src: 2\n'), /src applies only to a SAT>IP server/, 'src'],
    [SAT('    bandwdth: 8M\n'), /unknown key 'bandwdth'.*did you mean 'bandwidth'/, 'bandwdth'],
    [
      SAT().replace('adapter: 0', 'url: satip://host/x'),
      /satip:\/\/server\[:port\] takes no path/,
      'satip',
    ],
    [
      SAT().replace('adapter: 0', 'url: hdhomerun://1010CAFE'),
      /ends with the guide channel/,
      'hdhomerun',
    ],
    [
      '  - id: t\n    adapter: 0\n    delivery: dvbt\n    frequency: 11494M\n',
      /outside dvbt's 47M-1000M/,
      '11494M',
    ],
    [
      '  - id: c\n    adapter: 0\n    delivery: dvbc\n    frequency: 346M\n    symbol_rate: 6900k\n',
      /missing required key 'modulation'/,
      'id: c',
    ],
  ];
  for (const [tuners, message, needle] of cases) {
    const text = `tuners:\n${tuners}${CHANNEL}`;
    const e = errors(tuners);
    const ours = e.filter((x) => x.path.startsWith('tuners'));
    t.equal(ours.length, 1, `${needle}: one error (${e.map((x) => x.message).join(' | ')})`);
    t.match(ours[0]?.message, message, needle);
    const i = text.indexOf(needle);
    const before = text.slice(0, i).split('\n');
    t.equal(
      `${ours[0]?.line}:${ours[0]?.column}`,
      `${before.length}:${before[before.length - 1].length + 1}`,
      `${needle}: position`,
    );
  }
});

t.test('channels naming tuners: unknown ids, a broken tuner, tuner with url', async (t) => {
  const unknown = errors(SAT(), CHANNEL.replace('tuner: sat', 'tuner: sta'));
  t.match(unknown[0].message, /no tuner 'sta' in tuners: \(did you mean 'sat'\?\) \(tuners: sat\)/);
  t.equal(`${unknown[0].line}:${unknown[0].column}`, '12:22', 'at the id');
  const broken = errors(SAT().replace('22000k', 'fast'));
  t.equal(broken.length, 1, 'a broken tuner is reported once, not again at its channels');
  const both = errors(
    SAT(),
    CHANNEL.replace('tuner: sat,', 'tuner: sat, url: udp://239.1.1.1:5000,'),
  );
  t.match(both[0].message, /a source has one of url, test and tuner, not url and tuner/);
  const loop = errors(SAT(), CHANNEL.replace('service: 1001', 'service: 1001, loop: true'));
  t.match(loop[0].message, /loop has no meaning for a tuner source/);
  const twice = errors(SAT() + SAT().replace('id: sat', 'id: sat2'));
  t.match(twice[0].message, /\/dev\/dvb\/adapter0\/frontend0 is already tuner 'sat'/);
  const dup = errors(SAT() + SAT().replace('adapter: 0', 'adapter: 1'));
  t.match(dup[0].message, /tuner id 'sat' is already used/);
});
