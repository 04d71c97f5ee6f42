// End-to-end machinery: the real daemon (`node dist/src/cli.js run -c FILE`) as a child
// process with its JSON-line log parsed into events, receivers joined to output groups on
// 127.0.0.1 (arrival times read in the message event), our Analyzer over what was received, an
// independent scan for PAT/PMT gaps and video PES arrivals, ffprobe on the groups, a PCR-paced
// multicast sender for native udp:// inputs, and /proc lookups for leftover ffmpeg children.
//
// Every group is 239.255.x.y on 127.0.0.1 with TTL 1, and the tests run inside the private
// network namespace (scripts/in-netns.sh). All tap jobs share that namespace: each test file
// uses its own groups and ports.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import type { Test } from 'tap';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { Analyzer, type AnalyzerReport, type Check } from '../../src/mpegts/analyzer/index.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';
export const IFACE = '127.0.0.1';

export const nowNs = (): number => Number(process.hrtime.bigint());
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A unique word to put in a config (test text, file name) so /proc finds our children. */
export function marker(name: string): string {
  return `e2e${name}${process.pid}x${randomBytes(3).toString('hex')}`;
}

/** A temporary directory removed when the test ends. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'headend-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------ the daemon

/** One log line of the daemon, with the test's own monotonic time of its arrival. */
export interface LogEvent {
  event: string;
  level: string;
  /** nowNs() when the line was read. */
  atNs: number;
  [k: string]: unknown;
}

export interface Daemon {
  proc: ChildProcess;
  configFile: string;
  events: LogEvent[];
  /** Lines of stderr that were not JSON. */
  otherLines: string[];
  /** First event at index ≥ from matching pred; rejects after timeoutMs. */
  waitFor(pred: (e: LogEvent) => boolean, timeoutMs: number, from?: number): Promise<LogEvent>;
  /** Resolves with the exit status (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits up to 10 s: the exit status and how long the stop took. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** ffmpeg pids announced by source-start events. */
  childPids(): number[];
}

/**
 * Starts `headend run -c <file>`; the config is written to a temp dir unless a path is given;
 * `env` adds to the daemon's environment; `o.wrap` runs it through a command (nsenter into a
 * namespace: netns-rig.ts) and `o.args` adds to its arguments.
 */
export function startDaemon(
  t: Test,
  config: { text: string } | { file: string },
  env?: NodeJS.ProcessEnv,
  o: { wrap?: string[]; args?: string[] } = {},
): Daemon {
  let configFile: string;
  if ('file' in config) {
    configFile = config.file;
  } else {
    configFile = join(tempDir(t), 'channels.yaml');
    writeFileSync(configFile, config.text);
  }
  const argv = [process.execPath, CLI, 'run', '-c', configFile, ...(o.args ?? [])];
  const [cmd, ...args] = [...(o.wrap ?? []), ...argv] as [string, ...string[]];
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const events: LogEvent[] = [];
  const otherLines: string[] = [];
  const waiters = new Set<() => void>();
  let tail = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => {
    const at = nowNs();
    tail += s;
    let nl: number;
    while ((nl = tail.indexOf('\n')) >= 0) {
      const line = tail.slice(0, nl);
      tail = tail.slice(nl + 1);
      if (process.env.HEADEND_E2E_LOG) process.stderr.write(`[daemon] ${line}\n`);
      if (line.trim() === '') continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        events.push({ ...o, event: String(o.event), level: String(o.level), atNs: at });
      } catch {
        otherLines.push(line);
      }
    }
    for (const w of [...waiters]) w();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => {
      done = true;
      for (const w of [...waiters]) w();
      r({ code, signal });
    }),
  );
  t.teardown(async () => {
    if (!done && proc.pid !== undefined) {
      proc.kill('SIGKILL'); // our own child, by its pid; its ffmpeg children die with it
      await exited;
    }
  });
  const waitFor = (
    pred: (e: LogEvent) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<LogEvent> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = from; i < events.length; i++) {
          if (pred(events[i])) {
            finish();
            resolve(events[i]);
            return true;
          }
        }
        if (done) {
          finish();
          reject(new Error(`daemon exited while waiting (${pred.toString()})`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no such event within ${timeoutMs} ms: ${pred.toString()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(w);
      };
      const w = (): void => void check();
      waiters.add(w);
      check();
    });
  const stop = async (): Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    ms: number;
  }> => {
    const t0 = Date.now();
    if (!done) proc.kill('SIGTERM');
    const r = await Promise.race([
      exited,
      new Promise<{ code: null; signal: NodeJS.Signals }>((r) =>
        setTimeout(() => r({ code: null, signal: 'timeout' as NodeJS.Signals }), 10_000).unref(),
      ),
    ]);
    return { ...r, ms: Date.now() - t0 };
  };
  const childPids = (): number[] =>
    events
      .filter((e) => e.event === 'source-start' && typeof e.pid === 'number')
      .map((e) => e.pid as number);
  return { proc, configFile, events, otherLines, waitFor, exited, stop, childPids };
}

