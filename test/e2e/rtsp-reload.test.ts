// RTSP sessions across a reload that rebuilds their channel (issues 4 and 5): ffmpeg plays a
// channel over RTSP (UDP unicast and RTP over TCP) while the channel's source changes and
// SIGHUP reloads the daemon; the new channel object takes over the sessions, so both
// recordings go on after the reload instead of falling silent.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analyzer } from '../../src/mpegts/analyzer/index.js';
import { FFMPEG, sleep, startDaemon, stopAndCheck, tempDir } from './helpers.js';

const RTSP = 18754;
const config = (pattern: string): string => `
headend:
  interface: 127.0.0.1
  http: false
  rtsp: { listen: 127.0.0.1:${RTSP}, rtp_port: 18990 }
channels:
  - number: 51
    name: Reload Me
    output: udp://239.255.51.1:5051
    source: { test: { pattern: ${pattern}, resolution: 320x180, rate: 15, bitrate: 200k, text: rr51 } }
`;

function record(transport: string, file: string, seconds: number) {
  const child = spawn(
    FFMPEG,
    [
      ...['-nostdin', '-v', 'error', '-rtsp_transport', transport],
      ...['-i', `rtsp://127.0.0.1:${RTSP}/51`, '-t', String(seconds), '-map', '0'],
      ...['-c', 'copy', '-f', 'mpegts', '-y', file],
    ],
    { stdio: 'ignore' },
  );
  return new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
  });
}

t.test('RTSP sessions keep playing when a reload rebuilds their channel', async (t) => {
  t.setTimeout(90_000);
  const dir = tempDir(t);
  const d = startDaemon(t, { text: config('smpte') });
  await d.waitFor((e) => e.event === 'source-up', 20_000);
  const files = { udp: join(dir, 'udp.ts'), tcp: join(dir, 'tcp.ts') };
  const seconds = 14;
  const runs = [record('udp', files.udp, seconds), record('tcp', files.tcp, seconds)];
  await sleep(4000);
  writeFileSync(d.configFile, config('testsrc'));
  const from = d.events.length;
  d.proc.kill('SIGHUP');
  const r = await d.waitFor((e) => e.event === 'reload', 10_000, from);
  t.same(r.restarted, ['reload-me'], 'the reload rebuilt the channel');
  const upAt = (await d.waitFor((e) => e.event === 'source-up', 20_000, from)).atNs;
  const codes = await Promise.all(runs);
  for (const [transport, file] of Object.entries(files)) {
    t.equal(codes[transport === 'udp' ? 0 : 1], 0, `${transport}: ffmpeg ended normally`);
    const a = new Analyzer();
    a.push(readFileSync(file));
    a.end();
    const rep = a.report();
    // Without reattaching (checked by disabling it) the sessions fall silent at the reload
    // and ffmpeg ends with nothing usable; with it, the recording runs its full length.
    t.ok(
      rep.totals.durationSec >= seconds - 3,
      `${transport}: ${rep.totals.durationSec.toFixed(1)} s recorded (of ${seconds})`,
    );
  }
  t.ok(upAt > 0, 'the rebuilt channel came up');
  await stopAndCheck(t, d, ['rr51']);
});
