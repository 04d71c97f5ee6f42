import t from 'tap';
import { Analyzer } from '../../../src/mpegts/analyzer/analyzer.js';
import { formatReport } from '../../../src/mpegts/analyzer/report.js';
import {
  AUDIO_PID,
  PMT_PID,
  RATE_BPS,
  VIDEO_PID,
  analyze,
  buildMux,
  check,
  failing,
} from './helpers.js';

t.test('clean 10-s stream: no errors, no warnings anywhere', async (t) => {
  const m = buildMux({ sdtMs: 500, catMs: 1000 });
  const r = analyze(m.bytes);
  t.same(failing(r), {});
  t.equal(r.priority1Errors, 0);
  t.equal(r.priority2Errors, 0);
  t.equal(r.priority3Errors, 0);
  for (const c of [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3])
    t.equal(c.warnings ?? 0, 0, c.name + ' warnings');
  t.equal(r.totals.packets, 13500);
  t.equal(r.totals.bytes, 13500 * 188);
  t.equal(r.totals.bytesSkipped, 0);
  t.equal(r.totals.timeBase, 'pcr');
  t.ok(Math.abs(r.totals.durationSec - 10) < 1e-6, 'duration from PCR');
  t.ok(Math.abs(r.totals.bitrate - RATE_BPS) < 1, 'bitrate');
  t.equal(r.mdi, undefined, 'no MDI without arrival times');
  t.match(check(r, '2.4').detail, /PID 0x0100 max 0 ns/);
});

t.test('programs, streams, service name and PID table', async (t) => {
  const r = analyze(buildMux({ sdtMs: 500 }).bytes);
  t.same(r.programs, [
    {
      programNumber: 1,
      pmtPid: PMT_PID,
      pcrPid: VIDEO_PID,
      serviceName: 'Chaîne Un',
      providerName: 'Provider',
      streams: [
        { pid: VIDEO_PID, streamType: 0x1b, kind: 'video', codec: 'h264', languages: [] },
        { pid: AUDIO_PID, streamType: 0x0f, kind: 'audio', codec: 'aac', languages: ['eng'] },
      ],
    },
  ]);
  const labels = Object.fromEntries(r.pids.map((p) => [p.pid, p.label]));
  t.same(labels, {
    0: 'PAT',
    0x11: 'SDT/BAT',
    [VIDEO_PID]: 'video h264',
    [AUDIO_PID]: 'audio aac',
    [PMT_PID]: 'PMT',
    0x1fff: 'null',
  });
  const video = r.pids.find((p) => p.pid === VIDEO_PID);
  t.ok(video && video.pcrCount > 300, 'PCRs counted');
  const sum = r.pids.reduce((a, p) => a + p.bitrate, 0);
  t.ok(Math.abs(sum - RATE_BPS) < 1, 'PID bitrates add up');
  t.same(JSON.parse(JSON.stringify(r)), r, 'JSON-serializable');
});

t.test('a stream without SDT is not an SDT error; requiredSi makes it one', async (t) => {
  const b = buildMux({ durationSec: 5 }).bytes;
  t.equal(check(analyze(b), '3.5.a').errors, 0);
  const r = analyze(b, { requiredSi: ['sdt'] });
  // Time starts at the first PCR (t = 0): deadlines at 2 s and 4 s pass within 5 s.
  t.equal(check(r, '3.5.a').errors, 2);
});

t.test('PCR clock across the 2^33 wrap', async (t) => {
  const wrap = 2 ** 33 * 300;
  const r = analyze(buildMux({ pcrBase: wrap - 5 * 27e6 }).bytes);
  t.same(failing(r), {});
  t.ok(Math.abs(r.totals.durationSec - 10) < 1e-6);
});

t.test('report() is usable before end() and formatReport renders every check', async (t) => {
  const a = new Analyzer();
  a.push(buildMux({ durationSec: 2 }).bytes);
  const mid = a.report();
  t.equal(mid.totals.packets, 2700, 'aligned input needs no look-ahead once in sync');
  a.end();
  const r = a.report();
  t.equal(r.totals.packets, 2700);
  const text = formatReport(r);
  for (const c of [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3])
    t.match(text, c.name);
  t.match(text, /Program 1 +PMT 0x1000 +PCR 0x0100/);
  t.match(text, /0x0101 +audio aac/);
});

t.test('a tiny input (one packet) frames at end of input', async (t) => {
  const b = buildMux({ durationSec: 0.01 }).bytes.subarray(0, 188);
  const r = analyze(b);
  t.equal(r.totals.packets, 1);
  t.equal(r.totals.bytesSkipped, 0);
  t.equal(r.totals.timeBase, 'none');
});
