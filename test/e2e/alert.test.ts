// The emergency override as a building would use it (issue 11). A fire panel on a real
// pseudo-terminal pair (Debian's socat): the daemon reads one end, the test writes
// `ALARM ON` / `ALARM OFF` to the other. Two channels (one in group lobby) recorded at their
// groups: on ALARM ON both show the card (ffprobe sees its 640x360 picture where the channels'
// own are 320x180) within 1 s of the line, and their own picture again after ALARM OFF (each
// also timed as a TV shows it: when the PCRs, as they arrive, reach its PTS); zero CC errors
// and clean PSI/PCR over the whole recording. Then a zone alert (lobby only), the
// HTTP trigger with no, a wrong and the right token, the CLI, and the serial device vanishing
// (socat killed) and returning mid-run.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertCleanAcrossFailures,
  firstFrameMs,
  frameWidths,
  nowNs,
  openRecorder,
  runCli,
  sleep,
  startDaemon,
  tempDir,
} from './helpers.js';

const G1 = '239.255.23.1';
const G2 = '239.255.23.2';
const PORT = 6123;
const PSI_MS = 100;
const TOKEN = 'e2e-alert-token';

/** A pty pair: `tty` for the daemon, `panel` for the test. */
function ptyPair(dir: string): { proc: ChildProcess; tty: string; panel: string } {
  const tty = join(dir, 'tty');
  const panel = join(dir, 'panel');
  const proc = spawn('socat', [`pty,raw,echo=0,link=${tty}`, `pty,raw,echo=0,link=${panel}`], {
    stdio: 'ignore',
  });
  return { proc, tty, panel };
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await sleep(20);
  return ok();
}

