// The multiplex the broadcast-scale benches feed (bench/dvblast.ts, bench/scale.ts): an MPTS
// made once with ffmpeg (cached under bench/results/), and its generator (bench/dvblast-gen.ts)
// started, readied and played.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface MptsSpec {
  /** Cache file name stem: bench/results/<tag>-<seconds>s.m2t. */
  tag: string;
  services: number;
  /** Video bit rate per service (H.264 CBR with filler NALs), e.g. '4.5M'. */
  videoRate: string;
  /** x264 VBV buffer, e.g. '1.8M'. */
  bufsize: string;
  /** Mux rate of the whole multiplex, e.g. '40M'. */
  muxRate: string;
  seconds: number;
}

export interface Mpts {
  file: string;
  /** How it was made, for the report. */
  source: string;
  /** Seconds ffmpeg took, null when it came from the cache. */
  madeSeconds: number | null;
}

/** The MPTS of `spec`, made once and kept under bench/results/. */
export function makeMpts(spec: MptsSpec): Mpts {
  const file = join(ROOT, 'bench', 'results', `${spec.tag}-${spec.seconds}s.m2t`);
  const source =
    `ffmpeg: ${spec.services} services × (H.264 720x576 25 fps ${spec.videoRate}bit/s CBR ` +
    `(nal-hrd=cbr) + MP2 128 kbit/s), -muxrate ${spec.muxRate}, ${spec.seconds} s`;
  if (existsSync(file)) return { file, source, madeSeconds: null };
  const pats = ['testsrc2', 'smptebars', 'testsrc', 'rgbtestsrc', 'smptehdbars', 'mandelbrot'];
  pats.push('pal75bars', 'yuvtestsrc');
  const inputs: string[] = [];
  const maps: string[] = [];
  const programs: string[] = [];
  for (let i = 0; i < spec.services; i++) {
    inputs.push('-f', 'lavfi', '-i', `${pats[i % pats.length]}=size=720x576:rate=25`);
    inputs.push('-f', 'lavfi', '-i', `sine=frequency=${440 + 110 * i}:sample_rate=48000`);
    maps.push('-map', `${2 * i}:v`, '-map', `${2 * i + 1}:a`);
    const st = `st=${2 * i}:st=${2 * i + 1}`;
    programs.push('-program', `program_num=${i + 1}:title=Bench ${i + 1}:${st}`);
  }
  const t0 = Date.now();
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const tmp = `${file}.part`;
  const v = spec.videoRate;
  const r = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y', ...inputs, '-t', String(spec.seconds)],
      ...[...maps, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25'],
      ...['-b:v', v, '-minrate', v, '-maxrate', v, '-bufsize', spec.bufsize],
      ...['-x264-params', 'nal-hrd=cbr:force-cfr=1', '-c:a', 'mp2', '-b:a', '128k'],
      ...[...programs, '-muxrate', spec.muxRate, '-f', 'mpegts', tmp],
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  renameSync(tmp, file);
  return { file, source, madeSeconds: (Date.now() - t0) / 1000 };
}

/** What the generator reports after its play. */
export interface GenResult {
  datagrams: number;
  seconds: number;
  bitrate: number;
  lateP50Us: number;
  lateP99Us: number;
  lateMaxUs: number;
}

export interface Generator {
  /** Starts the play (once). */
  go(): void;
  /** The play's figures, when it has ended. */
  done: Promise<GenResult>;
  kill(): void;
}

const GEN = join(ROOT, 'dist', 'bench', 'dvblast-gen.js');

/**
 * Loads `file` into the generator for `dests` (`group:port`, each gets every datagram);
 * resolves when it is ready to play (it has read and timed the whole file).
 */
export async function loadGenerator(file: string, dests: string[]): Promise<Generator> {
  const gen = spawn(process.execPath, [GEN, file, dests.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    gen.stdout!.on('data', (b: Buffer) => {
      out += String(b);
      if (out.startsWith('ready\n')) resolve();
    });
    gen.once('exit', (c) => reject(new Error(`generator exited ${c} before it was ready`)));
  });
  const done = new Promise<GenResult>((resolve, reject) =>
    gen.once('exit', (c) =>
      c === 0
        ? resolve(JSON.parse(out.slice('ready\n'.length)) as GenResult)
        : reject(new Error(`generator exited ${c}`)),
    ),
  );
  done.catch(() => undefined); // read by the caller; a kill before the end is not an error here
  await ready;
  return {
    go: () => gen.stdin!.end('go\n'),
    done,
    kill: () => {
      if (gen.exitCode === null) gen.kill('SIGKILL');
    },
  };
}
