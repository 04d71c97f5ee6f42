// Shared machinery of the interoperability tests: inputs made by ffmpeg, outputs judged by
// ffprobe, ffmpeg's decoder, our Analyzer and a tiny independent TS reader (PCR and CC), so that
// what the remuxer writes is checked by code nobody here wrote as well as by our own.
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Analyzer } from '../../src/mpegts/analyzer/index.js';
import type { AnalyzerReport } from '../../src/mpegts/analyzer/report.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';

/** A temporary directory removed when the test ends. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'headend-interop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** True when this ffmpeg has the named encoder (`ffmpeg -encoders`). */
export function hasEncoder(name: string): boolean {
  const r = run(FFMPEG, ['-hide_banner', '-encoders']);
  return new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(r.stdout);
}

/** Runs ffmpeg quietly (log level error) and overwriting; throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  if (!existsSync(FFMPEG)) throw new Error(`${FFMPEG} is needed (apt-get install ffmpeg)`);
  const r = run(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** Runs `node dist/src/cli.js ...args`. */
export function cli(args: string[]): Run {
  return run(process.execPath, [CLI, ...args]);
}

export interface ProbeStream {
  index: number;
  /** PID as ffprobe prints it: "0x100". */
  id: string;
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  r_frame_rate?: string;
  duration?: string;
}
export interface ProbeProgram {
  program_num: number;
  pmt_pid: number;
  pcr_pid: number;
  nb_streams: number;
  tags?: Record<string, string>;
  streams: ProbeStream[];
}
export interface Probe {
  streams: ProbeStream[];
  programs: ProbeProgram[];
  format: { duration: string; size: string; bit_rate: string };
}

/** ffprobe of streams, programs and format; `stderr` holds its warnings (-v warning). */
export function probe(file: string): { info: Probe; stderr: string } {
  const r = run(FFPROBE, [
    ...['-v', 'warning', '-of', 'json'],
    ...['-show_streams', '-show_programs', '-show_format', file],
  ]);
  if (r.code !== 0) throw new Error(`ffprobe ${file} failed: ${r.stderr}`);
  return { info: JSON.parse(r.stdout) as Probe, stderr: r.stderr };
}

