// HTTP MPEG-TS: a channel's own remuxed stream (the bytes of its multicast, from the channel's
// tap, not a second ffmpeg) to any number of HTTP clients, as udpxy and IPTV players expect:
// `200`, `Content-Type: video/mp2t`, chunked, not cached, for as long as the client reads.
//
// Per channel one tap while it has clients. Datagrams are gathered for FLUSH_MS into one
// buffer, written to every client that has started (one allocation per batch, shared by all of
// them). A new client starts where a decoder can (stream-start.ts: PAT, PMT,
// then each stream from a PES start, video from a random access point within a second); its
// packets are copied for it until then. A client whose socket holds more than
// `clientBufferBytes` unsent is dropped (counted), so a slow one never slows the others. A
// reload that rebuilds a channel moves its clients to the new one (reattach); a channel that
// goes away ends them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelHandle } from '../channel/handle.js';
import type { HttpSpec } from '../config/types.js';
import type { Logger } from '../log.js';
import { StreamStart } from '../../mpegts/stream-start.js';

/** Batch buffer of a channel: flushed when full or FLUSH_MS after its first datagram. */
const BATCH_BYTES = 64 * 1316;
/**
 * How long datagrams gather before they go to the clients. Players buffer seconds; what costs is
 * a write per client per batch. Flushed at the end of each event-loop turn (a channel worker's
 * 5 ms batch), 200 clients of one 5 Mbit/s channel were ~40,000 writes a second on the main
 * thread, beside the pacing threads on the same cores; with FLUSH_MS, ~5,000. (bench/http-clients
 * could not tell the two apart on CPU: 22.5-26.9 % of a core either way, run to run.)
 */
export const FLUSH_MS = 40;

interface Client {
  res: ServerResponse;
  address: string;
  /** Until every stream has started; null after. */
  start: StreamStart | null;
  /** Bytes of the current batch that came before this client started (it had them already). */
  skip: number;
}

/** What a stream is read from: a channel (its tap), or a relayed group (relay.ts). */
export interface TsSource {
  /** The channel's slug, or `udp:<group>:<port>` for a relay. */
  readonly key: string;
  /** The channel it is, when it is one (a reload may replace it: reattach). */
  readonly channel?: ChannelHandle;
  tap(listener: (ts: Uint8Array, t27: number) => void): () => void;
}

/** A channel as a TsSource. */
export const channelSource = (h: ChannelHandle): TsSource => ({
  key: h.config.slug,
  channel: h,
  tap: (l) => h.tap(l),
});

interface Fanout {
  slug: string;
  source: TsSource;
  untap: () => void;
  clients: Set<Client>;
  batch: Uint8Array;
  used: number;
  scheduled: boolean;
  /** Scratch for a starting client's packets of one datagram. */
  scratch: Uint8Array;
}

export interface StreamStats {
  /** Clients per channel slug now. */
  clients: Map<string, number>;
  /** Clients dropped because they fell behind. */
  dropped: number;
  /** Requests refused by a limit (503). */
  refused: number;
}

export class TsStreams {
  private readonly fanouts = new Map<string, Fanout>();
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  readonly stats: StreamStats = { clients: new Map(), dropped: 0, refused: 0 };

  constructor(
    private readonly spec: () => HttpSpec,
    private readonly channels: () => readonly ChannelHandle[],
    private readonly log: Logger,
  ) {}

