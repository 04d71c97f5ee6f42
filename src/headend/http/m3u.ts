// The channel list as an extended M3U playlist (the de-facto IPTV format read by VLC, Kodi's
// IPTV Simple client, TiviMate…): `#EXTM3U`, then per channel an `#EXTINF` line with the tvg-*
// attributes and the URL. Multicast URLs follow VLC's syntax, `udp://@group:port` (any-source,
// RFC 1112 join) or `udp://source@group:port` (source-specific, RFC 4607), `rtp://…` alike;
// RTSP URLs are `rtsp://host:port/<slug>` (RFC 2326 §3.2) for clients that cannot join a group,
// HTTP URLs `http://host:port/stream/<slug>` (HTTP MPEG-TS, http/ts-stream.ts) for players and
// Wi-Fi devices behind access points that drop multicast, HLS URLs
// `http://host:port/hls/<slug>/index.m3u8` (channels with `hls:`) for phones and browsers. A client that sent its token in the
// query gets it in the unicast URLs too, so the player sends it back.
//
//   #EXTM3U x-tvg-url="http://host:8080/epg.xml"
//   #EXTINF:-1 tvg-chno="101" tvg-name="News" tvg-id="news" tvg-logo="…" group-title="Lobby",News
//   udp://@239.255.50.1:5000
//
// group-title is the channel's `group:` (else its provider); radio="true" marks radio services
// (service_type 0x02, 0x07 or 0x0A, EN 300 468 §6.2.33 Table 87).

import type { ChannelSpec } from '../config/types.js';
import { isRadioServiceType } from '../../mpegts/psi/sdt.js';

export type PlaylistChannel = Pick<
  ChannelSpec,
  'number' | 'name' | 'provider' | 'slug' | 'output' | 'group' | 'logo' | 'serviceType'
>;

/** What the URLs are: the multicast itself, or a unicast server's (with a token to pass on). */
export type PlaylistUrls =
  | { kind: 'multicast' }
  | { kind: 'rtsp' | 'http' | 'hls'; host: string; port: number; token?: string };

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

/** The HTTP MPEG-TS URL of a channel: http://host:port/stream/<slug>. */
export function streamUrl(base: { host: string; port: number }, slug: string): string {
  const host = base.host.includes(':') ? `[${base.host}]` : base.host;
  return `http://${host}:${base.port}/stream/${encodeURIComponent(slug)}`;
}

function urlOf(ch: PlaylistChannel, urls: PlaylistUrls | RtspBase): string {
  const u: PlaylistUrls =
    urls === null ? { kind: 'multicast' } : 'kind' in urls ? urls : { kind: 'rtsp', ...urls };
  if (u.kind === 'multicast') return multicastUrl(ch.output);
  const url =
    u.kind === 'rtsp'
      ? rtspUrl(u, ch.slug)
      : u.kind === 'hls'
        ? streamUrl(u, ch.slug).replace(/\/stream\/([^/]+)$/, '/hls/$1/index.m3u8')
        : streamUrl(u, ch.slug);
  return u.token === undefined ? url : `${url}?token=${encodeURIComponent(u.token)}`;
}

/**
 * The playlist text, channels in channel-number order, CRLF-free (LF line ends). `epgUrl`: the
 * guide players should read (`#EXTM3U x-tvg-url="…"`, whose channel ids are the tvg-ids).
 */
export function playlistM3u(
  channels: readonly PlaylistChannel[],
  urls: PlaylistUrls | RtspBase,
  epgUrl?: string,
): string {
  const sorted = [...channels].sort((a, b) => a.number - b.number);
  const lines = [epgUrl === undefined ? '#EXTM3U' : `#EXTM3U x-tvg-url="${attr(epgUrl)}"`];
  for (const ch of sorted) {
    const logo = ch.logo === undefined ? '' : ` tvg-logo="${attr(ch.logo)}"`;
    const radio = isRadioServiceType(ch.serviceType) ? ' radio="true"' : '';
    lines.push(
      `#EXTINF:-1 tvg-chno="${ch.number}" tvg-name="${attr(ch.name)}" tvg-id="${attr(ch.slug)}"` +
        `${logo} group-title="${attr(ch.group ?? ch.provider)}"${radio},${title(ch.name)}`,
      urlOf(ch, urls),
    );
  }
  return lines.join('\n') + '\n';
}
