// headend scan --write: channels appended through the YAML Document API, comments kept,
// clashes reported, a second run adds nothing, and the result passes the config loader.
import t from 'tap';
import { loadConfigText } from '../../../src/headend/config/load.js';
import { writeChannels, type Candidate } from '../../../src/headend/scan/write.js';
import { isHeadendError } from '../../../src/headend/errors.js';
import type { TunerSpec } from '../../../src/headend/tuners/types.js';
import { resolveEntry } from '../../../src/headend/scan/target.js';

const ASTRA_ENTRY = {
  id: 'astra',
  url: 'satip://10.0.0.9',
  delivery: 'dvbs2',
  frequency: '11494M',
  polarization: 'h',
  symbol_rate: '22000k',
};
const astra = resolveEntry(ASTRA_ENTRY, 'test') as TunerSpec;
const other = resolveEntry(
  { ...ASTRA_ENTRY, id: 'satip-10-0-0-9-12603h', frequency: '12603M' },
  'test',
) as TunerSpec;

const FILE = `# Our headend
headend:
  interface: 127.0.0.1 # loopback only

tuners:
  - id: astra # the dish
    url: satip://10.0.0.9
    delivery: dvbs2
    frequency: 11494M
    polarization: h
    symbol_rate: 22000k

channels:
  # the lobby screen
  - number: 1
    name: Lobby
    output: udp://239.255.10.1:5000
    source: { test: smpte }
  - number: 102
    name: Taken Number
    output: udp://239.255.10.3:5000
    source: { test: smpte }
`;

const cand = (c: Partial<Candidate> & { serviceId: number; name: string }): Candidate => ({
  kind: 'tv',
  tuner: astra,
  transponder: '11494M H dvbs2',
  ...c,
});

const CANDIDATES: Candidate[] = [
  cand({ serviceId: 1, name: 'Alpha HD', kind: 'hd', lcn: 101, visible: true }),
  cand({ serviceId: 2, name: 'Beta', lcn: 102, visible: true }), // number taken
  cand({ serviceId: 3, name: 'Gamma Radio', kind: 'radio', lcn: 201, visible: true }),
  cand({ serviceId: 4, name: 'No Number' }),
  cand({ serviceId: 5, name: 'Hidden', lcn: 900, visible: false }),
  cand({ serviceId: 6, name: 'EPG data', kind: 'data' }),
  cand({ serviceId: 7, name: 'Lobby' }), // slug taken
  {
    serviceId: 10,
    name: 'Other TP',
    kind: 'tv',
    lcn: 301,
    tuner: other,
    entry: { ...ASTRA_ENTRY, id: 'satip-10-0-0-9-12603h', frequency: '12603M' },
    transponder: '12603M H dvbs2',
  },
];

t.test('appends channels, keeps comments, reports clashes; idempotent', async (t) => {
  const r = writeChannels(FILE, CANDIDATES, { base: { group: '239.255.10.1', port: 5000 } });
  if (isHeadendError(r)) throw r;
  t.same(
    r.added.map((a) => [a.number, a.name, a.output, a.tuner, a.serviceId]),
    [
      [101, 'Alpha HD', 'udp://239.255.10.2:5000', 'astra', 1],
      [103, 'No Number', 'udp://239.255.10.6:5000', 'astra', 4],
      [201, 'Gamma Radio', 'udp://239.255.10.4:5000', 'astra', 3],
      [301, 'Other TP', 'udp://239.255.10.5:5000', 'satip-10-0-0-9-12603h', 10],
    ],
    'LCN numbers, then the highest number + 1; groups skip the used ones',
  );
  t.same(
    r.skipped.map((s) => [s.serviceId, s.reason]),
    [
      [2, "number 102 (its LCN) is already channel 102 'Taken Number'"],
      [5, 'a hidden service (LCN 900 with visible_service_flag 0)'],
      [6, 'a data service (no picture or sound)'],
      [7, "slug 'lobby' is already channel 1 'Lobby'"],
    ],
  );
  t.same(r.tuners, ['satip-10-0-0-9-12603h'], 'a tuner entry for the other transponder');
  for (const c of ['# Our headend', '# loopback only', '# the dish', '# the lobby screen']) {
    t.ok(r.text.includes(c), `comment kept: ${c}`);
  }
  t.match(r.text, /name: Gamma Radio # radio/, 'radio marked by a comment');
  t.match(r.text, /source: \{ tuner: astra, service: 1 \}/, 'source as a flow mapping');
  t.ok(r.text.startsWith(FILE.split('channels:')[0].split('tuners:')[0]), 'head unchanged');

  const loaded = loadConfigText(r.text, 'channels.yaml', { interfaces: null });
  t.notOk(
    'errors' in loaded,
    `the result loads: ${JSON.stringify((loaded as { errors?: unknown }).errors)}`,
  );

  const again = writeChannels(r.text, CANDIDATES, { base: { group: '239.255.10.1', port: 5000 } });
  if (isHeadendError(again)) throw again;
  t.same(again.added, [], 'a second run adds nothing');
  t.equal(again.text, r.text, 'and leaves the file as it was');
  t.same(again.tuners, []);
  t.match(
    again.skipped.find((s) => s.serviceId === 1)?.reason,
    /^tuner astra service 1 is already channel 101 'Alpha HD'/,
  );
});

t.test('an empty file gets tuners: and channels:', async (t) => {
  const r = writeChannels(
    '',
    [{ ...CANDIDATES[7], entry: { ...ASTRA_ENTRY, id: 'satip-x', frequency: '12603M' } }],
    { base: { group: '239.255.20.1', port: 6000 }, firstNumber: 50 },
  );
  if (isHeadendError(r)) throw r;
  t.equal(
    r.text,
    `tuners:\n  - id: satip-x\n    url: satip://10.0.0.9\n    delivery: dvbs2\n    frequency: 12603M\n` +
      `    polarization: h\n    symbol_rate: 22000k\nchannels:\n` +
      `  # headend scan: 12603M H dvbs2 (tuner satip-x)\n` +
      `  - number: 301\n    name: Other TP\n    output: udp://239.255.20.1:6000\n` +
      `    source: { tuner: satip-x, service: 10 }\n`,
  );
});

t.test('channels: not a list is refused', async (t) => {
  const r = writeChannels('channels: 3\n', CANDIDATES.slice(0, 1), {
    base: { group: '239.255.10.1', port: 5000 },
  });
  t.ok(isHeadendError(r));
});
