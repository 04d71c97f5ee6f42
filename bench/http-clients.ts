// HTTP fan-out benchmark (issue 13): N HTTP MPEG-TS clients and M HLS clients on one 5 Mbit/s
// CBR channel of the real daemon, and what they cost it. Run inside the private namespace:
//
//   bash scripts/in-netns.sh node dist/bench/http-clients.js [--ts 200] [--hls 200]
//                                                            [--seconds 15] [--rounds 2]
//
// One daemon, its channel fed by an ffmpeg-made clip at its own PCR pace (bench/feeder.ts), with
// `hls: true`; its multicast output captured by tcpdump (bench/pcap.ts: pcap with nanosecond
// kernel timestamps, analyzed after the capture ends). Each round has two windows of --seconds:
//   none      no client: the daemon's CPU and RSS, and the output's pacing (the baseline)
//   clients   the N + M clients (bench/http-load.ts, a process of its own at nice 10) started
//             2 s before the window
// --rounds of them alternate, because on a shared VM the baseline alone moves from one window
// to the next by more than the clients move it. During every window a thread of the bench
// sleeps to a deadline every 2 ms (bench/floor.ts 'sleep'): how late it wakes is the machine's
// own delay under that window's load (the load floor), which the daemon's pacing thread, which
// sleeps to most sends, meets too. The spinning floor before the first round is the quiet box's.
// Figures: the daemon's CPU (% of one core) and peak RSS per window; per client, CPU (the
// difference ÷ clients) and memory; what the clients received (each HTTP-TS client's share of
// the channel's bytes; HLS bytes); the output's PCR jitter p99/max, DF max and burst per window.
// The bar, per round: the multicast output no worse with the clients than without by
// more than the machine's floor: DF max and PCR jitter max may grow by at most the load floor's
// max in the clients' window (the quiet floor is printed beside it).
// Prints a table; writes bench/results/http-clients-latest.json.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { startDaemon } from '../test/e2e/helpers.js';
import { ROOT, arg, fakeTest, fmt, hostInfo, writeResult } from './cli.js';
import { Feeder } from './feeder.js';
import { describeFloor, measureFloor, type Floor } from './floor.js';
import { loopClip, makeClip } from './input.js';
import { startCapture } from './pcap.js';
import { cpuSeconds, peakRssMB } from './proc-stats.js';
import { figures, type OutputFigures } from './wire-figures.js';

const TS_CLIENTS = arg('ts', 200);
const HLS_CLIENTS = arg('hls', 200);
const SECONDS = arg('seconds', 15);
const ROUNDS = Math.max(1, arg('rounds', 2));
const RATE = 5e6;
const HOST = '127.0.0.1';
const OUTPUT = '239.255.78.1:5000';
const HTTP_PORT = 18799;
const SRC_PORT = 21950;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The load floor's thread sleeps to a deadline this often (as bench/scale's). */
const LOAD_FLOOR_PERIOD_NS = 2_000_000;

