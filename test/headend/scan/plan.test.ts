// The plan of an hdhomerun:// lineup target (scan/plan.ts): the device found as the HDHomeRun
// backend finds it — a device id through discovery (--discover 127.0.0.1), a host through its
// /discover.json — and the lineup read from the LineupURL it gives, not from
// http://<device>/lineup.json. Against the stand-in (test/helpers/hdhomerun-server.ts, not a
// device) inside the private network namespace.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { isHeadendError } from '../../../src/headend/errors.js';
import { planScan } from '../../../src/headend/scan/plan.js';
import { FakeHdhomerun } from '../../helpers/hdhomerun-server.js';

const SAMPLE = fileURLToPath(new URL('../../../../samples/sample.ts', import.meta.url));

t.test('hdhomerun://<device id>: found by discovery, its lineup from the LineupURL', async (t) => {
  const box = new FakeHdhomerun({
    deviceId: '1010CAFE',
    discoveryPort: 0,
    channels: [
      { guideNumber: '5.1', name: 'Five', file: SAMPLE, hd: true },
      { guideNumber: '7.1', name: 'Seven', file: SAMPLE },
    ],
  });
  await box.start();
  t.teardown(() => box.stop());
  const discovery = { port: box.discoveryPort, timeoutMs: 600 };

  const p = await planScan('hdhomerun://1010CAFE', {
    transponders: [],
    discover: '127.0.0.1',
    discovery,
  });
  if (isHeadendError(p)) throw p;
  t.ok(box.discoverRequests > 0, 'discovery was asked');
  t.same(
    p.lineup?.map((l) => l.guideNumber),
    ['5.1', '7.1'],
    'the lineup of the device (on its BaseURL, not port 80)',
  );
  t.same(
    p.transponders.map((x) => [x.label, x.entry]),
    [
      [
        'hdhomerun 5.1 Five',
        { id: 'hdhr-1010cafe-5-1', url: 'hdhomerun://1010CAFE/5.1', discover: '127.0.0.1' },
      ],
      [
        'hdhomerun 7.1 Seven',
        { id: 'hdhr-1010cafe-7-1', url: 'hdhomerun://1010CAFE/7.1', discover: '127.0.0.1' },
      ],
    ],
    'one tuner entry per channel, with the discover address',
  );
  t.same(
    p.discovery,
    { ...discovery, broadcast: false, targets: ['127.0.0.1'] },
    'the tuning asks there too',
  );

  // A host: /discover.json on the port given (the stream port; port 80 is refused here).
  const byHost = await planScan(`hdhomerun://127.0.0.1:${box.port}`, { transponders: [] });
  if (isHeadendError(byHost)) throw byHost;
  t.same(
    byHost.transponders.map((x) => x.entry),
    [
      { id: 'hdhr-127-0-0-1-5-1', url: `hdhomerun://127.0.0.1:${box.port}/5.1` },
      { id: 'hdhr-127-0-0-1-7-1', url: `hdhomerun://127.0.0.1:${box.port}/7.1` },
    ],
    'a host: its lineup, no discover: written',
  );

  // A device id nobody answers for.
  const none = await planScan('hdhomerun://10101231', {
    transponders: [],
    discover: '127.0.0.1',
    discovery,
  });
  t.match(
    isHeadendError(none) ? none.message : '',
    /HDHomeRun 10101231 did not answer discovery \(asked 127\.0\.0\.1 on UDP \d+\)/,
    'an unanswered id is an error that says where discovery asked',
  );
});
