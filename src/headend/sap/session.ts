// One channel's SAP session: its SDP (sdp.ts, RFC 4566) with an origin, a session id and a
// version that are stable for the same description. sess-id is derived from the slug and
// sess-version from the description's content, so a restarted daemon announces byte-identical
// packets (same msg id hash, RFC 2974 §3) and receivers keep one entry instead of two; any
// change of the description changes the version and the hash.

import type { ChannelSpec } from '../config/types.js';
import { channelSdp } from '../sdp.js';
import { isMulticast } from '../output/output.js';
import { fnv1a32, msgIdHash } from './packet.js';

export type SapChannel = Pick<ChannelSpec, 'number' | 'name' | 'provider' | 'slug' | 'output'>;

export interface SapSession {
  slug: string;
  sdp: string;
  msgIdHash: number;
}

/** The SAP session of a channel; null when its output is not multicast (nothing to announce). */
export function sapSession(ch: SapChannel, origin: string): SapSession | null {
  if (!isMulticast(ch.output.group)) return null;
  const base = {
    sessionId: fnv1a32(`headend:${ch.slug}`) & 0x7fffffff,
    origin,
    name: ch.name,
    info: `${ch.number} ${ch.provider}`,
    transport: ch.output.protocol,
    multicast: {
      group: ch.output.group,
      ttl: ch.output.ttl,
      ...(ch.output.source !== undefined ? { source: ch.output.source } : {}),
    },
    port: ch.output.port,
    category: ch.provider,
  } as const;
  const version = fnv1a32(channelSdp({ ...base, version: 0 })) & 0x7fffffff;
  const sdp = channelSdp({ ...base, version });
  return { slug: ch.slug, sdp, msgIdHash: msgIdHash(sdp) };
}
