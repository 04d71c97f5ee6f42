// A run of a local DVB adapter (Linux DVB API): dvbv5-zap tunes the frontend and stays
// tuned, printing its statistics each second (zap-args.ts, zap-status.ts); once it reports a
// lock, the demux helper (scripts/dvb-demux.py: DMX_SET_PES_FILTER / DMX_ADD_PID on the
// demux device, TS from the dvr device on its stdout) passes exactly the PIDs the channels on
// this tuner need (tuners/pids.ts), updated when they change.
//
// Failures end the run with reason 'tuner' and a message naming the tuner and the device:
// adapter missing, permission denied (the video group), busy, no lock within tune_timeout,
// lock lost for longer than that, zap or helper exited. The supervisor restarts with backoff.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter } from '../../sources/stderr-log.js';
import type { RunContext, SourceRun } from '../../sources/run.js';
import { TunerPids } from '../pids.js';
import type { DvbTunerSpec, TunerStatus } from '../types.js';
import { channelFile, zapArgs } from './zap-args.js';
import { explainZapError, parseZapStatus } from './zap-status.js';

/** scripts/dvb-demux.py of this package (dist/src/headend/tuners/dvb → the package root). */

/** How much longer the tune timeout waits for a zap that has printed nothing yet. */
const ZAP_START_GRACE_MS = 10_000;
export const DEMUX_HELPER = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  '..',
  'scripts',
  'dvb-demux.py',
);

export interface DvbRunOptions {
  /** The demux helper (default DEMUX_HELPER); a test's stand-in. */
  demux?: string;
  /** Grace after SIGTERM before SIGKILL. Default 1000 ms. */
  killAfterMs?: number;
}

