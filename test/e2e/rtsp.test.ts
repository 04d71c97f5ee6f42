// RTSP with real players nobody here wrote (issue 4 acceptance), against the real daemon on the
// example channels.yaml (copied, with the HTTP and RTSP ports moved off the defaults so the test
// can run beside others):
//  - ffmpeg with -rtsp_transport udp, tcp and udp_multicast records every example channel for
//    10 s; each recording has video and audio and zero priority-1 errors (our analyzer);
//  - GStreamer rtspsrc ! rtpmp2tdepay over UDP and over TCP: the depayloaded TS is clean;
//  - VLC (as nobody) plays an RTSP URL: TS demux, video and audio decoders;
//  - the sessions show in /metrics while they play, and nothing is left afterwards.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../../src/mpegts/analyzer/index.js';
import { FFMPEG, REPO, failing, sleep, startDaemon, stopAndCheck, tempDir } from './helpers.js';
import { vlcPlays, vlcSkipReason } from '../helpers/vlc.js';

const HTTP = 18180;
const RTSP = 18554;
const SECONDS = 10;
const CHANNELS = [
  { number: 101, slug: 'test-card' },
  { number: 102, slug: 'moving-pattern' },
  { number: 103, slug: 'colour-bars-cbr' },
  { number: 104, slug: 'life-with-backup' },
];

/** Runs a command to its end (or kills it after `ms` with SIGINT, then SIGKILL); its stderr. */
function run(
  cmd: string,
  args: string[],
  ms: number,
): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s.slice(0, 20_000)));
    const soft = setTimeout(() => child.kill('SIGINT'), ms);
    const hard = setTimeout(() => child.kill('SIGKILL'), ms + 5000);
    child.on('close', (code) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolve({ code, err });
    });
  });
}

function analyzeFile(file: string): { p1: number; failing: string; seconds: number; pids: number } {
  const a = new Analyzer();
  a.push(readFileSync(file));
  a.end();
  const r = a.report();
  return {
    p1: r.priority1Errors,
    failing: failing(r),
    seconds: r.totals.durationSec,
    pids: r.pids.filter((p) => p.pid !== 0 && p.pid !== 0x1fff && p.pid < 0x1000 && p.pid > 0x20)
      .length,
  };
}

t.test('RTSP: ffmpeg (udp, tcp, udp_multicast), GStreamer and VLC play the example', async (t) => {
  t.setTimeout(180_000);
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const example = readFileSync(join(REPO, 'channels.yaml'), 'utf8');
  const config = join(dir, 'channels.yaml');
  writeFileSync(
    config,
    example
      .replace(/^  rtsp: .*$/m, `  rtsp: { listen: 127.0.0.1:${RTSP}, rtp_port: 18970 }`)
      .replace(/^  http: .*$/m, `  http: { listen: 127.0.0.1:${HTTP} }`),
  );
  const d = startDaemon(t, { file: config });
  await d.waitFor((e) => e.event === 'ready', 15_000);
  for (const c of CHANNELS) {
    await d.waitFor(
      (e) => e.event === 'source-up' && String(e.channel).startsWith(`${c.number} `),
      20_000,
    );
  }
  t.ok(
    d.events.some((e) => e.event === 'rtsp-listening' || (e.event ?? '').includes('listening')),
    'the daemon logged its listening services',
  );

  // ffmpeg: every channel, every transport, all at once; slug and number URLs both used.
  const jobs = CHANNELS.flatMap((c) =>
    (['udp', 'tcp', 'udp_multicast'] as const).map((transport, i) => {
      const file = join(dir, `${c.number}-${transport}.ts`);
      const path = i === 1 ? String(c.number) : c.slug;
      const url = `rtsp://127.0.0.1:${RTSP}/${path}`;
      const args = ['-nostdin', '-v', 'error', '-rtsp_transport', transport, '-i', url];
      return {
        what: `${c.number} over ${transport} (${url})`,
        file,
        done: run(
          FFMPEG,
          // Video and audio: the example carries a guide, which ffmpeg shows as a data stream
          // ("epg", no timestamps) that keeps `-map 0 -t` from ever ending.
          [
            ...args,
            ...['-t', String(SECONDS), '-map', '0:v', '-map', '0:a', '-c', 'copy'],
            ...['-f', 'mpegts', '-y', file],
          ],
          (SECONDS + 15) * 1000,
        ),
      };
    }),
  );
  await sleep(4000);
  const metrics = await fetch(`http://127.0.0.1:${HTTP}/metrics`).then((r) => r.text());
  for (const transport of ['udp', 'tcp', 'multicast']) {
    const n = [
      ...metrics.matchAll(
        new RegExp(`headend_channel_rtsp_sessions\\{[^}]*transport="${transport}"\\} (\\d+)`, 'g'),
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    t.equal(n, 4, `/metrics counts 4 RTSP sessions over ${transport} while they play`);
  }
  for (const j of jobs) {
    const r = await j.done;
    t.equal(r.code, 0, `${j.what}: ffmpeg exit 0${r.code ? `: ${r.err.slice(0, 300)}` : ''}`);
    const a = analyzeFile(j.file);
    t.equal(a.p1, 0, `${j.what}: zero priority-1 errors [${a.failing}]`);
    t.ok(a.seconds >= SECONDS - 2, `${j.what}: ${a.seconds.toFixed(1)} s recorded`);
    t.ok(a.pids >= 2, `${j.what}: video and audio (${a.pids} elementary PIDs)`);
  }

  // GStreamer over UDP and TCP, depayloaded TS to a file.
  const gst = (['udp', 'tcp'] as const).map((p) => {
    const file = join(dir, `gst-${p}.ts`);
    const args = [
      '-e',
      'rtspsrc',
      `location=rtsp://127.0.0.1:${RTSP}/101`,
      `protocols=${p}`,
      '!',
      'rtpmp2tdepay',
      '!',
      'filesink',
      `location=${file}`,
    ];
    return { p, file, done: run('gst-launch-1.0', args, 8000) };
  });
  for (const g of gst) {
    const r = await g.done;
    const size = statSync(g.file, { throwIfNoEntry: false })?.size ?? 0;
    t.ok(
      size > 100_000,
      `GStreamer over ${g.p}: ${size} bytes of TS${size ? '' : `: ${r.err.slice(0, 300)}`}`,
    );
    if (size > 0) {
      const a = analyzeFile(g.file);
      t.equal(a.p1, 0, `GStreamer over ${g.p}: zero priority-1 errors [${a.failing}]`);
      t.ok(a.pids >= 2, `GStreamer over ${g.p}: video and audio`);
    }
  }

  // VLC plays an RTSP URL.
  const skip = vlcSkipReason();
  if (skip) {
    t.comment(`VLC: skipped: ${skip}`);
  } else {
    const err = await vlcPlays(t, `rtsp://127.0.0.1:${RTSP}/102`);
    const e = err;
    t.match(e, /using demux module "ts"/, 'VLC: MPEG-TS demux of the RTSP stream');
    t.match(e, /using video decoder module/, 'VLC: a video decoder');
    t.match(e, /using audio decoder module/, 'VLC: an audio decoder');
  }

  await sleep(500);
  const after = await fetch(`http://127.0.0.1:${HTTP}/metrics`).then((r) => r.text());
  const left = [...after.matchAll(/headend_channel_rtsp_sessions\{[^}]*\} (\d+)/g)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
  t.equal(left, 0, 'no RTSP session left once the clients are gone');
  t.same(
    d.events.filter((e) => e.event === 'source-failed'),
    [],
    'no source failed meanwhile',
  );
  await stopAndCheck(t, d, []);
});
