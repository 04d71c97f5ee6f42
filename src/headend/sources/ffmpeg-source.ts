// A run that is an ffmpeg child writing MPEG-TS to stdout. stderr lines become 'ffmpeg'
// events (rate-limited); exit or spawn failure ends the run. The child is started under
// `setpriv --pdeathsig KILL` where available, so it dies with the daemon even on SIGKILL.

import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { accessSync, constants } from 'node:fs';
import { LineSplitter, parseStderrLine, RateLimiter } from './stderr-log.js';
import type { RunContext, SourceRun } from './run.js';

export interface FfmpegRunOptions {
  ffmpegPath: string;
  args: string[];
  /** Command prefix (deathSignalWrapper()). */
  wrapper: string[];
  /** Shared across runs of one source so that a crash loop is not a flood. */
  limiter: RateLimiter;
  /** Grace after SIGTERM before SIGKILL. Default 1500 ms. */
  killAfterMs?: number;
}

export function startFfmpeg(opts: FfmpegRunOptions, ctx: RunContext): SourceRun {
  try {
    // Checked here: behind the wrapper a missing binary would look like an exit (code 127).
    accessSync(opts.ffmpegPath, constants.X_OK);
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    queueMicrotask(() => ctx.ended('spawn', `cannot start ${opts.ffmpegPath}: ${code}`));
    return { pid: undefined, persistent: false, stop: () => Promise.resolve() };
  }
  const [cmd, ...pre] = opts.wrapper.length > 0 ? opts.wrapper : [opts.ffmpegPath];
  const argv = opts.wrapper.length > 0 ? [...pre, opts.ffmpegPath, ...opts.args] : opts.args;
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  lowerPriority(child.pid, ctx);
  let exited = false;
  let stopping = false;
  let lastError = '';
  const exitWaiters: (() => void)[] = [];

  const finish = (): void => {
    exited = true;
    for (const w of exitWaiters.splice(0)) w();
  };

  const lines = new LineSplitter((line) => {
    const l = parseStderrLine(line);
    if (l.level === 'error') lastError = l.message;
    const held = opts.limiter.admit(l.message, Date.now());
    if (held < 0 || stopping) return;
    const extra: Record<string, unknown> = {};
    if (l.ffmpegLevel !== undefined) extra.ffmpegLevel = l.ffmpegLevel;
    if (l.context !== undefined) extra.context = l.context;
    if (held > 0) extra.repeated = held;
    ctx.event(l.level, 'ffmpeg', l.message, extra);
  });

  child.stdout.on('data', (chunk: Buffer) => {
    if (!stopping) ctx.data(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => lines.push(chunk));
  child.on('error', (err) => {
    // Spawn failure (ENOENT, EACCES): no 'exit' follows.
    if (child.pid === undefined) {
      finish();
      if (!stopping) ctx.ended('spawn', `cannot start ${opts.ffmpegPath}: ${err.message}`);
    }
  });
  child.on('exit', (code, signal) => {
    lines.end();
    finish();
    if (stopping) return;
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    ctx.ended('exit', `ffmpeg ${how}${lastError !== '' ? `: ${lastError}` : ''}`);
  });

  return {
    pid: child.pid,
    persistent: false,
    stop(sig = 'SIGTERM') {
      stopping = true;
      if (exited || child.pid === undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        exitWaiters.push(resolve);
        child.kill(sig);
        if (sig !== 'SIGKILL') {
          const t = setTimeout(() => {
            if (!exited) child.kill('SIGKILL');
          }, opts.killAfterMs ?? 1500);
          t.unref();
          exitWaiters.push(() => clearTimeout(t));
        }
      });
    },
  };
}

/**
 * ffmpeg children run at nice FFMPEG_NICE: on a small box their encoding must not take the CPU
 * from the pacing thread, whose sends are due within microseconds, while a source has the
 * output's latency (400 ms) to spare. Lowering a child's own priority needs no privilege.
 */
export const FFMPEG_NICE = 10;

function lowerPriority(pid: number | undefined, ctx: RunContext): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, FFMPEG_NICE);
  } catch (err) {
    ctx.event('warn', 'nice-failed', `could not lower ffmpeg's priority: ${String(err)}`);
  }
}
