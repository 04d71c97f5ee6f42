// Fault loops against the real daemon (issue 9): one daemon, one channel per fault kind, each
// with a test-pattern backup, all recorded at once while their faults repeat:
//   kill     SIGKILL the primary's ffmpeg (test pattern)        → failover, planned return
//   stop     SIGSTOP the primary's ffmpeg (a stall)             → failover, planned return
//   udp      random bytes instead of TS on a native udp:// primary for 3 s
//   http     random bytes instead of TS on an http:// primary read by ffmpeg, for 3 s
//   file     no fault: a looping file source, for its decode margin
// The receiver side is independent of the daemon's code: ffprobe lists the recording's video
// packets with their keyframe flag. Primaries run at 24 fps and backups at 30 (DTS steps 3750
// and 3000 of 90 kHz, exact, neither equal to the remuxer's least step of 40 ms between
// sources), so a splice is a video packet that opens a run of equal steps (±2) after a step that
// differs: each must be a keyframe. Time to keyframe = from the fault (or the
// planned switch) to the arrival of the first video packet after the splice. The audio's
// decode margin (DTS − PCR at arrival) comes from ts-check.ts.
// Shared by test/e2e/fault-loops.test.ts (a few rounds) and bench/faults.ts (20 rounds).

import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import {
  FFPROBE,
  TsSender,
  childPid,
  marker,
  nowNs,
  openRecorder,
  renderClip,
  sleep,
  startDaemon,
  tempDir,
  type Datagram,
  type Daemon,
  type LogEvent,
  type Recorder,
} from './helpers.js';
import { decodeMargins } from '../helpers/ts-check.js';

export type FaultKind = 'kill' | 'stop' | 'udp' | 'http';
export const FAULT_KINDS: FaultKind[] = ['kill', 'stop', 'udp', 'http'];

export interface FaultChannel {
  kind: FaultKind | 'file';
  number: number;
  group: string;
  port: number;
  rec: Recorder;
  /** nowNs() of each fault and of each planned switch (switch-planned), in order. */
  faults: number[];
  returns: number[];
}

export interface SpliceFacts {
  /** Video packets after a DTS step other than the frame step (splices), and how many were keyframes. */
  splices: number;
  nonRapStarts: number;
  /** ms from each fault / planned switch to the first video packet after the next splice. */
  faultToKeyMs: number[];
  returnToKeyMs: number[];
  /** Audio and video DTS − PCR at arrival over the recording, ms. */
  audioMarginMs: { min: number; max: number };
  videoMarginMs: { min: number; max: number };
  /** Each splice: ms into the recording, DTS step into it and after it (90 kHz), keyframe. */
  detail: string[];
}

const BASE_PORT = 6900;

