// Input addresses as the CLI (and later channels.yaml) write them, parsed into a typed object.
//
//   path/to/file.ts                  a file (anything without a scheme; file:///abs/path also)
//   udp://@239.1.1.1:5000            join multicast group 239.1.1.1, port 5000 (any source)
//   udp://10.0.0.9@232.1.1.1:5000    source-specific multicast (IGMPv3): only from 10.0.0.9
//   udp://239.1.1.1:5000             multicast too: a multicast address is always joined
//   udp://127.0.0.1:5000             unicast: listen on that local address
//   udp://@:5000  or  udp://:5000    unicast on every local address
//   rtp://…                          same forms; every datagram is RTP (RFC 3550/2250)
//
// Query parameters: `interface=<IPv4>` (alias `localaddr`, as in ffmpeg) picks the local
// interface address for the join; `reuse=0` turns SO_REUSEADDR off (on by default).
// IPv4 only for now.

import { isIPv4 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HeadendError } from '../errors.js';

export interface FileInput {
  kind: 'file';
  path: string;
}

export interface NetworkInput {
  kind: 'network';
  /** 'rtp' when every datagram is RTP; 'udp' auto-detects RTP per datagram. */
  protocol: 'udp' | 'rtp';
  /** Group or local address to bind; '' means every local address. */
  address: string;
  port: number;
  /** True when `address` is an IPv4 multicast group (224.0.0.0/4). */
  multicast: boolean;
  /** Source address for source-specific multicast (only with a multicast group). */
  source?: string;
  /** Local interface address for the membership. */
  interfaceAddress?: string;
  reuseAddr: boolean;
  /** The text as given, for reports and logs. */
  url: string;
}

export type InputAddress = FileInput | NetworkInput;

const NET_RE = /^(udp|rtp):\/\/(?:([^@/?#]*)@)?([^:/?#@]*):(\d+)\/?(?:\?([^#]*))?$/i;

/** Parses a file path or a udp:// / rtp:// URL; returns a HeadendError (E_BAD_URL) when malformed. */
export function parseInputAddress(text: string): InputAddress | HeadendError {
  if (text.length === 0) return bad(text, 'empty input');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'file', path: text };
  if (scheme === 'file') {
    try {
      return { kind: 'file', path: fileURLToPath(text) };
    } catch {
      return bad(text, 'a file URL must be file:///absolute/path');
    }
  }
  if (scheme !== 'udp' && scheme !== 'rtp') {
    return bad(text, `unsupported scheme '${scheme}://' (use a file path, udp:// or rtp://)`);
  }
  const m = NET_RE.exec(text);
  if (m === null) {
    return bad(text, `expected ${scheme}://[source@]address:port or ${scheme}://@group:port`);
  }
  const [, proto, sourceText, address, portText, query] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) return bad(text, `port ${portText} is outside 1-65535`);
  if (address !== '' && !isIPv4(address)) {
    return bad(text, `'${address}' is not an IPv4 address (host names are not resolved)`);
  }
  const multicast = address !== '' && isMulticastV4(address);
  let source: string | undefined;
  if (sourceText !== undefined && sourceText !== '') {
    if (!isIPv4(sourceText)) return bad(text, `source '${sourceText}' is not an IPv4 address`);
    if (!multicast) return bad(text, 'a source address (source@group) needs a multicast group');
    source = sourceText;
  }
  let interfaceAddress: string | undefined;
  let reuseAddr = true;
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    if (key === 'interface' || key === 'localaddr') {
      if (!isIPv4(value)) return bad(text, `${key}=${value} is not an IPv4 address`);
      interfaceAddress = value;
    } else if (key === 'reuse') {
      if (value !== '0' && value !== '1') return bad(text, 'reuse must be 0 or 1');
      reuseAddr = value === '1';
    } else {
      return bad(text, `unknown parameter '${key}' (known: interface, localaddr, reuse)`);
    }
  }
  const input: NetworkInput = {
    kind: 'network',
    protocol: proto.toLowerCase() as 'udp' | 'rtp',
    address,
    port,
    multicast,
    reuseAddr,
    url: text,
  };
  if (source !== undefined) input.source = source;
  if (interfaceAddress !== undefined) input.interfaceAddress = interfaceAddress;
  return input;
}

/** A dotted-quad IPv4 address as its 32-bit number. */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((a, x) => a * 256 + Number(x), 0);
}

/** 224.0.0.0/4. */
export function isMulticastV4(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

function bad(text: string, why: string): HeadendError {
  return new HeadendError('E_BAD_URL', `bad input '${text}': ${why}`);
}