/** A channel's story for a test comment: `1.23s source-up#0 2.50s source-failed:exit#0 …`. */
export function story(events: LogEvent[], channel: string, t0Ns: number): string {
  return events
    .filter(
      (e) =>
        e.channel === channel &&
        /^(source-up|source-failed|failover|return-to-primary)$/.test(e.event),
    )
    .map(
      (e) =>
        `${((e.atNs - t0Ns) / 1e9).toFixed(2)}s ${e.event}` +
        `${e.reason !== undefined ? `:${String(e.reason)}` : ''}` +
        `${e.index !== undefined ? `#${String(e.index)}` : ''}`,
    )
    .join(' ');
}

/** The source key (as logged) whose test pattern text or url contains `needle`. */
export function sourceMatches(e: LogEvent, needle: string): boolean {
  return typeof e.source === 'string' && e.source.includes(needle);
}

/**
 * Pid of the one live ffmpeg child whose command line contains `needle` (the test text or
 * file name in the config). Found in /proc rather than in `source-start` events: those carry
 * the pid too, but /proc also proves the process is there. Waits up to timeoutMs for exactly one.
 */
export async function childPid(needle: string, timeoutMs = 5000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pids = livePids(pidsWithMarker(needle)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('ffmpeg');
      } catch {
        return false;
      }
    });
    if (pids.length === 1) return pids[0];
    if (Date.now() > until) throw new Error(`${pids.length} live ffmpeg children with ${needle}`);
    await sleep(50);
  }
}

/** Pids of live (non-zombie) processes whose command line contains `needle`. */
export function pidsWithMarker(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Of these pids, those still alive (and not zombies). */
export function livePids(pids: number[]): number[] {
  return pids.filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return !/^\d+ \(.*\) [ZX] /.test(stat);
    } catch {
      return false;
    }
  });
}

/** Stops the daemon and checks: exit 0 within 5 s, no child with `needle` left, no pid left. */
export async function stopAndCheck(t: Test, d: Daemon, needles: string[]): Promise<void> {
  const pids = d.childPids();
  const r = await d.stop();
  t.equal(r.code, 0, `daemon exits 0 on SIGTERM (signal ${r.signal})`);
  t.ok(r.ms < 5000, `daemon stopped within 5 s (${r.ms} ms)`);
  for (const n of needles) t.same(pidsWithMarker(n), [], `no process left with ${n}`);
  t.same(livePids(pids), [], 'no ffmpeg child of the daemon left');
  t.ok(
    d.events.some((e) => e.event === 'stopped'),
    'daemon logged stopped',
  );
  // The daemon's own stalls (stall-watch.ts), so that a gap a check above found on the wire
  // can be told apart from the machine's.
  for (const e of d.events)
    if (e.event === 'event-loop-stall' || e.event === 'pacing-late')
      t.comment(`daemon ${e.event} at ${e.ts}: ${e.maxMs} ms (${e.periods} period(s))`);
}

// ------------------------------------------------------------------ receiving

export interface Datagram {
  data: Buffer;
  /** nowNs() in the message event. */
  ns: number;
}

export interface Recorder {
  datagrams: Datagram[];
  /** Stops receiving; resolves to the datagrams with their user-space arrival times. */
  close(): Promise<Datagram[]>;
  /**
   * After close(): the same datagrams with kernel receive times (SO_TIMESTAMPNS, read by a
   * python3 receiver beside ours), or undefined when python3 is missing. Arrival-time checks
   * (PCR repetition, PAT/PMT gaps) use these when present: a Node receiver's own event-loop
   * latency on a loaded 2-core box would otherwise be measured as the sender's (STANDARDS.md,
   * "Measuring on the wire").
   */
  kernel: Datagram[] | undefined;
}

// SO_TIMESTAMPNS is 35 on Linux (asm-generic/socket.h); Python's socket module lacks the name.
const KERNEL_RX_PY = `
import socket, struct, sys
g, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, 35, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((g, p))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton(sys.argv[3]))
sys.stderr.write('ready\\n')
sys.stderr.flush()
out = sys.stdout.buffer
while True:
    data, anc, _, _ = s.recvmsg(65536, 64)
    ts = 0
    for lvl, typ, d in anc:
        if lvl == socket.SOL_SOCKET and typ == 35:
            sec, nsec = struct.unpack('qq', d[:16])
            ts = sec * 1000000000 + nsec
    out.write(struct.pack('>QH', ts, len(data)) + data)
    out.flush()
`;

