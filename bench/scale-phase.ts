// One phase of bench/scale.ts (see there): the floor, then the real daemon on a fresh play of the
// MPTS into its inputs (or DVBlast relaying the same channels, or ffmpeg's UDP pacer on one
// service), with its CPU, peak RSS, worst send lateness (headend_pacer_late_max_seconds scraped
// from /metrics) and warnings; the wire figures come later, from the run's capture.
//
// Inputs: channel i takes service i mod 8 + 1 of group ⌊i/8⌋ mod INPUT_GROUPS. Up to 40
// channels every channel has its own service of its own group, as in production; beyond, the
// groups repeat (channel i + 40 relays what channel i does, to its own output), so that the
// generator, one process, is not the first thing to give out: the daemon still receives each
// group once, and remuxes, paces and sends every channel on its own.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, arg } from './cli.js';
import type { worstOf } from './wire-figures.js';
import { cpuSeconds, peakRssMB } from './proc-stats.js';
import { measureFloor, type Floor } from './floor.js';
import { loadGenerator, type GenResult } from './mpts-play.js';

export const RATE = 4e6;
/**
 * `--realtime N`: the daemon's pacing thread at SCHED_FIFO priority N (0: normal scheduling);
 * absent: the daemon's default (headend.pacing.realtime_priority).
 */
const REALTIME = process.argv.includes('--realtime') ? arg('realtime', 0) : null;
/** --mode spin|balanced|sleep: headend.pacing.mode (absent: the daemon's default). */
const MODE = ((i) => (i > 0 ? (process.argv[i + 1] ?? '') : ''))(process.argv.indexOf('--mode'));
/** `--nice N`: headend.pacing.nice, the pacing thread's nice value (absent: the default, −10). */
const NICE = process.argv.includes('--nice') ? arg('nice', 0) : null;
/**
 * `--cpu-latency N`: headend.pacing.cpu_dma_latency, the PM QoS CPU latency (µs) the daemon holds
 * (root; absent: not held).
 */
