// The SAP announcer (RFC 2974): announces every multicast channel's SDP (RFC 4566) to the SAP
// group (239.255.255.255:9875, administratively scoped, or 224.2.127.254:9875, global scope
// §3) with the configured TTL, from the headend's egress interface. The first round goes out
// at once; each session is then re-announced at the interval of §3.1 (sap/interval.ts), each
// on its own randomised timer. update() re-reads the channel list (hot reload): a new or changed
// session is announced at once, a changed or removed one is deleted first (T=1, §3/§6);
// stop() deletes every session. Packets: sap/packet.ts; sessions: sap/session.ts.

import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { ChannelSpec, SapSpec } from './config/types.js';
import { fromSystemError, headendError } from './errors.js';
import type { Logger } from './log.js';
import { resolveInterface } from './output/output.js';
import type { DaemonService } from './services.js';
import { sapIntervalMs } from './sap/interval.js';
import { encodeSap } from './sap/packet.js';
import { sapSession, type SapSession } from './sap/session.js';

export interface SapAnnouncerOptions {
  spec: SapSpec;
  /** Egress: an IPv4 address or an interface name (HeadendSpec.interface). */
  interface: string;
  log: Logger;
  channels: () => readonly ChannelSpec[];
  /** Random source in [0, 1) for the interval offset (tests). */
  random?: () => number;
}

export interface SapAnnouncer extends DaemonService {
  readonly name: 'sap';
  /** Re-reads channels(): announces new/changed sessions now, deletes changed/removed ones. */
  update(): void;
  /** Sends a deletion for every session, then closes the socket. */
  stop(): Promise<void>;
}

interface Live {
  session: SapSession;
  timer?: NodeJS.Timeout;
}

/** The unicast address announcements say they come from (§3 "originating source"). */
function originAddress(egress: string): string {
  if (egress !== '0.0.0.0') return egress;
  for (const list of Object.values(networkInterfaces())) {
    const v4 = list?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return '127.0.0.1';
}

export async function startSapAnnouncer(o: SapAnnouncerOptions): Promise<SapAnnouncer> {
  const log = o.log.child({ service: 'sap' });
  const random = o.random ?? Math.random;
  const egress = resolveInterface(o.interface);
  if (egress === null) {
    throw headendError('E_NET', `SAP: no IPv4 address on interface "${o.interface}"`);
  }
  const origin = originAddress(egress);
  const dest = `${o.spec.address}:${o.spec.port}`;

  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown): void =>
      reject(fromSystemError('E_NET', `SAP: cannot open a socket on ${egress}`, err));
    socket.once('error', onError);
    socket.bind({ port: 0, ...(egress !== '0.0.0.0' ? { address: egress } : {}) }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    socket.setMulticastTTL(o.spec.ttl);
    socket.setMulticastLoopback(true);
    if (egress !== '0.0.0.0') socket.setMulticastInterface(egress);
  } catch (err) {
    socket.close();
    throw fromSystemError('E_NET', `SAP: cannot set up multicast on ${egress}`, err);
  }
  socket.on('error', (err) => log.log('warn', 'sap-socket-error', { message: err.message }));

  const live = new Map<string, Live>();
  let stopped = false;

  const send = (session: SapSession, deletion: boolean): Promise<void> => {
    const packet = encodeSap({
      deletion,
      source: origin,
      sdp: session.sdp,
      msgIdHash: session.msgIdHash,
    });
    return new Promise<void>((resolve) => {
      socket.send(packet, o.spec.port, o.spec.address, (err) => {
        if (err) {
          log.log('warn', 'sap-send-failed', {
            slug: session.slug,
            deletion,
            message: err.message,
          });
        }
        resolve();
      });
    });
  };

  const schedule = (entry: Live): void => {
    if (entry.timer) clearTimeout(entry.timer);
    const sizes = [...live.values()].map((l) => l.session.sdp.length + 24);
    const avg = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    const ms = sapIntervalMs(live.size, avg, random());
    entry.timer = setTimeout(() => {
      void send(entry.session, false);
      schedule(entry);
    }, ms);
    entry.timer.unref();
  };

  const sync = (): void => {
    const next = new Map<string, SapSession>();
    for (const ch of o.channels()) {
      const s = sapSession(ch, origin);
      if (s) next.set(s.slug, s);
    }
    const deleted: string[] = [];
    for (const [slug, entry] of live) {
      const now = next.get(slug);
      if (now && now.sdp === entry.session.sdp) continue;
      if (entry.timer) clearTimeout(entry.timer);
      live.delete(slug);
      deleted.push(slug);
      void send(entry.session, true);
    }
    const announced: string[] = [];
    for (const [slug, session] of next) {
      if (live.has(slug)) continue;
      live.set(slug, { session });
      announced.push(slug);
      void send(session, false);
    }
    for (const slug of announced) schedule(live.get(slug)!);
    if (announced.length > 0 || deleted.length > 0) {
      log.log('info', 'sap-announce', {
        to: dest,
        origin,
        announced,
        deleted,
        sessions: live.size,
      });
    }
  };

  sync();
  log.log('info', 'sap-started', { to: dest, ttl: o.spec.ttl, interface: egress, origin });

  return {
    name: 'sap',
    update: () => {
      if (!stopped) sync();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const all = [...live.values()];
      live.clear();
      for (const e of all) if (e.timer) clearTimeout(e.timer);
      await Promise.all(all.map((e) => send(e.session, true)));
      log.log('info', 'sap-stopped', { deleted: all.map((e) => e.session.slug) });
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
