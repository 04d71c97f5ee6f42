// The headend's native UDP addon (native/udp.c: sendmmsg/recvmmsg, IP_TOS), loaded once per
// thread. `npm install` builds it (scripts/build-native.mjs); where it is not built (no compiler,
// not Linux) or HEADEND_NATIVE_UDP=0 is set, nativeUdp() returns undefined and outputs and inputs
// use node:dgram, which works the same at a higher CPU cost per datagram (see native/udp.c).

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeSocketOptions {
  bindAddress?: string;
  bindPort?: number;
  reuseAddr?: boolean;
  /** Multicast TTL; unicast gets max(1, ttl). */
  ttl?: number;
  multicastInterface?: string;
  multicastLoop?: boolean;
  sendBufferBytes?: number;
  receiveBufferBytes?: number;
  /** IP TOS byte (DSCP << 2). */
  tos?: number;
}

export interface NativeSocket {
  fd: number;
  address: string;
  port: number;
  sendBufferBytes: number;
  receiveBufferBytes: number;
  tosApplied: boolean;
}

/** Opaque poll handle. */
export type NativePoll = { readonly __poll: unique symbol };

export interface NativeUdp {
  open(o: NativeSocketOptions): NativeSocket;
  join(fd: number, group: string, interfaceAddress: string, source: string): void;
  /**
   * Sends datagrams start..end−1 (meta: 4 int32 each: offset in arena, length, IPv4 in host
   * order, port): how many went, or −errno when the first failed.
   */
  sendBatch(fd: number, arena: Uint8Array, meta: Int32Array, start: number, end: number): number;
  /** Datagrams read into arena slots (lens[i] −1: truncated); 0 when none; −errno on error. */
  recvBatch(
    fd: number,
    arena: Uint8Array,
    slotBytes: number,
    lens: Int32Array,
    max: number,
  ): number;
  poll(fd: number, onReadable: () => void): NativePoll;
  pollPause(h: NativePoll, paused: boolean): void;
  pollStop(h: NativePoll): void;
  close(fd: number): void;
  errorName(errno: number): string;
}

/** Where the addon is built (node-gyp's output, from dist/src/headend/net/). */
const ADDON = fileURLToPath(
  new URL('../../../../native/build/Release/headend_udp.node', import.meta.url),
);

let state: { udp: NativeUdp | undefined; reason: string } | undefined;

function load(): { udp: NativeUdp | undefined; reason: string } {
  if (process.env.HEADEND_NATIVE_UDP === '0')
    return { udp: undefined, reason: 'HEADEND_NATIVE_UDP=0 is set' };
  if (process.platform !== 'linux')
    return { udp: undefined, reason: `sendmmsg/recvmmsg are Linux only (${process.platform})` };
  try {
    return { udp: createRequire(import.meta.url)(ADDON) as NativeUdp, reason: '' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      udp: undefined,
      reason:
        code === 'MODULE_NOT_FOUND'
          ? `${ADDON} is not built (npm install builds it; it needs make and a C compiler)`
          : `${ADDON}: ${(e as Error).message}`,
    };
  }
}

/** The addon, or undefined (then nativeUdpUnavailable() says why). */
export function nativeUdp(): NativeUdp | undefined {
  state ??= load();
  return state.udp;
}

/** Why the addon is not used ('' when it is). */
export function nativeUdpUnavailable(): string {
  state ??= load();
  return state.reason;
}

/** Dotted IPv4 → the int32 sendBatch takes (host order). */
export function ipv4ToInt(addr: string): number {
  const p = addr.split('.');
  return (+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3] | 0;
}
