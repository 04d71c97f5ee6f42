// What the RTSP server needs of the daemon's channels (STYLE: the consumer declares the narrow
// interface; the daemon implements it). Unicast UDP and multicast sessions are served by the
// pacing worker itself: it sends each channel's paced RTP datagrams to extra destinations, so
// every session gets the same remuxed, paced stream as the multicast, with no second ffmpeg
// and no extra copy in the main thread. RTP over the RTSP TCP connection is fed from a tap of
// the channel's datagrams in the main thread (TCP is not paced on the wire anyway).

export interface RtspChannel {
  number: number;
  name: string;
  provider: string;
  slug: string;
  /** The channel's own output. */
  output: { protocol: 'udp' | 'rtp'; group: string; port: number; ttl: number; source?: string };
  /** RTP companion group (raw-UDP multicast channels; see config/services.ts), else undefined. */
  companionGroup?: string;
}

/** The channel's RTP stream as the pacing worker sends it (one SSRC, one sequence). */
export interface RtpStreamState {
  ssrc: number;
  /** Sequence number of the next RTP packet the worker will send (16 bits). */
  nextSeq: number;
  /** RTP timestamp (90 kHz, 32 bits) that corresponds to `atNs` (monotonic ns). */
  rtpTime: number;
  atNs: number;
  /** Packets and payload octets sent on this SSRC so far (RTCP SR, RFC 3550 §6.4.1). */
  packets: number;
  octets: number;
}

export interface RtpDestination {
  /** Unique within the channel. */
  id: string;
  address: string;
  port: number;
  /** Multicast: TTL of the group; ignored for unicast. */
  ttl: number;
}

import type { DatagramListener } from '../channel/types.js';
export type { DatagramListener };

export interface RtspChannelSource {
  /** Current channels (hot reload may change the list between calls). */
  channels(): readonly RtspChannel[];
  /** Adds a destination to the channel's paced RTP stream; resolves once the worker sends to it. */
  addDestination(slug: string, d: RtpDestination): Promise<void>;
  removeDestination(slug: string, id: string): void;
  /** The channel's paced RTP stream, for RTP-Info (PLAY) and RTCP sender reports. */
  rtpState(slug: string): RtpStreamState | undefined;
  /** Every datagram the channel queues, in order (for RTP over TCP). Returns the unsubscribe. */
  tap(slug: string, listener: DatagramListener): () => void;
}