let python: string | null | undefined;
function findPython(): string | null {
  if (python === undefined) {
    const r = spawnSync('python3', ['-c', 'import socket'], { stdio: 'ignore' });
    python = r.status === 0 ? 'python3' : null;
  }
  return python;
}

/** Kernel recordings' times count from their first datagram: its wall-clock time, ms. */
const kernelEpochMs = new WeakMap<Datagram[], number>();

/** A python3 receiver with kernel timestamps; null when python3 is not there. */
async function openKernelRecorder(
  t: Test,
  group: string,
  port: number,
): Promise<{ close(): Promise<Datagram[]> } | null> {
  const py = findPython();
  if (py === null) return null;
  const child = spawn(py, ['-c', KERNEL_RX_PY, group, String(port), IFACE], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // our own child, by its pid
      await exited;
    }
  });
  const ok = await new Promise<boolean>((resolve) => {
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('ready')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  if (!ok) return null;
  return {
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      const b = Buffer.concat(chunks);
      const out: Datagram[] = [];
      let base: bigint | undefined;
      for (let o = 0; o + 10 <= b.length;) {
        const ts = b.readBigUInt64BE(o);
        const len = b.readUInt16BE(o + 8);
        if (o + 10 + len > b.length) break;
        base ??= ts;
        out.push({ data: b.subarray(o + 10, o + 10 + len), ns: Number(ts - base) });
        o += 10 + len;
      }
      if (base !== undefined) kernelEpochMs.set(out, Number(base / 1_000_000n));
      return out;
    },
  };
}

/** Joins group on 127.0.0.1 and records every datagram until close(). */
export async function openRecorder(t: Test, group: string, port: number): Promise<Recorder> {
  const kernelRx = await openKernelRecorder(t, group, port);
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const datagrams: Datagram[] = [];
  sock.on('message', (data) => datagrams.push({ data, ns: nowNs() }));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, group, () => {
      sock.addMembership(group, IFACE);
      resolve();
    });
  });
  let closed = false;
  t.teardown(() => {
    if (!closed) {
      closed = true;
      sock.close();
    }
  });
  const rec: Recorder = {
    datagrams,
    kernel: undefined,
    close: async () => {
      if (!closed) {
        closed = true;
        await new Promise<void>((r) => sock.close(() => r()));
        if (kernelRx) rec.kernel = await kernelRx.close();
      }
      return datagrams;
    },
  };
  return rec;
}

/**
 * The recording whose arrival times to judge: the kernel-timestamped one when there is one
 * (it started before and stopped after ours, so it holds at least as much), else ours.
 */
export function timed(rec: Recorder): Datagram[] {
  return rec.kernel !== undefined && rec.kernel.length > 0 ? rec.kernel : rec.datagrams;
}

export async function recordGroup(
  t: Test,
  group: string,
  port: number,
  ms: number,
): Promise<Datagram[]> {
  const r = await openRecorder(t, group, port);
  await sleep(ms);
  return r.close();
}

export function analyze(datagrams: Datagram[]): AnalyzerReport {
  const a = new Analyzer();
  for (const d of datagrams) a.push(d.data, d.ns);
  a.end();
  return a.report();
}

export function check(r: AnalyzerReport, id: string): Check {
  const all = [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3];
  const c = all.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
}

/** The checks with errors, as text (for assertion messages). */
export function failing(r: AnalyzerReport): string {
  return [...r.tr101290.priority1, ...r.tr101290.priority2, ...r.tr101290.priority3]
    .filter((c) => c.errors > 0)
    .map((c) => `${c.id} ${c.name} ${c.errors}${c.detail ? ` (${c.detail})` : ''}`)
    .join('; ');
}

// ------------------------------------------------------------------ independent scan

export interface Scan {
  packets: number;
  pmtPid: number;
  pcrPid: number;
  videoPid: number;
  /** Arrival ns of each packet starting a PAT / PMT section. */
  patNs: number[];
  pmtNs: number[];
  /** The same, timed by the output's PCR (interpolated by packet position), in ns; NaN unknown. */
  patPcrNs: number[];
  pmtPcrNs: number[];
  /** Arrival ns of each video PES start that carries a PTS. */
  videoPesNs: number[];
  /** PCR steps (ns) larger than 100 ms or negative, when no discontinuity_indicator was set. */
  badPcrSteps: number[];
  /** Each PCR of the PCR PID: its packet's index and its value (27 MHz, unwrapped). */
  pcrs: { i: number; v: number }[];
}

