// Leaf values of channels.yaml: each is a zod schema that parses one scalar (a bitrate, a
// duration, a URL, a size) into its typed form, or reports one readable message.

import { isIPv4 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isHeadendError } from '../errors.js';
import { ipv4ToNumber, isMulticastV4, parseInputAddress } from '../inputs/url.js';
import { parseBitrate, parseDuration } from '../units.js';
import { didYouMean } from './suggest.js';

/** A parse failure of a leaf: its message becomes a ConfigError at the value's position. */
export class Invalid {
  constructor(readonly message: string) {}
}
export const invalid = (message: string): Invalid => new Invalid(message);

/** Wraps a parser of one scalar as a zod schema. */
export function leaf<T>(parse: (v: unknown) => T | Invalid) {
  return z.unknown().transform((v, ctx): T => {
    const r = v === null ? invalid('has no value') : parse(v);
    if (r instanceof Invalid) {
      ctx.addIssue({ code: 'custom', message: r.message, input: v });
      return z.NEVER;
    }
    return r;
  });
}

/** How a value looks in a message: 'text', 12, true, a list, a mapping. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

export function integer(min: number, max: number) {
  return leaf((v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
      ? v
      : invalid(`expected an integer from ${min} to ${max}, got ${describe(v)}`),
  );
}

/** A number in (min, max]: frame rates, frequencies. */
export function number(min: number, max: number, unit: string) {
  return leaf((v) =>
    typeof v === 'number' && Number.isFinite(v) && v > min && v <= max
      ? v
      : invalid(`expected a number of ${unit} above ${min} and at most ${max}, got ${describe(v)}`),
  );
}

export function boolean() {
  return leaf((v) =>
    typeof v === 'boolean' ? v : invalid(`expected true or false, got ${describe(v)}`),
  );
}

/** A non-empty string; a number is taken as its text (`name: 1984`). */
export function text() {
  return leaf((v) => {
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') return invalid(`expected text, got ${describe(v)}`);
    const s = v.trim();
    return s.length > 0 ? s : invalid('is empty');
  });
}

export function nonEmpty(what: string) {
  return leaf((v) =>
    typeof v === 'string' && v.trim().length > 0
      ? v.trim()
      : invalid(`expected ${what}, got ${describe(v)}`),
  );
}

/**
 * bit/s from 6M, 800k, 1.5M or a positive integer, within [min, max] (`what` names the rate in
 * the message: "CBR mux rate").
 */
export function bitrate(min: number, max: number, what: string) {
  return leaf((v) => {
    let bps: number;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v <= 0) {
        return invalid(`bad bitrate ${v}: expected a whole number of bit/s above 0, or 6M, 800k`);
      }
      bps = v;
    } else if (typeof v === 'string') {
      const r = parseBitrate(v);
      if (isHeadendError(r)) return invalid(r.message);
      bps = r;
    } else {
      return invalid(`expected a bitrate (6M, 800k), got ${describe(v)}`);
    }
    if (bps < min || bps > max) {
      return invalid(
        `bitrate ${describe(v)} is outside ${formatBitrate(min)} to ${formatBitrate(max)} ` +
          `(${what})`,
      );
    }
    return bps;
  });
}