const CPU_LATENCY = process.argv.includes('--cpu-latency') ? arg('cpu-latency', 0) : null;
/** `--spin-budget N`: headend.pacing.spin_budget, % of a core (absent: the mode's own). */
const SPIN_BUDGET = process.argv.includes('--spin-budget') ? arg('spin-budget', 0) : null;
/** `--workers N|auto`: headend.pacing.workers (absent: the daemon's default). */
const WORKERS = ((i) => (i > 0 ? (process.argv[i + 1] ?? '') : ''))(
  process.argv.indexOf('--workers'),
);
export const SERVICES = 8;
/** Seconds of each play left out at the start (channels starting) and at the end (draining). */
export const WARMUP = 4;
export const TAIL = 1;
/** The load floor's thread sleeps to a deadline this often (500 wake-ups a second). */
const LOAD_FLOOR_PERIOD_NS = 2_000_000;
const HTTP_PORT = 18180;
const HEADEND_CLI = join(ROOT, 'dist', 'src', 'cli.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Distinct input groups (8 services each) before they repeat. */
export const INPUT_GROUPS = 5;
export const inputOf = (i: number): string =>
  `239.255.50.${(Math.floor(i / SERVICES) % INPUT_GROUPS) + 1}:5000`;
export const serviceOf = (i: number): number => (i % SERVICES) + 1;
/** Phase p's outputs: 239.(100 + p).x.y:5000, 250 to an x. */
export const outputsOf = (phase: number, n: number): string[] =>
  Array.from(
    { length: n },
    (_, i) => `239.${100 + phase}.${Math.floor(i / 250)}.${(i % 250) + 1}:5000`,
  );

export interface Phase {
  label: string;
  kind: 'ours' | 'loaded' | 'ffmpeg' | 'dvblast';
  channels: number;
  outs: string[];
}

export interface PhaseRun {
  label: string;
  floor: Floor;
  /**
   * A thread that sleeps to a deadline every 2 ms, in the bench's process, during the phase's
   * window: how late the OS woke a sleeping thread under the phase's load (the pacer of the
   * default mode sleeps to most sends). Null when not asked for (the ramp).
   */
  loadFloor: Floor | null;
  generator: GenResult | null;
  cpuPercent: number;
  peakRssMB: number;
  lateMaxMs: number;
  /**
   * Of it, the daemon's own share (headend_pacer_late_own_max_seconds): beyond how late the OS
   * woke the pacing thread for the send, from when the burst limit let it leave. NaN for the
   * peers.
   */
  ownLateMaxMs: number;
  /**
   * The most time the OS held the pacing thread off its CPU in the middle of a pass, left out of
   * the own share (headend_pacer_preempted_max_seconds), ms. NaN for the peers.
   */
  preemptedMaxMs: number;
  /**
   * Of the datagrams the daemon sent in the window (headend_channel_datagrams_*_total): the
   * share the burst limit relaxed (rule 3: the pacer could not keep up) and the share it sent
   * in two parts (rule 2). NaN for the peers.
   */
  relaxedShare: number;
  splitShare: number;
  /**
   * The pacing thread's garbage collections in the window (headend_pacer_gc_pauses_total) and
   * the longest, ms (headend_pacer_gc_pause_max_seconds): no send leaves during one. NaN for
   * the peers.
   */
  gcPauses: number;
  gcMaxMs: number;
  /**
   * The largest drift correction of any channel's send line in the window, |ppm|
   * (headend_channel_clock_skew_ppm): the source has no drift, so anything but 0 bends the line
   * the PCR jitter is measured against. NaN for the peers.
   */
  skewMaxPpm: number;
  warnings: Record<string, number>;
  worst: ReturnType<typeof worstOf>;
}

/** headend.pacing as the options say. */
function pacingYaml(): string {
  const keys = [
    ...(REALTIME !== null ? [`realtime_priority: ${REALTIME}`] : []),
    ...(WORKERS !== '' ? [`workers: ${WORKERS}`] : []),
    ...(MODE !== '' ? [`mode: ${MODE}`] : []),
    ...(NICE !== null ? [`nice: ${NICE}`] : []),
    ...(CPU_LATENCY !== null ? [`cpu_dma_latency: ${CPU_LATENCY}`] : []),
    ...(SPIN_BUDGET !== null ? [`spin_budget: ${SPIN_BUDGET}`] : []),
  ];
  return keys.length > 0 ? `  pacing: { ${keys.join(', ')} }\n` : '';
}

/** `headend run` for the phase's channels; http on 127.0.0.1 for /metrics. */
function startHeadend(dir: string, ph: Phase): Tool {
  const yaml =
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n` +
    pacingYaml() +
    `  http: { listen: "127.0.0.1:${HTTP_PORT}" }\nchannels:\n` +
    ph.outs
      .map(
        (o, i) =>
          `  - number: ${i + 1}\n    name: Scale ${i + 1}\n    output: udp://${o}\n` +
          `    source: { url: "udp://@${inputOf(i)}?interface=127.0.0.1", service: ${serviceOf(i)} }\n` +
          `    bitrate: ${RATE}\n`,
      )
      .join('');
  const conf = join(dir, `${ph.label.replace(/ /g, '-')}.yaml`);
  writeFileSync(conf, yaml);
  const proc = spawn(process.execPath, [HEADEND_CLI, 'run', '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log = collect(proc);
  // Kept with the phase's directory (--keep 1): what the daemon said, for a closer look.
  // (A daemon killed after a failed phase may exit once the directory is gone: nothing to keep.)
  proc.once('exit', () => {
    if (existsSync(dir)) writeFileSync(conf.replace(/\.yaml$/, '.log'), log.join('\n'));
  });
  return { proc, log };
}

/**
 * DVBlast relaying the phase's channels (Debian's `dvblast`, as bench/dvblast.ts runs it): one
 * process per input group (DVBlast reads one input), one config line per channel (output,
 * always on, service id), raw UDP (-U), TTL 1.
 */
function startDvblast(dir: string, ph: Phase): Tool[] {
  const byInput = new Map<string, string[]>();
  ph.outs.forEach((o, i) => {
    const lines = byInput.get(inputOf(i)) ?? [];
    lines.push(`${o}@127.0.0.1 1 ${serviceOf(i)}`);
    byInput.set(inputOf(i), lines);
  });
  return [...byInput].map(([input, lines], k) => {
    const conf = join(dir, `${ph.label.replace(/ /g, '-')}-${k}.conf`);
    writeFileSync(conf, lines.join('\n') + '\n');
    const proc = spawn(
      'dvblast',
      ['-D', `${input}/udp/ifaddr=127.0.0.1`, '-c', conf, '-U', '-t', '1', '-C', '-q'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { proc, log: collect(proc) };
  });
}

/** A child's stderr, line by line. */
function collect(proc: ChildProcess): string[] {
  const log: string[] = [];
  let tail = '';
  proc.stderr!.on('data', (b: Buffer) => {
    tail += String(b);
    const lines = tail.split('\n');
    tail = lines.pop()!;
    log.push(...lines);
  });
  return log;
}

interface Tool {
  proc: ChildProcess;
  log: string[];
}

/** Live x264 transcodes at nice 10 (the load of transcoding sources; bench/shallow.ts too). */
export function startTranscodes(): ChildProcess[] {
  return [0, 1].map(() =>
    spawn(
      'nice',
      [
        ...['-n', '10', 'ffmpeg', '-hide_banner', '-nostdin', '-v', 'error', '-re'],
        ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-c:v', 'libx264'],
        ...['-preset', 'veryfast', '-b:v', '3M', '-f', 'null', '-'],
      ],
      { stdio: 'ignore' },
    ),
  );
}

/** The pacing thread's stats period (pacer.ts statsEveryMs): what its gauges cover. */
const STATS_PERIOD_MS = 1000;
const LATE_MAX = 'headend_pacer_late_max_seconds';
const OWN_LATE_MAX = 'headend_pacer_late_own_max_seconds';
const PREEMPTED_MAX = 'headend_pacer_preempted_max_seconds';
const GC_MAX = 'headend_pacer_gc_pause_max_seconds';
const SKEW = 'headend_channel_clock_skew_ppm';

/** The values of a metric's series in a /metrics text (one per pacing thread, or labelled). */
function metricValues(text: string, name: string): number[] {
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) =>
    Number(m[1]),
  );
}
const metricSum = (text: string, name: string): number =>
  metricValues(text, name).reduce((a, b) => a + b, 0);
const metricMax = (text: string, name: string): number => Math.max(0, ...metricValues(text, name));

type PacerFigures = Pick<
  PhaseRun,
  | 'lateMaxMs'
  | 'ownLateMaxMs'
  | 'preemptedMaxMs'
  | 'relaxedShare'
  | 'splitShare'
  | 'gcPauses'
  | 'gcMaxMs'
  | 'skewMaxPpm'
>;
/** A peer's (no pacing thread of ours). */
const NO_PACER: PacerFigures = {
  lateMaxMs: NaN,
  ownLateMaxMs: NaN,
  preemptedMaxMs: NaN,
  relaxedShare: NaN,
  splitShare: NaN,
  gcPauses: NaN,
  gcMaxMs: NaN,
  skewMaxPpm: NaN,
};

/**
 * While `running`: the worst headend_pacer_late_max_seconds, its own share, the OS's preemption
 * within a pass and gc pause (ms),
 * the largest |headend_channel_clock_skew_ppm|, and the datagrams sent, relaxed and sent in two
 * parts and the pacing thread's collections between the first scrape and the last.
 */
async function scrapePacer(running: () => boolean): Promise<PacerFigures> {
  let worst = 0;
  let ownWorst = 0;
  let preemptedWorst = 0;
  let gcWorst = 0;
  let skewWorst = 0;
  let first: number[] | undefined;
  let last: number[] | undefined;
  const names = [
    ...['sent', 'relaxed', 'split'].map((k) => `headend_channel_datagrams_${k}_total`),
    'headend_pacer_gc_pauses_total',
  ];
  // Only these families (?name=): rendering all of /metrics twice a second at 40 channels
  // was ~14 MB a second of garbage on the daemon's main thread, 30-120 times what Prometheus
  // asks of it, and its collections held the pacing thread off the CPUs.
  const query = [LATE_MAX, OWN_LATE_MAX, PREEMPTED_MAX, GC_MAX, SKEW, ...names]
    .map((n) => `name=${n}`)
    .join('&');
  // A gauge holds the pacing thread's last ~1 s period, reported at its end: a period read less
  // than two periods after the window began may have begun before it (a channel start's
  // backlog, 75 ms late at 250 channels, was counted so).
  const countFrom = performance.now() + 2 * STATS_PERIOD_MS + 100;
  while (running()) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${HTTP_PORT}/metrics?${query}`)).text();
      last = names.map((n) => metricSum(text, n));
      first ??= last;
      if (performance.now() < countFrom) continue;
      // One series per pacing thread (labelled `worker` with channel workers).
      worst = Math.max(worst, metricMax(text, LATE_MAX));
      ownWorst = Math.max(ownWorst, metricMax(text, OWN_LATE_MAX));
      preemptedWorst = Math.max(preemptedWorst, metricMax(text, PREEMPTED_MAX));
      gcWorst = Math.max(gcWorst, metricMax(text, GC_MAX));
      for (const v of metricValues(text, SKEW)) skewWorst = Math.max(skewWorst, Math.abs(v));
    } catch {
      // not listening yet, or gone at the end
    } finally {
      await sleep(500);
    }
  }
  const d = (k: number): number => (first && last ? last[k] - first[k] : NaN);
  return {
    lateMaxMs: worst * 1000,
    ownLateMaxMs: ownWorst * 1000,
    preemptedMaxMs: preemptedWorst * 1000,
    relaxedShare: d(1) / d(0),
    splitShare: d(2) / d(0),
    gcPauses: d(3),
    gcMaxMs: gcWorst * 1000,
    skewMaxPpm: skewWorst,
  };
}

/** headend's warn/error events by name (JSON logs), DVBlast's `warning:`/`error:` lines. */
export function warningsOf(lines: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    let k: string | undefined;
    if (/^(warning|error):/.test(line)) k = line.replace(/\d+/g, 'N').slice(0, 60);
    else if (line.startsWith('{')) {
      try {
        const e = JSON.parse(line) as { level?: string; event?: string };
        if (e.level === 'warn' || e.level === 'error') k = `${e.level} ${e.event}`;
      } catch {
        // not a log line
      }
    }
    if (k) counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** Runs one phase; fromMs/toMs: the window its figures cover (ms since the epoch). */
export async function runPhase(
  dir: string,
  file: string,
  ph: Phase,
  floorSeconds: number,
  loadFloorSeconds = 0,
): Promise<{ run: Omit<PhaseRun, 'worst'>; fromMs: number; toMs: number }> {
  const floor = await measureFloor('spin', floorSeconds);
  const underLoad = (): Promise<Floor | null> =>
    loadFloorSeconds > 0
      ? measureFloor('sleep', loadFloorSeconds, LOAD_FLOOR_PERIOD_NS)
      : Promise.resolve(null);
  const load = ph.kind === 'loaded' ? startTranscodes() : [];
  try {
    if (ph.kind === 'ffmpeg') {
      const t0 = Date.now();
      const p = spawn(
        'ffmpeg',
        [
          ...['-hide_banner', '-nostdin', '-v', 'error', '-re', '-i', file, '-map', '0:p:1'],
          ...['-c', 'copy', '-muxrate', '4M', '-f', 'mpegts'],
          `udp://${ph.outs[0]}?pkt_size=1316&localaddr=127.0.0.1&bitrate=4000000&burst_bits=10528`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      await sleep(WARMUP * 1000);
      const loadFloor = underLoad();
      const c0 = cpuSeconds(p.pid!);
      const w0 = performance.now();
      // Its CPU is read while it runs (after its exit /proc has nothing left).
      let c1 = c0;
      let w1 = w0;
      while (p.exitCode === null) {
        try {
          c1 = cpuSeconds(p.pid!);
          w1 = performance.now();
        } catch {
          break; // exited between the check and the read
        }
        await sleep(250);
      }
      await new Promise((r) => (p.exitCode !== null ? r(0) : p.once('exit', r)));
      const secs = (w1 - w0) / 1000;
      return {
        run: {
          label: ph.label,
          floor,
          loadFloor: await loadFloor,
          generator: null,
          cpuPercent: ((c1 - c0) / secs) * 100,
          peakRssMB: NaN,
          ...NO_PACER,
          warnings: {},
        },
        fromMs: t0 + WARMUP * 1000,
        toMs: Date.now() - TAIL * 1000,
      };
    }
    const inputs = [...new Set(ph.outs.map((_, i) => inputOf(i)))];
    const gen = await loadGenerator(file, inputs);
    const ours = ph.kind !== 'dvblast';
    const tools = ours ? [startHeadend(dir, ph)] : startDvblast(dir, ph);
    const cpuNow = (): number => tools.reduce((sum, t) => sum + cpuSeconds(t.proc.pid!), 0);
    try {
      // Joined, channels waiting for their sources (a few ms a channel to start).
      await sleep(2000 + 8 * ph.channels);
      for (const t of tools)
        if (t.proc.exitCode !== null)
          throw new Error(`${ph.label}: exited ${t.proc.exitCode} at start`);
      const goMs = Date.now();
      gen.go();
      await sleep(WARMUP * 1000);
      let running = true;
      const pacer = ours ? scrapePacer(() => running) : Promise.resolve(NO_PACER);
      const loadFloor = underLoad();
      const c0 = cpuNow();
      const w0 = performance.now();
      const generator = await gen.done;
      const secs = (performance.now() - w0) / 1000;
      const cpu = ((cpuNow() - c0) / secs) * 100;
      const rss = tools.reduce((sum, t) => sum + peakRssMB(t.proc.pid!), 0);
      const endMs = Date.now();
      running = false;
      const figures = await pacer;
      for (const t of tools) t.proc.kill('SIGTERM');
      await Promise.all(
        tools.map((t) =>
          t.proc.exitCode !== null ? 0 : new Promise((r) => t.proc.once('exit', r)),
        ),
      );
      return {
        run: {
          label: ph.label,
          floor,
          loadFloor: await loadFloor,
          generator,
          cpuPercent: cpu,
          peakRssMB: rss,
          ...figures,
          warnings: warningsOf(tools.flatMap((t) => t.log)),
        },
        fromMs: goMs + WARMUP * 1000,
        toMs: endMs - TAIL * 1000,
      };
    } finally {
      gen.kill();
      for (const t of tools) if (t.proc.exitCode === null) t.proc.kill('SIGKILL');
    }
  } finally {
    for (const p of load) p.kill('SIGKILL');
  }
}