/**
 * Reads PAT → PMT PID, PMT → PCR PID and the first video PID, and times every PAT, PMT, video
 * PES start and PCR. Written apart from the Analyzer (ISO/IEC 13818-1 §2.4.3, §2.4.4) so the two
 * check each other. Sections are taken from their first packet (ours fit in one).
 */
export function scan(datagrams: Datagram[]): Scan {
  let pmtPid = -1;
  let pcrPid = -1;
  let videoPid = -1;
  const pat: { i: number; ns: number }[] = [];
  const pmt: { i: number; ns: number }[] = [];
  const video: number[] = [];
  const pcrs: { i: number; v: number }[] = [];
  const badPcrSteps: number[] = [];
  const WRAP = 2 ** 33 * 300;
  let idx = 0;
  let lastRaw = -1;
  let unwrapped = 0;
  for (const d of datagrams) {
    const b = d.data;
    for (let o = 0; o + 188 <= b.length; o += 188, idx++) {
      if (b[o] !== 0x47) continue;
      const pusi = (b[o + 1] & 0x40) !== 0;
      const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
      const afc = (b[o + 3] >> 4) & 3;
      let p = o + 4;
      if (afc & 2) {
        const len = b[o + 4];
        if (len > 0 && pid === pcrPid && b[o + 5] & 0x10) {
          const q = o + 6;
          const base = b[q] * 2 ** 25 + b[q + 1] * 2 ** 17 + b[q + 2] * 2 ** 9 + b[q + 3] * 2;
          const v = (base + (b[q + 4] >> 7)) * 300 + ((b[q + 4] & 1) << 8) + b[q + 5];
          const di = (b[o + 5] & 0x80) !== 0;
          if (lastRaw >= 0) {
            let step = v - lastRaw;
            if (step < -WRAP / 2) step += WRAP;
            const ns = (step / 27e6) * 1e9;
            if (!di && (ns < 0 || ns > 100e6)) badPcrSteps.push(ns);
            unwrapped += step;
          }
          lastRaw = v;
          pcrs.push({ i: idx, v: unwrapped });
        }
        p = o + 5 + len;
      }
      if (!(afc & 1) || !pusi || p >= o + 188) continue;
      if (pid === 0) {
        const s = p + 1 + b[p];
        if (b[s] === 0x00) {
          pat.push({ i: idx, ns: d.ns });
          const secLen = ((b[s + 1] & 0x0f) << 8) | b[s + 2];
          for (let e = s + 8; e + 4 <= s + 3 + secLen - 4; e += 4) {
            const prog = (b[e] << 8) | b[e + 1];
            if (prog !== 0) {
              pmtPid = ((b[e + 2] & 0x1f) << 8) | b[e + 3];
              break;
            }
          }
        }
      } else if (pid === pmtPid) {
        const s = p + 1 + b[p];
        if (b[s] === 0x02) {
          pmt.push({ i: idx, ns: d.ns });
          const secLen = ((b[s + 1] & 0x0f) << 8) | b[s + 2];
          pcrPid = ((b[s + 8] & 0x1f) << 8) | b[s + 9];
          const infoLen = ((b[s + 10] & 0x0f) << 8) | b[s + 11];
          const end = s + 3 + secLen - 4;
          for (let e = s + 12 + infoLen; e + 5 <= end;) {
            const type = b[e];
            const epid = ((b[e + 1] & 0x1f) << 8) | b[e + 2];
            if (videoPid < 0 && [0x01, 0x02, 0x1b, 0x24].includes(type)) videoPid = epid;
            e += 5 + (((b[e + 3] & 0x0f) << 8) | b[e + 4]);
          }
        }
      } else if (pid === videoPid) {
        if (b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 1 && b[p + 7] & 0x80) video.push(d.ns);
      }
    }
  }
  const pcrTime = (i: number): number => {
    // binary search for the PCR at or before packet i
    let lo = 0;
    let hi = pcrs.length - 1;
    if (pcrs.length < 2 || i < pcrs[0].i || i > pcrs[hi].i) return NaN;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pcrs[mid].i <= i) lo = mid;
      else hi = mid;
    }
    const a = pcrs[lo];
    const c = pcrs[hi];
    const v = c.i === a.i ? a.v : a.v + ((c.v - a.v) * (i - a.i)) / (c.i - a.i);
    return (v / 27e6) * 1e9;
  };
  return {
    packets: idx,
    pmtPid,
    pcrPid,
    videoPid,
    patNs: pat.map((x) => x.ns),
    pmtNs: pmt.map((x) => x.ns),
    patPcrNs: pat.map((x) => pcrTime(x.i)),
    pmtPcrNs: pmt.map((x) => pcrTime(x.i)),
    videoPesNs: video,
    badPcrSteps,
    pcrs,
  };
}

