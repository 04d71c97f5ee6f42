// One MPTS in, three channels out (issue 3): ffmpeg makes a transport stream with three
// programs of different picture sizes, the test sends it in real time to a multicast group,
// and three channels take services 1, 2 and 3 of that one source. Each output carries only its
// own program's streams (ffprobe: one program, the right size) under the configured name, is
// clean (Analyzer), and the source is opened once.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { join } from 'node:path';
import {
  TsSender,
  analyzeRecording,
  failing,
  ffmpeg,
  ffprobeJson,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
} from './helpers.js';

const IN_GROUP = '239.255.24.9';
const IN_PORT = 6409;
const PROGRAMS = [
  { service: 1, number: 41, name: 'MPTS One', size: [320, 180], pattern: 'testsrc', out: 1 },
  { service: 2, number: 42, name: 'MPTS Two', size: [256, 144], pattern: 'smptebars', out: 2 },
  { service: 3, number: 43, name: 'MPTS Three', size: [192, 108], pattern: 'rgbtestsrc', out: 3 },
].map((p) => ({ ...p, group: `239.255.24.${p.out}`, port: 6400 + p.out }));

t.test('an MPTS with three programs feeds three channels', async (t) => {
  const dir = tempDir(t);
  const mpts = join(dir, 'mpts.ts');
  const inputs: string[] = [];
  const maps: string[] = [];
  const programs: string[] = [];
  PROGRAMS.forEach((p, i) => {
    inputs.push('-f', 'lavfi', '-i', `${p.pattern}=size=${p.size.join('x')}:rate=25`);
    inputs.push('-f', 'lavfi', '-i', `sine=frequency=${440 + 110 * i}:sample_rate=48000`);
    maps.push('-map', `${2 * i}:v`, '-map', `${2 * i + 1}:a`);
    programs.push(
      '-program',
      `title=P${p.service}:program_num=${p.service}:st=${2 * i}:st=${2 * i + 1}`,
    );
  });
  ffmpeg([
    ...inputs,
    ...['-t', '40', ...maps],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'],
    ...['-b:v', '150k', '-maxrate', '150k', '-bufsize', '150k', '-c:a', 'aac', '-b:a', '48k'],
    ...programs,
    ...['-f', 'mpegts', mpts],
  ]);
  const sender = new TsSender(mpts, IN_GROUP, IN_PORT);
  await sender.start();
  t.teardown(() => sender.stop());

  const url = `udp://@${IN_GROUP}:${IN_PORT}?interface=127.0.0.1`;
  const d = startDaemon(t, {
    text:
      `headend:\n  interface: 127.0.0.1\n  ttl: 1\nchannels:\n` +
      PROGRAMS.map(
        (p) =>
          `  - number: ${p.number}\n    name: ${p.name}\n    output: udp://${p.group}:${p.port}\n` +
          `    source: ${url}\n    service: ${p.service}\n`,
      ).join(''),
  });
  await d.waitFor((e) => e.event === 'ready', 10_000);
  for (const p of PROGRAMS) {
    await d.waitFor(
      (e) => e.event === 'source-up' && e.channel === `${p.number} ${p.name}`,
      10_000,
    );
  }
  const recs = await Promise.all(PROGRAMS.map((p) => openRecorder(t, p.group, p.port)));
  const probing = Promise.all(PROGRAMS.map((p) => ffprobeJson(p.group, p.port, 8)));
  await sleep(6000);
  const probes = await probing;
  await Promise.all(recs.map((r) => r.close()));
  const starts = d.events.filter((e) => e.event === 'source-start');
  t.equal(starts.length, 1, `the MPTS source is opened once (${starts.length} source-start)`);
  t.match(String(starts[0]?.source), IN_GROUP, 'and it is the udp input');
  t.same(
    d.events.filter((e) => e.event === 'source-failed'),
    [],
    'no source failed',
  );
  await stopAndCheck(t, d, []);

  PROGRAMS.forEach((p, i) => {
    const probe = probes[i];
    t.equal(probe.programs?.length, 1, `${p.name}: one program`);
    t.equal(probe.programs?.[0]?.tags?.service_name, p.name, `${p.name}: its service name`);
    const streams = probe.streams ?? [];
    t.same(
      streams.map((s) => s.codec_type).sort(),
      ['audio', 'video'],
      `${p.name}: only its own video and audio`,
    );
    const v = streams.find((s) => s.codec_type === 'video');
    t.same([v?.width, v?.height], p.size, `${p.name}: picture ${p.size.join('x')}`);
    const r = analyzeRecording(recs[i]);
    t.equal(r.programs.length, 1, `${p.name}: one program in the PAT`);
    t.equal(r.programs[0]?.programNumber, p.number, `${p.name}: program_number ${p.number}`);
    t.equal(r.priority1Errors, 0, `${p.name}: zero priority-1 errors ${failing(r)}`);
    t.equal(r.priority2Errors, 0, `${p.name}: zero priority-2 errors ${failing(r)}`);
  });
});
