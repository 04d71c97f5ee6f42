// A resolved ChannelSpec for tests of the services that read channels (HTTP, SAP): the fields
// a config file would give, with the ones a test varies as arguments.
import type { ChannelSpec } from '../../src/headend/config/types.js';

export function channelSpec(
  number: number,
  name: string,
  slug: string,
  group: string,
  o: { protocol?: 'udp' | 'rtp'; provider?: string; ttl?: number } = {},
): ChannelSpec {
  return {
    number,
    name,
    provider: o.provider ?? 'Acme',
    slug,
    output: {
      protocol: o.protocol ?? 'udp',
      group,
      port: 5000,
      ttl: o.ttl ?? 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
    },
    sources: [],
    psiIntervalMs: 100,
    stallMs: 3000,
    returnAfterMs: 10000,
    programNumber: 1,
    epg: slug,
    transportStreamId: 1,
    line: 1,
  };
}
