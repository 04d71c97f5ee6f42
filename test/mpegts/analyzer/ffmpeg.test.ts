// Analyzes a file made by the system's ffmpeg and compares with ffprobe and with ffmpeg's own
// continuity check ("Continuity check failed for pid N expected X got Y", printed at debug
// level; the input is piped so ffmpeg reads it once).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analyzer } from '../../../src/mpegts/analyzer/analyzer.js';
import type { AnalyzerReport } from '../../../src/mpegts/analyzer/report.js';

const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';
const have = spawnSync(FFMPEG, ['-version']).status === 0;

function run(b: Uint8Array): AnalyzerReport {
  const a = new Analyzer();
  for (let o = 0; o < b.length; o += 65536) a.push(b.subarray(o, o + 65536));
  a.end();
  return a.report();
}

/** ffmpeg's continuity errors per PID for the bytes b. */
function ffmpegCc(b: Uint8Array): Map<number, number> {
  const p = spawnSync(FFMPEG, ['-hide_banner', '-v', 'debug', '-i', 'pipe:0', '-f', 'null', '-'], {
    input: b,
    maxBuffer: 64 << 20,
  });
  const out = new Map<number, number>();
  for (const m of p.stderr.toString().matchAll(/Continuity check failed for pid (\d+) expected/g))
    out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + 1);
  return out;
}

function ourCc(r: AnalyzerReport): Map<number, number> {
  return new Map(r.pids.filter((p) => p.ccErrors > 0).map((p) => [p.pid, p.ccErrors]));
}

function cut(b: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, at), 0);
  out.set(b.subarray(at + n), at);
  return out;
}

t.test('a file made by ffmpeg', { skip: !have && 'no ffmpeg' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'analyzer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.ts');
  const gen = spawnSync(FFMPEG, [
    ...['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine', '-t', '5', '-c:v', 'libx264', '-c:a', 'aac'],
    ...['-metadata', 'service_name=Test One', '-f', 'mpegts', file],
  ]);
  t.equal(gen.status, 0, 'ffmpeg ran');
  const bytes = new Uint8Array(readFileSync(file));
  const r = run(bytes);

  t.test('no priority-1 errors and what ffprobe sees', async (t) => {
    t.equal(r.priority1Errors, 0);
    t.equal(r.totals.bytesSkipped, 0);
    t.equal(r.totals.packets * 188, bytes.length);
    const probe = JSON.parse(
      spawnSync(FFPROBE, [
        '-v',
        'error',
        '-show_programs',
        '-show_streams',
        '-of',
        'json',
        file,
      ]).stdout.toString(),
    );
    t.same(
      r.programs.map((p) => ({
        program_num: p.programNumber,
        pmt_pid: p.pmtPid,
        pcr_pid: p.pcrPid,
        service_name: p.serviceName,
        service_provider: p.providerName,
      })),
      probe.programs.map((p: Record<string, any>) => ({
        program_num: p.program_num,
        pmt_pid: p.pmt_pid,
        pcr_pid: p.pcr_pid,
        service_name: p.tags?.service_name,
        service_provider: p.tags?.service_provider,
      })),
    );
    t.same(
      r.programs[0].streams.map((s) => ({
        id: '0x' + s.pid.toString(16),
        codec: s.codec,
        kind: s.kind,
      })),
      probe.streams.map((s: Record<string, string>) => ({
        id: s.id,
        codec: s.codec_name,
        kind: s.codec_type,
      })),
    );
    // ffmpeg without -muxrate is VBR and writes a PCR every 80 ms (its default pcr_period
    // here): over TR 101 290's 40 ms, so 2.3a errors and no other priority-2 error.
    const rep = r.tr101290.priority2.find((c) => c.id === '2.3a');
    t.ok((rep?.errors ?? 0) > 0, '2.3a: PCR every 80 ms');
    t.equal(r.priority2Errors, rep?.errors);
    const acc = r.tr101290.priority2.find((c) => c.id === '2.4');
    t.match(acc?.detail, /VBR, not assessed/);
  });

  t.test('cut files: CC errors per PID match ffmpeg', async (t) => {
    // Whole packets (3 at a time) and a cut of 100 bytes inside a packet. For the latter pick
    // a place where the rest of the next packet holds no 0x47, so ffmpeg's resync (first 0x47)
    // and ours (five sync bytes in a row) agree on where packets start again.
    const n = bytes.length / 188;
    let k = Math.floor(n * 0.7);
    while (bytes.subarray((k + 1) * 188 + 100, (k + 2) * 188).includes(0x47)) k++;
    const variants: [string, Uint8Array][] = [
      ['3 packets at 100', cut(bytes, 188 * 100, 188 * 3)],
      [
        '3 packets at 3 places',
        cut(cut(cut(bytes, 188 * 900, 564), 188 * 500, 564), 188 * 200, 564),
      ],
      ['100 bytes inside a packet', cut(bytes, k * 188 + 50, 100)],
      ['both', cut(cut(bytes, k * 188 + 50, 100), 188 * 300, 564)],
    ];
    for (const [name, b] of variants) {
      const ours = run(b);
      const theirs = ffmpegCc(b);
      t.same([...ourCc(ours)].sort(), [...theirs].sort(), name);
      t.ok(theirs.size > 0, name + ': ffmpeg saw errors');
      t.equal(
        ours.tr101290.priority1.find((c) => c.id === '1.4')?.errors,
        [...theirs.values()].reduce((a, x) => a + x, 0),
      );
    }
    const inside = run(variants[2][1]);
    t.equal(inside.tr101290.priority1.find((c) => c.id === '1.1')?.errors, 1, 'sync lost once');
    t.equal(inside.totals.bytesSkipped, 88, 'rest of the packet after the cut');
  });

  t.test('with -muxrate (CBR) the PCR accuracy is assessed and clean', async (t) => {
    const cbr = join(dir, 'cbr.ts');
    const g = spawnSync(FFMPEG, [
      ...['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'libx264', '-c:a', 'aac'],
      ...['-muxrate', '1500k', '-f', 'mpegts', cbr],
    ]);
    t.equal(g.status, 0);
    const rc = run(new Uint8Array(readFileSync(cbr)));
    t.equal(rc.priority1Errors + rc.priority2Errors, 0);
    t.match(rc.tr101290.priority2.find((c) => c.id === '2.4')?.detail, /PID 0x0100 max \d+ ns/);
    t.ok(Math.abs(rc.totals.bitrate - 1.5e6) < 1e4, 'bitrate ' + rc.totals.bitrate);
  });
});

