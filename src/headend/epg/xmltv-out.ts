// /epg.xml: the guide of what this headend carries, as XMLTV, for players (Kodi, TiviMate, VLC,
// Jellyfin) that read the M3U's `x-tvg-url`. Channel ids are the channels' slugs, as the M3U's
// tvg-id; each channel's programmes come from the guide under its `epg:` id, so players show
// the same guide the TVs get in the EIT.

import type { Programme } from './xmltv.js';

export interface XmltvOutChannel {
  slug: string;
  name: string;
  number: number;
  epg: string;
}

/** XML text and attribute escaping (XML 1.0 §2.4, §3.3.3); control characters dropped. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** UTC ms → XMLTV time "YYYYMMDDhhmmss +0000". */
export function xmltvTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())} +0000`
  );
}

export function epgXml(
  channels: readonly XmltvOutChannel[],
  programmes: (id: string) => readonly Programme[],
  generator = 'headend',
): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE tv SYSTEM "xmltv.dtd">',
    `<tv generator-info-name="${xmlEscape(generator)}">`,
  ];
  const sorted = [...channels].sort((a, b) => a.number - b.number);
  for (const c of sorted) {
    out.push(
      `  <channel id="${xmlEscape(c.slug)}">`,
      `    <display-name>${xmlEscape(c.name)}</display-name>`,
      `    <display-name>${c.number}</display-name>`,
      '  </channel>',
    );
  }
  for (const c of sorted) {
    const list = programmes(c.epg);
    list.forEach((p, i) => {
      const stop = Number.isFinite(p.stop) ? p.stop : list[i + 1]?.start;
      const lang = p.lang ? ` lang="${xmlEscape(p.lang)}"` : '';
      out.push(
        `  <programme start="${xmltvTime(p.start)}"` +
          (stop !== undefined ? ` stop="${xmltvTime(stop)}"` : '') +
          ` channel="${xmlEscape(c.slug)}">`,
        `    <title${lang}>${xmlEscape(p.title)}</title>`,
      );
      const others = p.others ?? [];
      for (const o of others)
        out.push(`    <title lang="${xmlEscape(o.lang)}">${xmlEscape(o.title)}</title>`);
      if (p.desc) out.push(`    <desc${lang}>${xmlEscape(p.desc)}</desc>`);
      for (const o of others)
        if (o.desc) out.push(`    <desc lang="${xmlEscape(o.lang)}">${xmlEscape(o.desc)}</desc>`);
      for (const cat of p.categories) out.push(`    <category${lang}>${xmlEscape(cat)}</category>`);
      if (p.minAge !== undefined) out.push(`    <rating><value>${p.minAge}</value></rating>`);
      out.push('  </programme>');
    });
  }
  out.push('</tv>');
  return out.join('\n') + '\n';
}