/** An http:// source: the clip at its own pace to each client, random bytes while garbage. */
class HttpTs {
  garbage = false;
  private readonly server: Server;
  port = 0;
  constructor(file: string) {
    const b = readFileSync(file);
    this.server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      const t0 = nowNs();
      let o = 0;
      const pace = 300_000 / 8; // bytes per second of the clip (renderClip: ~300 kbit/s video)
      const timer = setInterval(() => {
        const want = Math.floor((((nowNs() - t0) / 1e9) * (pace + 12_000)) / 1316) * 1316;
        while (o < want) {
          const at = o % (b.length - (b.length % 1316));
          const c = b.subarray(at, at + 1316);
          res.write(this.garbage ? randomBytes(c.length) : c);
          o += 1316;
        }
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
  }
  start(): Promise<void> {
    return new Promise((r) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as { port: number }).port;
        r();
      }),
    );
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Starts the daemon with one channel per kind; returns what the rounds need. */
export async function startFaultRig(t: Test): Promise<{
  d: Daemon;
  channels: FaultChannel[];
  markers: Record<string, string>;
  udp: TsSender;
  http: HttpTs;
}> {
  const dir = tempDir(t);
  const clip = join(dir, 'clip.ts');
  renderClip(clip, 20, { rate: 24 });
  const udp = new TsSender(clip, '239.255.69.9', BASE_PORT + 90);
  await udp.start();
  t.teardown(() => udp.stop());
  const http = new HttpTs(clip);
  await http.start();
  t.teardown(() => http.stop());
  const m = { kill: marker('fkill'), stop: marker('fstop') };
  const back = (n: number) =>
    `    backup:\n      - test: { pattern: smpte, resolution: 320x180, rate: 30, bitrate: 300k, tone: 440, text: back${n} }\n`;
  const pattern = (text: string) =>
    `{ test: { pattern: testsrc2, resolution: 320x180, rate: 24, bitrate: 300k, tone: 1000, text: ${text} } }`;
  const kinds: (FaultKind | 'file')[] = [...FAULT_KINDS, 'file'];
  const primary: Record<string, string> = {
    kill: pattern(m.kill),
    stop: pattern(m.stop),
    udp: `udp://@239.255.69.9:${BASE_PORT + 90}?interface=127.0.0.1`,
    http: `http://127.0.0.1:${http.port}/live.ts`,
    file: clip,
  };
  const text =
    'headend:\n  interface: 127.0.0.1\n  ttl: 1\nchannels:\n' +
    kinds
      .map(
        (k, i) =>
          `  - number: ${i + 1}\n    name: ${k}\n    output: udp://239.255.69.${i + 1}:${BASE_PORT + i}\n` +
          `    stall_timeout: 1s\n    return_after: 3s\n    source: ${primary[k]}\n` +
          (k === 'file' ? '' : back(i + 1)),
      )
      .join('');
  writeFileSync(join(dir, 'channels.yaml'), text);
  const d = startDaemon(t, { file: join(dir, 'channels.yaml') });
  await d.waitFor((e) => e.event === 'ready', 15_000);
  const channels: FaultChannel[] = [];
  for (let i = 0; i < kinds.length; i++) {
    const group = `239.255.69.${i + 1}`;
    channels.push({
      kind: kinds[i],
      number: i + 1,
      group,
      port: BASE_PORT + i,
      rec: await openRecorder(t, group, BASE_PORT + i),
      faults: [],
      returns: [],
    });
  }
  for (const c of channels)
    await d.waitFor(
      (e) => e.event === 'source-up' && e.channel === `${c.number} ${c.kind}`,
      20_000,
    );
  return { d, channels, markers: m, udp, http };
}

/** One round of a channel's fault: inject, wait for the failover, end it, wait for the return. */
export async function faultRound(
  rig: Awaited<ReturnType<typeof startFaultRig>>,
  c: FaultChannel,
): Promise<void> {
  const { d } = rig;
  const name = `${c.number} ${c.kind}`;
  const ev = (n: string) => (e: LogEvent) => e.channel === name && e.event === n;
  const from = d.events.length;
  c.faults.push(nowNs());
  if (c.kind === 'kill' || c.kind === 'stop') {
    const pid = await childPid(rig.markers[c.kind]);
    process.kill(pid, c.kind === 'kill' ? 'SIGKILL' : 'SIGSTOP');
  } else if (c.kind === 'udp') {
    rig.udp.mode = 'garbage';
  } else {
    rig.http.garbage = true;
  }
  await d.waitFor(ev('failover'), 8000, from);
  if (c.kind === 'udp' || c.kind === 'http') {
    await sleep(3000 - (nowNs() - c.faults[c.faults.length - 1]) / 1e6);
    if (c.kind === 'udp') rig.udp.mode = 'ts';
    else rig.http.garbage = false;
  }
  const planned = await d.waitFor(ev('switch-planned'), 30_000, from);
  c.returns.push(planned.atNs);
  await d.waitFor(ev('return-to-primary'), 8000, from);
  await sleep(2500); // the primary plays before the next fault
}

interface ProbePacket {
  dts: number;
  key: boolean;
}

/** The recording's video packets as ffprobe reads them (decode order, 90 kHz, keyframe flag). */
function probeVideo(file: string): ProbePacket[] {
  const r = spawnSync(
    FFPROBE,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=dts,flags',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const out: ProbePacket[] = [];
  for (const line of r.stdout.split('\n')) {
    const [dts, flags] = line.split(',');
    if (dts && dts !== 'N/A') out.push({ dts: Number(dts), key: (flags ?? '').includes('K') });
  }
  return out;
}

/** Arrival (nowNs) of each video PES start with a DTS (else PTS), by that timestamp. */
function arrivals(datagrams: Datagram[]): { ts: number; ns: number }[] {
  const out: { ts: number; ns: number }[] = [];
  let videoPid = -1;
  let pmtPid = -1;
  for (const d of datagrams) {
    const b = d.data;
    for (let o = 0; o + 188 <= b.length; o += 188) {
      const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
      if (!(b[o + 1] & 0x40)) continue;
      const p = o + 4 + (b[o + 3] & 0x20 ? 1 + b[o + 4] : 0);
      if (pid === 0 && pmtPid < 0) pmtPid = ((b[p + 11] & 0x1f) << 8) | b[p + 12];
      else if (pid === pmtPid && videoPid < 0) {
        const s = p + 1 + b[p];
        const info = ((b[s + 10] & 0x0f) << 8) | b[s + 11];
        const e = s + 12 + info;
        if ([0x1b, 0x24, 0x02].includes(b[e])) videoPid = ((b[e + 1] & 0x1f) << 8) | b[e + 2];
      } else if (pid === videoPid && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 1) {
        const flags = b[p + 7] >> 6;
        const at = p + 9 + (flags === 3 ? 5 : 0);
        const ts =
          ((b[at] >> 1) & 7) * 2 ** 30 +
          (b[at + 1] << 22) +
          ((b[at + 2] >> 1) << 15) +
          (b[at + 3] << 7) +
          (b[at + 4] >> 1);
        out.push({ ts, ns: d.ns });
      }
    }
  }
  return out;
}

/** What the recording of one channel says about its splices and margins. */
export function spliceFacts(c: FaultChannel, dir: string): SpliceFacts {
  const file = join(dir, `ch${c.number}.ts`);
  writeFileSync(file, Buffer.concat(c.rec.datagrams.map((d) => d.data)));
  const pkts = probeVideo(file);
  const arr = arrivals(c.rec.datagrams);
  const byTs = new Map<number, number>();
  for (const a of arr) if (!byTs.has(a.ts)) byTs.set(a.ts, a.ns);
  const step = (i: number): number => pkts[i].dts - pkts[i - 1].dts;
  const splices: { ns: number; key: boolean }[] = [];
  const detail: string[] = [];
  const t0 = c.rec.datagrams[0]?.ns ?? 0;
  for (let i = 1; i + 2 < pkts.length; i++) {
    const regular = Math.abs(step(i + 1) - step(i + 2)) <= 2;
    if (!regular || Math.abs(step(i) - step(i + 1)) <= 2) continue;
    const ns = byTs.get(pkts[i].dts % 2 ** 33) ?? NaN;
    splices.push({ ns, key: pkts[i].key });
    detail.push(
      `${((ns - t0) / 1e6).toFixed(0)}ms ${step(i)}→${step(i + 1)}${pkts[i].key ? ' K' : ''}`,
    );
  }
  const after = (t: number): number => {
    const s = splices.find((x) => x.ns >= t && x.ns - t < 10e9);
    return s ? (s.ns - t) / 1e6 : NaN;
  };
  const m = decodeMargins(Buffer.concat(c.rec.datagrams.map((d) => d.data)), 0x100);
  const range = (pid: number) => {
    const l = m.get(pid) ?? [];
    return { min: Math.min(...l), max: Math.max(...l) };
  };
  return {
    splices: splices.length,
    nonRapStarts: splices.filter((s) => !s.key).length,
    faultToKeyMs: c.faults.map(after),
    returnToKeyMs: c.returns.map(after),
    audioMarginMs: range(0x110),
    videoMarginMs: range(0x100),
    detail,
  };
}
