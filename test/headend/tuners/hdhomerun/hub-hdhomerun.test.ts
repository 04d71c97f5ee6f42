// hdhomerun:// sources through a real SourceHub against the stand-in device
// (test/helpers/hdhomerun-server.ts): real TS made with Debian's ffmpeg, a device id found by
// discovery, busy tuners (503) backing off, an unknown channel (404), a device that goes away
// and comes back, and /status.json as the source's TunerStatus.
import '../../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SourceHub, type SourceHubOptions } from '../../../../src/headend/sources/hub.js';
import type { SourceSpec } from '../../../../src/headend/sources/types.js';
import type { HdhomerunTunerSpec } from '../../../../src/headend/tuners/types.js';
import { DeviceDirectory } from '../../../../src/headend/tuners/hdhomerun/discover.js';
import { FakeHdhomerun } from '../../../helpers/hdhomerun-server.js';
import { renderClip, tempDir } from '../../../e2e/helpers.js';
import { EventLog, Recorder, sleep, waitFor } from '../../sources/helpers.js';

const ID = '1010CAFE';
let FIVE = '';
let SEVEN = '';

t.before(() => {
  const dir = tempDir(t);
  FIVE = join(dir, 'five.ts');
  SEVEN = join(dir, 'seven.ts');
  renderClip(FIVE, 3, { pattern: 'testsrc' });
  renderClip(SEVEN, 3, { pattern: 'smptebars', size: '256x144' });
});

async function device(t: Test, tuners = 2, discoveryPort?: number): Promise<FakeHdhomerun> {
  const d = new FakeHdhomerun({
    deviceId: ID,
    tuners,
    discoveryPort,
    channels: [
      { guideNumber: '5.1', name: 'Five', file: FIVE },
      { guideNumber: '7.1', name: 'Seven', file: SEVEN },
    ],
  });
  await d.start();
  t.teardown(() => d.stop());
  return d;
}

function hub(t: Test, extra: Partial<SourceHubOptions> = {}) {
  const log = new EventLog();
  const h = new SourceHub({
    log: log.log,
    backoff: { initialMs: 100, maxMs: 400 },
    random: () => 0.5, // no jitter: delays exactly initial × 2^n
    hdhomerun: { statusEveryMs: 200, directory: new DeviceDirectory() },
    ...extra,
  });
  t.teardown(() => h.close());
  return { h, log };
}

/** As the config makes it from `url: hdhomerun://<device>:<port>/<channel>`. */
function spec(d: FakeHdhomerun, id: string, channel: string, device = '127.0.0.1'): SourceSpec {
  const tuner: HdhomerunTunerSpec = { id, kind: 'hdhomerun', device, channel, port: d.port };
  return { key: `hdhomerun://${tuner.device}/${channel}`, tuner };
}

function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));
}

t.test('two channels stream their own TS, natively', async (t) => {
  const d = await device(t);
  const { h, log } = hub(t);
  const five = new Recorder(true);
  const seven = new Recorder(true);
  const s5 = spec(d, 'hdhr-a', '5.1');
  const s7 = spec(d, 'hdhr-b', '7.1');
  h.subscribe(s5, five);
  h.subscribe(s7, seven);
  const f5 = readFileSync(FIVE);
  const f7 = readFileSync(SEVEN);
  t.ok(await waitFor(() => five.bytes > f5.length && seven.bytes > f7.length, 10_000), 'bytes');
  t.ok(concat(five.kept).subarray(0, f5.length).equals(f5), '5.1: its file, byte for byte');
  t.ok(concat(seven.kept).subarray(0, f7.length).equals(f7), '7.1: its file, byte for byte');
  t.same(five.program?.streams.map((x) => x.kind).sort(), ['audio', 'video']);
  t.equal(h.pidOf(s5.key), undefined, 'no ffmpeg');
  t.match(h.state(s5.key), { state: 'running', restarts: 0 });
  t.equal(d.streaming, 2, 'two tuners in use');
  t.match(log.of('open')[0], {
    level: 'info',
    message: new RegExp(
      `streaming http://127\\.0\\.0\\.1:${d.port}/auto/v5\\.1 from HDHomeRun ${ID}`,
    ),
  });
  t.equal(five.find('failed'), undefined);
  await h.close();
  t.ok(await waitFor(() => d.streaming === 0, 2000), 'closing the hub frees the tuners');
});

