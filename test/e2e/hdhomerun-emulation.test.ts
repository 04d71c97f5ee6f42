// HDHomeRun emulation (headend.hdhomerun) on the real daemon, checked against what Plex,
// Jellyfin and Emby read of a SiliconDust tuner (its HTTP API as SiliconDust documents it, and
// the fields those servers' HDHomeRun code uses): /discover.json (DeviceID with a valid check
// digit, TunerCount, BaseURL, LineupURL, FriendlyName, ModelNumber, FirmwareName,
// FirmwareVersion, DeviceAuth), /lineup.json (GuideNumber, GuideName, URL, HD) whose URL
// ffprobe plays, /lineup_status.json, POST /lineup.post, /device.xml (well-formed UPnP);
// SiliconDust's UDP discovery answered (packet.ts, as libhdhomerun decodes it) and an SSDP
// M-SEARCH from a test client in the namespace answered with the device's LOCATION. The
// discovery ports are moved (HEADEND_HDHOMERUN_PORTS) so that the tuner test's stand-in on
// 65001 is not disturbed when both run at once.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket } from 'node:dgram';
import { SaxesParser } from 'saxes';
import {
  decodeDiscoverReply,
  encodeDiscoverRequest,
  validDeviceId,
} from '../../src/headend/tuners/hdhomerun/packet.js';
import { marker, probeKinds, startDaemon, stopAndCheck } from './helpers.js';

const HTTP = 18771;
const PORTS = { discover: 65071, ssdp: 19071 };
const TEXT = marker('hdemu');

const CONFIG =
  `headend:\n  name: Hotel Tuner\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
  `  http: { listen: 127.0.0.1:${HTTP} }\n  hdhomerun: { tuners: 2 }\n` +
  `channels:\n  - number: 7\n    name: Lobby HD\n    service_type: hd\n` +
  `    output: udp://239.255.71.1:6711\n` +
  `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 300k, text: ${TEXT} }\n`;

async function json(path: string, method = 'GET'): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${HTTP}${path}`, { method });
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

function udpAsk(port: number, group: string | null, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no answer on ${port}`));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.bind(0, '127.0.0.1', () => {
      if (group) s.setMulticastInterface('127.0.0.1');
      s.send(msg, port, group ?? '127.0.0.1');
    });
  });
}

t.test('an HDHomeRun as media servers see one', async (t) => {
  const d = startDaemon(
    t,
    { text: CONFIG },
    { HEADEND_HDHOMERUN_PORTS: `${PORTS.discover},${PORTS.ssdp}` },
  );
  await d.waitFor((e) => e.event === 'hdhomerun-listening', 20_000);
  await d.waitFor((e) => e.event === 'source-up', 20_000);
  const base = `http://127.0.0.1:${HTTP}`;

  const disc = (await json('/discover.json')) as Record<string, unknown>;
  for (const k of ['FriendlyName', 'ModelNumber', 'FirmwareName', 'FirmwareVersion', 'DeviceAuth'])
    t.type(disc[k], 'string', `discover.json ${k}`);
  t.equal(disc.FriendlyName, 'Hotel Tuner');
  t.match(disc.DeviceID, /^[0-9A-F]{8}$/, 'DeviceID: 8 hex digits');
  t.ok(validDeviceId(parseInt(disc.DeviceID as string, 16)), 'with a valid check digit');
  t.equal(disc.TunerCount, 2);
  t.equal(disc.BaseURL, base);
  t.equal(disc.LineupURL, `${base}/lineup.json`);

  const lineup = (await json('/lineup.json')) as Record<string, unknown>[];
  t.same(lineup, [{ GuideNumber: '7', GuideName: 'Lobby HD', URL: `${base}/stream/7`, HD: 1 }]);
  const kinds = await probeKinds(lineup[0]!.URL as string);
  t.match(kinds, /video/, 'ffprobe plays the lineup URL: video');
  t.match(kinds, /audio/, 'and audio');
  t.same(await json('/lineup_status.json'), {
    ScanInProgress: 0,
    ScanPossible: 1,
    Source: 'Cable',
    SourceList: ['Cable'],
  });
  t.same(await json('/lineup.post?scan=start', 'POST'), {}, 'a scan request is taken');

  const xml = await (await fetch(`${base}/device.xml`)).text();
  const p = new SaxesParser();
  const names: string[] = [];
  p.on('opentag', (n) => names.push(n.name));
  p.write(xml).close();
  t.ok(
    ['root', 'deviceType', 'friendlyName', 'UDN'].every((n) => names.includes(n)),
    'device.xml: a UPnP description',
  );
  t.match(xml, /<serialNumber>[0-9A-F]{8}<\/serialNumber>/);

  const reply = decodeDiscoverReply(
    await udpAsk(PORTS.discover, null, Buffer.from(encodeDiscoverRequest())),
  );
  t.match(
    reply,
    { deviceId: disc.DeviceID, tunerCount: 2, baseUrl: base, lineupUrl: `${base}/lineup.json` },
    'UDP discovery answered',
  );

  const search = Buffer.from(
    'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n' +
      'ST: urn:schemas-upnp-org:device:MediaServer:1\r\n\r\n',
  );
  const answer = (await udpAsk(PORTS.ssdp, '239.255.255.250', search)).toString();
  t.match(answer, /^HTTP\/1\.1 200 OK\r\n/, 'SSDP M-SEARCH answered');
  t.match(answer, new RegExp(`\\r\\nLOCATION: ${base}/device.xml\\r\\n`));
  t.match(answer, /\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\n/);
  t.match(answer, /\r\nUSN: uuid:[0-9a-f-]{36}::urn:schemas-upnp-org:device:MediaServer:1\r\n/);
  await stopAndCheck(t, d, [TEXT]);
});
