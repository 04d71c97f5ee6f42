// SDP (RFC 4566) for a channel's MPEG-TS stream, one writer for RTSP DESCRIBE (RFC 2326 C.1)
// and SAP announcements (RFC 2974). MP2T over RTP is payload type 33 (RFC 3551 §6,
// `a=rtpmap:33 MP2T/90000`, RFC 2250); a raw-UDP multicast channel is described with the
// `udp` transport and `mpeg` format as VLC and ffmpeg read it.
//
//   v=0
//   o=<username> <sess-id> <sess-version> IN IP4 <unicast address of the originator>
//   s=<session name>
//   i=<session information>                          (optional)
//   c=IN IP4 <group>/<ttl>                           (multicast only)
//   t=0 0                                            (permanent session)
//   a=tool:headend
//   a=type:broadcast
//   a=control:*                                      (RTSP only)
//   m=video <port> RTP/AVP 33 | m=video <port> udp mpeg
//   a=rtpmap:33 MP2T/90000                           (RTP only)
//   a=control:<url>                                  (RTSP only)
//   a=x-plgroup / a=cat:<group>                      (SAP: VLC's category, optional)

export interface SdpOptions {
  /** o= session id (numeric, stable per channel) and version (bumped on change). */
  sessionId: number;
  version: number;
  /** o= originator address (the announcing host's unicast IPv4). */
  origin: string;
  /** s= the channel name. */
  name: string;
  /** i= free text (provider, channel number). */
  info?: string;
  /** Media transport: 'rtp' (RTP/AVP 33) or 'udp' (raw TS datagrams). */
  transport: 'rtp' | 'udp';
  /** Multicast group and TTL for the c= line; null for unicast (RTSP picks the transport). */
  multicast: { group: string; ttl: number; source?: string } | null;
  /** m= port (0 when the transport is negotiated, as RTSP does for unicast). */
  port: number;
  /** RTSP: aggregate and media control URLs. */
  control?: { aggregate: string; media: string };
  /** SAP: a category (VLC shows it as a folder). */
  category?: string;
}

/** The SDP text, CRLF line ends (RFC 4566 §5). */
export function channelSdp(o: SdpOptions): string {
  const lines: string[] = [
    'v=0',
    `o=- ${o.sessionId} ${o.version} IN IP4 ${o.origin}`,
    `s=${oneLine(o.name)}`,
  ];
  if (o.info) lines.push(`i=${oneLine(o.info)}`);
  if (o.multicast) lines.push(`c=IN IP4 ${o.multicast.group}/${o.multicast.ttl}`);
  else lines.push('c=IN IP4 0.0.0.0');
  lines.push('t=0 0', 'a=tool:headend', 'a=type:broadcast', 'a=recvonly');
  if (o.category) lines.push(`a=cat:${oneLine(o.category)}`, `a=x-plgroup:${oneLine(o.category)}`);
  if (o.control) lines.push(`a=control:${o.control.aggregate}`);
  if (o.multicast?.source) {
    lines.push(`a=source-filter: incl IN IP4 ${o.multicast.group} ${o.multicast.source}`);
  }
  if (o.transport === 'rtp') {
    lines.push(`m=video ${o.port} RTP/AVP 33`, 'a=rtpmap:33 MP2T/90000');
  } else {
    lines.push(`m=video ${o.port} udp mpeg`);
  }
  if (o.control) lines.push(`a=control:${o.control.media}`);
  return lines.join('\r\n') + '\r\n';
}

/** SDP fields are single lines: CR/LF become spaces. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
