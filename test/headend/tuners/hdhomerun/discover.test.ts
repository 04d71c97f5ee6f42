// Finding an HDHomeRun: discovery over UDP (unicast to 127.0.0.1, broadcast on lo, the real
// port 65001), the cache, /discover.json for a device given by host, and /lineup.json; against
// the stand-in (test/helpers/hdhomerun-server.ts) inside the private network namespace.
import '../../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { fileURLToPath } from 'node:url';
import { isHeadendError } from '../../../../src/headend/errors.js';
import {
  DeviceDirectory,
  broadcastFor,
  describeHost,
  discover,
} from '../../../../src/headend/tuners/hdhomerun/discover.js';
import { fetchLineup } from '../../../../src/headend/tuners/hdhomerun/lineup.js';
import { WILDCARD } from '../../../../src/headend/tuners/hdhomerun/packet.js';
import { FakeHdhomerun } from '../../../helpers/hdhomerun-server.js';

const SAMPLE = fileURLToPath(new URL('../../../../../samples/sample.ts', import.meta.url));

async function device(t: Test, id: string, discoveryPort = 0): Promise<FakeHdhomerun> {
  const d = new FakeHdhomerun({
    deviceId: id,
    tuners: 3,
    discoveryPort,
    channels: [
      { guideNumber: '5.1', name: 'Five', file: SAMPLE, hd: true },
      { guideNumber: '7.1', name: 'Seven', file: SAMPLE },
    ],
  });
  await d.start();
  t.teardown(() => d.stop());
  return d;
}

t.test('a device id found by unicast discovery to 127.0.0.1', async (t) => {
  const d = await device(t, '1010CAFE');
  const opts = { broadcast: false, targets: ['127.0.0.1'], port: d.discoveryPort };
  const found = await discover(0x1010cafe, opts);
  t.same(found, [
    {
      id: '1010CAFE',
      host: '127.0.0.1',
      baseUrl: d.baseUrl,
      lineupUrl: `${d.baseUrl}/lineup.json`,
      tunerCount: 3,
    },
  ]);
  const other = await discover(0x10203040, { ...opts, timeoutMs: 300 });
  t.same(other, [], 'another id: no answer');
  const all = await discover(WILDCARD, { ...opts, timeoutMs: 300 });
  t.equal(isHeadendError(all) ? 0 : all.length, 1, 'the wildcard finds it');
});

t.test("broadcast on the interface's broadcast address (lo: 127.255.255.255)", async (t) => {
  const d = await device(t, '1010CAFE');
  t.same(broadcastFor('lo'), { address: '127.255.255.255', local: '127.0.0.1' });
  t.same(broadcastFor('127.0.0.1'), { address: '127.255.255.255', local: '127.0.0.1' });
  t.same(broadcastFor(undefined), { address: '255.255.255.255' });
  const none = broadcastFor('eth9');
  t.ok(isHeadendError(none) && none.code === 'E_NO_INTERFACE');
  const found = await discover(0x1010cafe, { interface: 'lo', port: d.discoveryPort });
  t.match(found, [{ id: '1010CAFE', baseUrl: d.baseUrl }]);
});

t.test('the real port 65001 by default', async (t) => {
  const d = await device(t, '1010CAFE', 65001);
  t.equal(d.discoveryPort, 65001);
  const found = await discover(0x1010cafe, { interface: 'lo' });
  t.match(found, [{ id: '1010CAFE' }]);
});

t.test('the directory caches ids, forgets on request, refuses bad ids', async (t) => {
  const d = await device(t, '1010CAFE');
  const dir = new DeviceDirectory();
  const opts = { broadcast: false, targets: ['127.0.0.1'], port: d.discoveryPort, timeoutMs: 400 };
  t.match(await dir.resolve('1010cafe', opts), { id: '1010CAFE', host: '127.0.0.1' });
  await new Promise((r) => setTimeout(r, 200)); // a repeated request may still be on its way
  const asked = d.discoverRequests;
  t.match(await dir.resolve('1010CAFE', opts), { id: '1010CAFE' });
  t.equal(d.discoverRequests, asked, 'second lookup from the cache (nothing sent)');
  dir.forget('1010cafe');
  d.answerDiscovery = false;
  const gone = await dir.resolve('1010CAFE', opts);
  t.ok(isHeadendError(gone) && gone.code === 'E_TUNER');
  t.match(
    (gone as Error).message,
    /HDHomeRun 1010CAFE did not answer discovery \(asked 127\.0\.0\.1 on UDP \d+\)/,
  );
  const bad = await dir.resolve('1010CAFF', opts);
  t.match(bad, { code: 'E_TUNER', message: /1010CAFF is not an HDHomeRun device id/ });
});

t.test('a device given by host: /discover.json, and unreachable hosts', async (t) => {
  const d = await device(t, '1010CAFE');
  t.same(await describeHost(`127.0.0.1:${d.port}`), {
    host: '127.0.0.1',
    baseUrl: `http://127.0.0.1:${d.port}`,
    id: '1010CAFE',
    tunerCount: 3,
    lineupUrl: `${d.baseUrl}/lineup.json`,
  });
  t.match(
    await describeHost('127.0.0.1', d.port),
    {
      baseUrl: `http://127.0.0.1:${d.port}`,
      id: '1010CAFE',
    },
    'nothing on port 80: the stream port serves the API',
  );
  await d.vanish();
  const refused = await describeHost(`127.0.0.1:${d.port}`);
  t.match(refused, { code: 'E_NET', message: /connection refused|ECONNREFUSED/ });
  const unknown = await describeHost('no-such-hdhomerun.invalid');
  t.match(unknown, { code: 'E_NET', message: /no-such-hdhomerun\.invalid/ });
});

t.test('lineup.json from the LineupURL', async (t) => {
  const d = await device(t, '1010CAFE');
  const info = await describeHost(`127.0.0.1:${d.port}`);
  if (isHeadendError(info)) throw info;
  t.same(await fetchLineup(info), [
    { guideNumber: '5.1', guideName: 'Five', url: `${d.baseUrl}/auto/v5.1`, hd: true, drm: false },
    {
      guideNumber: '7.1',
      guideName: 'Seven',
      url: `${d.baseUrl}/auto/v7.1`,
      hd: false,
      drm: false,
    },
  ]);
  const missing = await fetchLineup({ host: '127.0.0.1', baseUrl: `${d.baseUrl}/nothing` });
  t.match(missing, { code: 'E_TUNER', message: /has no .*lineup\.json \(404\)/ });
});
