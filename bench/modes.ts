// The pacing modes (headend.pacing.mode: balanced, sleep, spin) on the example channels.yaml,
// the small hotel the README's first command starts: 4 channels of 1-1.5 Mbit/s from ffmpeg
// test sources. Run inside the private namespace (it sends multicast on lo):
//
//   bash scripts/in-netns.sh node dist/bench/modes.js [--seconds 20] [--floor-seconds 3]
//                                                      [--modes balanced,spin,sleep]
//
// For each mode, one after another: the machine floor (bench/floor.ts: a spinning thread's
// gaps off the CPU, and how late a sleeping thread with the pacer's timer slack wakes), then
// `headend run` on the example with `pacing: { mode }` (http and rtsp off), WARMUP seconds for
// ffmpeg and the first keyframes, then `--seconds` measured: CPU of the daemon (user+sys from
// /proc, % of one core; its main thread and the pacing thread apart, the pacing thread found by
// the tid the daemon logs as pacer-thread; ffmpeg's sources are other processes, not counted),
// and its outputs as captured on the wire by one tcpdump for the whole run (bench/pcap.ts: pcap,
// nanosecond kernel timestamps, analyzed after the capture): per output PCR overall jitter,
// DF, burst, losses and CC errors (bench/wire-figures.ts), reported as the worst output.
// Ratios: each figure against the floor of its own phase. Writes bench/results/modes-latest.json.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ROOT, arg, fmt, hostInfo, writeResult } from './cli.js';
import { describeFloor, measureFloor, type Floor } from './floor.js';
import { startCapture } from './pcap.js';
import { cpuSeconds, pacerThreadTid, peakRssMB, threadCpuSeconds } from './proc-stats.js';
import { figures, worstOf, type OutputFigures } from './wire-figures.js';
import { PACING_MODES, type PacingMode } from '../src/scheduler/pacing-loop.js';

const SECONDS = arg('seconds', 20);
const FLOOR_SECONDS = arg('floor-seconds', 3);
/** `--modes a,b`: only these modes (all three when absent). */
const ONLY = ((i) => (i > 0 ? (process.argv[i + 1] ?? '').split(',') : []))(
  process.argv.indexOf('--modes'),
);
for (const m of ONLY)
  if (!(PACING_MODES as readonly string[]).includes(m))
    throw new Error(`--modes: no pacing mode ${m} (${PACING_MODES.join(', ')})`);