/** Where the largest gap between consecutive finite times begins (ns; NaN when none). */
export function maxGapStartNs(ns: number[]): number {
  let max = -1;
  let at = NaN;
  let prev = NaN;
  for (const x of ns) {
    if (!Number.isFinite(x)) continue;
    if (Number.isFinite(prev) && x - prev > max) {
      max = x - prev;
      at = prev;
    }
    prev = x;
  }
  return at;
}

/** An arrival time of `recording` as wall-clock ISO time, to read beside the daemon's log. */
export function wallTime(recording: Datagram[], ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  const epoch = kernelEpochMs.get(recording);
  const ms = epoch !== undefined ? epoch + ns / 1e6 : Date.now() - (nowNs() - ns) / 1e6;
  return new Date(ms).toISOString();
}

/** Largest gap between consecutive finite times, in ms (from the first to the last). */
export function maxGapMs(ns: number[]): number {
  let max = 0;
  let prev = NaN;
  for (const x of ns) {
    if (!Number.isFinite(x)) continue;
    if (Number.isFinite(prev) && x - prev > max) max = x - prev;
    prev = x;
  }
  return max / 1e6;
}

/**
 * ms from tNs until video is flowing again: the first arrival A ≥ tNs from which arrivals come
 * at most maxGapMs apart for holdMs (or until untilNs, the next failure, if sooner). Frames
 * still queued from before tNs do not count unless the flow really continues. Infinity: never.
 */
export function pictureAfterMs(
  ns: number[],
  tNs: number,
  untilNs = Infinity,
  maxGapMs = 200,
  holdMs = 1000,
): number {
  const start = ns.findIndex((v) => v >= tNs);
  if (start < 0) return Infinity;
  if (process.env.HEADEND_E2E_LOG) {
    const gaps = ns
      .slice(start)
      .map((v, i, a) => (i > 0 ? (v - a[i - 1]) / 1e6 : 0))
      .filter((g) => g > maxGapMs);
    process.stderr.write(`[picture] gaps > ${maxGapMs} ms after the event: ${gaps.join(' ')}\n`);
  }
  let a = start;
  for (let i = start + 1; i < ns.length; i++) {
    const held = ns[i - 1] - ns[a];
    if (held >= holdMs * 1e6 || ns[i - 1] >= untilNs) return (ns[a] - tNs) / 1e6;
    if (ns[i] - ns[i - 1] > maxGapMs * 1e6) a = i;
  }
  return Infinity;
}

/** ms from tNs to the first time in `ns` after it (Infinity when none). */
export function firstAfterMs(ns: number[], tNs: number): number {
  const x = ns.find((v) => v >= tNs);
  return x === undefined ? Infinity : (x - tNs) / 1e6;
}

/**
 * The output promises of a recording with failures in it: zero CC errors (1.4), no PCR step
 * without discontinuity_indicator (2.3b, and the independent scan), PCR repetition ≤ 100 ms
 * (2.3a), PAT/PMT within the PSI interval (independent scan, timed by PCR and by arrival).
 * Arrival times are the kernel's when the recorder has them (see Recorder.kernel).
 */
