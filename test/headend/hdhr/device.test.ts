// HDHomeRun emulation's pure parts (hdhr/device.ts) and its config: DeviceIDs derived from any
// seed are valid (libhdhomerun's check digit) and stable; the lineup marks HD services; a
// configured DeviceID with a wrong check digit, or the emulation without HTTP, is an error at
// its FILE:LINE:COLUMN.
import t from 'tap';
import { deriveDeviceId, lineupJson } from '../../../src/headend/hdhr/device.js';
import { validDeviceId } from '../../../src/headend/tuners/hdhomerun/packet.js';
import { formatConfigError, loadConfigText } from '../../../src/headend/config/index.js';

t.test('derived DeviceIDs: valid and stable', async (t) => {
  const ids = Array.from({ length: 500 }, (_, i) => deriveDeviceId(`hotel-${i}/65281`));
  t.ok(
    ids.every((id) => /^[0-9A-F]{8}$/.test(id) && validDeviceId(parseInt(id, 16))),
    'all valid',
  );
  t.equal(deriveDeviceId('hotel-1/65281'), ids[1], 'the same seed, the same id');
  t.ok(new Set(ids).size > 490, 'different seeds, different ids');
});

t.test('the lineup: numbers, names, stream URLs, HD by service_type', async (t) => {
  t.same(
    lineupJson(
      'http://h:1',
      [
        { number: 102, name: 'B', serviceType: 0x01 },
        { number: 101, name: 'A', serviceType: 0x19 },
      ],
      'tok en',
    ),
    [
      { GuideNumber: '101', GuideName: 'A', URL: 'http://h:1/stream/101?token=tok%20en', HD: 1 },
      { GuideNumber: '102', GuideName: 'B', URL: 'http://h:1/stream/102?token=tok%20en' },
    ],
  );
});

t.test('config: a bad DeviceID, or no HTTP, is refused where it is written', async (t) => {
  const ch = `channels:\n  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: { test: {} } }\n`;
  const errs = (text: string): string => {
    const r = loadConfigText(text, 'c.yaml', { interfaces: null });
    return 'errors' in r ? r.errors.map(formatConfigError).join('\n') : 'valid';
  };
  t.match(
    errs(`headend:\n  hdhomerun: { device_id: 12345678 }\n${ch}`),
    /c\.yaml:2:\d+: .*check digit is wrong/,
  );
  t.match(
    errs(`headend:\n  http: false\n  hdhomerun: true\n${ch}`),
    /c\.yaml:3:\d+: .*turn http on/,
  );
  const ok = loadConfigText(
    `headend:\n  hdhomerun: { device_id: ${deriveDeviceId('x')}, tuners: 3 }\n${ch}`,
    'c.yaml',
    { interfaces: null },
  );
  t.ok('config' in ok && ok.config.hdhomerun?.tuners === 3, 'a valid one is taken');
});
