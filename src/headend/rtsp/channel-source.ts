// The daemon's side of RtspChannelSource (types.ts): the RTSP server's view of the running
// channels. Unicast UDP sessions and the RTP companion group of raw-UDP channels are extra
// destinations of the channel's paced RTP stream in the pacing worker (sent from the server's
// RTP port, so RTCP-aware clients see the server_port pair the SETUP answer named); RTP over
// TCP is fed from the channel's tap.

import { companionGroup } from '../config/services.js';
import type { RtspSpec } from '../config/types.js';
import type { ChannelConfig } from '../channel/types.js';
import type { Channel } from '../channel/channel.js';
import type { RtspChannel, RtspChannelSource, RtpDestination } from './types.js';

export interface DaemonChannels {
  readonly channels: readonly Channel[];
}

export function rtspChannelSource(daemon: DaemonChannels, spec: RtspSpec): RtspChannelSource {
  const bySlug = (slug: string): Channel | undefined =>
    daemon.channels.find((c) => c.config.slug === slug);
  const view = (c: ChannelConfig): RtspChannel => ({
    number: c.number,
    name: c.name,
    provider: c.provider,
    slug: c.slug,
    output: {
      protocol: c.output.protocol,
      group: c.output.group,
      port: c.output.port,
      ttl: c.output.ttl,
      source: c.output.source,
    },
    companionGroup: companionGroup(c, spec.companionOffset),
  });
  return {
    channels: () => daemon.channels.map((c) => view(c.config)),
    addDestination: (slug: string, d: RtpDestination) => {
      const ch = bySlug(slug);
      if (!ch) return Promise.reject(new Error(`no channel ${slug}`));
      const multicast = d.address === companionGroup(ch.config, spec.companionOffset);
      return ch.addRtpDestination({
        id: d.id,
        address: d.address,
        port: d.port,
        ttl: multicast ? ch.config.output.ttl : d.ttl,
        interface: ch.config.output.interface,
        sourcePort: multicast ? 0 : spec.rtpPort,
      });
    },
    removeDestination: (slug: string, id: string) => {
      void bySlug(slug)?.removeRtpDestination(id);
    },
    rtpState: (slug: string) => bySlug(slug)?.rtpState(),
    tap: (slug, listener) => bySlug(slug)?.tap(listener) ?? (() => undefined),
  };
}
