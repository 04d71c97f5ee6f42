// Shallow-buffer switch port: does a flow survive a switch port with little buffer? One stream
// at a time crosses a Linux bridge whose egress port toward the receiver is a tbf at 110 % of
// the stream's 4 Mbit/s with a 32 KiB bucket and a 32 KiB queue (bench/netns.ts builds it):
//
//   snd ── veth ── [mid: bridge, tbf on the port to rcv] ── veth ── rcv
//
// The shaper sits on the bridge's port, not on the sender's interface: there the kernel would
// push back on the sending socket instead of dropping, hiding bursts. A burst longer than the
// bucket plus the queue can absorb is dropped, as a real shallow-buffered switch would.
//
//   ours          one headend channel, 4 Mbit/s CBR: looped ffmpeg clip at its PCR pace →
//                 Remuxer → PacedSink → Pacer/Output (bench/shallow-sender.ts)
//   ffmpeg -re    `ffmpeg -re -i f.ts -c copy -f mpegts udp://G:P?pkt_size=1316`
//   ffmpeg pacer  the same with -muxrate 4M and udp bitrate=4000000&burst_bits=10528
// and each again on a loaded box (`--shallow-loaded 0` leaves that out): two live x264
// transcodes at nice 10 running through the flow, as transcoding sources do in production
// (bench/scale-phase.ts startTranscodes).
//
// Per flow: datagrams sent (the snd namespace's UDP OutDatagrams), received (a receiver in rcv),
// lost and lost %, tbf's own sent/dropped/overlimits counters, and receive-buffer errors in rcv
// (to tell the shaper's drops from the receiver's). Run inside the private namespace:
//
//   bash scripts/in-netns.sh node dist/bench/shallow.js [--shallow-seconds 60]
//
// Prints a table; writes bench/results/shallow-latest.json.
import '../test/helpers/private-network.js'; // first: only inside the private network namespace
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeClip } from './input.js';
import { ROOT, arg, fmt, hostInfo, writeResult } from './cli.js';
import { RCV_ADDR, SND_ADDR, SwitchPort, type ShaperOptions } from './netns.js';
import { startTranscodes } from './scale-phase.js';

const SENDER = fileURLToPath(new URL('./shallow-sender.js', import.meta.url));
const RATE = 4e6;
const PORT = 5000;
const SHAPER: ShaperOptions = { rateBps: 1.1 * RATE, burstBytes: 32 * 1024, limitBytes: 32 * 1024 };

const SECONDS = arg('shallow-seconds', 60);
const LOADED = arg('shallow-loaded', 1) === 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counts the datagrams of one group on r0 until told to stop (a line on stdin). */
const RECEIVER = `
import { createSocket } from 'node:dgram';
const [group, port, iface] = process.argv.slice(1);
let datagrams = 0;
let bytes = 0;
let first = 0n;
let last = 0n;
const s = createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m) => {
  last = process.hrtime.bigint();
  if (datagrams++ === 0) first = last;
  bytes += m.length;
});
s.bind(Number(port), group, () => {
  s.addMembership(group, iface);
  try { s.setRecvBufferSize(8 << 20); } catch {}
  process.stdout.write('ready\\n');
});
process.stdin.once('end', () => process.exit(1)); // the bench went away
process.stdin.once('data', () => {
  process.stdout.write(JSON.stringify({ datagrams, bytes, seconds: Number(last - first) / 1e9 }) + '\\n');
  process.exit(0);
});
`;

interface Row {
  name: string;
  /** Datagrams the snd namespace's UDP stack sent (OutDatagrams delta). */
  sent: number;
  /** The sender's own count where it has one (ours: the channel's stats.sent). */
  senderSent: number | null;
  received: number;
  /** UDP payload rate at the receiver, first to last datagram (how much the port had to carry). */
  receivedMbps: number;
  lost: number;
  lostPercent: number;
  /** tbf on the bridge port: frames sent, dropped, over the rate. */
  shaperSent: number;
  shaperDropped: number;
  shaperOverlimits: number;
  /** Drops at the receiving socket (rcv's UDP RcvbufErrors delta): not the port's doing. */
  rcvbufErrors: number;
  sendErrors: number;
  seconds: number;
}

