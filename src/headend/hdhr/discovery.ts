// How media servers find the emulated HDHomeRun (device.ts) on the LAN, both ways they look:
//
// - SiliconDust's discovery (UDP port 65001; tuners/hdhomerun/packet.ts has the frame, TLVs and
//   CRC): a request for device type tuner (or any) and our DeviceID (or any) gets a unicast
//   reply with DeviceID, TunerCount, BaseURL and LineupURL. Plex finds tuners this way.
// - SSDP (UPnP Device Architecture 1.0 §1): M-SEARCH to 239.255.255.250:1900 for ssdp:all,
//   upnp:rootdevice, urn:schemas-upnp-org:device:MediaServer:1 or our uuid gets a unicast
//   `HTTP/1.1 200 OK` with LOCATION = /device.xml (after a random delay within MX, at most
//   1 s); `NOTIFY ssdp:alive` at start and every 15 min (max-age 1800), `ssdp:byebye` at stop.
//   A small implementation on node:dgram: the npm SSDP packages (node-ssdp, last released in
//   2020) are not maintained, and answering three message kinds needs little.
//
// Both listen on every address (SO_REUSEADDR: other UPnP software may hold 1900 too) and send
// on headend.interface's address. A port that cannot be bound is logged; the rest goes on.

import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../log.js';
import {
  DEVICE_TYPE_TUNER,
  DISCOVER_PORT,
  WILDCARD,
  decodeDiscoverRequest,
  encodeDiscoverReply,
} from '../tuners/hdhomerun/packet.js';
import { deviceUuid } from './device.js';

export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
const DEVICE_TYPE = 'urn:schemas-upnp-org:device:MediaServer:1';
const NOTIFY_EVERY_MS = 15 * 60_000;

export interface DiscoveryOptions {
  deviceId: string;
  tuners: number;
  /** http://address:port of the HTTP surface, as discovery answers name it. */
  base: string;
  /** The address to send multicast from (headend.interface's IPv4). */
  interfaceAddress: string;
  ttl: number;
  log: Logger;
  /** Ports (tests); default 65001 and 1900. */
  discoverPort?: number;
  ssdpPort?: number;
  version: string;
}

export interface Discovery {
  stop(): Promise<void>;
}

function bind(sock: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

export async function startDiscovery(o: DiscoveryOptions): Promise<Discovery> {
  const uuid = `uuid:${deviceUuid(o.deviceId)}`;
  const location = `${o.base}/device.xml`;
  const ourId = parseInt(o.deviceId, 16) >>> 0;
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];

  // SiliconDust discovery.
  const hd = createSocket({ type: 'udp4', reuseAddr: true });
  hd.on('message', (msg, from) => {
    const req = decodeDiscoverRequest(msg);
    if (!req) return;
    if (req.deviceType !== WILDCARD && req.deviceType !== DEVICE_TYPE_TUNER) return;
    if (req.deviceId !== WILDCARD && req.deviceId >>> 0 !== ourId) return;
    const reply = encodeDiscoverReply({
      deviceId: o.deviceId,
      tunerCount: o.tuners,
      baseUrl: o.base,
      lineupUrl: `${o.base}/lineup.json`,
    });
    hd.send(reply, from.port, from.address);
  });
  hd.on('error', (e) => o.log.log('warn', 'hdhomerun-discovery-error', { message: e.message }));
  try {
    await bind(hd, o.discoverPort ?? DISCOVER_PORT);
    sockets.push(hd);
  } catch (e) {
    o.log.log('warn', 'hdhomerun-discovery-off', {
      message: `UDP ${o.discoverPort ?? DISCOVER_PORT}: ${(e as Error).message}`,
    });
    hd.close();
  }

  // SSDP.
  const ssdp = createSocket({ type: 'udp4', reuseAddr: true });
  const ssdpPort = o.ssdpPort ?? SSDP_PORT;
  const headers = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n') + '\r\n\r\n');
  const notify = (nts: 'ssdp:alive' | 'ssdp:byebye'): void => {
    for (const nt of ['upnp:rootdevice', uuid, DEVICE_TYPE]) {
      const usn = nt === uuid ? uuid : `${uuid}::${nt}`;
      ssdp.send(
        headers([
          'NOTIFY * HTTP/1.1',
          `HOST: ${SSDP_GROUP}:${ssdpPort}`,
          ...(nts === 'ssdp:alive' ? ['CACHE-CONTROL: max-age=1800', `LOCATION: ${location}`] : []),
          `NT: ${nt}`,
          `NTS: ${nts}`,
          `SERVER: Linux UPnP/1.0 headend/${o.version}`,
          `USN: ${usn}`,
        ]),
        ssdpPort,
        SSDP_GROUP,
      );
    }
  };
  ssdp.on('message', (msg, from) => {
    const text = msg.toString('latin1');
    if (!/^M-SEARCH \* HTTP\/1\.1\r?\n/i.test(text)) return;
    const header = (name: string): string | undefined =>
      new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'im').exec(text)?.[1];
    if (header('MAN')?.replace(/"/g, '') !== 'ssdp:discover') return;
    const st = header('ST') ?? '';
    if (![`ssdp:all`, 'upnp:rootdevice', DEVICE_TYPE, uuid].includes(st)) return;
    const mx = Math.max(0, Math.min(1, Number(header('MX') ?? 1) || 0));
    const answer = st === 'ssdp:all' ? DEVICE_TYPE : st;
    const reply = headers([
      'HTTP/1.1 200 OK',
      'CACHE-CONTROL: max-age=1800',
      'EXT:',
      `LOCATION: ${location}`,
      `SERVER: Linux UPnP/1.0 headend/${o.version}`,
      `ST: ${answer}`,
      `USN: ${answer === uuid ? uuid : `${uuid}::${answer}`}`,
    ]);
    const t = setTimeout(
      () => ssdp.send(reply, from.port, from.address),
      Math.random() * mx * 1000,
    );
    t.unref();
  });
  ssdp.on('error', (e) => o.log.log('warn', 'ssdp-error', { message: e.message }));
  let ssdpOn = false;
  try {
    await bind(ssdp, ssdpPort);
    ssdp.addMembership(SSDP_GROUP, o.interfaceAddress);
    ssdp.setMulticastInterface(o.interfaceAddress);
    ssdp.setMulticastTTL(Math.max(1, o.ttl));
    sockets.push(ssdp);
    ssdpOn = true;
    notify('ssdp:alive');
    const every = setInterval(() => notify('ssdp:alive'), NOTIFY_EVERY_MS);
    every.unref();
    timers.push(every);
  } catch (e) {
    o.log.log('warn', 'ssdp-off', { message: `UDP ${ssdpPort}: ${(e as Error).message}` });
    ssdp.close();
  }
  o.log.log('info', 'hdhomerun-listening', {
    deviceId: o.deviceId,
    base: o.base,
    discovery: sockets.includes(hd),
    ssdp: ssdpOn,
  });

  return {
    stop: async () => {
      for (const t of timers) clearInterval(t);
      if (ssdpOn) notify('ssdp:byebye');
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
