// The JSON shapes of /api/channels and /api/channels/<slug|number>: a channel's configuration
// (number, name, provider, output URL) merged with its live ChannelStatus.
//
//   { "headend": { "name", "version", "uptimeSec" },
//     "channels": [ { number, name, slug, provider, output, state, sourceIndex, source, bitrate,
//                     restarts, failovers, lastError, datagramsSent, datagramsDropped, remux,
//                     analyzer?, tuner? } ],
//     "tuners": [ { id, kind, target, state, channels, restarts, lastError?, lock?, signal?,
//                   snr?, ber?, uncorrected?, at? } ]   (only when tuners are configured) }

import type { ChannelStatus } from '../channel/types.js';
import type { ChannelSpec } from '../config/types.js';
import type { TunerReport } from '../tuners/report.js';
import { multicastUrl } from './m3u.js';

export type HttpChannelSpec = Pick<
  ChannelSpec,
  'number' | 'name' | 'provider' | 'slug' | 'output'
> &
  Partial<Pick<ChannelSpec, 'group'>>;

export interface HttpChannel {
  spec: HttpChannelSpec;
  status: ChannelStatus;
}

export interface HeadendInfo {
  name: string;
  startedAtMs: number;
  version: string;
}

export interface ChannelJson {
  number: number;
  name: string;
  slug: string;
  provider: string;
  output: string;
  state: ChannelStatus['state'];
  sourceIndex: number;
  source: string;
  bitrate: number;
  restarts: number;
  failovers: number;
  lastError: string | null;
  datagramsSent: number;
  datagramsDropped: number;
  remux: Record<string, number>;
  analyzer?: Record<string, number>;
  /** A tuner source: { id, lock, signal {value, unit}, snr {value, unit}, ber, uncorrected, at }. */
  tuner?: ChannelStatus['tuner'];
  /** With headend.epg: { id, present, following } as the EIT p/f carries them. */
  guide?: ChannelStatus['guide'];
  /** With a timetable or under an alert: { rule, next: { at, rule }, alert }. */
  programme?: ChannelStatus['programme'];
  /** The channel's group (alert zones). */
  group?: string;
}

export function channelJson(ch: HttpChannel): ChannelJson {
  const { spec, status } = ch;
  const out: ChannelJson = {
    number: spec.number,
    name: spec.name,
    slug: spec.slug,
    provider: spec.provider,
    output: multicastUrl(spec.output),
    state: status.state,
    sourceIndex: status.sourceIndex,
    source: status.source,
    bitrate: status.bitrate,
    restarts: status.restarts,
    failovers: status.failovers,
    lastError: status.lastError ?? null,
    datagramsSent: status.datagramsSent,
    datagramsDropped: status.datagramsDropped,
    remux: { ...status.remux },
  };
  if (status.analyzer) out.analyzer = { ...status.analyzer };
  if (status.tuner) out.tuner = { ...status.tuner };
  if (status.guide) out.guide = { ...status.guide };
  if (status.programme) out.programme = { ...status.programme };
  if (spec.group !== undefined) out.group = spec.group;
  return out;
}

export function channelsJson(
  headend: HeadendInfo,
  channels: readonly HttpChannel[],
  nowMs: number,
  tuners: readonly TunerReport[] = [],
): {
  headend: { name: string; version: string; uptimeSec: number };
  channels: ChannelJson[];
  tuners?: TunerReport[];
} {
  return {
    ...(tuners.length > 0 ? { tuners: [...tuners] } : {}),
    headend: {
      name: headend.name,
      version: headend.version,
      uptimeSec: Math.max(0, Math.floor((nowMs - headend.startedAtMs) / 1000)),
    },
    channels: [...channels].sort((a, b) => a.spec.number - b.spec.number).map(channelJson),
  };
}

/** A channel by slug or by number ("101"); undefined when none. */
export function findChannel(
  channels: readonly HttpChannel[],
  key: string,
): HttpChannel | undefined {
  const bySlug = channels.find((c) => c.spec.slug === key);
  if (bySlug) return bySlug;
  if (!/^\d+$/.test(key)) return undefined;
  const n = Number(key);
  return channels.find((c) => c.spec.number === n);
}
