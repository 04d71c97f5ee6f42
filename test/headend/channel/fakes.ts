// Shared by the channel tests: a pacer that takes a channel's datagrams and sends nothing, and
// a channel's settings around its sources.
import type {
  ChannelConfig,
  ChannelSourceSpec,
  OutputQueue,
  OutputScheduler,
} from '../../../src/headend/channel/types.js';

export const nullPacer: OutputScheduler = {
  addChannel(): OutputQueue {
    return {
      enqueue: () => true,
      stats: {
        sent: 0,
        dropped: 0,
        lateNs: 0,
        bytes: 0,
        lateness: { buckets: [], counts: [], sumSeconds: 0, count: 0 },
      },
      // Opened at once (a channel starts its sources when its output is ready), sending nowhere.
      ready: Promise.resolve({
        interfaceAddress: '127.0.0.1',
        local: '127.0.0.1:0',
        tosApplied: true,
        sendBufferBytes: 0,
      }),
      rtp: { ssrc: 1, seq: 0 },
      addDestination: () => Promise.resolve(),
      removeDestination: () => Promise.resolve(),
    };
  },
  removeChannel: () => Promise.resolve(),
};

/** Channel 101 on 239.255.0.1:5000 (sending nowhere: see nullPacer), stall 2 s, no return. */
export function channelConfig(sources: ChannelSourceSpec[]): ChannelConfig {
  return {
    number: 101,
    name: 'Test',
    provider: 'P',
    slug: 'test',
    output: {
      protocol: 'udp',
      group: '239.255.0.1',
      port: 5000,
      ttl: 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
    },
    sources,
    psiIntervalMs: 100,
    stallMs: 2000,
    returnAfterMs: 60_000,
    programNumber: 1,
    transportStreamId: 1,
    epg: 'test',
  };
}
