// What a hot reload has to do: the old and the new channels.yaml compared channel by channel.
//
// Matching: a new channel is the same channel as an old one with the same slug; the channels
// left over on both sides are then matched by number (a renamed channel gets a new slug from its
// name, so a rename is found by its number). Of a matched pair:
//   - equal in every setting (the file line aside)                  → unchanged (untouched);
//   - differing only in identity (name, slug, number, provider, program_number,
//     transport_stream_id, epg, hd_lcn) and/or mux (bitrate, i.e. the CBR rate or CBR↔VBR, psi_interval,
//     packets_per_datagram) and/or programme (schedule, group)      → updated in place: SI
//                                                                     rewritten, mux settings
//                                                                     from the next slots on,
//                                                                     the timetable from now;
//   - anything else (sources, output group/port and with it the headend interface/ttl/tos,
//     timeouts)                                                     → restarted.
// A test source whose burned-in text defaults to the channel name changes with the name, so
// such a rename restarts the channel; give the source `text:` to keep it running.
// Headend-level settings that the running daemon cannot take over (http, rtsp, sap, pacing,
// name, ffmpeg, network_id, timezone, country) are reported in `restartRequired`; `watch` is
// applied by the daemon directly, the network's name (NIT) by the daemon's line-up.

import type { ChannelSpec, HeadendSpec } from '../config/index.js';

export interface ChannelDiff {
  unchanged: [ChannelSpec, ChannelSpec][];
  updated: [ChannelSpec, ChannelSpec][];
  restarted: [ChannelSpec, ChannelSpec][];
  added: ChannelSpec[];
  removed: ChannelSpec[];
}

const IDENTITY = [
  'name',
  'slug',
  'number',
  'provider',
  'programNumber',
  'transportStreamId',
  'epg',
  'hdLcn',
];
/** What the channel's programme follows in place: timetable rules and the alert group. */
const PROGRAMME = ['schedule', 'group'];
/** Mux settings at the top of a channel (packets per datagram is in its output: see muxOf). */
const MUX = ['bitrate', 'psiIntervalMs'];

/** The channel's mux settings: what Channel.updateMux applies in place. */
const muxOf = (c: ChannelSpec): string =>
  canon({
    bitrate: c.bitrate ?? 'vbr',
    psiIntervalMs: c.psiIntervalMs,
    packetsPerDatagram: c.output.packetsPerDatagram,
  });

/** The channel without what an in-place update can change. */
const fixedOf = (c: ChannelSpec): string =>
  canon({ ...c, output: { ...c.output, packetsPerDatagram: undefined } }, [
    ...NOT_RUN, // the HLS service follows the config by itself (hls-service.ts sync)
    ...IDENTITY,
    ...MUX,
    ...PROGRAMME,
  ]);

/** What an updated pair changes: its identity (SI), its mux, its programme, or several. */
export function updateKinds(
  o: ChannelSpec,
  n: ChannelSpec,
): { identity: boolean; mux: boolean; programme: boolean } {
  const pick = (keys: string[], c: ChannelSpec): string =>
    canon(Object.fromEntries(keys.map((k) => [k, c[k as keyof ChannelSpec]])));
  return {
    identity: pick(IDENTITY, o) !== pick(IDENTITY, n),
    mux: muxOf(o) !== muxOf(n),
    programme: pick(PROGRAMME, o) !== pick(PROGRAMME, n),
  };
}

/** Settings that need a daemon restart when they change (the services read them at start). */
const RESTART_KEYS = [
  'name',
  'ffmpeg',
  'http',
  'rtsp',
  'sap',
  'pacing',
  'hdhomerun',
  'cluster',
] as const;
/** What nothing running reads: the playlists read logo, placement reads prefer and avoid. */
const NOT_RUN = ['line', 'logo', 'hls', 'prefer', 'avoid'];

/** Stable JSON (sorted keys) of a value, without the keys in `omit` at the top level. */
function canon(v: unknown, omit: readonly string[] = []): string {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .filter((k) => o[k] !== undefined)
          .map((k) => [k, walk(o[k])]),
      );
    }
    return x;
  };
  const top = { ...(v as Record<string, unknown>) };
  for (const k of omit) delete top[k];
  return JSON.stringify(walk(top));
}

export function diffChannels(
  before: readonly ChannelSpec[],
  after: readonly ChannelSpec[],
): ChannelDiff {
  const d: ChannelDiff = { unchanged: [], updated: [], restarted: [], added: [], removed: [] };
  const pairs: [ChannelSpec, ChannelSpec][] = [];
  const oldLeft = new Map(before.map((c) => [c.slug, c]));
  const newLeft: ChannelSpec[] = [];
  for (const c of after) {
    const o = oldLeft.get(c.slug);
    if (o) {
      pairs.push([o, c]);
      oldLeft.delete(c.slug);
    } else newLeft.push(c);
  }
  const byNumber = new Map([...oldLeft.values()].map((c) => [c.number, c]));
  for (const c of newLeft) {
    const o = byNumber.get(c.number);
    if (o) {
      pairs.push([o, c]);
      byNumber.delete(c.number);
      oldLeft.delete(o.slug);
    } else d.added.push(c);
  }
  d.removed.push(...oldLeft.values());
  for (const [o, n] of pairs) {
    if (canon(o, NOT_RUN) === canon(n, NOT_RUN)) d.unchanged.push([o, n]);
    else if (fixedOf(o) === fixedOf(n)) d.updated.push([o, n]);
    else d.restarted.push([o, n]);
  }
  return d;
}

/** Headend settings that changed and take effect only when the daemon is restarted. */
export function restartRequired(before: HeadendSpec, after: HeadendSpec): string[] {
  const keys: string[] = RESTART_KEYS.filter(
    (k) => canon({ v: before[k] }) !== canon({ v: after[k] }),
  );
  // The network's name goes into the NIT at once; its id (every SDT's original_network_id)
  // and the clock's zone and country are read at start.
  for (const [key, of] of NETWORK_RESTART_KEYS)
    if (of(before.network) !== of(after.network)) keys.push(key);
  return keys;
}

const NETWORK_RESTART_KEYS: readonly [string, (n: HeadendSpec['network']) => unknown][] = [
  ['network_id', (n) => n.networkId],
  ['timezone', (n) => n.timezone],
  ['country', (n) => n.country],
];
