// An HDHomeRun's channel lineup: GET /lineup.json (SiliconDust's HTTP API: an array of
// {GuideNumber, GuideName, URL, HD, ...}), for `headend scan`. Entries without a guide number
// are dropped; unknown fields are ignored.

import { headendError, isHeadendError, type HeadendError } from '../../errors.js';
import type { DeviceInfo } from './discover.js';
import { getJson } from './http.js';

export interface LineupEntry {
  /** `5.1` (ATSC virtual channel) or `705`; what `hdhomerun://<device>/<channel>` takes. */
  guideNumber: string;
  guideName: string;
  /** The stream URL as the device gives it (http://<ip>:5004/auto/v5.1). */
  url: string;
  hd: boolean;
  /** Copy-protected (the device will not stream it). */
  drm: boolean;
}

/** Parses the body of /lineup.json (already JSON-decoded). */
export function parseLineup(v: unknown): LineupEntry[] | HeadendError {
  if (!Array.isArray(v)) return headendError('E_TUNER', 'lineup.json is not a JSON array');
  const out: LineupEntry[] = [];
  for (const item of v) {
    if (typeof item !== 'object' || item === null) continue;
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

/** Fetches and parses the lineup of a device (its LineupURL when it gave one). */
export async function fetchLineup(
  device: DeviceInfo,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<LineupEntry[] | HeadendError> {
  const url = device.lineupUrl ?? `${device.baseUrl}/lineup.json`;
  const doc = await getJson(url, { timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal });
  if (isHeadendError(doc)) return doc;
  if (!doc.found) {
    return headendError('E_TUNER', `HDHomeRun ${device.id ?? device.host} has no ${url} (404)`);
  }
  return parseLineup(doc.value);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

/** HD and DRM come as 1 (present) or are absent; true/"1" are taken too. */
function flag(v: unknown): boolean {
  return v === 1 || v === true || v === '1';
}