/** Largest PCR step per PID (ms), read straight from the packets (aligned file, no faults). */
function maxPcrGapMs(b: Uint8Array): Map<number, number> {
  const last = new Map<number, number>();
  const max = new Map<number, number>();
  for (let o = 0; o + 188 <= b.length; o += 188) {
    const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
    if ((b[o + 3] & 0x20) === 0 || b[o + 4] < 7 || (b[o + 5] & 0x10) === 0) continue;
    const base = b[o + 6] * 2 ** 25 + b[o + 7] * 2 ** 17 + b[o + 8] * 2 ** 9 + b[o + 9] * 2;
    const pcr = (base + (b[o + 10] >> 7)) * 300 + (((b[o + 10] & 1) << 8) | b[o + 11]);
    const prev = last.get(pid);
    if (prev !== undefined) max.set(pid, Math.max(max.get(pid) ?? 0, (pcr - prev) / 27_000));
    last.set(pid, pcr);
  }
  return max;
}

/** An 8-program MPTS of `seconds`, one video and one audio stream per program. */
export function makeMpts(file: string, seconds: number, extra: string[] = []): number | null {
  const args: string[] = ['-hide_banner', '-v', 'error', '-y'];
  const maps: string[] = [];
  const progs: string[] = [];
  for (let i = 0; i < 8; i++) {
    args.push('-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${seconds}`);
    args.push('-f', 'lavfi', '-i', `sine=frequency=${400 + 100 * i}:duration=${seconds}`);
    maps.push('-map', `${2 * i}:v`, '-map', `${2 * i + 1}:a`);
    progs.push('-program', `program_num=${i + 1}:title=P${i}:st=${2 * i}:st=${2 * i + 1}`);
  }
  const codecs = ['-c:v', 'mpeg2video', '-b:v', '300k', '-c:a', 'mp2', '-b:a', '64k'];
  return spawnSync(FFMPEG, [...args, ...maps, ...codecs, ...progs, ...extra, '-f', 'mpegts', file])
    .status;
}

t.test(
  'an 8-program MPTS by ffmpeg, PCRs ≤ 40.0 ms apart',
  { skip: !have && 'no ffmpeg' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'analyzer-mpts-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'mpts.ts');
    t.equal(makeMpts(file, 10, ['-pcr_period', '40']), 0, 'ffmpeg ran');
    const bytes = new Uint8Array(readFileSync(file));
    const gaps = maxPcrGapMs(bytes);
    t.equal(gaps.size, 8, 'eight PCR PIDs');
    t.ok(
      [...gaps.values()].every((g) => g <= 40),
      'no PCR step over 40.0 ms: ' + [...gaps.values()],
    );
    const r = run(bytes);
    t.equal(r.programs.length, 8);
    const rep = r.tr101290.priority2.find((c) => c.id === '2.3a');
    t.equal(rep?.errors, 0, rep?.detail ?? '');
    t.equal(rep?.warnings ?? 0, 0, 'no warnings either');
    t.equal(r.priority1Errors, 0);
    // Decode margin: ffmpeg (VBR) writes PCR = DTS − muxdelay (0.7 s) on video.
    const d = r.decodeMargin;
    t.equal(d?.streams.length, 16, 'every video and audio stream measured');
    t.equal(d?.errors, 0);
    for (const s of d?.streams ?? []) {
      t.ok(s.count > 0 && s.minMs >= 0 && s.maxMs <= 1000, `${s.label} ${s.minMs}…${s.maxMs} ms`);
      if (s.label.startsWith('video')) t.ok(Math.abs(s.maxMs - 700) < 5, 'video at muxdelay');
    }
  },
);

t.test(
  'ffmpeg -muxdelay 1.5 / 0.05: DTS − PCR over 1 s, late and low',
  { skip: !have && 'no ffmpeg' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'analyzer-md-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const make = (delay: string): AnalyzerReport => {
      const file = join(dir, `md${delay}.ts`);
      const g = spawnSync(FFMPEG, [
        ...['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25'],
        ...['-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'mpeg2video', '-c:a', 'mp2'],
        ...['-muxdelay', delay, '-f', 'mpegts', file],
      ]);
      t.equal(g.status, 0, 'ffmpeg ran');
      return run(new Uint8Array(readFileSync(file)));
    };
    const high = make('1.5').decodeMargin;
    const video = high?.streams.find((s) => s.label.startsWith('video'));
    t.ok(
      video && video.minMs > 1000 && video.overLimit === video.count,
      'every video PES over 1 s',
    );
    t.ok((high?.errors ?? 0) > 0);
    const low = make('0.05').decodeMargin;
    t.ok((low?.warnings ?? 0) > 0, 'low decode margin warnings');
    t.ok(
      low?.streams.every((s) => s.minMs < 100),
      'every stream under 100 ms at its lowest',
    );
  },
);
