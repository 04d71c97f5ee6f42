// `headend probe` of a tuner: a tuner id of channels.yaml, satip://… (with --transponder) or
// hdhomerun://…. Each multiplex is opened as `headend scan` opens it (scan/collect.ts) and
// printed as probe prints any feed (formatProbe: programs, PIDs, codecs, bitrates).

import { readTuners } from './target.js';
import { configFor, planScan } from './plan.js';
import { scanTransponders } from './collect.js';
import { HeadendError, isHeadendError } from '../errors.js';
import type { ScanResult } from '../../mpegts/program-scan.js';
import { EXIT_OK, EXIT_STREAM_ERRORS, EXIT_USAGE, type CommandIo } from '../commands/io.js';

export interface ProbeTunerOptions {
  config?: string;
  transponders: readonly string[];
  /** --discover: where HDHomeRun device-id discovery is sent. */
  discover?: string;
  maxMs: number;
  json: boolean;
  settleMs?: number;
  signal?: AbortSignal;
}

/**
 * Whether `target` names a tuner: a satip:// or hdhomerun:// URL, a --transponder or --discover
 * given, or a
 * bare id that is a tuner of the config (-c FILE, else the default lookup). File paths and
 * other URLs are not.
 */
export function isTunerTarget(target: string, o: ProbeTunerOptions): boolean {
  if (/^(satip|hdhomerun):\/\//i.test(target.trim())) return true;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(target)) return false;
  if (o.transponders.length > 0 || o.discover !== undefined) return true;
  const file = configFor(o.config);
  if (file === undefined || isHeadendError(file)) return false;
  const t = readTuners(file);
  return !isHeadendError(t) && t.raw.some((r) => String(r.id) === target);
}

export async function probeTuner(
  target: string,
  o: ProbeTunerOptions,
  io: CommandIo,
  format: (label: string, r: ScanResult) => string,
): Promise<number> {
  const plan = await planScan(target, {
    config: o.config,
    transponders: o.transponders,
    discover: o.discover,
  });
  if (isHeadendError(plan)) {
    io.error(plan);
    return EXIT_USAGE;
  }
  const scans = await scanTransponders(plan.transponders, {
    timeoutMs: o.maxMs,
    settleMs: o.settleMs ?? 2000,
    signal: o.signal,
    hdhomerun: { discovery: plan.discovery },
  });
  let found = 0;
  for (const s of scans) {
    const label = `${target} ${s.transponder.label}`;
    if (s.result.programs.length === 0) {
      const why = s.failure ?? (s.result.packets === 0 ? 'nothing arrived' : 'no PAT arrived');
      io.log('warn', 'probe-nothing', { transponder: s.transponder.label, message: why });
      continue;
    }
    found++;
    io.out(o.json ? JSON.stringify({ url: label, ...s.result }) + '\n' : format(label, s.result));
  }
  if (found > 0) return EXIT_OK;
  io.error(
    new HeadendError(
      'E_NO_PROGRAM',
      `no program arrived from ${target} within ${(o.maxMs / 1000).toFixed(1)} s per transponder`,
    ),
  );
  return EXIT_STREAM_ERRORS;
}
