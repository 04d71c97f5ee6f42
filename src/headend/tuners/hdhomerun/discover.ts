// Finding an HDHomeRun: a device id (8 hex digits) is looked up with the discovery protocol
// (UDP 65001, packets in packet.ts, as libhdhomerun's hdhomerun_discover.c sends them: to the
// broadcast address of the interface and to any unicast address given), a host name or address
// is used as it is and asked for /discover.json (SiliconDust's HTTP API). Answers are cached
// per device id in a DeviceDirectory, and forgotten when the device stops answering there.

import { createSocket, type RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { headendError, isHeadendError, type HeadendError } from '../../errors.js';
import { getJson } from './http.js';
import {
  DISCOVER_PORT,
  WILDCARD,
  decodeDiscoverReply,
  encodeDiscoverRequest,
  isDeviceIdText,
  validDeviceId,
} from './packet.js';

/** Where discovery requests go. The lead's config sets these; tests point them at 127.0.0.1. */
export interface DiscoverOptions {
  /**
   * Interface name (eth0) or one of its IPv4 addresses: the request goes to that interface's
   * broadcast address from a socket bound to it. Absent: to 255.255.255.255.
   */
  interface?: string;
  /** Broadcast at all (default true). False: only `targets` are asked. */
  broadcast?: boolean;
  /** Unicast addresses asked as well (a device on another subnet; 127.0.0.1 in tests). */
  targets?: readonly string[];
  /** UDP port of the devices, default 65001 (another one only for a stand-in in tests). */
  port?: number;
  /** How long to wait for replies. Default 1000 ms; the request is sent again at a third. */
  timeoutMs?: number;
}

/** A device as we know it. */
export interface DeviceInfo {
  /** 8 upper-case hex digits, when known (discovery, or DeviceID in /discover.json). */
  id?: string;
  /** Host of the stream service (the device's address, or the host name as configured). */
  host: string;
  /** Base of the HTTP API, no trailing slash: http://192.168.1.20:80 */
  baseUrl: string;
  lineupUrl?: string;
  tunerCount?: number;
}

/** How messages name a device: its id when known, else its host. */
export function deviceName(d: DeviceInfo): string {
  return d.id ?? d.host;
}

/**
 * Sends discover requests for `id` (WILDCARD: every tuner device) and collects the replies.
 * For one id, resolves at the first reply from it; for the wildcard, after the timeout.
 */
export function discover(
  id: number,
  opts: DiscoverOptions = {},
  signal?: AbortSignal,
): Promise<(DeviceInfo & { id: string })[] | HeadendError> {
  const port = opts.port ?? DISCOVER_PORT;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const bc = opts.broadcast === false ? undefined : broadcastFor(opts.interface);
  if (isHeadendError(bc)) return Promise.resolve(bc);
  const dests = [...(bc !== undefined ? [bc.address] : []), ...(opts.targets ?? [])];
  if (dests.length === 0) {
    return Promise.resolve(
      headendError('E_USAGE', 'discovery has nowhere to ask (no broadcast, no targets)'),
    );
  }
  if (signal?.aborted === true) return Promise.resolve([]);
  const request = encodeDiscoverRequest(id);
  const found = new Map<string, DeviceInfo & { id: string }>();
  const sock = createSocket({ type: 'udp4' });
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (v: (DeviceInfo & { id: string })[] | HeadendError): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const t of timers) clearTimeout(t);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(v);
    };
    const onAbort = (): void => finish([]);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) => finish(headendError('E_NET', `discovery socket: ${err.message}`)));
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      const r = decodeDiscoverReply(msg);
      if ('error' in r || r.deviceId === undefined) return;
      if (r.deviceType !== undefined && r.deviceType !== 1 && r.deviceType !== WILDCARD) return;
      if (id !== WILDCARD && parseInt(r.deviceId, 16) !== id) return;
      // Old firmware sends no base URL: the HTTP API is on port 80 of the sender (libhdhomerun).
      const baseUrl = (r.baseUrl ?? `http://${rinfo.address}:80`).replace(/\/+$/, '');
      const info: DeviceInfo & { id: string } = {
        id: r.deviceId,
        host: hostOf(baseUrl) ?? rinfo.address,
        baseUrl,
      };
      if (r.lineupUrl !== undefined) info.lineupUrl = r.lineupUrl;
      if (r.tunerCount !== undefined) info.tunerCount = r.tunerCount;
      found.set(r.deviceId, info);
      if (id !== WILDCARD) finish([info]);
    });
    const send = (): void => {
      for (const d of dests) {
        // A destination the namespace cannot reach (ENETUNREACH) is skipped, not fatal.
        sock.send(request, port, d, () => undefined);
      }
    };
    sock.bind({ port: 0, address: bc?.local ?? '0.0.0.0' }, () => {
      if (settled) return;
      sock.setBroadcast(true); // also for a directed broadcast among the targets
      send();
      timers.push(setTimeout(send, Math.floor(timeoutMs / 3)));
      timers.push(setTimeout(() => finish([...found.values()]), timeoutMs));
    });
  });
}

