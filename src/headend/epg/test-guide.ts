// A generated guide (`headend.epg: [test]`), so a new headend shows now/next at once: for
// every channel, programmes on the hour from the start of today (UTC) for 8 days, each with a
// title, a description and a category that cycle through a few genres.

import type { XmltvGuide, Programme } from './xmltv.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const KINDS: readonly [string, string][] = [
  ['News', 'The headlines of the hour'],
  ['Movie', 'A feature film'],
  ['Sports', 'Highlights and results'],
  ['Documentary', 'Nature and science'],
  ['Music', 'Concerts and clips'],
  ['Children', 'Cartoons for the young ones'],
];

export function testGuide(
  channels: readonly { epg: string; name: string }[],
  now: number,
): XmltvGuide {
  const day0 = Math.floor(now / DAY_MS) * DAY_MS;
  const programmes: Programme[] = [];
  for (const ch of channels) {
    for (let h = 0; h < 8 * 24; h++) {
      const start = day0 + h * HOUR_MS;
      const [kind, desc] = KINDS[(h + ch.name.length) % KINDS.length];
      const hh = String(new Date(start).getUTCHours()).padStart(2, '0');
      programmes.push({
        channel: ch.epg,
        start,
        stop: start + HOUR_MS,
        title: `${ch.name}: ${kind} at ${hh}:00`,
        lang: 'en',
        desc: `${desc} (a generated test guide).`,
        categories: [kind],
      });
    }
  }
  return { channels: new Map(channels.map((c) => [c.epg, [c.name]])), programmes };
}
