// From the file as parsed (schema.ts) to the typed spec (types.ts): defaults applied
// (channel → headend.defaults → headend → built-in), required keys and the rules that span
// several keys or channels checked. Every problem goes to the ErrorSink; nothing throws.

import { createHash } from 'node:crypto';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRadioServiceType } from '../../mpegts/psi/sdt.js';
import { isHeadendError } from '../errors.js';
import { parseInputAddress } from '../inputs/url.js';
import { DEFAULTS } from './defaults.js';
import type { PathSegment } from './positions.js';
import { PER_CHANNEL_ONLY, type RawChannel, type RawHeadend, type RawSource } from './schema.js';
import type { ErrorSink } from './sink.js';
import { didYouMean } from './suggest.js';
import { timetableRuleOf } from './timetable.js';
import { DEFAULT_ALERT_MESSAGE, alertToken, serialSpec } from './alert.js';
import type {
  AlertSpec,
  ChannelSpec,
  OutputSpec,
  ScheduleSpec,
  SourceSpec,
  TranscodeSpec,
  TunerSpec,
} from './types.js';

/** The headend-wide values a channel falls back on. */
export interface HeadendBase {
  name: string;
  interface: string;
  ttl: number;
  tos: number;
}

export function headendBase(raw: RawHeadend | undefined, sink: ErrorSink): HeadendBase {
  if (raw?.tos !== undefined && raw.dscp !== undefined) {
    sink.add(['headend', 'dscp'], 'give tos or dscp, not both', true);
  }
  return {
    name: raw?.name ?? DEFAULTS.headendName,
    interface: raw?.interface ?? DEFAULTS.interface,
    ttl: raw?.ttl ?? DEFAULTS.ttl,
    tos: raw?.tos ?? (raw?.dscp !== undefined ? raw.dscp << 2 : DEFAULTS.tos),
  };
}

/** Checks `headend.defaults`; returns them without the keys that only make sense per channel. */
export function checkDefaults(defaults: RawChannel, sink: ErrorSink): RawChannel {
  const kept: RawChannel = { ...defaults };
  for (const key of PER_CHANNEL_ONLY) {
    if (defaults[key] !== undefined) {
      sink.add(
        ['headend', 'defaults', key],
        `'${key}' cannot be a default: each channel sets its own`,
        true,
      );
      delete kept[key];
    }
  }
  checkServiceTwice(defaults, ['headend', 'defaults'], sink);
  checkTosTwice(defaults, ['headend', 'defaults'], sink);
  return kept;
}

export interface ChannelContext {
  base: HeadendBase;
  defaults: RawChannel;
  /** Directory that relative file sources are resolved against. */
  dir: string;
  sink: ErrorSink;
  /** 1-based line of the channel entry. */
  line: number;
  /** Keys given with an invalid value (already reported): not "missing". */
  broken?: ReadonlySet<string>;
  /** The `tuners:` entries by id, and the ids of broken entries (already reported). */
  tuners?: { tuners: ReadonlyMap<string, TunerSpec>; broken: ReadonlySet<string> };
}

