// The HDHomeRun HTTP API's JSON documents: lineup.json, status.json (which tuner is ours and
// its reading as TunerStatus), discover.json; how a refusal's body is shortened; where
// discovery goes and the stream URL.
import t from 'tap';
import { isHeadendError } from '../../../../src/headend/errors.js';
import { parseLineup } from '../../../../src/headend/tuners/hdhomerun/lineup.js';
import {
  parseStatus,
  pickTuner,
  toTunerStatus,
} from '../../../../src/headend/tuners/hdhomerun/status.js';
import { parseDiscoverJson } from '../../../../src/headend/tuners/hdhomerun/discover.js';
import { firstLine } from '../../../../src/headend/tuners/hdhomerun/http.js';
import { discoveryFor, streamUrl } from '../../../../src/headend/tuners/hdhomerun/run.js';
import type { HdhomerunTunerSpec } from '../../../../src/headend/tuners/types.js';

t.test('lineup.json: entries with a guide number, HD and DRM flags', async (t) => {
  const doc = JSON.parse(`[
    {"GuideNumber":"5.1","GuideName":"WABC-HD","VideoCodec":"MPEG2","HD":1,
     "URL":"http://192.168.1.20:5004/auto/v5.1"},
    {"GuideNumber":"705","GuideName":"Encrypted","DRM":1,"URL":"http://192.168.1.20:5004/auto/v705"},
    {"GuideName":"no number"},
    "junk",
    {"GuideNumber":9,"GuideName":" Nine ","URL":"x"}
  ]`) as unknown;
  t.same(parseLineup(doc), [
    {
      guideNumber: '5.1',
      guideName: 'WABC-HD',
      url: 'http://192.168.1.20:5004/auto/v5.1',
      hd: true,
      drm: false,
    },
    {
      guideNumber: '705',
      guideName: 'Encrypted',
      url: 'http://192.168.1.20:5004/auto/v705',
      hd: false,
      drm: true,
    },
    { guideNumber: '9', guideName: 'Nine', url: 'x', hd: false, drm: false },
  ]);
  const e = parseLineup({ not: 'an array' });
  t.ok(isHeadendError(e) && e.code === 'E_TUNER', 'not an array: E_TUNER');
  t.same(parseLineup([]), []);
});

const STATUS = JSON.parse(`[
  {"Resource":"tuner0","VctNumber":"5.1","VctName":"WABC","Frequency":177000000,
   "SignalStrengthPercent":93,"SignalQualityPercent":88,"SymbolQualityPercent":100,
   "TargetIP":"10.0.0.5","NetworkRate":19392000},
  {"Resource":"tuner1","VctNumber":"7.1","Frequency":189000000,"SignalStrengthPercent":40,
   "SignalQualityPercent":0,"SymbolQualityPercent":0,"TargetIP":"10.0.0.9"},
  {"Resource":"tuner2"},
  {"Resource":"network","Rate":1}
]`) as unknown;

t.test('status.json: tuner entries only, figures as given', async (t) => {
  const r = parseStatus(STATUS);
  t.equal(r.length, 3, 'the non-tuner resource is left out');
  t.same(r[0], {
    resource: 'tuner0',
    channel: '5.1',
    frequencyHz: 177000000,
    strength: 93,
    quality: 88,
    symbolQuality: 100,
    targetIp: '10.0.0.5',
  });
  t.same(r[2], { resource: 'tuner2' });
  t.same(parseStatus({}), []);
});

t.test('our tuner: target and channel, then target, then channel', async (t) => {
  const r = parseStatus(STATUS);
  const cases: [{ address?: string; channel: string }, string | undefined][] = [
    [{ address: '10.0.0.5', channel: '5.1' }, 'tuner0'],
    [{ address: '10.0.0.9', channel: '5.1' }, 'tuner1'], // ours by target (NAT'd channel name?)
    [{ address: '10.9.9.9', channel: '7.1' }, 'tuner1'], // another target: by channel
    [{ channel: '5.1' }, 'tuner0'],
    [{ address: '10.9.9.9', channel: '2.1' }, undefined],
  ];
  for (const [us, want] of cases) {
    t.equal(pickTuner(r, us)?.resource, want, JSON.stringify(us));
  }
  const two = parseStatus([
    { Resource: 'tuner0', VctNumber: '5.1', TargetIP: '127.0.0.1', SignalStrengthPercent: 1 },
    { Resource: 'tuner1', VctNumber: '7.1', TargetIP: '127.0.0.1', SignalStrengthPercent: 2 },
  ]);
  t.equal(pickTuner(two, { address: '127.0.0.1', channel: '7.1' })?.resource, 'tuner1');
  t.equal(pickTuner(two, { address: '127.0.0.1', channel: '9.1' }), undefined, 'ambiguous');
});

