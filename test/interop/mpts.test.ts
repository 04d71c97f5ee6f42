// Interoperability: a 3-program MPTS made by ffmpeg (-program), each program taken out with
// `headend remux --program N`. Programs differ by video size and audio codec, so ffprobe can
// tell that an output carries its own program's streams and nothing of the others.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutput, cli, ffmpeg, pcrFacts, probe, tempDir } from './helpers.js';

const dir = tempDir(t);
const input = join(dir, 'mpts.ts');

const PROGRAMS = [
  { num: 101, title: 'Alpha', src: 'testsrc2', size: [320, 240], tone: 440, audio: 'aac' },
  { num: 102, title: 'Bravo', src: 'smptebars', size: [240, 180], tone: 660, audio: 'mp2' },
  { num: 103, title: 'Charlie', src: 'rgbtestsrc', size: [160, 120], tone: 880, audio: 'ac3' },
] as const;

t.before(() => {
  const args: string[] = [];
  for (const p of PROGRAMS) {
    args.push('-f', 'lavfi', '-i', `${p.src}=size=${p.size[0]}x${p.size[1]}:rate=25`);
    args.push('-f', 'lavfi', '-i', `sine=frequency=${p.tone}:sample_rate=48000`);
  }
  args.push('-t', '5');
  PROGRAMS.forEach((p, i) => {
    args.push('-map', `${2 * i}:v`, '-map', `${2 * i + 1}:a`);
    args.push(`-c:a:${i}`, p.audio);
    args.push('-program', `title=${p.title}:program_num=${p.num}:st=${2 * i}:st=${2 * i + 1}`);
  });
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'mpegts');
  ffmpeg([...args, input]);
});

t.test('the input is the MPTS we meant', (t) => {
  const { info } = probe(input);
  t.same(
    info.programs.map((p) => [p.program_num, p.tags?.service_name, p.nb_streams]),
    PROGRAMS.map((p) => [p.num, p.title, 2]),
    'three programs with their service names',
  );
  t.end();
});

for (const p of PROGRAMS) {
  t.test(`--program ${p.num} (${p.title}) carries only that program`, (t) => {
    const out = join(dir, `p${p.num}.ts`);
    const r = cli(['remux', input, out, '--program', String(p.num)]);
    t.equal(r.code, 0, `remux exits 0 (${r.stderr.trim()})`);
    const info = checkOutput(t, out, {
      input,
      codecs: ['h264', p.audio],
      serviceName: p.title,
      videoSize: [p.size[0], p.size[1]],
    });
    t.equal(info.streams.length, 2, 'two streams, none of the other programs');
    t.equal(info.programs[0]?.program_num, 1, 'output program_number is the default 1');
    t.end();
  });
}

t.test('--program 102 --cbr 2M: 2 Mbit/s within 1%, clean', (t) => {
  const out = join(dir, 'p102-cbr.ts');
  const r = cli(['remux', input, out, '--program', '102', '--cbr', '2M']);
  t.equal(r.code, 0, 'remux exits 0');
  const info = checkOutput(t, out, {
    input,
    codecs: ['h264', 'mp2'],
    serviceName: 'Bravo',
    videoSize: [240, 180],
  });
  const measured = (statSync(out).size * 8) / Number(info.format.duration);
  t.ok(
    Math.abs(measured / 2e6 - 1) <= 0.01,
    `file size × 8 / duration = ${(measured / 1e6).toFixed(4)} Mbit/s, within 1% of 2`,
  );
  const pcr = pcrFacts(readFileSync(out));
  t.ok(
    Math.abs(pcr.rateBps / 2e6 - 1) <= 0.001,
    `rate between first and last PCR ${(pcr.rateBps / 1e6).toFixed(5)} Mbit/s, within 0.1% of 2`,
  );
  t.end();
});

t.test('--program of a program the input lacks is an error, not an empty success', (t) => {
  const out = join(dir, 'p999.ts');
  const r = cli(['remux', input, out, '--program', '999']);
  t.not(r.code, 0, `remux exits non-zero (exit ${r.code}, stdout: ${r.stdout.trim()})`);
  t.match(r.stderr, /999/, 'the message names the missing program');
  t.end();
});