/** One channel, or undefined when something required is missing or contradictory. */
export function resolveChannel(
  raw: RawChannel,
  index: number,
  ctx: ChannelContext,
): ChannelSpec | undefined {
  const { defaults: def, base, sink } = ctx;
  const at = (...rest: PathSegment[]): PathSegment[] => ['channels', index, ...rest];
  const before = sink.errors.length;

  for (const [key, what] of REQUIRED) {
    if (raw[key] === undefined && def[key] === undefined && !ctx.broken?.has(key)) {
      sink.add(at(), `missing required key '${key}' (${what})`);
    }
  }
  checkServiceTwice(raw, at(), sink);
  checkTosTwice(raw, at(), sink);
  checkRadioLadder(raw, def, at(), sink);
  if (raw.number === undefined || raw.name === undefined || raw.output === undefined) return;

  const name = raw.name;
  const number = raw.number;

  // The primary's path, for errors: the channel's own source, or the default one.
  const primaryRaw = raw.source ?? def.source;
  const primaryPath = raw.source !== undefined ? at('source') : ['headend', 'defaults', 'source'];
  const service =
    raw.source !== undefined
      ? (raw.source.service ?? raw.service ?? def.service)
      : (raw.service ?? def.source?.service ?? def.service);
  const sources: SourceSpec[] = [];
  if (primaryRaw !== undefined) {
    const primary = resolveSource(primaryRaw, primaryPath, name, ctx);
    if (primary !== undefined) {
      if (service !== undefined && primary.test === undefined) primary.service = service;
      else if (service !== undefined && raw.service !== undefined) {
        sink.add(at('service'), 'a test source has one program: service has no meaning here');
      }
      primary.key = sourceKey(primary);
      sources.push(primary);
    }
  }
  const backups = raw.backup ?? def.backup ?? [];
  const backupBase = raw.backup !== undefined ? at('backup') : ['headend', 'defaults', 'backup'];
  backups.forEach((b, i) => {
    const s = resolveSource(b, [...backupBase, i], name, ctx);
    if (s !== undefined) {
      if (b.service !== undefined) s.service = b.service;
      s.key = sourceKey(s);
      sources.push(s);
    }
  });

  const schedule: ScheduleSpec[] = [];
  const rules = raw.schedule ?? def.schedule ?? [];
  const ruleBase =
    raw.schedule !== undefined ? at('schedule') : ['headend', 'defaults', 'schedule'];
  rules.forEach((r, i) => {
    if (r.source === undefined) {
      sink.add([...ruleBase, i], "missing required key 'source' (what the rule plays)");
      return;
    }
    const s = resolveSource(r.source, [...ruleBase, i, 'source'], name, ctx);
    if (s === undefined) return;
    if (r.source.service !== undefined) s.service = r.source.service;
    s.key = sourceKey(s);
    schedule.push({ name: r.name ?? `rule ${i + 1}`, rule: timetableRuleOf(r), source: s });
  });

  const output: OutputSpec = {
    protocol: raw.output.protocol,
    group: raw.output.group,
    port: raw.output.port,
    ttl: raw.ttl ?? def.ttl ?? base.ttl,
    tos: tosOf(raw) ?? tosOf(def) ?? base.tos,
    interface: raw.interface ?? def.interface ?? base.interface,
    packetsPerDatagram:
      raw.packets_per_datagram ?? def.packets_per_datagram ?? DEFAULTS.packetsPerDatagram,
  };
  const burst = raw.burst ?? def.burst;
  if (burst !== undefined) output.burst = burst;
  if (raw.output.source !== undefined) output.source = raw.output.source;
  for (const s of [...sources, ...schedule.map((r) => r.source)]) {
    const input = s.url !== undefined ? parseInputAddress(s.url) : undefined;
    if (
      input !== undefined &&
      !isHeadendError(input) &&
      input.kind === 'network' &&
      input.address === output.group &&
      input.port === output.port
    ) {
      sink.add(at('output'), `the channel would read its own output (source ${s.url})`);
    }
  }

  if (sink.errors.length > before) return;
  const channel: ChannelSpec = {
    number,
    name,
    provider: raw.provider ?? def.provider ?? base.name,
    slug: raw.slug ?? slugify(name, number),
    output,
    sources,
    psiIntervalMs: raw.psi_interval ?? def.psi_interval ?? DEFAULTS.psiIntervalMs,
    decodeMarginMs: raw.decode_margin ?? def.decode_margin ?? DEFAULTS.decodeMarginMs,
    vbrSmoothingMs: raw.vbr_smoothing ?? def.vbr_smoothing ?? DEFAULTS.vbrSmoothingMs,
    stallMs: raw.stall_timeout ?? def.stall_timeout ?? DEFAULTS.stallMs,
    returnAfterMs: raw.return_after ?? def.return_after ?? DEFAULTS.returnAfterMs,
    programNumber: raw.program_number ?? def.program_number ?? number,
    transportStreamId: raw.transport_stream_id ?? def.transport_stream_id ?? number,
    epg: raw.epg ?? raw.slug ?? slugify(name, number),
    line: ctx.line,
  };
  const bitrate = raw.bitrate ?? def.bitrate;
  if (bitrate !== undefined) channel.bitrate = bitrate;
  const serviceType = raw.service_type ?? def.service_type;
  if (serviceType !== undefined) channel.serviceType = serviceType;
  if (raw.hd_lcn !== undefined) channel.hdLcn = raw.hd_lcn;
  const group = raw.group ?? def.group;
  if (group !== undefined) channel.group = group;
  if (raw.logo !== undefined) channel.logo = raw.logo;
  const hls = raw.hls ?? def.hls;
  if (hls !== undefined && hls !== false) {
    const h = hls;
    channel.hls = {
      segmentMs: h.segment ?? 2000,
      window: h.window ?? 6,
      ladder: [...new Set(h.ladder ?? [])],
      encrypt: h.encrypt ?? false,
    };
  }
  if (schedule.length > 0) channel.schedule = schedule;
  const prefer = raw.prefer ?? def.prefer;
  if (prefer !== undefined && prefer.length > 0) channel.prefer = [...prefer];
  const avoid = raw.avoid ?? def.avoid;
  if (avoid !== undefined && avoid.length > 0) channel.avoid = [...avoid];
  return channel;
}

