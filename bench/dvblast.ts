// headend against DVBlast, the usual open-source MPTS demultiplexer, on the same multiplex in
// the same run. Run inside the private namespace (it sends multicast on lo):
//
//   bash scripts/in-netns.sh node dist/bench/dvblast.js [--seconds 25] [--floor-seconds 5]
//                                                       [--cpu-rounds 3] [--keep 1]
//
// Input: one MPTS made with ffmpeg, 8 services × (H.264 720x576 25 fps, 4.5 Mbit/s CBR with
// filler NALs, + MP2 128 kbit/s), muxed CBR at 40 Mbit/s, `--seconds` long (cached under
// bench/results/). bench/dvblast-gen.ts plays it into 239.255.40.1:5000 at its own PCR pace.
// Phases, one after another, each fed by a fresh play of the file (the same bytes at the same
// times), each after `--floor-seconds` of the machine floor (bench/floor.ts, spin: on a shared
// box the neighbours' load changes from phase to phase, and the floor before each says so):
//   headend      `headend run`, 8 channels, one per service, CBR 5.5 Mbit/s (the service is
//                ~4.9 Mbit/s) → 239.255.41.N
//   headend vbr  the same without `bitrate:` (VBR: the service's own packets and PSI, like
//                DVBlast's output) → 239.255.42.N
//                (`headend` and `headend vbr` in the default pacing mode, balanced)
//   headend spin, headend sleep   CBR with `pacing: { mode: spin }` (the pacing thread spins
//                to every send, no CPU limit) and `mode: sleep` (it never spins: it sleeps to
//                each due time, sending what falls due within 1 ms together) → 239.255.46.N,
//                239.255.47.N
//   dvblast      `dvblast -D 239.255.40.1:5000/udp -c <8 lines: group 1 sid> -U -t 1 -C`
//                (raw UDP, TTL 1, DVB tables like ours; latency/retention at their defaults
//                100/40 ms) → 239.255.43.N
//   both         headend CBR and DVBlast at once on one play of the input → 239.255.44.N and
//                239.255.45.N (each tool's CPU is shared with the other: on 2 cores this shows
//                how each holds up under the other's load)
//   cpu rounds   then `--cpu-rounds` more plays alternating headend CBR and dvblast alone, CPU
//                only (→ 239.255.48.N, 239.255.49.N, not captured): the median of their ratios
// Alone phases are the comparison (on a 2-core box two tools at once mostly measure each
// other); the input is identical, so the figures differ only by the tool.
// Capture: one tcpdump on lo for the whole run, output groups only, pcap with nanosecond
// kernel timestamps (bench/pcap.ts; without root, the SO_TIMESTAMPNS receiver), analyzed after.
// Per output, over the play minus its first WARMUP and last TAIL seconds: PCR overall jitter
// (PCR vs arrival, linear trend removed, the line fitted without the 2 % furthest points; p50,
// p99, max), RFC 4445 DF max (each second's own rate, for both tools: DVBlast's output is VBR)
// and in datagrams (DF ÷ one datagram's duration at the output's mean rate; 1.0 is perfect
// pacing), burst (most bytes in any 10 ms ÷ the mean rate's 10 ms share), datagram sizes,
// packets lost (CC gaps) and CC errors. Per tool: CPU (user+sys from /proc/<pid>/stat over the
// same window, % of one core, and per channel = total/8) and peak RSS (VmHWM). Prints a table; writes bench/results/dvblast-latest.json.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, arg, fmt, hostInfo, writeResult } from './cli.js';
import { PACING, figures, worstOf, type OutputFigures } from './wire-figures.js';
import { cpuSeconds, peakRssMB } from './proc-stats.js';
import { describeFloor, measureFloor, type Floor } from './floor.js';
import { startCapture } from './pcap.js';
import { warningsOf } from './scale-phase.js';
import { loadGenerator, makeMpts, type GenResult, type Mpts } from './mpts-play.js';

