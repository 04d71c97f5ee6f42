// An HDHomeRun's channel lineup for `headend scan hdhomerun://host`: GET http://host/lineup.json
// (SiliconDust's HTTP API: a JSON array of { GuideNumber, GuideName, URL, HD, DRM, … }).
// Minimal on purpose: the HDHomeRun backend (tuners/hdhomerun/lineup.ts, with discovery of
// device ids) replaces it when it lands; this one takes a host name or address only.

import { fromSystemError, HeadendError } from '../errors.js';

export interface Lineup {
  /** `5.1` or `705`: what hdhomerun://<device>/<channel> takes. */
  guideNumber: string;
  guideName: string;
  /** The stream URL as the device gives it (http://<ip>:5004/auto/v5.1). */
  url: string;
  hd: boolean;
  /** Copy-protected: the device will not stream it. */
  drm: boolean;
}

/** Parses the decoded body of /lineup.json; entries without a guide number are dropped. */
export function parseLineup(v: unknown): Lineup[] | HeadendError {
  if (!Array.isArray(v)) return new HeadendError('E_BAD_TUNING', 'lineup.json is not a JSON array');
  const out: Lineup[] = [];
  for (const item of v) {
    if (item === null || typeof item !== 'object') continue;
    const o = item as Record<string, unknown>;
    const guideNumber = text(o.GuideNumber);
    if (guideNumber === '') continue;
    out.push({
      guideNumber,
      guideName: text(o.GuideName),
      url: text(o.URL),
      hd: flag(o.HD),
      drm: flag(o.DRM),
    });
  }
  return out;
}

export async function fetchLineup(
  host: string,
  opts: { port?: number; timeoutMs?: number } = {},
): Promise<Lineup[] | HeadendError> {
  const url = `http://${host}${opts.port !== undefined ? `:${opts.port}` : ''}/lineup.json`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    if (!res.ok) {
      return new HeadendError('E_BAD_TUNING', `${url}: HTTP ${res.status} (is it an HDHomeRun?)`);
    }
    return parseLineup(await res.json());
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    return fromSystemError('E_NET', `cannot read ${url}`, cause);
  }
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

function flag(v: unknown): boolean {
  return v === 1 || v === true || v === '1';
}
