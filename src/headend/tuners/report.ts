// What the daemon says about each configured tuner (the `tuners:` list): its kind and what it
// is tuned to, whether its source is open and running, the channels on it, and the front
// end's last reading (lock, signal, C/N, BER, uncorrected blocks). Read by /api/channels
// (its `tuners` list), `headend status` and the headend_tuner_* metrics.

import type { SourceStatus } from '../sources/types.js';
import type { TunerSpec } from './types.js';

export interface TunerReport {
  id: string;
  kind: TunerSpec['kind'];
  /** "adapter0/frontend0 11494 MHz H dvbs2", "satip 10.0.0.9 474 MHz dvbt2", "hdhomerun 1010CAFE 5.1". */
  target: string;
  /** idle: no channel uses it (nothing opened); else the source's state. */
  state: SourceStatus['state'];
  /** Numbers of the channels whose sources include it. */
  channels: number[];
  restarts: number;
  lastError?: string;
  lock?: boolean;
  signal?: { value: number; unit: 'dBm' | '%' };
  snr?: { value: number; unit: 'dB' | '%' };
  ber?: number;
  uncorrected?: number;
  /** Date.now() of the reading. */
  at?: number;
}

/** One report per configured tuner, in config order. */
export function tunerReports(
  tuners: readonly TunerSpec[],
  channels: readonly { number: number; sources: readonly { tuner?: { id: string } }[] }[],
  stateOf: (id: string) => SourceStatus | undefined,
): TunerReport[] {
  return tuners.map((t) => {
    const s = stateOf(t.id);
    const r: TunerReport = {
      id: t.id,
      kind: t.kind,
      target: targetOf(t),
      state: s?.state ?? 'idle',
      channels: channels
        .filter((c) => c.sources.some((x) => x.tuner?.id === t.id))
        .map((c) => c.number),
      restarts: s?.restarts ?? 0,
    };
    if (s?.lastError !== undefined) r.lastError = s.lastError;
    if (s?.tuner !== undefined) Object.assign(r, s.tuner);
    return r;
  });
}

export function targetOf(t: TunerSpec): string {
  if (t.kind === 'hdhomerun') return `hdhomerun ${t.device} ${t.channel}`;
  const f = t.tuning;
  const tune = [`${+(f.frequencyHz / 1e6).toFixed(3)} MHz`];
  if (f.polarization !== undefined) tune.push(f.polarization.toUpperCase());
  tune.push(f.delivery);
  if (t.kind === 'dvb') return `adapter${t.adapter}/frontend${t.frontend} ${tune.join(' ')}`;
  return `satip ${t.host} ${tune.join(' ')}`;
}