export function startDvb(spec: DvbTunerSpec, ctx: RunContext, opts: DvbRunOptions = {}): SourceRun {
  const adapterDir = `${spec.devices}/adapter${spec.adapter}`;
  const frontend = `${adapterDir}/frontend${spec.frontend}`;
  const name = `tuner ${spec.id} (${frontend})`;
  const children: ChildProcess[] = [];
  let ended = false;
  let stopping = false;
  let locked = false;
  let lastLockAt = 0;
  let watchdog: NodeJS.Timeout | undefined;
  let confDir: string | undefined;
  let pids: TunerPids | undefined;

  const end = (reason: 'tuner' | 'open' | 'spawn' | 'exit', message: string): void => {
    if (ended || stopping) return;
    ended = true;
    ctx.ended(reason, `${name}: ${message}`);
    // Ended by itself: the supervisor has nothing to stop, so the children go now.
    void cleanup('SIGTERM');
  };
  const cleanup = async (signal: NodeJS.Signals): Promise<void> => {
    stopping = true;
    clearInterval(watchdog);
    pids?.close();
    await Promise.all(children.map((c) => stopChild(c, signal, opts.killAfterMs ?? 1000)));
    if (confDir !== undefined) rmSync(confDir, { recursive: true, force: true });
    confDir = undefined;
  };

  // The device nodes first: a clear message instead of zap's.
  try {
    accessSync(frontend, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? `adapter missing: no ${frontend} (is the driver loaded? ls ${spec.devices})`
        : code === 'EACCES' || code === 'EPERM'
          ? (explainZapError('permission denied', frontend) as string)
          : `cannot open ${frontend}: ${code ?? String(err)}`;
    queueMicrotask(() => end(code === 'ENOENT' ? 'open' : 'tuner', why));
    return { pid: undefined, persistent: false, stop: () => Promise.resolve() };
  }

  confDir = mkdtempSync(join(tmpdir(), `headend-dvb-${spec.id}-`));
  const conf = join(confDir, 'channel.conf');
  writeFileSync(conf, channelFile(spec.tuning));
  const env = { ...process.env, HEADEND_DVB_DEVICES: spec.devices };
  const zap = spawn(spec.zap, zapArgs(spec, conf), { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(zap);
  // The tune timeout runs from zap's first line (it prints one as soon as it runs, before it
  // opens the frontend): on a loaded box starting the program can take longer than the
  // timeout, and that must not read as "no lock" when zap then reports, say, a busy frontend.
  // A zap that prints nothing at all gets ZAP_START_GRACE_MS more.
  const spawnedAt = Date.now();
  let tuneStart = NaN;
  const describeTune = describeTuning(spec);
  ctx.event('info', 'tune', `${name}: tuning ${describeTune}`, { zapPid: zap.pid });

  let lastError = '';
  const lines = new LineSplitter((line) => {
    if (Number.isNaN(tuneStart)) tuneStart = Date.now();
    const status = parseZapStatus(line);
    if (status !== undefined) return onStatus(status);
    const why = explainZapError(line, frontend);
    if (why !== undefined) lastError = why;
    else if (/error/i.test(line)) lastError = line.trim();
    if (!stopping && line.trim() !== '') ctx.event('info', 'zap', line.trim());
  });
  zap.stderr?.on('data', (c: Buffer) => lines.push(c));
  zap.on('error', (err) => end('spawn', `cannot start ${spec.zap}: ${err.message}`));
  zap.on('exit', (code, signal) => {
    if (lastError === 'no lock') {
      end('tuner', `no lock on ${describeTune}`);
    } else {
      end(
        'tuner',
        lastError !== '' ? lastError : `${spec.zap} exited (${signal ?? `code ${code}`})`,
      );
    }
  });

  const onStatus = (s: TunerStatus): void => {
    ctx.tuner(s);
    if (s.lock) {
      lastLockAt = s.at;
      if (!locked) {
        locked = true;
        ctx.event('info', 'lock', `${name}: locked on ${describeTune}`, {
          afterMs: s.at - (Number.isNaN(tuneStart) ? spawnedAt : tuneStart),
        });
        if (pids === undefined) startDemux();
      }
    } else if (locked) {
      locked = false;
      ctx.event('warn', 'lock-lost', `${name}: lost lock on ${describeTune}`);
    }
  };

  // No lock within the timeout after the tune, or lost for that long: the tuner failed.
  watchdog = setInterval(() => {
    const now = Date.now();
    const from = Number.isNaN(tuneStart) ? spawnedAt + ZAP_START_GRACE_MS : tuneStart;
    if (!locked && lastLockAt === 0 && now - from > spec.tuneTimeoutMs) {
      end('tuner', `no lock on ${describeTune} after ${spec.tuneTimeoutMs / 1000} s`);
    } else if (!locked && lastLockAt > 0 && now - lastLockAt > spec.tuneTimeoutMs) {
      end('tuner', `lost lock on ${describeTune} for ${spec.tuneTimeoutMs / 1000} s`);
    }
  }, 250);

  const startDemux = (): void => {
    const helper = opts.demux ?? DEMUX_HELPER;
    const dmx = spawn(helper, [adapterDir, String(spec.frontend)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    children.push(dmx);
    const tracker = new TunerPids(ctx, (set) => {
      dmx.stdin?.write(`pids ${set.join(' ')}\n`);
      ctx.event('info', 'pids', `${name}: PID filter ${set.length} PIDs`, { pids: set });
    });
    pids = tracker;
    dmx.stdin?.write(`pids ${tracker.pids.join(' ')}\n`);
    dmx.stdin?.on('error', () => undefined); // an exit is reported by 'exit'
    let dmxError = '';
    const dlines = new LineSplitter((line) => {
      const t = line.trim();
      if (t === '') return;
      if (t.startsWith('error:')) dmxError = t.slice(6).trim();
      ctx.event(t.startsWith('error:') ? 'error' : 'warn', 'demux', t);
    });
    dmx.stderr?.on('data', (c: Buffer) => dlines.push(c));
    dmx.stdout?.on('data', (chunk: Buffer) => {
      if (stopping) return;
      tracker.push(chunk);
      ctx.data(chunk);
    });
    dmx.on('error', (err) => end('spawn', `cannot start ${helper}: ${err.message}`));
    dmx.on('exit', (code, signal) => {
      const why = explainZapError(dmxError, `${adapterDir}/demux${spec.frontend}`);
      end('tuner', why ?? (dmxError || `demux helper exited (${signal ?? `code ${code}`})`));
    });
  };

  return {
    pid: undefined, // not an ffmpeg child
    persistent: false,
    stop: (signal = 'SIGTERM') => cleanup(signal),
  };
}

function stopChild(c: ChildProcess, signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), killAfterMs);
    c.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.stdin?.end();
    c.kill(signal);
  });
}

/** "11494 MHz H dvbs2 22000 kS/s" for log lines. */
export function describeTuning(spec: DvbTunerSpec): string {
  const t = spec.tuning;
  const parts = [`${+(t.frequencyHz / 1e6).toFixed(3)} MHz`];
  if (t.polarization !== undefined) parts.push(t.polarization.toUpperCase());
  parts.push(t.delivery);
  if (t.symbolRate !== undefined) parts.push(`${t.symbolRate / 1000} kS/s`);
  if (t.plp !== undefined) parts.push(`PLP ${t.plp}`);
  return parts.join(' ');
}