/** 250000 → 250k, 100000000 → 100M, 1500000 → 1.5M. */
export function formatBitrate(bps: number): string {
  if (bps >= 1e9) return `${+(bps / 1e9).toFixed(3)}G`;
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(3)}M`;
  if (bps >= 1e3) return `${+(bps / 1e3).toFixed(3)}k`;
  return String(bps);
}

/** Milliseconds from 100ms, 2s, 1m or a number of ms, within [minMs, maxMs]. */
export function duration(minMs: number, maxMs: number) {
  return leaf((v) => {
    let ms: number;
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || v < 0) return invalid(`bad duration ${v}: must be 0 or more`);
      ms = v;
    } else if (typeof v === 'string') {
      const r = parseDuration(v);
      if (isHeadendError(r)) return invalid(r.message);
      ms = r;
    } else {
      return invalid(`expected a duration (100ms, 2s, 1m), got ${describe(v)}`);
    }
    if (ms < minMs || ms > maxMs) {
      return invalid(`duration ${describe(v)} is outside ${formatMs(minMs)} to ${formatMs(maxMs)}`);
    }
    return ms;
  });
}

function formatMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** WIDTHxHEIGHT, both even (4:2:0 video needs it), 16 to 7680. */
export function size() {
  return leaf((v) => {
    const m = typeof v === 'string' ? /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(v) : null;
    if (m === null) return invalid(`expected WIDTHxHEIGHT (640x360), got ${describe(v)}`);
    const w = Number(m[1]);
    const h = Number(m[2]);
    if (w < 16 || h < 16 || w > 7680 || h > 7680) {
      return invalid(`size ${w}x${h} is outside 16x16 to 7680x7680`);
    }
    if (w % 2 !== 0 || h % 2 !== 0) {
      return invalid(`size ${w}x${h}: width and height must be even (4:2:0 video)`);
    }
    return `${w}x${h}`;
  });
}

/** One of a fixed list of names (or an alias of one), with a suggestion for a typo. */
export function pattern<T extends string>(
  names: readonly T[],
  aliases: Readonly<Record<string, T>>,
) {
  const all = [...Object.keys(aliases), ...names];
  return leaf((v): T | Invalid => {
    if (typeof v === 'string' && Object.hasOwn(aliases, v)) return aliases[v];
    if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
    return invalid(
      `unknown pattern ${describe(v)}${typeof v === 'string' ? didYouMean(v, all) : ''}; ` +
        `expected one of ${all.join(', ')}`,
    );
  });
}

/** An ffmpeg encoder name: libx264, aac, copy. */
export function codec() {
  return leaf((v) =>
    typeof v === 'string' && /^[A-Za-z0-9_.-]+$/.test(v)
      ? v
      : invalid(`expected an ffmpeg encoder name (libx264, aac, copy), got ${describe(v)}`),
  );
}

export function slug() {
  return leaf((v) =>
    typeof v === 'string' && /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(v)
      ? v
      : invalid(
          `expected lowercase letters, digits and '-' (not at either end), got ${describe(v)}`,
        ),
  );
}

/** An IPv4 address or a Linux interface name (at most 15 characters). */
export function interfaceName() {
  return leaf((v) => {
    if (typeof v !== 'string') {
      return invalid(`expected an IPv4 address or an interface name, got ${describe(v)}`);
    }
    if (isIPv4(v)) return v;
    if (/^\d+(\.\d+)*$/.test(v)) return invalid(`'${v}' is not a valid IPv4 address`);
    return /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,14}$/.test(v)
      ? v
      : invalid(`'${v}' is neither an IPv4 address nor an interface name`);
  });
}

export interface ParsedOutput {
  protocol: 'udp' | 'rtp';
  group: string;
  port: number;
  source?: string;
}

const OUTPUT_RE = /^(udp|rtp):\/\/(?:([^@/?#]*)@)?([^:/?#@]*):(\d+)\/?$/i;

/** udp://group:port, rtp://group:port, udp://source@group:port. */
export function outputUrl() {
  return leaf((v): ParsedOutput | Invalid => {
    if (typeof v !== 'string') {
      return invalid(`expected udp://group:port or rtp://group:port, got ${describe(v)}`);
    }
    const m = OUTPUT_RE.exec(v.trim());
    if (m === null) {
      return invalid(
        `bad output '${v}': expected udp://group:port, rtp://group:port or udp://source@group:port`,
      );
    }
    const [, proto, sourceText, group, portText] = m;
    const port = Number(portText);
    if (port < 1 || port > 65535)
      return invalid(`bad output '${v}': port ${portText} is outside 1-65535`);
    const why = destinationProblem(group);
    if (why !== undefined) return invalid(`bad output '${v}': ${why}`);
    const out: ParsedOutput = { protocol: proto.toLowerCase() as 'udp' | 'rtp', group, port };
    if (sourceText !== undefined && sourceText !== '') {
      if (!isIPv4(sourceText)) {
        return invalid(`bad output '${v}': source '${sourceText}' is not an IPv4 address`);
      }
      if (!isMulticastV4(group)) {
        return invalid(
          `bad output '${v}': a source address (source@group) needs a multicast group`,
        );
      }
      out.source = sourceText;
    }
    return out;
  });
}