export function assertCleanAcrossFailures(
  t: Test,
  rec: Recorder,
  psiMs: number,
  what: string,
): { report: AnalyzerReport; scan: Scan } {
  const datagrams = rec.datagrams;
  const kernel = rec.kernel !== undefined && rec.kernel.length > 0;
  // HEADEND_E2E_DUMP=<dir>: keep the recording as a .ts file for a closer look.
  const dump = process.env.HEADEND_E2E_DUMP;
  if (dump)
    writeFileSync(
      join(dump, `${what.replace(/\W+/g, '-')}.ts`),
      Buffer.concat(datagrams.map((d) => d.data)),
    );
  const report = analyze(timed(rec));
  const user = kernel ? analyze(datagrams) : report;
  const s = scan(datagrams);
  const k = kernel ? scan(timed(rec)) : s;
  t.ok(datagrams.length > 0, `${what}: datagrams received (${datagrams.length})`);
  t.equal(report.totals.bytesSkipped, 0, `${what}: every byte in 188-byte packets`);
  for (const id of ['1.1', '1.2', '1.3', '1.4', '1.5', '2.1', '2.2', '2.3a', '2.3b']) {
    const c = check(report, id);
    t.equal(c.errors, 0, `${what}: ${id} ${c.name} = 0${c.detail ? ` (${c.detail})` : ''}`);
  }
  t.same(s.badPcrSteps, [], `${what}: no PCR step outside 0…100 ms (independent scan)`);
  const patPcr = maxGapMs(s.patPcrNs);
  const pmtPcr = maxGapMs(s.pmtPcrNs);
  const gapI = s.patPcrNs.findIndex(
    (x, i) => i > 0 && Math.abs(x - s.patPcrNs[i - 1] - patPcr * 1e6) < 1,
  );
  const gapAt = gapI > 0 ? s.patNs[gapI - 1] : NaN;
  t.ok(
    patPcr > 0 && patPcr <= psiMs + 2,
    `${what}: PAT gap by PCR ${patPcr.toFixed(1)} ms (after the PAT that arrived at ` +
      `${((gapAt - (datagrams[0]?.ns ?? 0)) / 1e6).toFixed(0)} ms)`,
  );
  t.ok(pmtPcr > 0 && pmtPcr <= psiMs + 2, `${what}: PMT gap by PCR ${pmtPcr.toFixed(1)} ms`);
  // By arrival the pacer's timing adds (and the receiver's, without kernel times): a tolerance
  // of one more PSI interval, still far below TR 101 290's 0.5 s.
  const patArr = maxGapMs(k.patNs);
  const pmtArr = maxGapMs(k.pmtNs);
  const clock = kernel ? 'kernel' : 'user-space';
  t.ok(
    patArr <= 2 * psiMs,
    `${what}: PAT gap by ${clock} arrival ${patArr.toFixed(1)} ms (after ${wallTime(timed(rec), maxGapStartNs(k.patNs))})`,
  );
  t.ok(
    pmtArr <= 2 * psiMs,
    `${what}: PMT gap by ${clock} arrival ${pmtArr.toFixed(1)} ms (after ${wallTime(timed(rec), maxGapStartNs(k.pmtNs))})`,
  );
  t.comment(
    `${what}: ${datagrams.length} datagrams, ${report.totals.durationSec.toFixed(1)} s, ` +
      `P1 ${report.priority1Errors} P2 ${report.priority2Errors} [${failing(report)}] by ${clock} ` +
      `arrival${kernel ? ` (user-space: P1 ${user.priority1Errors} P2 ${user.priority2Errors} [${failing(user)}])` : ''}, ` +
      `PAT/PMT max gap by PCR ${patPcr.toFixed(1)}/${pmtPcr.toFixed(1)} ms, by arrival ` +
      `${patArr.toFixed(1)}/${pmtArr.toFixed(1)} ms, video PES max gap ` +
      `${maxGapMs(s.videoPesNs).toFixed(0)} ms`,
  );
  return { report, scan: s };
}

/** Analyzer report of a recording, on kernel arrival times when there are some. */
export function analyzeRecording(rec: Recorder): AnalyzerReport {
  return analyze(timed(rec));
}

// ------------------------------------------------------------------ ffprobe / ffmpeg

export interface ProbeOut {
  programs?: {
    program_id?: number;
    tags?: Record<string, string>;
    streams?: { codec_type: string; codec_name?: string; width?: number; height?: number }[];
  }[];
  streams?: { codec_type: string; codec_name?: string; width?: number; height?: number }[];
}

/** Runs `headend ARGS…` to its end: exit code (0 on success), stdout and stderr. */
export function runCli(
  args: string[],
  o: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: o.timeoutMs ?? 60_000, cwd: o.cwd },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** ffprobe on a multicast group: programs with service_name and streams with codec/size. */