const SERVICES = 8;
const SECONDS = arg('seconds', 25);
const FLOOR_SECONDS = arg('floor-seconds', 5);
/**
 * --cpu-rounds N: after the phases, N more plays alternating headend (CBR, default mode) and
 * DVBlast alone, CPU only (no floor, outputs not captured): on a shared box the neighbours'
 * load moves a tool's CPU by a third from one play to the next, and the median of the rounds'
 * ratios is the figure that holds.
 */
const CPU_ROUNDS = arg('cpu-rounds', 3);
/** --keep 1: keep the capture, configs and logs (their directory is printed). */
const KEEP = arg('keep', 0) === 1;
/** Seconds of each play left out of the figures (tools starting, first keyframes). */
const WARMUP = 3;
/** Seconds at the end of each play left out (the tools draining their latency). */
const TAIL = 1;
const CBR_RATE = 5.5e6;
const IN_ADDR = '239.255.40.1:5000';
const HEADEND_CLI = join(ROOT, 'dist', 'src', 'cli.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const groups = (third: number): string[] =>
  Array.from({ length: SERVICES }, (_, i) => `239.255.${third}.${i + 1}:5000`);

// ------------------------------------------------------------------ input

/** The MPTS, made once per length and kept under bench/results/. */
const makeInput = (): Mpts =>
  makeMpts({
    tag: 'dvblast-mpts',
    services: SERVICES,
    videoRate: '4.5M',
    bufsize: '1.8M',
    muxRate: '40M',
    seconds: SECONDS,
  });

// ------------------------------------------------------------------ tools

interface Tool {
  name: HeadendPhase | 'dvblast';
  proc: ChildProcess;
  outs: string[];
  log: string;
}

type HeadendPhase = 'headend' | 'headend vbr' | 'headend spin' | 'headend sleep';

function startHeadend(dir: string, name: HeadendPhase, outs: string[]): Tool {
  const [inGroup, inPort] = IN_ADDR.split(':');
  // headend spin / headend sleep: CBR in those pacing modes; the others in the default.
  const mode = name === 'headend spin' ? 'spin' : name === 'headend sleep' ? 'sleep' : undefined;
  const pacing = mode !== undefined ? `  pacing: { mode: ${mode} }\n` : '';
  const yaml =
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  http: false\n  rtsp: false\n${pacing}channels:\n` +
    outs
      .map(
        (o, i) =>
          `  - number: ${i + 1}\n    name: Bench ${i + 1}\n    output: udp://${o}\n` +
          `    source: { url: "udp://@${inGroup}:${inPort}?interface=127.0.0.1", service: ${i + 1} }\n` +
          (name !== 'headend vbr' ? `    bitrate: ${CBR_RATE}\n` : ''),
      )
      .join('');
  const tag = `${name.replace(' ', '-')}-${outs[0].split('.')[2]}`;
  const conf = join(dir, `${tag}.yaml`);
  writeFileSync(conf, yaml);
  const log = join(dir, `${tag}.log`);
  const proc = spawn(process.execPath, [HEADEND_CLI, 'run', '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const chunks: Buffer[] = [];
  proc.stderr!.on('data', (b: Buffer) => chunks.push(b));
  proc.once('exit', () => writeFileSync(log, Buffer.concat(chunks)));
  return { name, proc, outs, log };
}

function startDvblast(dir: string, outs: string[]): Tool {
  const tag = `dvblast-${outs[0].split('.')[2]}`;
  const conf = join(dir, `${tag}.conf`);
  writeFileSync(conf, outs.map((o, i) => `${o}@127.0.0.1 1 ${i + 1}\n`).join(''));
  const log = join(dir, `${tag}.log`);
  const proc = spawn(
    'dvblast',
    ['-D', `${IN_ADDR}/udp/ifaddr=127.0.0.1`, '-c', conf, '-U', '-t', '1', '-C', '-q'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  proc.stderr!.on('data', (b: Buffer) => chunks.push(b));
  proc.once('exit', () => writeFileSync(log, Buffer.concat(chunks)));
  return { name: 'dvblast', proc, outs, log };
}

interface PhaseResult {
  phase: string;
  /** The machine floor measured just before this phase (nothing else of ours running). */
  floor: Floor | null;
  /** Capture window, ms since the epoch (realtime clock, as the capture's timestamps). */
  fromMs: number;
  toMs: number;
  generator: GenResult;
  tools: {
    name: Tool['name'];
    outs: string[];
    cpuPercent: number;
    cpuPercentPerChannel: number;
    peakRssMB: number;
    warnings: string[];
  }[];
}

/** Starts the tools, plays the input once, and reads each tool's CPU over the window. */
async function runPhase(
  phase: string,
  file: string,
  start: () => Tool[],
  floorSeconds = FLOOR_SECONDS,
): Promise<PhaseResult> {
  const floor = floorSeconds > 0 ? await measureFloor('spin', floorSeconds) : null;
  // The generator loads first (it reads and times the whole file), the tools start once it is
  // ready, and it plays when they have joined: no tool waits for its source long enough to
  // call it failed.
  const gen = await loadGenerator(file, [IN_ADDR]);
  const tools = start();
  try {
    await sleep(1500); // sockets joined, headend's channels waiting for their source
    for (const t of tools) {
      if (t.proc.exitCode !== null) throw new Error(`${t.name} exited ${t.proc.exitCode} at start`);
    }
    const goMs = Date.now();
    gen.go();
    await sleep(WARMUP * 1000);
    const cpu0 = tools.map((t) => cpuSeconds(t.proc.pid!));
    const t0 = performance.now();
    const generator = await gen.done;
    const secs = (performance.now() - t0) / 1000;
    const endMs = Date.now();
    const cpu1 = tools.map((t) => cpuSeconds(t.proc.pid!));
    const rss = tools.map((t) => peakRssMB(t.proc.pid!));
    for (const t of tools) t.proc.kill('SIGTERM');
    await Promise.all(
      tools.map((t) => (t.proc.exitCode !== null ? 0 : new Promise((r) => t.proc.once('exit', r)))),
    );
    await sleep(100);
    return {
      phase,
      floor,
      fromMs: goMs + WARMUP * 1000,
      // Each tool's output trails its input by its latency (headend ~0.4 s, DVBlast 0.1 s):
      // the last second is the tools draining after the input stopped, left out.
      toMs: endMs - TAIL * 1000,
      generator,
      tools: tools.map((t, i) => {
        const pct = ((cpu1[i] - cpu0[i]) / secs) * 100;
        return {
          name: t.name,
          outs: t.outs,
          cpuPercent: pct,
          cpuPercentPerChannel: pct / SERVICES,
          peakRssMB: rss[i],
          warnings: warnings(t),
        };
      }),
    };
  } finally {
    gen.kill();
    for (const t of tools) if (t.proc.exitCode === null) t.proc.kill('SIGKILL');
  }
}

/** headend's warn/error events by name (JSON logs), DVBlast's `warning:`/`error:` lines. */
function warnings(t: Tool): string[] {
  const text = existsSync(t.log) ? readFileSync(t.log, 'utf8') : '';
  return Object.entries(warningsOf(text.split('\n'))).map(([k, n]) => `${k} ×${n}`);
}

// ------------------------------------------------------------------ run

async function main(): Promise<void> {
  if (spawnSync('dvblast', ['-V'], { stdio: 'ignore' }).status !== 0) {
    console.log('dvblast: skipped, DVBlast is not installed (Debian: apt-get install dvblast)');
    writeResult('dvblast', { date: new Date().toISOString(), skipped: 'dvblast not installed' });
    return;
  }
  const input = makeInput();
  console.log(
    input.madeSeconds === null
      ? `input: ${input.file.slice(ROOT.length)} (cached)`
      : `input: made ${input.file.slice(ROOT.length)} in ${fmt(input.madeSeconds)} s`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'headend-dvblast-'));
  const plan = {
    headend: groups(41),
    'headend vbr': groups(42),
    'headend spin': groups(46),
    'headend sleep': groups(47),
    dvblast: groups(43),
    'both: headend': groups(44),
    'both: dvblast': groups(45),
  };
  const capture = await startCapture(join(dir, 'out.pcap'), Object.values(plan).flat());
  const phases: PhaseResult[] = [];
  let cap: Awaited<ReturnType<typeof capture.stop>>;
  try {
    phases.push(
      await runPhase('headend', input.file, () => [startHeadend(dir, 'headend', plan.headend)]),
    );
    phases.push(
      await runPhase('headend vbr', input.file, () => [
        startHeadend(dir, 'headend vbr', plan['headend vbr']),
      ]),
    );
    phases.push(
      await runPhase('headend spin', input.file, () => [
        startHeadend(dir, 'headend spin', plan['headend spin']),
      ]),
    );
    phases.push(
      await runPhase('headend sleep', input.file, () => [
        startHeadend(dir, 'headend sleep', plan['headend sleep']),
      ]),
    );
    phases.push(await runPhase('dvblast', input.file, () => [startDvblast(dir, plan.dvblast)]));
    phases.push(
      await runPhase('both', input.file, () => [
        startHeadend(dir, 'headend', plan['both: headend']),
        startDvblast(dir, plan['both: dvblast']),
      ]),
    );
  } finally {
    cap = await capture.stop();
  }
  const rounds: { headend: number; dvblast: number; ratio: number }[] = [];
  for (let r = 1; r <= CPU_ROUNDS; r++) {
    const cpu = async (name: string, start: () => Tool[]): Promise<number> =>
      (await runPhase(`cpu round ${r} ${name}`, input.file, start, 0)).tools[0].cpuPercent;
    const h = await cpu('headend', () => [startHeadend(dir, 'headend', groups(48))]);
    const d = await cpu('dvblast', () => [startDvblast(dir, groups(49))]);
    rounds.push({ headend: h, dvblast: d, ratio: h / d });
  }
  const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const medianCpuRatio = ratios.length ? ratios[Math.floor(ratios.length / 2)] : NaN;
  if (KEEP) console.log(`kept ${dir} (capture, configs, logs)`);
  else rmSync(dir, { recursive: true, force: true });

  const rows: OutputFigures[] = [];
  for (const ph of phases) {
    const fromNs = (ph.fromMs - cap.epochSec * 1000) * 1e6;
    const toNs = (ph.toMs - cap.epochSec * 1000) * 1e6;
    for (const t of ph.tools) {
      t.outs.forEach((o, i) =>
        rows.push(figures(ph.phase, t.name, i + 1, cap.flows.get(o) ?? [], fromNs, toNs)),
      );
    }
  }
  const sel = (phase: string, tool: string): OutputFigures[] =>
    rows.filter((r) => r.phase === phase && r.tool === tool);
  const summary = phases.flatMap((ph) =>
    ph.tools.map((t) => ({
      phase: ph.phase,
      tool: t.name,
      worst: worstOf(sel(ph.phase, t.name)),
      cpuPercent: t.cpuPercent,
      cpuPercentPerChannel: t.cpuPercentPerChannel,
      peakRssMB: t.peakRssMB,
      warnings: t.warnings,
      generator: ph.generator,
    })),
  );
  // headend ÷ DVBlast, worst output against worst output (below 1: headend better), and per
  // output: on how many services headend is better on every pacing figure.
  const compare = (ours: OutputFigures[], theirs: OutputFigures[], oc: number, tc: number) => {
    const wo = worstOf(ours);
    const wt = worstOf(theirs);
    const ratios = Object.fromEntries(PACING.map((k) => [k, wo[k] / wt[k]]));
    const better = ours.filter((o, i) => PACING.every((k) => o[k] < theirs[i][k])).length;
    const lostFigures = ours.flatMap((o, i) =>
      PACING.filter((k) => !(o[k] < theirs[i][k])).map(
        (k) => `service ${o.service} ${k}: ${fmt(o[k], 2)} vs ${fmt(theirs[i][k], 2)}`,
      ),
    );
    return {
      ratios,
      cpuRatio: oc / tc,
      outputsBetterOnEveryFigure: `${better}/${ours.length}`,
      notBetter: lostFigures,
    };
  };
  const cpuOf = (phase: string, tool: string): number =>
    phases.find((p) => p.phase === phase)!.tools.find((t) => t.name === tool)!.cpuPercent;
  const comparisons = {
    'headend CBR (mode balanced) ÷ dvblast (alone)': compare(
      sel('headend', 'headend'),
      sel('dvblast', 'dvblast'),
      cpuOf('headend', 'headend'),
      cpuOf('dvblast', 'dvblast'),
    ),
    'headend VBR ÷ dvblast (alone)': compare(
      sel('headend vbr', 'headend vbr'),
      sel('dvblast', 'dvblast'),
      cpuOf('headend vbr', 'headend vbr'),
      cpuOf('dvblast', 'dvblast'),
    ),
    'headend CBR, mode spin ÷ dvblast (alone)': compare(
      sel('headend spin', 'headend spin'),
      sel('dvblast', 'dvblast'),
      cpuOf('headend spin', 'headend spin'),
      cpuOf('dvblast', 'dvblast'),
    ),
    'headend CBR, mode sleep ÷ dvblast (alone)': compare(
      sel('headend sleep', 'headend sleep'),
      sel('dvblast', 'dvblast'),
      cpuOf('headend sleep', 'headend sleep'),
      cpuOf('dvblast', 'dvblast'),
    ),
    'headend CBR ÷ dvblast (both at once)': compare(
      sel('both', 'headend'),
      sel('both', 'dvblast'),
      cpuOf('both', 'headend'),
      cpuOf('both', 'dvblast'),
    ),
  };
  const result = {
    date: new Date().toISOString(),
    host: hostInfo(),
    capture: { how: capture.how, droppedByKernel: cap.dropped },
    input: { ...input, file: input.file.slice(ROOT.length) },
    dvblastVersion: spawnSync('dvblast', ['-V'], { encoding: 'utf8' }).stdout.trim(),
    secondsPerPhase: SECONDS - WARMUP - TAIL,
    tailSeconds: TAIL,
    warmupSeconds: WARMUP,
    captureEpochSec: cap.epochSec,
    windows: phases.map((p) => ({ phase: p.phase, fromMs: p.fromMs, toMs: p.toMs })),
    floorBeforeEachPhase: Object.fromEntries(phases.map((p) => [p.phase, p.floor])),
    summary,
    comparisons,
    cpuRounds: { rounds, medianCpuRatio },
    rows,
  };
  writeResult('dvblast', result);

  const f = fmt;
  console.log(
    `dvblast: ${SERVICES} services of a 40 Mbit/s MPTS; each phase ${SECONDS} s, figures over ${SECONDS - WARMUP - TAIL} s (from ${WARMUP} s in); capture: ${capture.how}${cap.dropped ? `, ${cap.dropped} DROPPED` : ''}`,
  );
  console.log(`machine floor, ${FLOOR_SECONDS} s before each phase, nothing of ours running:`);
  for (const ph of phases) console.log(`  ${ph.phase.padEnd(12)} ${describeFloor(ph.floor!)}`);
  console.log(
    'phase        tool         svc  dgrams  Mbit/s  sizes         PCR-OJ p50/p99/max µs   DF med/max ms (max dgrams)  burst  lost  CC',
  );
  for (const r of rows) {
    const sizes = Object.entries(r.sizes)
      .sort((x, y) => y[1] - x[1])
      .map(([s, n]) => (Object.keys(r.sizes).length === 1 ? s : `${s}:${n}`))
      .join(',');
    console.log(
      `${r.phase.padEnd(12)} ${r.tool.padEnd(12)} ${String(r.service).padStart(3)}  ${String(r.datagrams).padStart(6)}  ${f(r.bitrate / 1e6, 2).padStart(6)}  ${sizes.slice(0, 12).padEnd(12)}  ${`${f(r.pcrJitterP50Us, 0)}/${f(r.pcrJitterP99Us, 0)}/${f(r.pcrJitterMaxUs, 0)}`.padStart(20)}  ${`${f(r.dfMedianMs, 2)}/${f(r.dfMaxMs, 2)}`.padStart(13)} (${f(r.dfDatagrams, 2).padStart(6)})  ${f(r.burstRatio, 2).padStart(6)}  ${String(r.lostPackets).padStart(4)}  ${String(r.ccErrors).padStart(2)}`,
    );
  }
  console.log('worst output per tool and phase, CPU over the same window:');
  for (const s of summary) {
    const w = s.worst;
    console.log(
      `  ${s.phase.padEnd(12)} ${s.tool.padEnd(12)} PCR-OJ p50 ${f(w.pcrJitterP50Us, 0)} p99 ${f(w.pcrJitterP99Us, 0)} max ${f(w.pcrJitterMaxUs, 0)} µs, DF median second ${f(w.dfMedianMs, 2)} ms, max ${f(w.dfMaxMs, 2)} ms (${f(w.dfDatagrams, 2)} dgrams), burst ${f(w.burstRatio, 2)}, lost ${w.lostPackets}, CC ${w.ccErrors}; CPU ${f(s.cpuPercent)} % (${f(s.cpuPercentPerChannel, 2)} %/channel), RSS ${f(s.peakRssMB)} MB${s.warnings.length ? `; ${s.warnings.join(', ')}` : ''}`,
    );
  }
  for (const ph of phases) {
    const g = ph.generator;
    console.log(
      `  input (${ph.phase}): ${f(g.bitrate / 1e6, 2)} Mbit/s, sends late p50 ${f(g.lateP50Us, 0)} µs, p99 ${f(g.lateP99Us, 0)} µs, max ${f(g.lateMaxUs / 1000, 2)} ms`,
    );
  }
  console.log(
    `ratios headend ÷ dvblast (worst output vs worst output; < 1: headend better); machine floor max ${f(Math.max(...phases.map((p) => p.floor!.maxUs)) / 1000, 2)} ms:`,
  );
  for (const [label, c] of Object.entries(comparisons)) {
    console.log(
      `  ${label}: PCR-OJ p50 ${f(c.ratios.pcrJitterP50Us, 2)}, p99 ${f(c.ratios.pcrJitterP99Us, 2)}, max ${f(c.ratios.pcrJitterMaxUs, 2)}, DF ${f(c.ratios.dfDatagrams, 2)}, burst ${f(c.ratios.burstRatio, 2)}; CPU ${f(c.cpuRatio, 2)}×; outputs better on every figure ${c.outputsBetterOnEveryFigure}`,
    );
    if (c.notBetter.length) {
      const more = c.notBetter.length > 8 ? `; … ${c.notBetter.length - 8} more in the JSON` : '';
      console.log(`    not better: ${c.notBetter.slice(0, 8).join('; ')}${more}`);
    }
  }
  if (rounds.length) {
    const each = rounds.map((r) => `${f(r.headend)} ÷ ${f(r.dvblast)} = ${f(r.ratio, 2)}×`);
    console.log(
      `CPU rounds, headend CBR (default mode) ÷ dvblast, alone, alternating: ${each.join('; ')}; median ${f(medianCpuRatio, 2)}×`,
    );
  }
  console.log('wrote bench/results/dvblast-latest.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
