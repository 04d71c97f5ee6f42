// Cluster takeover benchmark (issue 14): how long channels are off the wire when their node
// dies, over --kills N SIGKILLs (default 20). Two real headends in network namespaces of their
// own, a three-member etcd and the receivers on the hub namespace (test/helpers/netns-rig.ts),
// all private. Run inside the private namespace:
//
//   bash scripts/in-netns.sh node dist/bench/takeover.js [--kills 20] [--ttl 2] [--channels 2]
//
// Each round: SIGKILL the node that sends channel 1; at the receivers, per channel it sent, the
// gap from the dead node's last datagram to the new node's first, and the time from the kill;
// TS packets lost = the gap × the channel's rate (1 Mbit/s CBR, 7 packets a datagram). Then the
// killed node starts again; it joins and steals nothing (handback: never), so the next round
// kills the other node. Figures: gap and time-from-kill p50/p90/max, and both against the
// lease TTL (the goal: back within 1 s + TTL; its bound: 3 s after the lease ends),
// beside the machine floor measured first in the same run (bench/floor.ts). No peer does
// this job here (DVBlast and ffmpeg have no cluster), so there is no peer row. Prints a table; writes bench/results/takeover-latest.json.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ETCD_URLS,
  makeRig,
  startEtcd,
  startReceivers,
  type Host,
} from '../test/helpers/netns-rig.js';
import { startDaemon, type Daemon } from '../test/e2e/helpers.js';
import { arg, fakeTest, fmt, hostInfo, quantile, writeResult } from './cli.js';
import { describeFloor, measureFloor, type Floor } from './floor.js';

const KILLS = arg('kills', 20);
const TTL_S = arg('ttl', 2);
const CHANNELS = arg('channels', 2);
const RATE = 1_000_000;
const PORT = 5000;
const group = (i: number): string => `239.98.0.${i + 1}`;

const config = (): string =>
  [
    'headend:',
    '  name: Takeover Bench',
    '  interface: eth0',
    '  http: false',
    '  rtsp: false',
    '  cluster:',
    `    etcd: [${ETCD_URLS.join(', ')}]`,
    `    ttl: ${TTL_S}s`,
    '    handback: never',
    'channels:',
    ...Array.from(
      { length: CHANNELS },
      (_, i) =>
        `  - number: ${i + 1}\n    name: Channel ${i + 1}\n    output: udp://${group(i)}:${PORT}\n` +
        `    bitrate: 1M\n    source: { test: { pattern: smpte, resolution: 160x90, rate: 10, bitrate: 150k } }`,
    ),
  ].join('\n') + '\n';

