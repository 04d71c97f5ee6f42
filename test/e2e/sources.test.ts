// Live network sources through the ffmpeg child (issue: "http(s), HLS, RTSP, SRT … through an
// ffmpeg child writing TS to a pipe"), each against a real local server in the private network
// namespace, all at once in one daemon:
//  - HTTP progressive TS: a node:http server streams a rendered clip as video/mp2t in real time
//    (chunks due at their PCR, like a live encoder's output);
//  - HLS: the clip cut into 1 s segments, served by node:http as a LIVE sliding playlist (no
//    EXT-X-ENDLIST, a new segment published every segment duration, a window of 4) so that
//    ffmpeg's HLS client follows it like a real live stream and the server sets the pace;
//  - SRT: an ffmpeg sender in listener mode, the channel calls it (skipped when this ffmpeg
//    has no libsrt);
//  - RTSP: a second headend daemon serving a test pattern over RTSP, read by the first one.
// Every output group is recorded from before the daemon starts: video and audio present
// (ffprobe and our analyzer), zero priority-1 errors, source-up logged, no source failure.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FFMPEG,
  analyzeRecording,
  failing,
  ffmpeg,
  ffprobeJson,
  marker,
  openRecorder,
  renderClip,
  scan,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  type Daemon,
  type LogEvent,
  type ProbeOut,
  type Recorder,
} from './helpers.js';

const CLIP_SECONDS = 40;
const RECORD_MS = 10_000;
const SRT_PORT = 18641;
const RTSP_PORT = 18654;
const RTSP_RTP_PORT = 18972;
const UPSTREAM = { group: '239.255.41.9', port: 6419, slug: 'upstream' };

interface Kind {
  what: string;
  number: number;
  name: string;
  group: string;
  port: number;
  /** The channel's source url (set once the servers are up). */
  url: string;
  /** Why this kind is not tested here, if it is not. */
  skip?: string;
}

/** TS packets of `file` in 7-packet chunks, each with the ms (from the first PCR) it is due at. */
function pcrSchedule(file: string): { chunk: Buffer; dueMs: number }[] {
  const b = readFileSync(file);
  const out: { chunk: Buffer; dueMs: number }[] = [];
  let pcrPid = -1;
  let first = -1;
  let last = 0;
  const step = 188 * 7;
  for (let o = 0; o < b.length; o += step) {
    const end = Math.min(b.length, o + step);
    for (let q = o; q + 188 <= end; q += 188) {
      const pid = ((b[q + 1] & 0x1f) << 8) | b[q + 2];
      const afc = (b[q + 3] >> 4) & 3;
      if (afc & 2 && b[q + 4] > 0 && b[q + 5] & 0x10 && (pcrPid < 0 || pid === pcrPid)) {
        pcrPid = pid;
        const base = b[q + 6] * 2 ** 25 + b[q + 7] * 2 ** 17 + b[q + 8] * 2 ** 9 + b[q + 9] * 2;
        const v = (base + (b[q + 10] >> 7)) / 90; // ms
        if (first < 0) first = v;
        last = v - first;
      }
    }
    out.push({ chunk: b.subarray(o, end), dueMs: last });
  }
  return out;
}

/** Streams the schedule to `res` in real time from now; stops when the client goes away. */
function streamLive(
  res: ServerResponse,
  schedule: { chunk: Buffer; dueMs: number }[],
  sent: (bytes: number) => void,
): void {
  const t0 = Date.now();
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  const pump = (): void => {
    const now = Date.now() - t0;
    while (k < schedule.length && schedule[k].dueMs <= now) {
      const c = schedule[k++].chunk;
      res.write(c);
      sent(c.length);
    }
    if (k >= schedule.length) {
      res.end();
      return;
    }
    timer = setTimeout(pump, 20);
  };
  res.on('close', () => clearTimeout(timer));
  pump();
}

/**
 * A live HLS playlist over pre-cut segments: at the first request 3 segments are published, then
 * one more each time the previous one's duration has passed; the playlist lists the last 4
 * (media sequence advancing) and gets EXT-X-ENDLIST only once every segment is out.
 */
class LiveHls {
  private t0 = -1;
  readonly segments: { name: string; dur: number }[] = [];
  readonly target: number;
  playlistRequests = 0;
  segmentRequests = 0;

  constructor(vodPlaylist: string) {
    const lines = vodPlaylist.split('\n').map((l) => l.trim());
    this.target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(vodPlaylist)?.[1] ?? 2);
    for (let i = 0; i < lines.length; i++) {
      const m = /^#EXTINF:([\d.]+)/.exec(lines[i]);
      if (m) this.segments.push({ dur: Number(m[1]), name: lines[i + 1] });
    }
  }

  playlist(): string {
    if (this.t0 < 0) this.t0 = Date.now();
    const elapsed = (Date.now() - this.t0) / 1000;
    let published = Math.min(3, this.segments.length);
    let at = 0;
    while (published < this.segments.length && at + this.segments[published].dur <= elapsed) {
      at += this.segments[published].dur;
      published++;
    }
    const first = Math.max(0, published - 4);
    const out = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${this.target}`,
      `#EXT-X-MEDIA-SEQUENCE:${first}`,
    ];
    for (let i = first; i < published; i++) {
      out.push(`#EXTINF:${this.segments[i].dur.toFixed(6)},`, this.segments[i].name);
    }
    if (published === this.segments.length) out.push('#EXT-X-ENDLIST');
    return out.join('\n') + '\n';
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : 0);
    });
  });
}