const REQUIRED: readonly [keyof RawChannel, string][] = [
  ['number', 'the logical channel number'],
  ['name', 'the service name'],
  ['output', 'where the channel is sent: udp://group:port or rtp://group:port'],
  ['source', 'the input: a URL, a file or test: smpte'],
];

function tosOf(raw: RawChannel): number | undefined {
  return raw.tos ?? (raw.dscp !== undefined ? raw.dscp << 2 : undefined);
}

function checkTosTwice(raw: RawChannel, path: PathSegment[], sink: ErrorSink): void {
  if (raw.tos !== undefined && raw.dscp !== undefined) {
    sink.add([...path, 'dscp'], 'give tos or dscp, not both', true);
  }
}

function checkServiceTwice(raw: RawChannel, path: PathSegment[], sink: ErrorSink): void {
  if (raw.service !== undefined && raw.source?.service !== undefined) {
    sink.add([...path, 'service'], 'service is also set in source: give it once', true);
  }
}

export function resolveSource(
  raw: RawSource,
  path: PathSegment[],
  channelName: string,
  ctx: ChannelContext,
): SourceSpec | undefined {
  const { sink } = ctx;
  const given = (['url', 'test', 'tuner'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    sink.add(
      given.length === 0 ? path : [...path, given[1]],
      given.length === 0
        ? 'a source needs url, test or tuner'
        : `a source has one of url, test and tuner, not ${given.join(' and ')}`,
      given.length > 1,
    );
    return undefined;
  }
  const spec: SourceSpec = { key: '' };
  if (raw.tuner !== undefined) return tunerSource(raw, raw.tuner, path, ctx);
  if (raw.transcode !== undefined) spec.transcode = transcodeOf(raw.transcode);
  if (raw.test !== undefined) {
    for (const key of ['service', 'loop', 'transcode'] as const) {
      if (raw[key] !== undefined) {
        sink.add([...path, key], `${key} has no meaning for a test source`, true);
      }
    }
    const t = raw.test;
    spec.test = {
      pattern: t.pattern ?? DEFAULTS.testPattern,
      resolution: t.resolution ?? DEFAULTS.testResolution,
      rate: t.rate ?? DEFAULTS.testRate,
      bitrate: t.bitrate ?? DEFAULTS.testBitrate,
      text: t.text ?? channelName,
    };
    if (t.tone !== undefined) spec.test.tone = t.tone;
    delete spec.transcode;
    return spec;
  }
  const url = raw.url as string;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    spec.url = scheme === 'file' ? fileURLToPath(url) : resolvePath(ctx.dir, url);
    spec.loop = raw.loop ?? DEFAULTS.fileLoop;
  } else {
    spec.url = url;
    if (raw.loop !== undefined) {
      if (scheme === 'udp' || scheme === 'rtp') {
        sink.add([...path, 'loop'], `a live ${scheme}:// input cannot loop`, true);
      } else spec.loop = raw.loop;
    }
  }
  return spec;
}

