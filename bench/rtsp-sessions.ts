// RTSP fan-out benchmark: N concurrent unicast RTSP sessions over UDP on one channel, against the
// real daemon. Run inside the private namespace (it sends on lo):
//
//   bash scripts/in-netns.sh node dist/bench/rtsp-sessions.js [--sessions 200] [--seconds 20]
//       [--realtime 1]
//
// Without it the daemon paces as it does by default (SCHED_FIFO 10 where permitted).
// --realtime 1 runs the daemon with headend.pacing's real-time settings (realtime_priority 20,
// cpu_dma_latency 0; they need root) and writes rtsp-sessions-realtime-latest.json. Both
// print the machine floor first (bench/floor.ts: how punctually a thread that only waits runs
// here), which bounds what any pacer can reach on this machine.
// Setup: `headend run -c <temp channels.yaml>` with one 4 Mbit/s CBR channel (http off, RTSP on
// a free port), whose source is udp://127.0.0.1 fed by this process with an ffmpeg-made clip
// (looped seamlessly in memory, sent at its own PCR pace), so no encoder competes for the CPU.
// A minimal RTSP client (node:net) opens each session: OPTIONS, DESCRIBE, SETUP with
// `RTP/AVP;unicast;client_port=N-N+1` (its own even port per session), PLAY, GET_PARAMETER
// keep-alives, TEARDOWN at the end. The daemon's pacing worker sends every RTP datagram
// (RFC 2250, 7 TS packets) to every session; ONE receiver process (bench/receiver.ts: python3,
// SO_TIMESTAMPNS kernel timestamps, niced so that it does not preempt the daemon it measures)
// holds all the RTP ports (and the RTCP ones, so sender reports land somewhere) and records each
// datagram's RTP header, length and arrival.
//
// Phases in one run, one daemon: idle (no session: CPU only), 1 session (the baseline), then N
// sessions. Each measures a window of --seconds, starting 1.5 s after the last PLAY.
// Figures per session, over the window: RFC 4445 DF per 1-s interval at the nominal 4 Mbit/s
// (bench uses src/mpegts/analyzer/mdi.ts on the TS bytes of each datagram), excess DF = DF − one
// datagram's duration (1316 × 8 / 4e6 = 2.632 ms, the DF of perfect pacing); each session's max
// and p99 excess DF, then p50/p99/max of those over the sessions (target: ≤ 1 ms at p99);
// lost datagrams (RTP sequence gaps) and receiver socket drops (/proc/net/udp, to tell the
// receiver's overflows from the sender's losses). Per phase: the daemon's CPU (utime + stime of
// all its threads, /proc/<pid>/stat, % of one core; its busiest threads too), its RSS, and the
// fan-out spread (first to last session's arrival of the same datagram).
// Prints a table; writes bench/results/rtsp-sessions-latest.json.
import '../test/helpers/private-network.js'; // before any socket: only inside the private network namespace
import type { Test } from 'tap';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MdiMeter } from '../src/mpegts/analyzer/mdi.js';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { startDaemon, type Daemon } from '../test/e2e/helpers.js';
import { loopClip, makeClip } from './input.js';
import { Feeder } from './feeder.js';
import { ROOT, arg, fmt, hostInfo, writeResult } from './cli.js';
import { startReceiver, type Packet } from './receiver.js';
import { describeFloor, measureFloor, type Floor } from './floor.js';

const RATE = 4e6;
const TS_BYTES = 7 * TS_PACKET_SIZE;
const RTP_HEADER = 12;
/** DF of a perfectly paced stream: one datagram's duration at the nominal rate, ms. */
const DF_FLOOR_MS = ((TS_BYTES * 8) / RATE) * 1e3;
const TARGET_EXCESS_MS = 1;
const HOST = '127.0.0.1';
const SLUG = 'bench';
/** The channel's own output (raw UDP multicast), captured too as the pacer's reference. */
const OUTPUT = '239.255.77.1:5000';
const SETTLE_MS = 1500;
/** Sessions opened at once while setting up. */
const SETUP_CONCURRENCY = 16;

