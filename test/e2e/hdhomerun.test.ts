// An HDHomeRun network tuner feeding two channels (issue 10), on the real daemon. No
// HDHomeRun box exists here, so test/helpers/hdhomerun-server.ts stands in for one behind the
// same interfaces (UDP discovery on port 65001, HTTP /discover.json, /status.json and
// /auto/v<channel>), serving an MPTS made by Debian's ffmpeg. The tuner is named by device id
// and found by discovery; two services of the one stream become two channels (opened once);
// the device vanishing fails both channels over to their backups with zero CC errors at the
// receivers, and they return when it comes back.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { join } from 'node:path';
import { FakeHdhomerun } from '../helpers/hdhomerun-server.js';
import { makeMpts } from '../helpers/mpts.js';
import {
  assertCleanAcrossFailures,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';
import { tunerConfig, waitAllUp } from './tuner-rig.js';

const PROGRAMS = [
  { service: 1, name: 'Air One', size: [320, 180] as [number, number], pattern: 'testsrc' },
  { service: 2, name: 'Air Two', size: [256, 144] as [number, number], pattern: 'smptebars' },
];
const CHANNELS = [
  { number: 71, service: 1, group: '239.255.27.1', port: 6701 },
  { number: 72, service: 2, group: '239.255.27.2', port: 6702 },
];
const SECONDS = 40;
/** The stand-in sends at a fixed byte rate: a CBR multiplex, as broadcast. */
const MUXRATE = 1_000_000;

t.test(
  'an HDHomeRun (stand-in) found by discovery feeds two channels; gone → backup → back',
  async (t) => {
    const dir = tempDir(t);
    const mpts = join(dir, 'air.ts');
    makeMpts(mpts, PROGRAMS, SECONDS, MUXRATE);
    const box = new FakeHdhomerun({
      deviceId: '1010CAFE',
      tuners: 2,
      channels: [{ guideNumber: '5.1', name: 'Air', file: mpts }],
      byteRate: MUXRATE / 8,
      discoveryPort: 65001,
      port: 5004, // a real box streams on 5004 (its API on 80; the stand-in serves both)
    });
    await box.start();
    t.teardown(() => box.stop());

    const entry = `  - id: hdhr\n    url: hdhomerun://1010CAFE/5.1\n    discover: 127.0.0.1\n`;
    const d = startDaemon(t, { text: tunerConfig(entry, 'hdhr', 'HD', CHANNELS) });
    await d.waitFor((e) => e.event === 'ready', 10_000);
    await waitAllUp(d, 'HD', CHANNELS, 0, 20_000);
    t.ok(
      box.discoverRequests > 0,
      `the device id was resolved by discovery (${box.discoverRequests})`,
    );
    t.equal(box.streamRequests().length, 1, 'one stream request for both channels');
    t.equal(box.streaming, 1, 'one tuner of the box in use');

    const recs = await Promise.all(CHANNELS.map((c) => openRecorder(t, c.group, c.port)));
    const probes = await Promise.all(CHANNELS.map((c) => ffprobeJson(c.group, c.port, 8)));
    CHANNELS.forEach((c, i) => {
      const p = PROGRAMS.find((x) => x.service === c.service)!;
      const v = probes[i].streams?.find((s) => s.codec_type === 'video');
      t.same([v?.width, v?.height], p.size, `${c.number}: service ${c.service}'s picture`);
      t.equal(probes[i].programs?.[0]?.tags?.service_name, `HD ${c.number}`, `${c.number}: named`);
    });
    await sleep(3000); // status.json is read every 2 s
    const api = (await (await fetch('http://127.0.0.1:8080/api/channels')).json()) as {
      tuners?: { id: string; state: string; signal?: { value: number; unit: string } }[];
    };
    const tuner = api.tuners?.find((x) => x.id === 'hdhr');
    t.equal(tuner?.state, 'running', '/api/channels tuners: running');
    t.same(
      tuner?.signal,
      { value: 82, unit: '%' },
      '/api/channels tuners: signal from status.json',
    );

    const goneAt = d.events.length;
    await box.vanish();
    await waitAllUp(d, 'HD', CHANNELS, 1, 20_000, goneAt);
    await sleep(1000);
    await box.reappear();
    await waitAllUp(d, 'HD', CHANNELS, 0, 40_000, goneAt);
    await sleep(1500);
    await Promise.all(recs.map((r) => r.close()));
    CHANNELS.forEach((c, i) =>
      assertCleanAcrossFailures(t, recs[i], 100, `${c.number} across the device going away`),
    );
    await stopAndCheck(t, d, []);
  },
);
