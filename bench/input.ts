// Bench inputs: one realistic clip (ffmpeg H.264 + AAC, ~10 s at ~4 Mbit/s; the bundled
// samples/sample.ts when ffmpeg is missing), looped in memory into one long stream whose clock
// and continuity counters run on across the joins, so that the remuxer and the analyzer see a
// steady stream (no splice every loop) just as they would from a live feed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PCR_MODULUS,
  TS_PACKET_SIZE,
  getPcr,
  getPid,
  hasPayload,
  pcrDelta,
  payloadUnitStart,
  setCc,
  setPcr,
} from '../src/mpegts/packet.js';
import { locatePesTimestamps, readTimestamp, writeTimestamp } from '../src/mpegts/pes.js';

export interface Clip {
  bytes: Uint8Array;
  /** Where it came from, for the report. */
  source: string;
  /** Length of the clip on its own clock, 90 kHz: a loop shifts timestamps by this much. */
  period90: number;
  /** Mean transport rate over the clip, bit/s. */
  bitrate: number;
}

const FFMPEG = '/usr/bin/ffmpeg';

/**
 * Makes the clip with ffmpeg (10 s, 640x360 25 fps H.264 at `videoKbps`, default 3500, + AAC
 * 128k), else the sample. A clip for a CBR channel must fit its mux rate with room for PSI/PCR.
 */
export function makeClip(repoRoot: string, videoKbps = 3500): Clip {
  let bytes: Uint8Array;
  let source: string;
  if (existsSync(FFMPEG)) {
    const dir = mkdtempSync(join(tmpdir(), 'headend-bench-'));
    try {
      const file = join(dir, 'clip.ts');
      const r = spawnSync(
        FFMPEG,
        [
          ...['-hide_banner', '-nostdin', '-v', 'error', '-y'],
          ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25,noise=alls=12:allf=t'],
          ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000'],
          ...['-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
          ...['-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`],
          ...['-g', '50'],
          ...['-c:a', 'aac', '-b:a', '128k', '-f', 'mpegts', file],
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
      bytes = new Uint8Array(readFileSync(file));
      source = `ffmpeg: 10 s 640x360 25 fps H.264 ${videoKbps / 1000} Mbit/s + AAC 128 kbit/s`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const file = join(repoRoot, 'samples', 'sample.ts');
    bytes = new Uint8Array(readFileSync(file));
    source = 'samples/sample.ts';
  }
  bytes = bytes.subarray(0, bytes.length - (bytes.length % TS_PACKET_SIZE));
  return { bytes, source, ...clipTiming(bytes) };
}

/**
 * The clip's period: from the first to one frame past the last PTS of its busiest PES PID
 * (the video), and its mean rate from the PCRs of the first PCR PID.
 */
function clipTiming(b: Uint8Array): { period90: number; bitrate: number } {
  const pts = new Map<number, number[]>();
  let pcrPid = -1;
  let first = { pcr: 0, i: 0 };
  let last = { pcr: 0, i: 0 };
  const n = b.length / TS_PACKET_SIZE;
  for (let i = 0; i < n; i++) {
    const o = i * TS_PACKET_SIZE;
    const pid = getPid(b, o);
    const pcr = getPcr(b, o);
    if (pcr >= 0 && (pcrPid < 0 || pid === pcrPid)) {
      if (pcrPid < 0) first = { pcr, i };
      pcrPid = pid;
      last = { pcr, i };
    }
    const loc = locatePesTimestamps(b, o);
    if (loc === 0) continue;
    let list = pts.get(pid);
    if (!list) pts.set(pid, (list = []));
    list.push(readTimestamp(b, o + (loc & 0xff)));
  }
  const busiest = [...pts.values()].sort((x, y) => y.length - x.length)[0] ?? [];
  const sorted = [...new Set(busiest)].sort((x, y) => x - y);
  let frame = Infinity;
  for (let i = 1; i < sorted.length; i++) frame = Math.min(frame, sorted[i] - sorted[i - 1]);
  if (sorted.length < 2) throw new Error('bench clip: no PES timestamps');
  const period90 = sorted[sorted.length - 1] - sorted[0] + frame;
  const seconds = (last.pcr - first.pcr) / 27e6;
  const bitrate = seconds > 0 ? ((last.i - first.i) * TS_PACKET_SIZE * 8) / seconds : 0;
  return { period90, bitrate };
}

/**
 * Repeats the clip until at least minPackets packets, shifting PCR/PTS/DTS of the k-th copy by
 * k periods and renumbering continuity counters per PID, so the joins are seamless.
 */
export function loopClip(clip: Clip, minPackets: number): Uint8Array {
  const clipPackets = clip.bytes.length / TS_PACKET_SIZE;
  const copies = Math.ceil(minPackets / clipPackets);
  const out = new Uint8Array(copies * clip.bytes.length);
  const cc = new Int8Array(8192).fill(-1);
  for (let k = 0; k < copies; k++) {
    const base = k * clip.bytes.length;
    out.set(clip.bytes, base);
    const shift90 = k * clip.period90;
    for (let o = base; o < base + clip.bytes.length; o += TS_PACKET_SIZE) {
      const pid = getPid(out, o);
      if (pid === 0x1fff) continue;
      if (k > 0) {
        const pcr = getPcr(out, o);
        if (pcr >= 0) setPcr(out, o, (pcr + shift90 * 300) % PCR_MODULUS);
        if (payloadUnitStart(out, o)) {
          const loc = locatePesTimestamps(out, o);
          if (loc !== 0) {
            const ptsAt = o + (loc & 0xff);
            writeTimestamp(out, ptsAt, readTimestamp(out, ptsAt) + shift90);
            const dts = loc >> 8;
            if (dts !== 0) writeTimestamp(out, o + dts, readTimestamp(out, o + dts) + shift90);
          }
        }
      }
      const next =
        cc[pid] < 0 ? out[o + 3] & 0x0f : hasPayload(out, o) ? (cc[pid] + 1) & 15 : cc[pid];
      setCc(out, o, next);
      cc[pid] = next;
    }
  }
  return out;
}

/**
 * Input time (s from the stream's start) of each `chunk`-byte piece (a datagram's worth, 7×188 by
 * default), from the input's PCRs: when a live source would have delivered it.
 */
export function chunkTimes(ts: Uint8Array, chunk = 7 * TS_PACKET_SIZE): Float64Array {
  const chunks = Math.floor(ts.length / chunk);
  const times = new Float64Array(chunks);
  let pcrPid = -1;
  let first = -1;
  let lastRaw = -1;
  let un = 0;
  const pos: number[] = [];
  const val: number[] = [];
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) {
    const pcr = getPcr(ts, o);
    if (pcr < 0) continue;
    const pid = getPid(ts, o);
    if (pcrPid < 0) pcrPid = pid;
    if (pid !== pcrPid) continue;
    un = lastRaw < 0 ? pcr : un + pcrDelta(pcr, lastRaw);
    lastRaw = pcr;
    if (first < 0) first = un;
    pos.push(o);
    val.push((un - first) / 27e6);
  }
  let k = 0;
  for (let c = 0; c < chunks; c++) {
    const o = c * chunk;
    while (k + 1 < pos.length - 1 && pos[k + 1] <= o) k++;
    const t = val[k] + ((o - pos[k]) * (val[k + 1] - val[k])) / (pos[k + 1] - pos[k]);
    times[c] = Math.max(0, t);
  }
  return times;
}
