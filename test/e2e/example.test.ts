// The example channels.yaml as a newcomer starts it (README: `npx headend run`): every group
// carries a video and an audio stream and the configured service name (ffprobe), and our
// Analyzer reads zero priority-1 and priority-2 errors on every output.
//
// The analysis lasts 30 s, as the acceptance asks (HEADEND_E2E_SECONDS changes it: 8 for a
// quick local run).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { join } from 'node:path';
import {
  REPO,
  analyzeRecording,
  failing,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  type LogEvent,
} from './helpers.js';

const SECONDS = Number(process.env.HEADEND_E2E_SECONDS ?? 30) || 30;

const CHANNELS = [
  { number: 101, name: 'Test Card', group: '239.255.10.1', port: 5001 },
  { number: 102, name: 'Moving Pattern', group: '239.255.10.2', port: 5002 },
  { number: 103, name: 'Colour Bars CBR', group: '239.255.10.3', port: 5003 },
  { number: 104, name: 'Life with Backup', group: '239.255.10.4', port: 5004 },
];

t.test(`the example channels.yaml: ffprobe and ${SECONDS} s of analysis`, async (t) => {
  t.setTimeout((SECONDS + 60) * 1000);
  const d = startDaemon(t, { file: join(REPO, 'channels.yaml') });
  const ready = await d.waitFor((e) => e.event === 'ready', 10_000);
  t.equal(ready.channels, 4, 'ready with 4 channels');
  for (const c of CHANNELS) {
    await d.waitFor(
      (e: LogEvent) => e.event === 'source-up' && e.channel === `${c.number} ${c.name}`,
      15_000,
    );
  }
  const recorders = await Promise.all(CHANNELS.map((c) => openRecorder(t, c.group, c.port)));
  // ffprobe joins every group while our receivers record (it needs ~5 s to probe).
  const probing = Promise.all(CHANNELS.map((c) => ffprobeJson(c.group, c.port, 8)));
  await sleep(SECONDS * 1000);
  const probes = await probing;
  await Promise.all(recorders.map((r) => r.close()));
  const failures = d.events.filter((e) => e.event === 'source-failed');
  t.same(failures, [], 'no source failed meanwhile');
  await stopAndCheck(t, d, []);

  CHANNELS.forEach((c, i) => {
    const p = probes[i];
    const types = (p.streams ?? []).map((s) => s.codec_type).sort();
    // The example has a guide (epg: [test]): ffmpeg shows the EIT as a data stream "epg".
    t.same(
      types,
      ['audio', 'data', 'video'],
      `${c.name}: ffprobe reads a video and an audio stream, and the guide`,
    );
    t.equal(
      p.streams?.find((s) => s.codec_type === 'data')?.codec_name,
      'epg',
      `${c.name}: the data stream is ffmpeg's EPG (our EIT)`,
    );
    t.equal(
      p.programs?.[0]?.tags?.service_name,
      c.name,
      `${c.name}: ffprobe reads the service name`,
    );
    const r = analyzeRecording(recorders[i]);
    t.ok(
      r.totals.durationSec >= SECONDS - 1,
      `${c.name}: ${r.totals.durationSec.toFixed(1)} s analyzed`,
    );
    t.equal(r.programs[0]?.serviceName, c.name, `${c.name}: SDT service name`);
    t.equal(r.programs[0]?.programNumber, c.number, `${c.name}: program_number`);
    t.equal(r.priority1Errors, 0, `${c.name}: zero priority-1 errors ${failing(r)}`);
    t.equal(r.priority2Errors, 0, `${c.name}: zero priority-2 errors ${failing(r)}`);
    t.comment(
      `${c.name}: ${(r.totals.bitrate / 1e3).toFixed(0)} kbit/s, ` +
        `DF max ${r.mdi?.dfMaxMs.toFixed(1)} ms, P3 ${r.priority3Errors}`,
    );
  });
});
