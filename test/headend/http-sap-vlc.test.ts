// End to end with VLC (a client nobody here wrote): channels from a real channels.yaml
// (loadConfigFile), the HTTP surface and the SAP announcer started directly, and
//  (1) VLC opens http://…/playlist.m3u and plays its first entry, a multicast MPEG-TS stream
//      that ffmpeg sends into the namespace: its log shows the udp:// access, the "ts" demux
//      and a video and an audio decoder;
//  (2) VLC's SAP services discovery (`--services-discovery sap`, rc interface) lists the
//      announced channels by name under "Network streams (SAP)".
// VLC refuses to run as root: it runs as nobody (in-netns.sh gives a plain network namespace).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { vlc, vlcSkipReason } from '../helpers/vlc.js';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/headend/config/index.js';
import type { HeadendSpec } from '../../src/headend/config/index.js';
import { startHttpServer } from '../../src/headend/http.js';
import { startSapAnnouncer } from '../../src/headend/sap.js';
import { createLogger } from '../../src/headend/log.js';
import type { ChannelStatus } from '../../src/headend/channel/types.js';
import { FFMPEG, sleep, tempDir } from '../e2e/helpers.js';

const CONFIG = `
headend:
  name: vlc-test
  interface: 127.0.0.1
  http:
    listen: 127.0.0.1:0
  sap:
    ttl: 1
channels:
  - number: 101
    name: Alpha News
    provider: Acme
    output: udp://239.255.50.1:5000
    source: udp://@239.255.60.1:6000
  - number: 102
    name: Beta Sport
    provider: Acme
    output: rtp://239.255.50.2:5002
    source: udp://@239.255.60.2:6002
`;

async function config(t: Test): Promise<HeadendSpec> {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const file = join(dir, 'channels.yaml');
  writeFileSync(file, CONFIG);
  const r = await loadConfigFile(file);
  if ('errors' in r) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

function status(c: HeadendSpec['channels'][number]): ChannelStatus {
  return {
    number: c.number,
    name: c.name,
    slug: c.slug,
    state: 'running',
    sourceIndex: 0,
    source: c.sources[0]?.url ?? 'test',
    output: `${c.output.protocol}://@${c.output.group}:${c.output.port}`,
    bitrate: 0,
    restarts: 0,
    failovers: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    remux: {},
  };
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const log = createLogger({ write: () => {} });

t.test('VLC plays the first entry of /playlist.m3u', { skip: vlcSkipReason() }, async (t) => {
  const cfg = await config(t);
  const http = await startHttpServer({
    listen: cfg.http!,
    log,
    headend: () => ({ name: cfg.name, version: '0.0.0', startedAtMs: Date.now() }),
    channels: () => cfg.channels.map((spec) => ({ spec, status: status(spec) })),
    rtsp: () => null,
  });
  t.teardown(() => http.stop());
  const ff = spawn(
    FFMPEG,
    [
      ...['-nostdin', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=1000'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-t', '30'],
      ...['-f', 'mpegts', 'udp://239.255.50.1:5000?localaddr=127.0.0.1&pkt_size=1316&ttl=1'],
    ],
    { stdio: 'ignore' },
  );
  const ffDone = new Promise<void>((r) => ff.on('close', () => r()));
  t.teardown(async () => {
    ff.kill('SIGTERM');
    await ffDone;
  });
  const url = `http://127.0.0.1:${http.address.port}/playlist.m3u`;
  // rc interface: VLC plays the playlist and quits when told, once the markers are in its log
  // (with a dummy interface it would go on to the next entry and wait there for data).
  const v = vlc(t, ['-I', 'rc', '--vout', 'dummy', '--aout', 'dummy', '-vv', url]);
  const played = (): boolean =>
    /using video decoder module/.test(v.err()) && /using audio decoder module/.test(v.err());
  // On a timeout the assertions below say which marker is missing.
  await until('VLC decoding the stream', played, 20_000).catch((e: Error) => t.comment(e.message));
  v.child.stdin!.write('quit\n');
  await v.done;
  const e = v.err();
  t.match(e, /found valid M3U playlist/, 'VLC read the playlist as M3U');
  t.match(e, /`udp:\/\/@239\.255\.50\.1:5000' gives access `udp'/, 'it opened channel 101 (first)');
  const second = e.indexOf('239.255.50.2');
  t.ok(second < 0 || second > e.indexOf('239.255.50.1:5000'), 'the first entry, before the second');
  t.match(e, /using demux module "ts"/, 'MPEG-TS demux');
  t.match(e, /using video decoder module/, 'a video decoder');
  t.match(e, /using audio decoder module/, 'an audio decoder');
});

t.test('VLC SAP discovery lists the channels by name', { skip: vlcSkipReason() }, async (t) => {
  const cfg = await config(t);
  t.ok(cfg.sap, 'sap is on in the config');
  const v = vlc(t, ['-I', 'rc', '--services-discovery', 'sap', '-vv']);
  // Announce only once VLC listens, so the first round (sent at once) is what it sees.
  await until(
    'VLC SAP module',
    () => /using services_discovery module "sap"/.test(v.err()),
    15_000,
  );
  await sleep(500);
  const sap = await startSapAnnouncer({
    spec: cfg.sap!,
    interface: cfg.interface,
    log,
    channels: () => cfg.channels,
  });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await sap.stop();
  });
  const listed = (): boolean => /Alpha News/.test(v.out()) && /Beta Sport/.test(v.out());
  const end = Date.now() + 15_000;
  while (!listed() && Date.now() < end) {
    v.child.stdin!.write('playlist\n');
    await sleep(1000);
  }
  // Opening a discovered item shows the URL VLC made of our SDP (c= group, m= port/transport).
  const opened = async (name: string, url: string): Promise<void> => {
    const id = new RegExp(`(\\d+) - ${name}\\r?\\n`).exec(v.out())?.[1];
    if (id === undefined) return;
    v.child.stdin!.write(`goto ${id}\n`);
    await until(url, () => v.err().includes(`\`${url}' gives access`), 10_000).catch((e: Error) =>
      t.comment(e.message),
    );
  };
  await opened('Alpha News', 'udp://@239.255.50.1:5000');
  await opened('Beta Sport', 'rtp://@239.255.50.2:5002');
  v.child.stdin!.write('quit\n');
  await v.done;
  const out = v.out();
  const err = v.err();
  t.ok(
    err.includes("`udp://@239.255.50.1:5000' gives access `udp'"),
    'Alpha News → its udp:// group',
  );
  t.ok(
    err.includes("`rtp://@239.255.50.2:5002' gives access `rtp'"),
    'Beta Sport → its rtp:// group',
  );
  t.match(out, /Network streams \(SAP\)/, 'the SAP node');
  t.match(out, /\d+ - Acme\r?\n/, 'the category (a=cat) folder');
  t.match(out, /\d+ - Alpha News\r?\n/, 'channel 101 by name');
  t.match(out, /\d+ - Beta Sport\r?\n/, 'channel 102 by name');
  stopped = true;
  await sap.stop();
});
