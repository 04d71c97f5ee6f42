// A guide's programmes as the EIT carries them (ETSI EN 300 468 §5.2.4): present/following at
// an instant, each programme an EitEvent with a short_event_descriptor (§6.2.37: title and
// description, in the DVB character table dvb-text.ts picks: plain ASCII, else UTF-8; a
// description too long for it goes into extended_event_descriptors, §6.2.15, up to ~3 KB),
// a content_descriptor (§6.2.9, table 29) where an XMLTV category maps to a genre, and a
// parental_rating_descriptor (§6.2.28: rating = minimum age − 3) where the guide gives an age
// and the headend has a country.

import type { Descriptor } from '../../mpegts/psi/descriptors.js';
import {
  extendedEventDescriptors,
  shortEventDescriptor,
  type EitEvent,
} from '../../mpegts/psi/eit.js';
import { encodeDvbText } from '../../mpegts/psi/dvb-text.js';
import type { Programme } from './xmltv.js';

/** EN 300 468 table 29, level 1 nibbles, matched against XMLTV category words. */
const GENRES: readonly [RegExp, number][] = [
  [/\b(news|nachrichten|journal|current affairs|weather)\b/i, 0x20],
  [/\b(movie|film|drama|series|serie|soap|thriller|comedy|crime)\b/i, 0x10],
  [/\b(sports?|football|soccer|tennis|golf|racing|olympics)\b/i, 0x40],
  [/\b(children|kids|youth|cartoons?|animation)\b/i, 0x50],
  [/\b(music|concert|ballet|dance|opera)\b/i, 0x60],
  [/\b(show|game show|quiz|talk show|entertainment|variety)\b/i, 0x30],
  [/\b(arts?|culture|religion|fashion)\b/i, 0x70],
  [/\b(documentary|education|science|nature|history|factual)\b/i, 0x90],
  [/\b(leisure|hobby|travel|cooking|food|motoring|lifestyle)\b/i, 0xa0],
  [/\b(politics|economics|social|magazine)\b/i, 0x80],
];

/** Languages of an event's short_event_descriptors at most (its own and 3 others). */
const MAX_LANGUAGES = 4;

/** ISO 639-1 → ISO 639-2/B for the languages guides use most; others 'und'. */
const LANG3: Readonly<Record<string, string>> = {
  en: 'eng',
  de: 'ger',
  fr: 'fre',
  es: 'spa',
  it: 'ita',
  nl: 'dut',
  pt: 'por',
  pl: 'pol',
  cs: 'cze',
  sk: 'slo',
  hu: 'hun',
  ro: 'rum',
  bg: 'bul',
  el: 'gre',
  tr: 'tur',
  ru: 'rus',
  uk: 'ukr',
  sv: 'swe',
  da: 'dan',
  no: 'nor',
  nb: 'nor',
  fi: 'fin',
  et: 'est',
  lv: 'lav',
  lt: 'lit',
  sl: 'slv',
  hr: 'hrv',
  sr: 'srp',
  ar: 'ara',
  he: 'heb',
  zh: 'chi',
  ja: 'jpn',
  ko: 'kor',
  hi: 'hin',
  th: 'tha',
  vi: 'vie',
  id: 'ind',
  ms: 'may',
  ca: 'cat',
  eu: 'baq',
  ga: 'gle',
  cy: 'wel',
  is: 'ice',
};

export function language3(lang: string): string {
  const l = lang.toLowerCase();
  if (/^[a-z]{3}$/.test(l)) return l;
  return LANG3[l.slice(0, 2)] ?? 'und';
}

/** The content_descriptor nibbles of a programme's categories (first match per category). */
export function genresOf(categories: readonly string[]): number[] {
  const out: number[] = [];
  for (const c of categories) {
    const g = GENRES.find(([re]) => re.test(c));
    if (g && !out.includes(g[1])) out.push(g[1]);
  }
  return out.slice(0, 4);
}

