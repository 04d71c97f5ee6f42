// Wire capture for benches that judge other programs' outputs too (bench/dvblast.ts): one
// tcpdump on lo writing a pcap with nanosecond kernel timestamps, read back after the run into
// the same flows (`ip:port` → datagrams) as bench/receiver.ts gives. The timestamp is taken as
// the datagram passes the loopback device (in the sender's send call), so it does not depend on
// when the capture process runs: it is niced like the receiver.
//
// tcpdump needs real root here: as an ordinary user scripts/in-netns.sh makes a user namespace,
// where tcpdump cannot drop privileges (initgroups() is refused). There startCapture() falls back
// to bench/receiver.ts (SO_TIMESTAMPNS sockets joined to the groups: the same kernel clock,
// taken as the datagram is queued to the receiving socket) and says so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startReceiver, type Flows } from './receiver.js';

export interface Capture {
  /** What captured, for the report. */
  how: string;
  /** Packets the kernel dropped before the capture read them (tcpdump's count; 0 otherwise). */
  stop(): Promise<{ flows: Flows; dropped: number; epochSec: number }>;
}

function haveTcpdump(): boolean {
  return spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Captures every datagram sent to `addrs` (`group:port`, multicast on lo) into `file`. */
export async function startCapture(file: string, addrs: string[]): Promise<Capture> {
  if (haveTcpdump()) {
    const c = await startTcpdump(file, addrs).catch((e: Error) => e);
    if (!(c instanceof Error)) return c;
    console.error(`tcpdump did not start (${c.message}): SO_TIMESTAMPNS receiver instead`);
  }
  const r = await startReceiver(file, addrs, -1, { nice: 10 });
  return {
    how: r.kernel
      ? 'receiver process, SO_TIMESTAMPNS kernel timestamps (python3)'
      : 'receiver process, process.hrtime (user space: pessimistic)',
    async stop() {
      return { flows: await r.stop(), dropped: 0, epochSec: r.epochSec };
    },
  };
}

async function startTcpdump(file: string, addrs: string[]): Promise<Capture> {
  const filter =
    'udp and (' +
    addrs
      .map((a) => {
        const [ip, port] = a.split(':');
        return `(dst host ${ip} and dst port ${port})`;
      })
      .join(' or ') +
    ')';
  const p: ChildProcess = spawn(
    'nice',
    [
      ...['-n', '10', 'tcpdump', '-i', 'lo', '-n', '-w', file],
      ...['--time-stamp-precision=nano', '-B', String(64 << 10), '-Z', 'root', filter],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      err += String(b);
      if (err.includes('listening on')) resolve();
    };
    p.stderr!.on('data', onData);
    p.once('exit', (c) => reject(new Error(`exit ${c}: ${err.trim()}`)));
  });
  p.removeAllListeners('exit');
  return {
    how: 'tcpdump on lo, pcap with nanosecond kernel timestamps',
    async stop() {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      await exited;
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(err)?.[1] ?? 0);
      return { ...readPcap(file, addrs), dropped };
    },
  };
}

/**
 * Reads a pcap (nanosecond or microsecond, Ethernet or Linux cooked link type) into flows by
 * destination `ip:port`; only `addrs` are kept. Times are ns since the first packet's second.
 */
export function readPcap(file: string, addrs: string[]): { flows: Flows; epochSec: number } {
  const b = readFileSync(file);
  const flows: Flows = new Map(addrs.map((a) => [a, []]));
  if (b.length < 24) return { flows, epochSec: 0 };
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b23c4d || magic === 0xa1b2c3d4;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const link = u32(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : link === 0 ? 4 : -1;
  if (l2 < 0) throw new Error(`pcap link type ${link} not handled`);
  let epochSec = -1;
  for (let at = 24; at + 16 <= b.length;) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    const orig = u32(at + 12);
    const pkt = at + 16;
    at = pkt + incl;
    if (at > b.length) break;
    const ip = pkt + l2;
    if (b[ip] >> 4 !== 4 || b[ip + 9] !== 17) continue;
    const ihl = (b[ip] & 15) * 4;
    const dst = `${b[ip + 16]}.${b[ip + 17]}.${b[ip + 18]}.${b[ip + 19]}`;
    const udp = ip + ihl;
    const key = `${dst}:${b.readUInt16BE(udp + 2)}`;
    const list = flows.get(key);
    if (!list) continue;
    if (epochSec < 0) epochSec = sec;
    const size = b.readUInt16BE(udp + 4) - 8;
    const ns = (sec - epochSec) * 1e9 + (nano ? frac : frac * 1e3);
    void orig;
    list.push({ ns, size, data: b.subarray(udp + 8, Math.min(pkt + incl, udp + 8 + size)) });
  }
  return { flows, epochSec: Math.max(0, epochSec) };
}
