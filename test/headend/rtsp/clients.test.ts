// The RTSP server with real clients nobody here wrote: ffprobe, ffmpeg (-rtsp_transport udp,
// tcp, udp_multicast) and GStreamer rtspsrc (protocols=udp, tcp) each receive a playable
// stream, recorded and checked with our Analyzer (zero TR 101 290 priority-1 errors). The
// channels are fed by FakeSource, which stands in for the daemon's pacer (same interface,
// real RTP from rtpPort). Two channels: 'news' (101) outputs RTP multicast, so RTSP multicast
// answers its own group; 'sport' (102) outputs raw UDP, so RTSP multicast answers its RTP
// companion group, which must be fed only while a multicast session plays.
import '../../helpers/private-network.js';
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FFMPEG, FFPROBE, renderClip, sleep, tempDir } from '../../e2e/helpers.js';
import { Analyzer } from '../../../src/mpegts/analyzer/index.js';
import { createLogger } from '../../../src/headend/log.js';
import { startRtspServer } from '../../../src/headend/rtsp/server.js';
import type { RtspChannel } from '../../../src/headend/rtsp/types.js';
import { FakeSource } from './fake-source.js';

const RTP_PORT = 17970;
const CHANNELS: RtspChannel[] = [
  {
    number: 101,
    name: 'News 24',
    provider: 'Test',
    slug: 'news',
    output: { protocol: 'rtp', group: '239.255.42.1', port: 5004, ttl: 1 },
  },
  {
    number: 102,
    name: 'Sport',
    provider: 'Test',
    slug: 'sport',
    output: { protocol: 'udp', group: '239.255.42.2', port: 5006, ttl: 1 },
    companionGroup: '239.255.170.2',
  },
];

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && !(cmd === 'timeout' && (err as { code?: number }).code === 124)) {
        reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      } else resolve({ stdout, stderr });
    });
  });
}

function analyzeFile(file: string) {
  const a = new Analyzer();
  a.push(readFileSync(file));
  a.end();
  return a.report();
}

t.test('real RTSP clients receive a playable stream over every transport', async (t) => {
  const dir = tempDir(t);
  const clip = join(dir, 'clip.ts');
  renderClip(clip, 40);
  const source = new FakeSource(clip, CHANNELS, RTP_PORT);
  await source.start();
  t.teardown(() => source.stop());
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), level: 'debug' });
  const server = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort: RTP_PORT,
      companionOffset: 0x8000,
      sessionTimeoutMs: 20_000,
      maxSessions: 100,
      maxSessionsPerClient: 20,
    },
    source,
    log,
  });
  t.teardown(() => server.stop());
  const base = `rtsp://127.0.0.1:${server.address.port}`;

  // ffprobe by channel number, over TCP.
  const probe = await run(
    FFPROBE,
    [
      '-v',
      'error',
      '-rtsp_transport',
      'tcp',
      '-of',
      'json',
      '-show_entries',
      'stream=codec_name',
      `${base}/101`,
    ],
    20_000,
  );
  const codecs = (JSON.parse(probe.stdout) as { streams: { codec_name: string }[] }).streams.map(
    (s) => s.codec_name,
  );
  t.same(codecs.sort(), ['aac', 'h264'], 'ffprobe finds H.264 and AAC at /101 over TCP');

  const ffmpegRec = (transport: string, path: string, out: string) =>
    run(
      FFMPEG,
      [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-rtsp_transport',
        transport,
        '-i',
        `${base}/${path}`,
      ].concat(['-t', '5', '-map', '0', '-c', 'copy', '-f', 'mpegts', out]),
      30_000,
    );
  const gstRec = (protocols: string, path: string, out: string) =>
    run(
      'timeout',
      [
        '-s',
        'INT',
        '8',
        'gst-launch-1.0',
        '-q',
        '-e',
        'rtspsrc',
        `location=${base}/${path}`,
        `protocols=${protocols}`,
      ].concat(['latency=300', '!', 'rtpmp2tdepay', '!', 'filesink', `location=${out}`]),
      30_000,
    );

  const jobs: Array<[string, string, Promise<unknown>]> = [
    ['ffmpeg udp', 'udp.ts', ffmpegRec('udp', 'news', join(dir, 'udp.ts'))],
    ['ffmpeg tcp', 'tcp.ts', ffmpegRec('tcp', 'sport', join(dir, 'tcp.ts'))],
    [
      'ffmpeg multicast (RTP channel group)',
      'mc1.ts',
      ffmpegRec('udp_multicast', 'news', join(dir, 'mc1.ts')),
    ],
    [
      'ffmpeg multicast (companion group)',
      'mc2.ts',
      ffmpegRec('udp_multicast', '102', join(dir, 'mc2.ts')),
    ],
    ['gstreamer udp', 'gst-udp.ts', gstRec('udp', 'news', join(dir, 'gst-udp.ts'))],
    ['gstreamer tcp', 'gst-tcp.ts', gstRec('tcp', 'sport', join(dir, 'gst-tcp.ts'))],
  ];
  const settled = jobs.map((j) => Promise.allSettled([j[2]]).then((r) => r[0]));
  // While they run: the companion group is fed, and every transport has a session.
  await sleep(3000);
  const during = server.sessions();
  t.ok(
    during.udp >= 2 && during.tcp >= 2 && during.multicast >= 2,
    `sessions while playing: ${JSON.stringify(during)}`,
  );
  t.same(
    source.destinations('sport').map((d) => `${d.address}:${d.port}`),
    ['239.255.170.2:5006'],
    'the companion group of the raw-UDP channel is fed while a multicast session plays',
  );
  const results = await Promise.all(settled);
  for (let i = 0; i < jobs.length; i++) {
    const [name, file] = jobs[i];
    const r = results[i];
    if (r.status === 'rejected') {
      t.fail(`${name}: ${String(r.reason)}`);
      continue;
    }
    const path = join(dir, file);
    if (!t.ok(existsSync(path), `${name} wrote a recording`)) continue;
    const rep = analyzeFile(path);
    t.ok(rep.totals.packets > 1000, `${name}: ${rep.totals.packets} TS packets recorded`);
    t.equal(rep.priority1Errors, 0, `${name}: no priority-1 errors`);
    const types = rep.programs.flatMap((p) => p.streams.map((s) => s.streamType)).sort();
    t.ok(types.length >= 2, `${name}: program with ${types.length} streams`);
  }

  // Clients sent TEARDOWN (or went away): every session and destination is gone. A client
  // that exits without TEARDOWN (gst-launch stopped by SIGINT sometimes does) leaves a UDP
  // session that only its timeout (20 s here) ends: wait that long before judging.
  for (
    let i = 0;
    i < 250 && server.sessions().udp + server.sessions().tcp + server.sessions().multicast > 0;
    i++
  ) {
    await sleep(100);
  }
  t.same(
    server.sessions(),
    { udp: 0, tcp: 0, multicast: 0 },
    'no sessions left after the clients end',
  );
  t.same(source.destinations('news'), [], 'no unicast destination left');
  t.same(source.destinations('sport'), [], 'companion group no longer fed');
  const st = server.stats();
  t.ok(st.rtcpSent > 0, `RTCP sender reports sent: ${st.rtcpSent}`);
  t.ok(st.rtcpReceived > 0, `RTCP receiver reports received: ${st.rtcpReceived}`);
  t.equal(st.responses[500] ?? 0, 0, 'no 500 responses');
  t.equal(st.tcpDropped, 0, 'no TCP packets dropped for fast clients');
});
