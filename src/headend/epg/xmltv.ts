// XMLTV (the de-facto guide format of xmltv.org's DTD, read by Kodi, TiviMate, Jellyfin…):
// `<tv>` with `<channel id>` entries and `<programme start stop channel>` entries holding
// `<title lang>`, `<desc lang>`, `<category lang>`, `<rating system><value>`. Parsed as a stream
// with saxes (a maintained streaming XML parser), so a large guide never sits in memory as a
// document: only the programmes kept.
//
// Times: "YYYYMMDDhhmmss ±hhmm" (seconds and the offset optional; no offset = UTC, as most
// grabbers write it when they give none).
//
//   const r = new XmltvReader();
//   r.write(chunk) …; const guide = r.close();   // throws XmltvError with line and column

import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface Programme {
  channel: string;
  /** UTC ms. */
  start: number;
  /** UTC ms; NaN when the file gives none (the next programme's start is used then). */
  stop: number;
  title: string;
  /** ISO 639 of the title ('' when not given). */
  lang: string;
  desc: string;
  /** Titles (and descriptions) in other languages, in the file's order. */
  others?: { lang: string; title: string; desc: string }[];
  categories: string[];
  /** Minimum age from a <rating><value>, when it is a number ("12", "FSK 16", "PG-13"). */
  minAge?: number;
}

export interface XmltvGuide {
  /** Channel id → display names. */
  channels: Map<string, string[]>;
  programmes: Programme[];
}

export class XmltvError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'XmltvError';
  }
}

/** XMLTV time → UTC ms, NaN when malformed. */
export function parseXmltvTime(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?\s*(?:([+-])(\d{2}):?(\d{2}))?$/.exec(
    s.trim(),
  );
  if (m === null) return NaN;
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  if (m[7] === undefined) return utc;
  const off = (+m[8] * 60 + +m[9]) * 60_000;
  return m[7] === '+' ? utc - off : utc + off;
}

/** The first number in a rating value, as an age. */
function ageOf(value: string): number | undefined {
  const m = /(\d{1,2})/.exec(value);
  return m ? Number(m[1]) : undefined;
}

export class XmltvReader {
  private readonly parser = new SaxesParser({ position: true });
  private readonly guide: XmltvGuide = { channels: new Map(), programmes: [] };
  private error: XmltvError | undefined;
  private channel: { id: string; names: string[] } | null = null;
  private prog: Programme | null = null;
  /** The element whose text is being collected, and the text. */
  private field: string | null = null;
  private fieldLang = '';
  private text = '';
  private inRating = false;

  constructor() {
    const p = this.parser;
    p.on('error', (e) => {
      this.error ??= new XmltvError(e.message.replace(/^(?:\S*:)?\d+:\d+: /, ''), p.line, p.column);
    });
    p.on('opentag', (tag) => this.open(tag as SaxesTagPlain));
    p.on('closetag', (tag) => this.closeTag(tag.name));
    p.on('text', (t) => {
      if (this.field !== null) this.text += t;
    });
    p.on('cdata', (t) => {
      if (this.field !== null) this.text += t;
    });
  }

  /** More of the document. Throws the first XML error (with its line and column). */
  write(chunk: string): void {
    if (this.error) throw this.error;
    this.parser.write(chunk);
    if (this.error) throw this.error;
  }

  /** End of the document: the guide, programmes sorted by channel and start. */
  close(): XmltvGuide {
    if (this.error) throw this.error;
    this.parser.close();
    if (this.error) throw this.error;
    this.guide.programmes.sort((a, b) =>
      a.channel === b.channel ? a.start - b.start : a.channel < b.channel ? -1 : 1,
    );
    return this.guide;
  }

  private fail(message: string): void {
    this.error ??= new XmltvError(message, this.parser.line, this.parser.column);
  }

  private open(tag: SaxesTagPlain): void {
    const a = tag.attributes;
    switch (tag.name) {
      case 'channel':
        if (this.prog === null) this.channel = { id: String(a.id ?? ''), names: [] };
        return;
      case 'programme': {
        const start = parseXmltvTime(String(a.start ?? ''));
        const channel = String(a.channel ?? '');
        if (Number.isNaN(start) || channel === '') {
          this.fail(`<programme> needs channel= and a start= time (YYYYMMDDhhmmss ±hhmm)`);
          return;
        }
        const stop = a.stop === undefined ? NaN : parseXmltvTime(String(a.stop));
        this.prog = { channel, start, stop, title: '', lang: '', desc: '', categories: [] };
        return;
      }
      case 'rating':
        this.inRating = true;
        return;
      case 'display-name':
      case 'title':
      case 'desc':
      case 'category':
      case 'value':
        this.field = tag.name;
        this.fieldLang = String(a.lang ?? '');
        this.text = '';
        return;
    }
  }

  private closeTag(name: string): void {
    if (name === 'channel' && this.channel !== null) {
      if (this.channel.id !== '') this.guide.channels.set(this.channel.id, this.channel.names);
      this.channel = null;
      return;
    }
    if (name === 'programme') {
      if (this.prog !== null) this.guide.programmes.push(this.prog);
      this.prog = null;
      return;
    }
    if (name === 'rating') {
      this.inRating = false;
      return;
    }
    if (name !== this.field) return;
    const text = this.text.trim();
    this.field = null;
    const p = this.prog;
    if (name === 'display-name') {
      if (this.channel !== null && text) this.channel.names.push(text);
    } else if (p !== null) {
      // The first title/desc is the programme's own (XMLTV lists one per language, the
      // preferred one first); those in other languages come along for TVs set to them.
      const lang = this.fieldLang;
      if (name === 'title' && p.title === '') {
        p.title = text;
        p.lang = lang;
      } else if (name === 'title' && text && lang && lang !== p.lang) {
        const o = (p.others ??= []).find((x) => x.lang === lang);
        if (o === undefined) p.others.push({ lang, title: text, desc: '' });
      } else if (name === 'desc') {
        const o = lang && lang !== p.lang ? p.others?.find((x) => x.lang === lang) : undefined;
        if (o !== undefined) {
          if (o.desc === '') o.desc = text;
        } else if (p.desc === '') p.desc = text;
      } else if (name === 'category' && text) p.categories.push(text);
      else if (name === 'value' && this.inRating && p.minAge === undefined) p.minAge = ageOf(text);
    }
  }
}

/** Parses a whole XMLTV text. Throws XmltvError. */
export function parseXmltv(text: string): XmltvGuide {
  const r = new XmltvReader();
  r.write(text);
  return r.close();
}
