// The headend's own services in channels.yaml (headend.http, headend.rtsp, headend.sap,
// headend.pacing, headend.watch): defaults applied and the rules that involve the channels checked (an RTSP
// companion RTP group must be multicast and must not land on another channel's output).

import { DEFAULTS } from './defaults.js';
import { DEFAULT_PACING_MODE } from '../../scheduler/pacing-loop.js';
import { PACING_NICE, defaultRealtimePriority } from '../../scheduler/realtime.js';

/** headend.pacing.workers when not given (lanes/channel-host.ts). */
const DEFAULT_WORKERS: number | 'auto' = 'auto';
import type { RawHeadend } from './schema.js';
import type { ErrorSink } from './sink.js';
import type { ChannelSpec, HeadendSpec } from './types.js';
import { ipv4ToNumber, isMulticastV4 } from '../inputs/url.js';

type Services = Pick<HeadendSpec, 'http' | 'rtsp' | 'sap' | 'pacing' | 'watch' | 'hdhomerun'>;

/** IPv4 dotted quad + a 32-bit offset (wraps within 2^32). */
export function addToAddress(address: string, offset: number): string {
  const m = (ipv4ToNumber(address) + offset) % 2 ** 32;
  return [24, 16, 8, 0].map((s) => Math.floor(m / 2 ** s) % 256).join('.');
}

export function services(
  raw: RawHeadend | undefined,
  ttl: number,
  channels: readonly ChannelSpec[],
  sink: ErrorSink,
): Services {
  const h = raw?.http === false ? null : (raw?.http ?? {});
  const http = h && {
    ...(h.listen ?? DEFAULTS.httpListen),
    maxClients: h.max_clients ?? DEFAULTS.httpMaxClients,
    maxPerChannel: h.max_clients_per_channel ?? DEFAULTS.httpMaxPerChannel,
    maxPerAddress: h.max_clients_per_address ?? DEFAULTS.httpMaxPerAddress,
    clientBufferBytes: h.client_buffer ?? DEFAULTS.httpClientBuffer,
    relay:
      h.relay === true
        ? [{ address: '224.0.0.0', prefix: 4, family: 'ipv4' as const }]
        : h.relay === false || h.relay === undefined
          ? []
          : h.relay,
  };
  let rtsp: Services['rtsp'] = null;
  if (raw?.rtsp !== false) {
    const r = raw?.rtsp ?? {};
    rtsp = {
      listen: { ...(r.listen ?? DEFAULTS.rtspListen) },
      rtpPort: r.rtp_port ?? DEFAULTS.rtspRtpPort,
      companionOffset: r.companion_offset ?? DEFAULTS.rtspCompanionOffset,
      sessionTimeoutMs: r.session_timeout ?? DEFAULTS.rtspSessionTimeoutMs,
      maxSessions: r.max_sessions ?? DEFAULTS.rtspMaxSessions,
      maxSessionsPerClient: r.max_sessions_per_client ?? DEFAULTS.rtspMaxSessionsPerClient,
    };
    if (rtsp.rtpPort % 2 !== 0) {
      sink.add(
        ['headend', 'rtsp', 'rtp_port'],
        `RTP uses an even port (RTCP the next): got ${rtsp.rtpPort}`,
      );
    }
    checkCompanions(rtsp.companionOffset, channels, sink);
  }
  const sap =
    raw?.sap === undefined || raw.sap === false
      ? null
      : {
          address: raw.sap.address ?? DEFAULTS.sapAddress,
          port: DEFAULTS.sapPort,
          ttl: raw.sap.ttl ?? ttl,
        };
  const mode = raw?.pacing?.mode ?? DEFAULT_PACING_MODE;
  const pacing = {
    realtimePriority: raw?.pacing?.realtime_priority ?? defaultRealtimePriority(mode),
    nice: raw?.pacing?.nice ?? PACING_NICE,
    cpuDmaLatencyUs: raw?.pacing?.cpu_dma_latency ?? null,
    mode,
    spinBudgetPercent: raw?.pacing?.spin_budget ?? null,
    workers: raw?.pacing?.workers ?? DEFAULT_WORKERS,
  };
  let hdhomerun: Services['hdhomerun'] = null;
  const hd = raw?.hdhomerun;
  if (hd !== undefined && hd !== false) {
    if (http === null)
      sink.add(['headend', 'hdhomerun'], 'HDHomeRun emulation is served over HTTP: turn http on');
    hdhomerun = { tuners: hd.tuners ?? 4, name: hd.name ?? raw?.name ?? 'headend' };
    if (hd.device_id !== undefined) hdhomerun.deviceId = hd.device_id;
    if (hd.address !== undefined) hdhomerun.address = hd.address;
  }
  return { http, rtsp, sap, pacing, watch: raw?.watch ?? false, hdhomerun };
}

/** The RTP companion group of a raw-UDP multicast channel (undefined for RTP or unicast outputs). */
export function companionGroup(
  ch: Pick<ChannelSpec, 'output'>,
  offset: number,
): string | undefined {
  if (ch.output.protocol !== 'udp' || !isMulticastV4(ch.output.group)) return undefined;
  return addToAddress(ch.output.group, offset);
}

function checkCompanions(offset: number, channels: readonly ChannelSpec[], sink: ErrorSink): void {
  const outputs = new Map(channels.map((c) => [`${c.output.group}:${c.output.port}`, c]));
  for (const ch of channels) {
    const g = companionGroup(ch, offset);
    if (g === undefined) continue;
    const path = ['headend', 'rtsp', 'companion_offset'];
    if (!isMulticastV4(g)) {
      sink.add(
        path,
        `channel ${ch.number}: ${ch.output.group} + offset = ${g}, not a multicast group`,
      );
      continue;
    }
    const other = outputs.get(`${g}:${ch.output.port}`);
    if (other !== undefined) {
      sink.add(
        path,
        `channel ${ch.number}'s RTP companion ${g}:${ch.output.port} is channel ${other.number}'s output`,
      );
    }
  }
}
