// udpxy's relay for groups that are not a channel of the headend (`http.relay`): a client asks
// /udp/<group>:<port> (raw UDP, MPEG-TS in each datagram) or /rtp/<group>:<port> (RTP, RFC 3550
// header stripped, RFC 2250 payload) of a group the config allows; the group is joined on
// headend.interface when its first client comes and left when its last goes (ts-stream.ts
// taps a source once per key). What is relayed is whole 188-byte packets only: a datagram that
// does not start with a sync byte is dropped (counted).

import { createSocket } from 'node:dgram';
import { BlockList } from 'node:net';
import type { Subnet } from '../config/access.js';
import type { Logger } from '../log.js';
import { parseRtpHeader, type RtpHeader } from '../../mpegts/rtp.js';
import { TS_PACKET_SIZE } from '../../mpegts/packet.js';
import type { TsSource } from './ts-stream.js';

export interface RelayOptions {
  /** The groups that may be relayed. */
  allow: readonly Subnet[];
  /** The address whose interface joins the groups. */
  interfaceAddress: () => string;
  log: Logger;
}

export class Relay {
  private readonly allowed = new BlockList();
  /** Datagrams dropped: not whole MPEG-TS packets (or not RTP on /rtp/). */
  dropped = 0;

  constructor(private readonly o: RelayOptions) {
    for (const s of o.allow) this.allowed.addSubnet(s.address, s.prefix, s.family);
  }

  /** Whether `group` may be relayed. */
  allows(group: string): boolean {
    return this.allowed.check(group, 'ipv4');
  }

  /** The source of a relayed group (opened by its first tap, closed by its last). */
  source(group: string, port: number, rtp: boolean): TsSource {
    const key = `${rtp ? 'rtp' : 'udp'}:${group}:${port}`;
    return {
      key,
      tap: (listener) => {
        const sock = createSocket({ type: 'udp4', reuseAddr: true });
        const h = {} as RtpHeader;
        sock.on('message', (m: Buffer) => {
          let at = 0;
          let len = m.length;
          if (rtp) {
            const r = parseRtpHeader(m, 0, m.length, h);
            if (!r) return void this.dropped++;
            at = r.payloadOffset;
            len = r.payloadLength;
          }
          if (len < TS_PACKET_SIZE || len % TS_PACKET_SIZE !== 0 || m[at] !== 0x47)
            return void this.dropped++;
          listener(m.subarray(at, at + len), Date.now() * 27_000);
        });
        sock.on('error', (e) =>
          this.o.log.log('warn', 'http-relay-error', { group: key, message: e.message }),
        );
        const iface = this.o.interfaceAddress();
        sock.bind(port, group, () => {
          try {
            sock.addMembership(group, iface);
            this.o.log.log('info', 'http-relay-join', {
              group: `${group}:${port}`,
              interface: iface,
            });
          } catch (e) {
            this.o.log.log('warn', 'http-relay-error', {
              group: key,
              message: `cannot join on ${iface}: ${(e as Error).message}`,
            });
          }
        });
        return () => {
          this.o.log.log('info', 'http-relay-leave', { group: `${group}:${port}` });
          sock.close();
        };
      },
    };
  }
}