/** Why an IPv4 destination cannot be used, or undefined when it can. */
export function destinationProblem(address: string): string | undefined {
  if (!isIPv4(address)) return `'${address}' is not an IPv4 address (host names are not resolved)`;
  const [a, b, c] = address.split('.').map(Number);
  if (address === '0.0.0.0') return '0.0.0.0 is not a destination';
  if (a >= 240) return `${address} is reserved or broadcast, not a destination`;
  if (a >= 224 && (b & 0x7f) === 0 && (c === 0 || c === 1)) {
    // 32 groups share one Ethernet MAC (the low 23 bits, RFC 1112 6.4): these share it with
    // 224.0.0.x / 224.0.1.x, link-local control traffic that switches flood to every port.
    return (
      `group ${address} shares its Ethernet MAC address with 224.0.${c}.x (link-local ` +
      `control groups that switches flood to every port); choose another, e.g. in 239.255.1.0/24`
    );
  }
  return undefined;
}

const NETWORK_SCHEMES = ['http', 'https', 'rtsp', 'rtsps', 'srt', 'rtmp', 'rtmps'];

/**
 * A source URL or file path, checked for form only (nothing is opened): udp/rtp as
 * `headend analyze` reads them, http(s)/rtsp(s)/srt/rtmp(s) with a host, file:///abs/path,
 * or a path. Returned as written (trimmed).
 */
export function sourceUrl() {
  return leaf((v) => {
    if (typeof v !== 'string') return invalid(`expected a URL or a file path, got ${describe(v)}`);
    const url = v.trim();
    if (url.length === 0) return invalid('is empty');
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (scheme === undefined) return url;
    if (scheme === 'udp' || scheme === 'rtp') {
      const r = parseInputAddress(url);
      return isHeadendError(r) ? invalid(r.message) : url;
    }
    if (scheme === 'file') {
      try {
        fileURLToPath(url);
        return url;
      } catch {
        return invalid(`bad source '${url}': a file URL must be file:///absolute/path`);
      }
    }
    if (!NETWORK_SCHEMES.includes(scheme)) {
      return invalid(
        `bad source '${url}': unsupported scheme '${scheme}://' ` +
          `(use udp, rtp, ${NETWORK_SCHEMES.join(', ')}, file or a path)`,
      );
    }
    try {
      if (new URL(url).hostname === '') return invalid(`bad source '${url}': no host`);
    } catch {
      return invalid(`bad source '${url}': not a valid URL`);
    }
    return url;
  });
}

export interface ListenAddress {
  host: string;
  /** 0: any free port (the daemon logs the one it got). */
  port: number;
}

/** `host:port`, or a port alone (on `defaultHost`); the host is an IPv4 address. */
export function listenAddress(defaultHost: string) {
  return leaf((v): ListenAddress | Invalid => {
    if (typeof v === 'number') v = String(v);
    if (typeof v !== 'string') return invalid(`expected host:port or a port, got ${describe(v)}`);
    const m = /^(?:([^:]+):)?(\d+)$/.exec(v.trim());
    if (m === null) return invalid(`bad address '${v}': expected host:port, e.g. 0.0.0.0:8554`);
    const host = m[1] ?? defaultHost;
    if (!isIPv4(host)) return invalid(`bad address '${v}': '${host}' is not an IPv4 address`);
    const port = Number(m[2]);
    if (port > 65535) return invalid(`bad address '${v}': port ${port} is outside 0-65535`);
    return { host, port };
  });
}

/**
 * A dotted offset added to an IPv4 address (`0.0.128.0`): returned as the 32-bit number to
 * add. Used for the RTP companion group of raw-UDP channels.
 */
export function addressOffset() {
  return leaf((v): number | Invalid => {
    if (typeof v !== 'string' || !isIPv4(v.trim())) {
      return invalid(`expected a dotted offset such as 0.0.128.0, got ${describe(v)}`);
    }
    const n = ipv4ToNumber(v.trim());
    return n === 0 ? invalid('an offset of 0.0.0.0 would reuse the channel group') : n;
  });
}