function lines(p: ChildProcess): AsyncIterator<string> {
  let buf = '';
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (d: string) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) queue.push(buf.slice(0, i));
    wake?.();
  });
  p.stdout!.on('end', () => {
    ended = true;
    wake?.();
  });
  return {
    async next(): Promise<IteratorResult<string>> {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      const value = queue.shift();
      return value === undefined ? { done: true, value: undefined } : { done: false, value };
    },
  };
}

async function exited(p: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (p.exitCode !== null) return p.exitCode;
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return code;
}

/** One flow alone through the port: fresh shaper, receiver up, sender run to its end. */
async function runFlow(
  port: SwitchPort,
  name: string,
  group: string,
  startSender: () => ChildProcess,
): Promise<Row> {
  port.setShaper(SHAPER);
  const rx = port.spawn(
    'rcv',
    process.execPath,
    [...['--input-type=module', '-e', RECEIVER, group, String(PORT), RCV_ADDR]],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const rxLines = lines(rx);
  if ((await rxLines.next()).value !== 'ready') throw new Error(`${name}: receiver failed`);
  const snd0 = port.udp('snd');
  const rcv0 = port.udp('rcv');
  const t0 = performance.now();
  const tx = startSender();
  const txLines = tx.stdout ? lines(tx) : null;
  const code = await exited(tx, (SECONDS + 60) * 1000);
  const seconds = (performance.now() - t0) / 1e3;
  const report = txLines ? (await txLines.next()).value : undefined;
  if (code !== 0) throw new Error(`${name}: sender exited ${code}`);
  await sleep(500); // the shaper's queue drains in < 100 ms
  rx.stdin!.write('stop\n');
  const got = JSON.parse((await rxLines.next()).value ?? 'null') as {
    datagrams: number;
    bytes: number;
    seconds: number;
  } | null;
  await exited(rx, 5000);
  if (!got) throw new Error(`${name}: no count from the receiver`);
  const snd1 = port.udp('snd');
  const rcv1 = port.udp('rcv');
  const q = port.shaperStats();
  const ours = report ? (JSON.parse(report) as { sent: number; sendErrors: number }) : null;
  const sent = snd1.OutDatagrams - snd0.OutDatagrams;
  const lost = Math.max(0, sent - got.datagrams);
  return {
    name,
    sent,
    senderSent: ours ? ours.sent : null,
    received: got.datagrams,
    receivedMbps: got.seconds > 0 ? (got.bytes * 8) / got.seconds / 1e6 : NaN,
    lost,
    lostPercent: sent > 0 ? (lost / sent) * 100 : NaN,
    shaperSent: q.packets,
    shaperDropped: q.dropped,
    shaperOverlimits: q.overlimits,
    rcvbufErrors: rcv1.RcvbufErrors - rcv0.RcvbufErrors,
    sendErrors: (ours?.sendErrors ?? 0) + (snd1.SndbufErrors - snd0.SndbufErrors),
    seconds,
  };
}

async function main(): Promise<void> {
  const clip = makeClip(ROOT, Math.round((RATE * 0.7) / 1000));
  const dir = mkdtempSync(join(tmpdir(), 'headend-shallow-'));
  const clipFile = join(dir, 'clip.ts');
  const clipJson = join(dir, 'clip.json');
  writeFileSync(clipFile, clip.bytes);
  const { source, period90, bitrate } = clip;
  writeFileSync(clipJson, JSON.stringify({ source, period90, bitrate }));
  const ffmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

  // Torn down on every way out: normal end, error, exit, Ctrl-C, kill.
  let port: SwitchPort | null = null;
  const cleanup = (): void => {
    port?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  const rows: Row[] = [];
  try {
    const sw = (port = await SwitchPort.create(SHAPER));
    // Our own namespace must still hold nothing but lo: every veth lives in the children.
    const mine = Object.keys(networkInterfaces()).filter((n) => n !== 'lo');
    if (mine.length) throw new Error(`interfaces leaked into our namespace: ${mine.join(', ')}`);
    const ff = (group: string, opts: string, extra: string[]) => (): ChildProcess =>
      sw.spawn(
        'snd',
        'ffmpeg',
        [
          ...['-hide_banner', '-nostdin', '-v', 'error', '-re', '-stream_loop', '-1'],
          ...['-i', clipFile, '-t', String(SECONDS), '-c', 'copy', ...extra, '-f', 'mpegts'],
          `udp://${group}:${PORT}?pkt_size=1316&localaddr=${SND_ADDR}${opts}`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
    const flows: [string, string, () => ChildProcess][] = [
      [
        'ours (4M CBR)',
        '239.255.20.1',
        () =>
          sw.spawn(
            'snd',
            process.execPath,
            [SENDER, clipFile, clipJson, '239.255.20.1', String(PORT), String(SECONDS)],
            { stdio: ['pipe', 'pipe', 'inherit'] },
          ),
      ],
    ];
    if (ffmpeg) {
      flows.push(['ffmpeg -re', '239.255.20.2', ff('239.255.20.2', '', [])]);
      flows.push([
        'ffmpeg muxrate+pacer',
        '239.255.20.3',
        ff('239.255.20.3', '&bitrate=4000000&burst_bits=10528', ['-muxrate', '4M']),
      ]);
    }
    for (const [name, group, start] of flows) rows.push(await runFlow(sw, name, group, start));
    if (LOADED)
      for (const [name, group, start] of flows) {
        const load = startTranscodes();
        try {
          rows.push(await runFlow(sw, `${name}, loaded`, group, start));
        } finally {
          for (const p of load) p.kill('SIGKILL');
        }
      }
  } finally {
    cleanup();
  }

  const result = {
    date: new Date().toISOString(),
    host: hostInfo(),
    clip: clip.source,
    secondsPerFlow: SECONDS,
    shaper: {
      where: 'tbf on the bridge port toward the receiver (mid namespace), not on the sender',
      rateBps: SHAPER.rateBps,
      burstBytes: SHAPER.burstBytes,
      limitBytes: SHAPER.limitBytes,
    },
    rows,
  };
  writeResult('shallow', result);

  const f = (v: number, d = 2): string => fmt(v, d);
  console.log(
    `shallow port: tbf rate ${f(SHAPER.rateBps / 1e6, 1)} Mbit/s burst ${SHAPER.burstBytes} B limit ${SHAPER.limitBytes} B on the bridge port, ${SECONDS} s per flow`,
  );
  console.log(
    'flow                             sent  received  Mbit/s     lost  lost %  tbf sent  tbf dropped  overlimits  rcvbuf err',
  );
  for (const r of rows)
    console.log(
      `${r.name.padEnd(30)} ${String(r.sent).padStart(6)}  ${String(r.received).padStart(8)}  ${f(r.receivedMbps, 3).padStart(6)}  ${String(r.lost).padStart(7)}  ${f(r.lostPercent).padStart(6)}  ${String(r.shaperSent).padStart(8)}  ${String(r.shaperDropped).padStart(11)}  ${String(r.shaperOverlimits).padStart(10)}  ${String(r.rcvbufErrors).padStart(10)}`,
    );
  const ours = rows[0];
  if (ours.senderSent !== null && ours.senderSent !== ours.sent)
    console.log(
      `note: our channel counted ${ours.senderSent} sent, the snd UDP stack ${ours.sent}`,
    );
  console.log('wrote bench/results/shallow-latest.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
