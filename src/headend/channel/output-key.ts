// A channel's output identity: what its receivers know it by (protocol, source, group, port).
// The pacer keys each output queue by it, and a reload that rebuilds a channel without changing
// how its output is sent hands the running queue (socket, RTP stream, RTSP destinations, burst
// window) over to the new channel instead of closing and reopening it.

import type { ChannelOutputSpec } from './types.js';

/** `udp://239.1.1.1:5000`, `rtp://10.0.0.1@232.1.1.1:5000`: the key of the output's queue. */
export function outputKey(o: ChannelOutputSpec): string {
  return `${o.protocol}://${o.source ? o.source + '@' : ''}${o.group}:${o.port}`;
}

/**
 * Whether two outputs are sent the same way: same key, interface, TTL, TOS and burst factor.
 * Packets per datagram may differ (the queue takes any size; the cutter changes in place).
 */
export function sameOutput(a: ChannelOutputSpec, b: ChannelOutputSpec): boolean {
  return (
    outputKey(a) === outputKey(b) &&
    a.interface === b.interface &&
    a.ttl === b.ttl &&
    a.tos === b.tos &&
    (a.burst ?? null) === (b.burst ?? null)
  );
}