/** Seconds after start left out: ffmpeg sources starting, first keyframes, the queue filling. */
const WARMUP = 6;
const HEADEND_CLI = join(ROOT, 'dist', 'src', 'cli.js');
const EXAMPLE = join(ROOT, 'channels.yaml');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The example with the mode set, http and rtsp off; and its outputs (`group:port`). */
function exampleWith(mode: PacingMode): { yaml: string; outs: string[] } {
  const doc = parseDocument(readFileSync(EXAMPLE, 'utf8'));
  doc.setIn(['headend', 'pacing'], doc.createNode({ mode }));
  doc.setIn(['headend', 'http'], false);
  doc.setIn(['headend', 'rtsp'], false);
  const channels = doc.toJS().channels as { output: string }[];
  const outs = channels.map((c) => c.output.replace(/^(udp|rtp):\/\//, ''));
  return { yaml: doc.toString(), outs };
}

interface ModeResult {
  mode: PacingMode;
  floor: { spin: Floor; sleep: Floor };
  fromMs: number;
  toMs: number;
  outs: string[];
  cpuPercent: number;
  mainThreadPercent: number;
  pacerThreadPercent: number;
  otherThreadsPercent: number;
  peakRssMB: number;
  warnings: string[];
}

/** The pacing thread's tid from the daemon's log (event pacer-thread), once it is there. */
async function pacerTid(log: () => string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const tid = pacerThreadTid(log());
    if (tid !== undefined) return tid;
    await sleep(100);
  }
  throw new Error('the daemon never logged its pacer-thread');
}

async function runMode(dir: string, mode: PacingMode): Promise<ModeResult> {
  const floor = {
    spin: await measureFloor('spin', FLOOR_SECONDS),
    sleep: await measureFloor('sleep', FLOOR_SECONDS),
  };
  const { yaml, outs } = exampleWith(mode);
  const conf = join(dir, `example-${mode}.yaml`);
  writeFileSync(conf, yaml);
  const proc: ChildProcess = spawn(process.execPath, [HEADEND_CLI, 'run', '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  proc.stderr!.on('data', (b: Buffer) => (text += String(b)));
  try {
    const pid = proc.pid!;
    const tid = await pacerTid(() => text);
    await sleep(WARMUP * 1000);
    if (proc.exitCode !== null) throw new Error(`headend exited ${proc.exitCode}: ${text}`);
    const fromMs = Date.now();
    const c0 = cpuSeconds(pid);
    const t0 = threadCpuSeconds(pid);
    const w0 = performance.now();
    await sleep(SECONDS * 1000);
    const secs = (performance.now() - w0) / 1000;
    const c1 = cpuSeconds(pid);
    const t1 = threadCpuSeconds(pid);
    const toMs = Date.now();
    const pct = (a: number, b: number): number => ((b - a) / secs) * 100;
    const threadPct = (id: number): number => pct(t0.get(id) ?? 0, t1.get(id) ?? 0);
    const total = pct(c0, c1);
    const main = threadPct(pid);
    const pacer = threadPct(tid);
    return {
      mode,
      floor,
      fromMs,
      toMs,
      outs,
      cpuPercent: total,
      mainThreadPercent: main,
      pacerThreadPercent: pacer,
      otherThreadsPercent: total - main - pacer,
      peakRssMB: peakRssMB(pid),
      warnings: text
        .split('\n')
        .filter((l) => /"level":"(warn|error)"/.test(l))
        .map((l) => /"event":"([^"]+)"/.exec(l)?.[1] ?? l.slice(0, 80)),
    };
  } finally {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    await sleep(300);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'headend-modes-'));
  // The default first, so that its phase runs on the machine as the bench found it.
  const modes = (
    ['balanced', ...PACING_MODES.filter((m) => m !== 'balanced')] as PacingMode[]
  ).filter((m) => ONLY.length === 0 || ONLY.includes(m));
  const capture = await startCapture(join(dir, 'out.pcap'), exampleWith('balanced').outs);
  const results: ModeResult[] = [];
  let cap: Awaited<ReturnType<typeof capture.stop>>;
  try {
    for (const mode of modes) results.push(await runMode(dir, mode));
  } finally {
    cap = await capture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: OutputFigures[] = [];
  const summary = results.map((r) => {
    const fromNs = (r.fromMs - cap.epochSec * 1000) * 1e6;
    const toNs = (r.toMs - cap.epochSec * 1000) * 1e6;
    const mine = r.outs.map((o, i) =>
      figures(r.mode, 'headend', i + 1, cap.flows.get(o) ?? [], fromNs, toNs),
    );
    rows.push(...mine);
    const worst = worstOf(mine);
    const floorWorstUs = Math.max(r.floor.spin.maxUs, r.floor.sleep.maxUs);
    return {
      mode: r.mode,
      cpuPercent: r.cpuPercent,
      mainThreadPercent: r.mainThreadPercent,
      pacerThreadPercent: r.pacerThreadPercent,
      otherThreadsPercent: r.otherThreadsPercent,
      peakRssMB: r.peakRssMB,
      worst,
      floor: r.floor,
      /** Worst PCR jitter ÷ the worst delay of either floor in the same phase. */
      pcrMaxVsFloor: worst.pcrJitterMaxUs / floorWorstUs,
      /** Worst DF beyond one datagram, ms, against the floor's worst (ms). */
      dfBeyondOneDatagramMs: worst.dfMaxMs - Math.max(...mine.map((m) => m.datagramMs)),
      floorWorstMs: floorWorstUs / 1000,
      warnings: r.warnings,
    };
  });

  console.log(`pacing modes on the example channels.yaml (4 channels), ${SECONDS} s each`);
  console.log(`capture: ${capture.how}, kernel drops ${cap.dropped}`);
  console.log(
    'mode      CPU %  main  pacer other | PCR p50 µs   p99 µs   max µs | DF max ms (dg) | burst | lost CC | floor max ms spin/sleep',
  );
  for (const s of summary) {
    const w = s.worst;
    console.log(
      `${s.mode.padEnd(9)} ${fmt(s.cpuPercent).padStart(5)} ${fmt(s.mainThreadPercent).padStart(5)} ${fmt(s.pacerThreadPercent).padStart(6)} ${fmt(s.otherThreadsPercent).padStart(5)} | ` +
        `${fmt(w.pcrJitterP50Us, 0).padStart(10)} ${fmt(w.pcrJitterP99Us, 0).padStart(8)} ${fmt(w.pcrJitterMaxUs, 0).padStart(8)} | ` +
        `${fmt(w.dfMaxMs, 2).padStart(9)} (${fmt(w.dfDatagrams, 2)}) | ${fmt(w.burstRatio, 2).padStart(5)} | ${String(w.lostPackets).padStart(4)} ${String(w.ccErrors).padStart(2)} | ` +
        `${fmt(s.floor.spin.maxUs / 1000, 2)}/${fmt(s.floor.sleep.maxUs / 1000, 2)}`,
    );
  }
  for (const s of summary) {
    console.log(`  ${s.mode.padEnd(9)} ${describeFloor(s.floor.spin)}`);
    console.log(`  ${''.padEnd(9)} ${describeFloor(s.floor.sleep)}`);
    if (s.warnings.length) console.log(`  ${''.padEnd(9)} warnings: ${s.warnings.join(', ')}`);
  }
  const file = writeResult('modes', {
    date: new Date().toISOString(),
    host: hostInfo(),
    capture: capture.how,
    captureDropped: cap.dropped,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    summary,
    rows,
  });
  console.log(`wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