  /**
   * Serves `handle`'s stream on `res` (GET; HEAD: the headers only). Refuses with 503 when a
   * client limit is reached.
   */
  serve(req: IncomingMessage, res: ServerResponse, source: TsSource): void {
    const slug = source.key;
    const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const s = this.spec();
    const f = this.fanouts.get(slug);
    const limit =
      this.total >= s.maxClients
        ? `${s.maxClients} clients in all`
        : (f?.clients.size ?? 0) >= s.maxPerChannel
          ? `${s.maxPerChannel} clients of channel ${slug}`
          : (this.perAddress.get(address) ?? 0) >= s.maxPerAddress
            ? `${s.maxPerAddress} clients from ${address}`
            : undefined;
    if (limit !== undefined) {
      this.stats.refused++;
      this.log.log('warn', 'http-stream-refused', { channel: slug, client: address, limit });
      const body = `too many streams: the limit is ${limit}\n`;
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'retry-after': '10',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'video/mp2t',
      'cache-control': 'no-cache, no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    const client: Client = { res, address, start: new StreamStart(), skip: 0 };
    const fan = f ?? this.open(slug, source);
    fan.clients.add(client);
    this.total++;
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.stats.clients.set(slug, fan.clients.size);
    this.log.log('info', 'http-stream-start', { channel: slug, client: address });
    res.once('close', () => this.leave(fan, client));
  }

  /** After a reload: clients of a rebuilt channel go on from the new one; of a gone one, end. */
  reattach(): void {
    const bySlug = new Map(this.channels().map((c) => [c.config.slug, c]));
    for (const fan of [...this.fanouts.values()]) {
      if (!fan.source.channel) continue; // a relay: not the config's
      const now = bySlug.get(fan.slug);
      if (now === fan.source.channel) continue;
      fan.untap();
      if (!now) {
        for (const c of fan.clients) c.res.end();
        continue;
      }
      fan.source = channelSource(now);
      fan.untap = fan.source.tap((ts, t27) => this.datagram(fan, ts, t27));
    }
  }

  /** Ends every stream (the server stops). */
  close(): void {
    for (const fan of this.fanouts.values()) {
      fan.untap();
      for (const c of fan.clients) c.res.destroy();
    }
    this.fanouts.clear();
  }

  private open(slug: string, source: TsSource): Fanout {
    const fan: Fanout = {
      slug,
      source,
      untap: () => {},
      clients: new Set(),
      batch: new Uint8Array(BATCH_BYTES),
      used: 0,
      scheduled: false,
      scratch: new Uint8Array(7 * 188),
    };
    fan.untap = source.tap((ts, t27) => this.datagram(fan, ts, t27));
    this.fanouts.set(slug, fan);
    return fan;
  }

  private leave(fan: Fanout, client: Client): void {
    if (!fan.clients.delete(client)) return;
    this.total--;
    const n = (this.perAddress.get(client.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(client.address, n);
    else this.perAddress.delete(client.address);
    this.stats.clients.set(fan.slug, fan.clients.size);
    this.log.log('info', 'http-stream-end', { channel: fan.slug, client: client.address });
    if (fan.clients.size > 0) return;
    fan.untap();
    this.stats.clients.delete(fan.slug);
    if (this.fanouts.get(fan.slug) === fan) this.fanouts.delete(fan.slug);
  }

  /** One datagram of the channel (a view valid during the call). */
  private datagram(fan: Fanout, ts: Uint8Array, t27: number): void {
    if (fan.used + ts.length > fan.batch.length) this.flush(fan);
    fan.batch.set(ts, fan.used);
    fan.used += ts.length;
    for (const c of fan.clients) {
      if (c.start === null) continue;
      const n = c.start.filter(ts, t27, fan.scratch, 0);
      if (n > 0 && !this.write(fan, c, Buffer.from(fan.scratch.subarray(0, n)))) continue;
      if (c.start.started) {
        c.start = null;
        c.skip = fan.used; // what the batch holds so far, it has (or did not want)
      }
    }
    if (!fan.scheduled) {
      fan.scheduled = true;
      setTimeout(() => {
        fan.scheduled = false;
        this.flush(fan);
      }, FLUSH_MS);
    }
  }

  private flush(fan: Fanout): void {
    if (fan.used === 0) return;
    const chunk = Buffer.from(fan.batch.slice(0, fan.used).buffer);
    fan.used = 0;
    for (const c of fan.clients) {
      if (c.start !== null) continue;
      const skip = c.skip;
      c.skip = 0;
      if (skip < chunk.length) this.write(fan, c, skip > 0 ? chunk.subarray(skip) : chunk);
    }
  }

  /** Writes to a client unless it is too far behind (then it is dropped). */
  private write(fan: Fanout, c: Client, bytes: Buffer): boolean {
    if (c.res.destroyed) return false;
    if (c.res.writableLength > this.spec().clientBufferBytes) {
      this.stats.dropped++;
      this.log.log('warn', 'http-stream-slow-client', {
        channel: fan.slug,
        client: c.address,
        behindBytes: c.res.writableLength,
      });
      c.res.destroy();
      return false;
    }
    c.res.write(bytes);
    return true;
  }
}