t.test('a second reader from a packet of the tuner run gets the bytes from it first', async (t) => {
  // A channel rebuilt or moved while another channel of the multiplex keeps the tuner's run
  // going reads on from its cut (SourceHub.subscribe from): the run's recent bytes are kept for
  // tuners too (copied, since a tuner's read buffers are reused). Before, tuners kept none and
  // such a channel spliced, waiting for the next keyframe.
  const d = await device(t);
  const { h } = hub(t);
  const a = new Recorder(true);
  const s5 = spec(d, 'hdhr-a', '5.1');
  h.subscribe(s5, a);
  t.ok(await waitFor(() => a.bytes > 188 * 3000, 10_000), 'the first reader streams');
  const got = concat(a.kept);
  // A video packet (unique: its PES bytes) a few packets before the end of what it got.
  let at = (Math.floor(got.length / 188) - 20) * 188;
  while (at > 0 && (((got[at + 1]! & 0x1f) << 8) | got[at + 2]!) !== 0x100) at -= 188;
  const b = new Recorder(true);
  h.subscribe(s5, b, { from: got.subarray(at, at + 188) });
  t.ok(await waitFor(() => b.bytes >= got.length - at, 5000), 'the second reader gets bytes');
  const back = concat(b.kept);
  t.ok(
    back.subarray(0, got.length - at).equals(got.subarray(at)),
    `its first ${got.length - at} bytes: the run's from that packet on, byte for byte`,
  );
  t.equal(b.find('restarted'), undefined, 'the same run: no restart told');
});

t.test("a device id resolved by discovery sent to the tuner's `discover` address", async (t) => {
  const d = await device(t, 2, 0);
  const { h } = hub(t, {
    hdhomerun: { directory: new DeviceDirectory(), discovery: { port: d.discoveryPort } },
  });
  const r = new Recorder();
  const s = spec(d, 'hdhr-lobby', '5.1', '1010cafe');
  if (s.tuner?.kind === 'hdhomerun') s.tuner.discover = '127.255.255.255'; // lo's broadcast
  h.subscribe(s, r);
  t.ok(await waitFor(() => r.program !== null, 10_000), 'program found');
  t.ok(d.discoverRequests >= 1, 'asked by discovery');
  t.equal(d.streamRequests()[0]?.path, '/auto/v5.1');
});

t.test(
  'all tuners busy: a named failure, a growing backoff, recovery when one frees',
  async (t) => {
    const d = await device(t, 1);
    const { h, log } = hub(t, {
      backoff: { initialMs: 200, maxMs: 5000 },
    });
    const first = new Recorder();
    const off1 = h.subscribe(spec(d, 'hdhr-a', '5.1'), first);
    t.ok(await waitFor(() => first.bytes > 0, 5000));
    const busy = new Recorder();
    const s7 = spec(d, 'hdhr-lobby', '7.1');
    h.subscribe(s7, busy);
    t.ok(await waitFor(() => busy.find('failed') !== undefined, 5000));
    t.equal(busy.find('failed')?.reason, 'tuner');
    t.equal(
      busy.find('failed')?.message,
      `tuner hdhr-lobby: HDHomeRun ${ID} busy (503 805 All Tuners In Use)`,
    );
    t.match(h.state(s7.key)?.lastError, /^tuner: tuner hdhr-lobby: HDHomeRun 1010CAFE busy/);
    const t0 = Date.now();
    await sleep(3000);
    const refused = d.streamRequests().filter((q) => q.status === 503 && q.at >= t0).length;
    t.ok(refused >= 2 && refused <= 6, `${refused} requests in 3 s (200, 400, 800, 1600 ms apart)`);
    const delays = log
      .of('backoff')
      .filter((e) => e.source === s7.key)
      .map((e) => e.delayMs as number);
    t.ok(delays.length >= 3, `${delays.length} backoffs`);
    t.ok(
      delays.every((x, i) => i === 0 || x > delays[i - 1]),
      `each delay longer than the one before: ${delays.join(', ')}`,
    );
    off1();
    t.ok(await waitFor(() => busy.bytes > 0, 10_000), 'the tuner freed: 7.1 streams');
    t.equal(h.state(s7.key)?.state, 'running');
  },
);

t.test('busy switch and 404: failures that name the answer', async (t) => {
  const d = await device(t);
  d.busy = true;
  const { h } = hub(t);
  const r = new Recorder();
  h.subscribe(spec(d, 'hdhr-a', '5.1'), r);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 5000));
  t.match(r.find('failed'), { reason: 'tuner', message: /HDHomeRun 1010CAFE busy \(503 805/ });
  d.busy = false;
  t.ok(await waitFor(() => r.bytes > 0, 5000), 'streams once the device has a tuner');

  const nine = new Recorder();
  h.subscribe(spec(d, 'hdhr-b', '9.9'), nine);
  t.ok(await waitFor(() => nine.find('failed') !== undefined, 5000));
  t.match(nine.find('failed'), {
    reason: 'tuner',
    message: `tuner hdhr-b: HDHomeRun ${ID} has no channel 9.9 (404 Unknown Channel)`,
  });
});

