// What a channel's output is: the contract between the config (src/headend/config) and the pacer
// (src/scheduler/pacer.ts), which opens one Output per channel in its worker.

export interface OutputSpec {
  /** 'udp': raw TS datagrams; 'rtp': RTP/AVP PT 33 (RFC 2250). */
  protocol: 'udp' | 'rtp';
  /** Destination IPv4 address: a multicast group (224.0.0.0/4) or a unicast host. */
  group: string;
  port: number;
  /** Source-specific multicast: the (local) source address; the socket binds to it. */
  source?: string;
  /** Multicast TTL (default 1 in the config). */
  ttl: number;
  /** IP TOS byte (DSCP << 2). Not settable from Node's dgram: see Output.info.tosApplied. */
  tos: number;
  /** Egress interface: an IPv4 address (e.g. 127.0.0.1) or an interface name. */
  interface: string;
  /** TS packets per datagram, 1-7 (7 × 188 = 1316 bytes). */
  packetsPerDatagram: number;
}