t.test('a reading as TunerStatus: % units, lock from symbol quality', async (t) => {
  const [a, b, c] = parseStatus(STATUS);
  t.same(toTunerStatus(a, 1234), {
    lock: true,
    signal: { value: 93, unit: '%' },
    snr: { value: 88, unit: '%' },
    at: 1234,
  });
  t.same(toTunerStatus(b, 1), {
    lock: false,
    signal: { value: 40, unit: '%' },
    snr: { value: 0, unit: '%' },
    at: 1,
  });
  t.same(toTunerStatus(c, 2), { lock: false, at: 2 }, 'an idle tuner: no figures');
  t.equal(toTunerStatus({ resource: 'tuner0', quality: 50 }, 0).lock, true, 'quality alone');
});

t.test('discover.json: DeviceID, TunerCount, LineupURL', async (t) => {
  t.same(
    parseDiscoverJson({
      FriendlyName: 'HDHomeRun CONNECT',
      DeviceID: '1010cafe',
      TunerCount: 2,
      BaseURL: 'http://10.0.0.7:80',
      LineupURL: 'http://10.0.0.7:80/lineup.json',
    }),
    { id: '1010CAFE', tunerCount: 2, lineupUrl: 'http://10.0.0.7:80/lineup.json' },
  );
  t.same(parseDiscoverJson({ DeviceID: 'nope' }), {});
  t.same(parseDiscoverJson(null), {});
});

t.test('firstLine: the text of an error body', async (t) => {
  t.equal(
    firstLine('<html><head><title>503 x</title></head>\n<body><h1>All Tuners  In Use</h1></body>'),
    'All Tuners In Use',
  );
  t.equal(firstLine('\n\nUnknown Channel\nmore'), 'Unknown Channel');
  t.equal(firstLine(''), '');
});

t.test("discovery options: a tuner's `discover` address replaces the broadcast", async (t) => {
  const spec: HdhomerunTunerSpec = {
    id: 'hdhr-a',
    kind: 'hdhomerun',
    device: '1010CAFE',
    channel: '5.1',
    port: 5004,
  };
  const hub = { discovery: { interface: 'eth0', targets: ['10.1.1.1'], timeoutMs: 500 } };
  t.same(discoveryFor(spec, hub), { ...hub.discovery, streamPort: 5004 });
  t.same(discoveryFor({ ...spec, discover: '192.168.1.255' }, hub), {
    interface: 'eth0',
    targets: ['192.168.1.255', '10.1.1.1'],
    timeoutMs: 500,
    streamPort: 5004,
    broadcast: false,
  });
  t.same(discoveryFor({ ...spec, discover: '10.0.0.7', port: 5005 }, {}), {
    streamPort: 5005,
    broadcast: false,
    targets: ['10.0.0.7'],
  });
});

t.test('stream URL: host, stream port, /auto/v<channel>', async (t) => {
  const spec: HdhomerunTunerSpec = {
    id: 'x',
    kind: 'hdhomerun',
    device: 'd',
    channel: '5.1',
    port: 5004,
  };
  t.equal(
    streamUrl({ host: '10.0.0.7', baseUrl: 'http://10.0.0.7:80' }, spec),
    'http://10.0.0.7:5004/auto/v5.1',
  );
  t.equal(
    streamUrl({ host: 'fe80::1', baseUrl: 'http://[fe80::1]:80' }, { ...spec, channel: '705' }),
    'http://[fe80::1]:5004/auto/v705',
  );
});
