// SAP packets (RFC 2974 §3), IPv4, unauthenticated, uncompressed:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | V=1 |A|R|T|E|C|   auth len    |         msg id hash           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |             originating source (32 bits, A=0: IPv4)           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | payload type "application/sdp" | 0 |   payload (SDP text) ...  |
//
// V=1 (3 bits), A=0 IPv4 source, R=0 reserved, T=0 announcement / 1 deletion, E=0 not encrypted,
// C=0 not compressed, auth len 0. The msg id hash identifies one version of one announcement
// together with the source (§3: it changes whenever the description changes, and is never 0
// here, since a zero hash tells receivers to ignore it). A deletion's payload is the origin (o=)
// line of the description it deletes (§3, "Payload").

import { isIPv4 } from 'node:net';

export const SAP_PAYLOAD_TYPE = 'application/sdp';
const FLAG_V1 = 0x20;
const FLAG_T_DELETE = 0x04;
const FLAG_A_IPV6 = 0x10;
const FLAG_E = 0x02;
const FLAG_C = 0x01;

export interface SapMessage {
  deletion: boolean;
  msgIdHash: number;
  /** Originating source, dotted quad. */
  source: string;
  payloadType: string;
  payload: string;
}

/** FNV-1a, 32 bits, over UTF-8 bytes: the stable hash behind message ids and SDP versions. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The 16-bit msg id hash of a description: stable for the same text, never 0. */
export function msgIdHash(sdp: string): number {
  const h = fnv1a32(sdp);
  const folded = ((h >>> 16) ^ (h & 0xffff)) & 0xffff;
  return folded === 0 ? 1 : folded;
}

/** The o= line of an SDP (without its line end), as a deletion carries it. */
export function originLine(sdp: string): string {
  const line = sdp.split(/\r?\n/).find((l) => l.startsWith('o='));
  if (line === undefined) throw new Error('SDP without an o= line');
  return line;
}

/** Builds one packet. An announcement carries `sdp`; a deletion only its o= line (CRLF-ended). */
export function encodeSap(o: {
  deletion: boolean;
  source: string;
  sdp: string;
  msgIdHash?: number;
}): Buffer {
  if (!isIPv4(o.source)) throw new Error(`SAP origin must be an IPv4 address: ${o.source}`);
  const hash = o.msgIdHash ?? msgIdHash(o.sdp);
  const payload = o.deletion ? originLine(o.sdp) + '\r\n' : o.sdp;
  const type = Buffer.from(SAP_PAYLOAD_TYPE + '\0', 'ascii');
  const body = Buffer.from(payload, 'utf8');
  const head = Buffer.alloc(8);
  head[0] = FLAG_V1 | (o.deletion ? FLAG_T_DELETE : 0);
  head[1] = 0; // auth len (32-bit words)
  head.writeUInt16BE(hash & 0xffff, 2);
  o.source.split('.').forEach((x, i) => (head[4 + i] = Number(x)));
  return Buffer.concat([head, type, body]);
}

/** Parses a packet (for tests and diagnostics); a string says why it is not one we understand. */
export function decodeSap(buf: Uint8Array): SapMessage | string {
  if (buf.length < 8) return 'shorter than a SAP header';
  const b0 = buf[0]!;
  if (b0 >> 5 !== 1) return `SAP version ${b0 >> 5}, not 1`;
  if (b0 & FLAG_A_IPV6) return 'IPv6 origin';
  if (b0 & (FLAG_E | FLAG_C)) return 'encrypted or compressed';
  const authWords = buf[1]!;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const msgIdHash = view.readUInt16BE(2);
  const source = [...view.subarray(4, 8)].join('.');
  let at = 8 + authWords * 4;
  // The payload type is optional (§3): present when the payload does not start with "v=0".
  let payloadType = SAP_PAYLOAD_TYPE;
  const rest = view.subarray(at);
  if (
    !rest.subarray(0, 3).equals(Buffer.from('v=0')) &&
    !rest.subarray(0, 2).equals(Buffer.from('o='))
  ) {
    const nul = rest.indexOf(0);
    if (nul < 0) return 'payload type without its terminating NUL';
    payloadType = rest.subarray(0, nul).toString('ascii');
    at += nul + 1;
  }
  return {
    deletion: (b0 & FLAG_T_DELETE) !== 0,
    msgIdHash,
    source,
    payloadType,
    payload: view.subarray(at).toString('utf8'),
  };
}
