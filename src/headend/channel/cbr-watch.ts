// A CBR channel whose mux rate is below what its content needs. The remuxer then lays the
// content out later than the input clock asks (remuxer cbrOverflows, cbrMaxLagMs): the output
// runs behind, more and more for as long as it lasts, until the pacer's queue overflows. The
// needed rate is measured here from the remuxer's counters over a sliding window: every packet
// but the null padding (content, PSI, PCR) per second of wall time, against the configured
// rate. A burst that the rate absorbs later (an I-frame) overflows a segment without the
// window's rate exceeding the mux rate: only a sustained shortfall is reported.

import { formatBitrate } from '../config/values.js';

/** Seconds of counters the needed rate is measured over. */
const WINDOW_S = 5;
/** At most one warning this often (the lastError stays meanwhile). */
const WARN_EVERY_MS = 60_000;
const TS_BITS = 188 * 8;

export interface CbrCounters {
  packetsOut: number;
  nullPacketsOut: number;
  cbrOverflows: number;
  cbrMaxLagMs: number;
}

export interface CbrRateTooLow {
  /** The configured mux rate and the measured need, bit/s. */
  rate: number;
  contentRate: number;
  overflows: number;
  maxLagMs: number;
  message: string;
}

export class CbrWatch {
  private readonly samples: { ns: number; nonNull: number; overflows: number }[] = [];
  private lastWarnNs = -Infinity;

  constructor(private readonly rateBps: number) {}

  /** Counters about once a second; returns a warning when the rate is too low (rate-limited). */
  sample(nowNs: number, c: CbrCounters): CbrRateTooLow | undefined {
    const s = { ns: nowNs, nonNull: c.packetsOut - c.nullPacketsOut, overflows: c.cbrOverflows };
    this.samples.push(s);
    while (this.samples.length > 2 && nowNs - this.samples[1].ns >= WINDOW_S * 1e9) {
      this.samples.shift();
    }
    const base = this.samples[0];
    const spanNs = nowNs - base.ns;
    if (spanNs < WINDOW_S * 1e9) return undefined;
    const contentRate = Math.round(((s.nonNull - base.nonNull) * TS_BITS * 1e9) / spanNs);
    const overflows = s.overflows - base.overflows;
    if (overflows === 0 || contentRate <= this.rateBps) return undefined;
    if (nowNs - this.lastWarnNs < WARN_EVERY_MS * 1e6) return undefined;
    this.lastWarnNs = nowNs;
    const maxLagMs = Math.round(c.cbrMaxLagMs);
    return {
      rate: this.rateBps,
      contentRate,
      overflows,
      maxLagMs,
      message:
        `CBR rate ${formatBitrate(this.rateBps)} is below the content's ` +
        `${formatBitrate(contentRate)} (with PSI and PCR, last ${WINDOW_S} s): the output runs ` +
        `late (up to ${maxLagMs} ms); raise bitrate or leave it unset (VBR)`,
    };
  }
}
