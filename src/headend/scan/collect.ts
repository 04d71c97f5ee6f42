// Tunes the transponders of a scan one after the other: each is opened through its own
// SourceHub as a tuner source that passes every program (service 0 = ALL_SERVICES, so a
// hardware PID filter lets every PMT and stream through), read by a ServiceScanner until the
// scan is complete (PAT, PMTs, SDT, NIT or its bounded wait) or the per-transponder timeout,
// then closed (the hub waits for its children: the adapter is free before the next tune).

import { sourceKey } from '../config/resolve.js';
import { SourceHub, resolveFfmpeg } from '../sources/index.js';
import type { SourceEvent } from '../sources/types.js';
import type { HdhomerunOptions } from '../tuners/hdhomerun/run.js';
import { ALL_SERVICES } from '../../mpegts/pid-plan.js';
import { ServiceScanner, type ServiceScanResult } from '../../mpegts/service-scan.js';
import type { Transponder } from './target.js';

export interface TransponderScan {
  transponder: Transponder;
  result: ServiceScanResult;
  /** The scan ended by the timeout, not complete. */
  timedOut: boolean;
  /** The tuner's last failure (no lock, device missing, …), when it had one. */
  failure?: string;
}

export interface CollectOptions {
  /** Longest time per transponder, ms. */
  timeoutMs: number;
  /** Read this long more once complete (for bitrates; default 0). */
  settleMs?: number;
  /** NIT wait once the rest is complete (ServiceScanner's default when absent). */
  nitWaitMs?: number;
  signal?: AbortSignal;
  /** Source events (error level: the tuner's failures). */
  log?: (e: SourceEvent) => void;
  /** HDHomeRun tuners: where discovery asks (--discover). */
  hdhomerun?: HdhomerunOptions;
  /** Called before each transponder is tuned. */
  onTune?: (t: Transponder, index: number) => void;
}

export async function scanTransponders(
  transponders: readonly Transponder[],
  o: CollectOptions,
): Promise<TransponderScan[]> {
  const out: TransponderScan[] = [];
  for (const [i, t] of transponders.entries()) {
    if (o.signal?.aborted) break;
    o.onTune?.(t, i);
    out.push(await scanOne(t, o));
  }
  return out;
}

async function scanOne(t: Transponder, o: CollectOptions): Promise<TransponderScan> {
  const ffmpeg = resolveFfmpeg();
  const hub = new SourceHub({
    ffmpegPath: 'error' in ffmpeg ? undefined : ffmpeg.path,
    stallMs: o.timeoutMs + 1000,
    startMs: o.timeoutMs + 1000,
    log: (e) => o.log?.(e),
    ...(o.hdhomerun !== undefined ? { hdhomerun: o.hdhomerun } : {}),
  });
  const scanner = new ServiceScanner(o.nitWaitMs !== undefined ? { nitWaitMs: o.nitWaitMs } : {});
  const spec = { tuner: t.tuner, service: ALL_SERVICES };
  let failure: string | undefined;
  const timedOut = await new Promise<boolean>((resolve) => {
    let settle: NodeJS.Timeout | null = null;
    const finish = (byTimeout: boolean): void => {
      clearTimeout(deadline);
      clearInterval(poll);
      if (settle) clearTimeout(settle);
      o.signal?.removeEventListener('abort', onAbort);
      off();
      resolve(byTimeout);
    };
    const onAbort = (): void => finish(false);
    const check = (): void => {
      if (settle === null && scanner.complete) {
        settle = setTimeout(() => finish(false), o.settleMs ?? 0);
      }
    };
    const deadline = setTimeout(() => finish(true), o.timeoutMs);
    // The NIT wait runs on time, not on bytes: look again even when nothing arrives.
    const poll = setInterval(check, 100);
    o.signal?.addEventListener('abort', onAbort);
    const off = hub.subscribe(
      { ...spec, key: sourceKey(spec) },
      {
        data: (chunk) => {
          scanner.push(chunk);
          check();
        },
        restarted: () => undefined,
        failed: (_reason, message) => {
          failure = message ?? _reason;
        },
      },
    );
  });
  await hub.close();
  const r: TransponderScan = { transponder: t, result: scanner.result(), timedOut };
  if (failure !== undefined) r.failure = failure;
  return r;
}
