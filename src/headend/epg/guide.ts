// The headend's programme guide: the XMLTV sources of `headend.epg` (file paths, relative to
// channels.yaml, or http(s) URLs; gzip recognised by its magic bytes), read as a stream at start,
// every `epg_refresh` and on reload. A source that fails (unreachable, not XML, malformed at
// some line) is logged with its name and the place, and the guide keeps what that source gave
// last time: a broken download never blanks the TVs' guide. `test` is a generated guide for the
// configured channels (test-guide.ts), for trying things out.

import { createReadStream } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Logger } from '../log.js';
import { testGuide } from './test-guide.js';
import { XmltvError, XmltvReader, type Programme, type XmltvGuide } from './xmltv.js';

/** Longest wait for an HTTP guide. */
const HTTP_TIMEOUT_MS = 60_000;

export interface GuideChannel {
  /** The channel's guide id (`epg:`, default its slug). */
  epg: string;
  name: string;
}

export interface GuideOptions {
  sources: readonly string[];
  /** Directory relative paths are read from (channels.yaml's). */
  dir: string;
  log: Logger;
  /** The channels (the test guide is made for them; unknown ids are warned about). */
  channels: () => readonly GuideChannel[];
  now?: () => number;
}

/** Bytes of a source, gunzipped when they start with the gzip magic. */
async function* bytesOf(where: string): AsyncGenerator<Buffer> {
  let input: AsyncIterable<Buffer>;
  if (/^https?:\/\//i.test(where)) {
    const res = await fetch(where, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    input = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  } else {
    input = createReadStream(where);
  }
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = Buffer.from(first.value);
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield Buffer.from(n.value);
  };
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    const fed = Readable.from(rest()).pipe(gunzip);
    for await (const chunk of fed) yield chunk as Buffer;
  } else {
    yield* rest();
  }
}

/** Reads one XMLTV source as a stream. Throws with the place of an XML error. */
export async function readXmltv(where: string): Promise<XmltvGuide> {
  const reader = new XmltvReader();
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of bytesOf(where)) reader.write(decoder.decode(chunk, { stream: true }));
  reader.write(decoder.decode());
  return reader.close();
}

export class Guide {
  /** Per source, what it gave last time it could be read. */
  private readonly bySource = new Map<string, XmltvGuide>();
  private byChannel = new Map<string, Programme[]>();
  private gen = 0;
  private readonly now: () => number;

  constructor(private o: GuideOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Bumped whenever the programmes change (channels rebuild their EIT then). */
  get generation(): number {
    return this.gen;
  }

  /** Programmes of a guide id, sorted by start ([] when none). */
  programmes(id: string): readonly Programme[] {
    return this.byChannel.get(id) ?? [];
  }

  /** New sources (a reload); reads them. */
  async setSources(sources: readonly string[], dir: string): Promise<void> {
    this.o = { ...this.o, sources, dir };
    for (const k of [...this.bySource.keys()]) if (!sources.includes(k)) this.bySource.delete(k);
    await this.load();
  }

  /** Reads every source; a failing one keeps its last result. */
  async load(): Promise<void> {
    const { log } = this.o;
    for (const source of this.o.sources) {
      const t0 = this.now();
      try {
        const g =
          source === 'test'
            ? testGuide(this.o.channels(), this.now())
            : await readXmltv(
                isAbsolute(source) || /^https?:/i.test(source)
                  ? source
                  : resolve(this.o.dir, source),
              );
        this.bySource.set(source, g);
        log.log('info', 'epg-loaded', {
          source,
          channels: new Set(g.programmes.map((p) => p.channel)).size,
          programmes: g.programmes.length,
          ms: Math.round(this.now() - t0),
        });
      } catch (err) {
        const where = err instanceof XmltvError ? `${source}:${err.line}:${err.column}` : source;
        log.log('error', 'epg-error', {
          source: where,
          message: (err as Error).message,
          kept: this.bySource.has(source) ? 'the guide it gave last time' : 'nothing yet',
        });
      }
    }
    this.merge();
  }

  private merge(): void {
    const by = new Map<string, Programme[]>();
    for (const g of this.bySource.values()) {
      for (const p of g.programmes) {
        let list = by.get(p.channel);
        if (list === undefined) by.set(p.channel, (list = []));
        list.push(p);
      }
    }
    for (const [id, list] of by) {
      list.sort((a, b) => a.start - b.start);
      // Two sources with the same programme: keep one per start time.
      by.set(
        id,
        list.filter((p, i) => i === 0 || p.start !== list[i - 1].start),
      );
    }
    this.byChannel = by;
    this.gen++;
    const unknown = this.o
      .channels()
      .filter((c) => !by.has(c.epg))
      .map((c) => `${c.name} (epg: ${c.epg})`);
    if (unknown.length > 0 && this.o.sources.length > 0)
      this.o.log.log('warn', 'epg-unknown-channel', {
        message: `no guide for ${unknown.join(', ')}: their EIT stays empty`,
      });
  }
}