t.test('nothing listening: open failures, retried', async (t) => {
  const d = await device(t);
  const { h } = hub(t);
  await d.vanish();
  const r = new Recorder();
  const s = spec(d, 'hdhr-a', '5.1');
  h.subscribe(s, r);
  t.ok(await waitFor(() => r.marks.length >= 2, 5000), 'failed twice');
  t.match(r.story, /^failed:open failed:open/);
  t.equal(
    r.find('failed')?.message,
    'tuner hdhr-a: cannot reach HDHomeRun 127.0.0.1: ' +
      'GET http://127.0.0.1:80/discover.json: connection refused (ECONNREFUSED); ' +
      `GET http://127.0.0.1:${d.port}/discover.json: connection refused (ECONNREFUSED)`,
    'port 80 (a real device), then the stream port (stand-ins, emulators)',
  );
});

t.test('the device goes away mid-stream and comes back', async (t) => {
  const d = await device(t);
  const { h, log } = hub(t);
  const r = new Recorder();
  const s = spec(d, 'hdhr-a', '5.1');
  h.subscribe(s, r);
  t.ok(await waitFor(() => r.program !== null, 5000));
  await d.vanish();
  t.ok(await waitFor(() => r.find('failed') !== undefined, 5000), 'failure seen');
  t.equal(r.find('failed')?.reason, 'exit');
  t.match(
    r.find('failed')?.message,
    /^tuner hdhr-a: HDHomeRun 1010CAFE (broke off|ended) channel 5\.1/,
  );
  await sleep(500);
  t.match(h.state(s.key)?.lastError, /^open: /, 'while gone: cannot connect');
  await d.reappear();
  t.ok(await waitFor(() => r.program !== null && h.state(s.key)?.state === 'running', 10_000));
  t.match(r.story, /^data failed:exit (failed:open )*restarted data$/);
  t.ok(log.of('recovered').length >= 1, 'recovered logged');
});

t.test('a stalled stream: the run is killed, its tuner freed, the next run streams', async (t) => {
  const d = await device(t, 1);
  const { h } = hub(t, { stallMs: 500 });
  const r = new Recorder();
  const s = spec(d, 'hdhr-a', '5.1');
  h.subscribe(s, r);
  t.ok(await waitFor(() => r.program !== null, 5000));
  d.paused = true;
  t.ok(await waitFor(() => r.find('failed') !== undefined, 5000), 'stall seen');
  t.equal(r.find('failed')?.reason, 'stall');
  d.paused = false;
  t.ok(await waitFor(() => r.find('restarted') !== undefined && r.program !== null, 10_000));
  t.notOk(r.story.includes('failed:tuner'), `never busy: ${r.story}`);
  t.equal(d.streaming, 1, 'one tuner: the stalled connection was closed');
});

t.test('/status.json becomes the TunerStatus of the source', async (t) => {
  const d = await device(t);
  const { h, log } = hub(t);
  const r = new Recorder();
  const s = spec(d, 'hdhr-a', '5.1');
  h.subscribe(s, r);
  t.ok(await waitFor(() => h.state(s.key)?.tuner !== undefined, 5000), 'a reading');
  t.match(h.state(s.key)?.tuner, {
    lock: true,
    signal: { value: 82, unit: '%' },
    snr: { value: 71, unit: '%' },
  });
  d.signal = { strength: 30, quality: 0, symbol: 0 };
  t.ok(await waitFor(() => h.state(s.key)?.tuner?.lock === false, 5000), 'readings follow');
  t.match(h.state(s.key)?.tuner, { signal: { value: 30 }, snr: { value: 0 } });

  // A device without status.json: one info line, no reading, the stream goes on.
  const d2 = await device(t);
  d2.statusJson = false;
  const r2 = new Recorder();
  const s2 = spec(d2, 'hdhr-b', '7.1');
  h.subscribe(s2, r2);
  t.ok(await waitFor(() => r2.bytes > 0, 5000));
  await sleep(1000);
  const lines = log.of('tuner-status').filter((e) => e.source === s2.key);
  t.equal(lines.length, 1, 'logged once');
  t.match(lines[0], { level: 'info', message: /has no .*status\.json/ });
  t.equal(h.state(s2.key)?.tuner, undefined);
  t.equal(d2.requests.filter((q) => q.path === '/status.json').length, 1, 'not asked again');
  t.equal(h.state(s2.key)?.state, 'running');
});
