// A channel's output identity: what its receivers know it by (protocol, source, group, port).
// The pacer keys each output queue by it, and a reload that rebuilds a channel (a new source,
// say) without changing how its output is made and sent hands the running output over to the
// new channel (Channel.stop keepOutput, ChannelDeps.output): the remuxer splices to the new
// source, and the receivers see one stream go on instead of a socket closed and reopened and
// every continuity counter starting afresh.

import type { ChannelConfig, ChannelOutputSpec } from './types.js';

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

/**
 * Whether a channel rebuilt from `a` to `b` keeps its running output: the same output, and no
 * change the running remuxer cannot take (its decode margin, VBR smoothing and service_type are
 * set when it is made; identity and mux settings, and the source, change in place).
 */
export function keepsOutput(a: ChannelConfig, b: ChannelConfig): boolean {
  return (
    sameOutput(a.output, b.output) &&
    a.decodeMarginMs === b.decodeMarginMs &&
    a.vbrSmoothingMs === b.vbrSmoothingMs &&
    a.serviceType === b.serviceType
  );
}
