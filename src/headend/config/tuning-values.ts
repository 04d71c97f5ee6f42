// Leaf values of a `tuners:` entry: frequencies (11494M, 11.494G, 474MHz), symbol rates
// (22000k, 27.5M), polarizations (h, v, l, r), LNBs (universal or local oscillators),
// bandwidths (8M) and network-tuner URLs (satip://, hdhomerun://). Each parses one scalar or
// mapping into the units of tuners/types.ts (Hz, symbols/s), or reports one readable message.

import { z } from 'zod';
import {
  ROLLOFFS,
  UNIVERSAL_LNB,
  type LnbSpec,
  type Polarization,
  type Rolloff,
} from '../tuners/types.js';
import { describe, invalid, leaf, type Invalid } from './values.js';

const FREQ_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(hz|khz|mhz|ghz|k|m|g)?\s*$/i;
const FREQ_SCALE: Record<string, number> = {
  '': 1,
  hz: 1,
  k: 1e3,
  khz: 1e3,
  m: 1e6,
  mhz: 1e6,
  g: 1e9,
  ghz: 1e9,
};

/** Hz from 11494M, 11.494G, 474MHz, 474000k or a plain number of Hz. */
export function parseHz(v: unknown): number | Invalid {
  let hz: number;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) hz = v;
  else if (typeof v === 'string' && FREQ_RE.test(v)) {
    const m = FREQ_RE.exec(v) as RegExpExecArray;
    hz = Number(m[1]) * FREQ_SCALE[(m[2] ?? '').toLowerCase()];
  } else {
    return invalid(`expected a frequency such as 11494M, 11.494G or 474MHz, got ${describe(v)}`);
  }
  return Math.round(hz);
}

/** 11494000000 → 11494M; 474000000 → 474M; 1700000 → 1.7M. */
export function formatHz(hz: number): string {
  if (hz >= 1e6) return `${+(hz / 1e6).toFixed(3)}M`;
  if (hz >= 1e3) return `${+(hz / 1e3).toFixed(3)}k`;
  return `${hz}`;
}

/** A frequency in Hz within [min, max]; `what` names it in the message. */
export function frequency(min: number, max: number, what: string) {
  return leaf((v) => {
    const hz = parseHz(v);
    if (typeof hz !== 'number') return hz;
    if (hz < min || hz > max) {
      const plain = typeof v === 'number' ? ` (a plain number is Hz: write ${v}M for MHz)` : '';
      return invalid(
        `${what} ${describe(v)} is outside ${formatHz(min)} to ${formatHz(max)}${plain}`,
      );
    }
    return hz;
  });
}

/** Symbols/s from 22000k, 27.5M, 6900k or a plain number of symbols/s. */
export function symbolRate() {
  return leaf((v) => {
    const r = parseHz(v);
    if (typeof r !== 'number') {
      return invalid(`expected a symbol rate such as 22000k or 27.5M, got ${describe(v)}`);
    }
    if (r < 100_000 || r > 100_000_000) {
      const plain = typeof v === 'number' ? ` (a plain number is symbols/s: write ${v}k)` : '';
      return invalid(`symbol rate ${describe(v)} is outside 100k to 100M${plain}`);
    }
    return r;
  });
}

const POLARIZATIONS: Record<string, Polarization> = {
  h: 'h',
  horizontal: 'h',
  v: 'v',
  vertical: 'v',
  l: 'l',
  left: 'l',
  r: 'r',
  right: 'r',
};

export function polarization() {
  return leaf((v): Polarization | Invalid => {
    const p = typeof v === 'string' ? POLARIZATIONS[v.trim().toLowerCase()] : undefined;
    return (
      p ??
      invalid(
        `expected a polarization: h (horizontal), v (vertical), l (left) or r (right), ` +
          `got ${describe(v)}`,
      )
    );
  });
}

/** DVB-S2 roll-off: 0.35, 0.25 or 0.20 (a number or a string; 0.2 is 0.20). */
export function rolloff() {
  return leaf((v): Rolloff | Invalid => {
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
    const r = ROLLOFFS.find((x) => Number(x) === n);
    return r ?? invalid(`expected a roll-off of 0.35, 0.25 or 0.20, got ${describe(v)}`);
  });
}

/** `on` / `off` (or true / false). */
export function onOff(what: string) {
  return leaf((v): boolean | Invalid => {
    if (typeof v === 'boolean') return v;
    const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
    if (s === 'on' || s === 'true') return true;
    if (s === 'off' || s === 'false') return false;
    return invalid(`${what}: expected on or off, got ${describe(v)}`);
  });
}

