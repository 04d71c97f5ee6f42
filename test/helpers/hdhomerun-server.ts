// A stand-in for an HDHomeRun network tuner, written for the tests (it is not a device
// emulator: it serves just the parts of SiliconDust's HTTP API and discovery protocol that the
// hdhomerun source uses). HTTP on 127.0.0.1:<port>:
//
//   /discover.json   {DeviceID, TunerCount, BaseURL, LineupURL, ...}
//   /lineup.json     [{GuideNumber, GuideName, URL, HD, DRM}]; a DRM channel's stream: 403
//   /status.json     one entry per tuner; a busy one with VctNumber, signal figures, TargetIP
//   /auto/v<n>       the channel's TS file in a loop at a fixed byte rate; a tuner is held
//                    while the connection is open. No tuner free (or `busy` set): 503 with
//                    X-HDHomeRun-Error: 805 All Tuners In Use. Unknown channel: 404.
//
// and a UDP discovery responder (packet.ts's frames), bound in the private network namespace
// only (importing private-network.js refuses anything else).

import './private-network.js';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import {
  DEVICE_TYPE_TUNER,
  WILDCARD,
  decodeDiscoverRequest,
  encodeDiscoverReply,
} from '../../src/headend/tuners/hdhomerun/packet.js';

export interface FakeChannel {
  guideNumber: string;
  name: string;
  /** A TS file, sent in a loop. */
  file: string;
  hd?: boolean;
  /** Listed with DRM: 1 (copy-protected); its stream is refused with 403. */
  drm?: boolean;
}

export interface FakeHdhomerunOptions {
  /** 8 hex digits with a valid check digit, e.g. 1010CAFE. */
  deviceId: string;
  /** Default 2. */
  tuners?: number;
  channels: FakeChannel[];
  /** Bytes per second of each stream. Default 250 000 (2 Mbit/s). */
  byteRate?: number;
  /** HTTP port. Default 0 (any; read `port`). */
  port?: number;
  /** UDP port of the discovery responder: 0 = any (read `discoveryPort`); absent: none. */
  discoveryPort?: number;
}

interface TunerUse {
  channel: FakeChannel;
  targetIp: string;
  res: ServerResponse;
}

export interface FakeRequest {
  path: string;
  status: number;
  at: number;
}

