// Extra receivers of a channel's paced RTP stream (see output.ts): RTSP unicast sessions and the
// RTP companion group of a raw-UDP channel. Sends happen inside the pacing worker's loop, whose
// event loop is mostly blocked, so every send must reach the kernel synchronously:
//
// - multicast: one socket per destination, bound to the egress interface and connect()ed to
//   the group (as Output does), TTL and interface set;
// - unicast: one socket per source port (the RTSP server's RTP port, RFC 2326 §12.39
//   server_port), shared by every session and never connected; its lookup function answers
//   synchronously (destinations are IPv4 literals), because dgram's default dns.lookup would
//   defer each send to a later turn of the event loop.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { isMulticast, resolveInterface } from './output.js';
import type { DestinationSpec } from './types.js';

export interface Destination {
  readonly id: string;
  /** Sends one RTP packet (the bytes must stay untouched while `queued` > 0). */
  send(rtp: Buffer): void;
  readonly queued: number;
  close(): Promise<void>;
}

interface ErrorCounters {
  sendErrors: number;
  lastError: string;
}

/** Synchronous lookup for IPv4 literals (dgram calls lookup(address, family, callback)). */
const literalLookup = (address: string, _family: unknown, cb: (...a: unknown[]) => void): void =>
  cb(null, address, 4);

/** Send buffer of the shared unicast socket (asked for; the kernel caps it at wmem_max). */
const UNICAST_SEND_BUFFER_BYTES = 4 << 20;

interface SharedSocket {
  socket: Socket;
  users: number;
}
/** Unicast senders by local port (0 is never shared). */
const shared = new Map<number, Promise<SharedSocket>>();

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function unicastSocket(port: number): Promise<SharedSocket> {
  const have = port > 0 ? shared.get(port) : undefined;
  if (have) return have;
  const p = (async () => {
    const socket = createSocket({ type: 'udp4', lookup: literalLookup as never });
    // Send errors come back through each send's callback (counted per output); the 'error'
    // event would only repeat them, and unhandled it would end the pacing worker.
    socket.on('error', () => undefined);
    try {
      await bindSocket(socket, port, '0.0.0.0');
      // One datagram to every session leaves at once: 200 sessions × 1328 bytes ≈ 266 KB, more
      // than the default send buffer; beyond it libuv would queue and hold the ring's slots.
      try {
        socket.setSendBufferSize(UNICAST_SEND_BUFFER_BYTES);
      } catch {
        // Capped by net.core.wmem_max: a smaller buffer still works, sends queue sooner.
      }
    } catch (e) {
      socket.close();
      if (port > 0) shared.delete(port);
      throw new Error(`RTP source port ${port}: ${(e as Error).message}`);
    }
    return { socket, users: 0 };
  })();
  if (port > 0) shared.set(port, p);
  return p;
}

export async function openDestination(
  d: DestinationSpec,
  counters: ErrorCounters,
): Promise<Destination> {
  if (!isIPv4(d.address)) throw new Error(`destination ${d.address} is not an IPv4 address`);
  const onSent = (err: Error | null): void => {
    if (err) {
      counters.sendErrors++;
      counters.lastError = `${d.address}:${d.port}: ${err.message}`;
    }
  };
  if (isMulticast(d.address)) {
    const iface = resolveInterface(d.interface);
    if (iface === null) throw new Error(`destination interface ${d.interface}: no IPv4 address`);
    const socket = createSocket({ type: 'udp4' });
    socket.on('error', onSent);
    try {
      await bindSocket(socket, 0, iface);
      socket.setMulticastTTL(d.ttl);
      if (iface !== '0.0.0.0') socket.setMulticastInterface(iface);
      socket.setMulticastLoopback(true);
      await new Promise<void>((resolve) => socket.connect(d.port, d.address, resolve));
    } catch (e) {
      socket.close();
      throw new Error(`destination ${d.address}:${d.port}: ${(e as Error).message}`);
    }
    return {
      id: d.id,
      send: (rtp) => socket.send(rtp),
      get queued() {
        return socket.getSendQueueCount();
      },
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    };
  }
  const s = await unicastSocket(d.sourcePort);
  s.users++;
  const { socket } = s;
  let closed = false;
  return {
    id: d.id,
    send: (rtp) => socket.send(rtp, d.port, d.address, onSent),
    get queued() {
      return socket.getSendQueueCount();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (--s.users > 0 && d.sourcePort > 0) return;
      if (d.sourcePort > 0) shared.delete(d.sourcePort);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
