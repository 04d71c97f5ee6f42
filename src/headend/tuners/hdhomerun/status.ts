// An HDHomeRun's tuner readings: /status.json (SiliconDust's HTTP API), one object per
// resource: {"Resource":"tuner0","VctNumber":"5.1","VctName":"WXYZ","Frequency":57000000,
// "SignalStrengthPercent":100,"SignalQualityPercent":90,"SymbolQualityPercent":100,
// "TargetIP":"192.168.1.2","NetworkRate":...}; an idle tuner is only {"Resource":"tuner1"}.
// Which tuner is ours, and its reading as a TunerStatus (tuners/types.ts). Pure.

import type { TunerStatus } from '../types.js';

export interface HdhrTunerReading {
  resource: string;
  /** Guide channel the tuner is on (VctNumber), when tuned by channel. */
  channel?: string;
  frequencyHz?: number;
  /** Signal strength (the device's ss), 0-100. */
  strength?: number;
  /** Signal to noise quality (snq), 0-100. */
  quality?: number;
  /** Symbol quality (seq: error-free symbols), 0-100. */
  symbolQuality?: number;
  /** Where the tuner streams to (the client's address). */
  targetIp?: string;
}

/** The tuner entries of /status.json (entries that are not `tuner<N>` are left out). */
export function parseStatus(v: unknown): HdhrTunerReading[] {
  if (!Array.isArray(v)) return [];
  const out: HdhrTunerReading[] = [];
  for (const item of v) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    if (typeof o.Resource !== 'string' || !/^tuner\d+$/.test(o.Resource)) continue;
    const r: HdhrTunerReading = { resource: o.Resource };
    const ch = o.VctNumber ?? o.GuideNumber;
    if (typeof ch === 'string' || typeof ch === 'number') r.channel = String(ch);
    if (typeof o.Frequency === 'number') r.frequencyHz = o.Frequency;
    if (typeof o.SignalStrengthPercent === 'number') r.strength = o.SignalStrengthPercent;
    if (typeof o.SignalQualityPercent === 'number') r.quality = o.SignalQualityPercent;
    if (typeof o.SymbolQualityPercent === 'number') r.symbolQuality = o.SymbolQualityPercent;
    if (typeof o.TargetIP === 'string') r.targetIp = o.TargetIP;
    out.push(r);
  }
  return out;
}

/**
 * Our tuner: the one streaming to our address on our channel; else the only one streaming to
 * our address; else the first one on our channel (a device behind NAT reports another target).
 */
export function pickTuner(
  readings: readonly HdhrTunerReading[],
  us: { address?: string; channel: string },
): HdhrTunerReading | undefined {
  const mine = readings.filter((r) => us.address !== undefined && r.targetIp === us.address);
  const onChannel = (r: HdhrTunerReading): boolean => r.channel === us.channel;
  return (
    mine.find(onChannel) ?? (mine.length === 1 ? mine[0] : undefined) ?? readings.find(onChannel)
  );
}

/**
 * A reading as TunerStatus: signal = strength %, snr = signal quality %. Lock: the symbol
 * quality (else the signal quality) is above 0; the device reports none of them when not locked.
 */
export function toTunerStatus(r: HdhrTunerReading, at: number): TunerStatus {
  const s: TunerStatus = { lock: (r.symbolQuality ?? r.quality ?? 0) > 0, at };
  if (r.strength !== undefined) s.signal = { value: r.strength, unit: '%' };
  if (r.quality !== undefined) s.snr = { value: r.quality, unit: '%' };
  return s;
}