/** Terrestrial channel bandwidths (EN 300 744, EN 302 755). */
const BANDWIDTHS = [1_712_000, 5_000_000, 6_000_000, 7_000_000, 8_000_000, 10_000_000];

export function bandwidth() {
  return leaf((v) => {
    const hz = parseHz(v);
    if (typeof hz !== 'number')
      return invalid(`expected a bandwidth such as 8M, got ${describe(v)}`);
    const match = BANDWIDTHS.find((b) => Math.abs(b - hz) <= 12_000);
    return match ?? invalid(`bandwidth ${describe(v)} is not one of 1.712M, 5M, 6M, 7M, 8M, 10M`);
  });
}

const LNB_LOF = frequency(5_000_000_000, 11_500_000_000, 'LNB oscillator');

/** `universal`, or `{ low: 9750M, high: 10600M, switch: 11700M }`, or `{ low: 10750M }`. */
export function lnb() {
  return z.unknown().transform((v, ctx): LnbSpec => {
    if (typeof v === 'string' && v.trim().toLowerCase() === 'universal') return UNIVERSAL_LNB;
    const fail = (message: string): LnbSpec => {
      ctx.addIssue({ code: 'custom', message, input: v });
      return z.NEVER;
    };
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return fail(
        `expected universal or a mapping { low: 9750M, high: 10600M, switch: 11700M }, got ${describe(v)}`,
      );
    }
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m)) {
      if (!['low', 'high', 'switch'].includes(k)) {
        return fail(`unknown key '${k}' in lnb (expected low, high, switch)`);
      }
    }
    if (m.low === undefined) return fail("an LNB needs 'low' (its local oscillator)");
    const out: Partial<LnbSpec> = {};
    for (const k of ['low', 'high', 'switch'] as const) {
      if (m[k] === undefined) continue;
      const schema =
        k === 'switch' ? frequency(10_000_000_000, 13_000_000_000, 'LNB switch') : LNB_LOF;
      const r = schema.safeParse(m[k]);
      if (!r.success) return fail(`${k}: ${r.error.issues[0]?.message ?? 'invalid'}`);
      if (k === 'low') out.lowHz = r.data;
      else if (k === 'high') out.highHz = r.data;
      else out.switchHz = r.data;
    }
    if ((out.highHz === undefined) !== (out.switchHz === undefined)) {
      return fail('a dual-band LNB needs both high and switch (or neither for a single band)');
    }
    if (out.highHz !== undefined && out.highHz <= (out.lowHz as number)) {
      return fail('high must be above low');
    }
    return out as LnbSpec;
  });
}

export interface NetworkTunerUrl {
  kind: 'satip' | 'hdhomerun';
  host: string;
  port?: number;
  /** hdhomerun: the guide channel. */
  channel?: string;
}

/** satip://host[:port] or hdhomerun://device-or-host[:port]/channel. */
export function parseNetworkTunerUrl(v: unknown): NetworkTunerUrl | Invalid {
  if (typeof v !== 'string') {
    return invalid(`expected satip://server or hdhomerun://device/channel, got ${describe(v)}`);
  }
  const m = /^(satip|hdhomerun):\/\/([^/:?#@]+)(?::(\d+))?(?:\/([^/?#]*))?\/?$/i.exec(v.trim());
  if (m === null) {
    return invalid(
      `bad tuner URL '${v}': expected satip://server[:port] or hdhomerun://device-or-host/channel`,
    );
  }
  const kind = m[1].toLowerCase() as 'satip' | 'hdhomerun';
  const out: NetworkTunerUrl = { kind, host: m[2] };
  if (m[3] !== undefined) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return invalid(`bad tuner URL '${v}': port outside 1-65535`);
    out.port = port;
  }
  const path = m[4] ?? '';
  if (kind === 'hdhomerun') {
    if (!/^\d+(?:\.\d+)?$/.test(path)) {
      return invalid(
        `bad tuner URL '${v}': an HDHomeRun URL ends with the guide channel, e.g. hdhomerun://1010CAFE/5.1`,
      );
    }
    out.channel = path;
  } else if (path !== '') {
    return invalid(
      `bad tuner URL '${v}': satip://server[:port] takes no path (tuning keys go in the entry)`,
    );
  }
  return out;
}

export function networkTunerUrl() {
  return leaf(parseNetworkTunerUrl);
}

/** A tuner id: letters, digits, '-' and '_'. */
export function tunerId() {
  return leaf((v) => {
    const s = typeof v === 'number' ? String(v) : v;
    return typeof s === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(s)
      ? s
      : invalid(`expected a tuner id (letters, digits, '-' and '_'), got ${describe(v)}`);
  });
}
