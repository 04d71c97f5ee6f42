// A source run that reads an HDHomeRun channel natively: resolve the device (discover.ts),
// GET http://<host>:<port>/auto/v<channel> (SiliconDust's HTTP API; the device tunes a free
// tuner and answers with the multiplex as MPEG-TS) and push the body to the context; while it
// streams, poll /status.json every ~2 s for the tuner's signal. Implements run.ts's SourceRun:
//
//   200                  stream; the body ends → 'exit'
//   503 / 404 / 403 / …  → 'tuner': `tuner <id>: HDHomeRun <device> busy (503 805 All Tuners In Use)`
//   refused, unknown host, no discovery reply, no answer → 'open'
//
// The supervisor backs off after each failure; a stall kills the run (persistent: false) and
// the next run asks the device again.

import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { fromSystemError, isHeadendError } from '../../errors.js';
import type { RunContext, SourceRun } from '../../sources/run.js';
import type { FailureReason } from '../../sources/types.js';
import type { HdhomerunTunerSpec } from '../types.js';
import {
  defaultDirectory,
  deviceName,
  type DeviceDirectory,
  type DeviceInfo,
  type DiscoverOptions,
} from './discover.js';
import { firstLine, getJson } from './http.js';
import { parseStatus, pickTuner, toTunerStatus } from './status.js';

export interface HdhomerunOptions {
  /** Where discovery asks for a device id (interface, unicast targets, port); a tuner's own
   * `discover:` address replaces the broadcast. */
  discovery?: DiscoverOptions;
  /** The lookup cache; default one shared by every run. */
  directory?: DeviceDirectory;
  /** /status.json poll period. Default 2000 ms. */
  statusEveryMs?: number;
  /** Connect to first answer of /auto/v<channel>. Default 5000 ms. */
  answerTimeoutMs?: number;
}

/**
 * Where this tuner's discovery goes: the spec's `discover` address (a directed broadcast or a
 * unicast address) replaces the broadcast; the hub's options give the rest.
 */
export function discoveryFor(
  spec: HdhomerunTunerSpec,
  opts: HdhomerunOptions,
): DiscoverOptions & { streamPort: number } {
  const base = { ...opts.discovery, streamPort: spec.port };
  if (spec.discover === undefined) return base;
  return { ...base, broadcast: false, targets: [spec.discover, ...(base.targets ?? [])] };
}

/** The stream URL of a channel on a device. */
export function streamUrl(dev: DeviceInfo, spec: HdhomerunTunerSpec): string {
  const host = dev.host.includes(':') ? `[${dev.host}]` : dev.host;
  return `http://${host}:${spec.port}/auto/v${encodeURIComponent(spec.channel)}`;
}