/** event_id: the start minute, unique within a service over 45 days (§5.2.4: 16 bits). */
export function eventIdOf(p: Programme): number {
  return Math.floor(p.start / 60_000) & 0xffff;
}

/** A programme's end: its stop, else the next programme's start, else start + 1 h. */
export function endOf(progs: readonly Programme[], i: number): number {
  const p = progs[i];
  if (Number.isFinite(p.stop) && p.stop > p.start) return p.stop;
  const next = progs[i + 1];
  return next !== undefined && next.start > p.start ? next.start : p.start + 3_600_000;
}

export interface PresentFollowing {
  present?: Programme;
  presentEnd: number;
  following?: Programme;
  followingEnd: number;
  /** When the answer changes next (UTC ms): the present's end, or the following's start. */
  changesAt: number;
}

/** The programme on air at `now` (if any) and the next one, from programmes sorted by start. */
export function presentFollowing(progs: readonly Programme[], now: number): PresentFollowing {
  let i = 0;
  while (i < progs.length && endOf(progs, i) <= now) i++;
  const r: PresentFollowing = { presentEnd: NaN, followingEnd: NaN, changesAt: Infinity };
  if (i >= progs.length) return r;
  if (progs[i].start <= now) {
    r.present = progs[i];
    r.presentEnd = endOf(progs, i);
    r.changesAt = r.presentEnd;
    i++;
  }
  if (i < progs.length) {
    r.following = progs[i];
    r.followingEnd = endOf(progs, i);
    r.changesAt = Math.min(r.changesAt, progs[i].start);
  }
  return r;
}

/**
 * One programme as an EIT event. running_status: 4 running (p/f present), 1 not running (p/f
 * following), 0 undefined (schedule, TS 101 211 §4.1.4).
 */
export function eitEvent(
  p: Programme,
  end: number,
  runningStatus: 0 | 1 | 4,
  country: string | null,
): EitEvent {
  const other: Descriptor[] = [];
  const lang = language3(p.lang);
  // Other languages: a short_event_descriptor each (EN 300 468 §6.2.37: one per language; a
  // TV shows the one of its menu language), at most MAX_LANGUAGES − 1 of them.
  const seen = new Set([lang]);
  for (const o of p.others ?? []) {
    const l = language3(o.lang);
    if (seen.has(l) || l === 'und' || seen.size >= MAX_LANGUAGES) continue;
    seen.add(l);
    other.push(shortEventDescriptor({ language: l, name: o.title, text: o.desc }));
  }
  // The short event holds name + text in 250 bytes; a longer description goes whole into
  // extended event descriptors (12 at most, fewer beside other languages: the event must fit
  // a 4 KB section).
  const nameBytes = encodeDvbText(p.title, 126).length;
  const long = encodeDvbText(p.desc).length > 250 - nameBytes;
  if (long) other.push(...extendedEventDescriptors(lang, p.desc, 12 - 3 * (seen.size - 1)));
  const genres = genresOf(p.categories);
  if (genres.length > 0) {
    // content_descriptor: { content_nibble_level_1(4) level_2(4) user_byte(8) }*
    other.push({ tag: 0x54, data: Uint8Array.from(genres.flatMap((g) => [g, 0])) });
  }
  if (p.minAge !== undefined && p.minAge >= 4 && country !== null) {
    // parental_rating_descriptor: { country_code(24) rating(8) }, rating = age − 3 (0x01-0x0F)
    const rating = Math.min(0x0f, p.minAge - 3);
    other.push({
      tag: 0x55,
      data: Uint8Array.of(
        country.charCodeAt(0),
        country.charCodeAt(1),
        country.charCodeAt(2),
        rating,
      ),
    });
  }
  return {
    eventId: eventIdOf(p),
    startTime: new Date(Math.floor(p.start / 1000) * 1000),
    durationSec: Math.max(0, Math.round((end - p.start) / 1000)),
    runningStatus,
    freeCaMode: false,
    shortEvent: { language: lang, name: p.title, text: long ? '' : p.desc },
    otherDescriptors: other,
  };
}