function tunerSource(
  raw: RawSource,
  id: string,
  path: PathSegment[],
  ctx: ChannelContext,
): SourceSpec | undefined {
  for (const key of ['loop', 'transcode'] as const) {
    if (raw[key] !== undefined) {
      ctx.sink.add([...path, key], `${key} has no meaning for a tuner source`, true);
    }
  }
  const tuner = ctx.tuners?.tuners.get(id);
  if (tuner === undefined) {
    if (ctx.tuners?.broken.has(id)) return undefined;
    const ids = [...(ctx.tuners?.tuners.keys() ?? []), ...(ctx.tuners?.broken ?? [])];
    ctx.sink.add(
      [...path, 'tuner'],
      `no tuner '${id}' in tuners:${didYouMean(id, ids)}` +
        (ids.length > 0 ? ` (tuners: ${ids.join(', ')})` : ' (the tuners: list is empty)'),
    );
    return undefined;
  }
  return { tuner, key: '' };
}

function transcodeOf(raw: NonNullable<RawSource['transcode']>): TranscodeSpec {
  const t: TranscodeSpec = {};
  if (raw.video !== undefined) t.video = raw.video;
  if (raw.audio !== undefined) t.audio = raw.audio;
  if (raw.video_bitrate !== undefined) t.videoBitrate = raw.video_bitrate;
  if (raw.audio_bitrate !== undefined) t.audioBitrate = raw.audio_bitrate;
  if (raw.size !== undefined) t.size = raw.size;
  return t;
}

/**
 * The identity of an opened source: what it reads and how (url or test, loop, transcode),
 * not which service a channel takes from it. udp/rtp URLs are normalised so that
 * udp://239.1.1.1:5000 and udp://@239.1.1.1:5000 are the same socket.
 */
export function sourceKey(s: Omit<SourceSpec, 'key'>): string {
  if (s.tuner !== undefined) {
    // Short for the logs; the digest changes with any tuning key, so a reload retunes.
    const digest = createHash('sha256')
      .update(JSON.stringify(sortKeys(s.tuner)))
      .digest('hex');
    return `tuner:${s.tuner.id}#${digest.slice(0, 8)}`;
  }
  const parts: Record<string, unknown> = {};
  if (s.url !== undefined) {
    const input = parseInputAddress(s.url);
    parts.url =
      !isHeadendError(input) && input.kind === 'network'
        ? `${input.protocol}://${input.source ?? ''}@${input.address}:${input.port}` +
          `?interface=${input.interfaceAddress ?? ''}&reuse=${input.reuseAddr ? 1 : 0}`
        : s.url;
  }
  if (s.test !== undefined) parts.test = s.test;
  // Native udp/rtp inputs pass every program through, so channels picking different services
  // share one socket. An ffmpeg child extracts the one service it is asked for (ffmpeg merges
  // programs when it remuxes), so there the service is part of the identity.
  const native = parts.url !== undefined && /^(udp|rtp):\/\//.test(String(parts.url));
  if (!native && s.service !== undefined) parts.service = s.service;
  if (s.loop !== undefined) parts.loop = s.loop;
  if (s.transcode !== undefined) parts.transcode = s.transcode;
  return JSON.stringify(sortKeys(parts));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** "Café Näws 24!" → "cafe-naws-24"; a name with no latin letters or digits → channel-101. */
export function slugify(name: string, number: number): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return s === '' ? `channel-${number}` : s;
}

