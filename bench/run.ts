// `npm run bench`: throughput of the remuxer (Demux+Remux, VBR and CBR) and of the analyzer on a
// realistic stream, in one process, against a baseline that only touches every packet.
//
//   baseline   read the PID of every 188-byte packet and sum them: the floor of any packet loop
//   remux      Remuxer over the looped ffmpeg clip, VBR and CBR, 7×188-byte and 64 KiB chunks
//   analyzer   Analyzer over the same clip and over the remuxer's CBR output
//
// Prints a table, writes bench/results/bench-<ISO date>.json and bench/results/latest.json, and
// exits 0 whether or not the targets (remux ≥ 1.5 Mpps, analyzer ≥ 2 Mpps) are met.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Analyzer } from '../src/mpegts/analyzer/index.js';
import { Remuxer } from '../src/mpegts/remux/remuxer.js';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { loopClip, makeClip } from './input.js';
import { allocatedPerPacket, canGc, feed, measureMedian, stopObserving } from './measure.js';
import type { Measurement } from './measure.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIN_PACKETS = 1_500_000;
const WARMUP_PACKETS = 300_000;
/** Packets of input for the steady-state allocation runs (fed three times). */
const ALLOC_PACKETS = 600_000;
/** Timed passes per case; the median is reported (a shared 2-core box is noisy). */
const REPS = 3;
const CHUNKS = [7 * TS_PACKET_SIZE, 65536];
const TARGETS = { remux: 1.5e6, analyzer: 2e6 } as const;

interface Row extends Measurement {
  group: 'baseline' | keyof typeof TARGETS;
  vsBaseline: number;
  vsTarget: number | null;
  /**
   * Bytes allocated per packet in steady state (sampling heap profiler, untimed; for stages a
   * process of its own, the instance warmed on two passes first). Includes the harness's chunk
   * views, which the baseline row shows alone.
   */
  allocPerPacket: number;
  /** Where a stage's steady-state allocation comes from (function, bytes per packet). */
  allocTop?: { site: string; bytesPerPacket: number }[];
}

/** The floor: one read of each packet's PID, summed so the loop cannot be optimized away. */
function baselinePass(data: Uint8Array, chunk: number): number {
  let sum = 0;
  let pos = 0;
  feed(data, chunk, (c) => {
    const first = (TS_PACKET_SIZE - (pos % TS_PACKET_SIZE)) % TS_PACKET_SIZE;
    for (let o = first; o + 3 <= c.length; o += TS_PACKET_SIZE)
      sum += ((c[o + 1] & 0x1f) << 8) | c[o + 2];
    pos += c.length;
  });
  return sum;
}

function remuxPass(data: Uint8Array, chunk: number, cbrBitrate?: number): Remuxer {
  let bytesOut = 0;
  const r = new Remuxer(cbrBitrate ? { cbrBitrate } : {}, (p) => {
    bytesOut += p.length;
  });
  feed(
    data,
    chunk,
    (c) => r.push(c),
    () => r.end(),
  );
  if (bytesOut === 0) throw new Error('remuxer produced nothing');
  return r;
}

function analyzerPass(data: Uint8Array, chunk: number): Analyzer {
  const a = new Analyzer();
  feed(
    data,
    chunk,
    (c) => a.push(c),
    () => a.end(),
  );
  return a;
}

/** The remuxer's CBR output over `data`, collected (for the analyzer's second input). */
function cbrOutput(data: Uint8Array, cbrBitrate: number, maxPackets: number): Uint8Array {
  const out = new Uint8Array(maxPackets * TS_PACKET_SIZE);
  let used = 0;
  const r = new Remuxer({ cbrBitrate }, (p) => {
    const n = Math.min(p.length, out.length - used);
    out.set(p.subarray(0, n), used);
    used += n;
  });
  feed(
    data,
    65536,
    (c) => r.push(c),
    () => r.end(),
  );
  return out.subarray(0, used - (used % TS_PACKET_SIZE));
}

function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(2) + ' MiB';
}
function pad(s: string, n: number, left = false): string {
  return left ? s.padStart(n) : s.padEnd(n);
}

