// The benches' wire receiver: one process with a socket per address, recording every datagram
// with its arrival time, for pacing.ts (multicast groups) and rtsp-sessions.ts (unicast RTP
// ports). Addresses are `ip:port`: a multicast group is bound and joined on 127.0.0.1, a unicast
// address is just bound.
//
// tcpdump cannot run inside scripts/in-netns.sh: it drops privileges with initgroups(), which a
// user namespace (setgroups=deny) refuses. Kernel timestamps come instead from SO_TIMESTAMPNS on
// the receiving sockets (the time the packet entered the stack), read by a small python3 helper;
// without python3, node's process.hrtime (user space: pessimistic, it measures the receiver too).
//
// Record format (little-endian): f64 ns since `epochSec` (whole seconds, CLOCK_REALTIME, fixed
// when the receiver starts), u32 datagram length, 24-byte address key (space-padded), then the
// datagram's first `keep` bytes (all of it when keep < 0): with keep = 12 a 200-flow capture
// holds the RTP headers only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Packet {
  /** Arrival, ns since the receiver's epochSec. */
  ns: number;
  /** The datagram's length on the wire (payload of UDP). */
  size: number;
  /** Its first `keep` bytes (all of it by default). */
  data: Uint8Array;
}
/** Packets by address key (`ip:port`). */
export type Flows = Map<string, Packet[]>;

export interface Receiver {
  /** True: SO_TIMESTAMPNS kernel timestamps (python3); false: process.hrtime in node. */
  kernel: boolean;
  /** Whole seconds (CLOCK_REALTIME) that packet times count from. */
  epochSec: number;
  /** Stops the receiver and reads what it recorded. */
  stop(): Promise<Flows>;
}

const KEY_BYTES = 24;

const PY_RECEIVER = `
import socket, struct, sys, selectors, time
SO_TIMESTAMPNS = 35
out, keep, addrs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
sel = selectors.DefaultSelector()
for a in addrs:
    ip, port = a.split(':')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((ip, int(port)))
    if 224 <= int(ip.split('.')[0]) <= 239:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(ip) + socket.inet_aton('127.0.0.1'))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, a.ljust(${KEY_BYTES}).encode())
sel.register(sys.stdin, selectors.EVENT_READ, None)
f = open(out, 'wb', 1 << 20)
sec0 = int(time.time())
sys.stdout.write('ready %d\\n' % sec0); sys.stdout.flush()
while True:
    for key, _ in sel.select():
        if key.data is None:
            f.close(); sys.exit(0)
        while True:
            try:
                data, anc, _, _ = key.fileobj.recvmsg(2048, 64)
            except BlockingIOError:
                break
            ns = 0.0
            for lvl, typ, d in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack('qq', d[:16])
                    ns = (sec - sec0) * 1e9 + nsec
            f.write(struct.pack('<dI', ns, len(data)) + key.data + (data if keep < 0 else data[:keep]))
`;

const NODE_RECEIVER = `
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
const [file, keepArg, ...addrs] = process.argv.slice(1);
const keep = Number(keepArg);
const sec0 = Math.floor(Date.now() / 1000);
const base = BigInt(Date.now()) * 1000000n - process.hrtime.bigint() - BigInt(sec0) * 1000000000n;
const recs = [];
for (const a of addrs) {
  const [ip, port] = a.split(':');
  const multicast = Number(ip.split('.')[0]) >= 224 && Number(ip.split('.')[0]) <= 239;
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (m) => recs.push([Number(process.hrtime.bigint() + base), a, m]));
  s.bind(Number(port), ip, () => {
    if (multicast) s.addMembership(ip, '127.0.0.1');
    try { s.setRecvBufferSize(8 << 20); } catch {}
  });
}
process.stdout.write('ready ' + sec0 + '\\n');
process.stdin.on('data', () => {
  const parts = [];
  for (const [ns, a, b] of recs) {
    const h = Buffer.alloc(12);
    h.writeDoubleLE(ns, 0);
    h.writeUInt32LE(b.length, 8);
    parts.push(h, Buffer.from(a.padEnd(${KEY_BYTES})), keep < 0 ? b : b.subarray(0, keep));
  }
  writeFileSync(file, Buffer.concat(parts));
  process.exit(0);
});
`;

function havePython(): boolean {
  return spawnSync('python3', ['-c', 'import socket, selectors'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a receiver process on every address (`ip:port`) writing to `file`; resolves once its
 * sockets are bound. `keep`: bytes of each datagram to record (-1: all); `nice`: run it at
 * that niceness (python3 only).
 */
export async function startReceiver(
  file: string,
  addrs: string[],
  keep = -1,
  opts: { nice?: number } = {},
): Promise<Receiver> {
  const kernel = havePython();
  const cmd = kernel
    ? ['python3', '-c', PY_RECEIVER, file, String(keep), ...addrs]
    : [process.execPath, '--input-type=module', '-e', NODE_RECEIVER, file, String(keep), ...addrs];
  // nice: with kernel timestamps the receiver's own scheduling does not move its figures, while
  // at full priority each wake-up can preempt the sender it is measuring (2 shared cores).
  if (opts.nice !== undefined && kernel) cmd.unshift('nice', '-n', String(opts.nice));
  const p: ChildProcess = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  // The first line, `ready <epochSec>`, once every socket is bound (it may come in pieces).
  const epochSec = await new Promise<number>((resolve, reject) => {
    let line = '';
    const onData = (b: Buffer): void => {
      line += String(b);
      if (!line.includes('\n')) return;
      p.stdout!.off('data', onData);
      resolve(Number(/^ready (\d+)/.exec(line)?.[1]));
    };
    p.stdout!.on('data', onData);
    p.once('exit', (c) => reject(new Error(`receiver exited ${c}`)));
  });
  if (!Number.isFinite(epochSec)) throw new Error('receiver: no epoch in its ready line');
  return {
    kernel,
    epochSec,
    async stop() {
      const exited = new Promise((r) => p.once('exit', r));
      p.stdin!.write('stop\n');
      await exited;
      return readReceiver(file, keep);
    },
  };
}

function readReceiver(file: string, keep: number): Flows {
  const b = readFileSync(file);
  const flows: Flows = new Map();
  for (let at = 0; at + 12 + KEY_BYTES <= b.length;) {
    const ns = b.readDoubleLE(at);
    const size = b.readUInt32LE(at + 8);
    const key = b.toString('latin1', at + 12, at + 12 + KEY_BYTES).trim();
    const start = at + 12 + KEY_BYTES;
    const end = Math.min(b.length, start + (keep < 0 ? size : Math.min(size, keep)));
    let list = flows.get(key);
    if (!list) flows.set(key, (list = []));
    list.push({ ns, size, data: b.subarray(start, end) });
    at = end;
  }
  return flows;
}