interface Phase {
  name: string;
  round: number;
  clients: boolean;
  /** The sleeping thread's lateness during the window (the load floor). */
  loadFloor: Floor;
  cpuPercent: number;
  rssMB: number;
  fromNs: number;
  toNs: number;
  wire?: OutputFigures;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'http-clients-'));
  const { t, teardown } = fakeTest();
  const clip = makeClip(ROOT, Math.round((RATE * 0.7) / 1000));
  const input = loopClip(
    clip,
    Math.ceil((((2 * SECONDS + 4) * ROUNDS + 40) * clip.bitrate) / 8 / TS_PACKET_SIZE),
  );
  const floor = await measureFloor('spin', 5);
  console.log(`floor: ${describeFloor(floor)}`);
  const config = [
    'headend:',
    '  name: HTTP bench',
    '  rtsp: false',
    `  http: { listen: ${HOST}:${HTTP_PORT}, max_clients: 5000, max_clients_per_channel: 5000, max_clients_per_address: 5000 }`,
    'channels:',
    '  - number: 1',
    '    name: Bench',
    '    slug: bench',
    `    output: udp://${OUTPUT}`,
    '    bitrate: 5M',
    ...(HLS_CLIENTS > 0 ? ['    hls: true'] : []),
    `    source: udp://${HOST}:${SRC_PORT}`,
    '',
  ].join('\n');
  const feeder = new Feeder(input, SRC_PORT, HOST);
  feeder.start();
  const capture = await startCapture(join(dir, 'out.pcap'), [OUTPUT]);
  const d = startDaemon(t, { text: config });
  const pid = d.proc.pid!;
  const phases: Phase[] = [];
  type Load = { ts: number[]; hls: number[]; failed: number; failures: string[] };
  const loads: Load[] = [];
  const t0 = Date.now();
  const nowNs = (): number => (Date.now() - t0) * 1e6;
  try {
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    if (HLS_CLIENTS > 0) await d.waitFor((e) => e.event === 'hls-start', 20_000);
    await sleep(6000); // the output settles, HLS has segments
    const window = async (round: number, clients: boolean): Promise<Phase> => {
      const c0 = cpuSeconds(pid);
      const fromNs = nowNs();
      const loadFloor = measureFloor('sleep', Math.max(1, SECONDS - 1), LOAD_FLOOR_PERIOD_NS);
      await sleep(SECONDS * 1000);
      const toNs = nowNs();
      const cpuPercent = ((cpuSeconds(pid) - c0) / SECONDS) * 100;
      const name = clients ? `${TS_CLIENTS} HTTP-TS + ${HLS_CLIENTS} HLS` : 'none';
      return {
        name: `${round + 1}: ${name}`,
        round,
        clients,
        loadFloor: await loadFloor,
        cpuPercent,
        rssMB: peakRssMB(pid),
        fromNs,
        toNs,
      };
    };
    for (let round = 0; round < ROUNDS; round++) {
      phases.push(await window(round, false));
      const child = spawn(
        'nice',
        [
          '-n',
          '10',
          process.execPath,
          join(ROOT, 'dist/bench/http-load.js'),
          `http://${HOST}:${HTTP_PORT}`,
          'bench',
          String(TS_CLIENTS),
          String(HLS_CLIENTS),
          String(SECONDS + 4),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b));
      const done = new Promise((r) => child.once('exit', r));
      await sleep(2000);
      phases.push(await window(round, true));
      await done;
      loads.push(JSON.parse(out.trim()) as Load);
      await sleep(2000); // the clients' sockets are closed before the next baseline
    }
  } finally {
    await d.stop();
    feeder.stop();
    await teardown();
  }
  const cap = await capture.stop();
  // Wire times are ns since the capture's epoch second; ours since t0: align on wall clock.
  const shift = (t0 - cap.epochSec * 1000) * 1e6;
  const packets = cap.flows.get(OUTPUT) ?? [];
  for (const p of phases)
    p.wire = figures(p.name, 'ours', 1, packets, p.fromNs + shift, p.toNs + shift);
  rmSync(dir, { recursive: true, force: true });

  const clients = TS_CLIENTS + HLS_CLIENTS;
  const expected = (RATE / 8) * (SECONDS + 4);
  const tsShare = loads
    .flatMap((l) => l.ts)
    .map((b) => b / expected)
    .sort((a, b) => a - b);
  const hlsBytes = loads.flatMap((l) => l.hls).sort((a, b) => a - b);
  const rounds = Array.from({ length: ROUNDS }, (_, r) => {
    const none = phases.find((p) => p.round === r && !p.clients)!;
    const busy = phases.find((p) => p.round === r && p.clients)!;
    const worse = {
      pcrJitterMaxMs:
        ((busy.wire?.pcrJitterMaxUs ?? NaN) - (none.wire?.pcrJitterMaxUs ?? NaN)) / 1000,
      dfMaxMs: (busy.wire?.dfMaxMs ?? NaN) - (none.wire?.dfMaxMs ?? NaN),
    };
    const loadFloorMs = busy.loadFloor.maxUs / 1000;
    return {
      round: r + 1,
      cpuPerClientPercent: (busy.cpuPercent - none.cpuPercent) / clients,
      memoryPerClientMB: (busy.rssMB - none.rssMB) / clients,
      pacingWorseBy: worse,
      loadFloorMaxMs: loadFloorMs,
      met: worse.dfMaxMs <= loadFloorMs && worse.pcrJitterMaxMs <= loadFloorMs,
    };
  });
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const result = {
    host: hostInfo(),
    capture: capture.how,
    floorMaxMs: floor.maxUs / 1000,
    phases: phases.map((p) => ({ ...p, wire: p.wire })),
    perClient: {
      cpuPercent: median(rounds.map((r) => r.cpuPerClientPercent)),
      memoryMB: median(rounds.map((r) => r.memoryPerClientMB)),
    },
    received: {
      tsShareMin: tsShare[0] ?? 0,
      tsShareMedian: tsShare[Math.floor(tsShare.length / 2)] ?? 0,
      tsClientsBelow90: tsShare.filter((x) => x < 0.9).length,
      hlsBytesMedian: hlsBytes[Math.floor(hlsBytes.length / 2)] ?? 0,
      failed: loads.reduce((n, l) => n + l.failed, 0),
      failures: loads.flatMap((l) => l.failures),
    },
    rounds,
  };
  console.log(
    'window                           CPU %   RSS MB   PCR-OJ p99/max µs   DF max ms   burst   load floor max ms',
  );
  for (const p of phases)
    console.log(
      `${p.name.padEnd(31)} ${fmt(p.cpuPercent).padStart(6)} ${fmt(p.rssMB).padStart(8)}   ${fmt(p.wire?.pcrJitterP99Us ?? NaN, 0).padStart(7)}/${fmt(p.wire?.pcrJitterMaxUs ?? NaN, 0).padEnd(8)}   ${fmt(p.wire?.dfMaxMs ?? NaN).padStart(8)}   ${fmt(p.wire?.burstRatio ?? NaN, 2).padStart(5)}   ${fmt(p.loadFloor.maxUs / 1000, 2).padStart(8)}`,
    );
  console.log(
    `per client (median of the rounds): ${fmt(result.perClient.cpuPercent, 3)} % of a core, ${fmt(result.perClient.memoryMB, 3)} MB; ` +
      `HTTP-TS clients got ${fmt(result.received.tsShareMin * 100)}-${fmt(result.received.tsShareMedian * 100)} % (min-median) of the channel's bytes, ` +
      `${result.received.tsClientsBelow90} below 90 %; HLS median ${fmt(result.received.hlsBytesMedian / 1e6)} MB; ${result.received.failed} failures`,
  );
  for (const r of rounds)
    console.log(
      `round ${r.round}: with the clients the output's PCR jitter max moved ${fmt(r.pacingWorseBy.pcrJitterMaxMs, 2)} ms and DF max ${fmt(r.pacingWorseBy.dfMaxMs, 2)} ms; ` +
        `the load floor's max ${fmt(r.loadFloorMaxMs, 2)} ms, the quiet floor's ${fmt(result.floorMaxMs, 2)} ms: ` +
        `${r.met ? 'met' : 'NOT met'} (no worse by more than the machine's floor under the same load)`,
    );
  console.log(`wrote ${writeResult('http-clients', result)}`);
}

await main();