export function startHdhomerun(
  spec: HdhomerunTunerSpec,
  ctx: RunContext,
  opts: HdhomerunOptions = {},
): SourceRun {
  const directory = opts.directory ?? defaultDirectory;
  const ac = new AbortController();
  let stopping = false;
  let finished = false;
  let req: ClientRequest | undefined;
  let statusTimer: NodeJS.Timeout | undefined;

  const cleanup = (): void => {
    clearInterval(statusTimer);
    statusTimer = undefined;
    req?.destroy();
  };
  const end = (reason: FailureReason, message: string): void => {
    if (stopping || finished) return;
    finished = true;
    cleanup();
    ctx.ended(reason, message);
  };

  const pollStatus = (dev: DeviceInfo, address: string | undefined): void => {
    let busy = false;
    const poll = async (): Promise<void> => {
      if (busy || stopping || finished) return;
      busy = true;
      const url = `${dev.baseUrl}/status.json`;
      const doc = await getJson(url, { timeoutMs: 1500, signal: ac.signal });
      busy = false;
      if (stopping || finished || isHeadendError(doc)) return; // no reading this time
      if (!doc.found) {
        clearInterval(statusTimer);
        statusTimer = undefined;
        ctx.event(
          'info',
          'tuner-status',
          `HDHomeRun ${deviceName(dev)} has no ${url}: no signal readings`,
        );
        return;
      }
      const mine = pickTuner(parseStatus(doc.value), { address, channel: spec.channel });
      if (mine !== undefined) ctx.tuner(toTunerStatus(mine, Date.now()));
    };
    statusTimer = setInterval(() => void poll(), opts.statusEveryMs ?? 2000);
    statusTimer.unref();
    void poll();
  };

  const stream = (dev: DeviceInfo): Promise<void> =>
    new Promise<void>((resolve) => {
      const url = streamUrl(dev, spec);
      const name = `HDHomeRun ${deviceName(dev)}`;
      const timeoutMs = opts.answerTimeoutMs ?? 5000;
      let r: ClientRequest;
      try {
        r = request(url, { agent: false, signal: ac.signal, headers: { 'user-agent': 'headend' } });
      } catch (err) {
        end(
          'open',
          `tuner ${spec.id}: ${fromSystemError('E_NET', `cannot GET ${url}`, err).message}`,
        );
        resolve();
        return;
      }
      req = r;
      let answered = false;
      const timer = setTimeout(() => {
        directory.forget(spec.device);
        end('open', `tuner ${spec.id}: ${name} did not answer ${url} within ${timeoutMs} ms`);
      }, timeoutMs);
      r.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      r.on('error', (err) => {
        clearTimeout(timer);
        if (answered) {
          end(
            'exit',
            `tuner ${spec.id}: ${name} broke off channel ${spec.channel}: ${err.message}`,
          );
          return;
        }
        // The device may have a new address: ask discovery again next time.
        directory.forget(spec.device);
        end(
          'open',
          `tuner ${spec.id}: ${fromSystemError('E_NET', `cannot reach ${name} at ${url}`, err).message}`,
        );
      });
      r.on('response', (res) => {
        clearTimeout(timer);
        answered = true;
        if (res.statusCode !== 200) {
          refused(res, name);
          return;
        }
        ctx.event('info', 'open', `streaming ${url} from ${name}`, {
          device: dev.id,
          host: dev.host,
        });
        pollStatus(dev, res.socket.localAddress);
        res.on('data', (chunk: Buffer) => {
          if (!stopping && !finished) ctx.data(chunk);
        });
        res.on('end', () => end('exit', `tuner ${spec.id}: ${name} ended channel ${spec.channel}`));
        res.on('error', (err) =>
          end(
            'exit',
            `tuner ${spec.id}: ${name} broke off channel ${spec.channel}: ${err.message}`,
          ),
        );
      });
      r.end();
    });

  /** A non-200 answer: read a little of the body for the reason, then end with 'tuner'. */
  const refused = (res: IncomingMessage, name: string): void => {
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      const header = res.headers['x-hdhomerun-error'];
      const detail =
        (typeof header === 'string' ? header : '') ||
        firstLine(Buffer.concat(chunks).toString('utf8')) ||
        (res.statusMessage ?? '');
      const what =
        status === 503
          ? 'busy'
          : status === 404
            ? `has no channel ${spec.channel}`
            : status === 403
              ? `refused channel ${spec.channel}`
              : `failed on channel ${spec.channel}`;
      end('tuner', `tuner ${spec.id}: ${name} ${what} (${`${status} ${detail}`.trim()})`);
    };
    res.on('data', (c: Buffer) => {
      if (size < 4096) chunks.push(c);
      size += c.length;
    });
    res.on('end', finish);
    res.on('error', finish);
  };

  const done = (async () => {
    const dev = await directory.resolve(spec.device, discoveryFor(spec, opts), ac.signal);
    if (stopping || finished) return;
    if (isHeadendError(dev)) {
      end('open', `tuner ${spec.id}: ${dev.message}`);
      return;
    }
    await stream(dev);
  })().catch((err: unknown) => {
    end('open', `tuner ${spec.id}: ${err instanceof Error ? err.message : String(err)}`);
  });

  return {
    pid: undefined,
    persistent: false,
    async stop() {
      stopping = true;
      cleanup();
      ac.abort();
      await Promise.race([done, new Promise<void>((r) => setTimeout(r, 1000).unref())]);
    },
  };
}
