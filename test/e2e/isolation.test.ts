// A channel that never works, or dies over and over, never disturbs the others (issue 3): with a
// good test-pattern channel, one whose udp:// source nobody sends to, and one whose file does
// not exist (ffmpeg exits at once, restarted with backoff), the good output stays clean at its
// normal rate, and the dead channels still carry PAT/PMT/SDT and PCR — the never-working one at
// a constant rate, its PCRs exact against its byte positions (TR 101 290 2.4: an independent
// test found the keep-alive of a CBR channel 2.9 ms off; issue 9). And a configuration file
// with one broken channel entry: `headend run` refuses to start (exit 1) and names
// FILE:LINE:COLUMN — the product's decision is to start nothing from an invalid file.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  CLI,
  analyzeRecording,
  check,
  failing,
  marker,
  maxGapMs,
  openRecorder,
  pidsWithMarker,
  scan,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  type LogEvent,
} from './helpers.js';

const SECONDS = 6;
const PSI_MS = 100;
/** The never-working channel is CBR: its keep-alive is PSI, PCR and null packets at this rate. */
const NEVER_CBR = 1_000_000;

t.test('a never-working and a dying channel do not disturb a good one', async (t) => {
  const good = marker('isogood');
  const missing = `/nonexistent/${marker('isomissing')}.ts`;
  const chans = [
    { number: 31, name: 'Good', group: '239.255.23.1', port: 6301 },
    { number: 32, name: 'Never', group: '239.255.23.2', port: 6302 },
    { number: 33, name: 'Dying', group: '239.255.23.3', port: 6303 },
  ];
  const d = startDaemon(t, {
    text: `
headend:
  interface: 127.0.0.1
  ttl: 1
  defaults:
    psi_interval: ${PSI_MS}ms
    stall_timeout: 1s
channels:
  - number: 31
    name: Good
    output: udp://${chans[0].group}:${chans[0].port}
    source:
      test: { pattern: testsrc2, resolution: 320x180, rate: 25, bitrate: 500k, text: ${good} }
  - number: 32
    name: Never
    output: udp://${chans[1].group}:${chans[1].port}
    bitrate: ${NEVER_CBR}
    source: udp://@239.255.23.9:6309?interface=127.0.0.1
  - number: 33
    name: Dying
    output: udp://${chans[2].group}:${chans[2].port}
    source: ${missing}
`,
  });
  const ready = await d.waitFor((e) => e.event === 'ready', 10_000);
  t.equal(ready.channels, 3, 'all three channels start');
  await d.waitFor((e) => e.event === 'source-up' && e.channel === '31 Good', 10_000);
  const recs = await Promise.all(chans.map((c) => openRecorder(t, c.group, c.port)));
  await sleep(SECONDS * 1000);
  await Promise.all(recs.map((r) => r.close()));
  const recordings = recs.map((r) => r.datagrams);
  const ofCh = (n: string) => (e: LogEvent) => e.channel === n;
  const dyingFails = d.events.filter(
    (e) => ofCh('33 Dying')(e) && e.event === 'source-failed' && e.reason === 'exit',
  );
  t.ok(dyingFails.length >= 3, `the missing file fails again and again (${dyingFails.length})`);
  t.notOk(
    d.events.some((e) => e.event === 'source-up' && e.channel !== '31 Good'),
    'only the good channel ever has a source up',
  );
  t.notOk(
    d.events.some((e) => ofCh('31 Good')(e) && e.event === 'source-failed'),
    'the good channel never fails',
  );
  await stopAndCheck(t, d, [good, missing]);

  const g = analyzeRecording(recs[0]);
  t.equal(g.priority1Errors, 0, `good: zero priority-1 errors ${failing(g)}`);
  t.equal(g.priority2Errors, 0, `good: zero priority-2 errors ${failing(g)}`);
  t.ok(g.totals.durationSec >= SECONDS - 1, `good: ${g.totals.durationSec.toFixed(1)} s`);
  t.ok(
    g.totals.bitrate > 150e3 && g.totals.bitrate < 1.2e6,
    `good: normal bitrate ${(g.totals.bitrate / 1e3).toFixed(0)} kbit/s (500k video + audio)`,
  );
  t.same(
    g.programs[0]?.streams.map((s) => s.kind).sort(),
    ['audio', 'video'],
    'good: video and audio',
  );
  const gs = scan(recordings[0]);
  t.ok(maxGapMs(gs.videoPesNs) < 200, `good: video flows (max gap ${maxGapMs(gs.videoPesNs)} ms)`);

  for (const i of [1, 2]) {
    const c = chans[i];
    const r = analyzeRecording(recs[i]);
    const s = scan(recordings[i]);
    t.ok(r.totals.durationSec >= SECONDS - 1, `${c.name}: output alive for ${SECONDS} s`);
    t.equal(r.priority1Errors, 0, `${c.name}: zero priority-1 errors ${failing(r)}`);
    t.equal(check(r, '2.3a').errors, 0, `${c.name}: PCR every ≤ 100 ms`);
    if (i === 1) {
      t.equal(check(r, '2.4').errors, 0, `${c.name} (CBR): PCR accuracy ${check(r, '2.4').detail}`);
      // The mux rate by the stream's own clock (bytes between its first and last PCR): the rate
      // by arrival counted a machine stall at the recording's start as 1.45 % more (CI: 80 ms).
      const [p0, p1] = [s.pcrs[0], s.pcrs[s.pcrs.length - 1]];
      const rate = ((p1.i - p0.i) * 188 * 8) / ((p1.v - p0.v) / 27e6);
      t.ok(
        Math.abs(rate - NEVER_CBR) < NEVER_CBR * 0.01,
        `${c.name}: constant ${(rate / 1e3).toFixed(1)} kbit/s by its PCRs (by arrival ${(r.totals.bitrate / 1e3).toFixed(1)})`,
      );
    }
    t.equal(r.programs[0]?.programNumber, c.number, `${c.name}: PAT/PMT of program ${c.number}`);
    t.equal(r.programs[0]?.serviceName, c.name, `${c.name}: SDT with the service name`);
    t.ok(
      r.pids.some((p) => p.pcrCount > 0),
      `${c.name}: PCR present (${r.pids.map((p) => `${p.label}:${p.pcrCount}`).join(' ')})`,
    );
    const pat = maxGapMs(s.patPcrNs);
    t.ok(pat > 0 && pat <= PSI_MS + 2, `${c.name}: PAT every ${pat.toFixed(1)} ms by PCR`);
    t.comment(
      `${c.name}: ${(r.totals.bitrate / 1e3).toFixed(0)} kbit/s, P2 ${r.priority2Errors} ${failing(r)}`,
    );
  }
});

t.test(
  'a config file with one broken channel: run refuses to start, FILE:LINE:COLUMN',
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'channels.yaml');
    const good = marker('brokengood');
    writeFileSync(
      file,
      `headend:
  interface: 127.0.0.1
channels:
  - number: 34
    name: Good
    output: udp://239.255.23.4:6304
    source:
      test: { pattern: smpte, resolution: 320x180, bitrate: 300k, text: ${good} }
  - number: 35
    name: Broken
    output: udp://239.255.23.5:6305
    bitrat: 1M
    source: { test: { pattern: smpte } }
`,
    );
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'run', '-c', file], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    t.equal(r.status, 1, `exit 1 (${Date.now() - t0} ms)`);
    t.match(r.stderr, `${file}:12:5: unknown key 'bitrat'`, 'the error names FILE:LINE:COLUMN');
    t.notMatch(r.stderr, /"event":"(ready|source-start|channel-start)"/, 'nothing was started');
    t.same(pidsWithMarker(good), [], 'no ffmpeg started for the good channel');
  },
);
