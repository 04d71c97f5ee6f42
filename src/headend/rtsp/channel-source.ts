// The daemon's side of RtspChannelSource (types.ts): the RTSP server's view of the running
// channels. Unicast UDP sessions and the RTP companion group of raw-UDP channels are extra
// destinations of the channel's paced RTP stream in the pacing worker (sent from the server's
// RTP port, so RTCP-aware clients see the server_port pair the SETUP answer named); RTP over
// TCP is fed from the channel's tap.
//
// A reload may rebuild a channel (a new Channel): reattach() then moves every tap of its
// sessions to the new one, and every destination too unless the new channel took the old one's
// output queue over (same output: the destinations are in that queue already), so they keep
// playing across it.

import { companionGroup } from '../config/services.js';
import type { RtspSpec } from '../config/types.js';
import type { ChannelConfig, DatagramListener } from '../channel/types.js';
import type { ChannelHandle as Channel } from '../channel/handle.js';
import type { DestinationSpec } from '../../scheduler/output-contract.js';
import type { RtspChannel, RtspChannelSource, RtpDestination } from './types.js';
import type { Logger } from '../log.js';

export interface DaemonChannels {
  readonly channels: readonly Channel[];
}

export interface DaemonRtspSource extends RtspChannelSource {
  /** After a reload: sessions of rebuilt channels move to the new channel objects. */
  reattach(): void;
}

interface Attached {
  slug: string;
  channel: Channel;
}
interface AttachedDestination extends Attached {
  dest: DestinationSpec;
}
interface AttachedTap extends Attached {
  listener: DatagramListener;
  unsubscribe: () => void;
}

export function rtspChannelSource(
  daemon: DaemonChannels,
  spec: RtspSpec,
  log?: Logger,
): DaemonRtspSource {
  const bySlug = (slug: string): Channel | undefined =>
    daemon.channels.find((c) => c.config.slug === slug);
  const destinations = new Map<string, AttachedDestination>();
  const taps = new Set<AttachedTap>();
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
    addDestination: async (slug: string, d: RtpDestination) => {
      const ch = bySlug(slug);
      if (!ch) throw new Error(`no channel ${slug}`);
      const multicast = d.address === companionGroup(ch.config, spec.companionOffset);
      const dest: DestinationSpec = {
        id: d.id,
        address: d.address,
        port: d.port,
        ttl: multicast ? ch.config.output.ttl : d.ttl,
        interface: ch.config.output.interface,
        sourcePort: multicast ? 0 : spec.rtpPort,
      };
      await ch.addRtpDestination(dest);
      destinations.set(`${slug}\n${d.id}`, { slug, channel: ch, dest });
    },
    removeDestination: (slug: string, id: string) => {
      const key = `${slug}\n${id}`;
      const a = destinations.get(key);
      destinations.delete(key);
      void (a?.channel ?? bySlug(slug))?.removeRtpDestination(id);
    },
    rtpState: (slug: string) => bySlug(slug)?.rtpState(),
    tap: (slug, listener) => {
      const ch = bySlug(slug);
      if (!ch) return () => undefined;
      const a: AttachedTap = { slug, channel: ch, listener, unsubscribe: ch.tap(listener) };
      taps.add(a);
      return () => {
        a.unsubscribe();
        taps.delete(a);
      };
    },
    reattach: () => {
      for (const a of destinations.values()) {
        const now = bySlug(a.slug);
        if (now === a.channel) continue;
        if (now === undefined) continue; // the channel is gone: the session times out
        const kept = now.sharesOutputWith(a.channel);
        a.channel = now;
        if (kept) continue;
        now.addRtpDestination(a.dest).catch((err: unknown) =>
          log?.log('warn', 'rtsp-reattach-failed', {
            channel: a.slug,
            session: a.dest.id,
            message: err instanceof Error ? err.message : String(err),
          }),
        );
      }
      for (const a of taps) {
        const now = bySlug(a.slug);
        if (now === a.channel || now === undefined) continue;
        a.unsubscribe();
        a.channel = now;
        a.unsubscribe = now.tap(a.listener);
      }
    },
  };
}