export function ffprobeJson(group: string, port: number, timeoutSec = 8): Promise<ProbeOut> {
  const url = `udp://${group}:${port}?timeout=${timeoutSec * 1_000_000}&localaddr=${IFACE}`;
  const args = [
    ...['-v', 'error', '-of', 'json'],
    ...['-show_entries', 'program=program_id:program_tags=service_name'],
    ...['-show_entries', 'stream=codec_type,codec_name,width,height', url],
  ];
  return new Promise((resolve, reject) => {
    const child = execFile(
      FFPROBE,
      args,
      { timeout: (timeoutSec + 10) * 1000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ffprobe ${url}: ${err.message} ${stderr}`));
        try {
          resolve(JSON.parse(stdout) as ProbeOut);
        } catch (e) {
          reject(new Error(`ffprobe ${url}: bad JSON ${String(e)}: ${stdout}`));
        }
      },
    );
    // The probe decodes video on the same 2 cores as the daemon it judges: at nice 10 (as the
    // daemon's own ffmpeg children) it cannot hold the pacing thread off the CPU.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 10);
      } catch (err) {
        // Only a probe that already exited (ESRCH) is fine here.
        if ((err as { code?: string }).code !== 'ESRCH') throw err;
      }
    }
  });
}

/** Runs ffmpeg to completion (quiet, overwriting); throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** A small H.264/AAC test clip in MPEG-TS: `seconds` of `pattern` at `size`, `rate` fps (25), ~300k. */
export function renderClip(
  file: string,
  seconds: number,
  opts: { pattern?: string; size?: string; rate?: number } = {},
): void {
  const rate = opts.rate ?? 25;
  ffmpeg([
    ...[
      '-f',
      'lavfi',
      '-i',
      `${opts.pattern ?? 'testsrc'}=size=${opts.size ?? '320x180'}:rate=${rate}`,
    ],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(seconds), '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(rate), '-pix_fmt', 'yuv420p'],
    ...['-b:v', '300k', '-maxrate', '300k', '-bufsize', '300k'],
    ...['-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', file],
  ]);
}

// ------------------------------------------------------------------ sending

export type SendMode = 'ts' | 'garbage' | 'silent';

/**
 * Sends a TS file to group:port from 127.0.0.1 (TTL 1) in real time: 7 packets per datagram,
 * each datagram due at the time of the latest PCR (first PCR PID seen) at or before it. Loops
 * at the end (re-anchored). In 'garbage' mode random bytes of the same sizes go out on the same
 * schedule (the file advances as if the feed was corrupted on the way); 'silent' sends nothing.
 */
export class TsSender {
  mode: SendMode = 'ts';
  sent = 0;
  private readonly chunks: Buffer[] = [];
  private readonly due27: number[] = [];
  private readonly sock: Socket;
  private timer: NodeJS.Timeout | undefined;
  private k = 0;
  private anchorNs = 0;
  private stopped = false;

  constructor(
    file: string,
    private readonly group: string,
    private readonly port: number,
  ) {
    const b = readFileSync(file);
    let pcrPid = -1;
    let last = -1;
    let first = -1;
    for (let o = 0; o + 188 * 7 <= b.length; o += 188 * 7) {
      for (let q = o; q < o + 188 * 7; q += 188) {
        const pid = ((b[q + 1] & 0x1f) << 8) | b[q + 2];
        const afc = (b[q + 3] >> 4) & 3;
        if (afc & 2 && b[q + 4] > 0 && b[q + 5] & 0x10 && (pcrPid < 0 || pid === pcrPid)) {
          pcrPid = pid;
          const base = b[q + 6] * 2 ** 25 + b[q + 7] * 2 ** 17 + b[q + 8] * 2 ** 9 + b[q + 9] * 2;
          const v = (base + (b[q + 10] >> 7)) * 300;
          if (first < 0) first = v;
          last = v - first;
        }
      }
      this.chunks.push(b.subarray(o, o + 188 * 7));
      this.due27.push(Math.max(0, last));
    }
    this.sock = createSocket({ type: 'udp4' });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, IFACE, () => r()));
    this.sock.setMulticastInterface(IFACE);
    this.sock.setMulticastTTL(1);
    this.sock.setMulticastLoopback(true);
    this.anchorNs = nowNs();
    this.k = 0;
    this.loop();
  }

  private loop(): void {
    if (this.stopped) return;
    const now = nowNs();
    for (;;) {
      if (this.k >= this.chunks.length) {
        this.k = 0;
        this.anchorNs = now;
      }
      const due = this.anchorNs + (this.due27[this.k] / 27e6) * 1e9;
      if (due > now) {
        this.timer = setTimeout(() => this.loop(), Math.max(1, (due - now) / 1e6));
        return;
      }
      const c = this.chunks[this.k++];
      if (this.mode === 'ts') this.sock.send(c, this.port, this.group);
      else if (this.mode === 'garbage')
        this.sock.send(randomBytes(c.length), this.port, this.group);
      this.sent++;
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    return new Promise((r) => this.sock.close(() => r()));
  }
}

/**
 * Each video frame of a recording: its width, the arrival time of the datagram its first packet
 * came in (ffprobe -show_frames: pkt_pos is the byte offset of the frame's PES start), and when
 * a receiver shows it: its PTS on the receiver's clock, which follows the PCRs as they arrive
 * (ISO/IEC 13818-1 §2.4.2.2), so the arrival of the PCR equal to the PTS, extrapolated from the
 * last PCR before it. A frame is shown after it arrives by the stream's decode delay.
 */
export function frameWidths(
  rec: Recorder,
  dir: string,
  name: string,
): { ns: number; shownNs: number; width: number }[] {
  const d = rec.datagrams;
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, Buffer.concat(d.map((x) => x.data)));
  const starts: number[] = [];
  const pcrs: { ns: number; pcr: number }[] = [];
  let pcrPid = -1;
  let at = 0;
  for (const x of d) {
    starts.push(at);
    at += x.data.length;
    const b = x.data;
    for (let q = 0; q + 188 <= b.length; q += 188) {
      const pid = ((b[q + 1] & 0x1f) << 8) | b[q + 2];
      if (!(b[q + 3] & 0x20 && b[q + 4] > 0 && b[q + 5] & 0x10)) continue;
      if (pcrPid < 0) pcrPid = pid;
      if (pid !== pcrPid) continue;
      const base = b[q + 6] * 2 ** 25 + b[q + 7] * 2 ** 17 + b[q + 8] * 2 ** 9 + b[q + 9] * 2;
      pcrs.push({ ns: x.ns, pcr: (base + (b[q + 10] >> 7)) * 300 });
    }
  }
  const r = spawnSync(
    FFPROBE,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=width,pkt_pos,pts',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const frames =
    (
      JSON.parse(r.stdout || '{}') as {
        frames?: { width?: number; pkt_pos?: string; pts?: number }[];
      }
    ).frames ?? [];
  const wrap = 2 ** 33 * 300;
  const out: { ns: number; shownNs: number; width: number }[] = [];
  for (const f of frames) {
    const pos = Number(f.pkt_pos);
    if (f.width === undefined || !Number.isFinite(pos)) continue;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    // The last PCR at or before the PTS (modulo the 33-bit wrap), up to 2 s before it.
    const pts27 = (Number(f.pts) * 300) % wrap;
    let shownNs = NaN;
    for (const p of pcrs) {
      const ahead = (pts27 - p.pcr + wrap) % wrap;
      if (ahead <= 2 * 27e6) shownNs = p.ns + ahead / 0.027;
      else if (Number.isFinite(shownNs)) break;
    }
    out.push({ ns: d[lo].ns, shownNs, width: f.width });
  }
  return out;
}

/** ms from `tNs` to when the first frame of `width` arriving after it is shown (Infinity: none). */
export function firstFrameMs(
  frames: { ns: number; shownNs: number; width: number }[],
  tNs: number,
  width: number,
): number {
  const f = frames.find((x) => x.ns >= tNs && x.width === width);
  return f === undefined || !Number.isFinite(f.shownNs) ? Infinity : (f.shownNs - tNs) / 1e6;
}

/** The codec types ffprobe finds at `url` (HTTP, HLS…), comma-separated lines ("video\naudio"). */
export function probeKinds(url: string, timeoutMs = 30_000): Promise<string> {
  const args = ['-v', 'error', '-rw_timeout', '8000000'];
  args.push('-show_entries', 'stream=codec_type', '-of', 'csv=p=0', url);
  return new Promise((resolve, reject) =>
    execFile(FFPROBE, args, { timeout: timeoutMs }, (e, out) => (e ? reject(e) : resolve(out))),
  );
}

/** An HTTP reply read whole (a stream: what came in readMs). */
export interface HttpGot {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One HTTP request to 127.0.0.1:`port` from `from` (a second loopback address of the private
 * namespace, default 127.0.0.1), a bearer token in the header when given; a stream is read for
 * `readMs`, then closed.
 */
export function httpGet(
  port: number,
  path: string,
  o: { from?: string; token?: string; method?: string; body?: string; readMs?: number } = {},
): Promise<HttpGot> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        localAddress: o.from ?? '127.0.0.1',
        headers,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        const done = (): void =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          });
        res.on('end', done);
        res.on('close', done);
        if (o.readMs !== undefined) setTimeout(() => res.destroy(), o.readMs);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * The sizes of the datagrams a channel sent, a datagram the burst limit sent in two parts
 * (burst-limit.ts rule 2: consecutive datagrams smaller than `size` that add up to it) counted
 * once at `size`. A part alone at either end of the list (its other part outside it) is left out,
 * and so are the parts before the first datagram of at least `size`: a list that begins with
 * the rest of a datagram would pair each rest with the next one's first part, and a run of parts
 * that ends in a whole datagram would leave its last part alone (a recording begun while the
 * channel caught up after its start: CI).
 */
export function datagramSizes(list: readonly { data: Uint8Array }[], size: number): Set<number> {
  const out = new Set<number>();
  let first = 0;
  while (first < list.length && list[first].data.length < size) first++;
  if (first === list.length) first = 0; // no whole datagram at all: pair from the start
  for (let i = first; i < list.length; i++) {
    const n = list[i].data.length;
    if (n < size && i + 1 < list.length && n + list[i + 1].data.length === size) {
      out.add(size);
      i++;
    } else if (!(n < size && (i === first || i === list.length - 1))) out.add(n);
  }
  return out;
}