const now = (): number => Number(process.hrtime.bigint());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'takeover-'));
  const { t, teardown } = fakeTest();
  // The machine's floor first (how late a thread that only waits runs here, this run): a
  // takeover is timed by the lease, but its tail moves with what the box lets run.
  const floor: Floor = await measureFloor('spin', 5);
  process.stdout.write(`floor: ${describeFloor(floor)}\n`);
  const rounds: {
    channel: number;
    victim: string;
    killNs: number;
    fromKillMs: number;
    gapMs: number;
    lost: number;
  }[] = [];
  try {
    const rig = await makeRig(t, ['a', 'b']);
    if (!(await startEtcd(t, rig.hub, dir))) throw new Error('etcd did not come up');
    const groups = Array.from({ length: CHANNELS }, (_, i) => group(i));
    const rx = startReceivers(
      t,
      rig.hub,
      join(dir, 'rec'),
      groups.map((g) => `${g}:${PORT}`),
    );
    const byAddress = new Map(rig.nodes.map((n) => [n.address, n]));
    const daemons = new Map<string, Daemon>();
    const start = (n: Host): Daemon => {
      const d = join(dir, n.name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'channels.yaml'), config());
      const daemon = startDaemon(t, { file: join(d, 'channels.yaml') }, undefined, {
        wrap: ['nsenter', '-t', String(n.pid), '-n'],
        args: ['--node', n.name],
      });
      daemons.set(n.name, daemon);
      return daemon;
    };
    for (const n of rig.nodes) start(n);
    for (const d of daemons.values()) await d.waitFor((e) => e.event === 'cluster-joined', 20_000);
    const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (ok()) return true;
        await sleep(20);
      }
      return false;
    };
    if (!(await until(() => groups.every((g) => rx.senderOf(g) !== undefined), 20_000)))
      throw new Error('the channels did not start');
    await sleep(3000);
    for (let k = 0; k < KILLS; k++) {
      const victim = byAddress.get(rx.senderOf(groups[0]!)!)!;
      const mine = groups.filter((g) => rx.senderOf(g) === victim.address);
      const killNs = now();
      daemons.get(victim.name)!.proc.kill('SIGKILL');
      const back = await until(
        () => mine.every((g) => rx.senderOf(g) !== victim.address),
        TTL_S * 1000 + 10_000,
      );
      if (!back) throw new Error(`round ${k + 1}: the channels did not come back`);
      await daemons.get(victim.name)!.exited;
      start(victim);
      await daemons.get(victim.name)!.waitFor((e) => e.event === 'cluster-joined', 20_000);
      await sleep(2500); // the heir's channels settle and store their SI
      for (const g of mine) {
        const c = rx.changes.find((x) => x.group === g && x.at > killNs)!;
        rounds.push({
          channel: groups.indexOf(g) + 1,
          victim: victim.address,
          killNs,
          fromKillMs: (c.at - killNs) / 1e6,
          gapMs: NaN,
          lost: NaN,
        });
      }
      process.stdout.write(`round ${k + 1}/${KILLS}: ${victim.name} killed\n`);
    }
    await rx.stop();
    // Gaps from the recordings: the victim's last datagram before its heir's first.
    for (const r of rounds) {
      const rec = rx.read(group(r.channel - 1));
      const first = rec.findIndex((d) => d.ns > r.killNs && d.from !== r.victim);
      const last = rec
        .slice(0, Math.max(0, first))
        .reverse()
        .find((d) => d.from === r.victim);
      if (first < 0 || !last) continue;
      r.gapMs = (rec[first]!.ns - last.ns) / 1e6;
      r.lost = Math.round((r.gapMs / 1000) * (RATE / (188 * 8)));
    }
  } finally {
    await teardown();
    rmSync(dir, { recursive: true, force: true });
  }
  const gaps = rounds.map((r) => r.gapMs).filter(Number.isFinite);
  const fromKill = rounds.map((r) => r.fromKillMs);
  const lost = rounds.map((r) => r.lost).filter(Number.isFinite);
  const ttlMs = TTL_S * 1000;
  const row = (name: string, v: number[], unit: string, d = 0) =>
    `${name.padEnd(34)} ${fmt(quantile(v, 0.5), d).padStart(8)} ${fmt(quantile(v, 0.9), d).padStart(8)} ${fmt(Math.max(...v), d).padStart(8)} ${unit}`;
  process.stdout.write(
    [
      `takeover over ${KILLS} SIGKILLs, ${rounds.length} channel takeovers; lease TTL ${ttlMs} ms; ` +
        `floor max ${fmt(floor.maxUs / 1000, 2)} ms (p99 ${fmt(floor.p99Us / 1000, 2)} ms)`,
      `${''.padEnd(34)} ${'p50'.padStart(8)} ${'p90'.padStart(8)} ${'max'.padStart(8)}`,
      row('gap at the receivers', gaps, 'ms'),
      row('first datagram after the SIGKILL', fromKill, 'ms'),
      row(
        '  minus the lease TTL',
        fromKill.map((x) => x - ttlMs),
        'ms (goal ≤ 1000, bound ≤ 3000)',
      ),
      row('TS packets lost per takeover', lost, 'packets'),
    ].join('\n') + '\n',
  );
  const file = writeResult('takeover', {
    host: hostInfo(),
    floor,
    kills: KILLS,
    ttlMs,
    channels: CHANNELS,
    gapMs: { p50: quantile(gaps, 0.5), p90: quantile(gaps, 0.9), max: Math.max(...gaps) },
    fromKillMs: {
      p50: quantile(fromKill, 0.5),
      p90: quantile(fromKill, 0.9),
      max: Math.max(...fromKill),
    },
    afterLeaseMs: { p50: quantile(fromKill, 0.5) - ttlMs, max: Math.max(...fromKill) - ttlMs },
    lostPackets: { p50: quantile(lost, 0.5), max: Math.max(...lost) },
    rounds: rounds.map(({ channel, gapMs, fromKillMs, lost: l }) => ({
      channel,
      gapMs,
      fromKillMs,
      lost: l,
    })),
  });
  process.stdout.write(`written ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`takeover bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