const SESSIONS = arg('sessions', 200);
const SECONDS = arg('seconds', 20);
const IDLE_SECONDS = Math.min(5, SECONDS);
const REALTIME = arg('realtime', 0) > 0;
const RESULT_NAME = REALTIME ? 'rtsp-sessions-realtime' : 'rtsp-sessions';
const FLOOR_SECONDS = arg('floor-seconds', 5);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ ports

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function udpBindable(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, HOST, () => resolve(true));
  });
  await new Promise<void>((r) => {
    try {
      s.close(() => r());
    } catch {
      r();
    }
  });
  return ok;
}

/** `count` even UDP ports ≥ `from` whose odd neighbours are free too (RTP + RTCP pairs). */
async function freeEvenPorts(count: number, from: number): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; out.length < count && p < 65534; p += 2) {
    if ((await udpBindable(p)) && (await udpBindable(p + 1))) out.push(p);
  }
  if (out.length < count) throw new Error(`only ${out.length} free even UDP ports from ${from}`);
  return out;
}

// ------------------------------------------------------------------ RTSP client

interface RtspResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** One RTSP/1.0 connection, requests one at a time (queued), CSeq counted. */
class RtspConnection {
  private buf = Buffer.alloc(0);
  private pending: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private cseq = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      this.parse();
    });
    const fail = (e: Error): void => {
      this.pending?.reject(e);
      this.pending = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('RTSP connection closed')));
  }

  static open(host: string, port: number): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host, port }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RtspConnection(s));
      });
      s.once('error', reject);
    });
  }

  request(
    method: string,
    url: string,
    headers: Record<string, string> = {},
  ): Promise<RtspResponse> {
    const run = (): Promise<RtspResponse> =>
      new Promise((resolve, reject) => {
        this.pending = { resolve, reject };
        const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${++this.cseq}`];
        for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
        lines.push('User-Agent: headend-bench', '', '');
        this.socket.write(lines.join('\r\n'));
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || this.pending === undefined) return;
    const head = this.buf.toString('latin1', 0, end).split('\r\n');
    const headers = new Map<string, string>();
    for (const l of head.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.toString('utf8', end + 4, end + 4 + length);
    this.buf = this.buf.subarray(end + 4 + length);
    const status = Number(/^RTSP\/1\.0 (\d{3})/.exec(head[0])?.[1] ?? 0);
    const p = this.pending;
    this.pending = undefined;
    p.resolve({ status, headers, body });
  }

  close(): void {
    this.socket.destroy();
  }
}

interface RtspSession {
  id: string;
  clientPort: number;
  /** The server's Transport answer. */
  transport: string;
  teardown(): Promise<void>;
}

function expectOk(what: string, r: RtspResponse): RtspResponse {
  if (r.status !== 200) throw new Error(`${what}: RTSP ${r.status}`);
  return r;
}

/** OPTIONS, DESCRIBE, SETUP (unicast UDP to clientPort), PLAY; keep-alives until teardown. */
async function openSession(rtspPort: number, clientPort: number): Promise<RtspSession> {
  const c = await RtspConnection.open(HOST, rtspPort);
  try {
    const url = `rtsp://${HOST}:${rtspPort}/${SLUG}`;
    expectOk('OPTIONS', await c.request('OPTIONS', url));
    const d = expectOk('DESCRIBE', await c.request('DESCRIBE', url, { Accept: 'application/sdp' }));
    const base = d.headers.get('content-base') ?? `${url}/`;
    const s = expectOk(
      'SETUP',
      await c.request('SETUP', `${base}track1`, {
        Transport: `RTP/AVP;unicast;client_port=${clientPort}-${clientPort + 1}`,
      }),
    );
    const [id, ...params] = (s.headers.get('session') ?? '').split(';');
    if (!id) throw new Error('SETUP: no Session');
    const timeoutS = Number(/timeout=(\d+)/.exec(params.join(';'))?.[1] ?? 60);
    const transport = s.headers.get('transport') ?? '';
    if (!transport.includes(`client_port=${clientPort}-${clientPort + 1}`))
      throw new Error(`SETUP: unexpected Transport ${transport}`);
    expectOk('PLAY', await c.request('PLAY', url, { Session: id, Range: 'npt=0.000-' }));
    const keepAlive = setInterval(
      () => void c.request('GET_PARAMETER', url, { Session: id }).catch(() => undefined),
      (timeoutS * 1000) / 3,
    );
    return {
      id,
      clientPort,
      transport,
      async teardown() {
        clearInterval(keepAlive);
        try {
          expectOk('TEARDOWN', await c.request('TEARDOWN', url, { Session: id }));
        } finally {
          c.close();
        }
      },
    };
  } catch (e) {
    c.close();
    throw e;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; results in order. */
async function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ------------------------------------------------------------------ /proc

const CLK_TCK = 100; // USER_HZ: 100 on every Linux architecture Node runs on

interface ThreadTicks {
  tid: number;
  name: string;
  ticks: number;
}

/** utime + stime ticks of each thread of `pid`. */
function threadTicks(pid: number): ThreadTicks[] {
  const out: ThreadTicks[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      out.push({ tid: Number(tid), name, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // thread gone meanwhile
    }
  }
  return out;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Receive-queue drops of the UDP sockets bound to 127.0.0.1:port, by port (this namespace). */
function udpDrops(): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !f[1].startsWith('0100007F:')) continue;
    out.set(parseInt(f[1].slice(9), 16), Number(f[f.length - 1]));
  }
  return out;
}

interface CpuWindow {
  start: { ns: number; threads: ThreadTicks[] };
  end?: { ns: number; threads: ThreadTicks[] };
}

function cpuMark(pid: number): { ns: number; threads: ThreadTicks[] } {
  return { ns: Number(process.hrtime.bigint()), threads: threadTicks(pid) };
}

interface CpuFigures {
  /** Whole process, % of one core. */
  percent: number;
  /** The busiest threads, % of one core each. */
  threads: { tid: number; name: string; percent: number }[];
}

function cpuFigures(w: CpuWindow, mainPid: number): CpuFigures {
  const end = w.end!;
  const sec = (end.ns - w.start.ns) / 1e9;
  const before = new Map(w.start.threads.map((t) => [t.tid, t.ticks]));
  const threads = end.threads
    .map((t) => ({
      tid: t.tid,
      name: t.tid === mainPid ? `${t.name} (main)` : t.name,
      percent: ((t.ticks - (before.get(t.tid) ?? 0)) / CLK_TCK / sec) * 100,
    }))
    .sort((a, b) => b.percent - a.percent);
  return {
    percent: threads.reduce((s, t) => s + t.percent, 0),
    threads: threads.slice(0, 4).map((t) => ({ ...t, percent: round(t.percent, 1) })),
  };
}

// ------------------------------------------------------------------ figures

const round = (v: number, d = 3): number => (Number.isFinite(v) ? Number(v.toFixed(d)) : NaN);

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

interface SessionFigures {
  port: number;
  datagrams: number;
  mbps: number;
  /** Complete 1-s intervals measured. */
  intervals: number;
  excessDfMaxMs: number;
  excessDfP99Ms: number;
  /** Excess DF of each complete interval, ms. */
  excessDfMs: number[];
  /** Longest time between two arrivals, ms. */
  maxGapMs: number;
  lostDatagrams: number;
  /** Datagrams out of order or repeated. */
  disordered: number;
  /** Not RTP PT 33 or not 1316 bytes of TS. */
  malformed: number;
  receiverDrops: number;
  rtcpReports: number;
}

function sessionFigures(
  port: number,
  all: Packet[],
  rtcp: Packet[],
  w0: number,
  w1: number,
  drops: number,
  /** Raw TS datagrams (the channel's own output) rather than RTP: no sequence numbers. */
  raw = false,
): SessionFigures {
  const list = all.filter((p) => p.ns >= w0 && p.ns < w1);
  const mdi = new MdiMeter(RATE);
  let malformed = 0;
  let lost = 0;
  let disordered = 0;
  let prev = -1;
  let bytes = 0;
  let maxGap = 0;
  for (let i = 1; i < list.length; i++) maxGap = Math.max(maxGap, list[i].ns - list[i - 1].ns);
  for (const p of list) {
    const d = p.data;
    const rtp = d.length >= RTP_HEADER && d[0] >> 6 === 2 && (d[1] & 0x7f) === 33;
    if (!rtp && !(raw && d[0] === 0x47)) {
      malformed++;
      continue;
    }
    const ts = rtp ? p.size - RTP_HEADER - (d[0] & 0x0f) * 4 : p.size;
    if (ts !== TS_BYTES) malformed++;
    if (!mdi.isStarted) mdi.begin(p.ns);
    mdi.arrival(mdi.relative(p.ns), ts, 0);
    bytes += ts;
    if (!rtp) continue;
    const seq = (d[2] << 8) | d[3];
    if (prev >= 0) {
      const step = (seq - prev) & 0xffff;
      if (step >= 1 && step < 0x8000) lost += step - 1;
      else disordered++;
    }
    if (prev < 0 || ((seq - prev) & 0xffff) < 0x8000) prev = seq;
  }
  // The interval still open at the window's end is partial: only complete ones count (mdi.end()
  // is not called).
  const excess = mdi.intervals.map((i) => i.df_ms - DF_FLOOR_MS);
  const sec = list.length > 1 ? (list[list.length - 1].ns - list[0].ns) / 1e9 : 0;
  return {
    port,
    datagrams: list.length,
    mbps: sec > 0 ? (bytes * 8) / sec / 1e6 : 0,
    intervals: excess.length,
    excessDfMaxMs: excess.length ? Math.max(...excess) : NaN,
    excessDfP99Ms: percentile(excess, 0.99),
    excessDfMs: excess,
    maxGapMs: maxGap / 1e6,
    lostDatagrams: lost,
    disordered,
    malformed,
    receiverDrops: drops,
    rtcpReports: rtcp.filter((p) => p.ns >= w0 && p.ns < w1).length,
  };
}

/** First-to-last arrival of each datagram (by RTP sequence) over the sessions, µs. */
function fanOutSpreadUs(flows: Packet[][], w0: number, w1: number): number[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const count = new Map<number, number>();
  for (const list of flows) {
    for (const p of list) {
      if (p.ns < w0 || p.ns >= w1 || p.data.length < RTP_HEADER) continue;
      const seq = (p.data[2] << 8) | p.data[3];
      first.set(seq, Math.min(first.get(seq) ?? Infinity, p.ns));
      last.set(seq, Math.max(last.get(seq) ?? -Infinity, p.ns));
      count.set(seq, (count.get(seq) ?? 0) + 1);
    }
  }
  const out: number[] = [];
  for (const [seq, n] of count)
    if (n === flows.length) out.push((last.get(seq)! - first.get(seq)!) / 1e3);
  return out;
}

const stats3 = (v: number[], d = 3): { p50: number; p99: number; max: number } => ({
  p50: round(percentile(v, 0.5), d),
  p99: round(percentile(v, 0.99), d),
  max: round(v.length ? Math.max(...v) : NaN, d),
});

// ------------------------------------------------------------------ run

interface Phase {
  name: string;
  sessions: number;
  ports: number[];
  setupMs: number;
  /** The measuring window, ns since the receiver's epoch. */
  w0: number;
  w1: number;
  cpu: CpuWindow;
  rssMB: number;
  drops0: Map<number, number>;
  drops1: Map<number, number>;
}

async function main(): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  // startDaemon (test/e2e/helpers.ts) registers its kill-on-exit with a tap Test: this stands in.
  const t = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
  const dir = mkdtempSync(join(tmpdir(), 'headend-rtsp-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await run(t, dir);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

async function run(t: Test, dir: string): Promise<void> {
  // Video at 70 % of the mux rate (as bench/pacing.ts): with audio, PSI and PCR it fits 4M CBR.
  const clip = makeClip(ROOT, Math.round((RATE * 0.7) / 1000));
  const expectSec = IDLE_SECONDS + 2 * (SECONDS + 10) + SESSIONS / 10 + 30;
  const input = loopClip(clip, Math.ceil((expectSec * clip.bitrate) / 8 / TS_PACKET_SIZE));

  const floor = await measureFloor(REALTIME ? 'rt-sleep' : 'spin', FLOOR_SECONDS);
  const rtspPort = await freeTcpPort();
  const [rtpPort, srcPort, ...clientPorts] = await freeEvenPorts(SESSIONS + 2, 20000);
  const config = [
    'headend:',
    '  name: RTSP bench',
    '  http: false',
    `  rtsp: { listen: ${HOST}:${rtspPort}, rtp_port: ${rtpPort}, max_sessions: ${SESSIONS + 10}, max_sessions_per_client: ${SESSIONS + 10} }`,
    ...(REALTIME ? ['  pacing: { realtime_priority: 20, cpu_dma_latency: 0 }'] : []),
    'channels:',
    '  - number: 1',
    '    name: Bench',
    `    slug: ${SLUG}`,
    `    output: udp://${OUTPUT}`,
    '    bitrate: 4M',
    `    source: udp://${HOST}:${srcPort}`,
    '',
  ].join('\n');

  const rx = await startReceiver(
    join(dir, 'rx.bin'),
    [OUTPUT, ...clientPorts.flatMap((p) => [`${HOST}:${p}`, `${HOST}:${p + 1}`])],
    RTP_HEADER,
    { nice: 10 },
  );
  const rxNs = (): number => (Date.now() - rx.epochSec * 1000) * 1e6;
  const feeder = new Feeder(input, srcPort, HOST);
  feeder.start();
  let d: Daemon | undefined;
  const phases: Phase[] = [];
  let idle: CpuWindow | undefined;
  let pid = 0;
  try {
    d = startDaemon(t, { text: config });
    pid = d.proc.pid!;
    await d.waitFor((e) => e.event === 'rtsp-listening', 15_000);
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    await sleep(2000); // the channel's output settles

    idle = { start: cpuMark(pid) };
    await sleep(IDLE_SECONDS * 1000);
    idle.end = cpuMark(pid);

    for (const n of [1, SESSIONS]) {
      const ports = clientPorts.slice(0, n);
      const t0 = Date.now();
      const sessions = await pool(ports, SETUP_CONCURRENCY, (p) => openSession(rtspPort, p));
      const setupMs = Date.now() - t0;
      await sleep(SETTLE_MS);
      const drops0 = udpDrops();
      const w0 = rxNs();
      const cpu: CpuWindow = { start: cpuMark(pid) };
      await sleep(SECONDS * 1000);
      cpu.end = cpuMark(pid);
      const w1 = rxNs();
      const drops1 = udpDrops();
      const rss = rssMB(pid);
      await pool(sessions, SETUP_CONCURRENCY, (s) => s.teardown());
      phases.push({
        name: `${n} session${n === 1 ? '' : 's'}`,
        sessions: n,
        ports,
        setupMs,
        w0,
        w1,
        cpu,
        rssMB: rss,
        drops0,
        drops1,
      });
      await sleep(1000);
    }
    const stopped = await d.stop();
    if (stopped.code !== 0) console.error(`daemon exit ${stopped.code} (${stopped.signal})`);
  } finally {
    feeder.stop();
    const flows = await rx.stop();
    if (phases.length === 2)
      report(phases, idle!, pid, flows, rx.kernel, clip.source, feeder, d, floor);
  }
}

function report(
  phases: Phase[],
  idle: CpuWindow,
  pid: number,
  flows: Map<string, Packet[]>,
  kernel: boolean,
  clipSource: string,
  feeder: Feeder,
  d: Daemon | undefined,
  floor: Floor,
): void {
  const idleCpu = cpuFigures(idle, pid);
  const results = phases.map((ph) => {
    const rows = ph.ports.map((port) =>
      sessionFigures(
        port,
        flows.get(`${HOST}:${port}`) ?? [],
        flows.get(`${HOST}:${port + 1}`) ?? [],
        ph.w0,
        ph.w1,
        (ph.drops1.get(port) ?? 0) - (ph.drops0.get(port) ?? 0),
      ),
    );
    const spread = fanOutSpreadUs(
      ph.ports.map((p) => flows.get(`${HOST}:${p}`) ?? []),
      ph.w0,
      ph.w1,
    );
    const cpu = cpuFigures(ph.cpu, pid);
    const ref = sessionFigures(0, flows.get(OUTPUT) ?? [], [], ph.w0, ph.w1, 0, true);
    // What the fan-out adds to the pacer's own timing (machine load shows in both): per session,
    // its worst DF minus the channel output's in the same interval.
    const added = rows.map((r) =>
      Math.max(
        ...r.excessDfMs.map((v, i) => v - (ref.excessDfMs[i] ?? NaN)).filter(Number.isFinite),
      ),
    );
    return {
      name: ph.name,
      sessions: ph.sessions,
      setupMs: ph.setupMs,
      windowSec: round((ph.w1 - ph.w0) / 1e9, 2),
      cpuPercent: round(cpu.percent, 1),
      busiestThreads: cpu.threads,
      rssMB: round(ph.rssMB, 1),
      excessDfOfSessionMaxMs: stats3(rows.map((r) => r.excessDfMaxMs)),
      excessDfOfSessionP99Ms: stats3(rows.map((r) => r.excessDfP99Ms)),
      sessionsOverTargetAtP99: rows.filter((r) => !(r.excessDfP99Ms <= TARGET_EXCESS_MS)).length,
      mbpsMin: round(Math.min(...rows.map((r) => r.mbps)), 3),
      lostDatagrams: rows.reduce((s, r) => s + r.lostDatagrams, 0),
      sessionsWithLoss: rows.filter((r) => r.lostDatagrams > 0).length,
      disordered: rows.reduce((s, r) => s + r.disordered, 0),
      malformed: rows.reduce((s, r) => s + r.malformed, 0),
      receiverDrops: rows.reduce((s, r) => s + r.receiverDrops, 0),
      sessionsWithoutRtcp: rows.filter((r) => r.rtcpReports === 0).length,
      fanOutSpreadUs: stats3(spread, 1),
      channelOutput: {
        excessDfMaxMs: round(ref.excessDfMaxMs),
        excessDfP99Ms: round(ref.excessDfP99Ms),
        excessDfMs: ref.excessDfMs.map((v) => round(v)),
        maxGapMs: round(ref.maxGapMs),
      },
      /** p50/p99/max over sessions of (session DF − channel output DF), worst interval. */
      addedOverOutputMs: stats3(added),
      rows: rows.map((r) => ({
        ...r,
        mbps: round(r.mbps),
        excessDfMaxMs: round(r.excessDfMaxMs),
        excessDfP99Ms: round(r.excessDfP99Ms),
        excessDfMs: r.excessDfMs.map((v) => round(v)),
        maxGapMs: round(r.maxGapMs),
      })),
    };
  });
  const [one, many] = results;
  const result = {
    date: new Date().toISOString(),
    host: hostInfo(),
    capture: kernel
      ? 'one receiver process, SO_TIMESTAMPNS kernel timestamps (python3)'
      : 'one receiver process, process.hrtime (user space: pessimistic)',
    clip: clipSource,
    channel: { bitrateBps: RATE, packetsPerDatagram: 7, dfFloorMs: round(DF_FLOOR_MS) },
    sessions: SESSIONS,
    seconds: SECONDS,
    pacing: REALTIME
      ? {
          realtimePriority: 20,
          cpuDmaLatencyUs: 0,
          daemonSaid: (d?.events ?? [])
            .filter(
              (e) => e.event.startsWith('pacer-realtime') || e.event.startsWith('cpu-latency'),
            )
            .map((e) => e.event),
        }
      : 'default',
    floor,
    targetExcessDfP99Ms: TARGET_EXCESS_MS,
    idle: {
      seconds: IDLE_SECONDS,
      cpuPercent: round(idleCpu.percent, 1),
      busiestThreads: idleCpu.threads,
    },
    cpuRatio: round(many.cpuPercent / one.cpuPercent, 2),
    sourceWraps: feeder.wraps,
    daemonWarnings: (d?.events ?? [])
      .filter((e) => e.level === 'warn' || e.level === 'error')
      .map((e) => `${e.level} ${e.event} ${String(e.message ?? '')}`)
      .slice(0, 20),
    phases: results,
  };
  writeResult(RESULT_NAME, result);

  const f = (v: number, d = 2): string => fmt(v, d);
  const s3 = (x: { p50: number; p99: number; max: number }, dd = 2): string =>
    `${f(x.p50, dd)}/${f(x.p99, dd)}/${f(x.max, dd)}`;
  console.log(
    `rtsp-sessions: 1 channel 4 Mbit/s CBR, RTP/AVP unicast UDP, ${SECONDS} s windows, ${REALTIME ? 'real-time pacing (priority 20, cpu_dma_latency 0)' : 'default pacing'}, capture: ${result.capture}`,
  );
  console.log(`machine floor (${FLOOR_SECONDS} s, before the daemon): ${describeFloor(floor)}`);
  console.log(
    `excess DF = DF − ${f(DF_FLOOR_MS, 3)} ms (one datagram) per 1-s interval; p50/p99/max over sessions of each one's max and p99 (target ≤ ${TARGET_EXCESS_MS} ms at p99; >1ms: sessions over it); output max: the channel's own multicast output, same pacer (reference); added vs output: a session's worst DF minus the output's in the same interval`,
  );
  console.log(
    'phase          CPU %  (×1)  RSS MB  setup ms  excess DF ms: of session max  of session p99  >1ms  output max  added vs output  lost (sess)  rx drops  fan-out µs',
  );
  console.log(`idle (0)      ${f(result.idle.cpuPercent, 1).padStart(6)}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(13)} ${f(r.cpuPercent, 1).padStart(6)}  ${f(r.cpuPercent / one.cpuPercent, 1).padStart(4)}  ${f(r.rssMB, 0).padStart(6)}  ${String(r.setupMs).padStart(8)}  ${s3(r.excessDfOfSessionMaxMs).padStart(27)}  ${s3(r.excessDfOfSessionP99Ms).padStart(14)}  ${String(r.sessionsOverTargetAtP99).padStart(4)}  ${f(r.channelOutput.excessDfMaxMs).padStart(10)}  ${s3(r.addedOverOutputMs).padStart(15)}  ${`${r.lostDatagrams} (${r.sessionsWithLoss})`.padStart(11)}  ${String(r.receiverDrops).padStart(8)}  ${s3(r.fanOutSpreadUs, 0)}`,
    );
  }
  const threads = (x: { name: string; percent: number }[]): string =>
    x.map((th) => `${th.name} ${f(th.percent, 1)}`).join(', ');
  console.log(`busiest daemon threads (% of a core): idle: ${threads(result.idle.busiestThreads)}`);
  for (const r of results) console.log(`  ${r.name}: ${threads(r.busiestThreads)}`);
  if (many.disordered || many.malformed || many.sessionsWithoutRtcp || feeder.wraps)
    console.log(
      `note: ${many.disordered} disordered, ${many.malformed} malformed datagrams, ${many.sessionsWithoutRtcp} sessions without RTCP SR, source wrapped ${feeder.wraps}×`,
    );
  if (result.daemonWarnings.length)
    console.log(`daemon warnings: ${result.daemonWarnings.join('; ')}`);
  console.log(`wrote bench/results/${RESULT_NAME}-latest.json`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