/** The broadcast address of an interface (name or address), or 255.255.255.255 for none. */
export function broadcastFor(
  iface: string | undefined,
): { address: string; local?: string } | HeadendError {
  if (iface === undefined) return { address: '255.255.255.255' };
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || (name !== iface && a.address !== iface)) continue;
      const ip = ipv4ToInt(a.address);
      const mask = ipv4ToInt(a.netmask);
      return { address: intToIpv4((ip | ~mask) >>> 0), local: a.address };
    }
  }
  return headendError('E_NO_INTERFACE', `discovery interface '${iface}': no IPv4 address`);
}

/**
 * Device lookups with a cache: ids found by discovery are kept for `ttlMs` (default 10 min)
 * and forgotten by `forget()` (a run that cannot connect: the device may have a new address).
 */
export class DeviceDirectory {
  private readonly cache = new Map<string, { info: DeviceInfo; at: number }>();
  constructor(
    private readonly ttlMs = 600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Resolves a spec's `device`: an 8-hex-digit id through discovery (cached), a host name or
   * address through /discover.json (describeHost).
   */
  async resolve(
    device: string,
    opts: DiscoverOptions & { streamPort?: number } = {},
    signal?: AbortSignal,
  ): Promise<DeviceInfo | HeadendError> {
    if (isDeviceIdText(device)) {
      const key = device.toUpperCase();
      const hit = this.cache.get(key);
      if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.info;
      const id = parseInt(key, 16);
      if (!validDeviceId(id)) {
        return headendError(
          'E_TUNER',
          `${key} is not an HDHomeRun device id (its check digit is wrong)`,
        );
      }
      const found = await discover(id, opts, signal);
      if (isHeadendError(found)) return found;
      if (found.length === 0) {
        return headendError(
          'E_TUNER',
          `HDHomeRun ${key} did not answer discovery (${describeTargets(opts)})`,
        );
      }
      this.cache.set(key, { info: found[0], at: this.now() });
      return found[0];
    }
    return describeHost(device, opts.streamPort, signal);
  }

  forget(device: string): void {
    this.cache.delete(device.toUpperCase());
  }
}

/** Shared by every run unless a test gives its own. */
export const defaultDirectory = new DeviceDirectory();

/**
 * A device given by host: /discover.json says its id and lineup URL. A real device serves its
 * HTTP API on port 80; stand-ins and HDHomeRun emulators serve it on the stream port, so that
 * one is asked when port 80 cannot be reached (`host:port` asks that port only). A device that
 * answers 404 or something else is still used (older firmware has no discover.json); one that
 * cannot be reached at all is an error (E_NET).
 */
export async function describeHost(
  device: string,
  streamPort = 5004,
  signal?: AbortSignal,
): Promise<DeviceInfo | HeadendError> {
  const host = hostOf(`http://${device}`);
  if (host === undefined) {
    return headendError('E_BAD_URL', `HDHomeRun '${device}': not a host name or address`);
  }
  const explicit = new URL(`http://${device}`).port !== '';
  const bases = explicit
    ? [`http://${device}`]
    : [...new Set([`http://${device}:80`, `http://${device}:${streamPort}`])];
  const errors: string[] = [];
  for (const baseUrl of bases) {
    const doc = await getJson(`${baseUrl}/discover.json`, { timeoutMs: 3000, signal });
    if (isHeadendError(doc) && doc.code === 'E_NET') {
      errors.push(doc.message);
      if (signal?.aborted === true) break;
      continue;
    }
    const info: DeviceInfo = { host, baseUrl };
    if (!isHeadendError(doc) && doc.found) Object.assign(info, parseDiscoverJson(doc.value));
    return info;
  }
  return headendError('E_NET', `cannot reach HDHomeRun ${device}: ${errors.join('; ')}`);
}

/** The fields of /discover.json we use: DeviceID, TunerCount, LineupURL. */
export function parseDiscoverJson(v: unknown): Partial<DeviceInfo> {
  const out: Partial<DeviceInfo> = {};
  if (typeof v !== 'object' || v === null) return out;
  const o = v as Record<string, unknown>;
  if (typeof o.DeviceID === 'string' && isDeviceIdText(o.DeviceID))
    out.id = o.DeviceID.toUpperCase();
  if (typeof o.TunerCount === 'number') out.tunerCount = o.TunerCount;
  if (typeof o.LineupURL === 'string') out.lineupUrl = o.LineupURL;
  return out;
}

function describeTargets(o: DiscoverOptions): string {
  const where = [
    ...(o.broadcast === false
      ? []
      : [o.interface !== undefined ? `broadcast on ${o.interface}` : 'broadcast']),
    ...(o.targets ?? []),
  ];
  return `asked ${where.join(', ')} on UDP ${o.port ?? DISCOVER_PORT}`;
}

/** The host part of a URL (IPv6 without brackets), or undefined when it does not parse. */
export function hostOf(url: string): string | undefined {
  try {
    const h = new URL(url).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h || undefined;
  } catch {
    return undefined;
  }
}

function ipv4ToInt(s: string): number {
  return s.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
