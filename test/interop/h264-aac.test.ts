// Interoperability: an ffmpeg-made H.264 + AAC single-program TS through `headend remux`, judged
// by ffprobe, ffmpeg's decoders, our Analyzer and an independent PCR reader (helpers.ts).
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalyzerReport } from '../../src/mpegts/analyzer/report.js';
import { analyze, checkOutput, cli, ffmpeg, pcrFacts, probe, tempDir } from './helpers.js';

const dir = tempDir(t);
const input = join(dir, 'h264-aac.ts');
const NAME = 'Interop H264';

t.before(() => {
  ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000'],
    ...['-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '96k'],
    ...['-metadata', `service_name=${NAME}`, '-metadata', 'service_provider=interop'],
    ...['-f', 'mpegts', input],
  ]);
});

t.test('remux with defaults keeps the streams, durations and the input service name', (t) => {
  const out = join(dir, 'default.ts');
  const r = cli(['remux', input, out]);
  t.equal(r.code, 0, `remux exits 0 (${r.stderr.trim()})`);
  // RemuxOptions.serviceName: "Default: the input's SDT name for the program".
  const info = checkOutput(t, out, { input, serviceName: NAME, videoSize: [320, 240] });
  t.same(
    info.streams.map((s) => s.id),
    ['0x100', '0x110'],
    'output PIDs by kind: video base, audio base+0x10',
  );
  t.end();
});

t.test('--service-name names the output service', (t) => {
  const out = join(dir, 'named.ts');
  const r = cli(['remux', input, out, '--service-name', 'Renamed One']);
  t.equal(r.code, 0, 'remux exits 0');
  checkOutput(t, out, { input, serviceName: 'Renamed One' });
  t.end();
});

t.test('--cbr 2M: constant 2 Mbit/s, null-padded, still clean', (t) => {
  const out = join(dir, 'cbr.ts');
  const r = cli(['remux', input, out, '--cbr', '2M']);
  t.equal(r.code, 0, 'remux exits 0');
  const info = checkOutput(t, out, { input });
  const size = statSync(out).size;
  const measured = (size * 8) / Number(info.format.duration);
  t.ok(
    Math.abs(measured / 2e6 - 1) <= 0.01,
    `file size × 8 / duration = ${(measured / 1e6).toFixed(4)} Mbit/s, within 1% of 2`,
  );
  const pcr = pcrFacts(readFileSync(out));
  t.ok(
    Math.abs(pcr.rateBps / 2e6 - 1) <= 0.001,
    `rate between first and last PCR ${(pcr.rateBps / 1e6).toFixed(5)} Mbit/s, within 0.1% of 2`,
  );
  t.ok(pcr.nullPackets > 0, `padded with null packets (${pcr.nullPackets})`);
  t.end();
});

t.test('`headend analyze --json` agrees with the in-process Analyzer and exits 0', (t) => {
  const out = join(dir, 'default.ts');
  const r = cli(['analyze', out, '--json']);
  t.equal(r.code, 0, `analyze exits 0 on a clean output (${r.stderr.trim()})`);
  const line = JSON.parse(r.stdout.trim().split('\n')[0]) as { report: AnalyzerReport };
  const local = analyze(out);
  t.equal(line.report.totals.packets, local.totals.packets, 'same packet count');
  t.same(line.report.programs, local.programs, 'same programs and streams');
  t.equal(line.report.priority1Errors, 0, 'no priority-1 errors');
  t.equal(line.report.priority2Errors, 0, 'no priority-2 errors');
  const { info } = probe(out);
  t.equal(line.report.totals.packets * 188, Number(info.format.size), 'every byte is a packet');
  t.end();
});