/** What ffmpeg's decoders say when decoding the whole file (-v error): '' when clean. */
export function decodeErrors(file: string): string {
  const r = run(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return r.stderr + (r.code === 0 ? '' : `exit ${r.code}`);
}

export interface StreamPackets {
  pts: number[];
  dts: number[];
}

/** PTS/DTS (seconds) of every demuxed packet, per stream index, in file order. */
export function packetTimes(file: string): Map<number, StreamPackets> {
  const r = run(FFPROBE, [
    ...['-v', 'error', '-of', 'json'],
    ...['-show_entries', 'packet=stream_index,pts_time,dts_time', file],
  ]);
  if (r.code !== 0) throw new Error(`ffprobe -show_packets ${file} failed: ${r.stderr}`);
  const packets = (
    JSON.parse(r.stdout) as {
      packets: { stream_index: number; pts_time?: string; dts_time?: string }[];
    }
  ).packets;
  const out = new Map<number, StreamPackets>();
  for (const p of packets) {
    let s = out.get(p.stream_index);
    if (!s) out.set(p.stream_index, (s = { pts: [], dts: [] }));
    s.pts.push(p.pts_time === undefined ? NaN : Number(p.pts_time));
    s.dts.push(p.dts_time === undefined ? NaN : Number(p.dts_time));
  }
  return out;
}

/** Our Analyzer over a whole file, in 64 KiB chunks, no arrival times (PCR time base). */
export function analyze(file: string): AnalyzerReport {
  const bytes = readFileSync(file);
  const a = new Analyzer();
  for (let i = 0; i < bytes.length; i += 65536) a.push(bytes.subarray(i, i + 65536));
  a.end();
  return a.report();
}

/** Checks with errors, as 'id name ×n (detail)', for assertion messages. */
export function failedChecks(r: AnalyzerReport, priorities: (1 | 2 | 3)[] = [1, 2]): string[] {
  const groups = { 1: r.tr101290.priority1, 2: r.tr101290.priority2, 3: r.tr101290.priority3 };
  return priorities
    .flatMap((p) => groups[p])
    .filter((c) => c.errors > 0)
    .map((c) => `${c.id} ${c.name} ×${c.errors}${c.detail ? ` (${c.detail})` : ''}`);
}

export interface PcrFacts {
  /** PCR-carrying packets per PID. */
  count: Map<number, number>;
  /** Longest step between consecutive PCRs of one PID, ms (PCR values, not bytes). */
  maxIntervalMs: number;
  /** Steps ≤ 0 (a PCR going backwards or standing still). */
  backwards: number;
  /** Packets carrying discontinuity_indicator = 1. */
  discontinuities: number;
  /** Transport rate from the first to the last PCR of the first PCR PID, bit/s. */
  rateBps: number;
  /** Null packets (PID 0x1FFF). */
  nullPackets: number;
  packets: number;
}

/**
 * Reads PCRs straight from the bytes (ISO/IEC 13818-1 §2.4.3.4-5), independently of src/: the
 * 33-bit base and 9-bit extension, PCR = base × 300 + ext. Every packet must start with 0x47.
 */
export function pcrFacts(bytes: Uint8Array): PcrFacts {
  if (bytes.length % 188 !== 0) throw new Error(`size ${bytes.length} is not a multiple of 188`);
  const last = new Map<number, number>();
  const count = new Map<number, number>();
  let first: { pid: number; pcr: number; i: number } | null = null;
  let lastOfFirst = { pcr: 0, i: 0 };
  let maxStep = 0;
  let backwards = 0;
  let discontinuities = 0;
  let nullPackets = 0;
  const n = bytes.length / 188;
  for (let i = 0; i < n; i++) {
    const o = i * 188;
    if (bytes[o] !== 0x47) throw new Error(`no sync byte at packet ${i}`);
    const pid = ((bytes[o + 1] & 0x1f) << 8) | bytes[o + 2];
    if (pid === 0x1fff) nullPackets++;
    const hasAf = (bytes[o + 3] & 0x20) !== 0 && bytes[o + 4] > 0;
    if (!hasAf) continue;
    if (bytes[o + 5] & 0x80) discontinuities++;
    if ((bytes[o + 5] & 0x10) === 0 || bytes[o + 4] < 7) continue;
    const base =
      bytes[o + 6] * 2 ** 25 +
      bytes[o + 7] * 2 ** 17 +
      bytes[o + 8] * 2 ** 9 +
      bytes[o + 9] * 2 +
      (bytes[o + 10] >> 7);
    const pcr = base * 300 + (((bytes[o + 10] & 1) << 8) | bytes[o + 11]);
    const prev = last.get(pid);
    if (prev !== undefined) {
      const step = pcr - prev;
      if (step <= 0) backwards++;
      else maxStep = Math.max(maxStep, step);
    }
    last.set(pid, pcr);
    count.set(pid, (count.get(pid) ?? 0) + 1);
    if (!first) first = { pid, pcr, i };
    if (pid === first.pid) lastOfFirst = { pcr, i };
  }
  const spanTicks = first ? lastOfFirst.pcr - first.pcr : 0;
  const rateBps =
    first && spanTicks > 0 ? ((lastOfFirst.i - first.i) * 188 * 8 * 27e6) / spanTicks : 0;
  return {
    count,
    maxIntervalMs: maxStep / 27000,
    backwards,
    discontinuities,
    rateBps,
    nullPackets,
    packets: n,
  };
}

/** Duration of one coded frame of a stream, seconds (video: 1/frame rate; audio: samples/rate). */
export function frameSeconds(s: ProbeStream): number {
  if (s.codec_type === 'video') {
    const [num, den] = (s.r_frame_rate ?? '25/1').split('/').map(Number);
    return den / num;
  }
  const samples: Record<string, number> = { aac: 1024, ac3: 1536, eac3: 1536, mp2: 1152 };
  const n = samples[s.codec_name];
  if (n === undefined) throw new Error(`no frame size known for ${s.codec_name}`);
  return n / Number(s.sample_rate);
}

/** Expected content of one remuxed output. */
export interface Expected {
  /** The input it came from (durations, and the stream list when `streams` is not given). */
  input: string;
  /** Codec names in output order (video first); default: those of the input's first program. */
  codecs?: string[];
  /** Service name the output's SDT must carry. */
  serviceName?: string;
  /** [width, height] of the output's video. */
  videoSize?: [number, number];
  /** Skip the per-stream duration comparison (spliced inputs). */
  skipDurations?: boolean;
}

/**
 * The checks every remuxed output must pass: ffprobe silent and agreeing with the Analyzer on the
 * stream list, durations as the input's within one frame, a clean decode, zero TR 101 290
 * priority-1/2 errors, PCR on every PCR PID at least every 40 ms (ours), never backwards, and no
 * discontinuity_indicator (the output timeline never breaks).
 */
export function checkOutput(t: Test, out: string, exp: Expected): Probe {
  const { info, stderr } = probe(out);
  t.equal(stderr, '', 'ffprobe -v warning prints nothing');
  const inInfo = probe(exp.input).info;
  const inStreams = exp.codecs
    ? null
    : inInfo.programs.length > 0
      ? inInfo.programs[0].streams
      : inInfo.streams;
  const codecs = exp.codecs ?? inStreams!.map((s) => s.codec_name);
  t.same(
    info.streams.map((s) => s.codec_name),
    codecs,
    'ffprobe: the output carries exactly the expected streams',
  );
  t.equal(info.programs.length, 1, 'ffprobe: a single program');
  if (exp.serviceName !== undefined)
    t.equal(info.programs[0]?.tags?.service_name, exp.serviceName, 'ffprobe: service name');
  if (exp.videoSize) {
    const v = info.streams.find((s) => s.codec_type === 'video');
    t.same([v?.width, v?.height], exp.videoSize, 'ffprobe: video size of the chosen program');
  }

  if (!exp.skipDurations) {
    const src = exp.codecs
      ? inInfo.streams.filter((s) => exp.codecs!.includes(s.codec_name))
      : inStreams!;
    for (const s of info.streams) {
      const i = src.find((x) => x.codec_name === s.codec_name && x.codec_type === s.codec_type);
      if (!i) {
        t.fail(`no input stream for output ${s.codec_name}`);
        continue;
      }
      const frame = frameSeconds(i);
      t.ok(
        Math.abs(Number(s.duration) - Number(i.duration)) <= frame + 1e-6,
        `${s.codec_name} duration ${s.duration} s within one frame (${frame.toFixed(4)} s) ` +
          `of the input's ${i.duration} s`,
      );
    }
  }

  const report = analyze(out);
  t.same(failedChecks(report), [], 'Analyzer: no priority-1/2 errors');
  t.equal(report.priority1Errors, 0, 'Analyzer: priority-1 errors');
  t.equal(report.priority2Errors, 0, 'Analyzer: priority-2 errors');
  t.equal(report.programs.length, 1, 'Analyzer: one program');
  const aStreams = report.programs[0]?.streams ?? [];
  t.same(
    aStreams.map((s) => [s.pid, s.codec]),
    info.streams.map((s) => [parseInt(s.id, 16), s.codec_name]),
    'Analyzer and ffprobe agree on PIDs and codecs',
  );
  if (exp.serviceName !== undefined)
    t.equal(report.programs[0]?.serviceName, exp.serviceName, 'Analyzer: service name');

  t.equal(decodeErrors(out), '', 'ffmpeg decodes the whole output without an error');

  const pcr = pcrFacts(readFileSync(out));
  t.ok(pcr.count.size > 0, 'the output carries PCRs');
  t.ok(
    pcr.maxIntervalMs <= 40,
    `PCR at least every 40 ms on every PCR PID (longest ${pcr.maxIntervalMs.toFixed(3)} ms)`,
  );
  t.equal(pcr.backwards, 0, 'no PCR steps backwards');
  t.equal(pcr.discontinuities, 0, 'no discontinuity_indicator on the output');
  return info;
}
