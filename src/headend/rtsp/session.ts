// An RTSP session (RFC 2326 §3 "session", §A.1 server state machine), reduced to what a live
// channel needs: SETUP creates it in Ready, PLAY moves it to Playing, PAUSE back to Ready,
// TEARDOWN (or the timeout of §12.37, or the end of its TCP connection) removes it.
//
//   state     SETUP        PLAY        PAUSE       TEARDOWN
//   Ready     Ready        Playing     Ready       (gone)
//   Playing   455          Playing     Ready       (gone)

import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { InterleavedSender } from './interleaved.js';
import type { TransportKind } from './transport.js';

export type SessionState = 'ready' | 'playing';

export interface Session {
  /** 16 hex digits (RFC 2326 §3: opaque, chosen by the server). */
  readonly id: string;
  /** The client's IP address (sessions per client are counted by it). */
  readonly client: string;
  readonly slug: string;
  kind: TransportKind;
  state: SessionState;
  /** Date.now() of the last request, keep-alive or RTCP report that named this session. */
  lastSeen: number;
  /** UDP: where RTP and RTCP go. */
  udp?: { address: string; rtpPort: number; rtcpPort: number };
  /** TCP: the connection, the interleaved channels, and while playing the sender and tap. */
  tcp?: {
    socket: Socket;
    channels: [number, number];
    sender?: InterleavedSender;
    untap?: () => void;
  };
  /** Multicast: the group the client was told to join and whether it is a companion group. */
  multicast?: { group: string; port: number; ttl: number; companion: boolean };
  /** RTCP receiver reports received for this session. */
  reports: number;
}

export function newSessionId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** The session id of a Session header ("id;timeout=60"), or undefined when absent. */
export function sessionIdOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const id = header.split(';')[0].trim();
  return id === '' ? undefined : id;
}