/** Rules across channels: unique numbers, slugs and outputs (RTP also takes port+1, RTCP). */
export function checkAcrossChannels(
  channels: readonly { spec: ChannelSpec; index: number; raw: RawChannel }[],
  sink: ErrorSink,
): void {
  const numbers = new Map<number, ChannelSpec>();
  const slugs = new Map<string, ChannelSpec>();
  /** group:port → the channel sending there, and whether as its RTCP port. */
  const ports = new Map<string, { spec: ChannelSpec; rtcp: boolean }>();
  const label = (c: ChannelSpec): string => `channel ${c.number} '${c.name}' (line ${c.line})`;
  for (const { spec, index, raw } of channels) {
    const first = numbers.get(spec.number);
    if (first !== undefined) {
      sink.add(
        ['channels', index, 'number'],
        `number ${spec.number} is already used by ${label(first)}`,
      );
    } else numbers.set(spec.number, spec);

    const sameSlug = slugs.get(spec.slug);
    if (sameSlug !== undefined) {
      const fromName = raw.slug === undefined;
      sink.add(
        ['channels', index, fromName ? 'name' : 'slug'],
        `slug '${spec.slug}'${fromName ? ' (made from the name)' : ''} is already used by ` +
          `${label(sameSlug)}${fromName ? '; give one of them a slug:' : ''}`,
      );
    } else slugs.set(spec.slug, spec);

    const o = spec.output;
    const taken = o.protocol === 'rtp' ? [o.port, o.port + 1] : [o.port];
    const clash = taken
      .map((port) => ({ port, other: ports.get(`${o.group}:${port}`) }))
      .find((x) => x.other !== undefined);
    if (clash?.other !== undefined) {
      const ours = clash.port !== o.port ? ` (port ${clash.port} would carry its RTCP)` : '';
      const theirs = clash.other.rtcp ? 'the RTCP port of' : 'used by';
      sink.add(
        ['channels', index, 'output'],
        `output ${o.group}:${clash.port}${ours} is already ${theirs} ${label(clash.other.spec)}`,
      );
    } else {
      taken.forEach((port, i) => ports.set(`${o.group}:${port}`, { spec, rtcp: i > 0 }));
    }
  }
}

/** The directory relative file sources are resolved against: that of the config file. */
export function configDir(file: string): string {
  return dirname(resolvePath(file));
}

/** `headend.alert`: the card or source, zones, token and serial input; null when not given. */
export function resolveAlert(raw: RawHeadend['alert'], ctx: ChannelContext): AlertSpec | null {
  if (raw === undefined) return null;
  const at = (...rest: PathSegment[]): PathSegment[] => ['headend', 'alert', ...rest];
  const message = raw.message ?? DEFAULT_ALERT_MESSAGE;
  const spec: AlertSpec = { message, zones: raw.zones ?? {} };
  if (raw.source !== undefined) {
    const s = resolveSource(raw.source, at('source'), message, ctx);
    if (s !== undefined) {
      if (raw.source.service !== undefined) s.service = raw.source.service;
      s.key = sourceKey(s);
      spec.source = s;
    }
  }
  const token = alertToken(
    raw,
    (p) => resolvePath(ctx.dir, p),
    (key, m) => ctx.sink.add(at(key), m),
  );
  if (token !== undefined) spec.token = token;
  if (raw.serial !== undefined) spec.serial = serialSpec(raw.serial);
  return spec;
}

/**
 * A radio service (EN 300 468 Table 87's sound services, isRadioServiceType) has no video: an
 * HLS ladder transcodes video (hls/ladder.ts), and its ffmpeg would fail and be started again
 * every 2 s for as long as the channel runs.
 */
function checkRadioLadder(
  raw: RawChannel,
  def: RawChannel,
  path: PathSegment[],
  sink: ErrorSink,
): void {
  const type = raw.service_type ?? def.service_type;
  const hls = raw.hls ?? def.hls;
  if (!isRadioServiceType(type)) return;
  if (hls === undefined || hls === false || !hls.ladder?.length) return;
  const where =
    raw.hls !== undefined
      ? [...path, 'hls', 'ladder']
      : raw.service_type !== undefined
        ? [...path, 'service_type']
        : ['headend', 'defaults', 'hls', 'ladder'];
  sink.add(
    where,
    `a radio service (service_type ${type}) has no video for an HLS ladder to transcode: leave ladder out`,
    true,
  );
}