t.test('serial, HTTP and CLI alerts switch every channel cleanly within a second', async (t) => {
  const dir = tempDir(t);
  let pty = ptyPair(dir);
  t.teardown(() => pty.proc.kill());
  t.ok(await until(() => existsSync(pty.tty), 5000), 'socat made the pty pair');
  const d = startDaemon(t, {
    text: `
headend:
  name: E2E Alert
  interface: 127.0.0.1
  http: { listen: 127.0.0.1:0 }
  rtsp: false
  alert:
    message: E2E FIRE ALARM
    token: ${TOKEN}
    serial: { device: ${pty.tty}, baud: 19200 }
channels:
  - number: 31
    name: Lobby
    group: lobby
    output: udp://${G1}:${PORT}
    psi_interval: ${PSI_MS}ms
    source: { test: { pattern: testsrc2, resolution: 320x180, bitrate: 300k } }
  - number: 32
    name: Bar
    output: udp://${G2}:${PORT}
    psi_interval: ${PSI_MS}ms
    source: { test: { pattern: smpte, resolution: 320x180, bitrate: 300k } }
`,
  });
  await d.waitFor((e) => e.event === 'alarm-port-open', 10_000);
  const http = await d.waitFor((e) => e.event === 'http-listening', 10_000);
  const api = `http://127.0.0.1:${String(http.port)}`;
  await d.waitFor((e) => e.event === 'source-up' && e.channel === '32 Bar', 15_000);
  await d.waitFor((e) => e.event === 'source-up' && e.channel === '31 Lobby', 15_000);
  const r1 = await openRecorder(t, G1, PORT);
  const r2 = await openRecorder(t, G2, PORT);
  await sleep(2000);

  // 1. ALARM ON from the panel: every channel.
  const onNs = nowNs();
  writeFileSync(pty.panel, 'ALARM ON\r\n');
  await d.waitFor((e) => e.event === 'alert-on' && e.trigger === 'serial', 3000);
  await sleep(3000);
  const state = (await (await fetch(`${api}/api/alert`)).json()) as {
    on: boolean;
    channels: string[];
  };
  t.equal(state.on, true, 'GET /api/alert: on');
  t.same(state.channels.sort(), ['bar', 'lobby'], 'on every channel');
  const health = await (await fetch(`${api}/healthz`)).text();
  t.match(health, /^ok\nalert on: zone \* since .* \(serial\)/, '/healthz says so');
  const metrics = await (await fetch(`${api}/metrics`)).text();
  t.match(metrics, /headend_alert_active\{zone=""\} 1/);
  t.match(metrics, /headend_alert_changes_total\{trigger="serial"\} 1/);

  // 2. ALARM OFF: back to their own sources.
  const offNs = nowNs();
  writeFileSync(pty.panel, 'ALARM OFF\r\n');
  await d.waitFor((e) => e.event === 'alert-off', 3000);
  await sleep(4000);

  // 3. A zone: only the lobby.
  writeFileSync(pty.panel, 'ALARM ON lobby\r\n');
  const zoneOn = await d.waitFor((e) => e.event === 'alert-on' && e.zone === 'lobby', 3000);
  t.equal(zoneOn.channels, 1, 'the lobby zone is one channel');
  await sleep(2000);
  writeFileSync(pty.panel, 'ALARM OFF lobby\r\n');
  await d.waitFor((e) => e.event === 'alert-off' && e.zone === 'lobby', 3000);
  await sleep(3000);

  // 4. HTTP: no token, a wrong one, the right one (every channel, the configured card).
  const post = (auth: string | undefined, body: unknown) =>
    fetch(`${api}/api/alert`, {
      method: 'POST',
      headers: auth ? { authorization: auth } : {},
      body: JSON.stringify(body),
    });
  t.equal((await post(undefined, { state: 'on' })).status, 401, 'no token: 401');
  t.equal((await post('Bearer wrong', { state: 'on' })).status, 403, 'a wrong token: 403');
  t.notOk(
    d.events.some((e) => JSON.stringify(e).includes(TOKEN) || JSON.stringify(e).includes('wrong')),
    'no token in the log',
  );
  const httpNs = nowNs();
  const ok = await post(`Bearer ${TOKEN}`, { state: 'on' });
  t.equal(ok.status, 200, 'the right token: 200');
  await d.waitFor((e) => e.event === 'alert-on' && e.trigger === 'http', 3000);
  await sleep(2500);

  // 5. The CLI turns it off, and on for the lobby with a message of its own.
  const cliNs = nowNs();
  const cliOff = await runCli(['alert', 'off', '--url', api, '--token', TOKEN]);
  t.equal(cliOff.code, 0, `headend alert off: ${cliOff.stdout}${cliOff.stderr}`);
  t.match(cliOff.stdout, /^alert off/);
  await d.waitFor((e) => e.event === 'alert-off' && e.trigger === 'cli', 3000);
  await sleep(3000);
  const cliOn = await runCli([
    'alert',
    'on',
    '--zone',
    'lobby',
    '--message',
    'CLI drill',
    '--url',
    api,
    '--token',
    TOKEN,
  ]);
  t.equal(cliOn.code, 0, cliOn.stderr);
  t.match(cliOn.stdout, /alert ON on 1 channel\(s\)\n {2}zone lobby: "CLI drill"/);
  await d.waitFor(
    (e) => e.event === 'source-up' && e.channel === '31 Lobby' && e.index === 2,
    5000,
  );
  const bad = await runCli(['alert', 'off', '--url', api, '--token', 'nope']);
  t.equal(bad.code, 1, 'the CLI with a wrong token fails');
  t.match(bad.stdout, /HTTP 403/);
  t.ok(
    ((await (await fetch(`${api}/api/alert`)).json()) as { on: boolean }).on,
    'and changes nothing',
  );
  await sleep(1500);
  // What a late picture would come from: each channel's decode delay, and its raises.
  const delays = (await (await fetch(`${api}/metrics`)).text())
    .split('\n')
    .filter((l) => l.startsWith('headend_channel_decode_delay'));
  /** What could have made a picture late: the decode delays and the daemon's own stalls. */
  const stallsNear = (atNs: number): string =>
    [
      ...delays,
      ...d.events
        .filter(
          (e) =>
            e.atNs > atNs - 1e9 &&
            e.atNs < atNs + 2e9 &&
            (e.level !== 'info' || e.event === 'source-up'),
        )
        .map((e) => `${((e.atNs - atNs) / 1e6).toFixed(0)} ms: ${JSON.stringify(e)}`),
    ].join('; ');
  await r1.close();
  await r2.close();

  for (const [rec, name] of [
    [r1, 'lobby'],
    [r2, 'bar'],
  ] as const) {
    assertCleanAcrossFailures(t, rec, PSI_MS, `alert ${name}`);
    const frames = frameWidths(rec, dir, name);
    t.ok(frames.length > 100, `${name}: ffprobe decoded ${frames.length} frames`);
    t.ok(
      frames.some((f) => f.ns < onNs && f.width === 320),
      `${name}: its own picture before the alarm`,
    );
    // The stream switches within 1 s of the trigger (issue 11): the card's first picture
    // arrives, measured ~0.45-0.6 s (the card's ffmpeg starting and reaching a keyframe,
    // ~0.1 s, then the ~0.35 s of output queued before it). A TV shows it when the PCRs reach
    // its PTS, the channel's decode delay later (~0.3-0.4 s with these ffmpeg sources):
    // 0.79-0.94 s after the trigger in 17 runs, quiet and with a CPU hog. That second figure
    // adds the decode delay to a timing on a shared VM, so it is bounded at 1.5 s, which still
    // fails a splice that waits for a keyframe of the old source or a delay raised by a frame.
    // A failure names what the daemon logged of its own stalls around the trigger.
    for (const [what, at, width, arrive, shown] of [
      ['ALARM ON (serial)', onNs, 640, 1000, 1500],
      ['ALARM OFF (serial)', offNs, 320, 6000, 6000],
      ['POST /api/alert on', httpNs, 640, 1000, 1500],
      ['headend alert off', cliNs, 320, 6000, 6000],
    ] as const) {
      const f = frames.find((x) => x.ns >= at && x.width === width);
      const arrivedMs = f ? (f.ns - at) / 1e6 : Infinity;
      const shownMs = firstFrameMs(frames, at, width);
      const late = arrivedMs <= arrive && shownMs <= shown ? '' : ` (${stallsNear(at)})`;
      t.ok(
        late === '',
        `${name}: ${width === 640 ? "the card's" : 'its own'} picture ${arrivedMs.toFixed(0)} ms after ${what}, shown at ${shownMs.toFixed(0)} ms${late}`,
      );
    }
  }

  // 6. The serial device vanishes and returns.
  const from = d.events.length;
  pty.proc.kill();
  await d.waitFor((e) => e.event === 'alarm-port-lost', 5000, from);
  pty = ptyPair(dir);
  await d.waitFor((e) => e.event === 'alarm-port-open', 10_000, from);
  writeFileSync(pty.panel, 'ALARM ON\r\n');
  const again = await d.waitFor((e) => e.event === 'alert-on', 3000, from);
  t.equal(again.trigger, 'serial', 'the returned port triggers again');
  const m2 = await (await fetch(`${api}/metrics`)).text();
  t.match(m2, /headend_alert_changes_total\{trigger="http"\} 1/);
  t.match(m2, /headend_alert_changes_total\{trigger="cli"\} 2/);
  t.equal(delays.length, 4, 'decode delay and its raises for both channels');
  for (const l of delays.filter((x) => x.includes('_seconds')))
    t.ok(Number(l.split(' ')[1]) < 1, `${l}: under the T-STD's 1 s`);
  await d.stop();
});
