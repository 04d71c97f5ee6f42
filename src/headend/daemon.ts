// The daemon: `headend run`. Loads channels.yaml (every error at file:line:column, and it does
// not start on an invalid file), opens one SourceHub (sources shared by key) and one Pacer (one
// pacing loop on a worker thread for all outputs), builds a Channel per entry, and runs until
// SIGTERM/SIGINT, then stops every channel, source and ffmpeg child and exits 0. A channel that
// cannot be built or whose sources never work is logged and never disturbs the others.

import { findConfigFile, loadConfigFile, formatConfigError } from './config/index.js';
import type { HeadendSpec } from './config/index.js';
import { SourceHub, resolveFfmpeg } from './sources/index.js';
import { Pacer } from '../scheduler/pacer.js';
import { OUTPUT_MODULE } from './output/output.js';
import { Channel } from './channel/channel.js';
import type { Logger } from './log.js';
import { createNotifier, type Notifier } from './notify.js';

export interface DaemonOptions {
  configFile?: string;
  log: Logger;
  /** Resolves when the daemon should stop (default: SIGTERM or SIGINT). */
  stopSignal?: Promise<void>;
  /** systemd notifications (default: from NOTIFY_SOCKET; a no-op without it). */
  notify?: Notifier;
}

export interface RunningDaemon {
  config: HeadendSpec;
  channels: Channel[];
  stop(): Promise<void>;
}

/** Loads the configuration and starts every channel; returns null (errors logged) on a bad file. */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon | null> {
  const { log } = opts;
  const file = findConfigFile(opts.configFile);
  if (typeof file !== 'string') {
    log.log('error', 'config-error', { message: formatConfigError(file) });
    return null;
  }
  const loaded = await loadConfigFile(file);
  if ('errors' in loaded) {
    for (const e of loaded.errors)
      log.log('error', 'config-error', { message: formatConfigError(e) });
    return null;
  }
  const config = loaded.config;
  const ffmpeg = resolveFfmpeg(config.ffmpeg);
  if ('error' in ffmpeg) {
    log.log('warn', 'ffmpeg-missing', { message: ffmpeg.error });
  } else {
    log.log('info', 'ffmpeg', { path: ffmpeg.path, from: ffmpeg.from });
  }
  const hub = new SourceHub({
    ffmpegPath: 'error' in ffmpeg ? undefined : ffmpeg.path,
    log: (e) => {
      const { level, event, ...rest } = e;
      log.log(level, `source-${event}`, rest);
    },
  });
  const pacer = new Pacer({ outputModule: OUTPUT_MODULE });
  const channels: Channel[] = [];
  config.channels.forEach((spec, i) => {
    try {
      const ch = new Channel(spec, { hub, pacer, log, staggerIndex: i });
      ch.start();
      channels.push(ch);
    } catch (err) {
      log.log('error', 'channel-error', {
        channel: `${spec.number} ${spec.name}`,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  });
  log.log('info', 'ready', { config: file, channels: channels.length, name: config.name });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.log('info', 'stopping');
      await Promise.allSettled(channels.map((c) => c.stop()));
      await hub.close();
      await pacer.close();
      log.log('info', 'stopped');
    })();
    return stopping;
  };
  return { config, channels, stop };
}

/** `headend run`: runs until SIGTERM/SIGINT; resolves to the exit status. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const notify = opts.notify ?? createNotifier({ log: opts.log });
  const d = await startDaemon(opts);
  if (!d) {
    notify.status('configuration error: not started');
    await notify.flush();
    return 1;
  }
  notify.ready(`${d.channels.length} channels`);
  const signal =
    opts.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
  await signal;
  notify.stopping('stopping');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
  const result = await Promise.race([d.stop().then(() => 'ok' as const), timeout]);
  if (result === 'timeout')
    opts.log.log('warn', 'stop-timeout', { message: 'stopped after 5 s with work left' });
  await notify.flush();
  notify.close();
  return 0;
}