/** Runs bench/alloc.js on `input` (written to a temp file) in a fresh process. */
function steadyAllocation(
  kind: string,
  chunk: number,
  input: Uint8Array,
  cbr: number,
): { bytesPerPacket: number; top: { site: string; bytesPerPacket: number }[] } {
  const dir = mkdtempSync(join(tmpdir(), 'headend-alloc-'));
  try {
    const file = join(dir, 'input.ts');
    writeFileSync(file, input.subarray(0, Math.min(input.length, ALLOC_PACKETS * TS_PACKET_SIZE)));
    const script = fileURLToPath(new URL('./alloc.js', import.meta.url));
    const r = spawnSync(process.execPath, [script, kind, String(chunk), file, String(cbr)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`alloc ${kind} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const clip = makeClip(ROOT);
  const data = loopClip(clip, MIN_PACKETS);
  const packets = data.length / TS_PACKET_SIZE;
  const warm = data.subarray(0, WARMUP_PACKETS * TS_PACKET_SIZE);
  // A CBR rate that fits: the clip's mean rate plus 40 %, rounded up to 0.5 Mbit/s.
  const cbr = Math.ceil((clip.bitrate * 1.4) / 5e5) * 5e5;
  process.stdout.write(
    `input: ${clip.source}; ${fmt(clip.bitrate / 1e6)} Mbit/s mean, looped to ` +
      `${packets.toLocaleString('en-US')} packets (${mib(data.length)}); CBR case ${cbr / 1e6} Mbit/s\n` +
      `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ` +
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}` +
      `${canGc ? '' : ' (no --expose-gc: retained heap not measured)'}\n`,
  );

  const cbrData = cbrOutput(data, cbr, Math.ceil(packets * 1.6));
  const cbrPackets = cbrData.length / TS_PACKET_SIZE;

  const rows: Row[] = [];
  const baseline = new Map<number, number>();
  for (const chunk of CHUNKS) {
    baselinePass(warm, chunk);
    const m = await measureMedian('baseline: PID sum', chunk, packets, REPS, () =>
      baselinePass(data, chunk),
    );
    const alloc = await allocatedPerPacket(WARMUP_PACKETS, () => baselinePass(warm, chunk));
    baseline.set(chunk, m.pps);
    rows.push({ ...m, group: 'baseline', vsBaseline: 1, vsTarget: null, allocPerPacket: alloc });
  }
  const cases: {
    name: string;
    group: keyof typeof TARGETS;
    input: Uint8Array;
    run: (d: Uint8Array, chunk: number) => unknown;
    /** A long-lived stage, for allocation in steady state (construction excluded). */
    alloc: 'remux-vbr' | 'remux-cbr' | 'analyzer';
  }[] = [
    {
      name: 'remux VBR',
      group: 'remux',
      input: data,
      run: (d, c) => remuxPass(d, c),
      alloc: 'remux-vbr',
    },
    {
      name: `remux CBR ${cbr / 1e6}M`,
      group: 'remux',
      input: data,
      run: (d, c) => remuxPass(d, c, cbr),
      alloc: 'remux-cbr',
    },
    {
      name: 'analyzer (ffmpeg VBR)',
      group: 'analyzer',
      input: data,
      run: analyzerPass,
      alloc: 'analyzer',
    },
    {
      name: 'analyzer (remux CBR)',
      group: 'analyzer',
      input: cbrData,
      run: analyzerPass,
      alloc: 'analyzer',
    },
  ];
  for (const c of cases) {
    for (const chunk of CHUNKS) {
      const head = c.input.subarray(0, WARMUP_PACKETS * TS_PACKET_SIZE);
      c.run(head, chunk);
      const n = c.input.length / TS_PACKET_SIZE;
      const m = await measureMedian(c.name, chunk, n, REPS, () => c.run(c.input, chunk));
      // Steady state, in a process of its own (bench/alloc.ts): JIT state here is shared
      // with every other case and pass, which would measure the harness, not the stage.
      const alloc = steadyAllocation(c.alloc, chunk, c.input, cbr);
      rows.push({
        allocPerPacket: alloc.bytesPerPacket,
        allocTop: alloc.top,
        ...m,
        group: c.group,
        vsBaseline: m.pps / baseline.get(chunk)!,
        vsTarget: m.pps / TARGETS[c.group],
      });
    }
  }
  stopObserving();

  const head =
    pad('name', 24) +
    pad('chunk', 7, true) +
    pad('packets/s', 14, true) +
    pad('Gbit/s', 8, true) +
    pad('vs base', 9, true) +
    pad('vs target', 10, true) +
    pad('spread', 8, true) +
    pad('B/pkt', 7, true) +
    pad('heap Δ', 12, true) +
    pad('retained', 12, true) +
    pad('GCs', 6, true) +
    pad('GC ms', 8, true);
  const lines = [head, '-'.repeat(head.length)];
  for (const r of rows) {
    lines.push(
      pad(r.name, 24) +
        pad(String(r.chunk), 7, true) +
        pad(Math.round(r.pps).toLocaleString('en-US'), 14, true) +
        pad(fmt(r.gbps), 8, true) +
        pad(fmt(r.vsBaseline, 3), 9, true) +
        pad(r.vsTarget === null ? '' : fmt(r.vsTarget, 2) + '×', 10, true) +
        pad(`±${Math.round(((r.ppsMax - r.ppsMin) / 2 / r.pps) * 100)}%`, 8, true) +
        pad(fmt(r.allocPerPacket, 1), 7, true) +
        pad(mib(r.heapGrowth), 12, true) +
        pad(canGc ? mib(r.heapRetained) : 'n/a', 12, true) +
        pad(String(r.gcCount), 6, true) +
        pad(fmt(r.gcMs, 1), 8, true),
    );
  }
  const verdicts = (Object.keys(TARGETS) as (keyof typeof TARGETS)[]).map((g) => {
    const worst = Math.min(...rows.filter((r) => r.group === g).map((r) => r.pps));
    const pass = worst >= TARGETS[g];
    return {
      target: g,
      minPps: worst,
      targetPps: TARGETS[g],
      pass,
      line:
        `${pass ? 'PASS' : 'MISS'}  ${g} ≥ ${fmt(TARGETS[g] / 1e6, 1)} Mpps: slowest case ` +
        `${fmt(worst / 1e6, 2)} Mpps (${fmt(worst / TARGETS[g], 2)}× target)`,
    };
  });
  const sites = rows
    .filter((r) => r.allocTop)
    .map(
      (r) =>
        `  ${r.name} @${r.chunk}: ` +
        r.allocTop!.map((x) => `${x.site} ${fmt(x.bytesPerPacket, 2)}`).join(', '),
    );
  process.stdout.write('\n' + lines.join('\n') + '\n\n' + verdicts.map((v) => v.line).join('\n'));
  process.stdout.write(
    '\n\nsteady-state allocation by function (bytes per packet):\n' + sites.join('\n'),
  );
  process.stdout.write(
    `\n\n${packets.toLocaleString('en-US')} packets per pass (analyzer on remux CBR: ` +
      `${cbrPackets.toLocaleString('en-US')}); "vs base" = packets/s ÷ baseline packets/s at ` +
      `the same chunk size; median of ${REPS} passes, spread = (max − min) / 2 / median; ` +
      `B/pkt = bytes allocated per packet in steady state (V8 sampling heap profiler; each stage in a process of its own, one instance warmed on two passes, then sampled; the baseline row is the harness's own chunk views); heap Δ = heapUsed ` +
      `after − before the pass (GC'd before only); retained = after a full GC; GCs/GC ms ` +
      `from PerformanceObserver 'gc' entries during the median pass\n`,
  );

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    exposeGc: canGc,
    loadavg: loadavg(),
    input: { source: clip.source, clipBitrate: clip.bitrate, packets, cbrBitrate: cbr },
    rows: rows.map(({ name, group, chunk, packets: n, seconds, pps, gbps, ...r }) => ({
      name,
      group,
      chunk,
      packets: n,
      seconds,
      pps,
      gbps,
      ppsMin: r.ppsMin,
      ppsMax: r.ppsMax,
      reps: r.reps,
      allocBytesPerPacket: r.allocPerPacket,
      allocTop: r.allocTop,
      vsBaseline: r.vsBaseline,
      vsTarget: r.vsTarget,
      heapGrowth: r.heapGrowth,
      heapRetained: r.heapRetained,
      gcCount: r.gcCount,
      gcMs: r.gcMs,
    })),
    targets: verdicts.map(({ line: _line, ...v }) => v),
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(result, null, 2) + '\n';
  const file = join(dir, `bench-${result.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  process.stdout.write(`wrote ${file} and bench/results/latest.json\n`);
}

await main();
