// The channel list as an extended M3U playlist (the de-facto IPTV format read by VLC, Kodi's
// IPTV Simple client, TiviMate…): `#EXTM3U`, then per channel an `#EXTINF` line with the tvg-*
// attributes and the URL. Multicast URLs follow VLC's syntax, `udp://@group:port` (any-source,
// RFC 1112 join) or `udp://source@group:port` (source-specific, RFC 4607), `rtp://…` alike;
// RTSP URLs are `rtsp://host:port/<slug>` (RFC 2326 §3.2) for clients that cannot join a group.
//
//   #EXTM3U x-tvg-url="http://host:8080/epg.xml"
//   #EXTINF:-1 tvg-chno="101" tvg-name="News" tvg-id="news" group-title="Provider",News
//   udp://@239.255.50.1:5000

import type { ChannelSpec } from '../config/types.js';

export type PlaylistChannel = Pick<ChannelSpec, 'number' | 'name' | 'provider' | 'slug' | 'output'>;

/** Where RTSP URLs point; null: multicast URLs. */
export type RtspBase = { host: string; port: number } | null;

/** A channel's multicast (or unicast) URL as VLC and ffmpeg take it. */
export function multicastUrl(out: PlaylistChannel['output']): string {
  const src = out.source ?? '';
  return `${out.protocol}://${src}@${out.group}:${out.port}`;
}

/** The RTSP URL of a channel: rtsp://host:port/<slug> (IPv6 literals bracketed). */
export function rtspUrl(base: { host: string; port: number }, slug: string): string {
  const host = base.host.includes(':') ? `[${base.host}]` : base.host;
  return `rtsp://${host}:${base.port}/${encodeURIComponent(slug)}`;
}

/** An attribute value: no quotes, no line breaks (M3U has no escape syntax, so `"` becomes `'`). */
function attr(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/"/g, "'");
}

/** The title after the comma: one line. */
function title(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/**
 * The playlist text, channels in channel-number order, CRLF-free (LF line ends). `epgUrl`: the
 * guide players should read (`#EXTM3U x-tvg-url="…"`, whose channel ids are the tvg-ids).
 */
export function playlistM3u(
  channels: readonly PlaylistChannel[],
  rtsp: RtspBase,
  epgUrl?: string,
): string {
  const sorted = [...channels].sort((a, b) => a.number - b.number);
  const lines = [epgUrl === undefined ? '#EXTM3U' : `#EXTM3U x-tvg-url="${attr(epgUrl)}"`];
  for (const ch of sorted) {
    lines.push(
      `#EXTINF:-1 tvg-chno="${ch.number}" tvg-name="${attr(ch.name)}" tvg-id="${attr(ch.slug)}" ` +
        `group-title="${attr(ch.provider)}",${title(ch.name)}`,
      rtsp ? rtspUrl(rtsp, ch.slug) : multicastUrl(ch.output),
    );
  }
  return lines.join('\n') + '\n';
}