function hasSrt(): boolean {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-protocols'], { encoding: 'utf8' });
  return /^\s*srt\s*$/m.test(r.stdout ?? '');
}

/** Starts a child of ours that is killed (by its pid) when the test ends; its stderr kept. */
function child(t: Test, cmd: string, args: string[]): { proc: ChildProcess; err: () => string } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  return { proc, err: () => err };
}

t.test('live sources through ffmpeg: HTTP TS, HLS, SRT, RTSP', async (t) => {
  t.setTimeout(120_000);
  const dir = tempDir(t);
  const clip = join(dir, 'clip.ts');
  renderClip(clip, CLIP_SECONDS, { pattern: 'testsrc2', size: '320x180' });
  // The same clip cut into 1 s HLS segments (a VOD playlist the server turns into a live one).
  ffmpeg([
    ...['-i', clip, '-map', '0', '-c', 'copy', '-f', 'hls', '-hls_time', '1'],
    ...['-hls_list_size', '0', '-hls_segment_filename', join(dir, 'seg%03d.ts')],
    join(dir, 'vod.m3u8'),
  ]);
  const hls = new LiveHls(readFileSync(join(dir, 'vod.m3u8'), 'utf8'));
  t.ok(hls.segments.length >= CLIP_SECONDS - 2, `${hls.segments.length} HLS segments cut`);
  const schedule = pcrSchedule(clip);

  // node:http: /live.ts (progressive, real time), /live.m3u8 and its segments.
  let tsBytes = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/live.ts') {
      res.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-cache' });
      streamLive(res, schedule, (n) => (tsBytes += n));
    } else if (path === '/live.m3u8') {
      hls.playlistRequests++;
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end(hls.playlist());
    } else if (/^\/seg\d+\.ts$/.test(path)) {
      hls.segmentRequests++;
      try {
        const body = readFileSync(join(dir, path.slice(1)));
        res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    } else {
      res.writeHead(404).end();
    }
  });
  const httpPort = await listen(server);
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });

  // SRT: an ffmpeg sender in listener mode, looping the clip in real time.
  const srtSkip = hasSrt() ? undefined : 'this ffmpeg has no srt protocol (no libsrt)';
  let srtSender: ReturnType<typeof child> | undefined;
  if (srtSkip === undefined) {
    srtSender = child(t, FFMPEG, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', clip],
      ...['-map', '0', '-c', 'copy', '-f', 'mpegts'],
      `srt://127.0.0.1:${SRT_PORT}?mode=listener`,
    ]);
  }

  // RTSP: a second headend daemon with a test pattern, serving it over RTSP.
  const upMark = marker('rtspup');
  const upstream = startDaemon(t, {
    text: `
headend:
  name: E2E RTSP upstream
  interface: 127.0.0.1
  ttl: 1
  http: false
  rtsp: { listen: 127.0.0.1:${RTSP_PORT}, rtp_port: ${RTSP_RTP_PORT} }
channels:
  - number: 49
    name: Upstream
    slug: ${UPSTREAM.slug}
    output: udp://${UPSTREAM.group}:${UPSTREAM.port}
    source:
      test: { pattern: testsrc2, resolution: 320x180, rate: 25, bitrate: 200k, tone: 440, text: ${upMark} }
`,
  });
  await upstream.waitFor((e) => e.event === 'ready', 15_000);
  await upstream.waitFor((e) => e.event === 'source-up', 15_000);

  const httpMark = marker('httpts');
  const hlsMark = marker('hls');
  const kinds: Kind[] = [
    {
      what: 'HTTP progressive TS',
      number: 41,
      name: 'HTTP TS',
      group: '239.255.41.1',
      port: 6411,
      url: `http://127.0.0.1:${httpPort}/live.ts?m=${httpMark}`,
    },
    {
      what: 'HLS (live sliding playlist)',
      number: 42,
      name: 'HLS',
      group: '239.255.41.2',
      port: 6412,
      url: `http://127.0.0.1:${httpPort}/live.m3u8?m=${hlsMark}`,
    },
    {
      what: 'SRT (caller to an ffmpeg listener)',
      number: 43,
      name: 'SRT',
      group: '239.255.41.3',
      port: 6413,
      url: `srt://127.0.0.1:${SRT_PORT}?mode=caller`,
      skip: srtSkip,
    },
    {
      what: 'RTSP (from a second headend)',
      number: 44,
      name: 'RTSP',
      group: '239.255.41.4',
      port: 6414,
      url: `rtsp://127.0.0.1:${RTSP_PORT}/${UPSTREAM.slug}`,
    },
  ];
  const live = kinds.filter((k) => k.skip === undefined);
  const recorders = new Map<number, Recorder>();
  for (const k of live) recorders.set(k.number, await openRecorder(t, k.group, k.port));

  const d: Daemon = startDaemon(t, {
    text: `
headend:
  name: E2E sources
  interface: 127.0.0.1
  ttl: 1
  http: false
  rtsp: false
channels:
${live
  .map(
    (k) => `  - number: ${k.number}
    name: ${k.name}
    output: udp://${k.group}:${k.port}
    source: '${k.url}'
`,
  )
  .join('')}`,
  });
  const isCh = (k: Kind) => (e: LogEvent) => e.channel === `${k.number} ${k.name}`;
  const ready = await d.waitFor((e) => e.event === 'ready', 15_000);
  const ups = new Map<number, LogEvent | Error>();
  await Promise.all(
    live.map((k) =>
      d
        .waitFor((e) => isCh(k)(e) && e.event === 'source-up', 20_000)
        .then(
          (e) => ups.set(k.number, e),
          (err: Error) => ups.set(k.number, err),
        ),
    ),
  );
  // Every source up (or given up on): record RECORD_MS more, probing each group meanwhile.
  const probes = new Map<number, Promise<ProbeOut | Error>>();
  await sleep(1000);
  for (const k of live) {
    probes.set(
      k.number,
      ffprobeJson(k.group, k.port, 6).catch((e: Error) => e),
    );
  }
  await sleep(RECORD_MS - 1000);
  for (const r of recorders.values()) await r.close();
  const probed = new Map<number, ProbeOut | Error>();
  for (const [n, p] of probes) probed.set(n, await p);

  for (const k of kinds) {
    await t.test(k.what, k.skip !== undefined ? { skip: k.skip } : {}, async (t) => {
      const up = ups.get(k.number);
      const after = up instanceof Error || up === undefined ? NaN : (up.atNs - ready.atNs) / 1e9;
      t.ok(
        !(up instanceof Error),
        `source-up logged${up instanceof Error ? `: ${up.message}` : ''}`,
      );
      const rec = recorders.get(k.number)!;
      const bytes = rec.datagrams.reduce((a, x) => a + x.data.length, 0);
      const report = analyzeRecording(rec);
      t.ok(rec.datagrams.length > 0, `datagrams recorded (${rec.datagrams.length})`);
      t.equal(report.totals.bytesSkipped, 0, 'every byte in 188-byte packets');
      t.equal(report.priority1Errors, 0, `zero priority-1 errors [${failing(report)}]`);
      const video = report.pids.find((p) => p.label.startsWith('video'));
      const audio = report.pids.find((p) => p.label.startsWith('audio'));
      t.ok(video && video.packets > 0, `analyzer: ${video?.label ?? 'no video'} PID`);
      t.ok(audio && audio.packets > 0, `analyzer: ${audio?.label ?? 'no audio'} PID`);
      const p = probed.get(k.number);
      if (p instanceof Error || p === undefined) {
        t.fail(`ffprobe on the group: ${p?.message ?? 'not run'}`);
      } else {
        const types = (p.streams ?? []).map((s) => `${s.codec_type}/${s.codec_name ?? '?'}`);
        t.ok(types.includes('video/h264'), `ffprobe: video h264 (${types.join(', ')})`);
        t.ok(types.includes('audio/aac'), `ffprobe: audio aac (${types.join(', ')})`);
      }
      // Still live at the end: video PES within the last 2 s of the recording.
      const s = scan(rec.datagrams);
      const lastNs = rec.datagrams[rec.datagrams.length - 1]?.ns ?? 0;
      const lastVideo = s.videoPesNs[s.videoPesNs.length - 1] ?? -Infinity;
      t.ok(
        lastNs - lastVideo < 2e9,
        `video still flowing at the end (${s.videoPesNs.length} video PES, last ` +
          `${((lastNs - lastVideo) / 1e6).toFixed(0)} ms before the end)`,
      );
      const failed = d.events.filter((e) => isCh(k)(e) && e.event === 'source-failed');
      t.same(
        failed.map((e) => `${String(e.reason)}`),
        [],
        'no source failure while recording',
      );
      t.comment(
        `${k.what}: source-up ${after.toFixed(1)} s after ready, ` +
          `${rec.datagrams.length} datagrams, ${bytes} bytes, ` +
          `${report.totals.durationSec.toFixed(1)} s, P1 ${report.priority1Errors} ` +
          `P2 ${report.priority2Errors} [${failing(report)}]`,
      );
    });
  }
  t.comment(
    `HTTP TS served ${tsBytes} bytes; HLS: ${hls.playlistRequests} playlist and ` +
      `${hls.segmentRequests} segment requests`,
  );
  if (srtSender !== undefined) {
    t.equal(srtSender.proc.exitCode, null, `the SRT sender is still sending ${srtSender.err()}`);
  }
  await stopAndCheck(t, d, [httpMark, hlsMark]);
  await stopAndCheck(t, upstream, [upMark]);
});