export class FakeHdhomerun {
  port = 0;
  discoveryPort = 0;
  /** Answer every stream request with 503 805 All Tuners In Use. */
  busy = false;
  /** Streams send nothing (connections stay open): a stalled feed. */
  paused = false;
  /** Serve /status.json (false: 404, as older firmware). */
  statusJson = true;
  /** Answer discovery requests. */
  answerDiscovery = true;
  /** What /status.json reports for a busy tuner. */
  signal = { strength: 82, quality: 71, symbol: 100 };
  readonly requests: FakeRequest[] = [];
  discoverRequests = 0;
  private readonly tuners: (TunerUse | undefined)[];
  private readonly files = new Map<string, Buffer>();
  private readonly server: Server;
  private udp: UdpSocket | undefined;
  private readonly conns = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: FakeHdhomerunOptions) {
    this.tuners = new Array<TunerUse | undefined>(o.tuners ?? 2).fill(undefined);
    for (const c of o.channels) this.files.set(c.guideNumber, readFileSync(c.file));
    this.server = createServer((req, res) => this.handle(req.url ?? '/', req.socket, res));
    this.server.on('connection', (s) => {
      this.conns.add(s);
      s.on('close', () => this.conns.delete(s));
    });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Tuners in use. */
  get streaming(): number {
    return this.tuners.filter((t) => t !== undefined).length;
  }

  /** Requests for /auto/v… (any answer). */
  streamRequests(): FakeRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/auto/'));
  }

  async start(): Promise<void> {
    await this.listen(this.o.port ?? 0);
    if (this.o.discoveryPort !== undefined) {
      const udp = createSocket({ type: 'udp4', reuseAddr: false });
      udp.on('message', (msg, rinfo) => {
        const q = decodeDiscoverRequest(msg);
        if (q === undefined || !this.answerDiscovery) return;
        this.discoverRequests++;
        if (q.deviceType !== DEVICE_TYPE_TUNER && q.deviceType !== WILDCARD) return;
        if (q.deviceId !== WILDCARD && q.deviceId !== parseInt(this.o.deviceId, 16)) return;
        const reply = encodeDiscoverReply({
          deviceId: this.o.deviceId,
          tunerCount: this.tuners.length,
          baseUrl: this.baseUrl,
          lineupUrl: `${this.baseUrl}/lineup.json`,
        });
        udp.send(reply, rinfo.port, rinfo.address);
      });
      // 0.0.0.0 inside the namespace is its lo only; it also receives lo's broadcasts.
      await new Promise<void>((r) => udp.bind(this.o.discoveryPort, '0.0.0.0', r));
      this.discoveryPort = udp.address().port;
      this.udp = udp;
    }
  }

  /** The device is gone: every connection is cut and nothing listens on the port. */
  async vanish(): Promise<void> {
    for (const s of this.conns) s.destroy();
    this.freeAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Listens again on the same port. */
  async reappear(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    this.udp?.close();
    this.udp = undefined;
    if (this.server.listening) await this.vanish();
    else for (const s of this.conns) s.destroy();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const a = this.server.address();
        if (a !== null && typeof a === 'object') this.port = a.port;
        resolve();
      });
    });
  }

  private handle(url: string, sock: Socket, res: ServerResponse): void {
    const path = url.split('?')[0];
    const answer = (status: number, body: string, headers: Record<string, string> = {}): void => {
      this.requests.push({ path, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    if (path === '/discover.json') {
      answer(
        200,
        JSON.stringify({
          FriendlyName: 'HDHomeRun stand-in',
          ModelNumber: 'HDTC-2US',
          DeviceID: this.o.deviceId,
          TunerCount: this.tuners.length,
          BaseURL: this.baseUrl,
          LineupURL: `${this.baseUrl}/lineup.json`,
        }),
      );
    } else if (path === '/lineup.json') {
      answer(
        200,
        JSON.stringify(
          this.o.channels.map((c) => ({
            GuideNumber: c.guideNumber,
            GuideName: c.name,
            ...(c.hd === true ? { HD: 1 } : {}),
            ...(c.drm === true ? { DRM: 1 } : {}),
            URL: `http://127.0.0.1:${this.port}/auto/v${c.guideNumber}`,
          })),
        ),
      );
    } else if (path === '/status.json') {
      if (!this.statusJson) answer(404, 'Not Found', { 'content-type': 'text/plain' });
      else answer(200, JSON.stringify(this.status()));
    } else if (path.startsWith('/auto/v')) {
      const guide = decodeURIComponent(path.slice('/auto/v'.length));
      const channel = this.o.channels.find((c) => c.guideNumber === guide);
      const free = this.tuners.findIndex((t) => t === undefined);
      const html = (s: string): string => `<html><body><h1>${s}</h1></body></html>`;
      if (channel === undefined) {
        answer(404, html('Unknown Channel'), { 'content-type': 'text/html' });
      } else if (channel.drm === true) {
        this.requests.push({ path, status: 403, at: Date.now() });
        answer(403, html('Copy Protected'), { 'content-type': 'text/html' });
      } else if (this.busy || free < 0) {
        answer(503, html('All Tuners In Use'), {
          'content-type': 'text/html',
          'x-hdhomerun-error': '805 All Tuners In Use',
        });
      } else {
        this.requests.push({ path, status: 200, at: Date.now() });
        this.tuners[free] = { channel, targetIp: plainIp(sock.remoteAddress), res };
        this.stream(free, channel, res);
      }
    } else {
      answer(404, 'Not Found', { 'content-type': 'text/plain' });
    }
  }

  private stream(tuner: number, channel: FakeChannel, res: ServerResponse): void {
    const file = this.files.get(channel.guideNumber) as Buffer;
    // Paced by elapsed time, as a tuner delivers the broadcast: a fixed amount per timer tick
    // ran slower than the stream (whole packets per 20 ms rounded down, and late ticks never
    // caught up: ~5 %), which drained the daemon's queue over the test and looked like a stall.
    const rate = this.o.byteRate ?? 250_000;
    const t0 = performance.now();
    let sent = 0; // bytes of this stream so far (whole packets)
    let pos = 0;
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    const timer = setInterval(() => {
      const due = Math.floor((((performance.now() - t0) / 1000) * rate) / 188) * 188;
      if (res.writableNeedDrain || this.paused) {
        sent = due; // what a stalled or paused tuner did not deliver is gone, as on air
        return;
      }
      while (sent < due) {
        const n = Math.min(due - sent, file.length - pos);
        res.write(file.subarray(pos, pos + n));
        pos = (pos + n) % file.length;
        sent += n;
      }
    }, 20);
    this.timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      this.timers.delete(timer);
      if (this.tuners[tuner]?.res === res) this.tuners[tuner] = undefined;
    });
  }

  private freeAll(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    this.tuners.fill(undefined);
  }

  private status(): object[] {
    return this.tuners.map((t, i) =>
      t === undefined
        ? { Resource: `tuner${i}` }
        : {
            Resource: `tuner${i}`,
            VctNumber: t.channel.guideNumber,
            VctName: t.channel.name,
            Frequency: 57_000_000 + 6_000_000 * i,
            SignalStrengthPercent: this.signal.strength,
            SignalQualityPercent: this.signal.quality,
            SymbolQualityPercent: this.signal.symbol,
            TargetIP: t.targetIp,
            NetworkRate: (this.o.byteRate ?? 250_000) * 8,
          },
    );
  }
}

function plainIp(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:/, '');
}
