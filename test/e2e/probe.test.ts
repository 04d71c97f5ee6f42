// `headend probe` (issue 5): a three-program MPTS made by ffmpeg, probed as a file (read
// directly) and as a udp:// multicast feed (the daemon's native receiver, through the
// SourceHub): every program with its service name, PMT/PCR PIDs and streams with codec,
// language and a bitrate; as a table and as JSON. Nothing arriving exits 1.
import '../helpers/private-network.js';
import t from 'tap';
import type { Test } from 'tap';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { CLI, TsSender, ffmpeg, tempDir } from './helpers.js';

const IN_GROUP = '239.255.26.9';
const IN_PORT = 6609;
const PROGRAMS = [
  { service: 1, name: 'Probe One', pattern: 'testsrc', lang: 'eng' },
  { service: 2, name: 'Probe Two', pattern: 'smptebars', lang: 'fra' },
  { service: 3, name: 'Probe Three', pattern: 'rgbtestsrc', lang: 'deu' },
];

interface ProbeJson {
  programs: {
    programNumber: number;
    pmtPid: number;
    pcrPid?: number;
    serviceName?: string;
    streams: {
      pid: number;
      streamType: number;
      codec: string;
      languages: string[];
      bitrate: number;
    }[];
  }[];
}

function probe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'probe', ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function checkPrograms(t: Test, j: ProbeJson): void {
  t.same(
    j.programs.map((p) => [p.programNumber, p.serviceName]),
    PROGRAMS.map((p) => [p.service, p.name]),
    'every program with its service name',
  );
  for (const [i, p] of j.programs.entries()) {
    t.same(
      p.streams.map((s) => [s.codec, s.languages]),
      [
        ['h264', []],
        ['aac', [PROGRAMS[i].lang]],
      ],
      `program ${p.programNumber}: h264 + aac (${PROGRAMS[i].lang})`,
    );
    t.ok(p.pcrPid !== undefined && p.streams.some((s) => s.pid === p.pcrPid), 'PCR PID listed');
    for (const s of p.streams) t.ok(s.bitrate > 10_000, `pid ${s.pid}: ${s.bitrate} bit/s`);
  }
}

t.test('probe an MPTS file and the same stream on multicast', async (t) => {
  const dir = tempDir(t);
  const mpts = join(dir, 'mpts.ts');
  const inputs: string[] = [];
  const maps: string[] = [];
  const programs: string[] = [];
  PROGRAMS.forEach((p, i) => {
    inputs.push('-f', 'lavfi', '-i', `${p.pattern}=size=160x90:rate=25`);
    inputs.push('-f', 'lavfi', '-i', `sine=frequency=${440 + 110 * i}:sample_rate=48000`);
    maps.push('-map', `${2 * i}:v`, '-map', `${2 * i + 1}:a`);
    programs.push('-metadata:s:a:' + i, `language=${p.lang}`);
    programs.push(
      '-program',
      `title=${p.name}:program_num=${p.service}:st=${2 * i}:st=${2 * i + 1}`,
    );
  });
  ffmpeg([
    ...inputs,
    ...['-t', '20', ...maps],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'],
    ...['-b:v', '100k', '-c:a', 'aac', '-b:a', '48k'],
    ...programs,
    ...['-f', 'mpegts', mpts],
  ]);

  const file = await probe([mpts, '--json']);
  t.equal(file.code, 0, file.stderr);
  checkPrograms(t, JSON.parse(file.stdout) as ProbeJson);
  const table = await probe([mpts]);
  t.equal(table.code, 0);
  t.match(table.stdout, /3 program\(s\)/);
  for (const p of PROGRAMS) t.match(table.stdout, new RegExp(`program ${p.service}  "${p.name}"`));
  t.match(table.stdout, /0x1b\s+video\s+h264\s+-\s+\d+ kbit\/s/);
  t.match(table.stdout, /0x0f\s+audio\s+aac\s+fra\s+\d+ kbit\/s/);

  const sender = new TsSender(mpts, IN_GROUP, IN_PORT);
  await sender.start();
  t.teardown(() => sender.stop());
  const udp = await probe([
    `udp://@${IN_GROUP}:${IN_PORT}?interface=127.0.0.1`,
    '--seconds',
    '8',
    '--json',
  ]);
  t.equal(udp.code, 0, udp.stderr);
  checkPrograms(t, JSON.parse(udp.stdout) as ProbeJson);
});

t.test('probe exits 1 when nothing arrives', async (t) => {
  const r = await probe(['udp://@239.255.26.10:6610?interface=127.0.0.1', '--seconds', '1']);
  t.equal(r.code, 1);
  t.match(r.stderr, /nothing arrived from udp:\/\/@239\.255\.26\.10:6610.* within 1\.0 s/);
});
