// Who may use the headend's unicast surfaces (HTTP-TS, the playlist, RTSP) and its write
// endpoints, in channels.yaml (headend/access/ applies it):
//
//   headend:
//     access:
//       packages:                 named sets of channels: numbers or slugs, or `all`
//         rooms: [101, 102, news-24]
//         lobby: [101]
//         staff: all
//       subnets:                  client addresses → what they get: packages, `all`, and
//         10.1.0.0/16: rooms      `write` (POST /api/reload and /api/alert). The most
//         10.9.0.0/24: [staff, write]   specific subnet that holds the client wins
//       tokens_file: tokens.txt   bearer tokens, one per line: `<name> <token> <grant>[,<grant>]`
//                                 (grants as for subnets); the file must not be readable by
//                                 group or others (mode 0600). Tokens are at least 16
//                                 characters, compared in constant time, never logged; a
//                                 client sends one as `Authorization: Bearer …` or `?token=…`
//       default: none             what a client gets that no subnet holds and no token names:
//                                 a package, a list, all or none (default none)
//
// A client gets what its subnet grants plus what its token grants. Without `access`, every
// client may play every channel and only this machine (127.0.0.0/8, ::1) may write, as
// before. Multicast itself is not the headend's to control: IGMP filtering on the switches
// (README).

import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { describe, invalid, leaf, nonEmpty } from './values.js';

/** The grant of the write endpoints (reload, alert). */
export const WRITE = 'write';
/** Every channel. */
export const ALL = 'all';
/** Nothing (a default). */
export const NONE = 'none';
const MIN_TOKEN = 16;

/** A subnet `addr/prefix` (a plain address is /32 or /128). */
export interface Subnet {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export interface AccessToken {
  /** Who holds it: in logs instead of the token. */
  name: string;
  token: string;
  grants: string[];
}

/** `headend.access`, resolved: packages as channel numbers, grants checked. */
export interface AccessSpec {
  packages: Map<string, ReadonlySet<number> | 'all'>;
  /** Most specific first. */
  subnets: { subnet: Subnet; grants: string[] }[];
  tokens: AccessToken[];
  defaults: string[];
}

/** `10.1.0.0/16`, `2001:db8::/32` or one address. */
export function parseSubnet(text: string): Subnet | string {
  const [addr, bits, more] = text.trim().split('/');
  const v = isIP(addr ?? '');
  if (v === 0 || more !== undefined) return `expected a subnet such as 10.1.0.0/16, got "${text}"`;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || !/^\d+$/.test(bits ?? '0'))
    return `prefix length of "${text}" must be 0-${max}`;
  return { address: addr!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const listOf = (what: string) =>
  z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(nonEmpty(what)));

export const accessSchema = z.strictObject({
  packages: z
    .record(
      z.string(),
      z.union([
        z.literal(ALL),
        z.array(
          leaf((v) =>
            typeof v === 'number' || (typeof v === 'string' && v !== '')
              ? v
              : invalid(`expected a channel number or slug, got ${describe(v)}`),
          ),
        ),
      ]),
    )
    .optional(),
  subnets: z.record(z.string(), listOf('a package, all or write')).optional(),
  tokens_file: nonEmpty('a file path').optional(),
  default: listOf('a package, all or none').optional(),
});

export const ACCESS_KEYS = ['packages', 'subnets', 'tokens_file', 'default'];

type RawAccess = z.output<typeof accessSchema>;
type Report = (path: (string | number)[], message: string) => void;

/**
 * Resolves `headend.access` against the channels (numbers and slugs), reading the tokens
 * file (its mode checked). Problems go to `report` with their key path under headend.access.
 */
export function resolveAccess(
  raw: RawAccess,
  channels: readonly { number: number; slug: string }[],
  resolvePath: (p: string) => string,
  report: Report,
): AccessSpec {
  const bySlug = new Map(channels.map((c) => [c.slug, c.number]));
  const numbers = new Set(channels.map((c) => c.number));
  const packages = new Map<string, ReadonlySet<number> | 'all'>();
  for (const [name, list] of Object.entries(raw.packages ?? {})) {
    if (name === ALL || name === NONE || name === WRITE) {
      report(['packages', name], `"${name}" is a reserved name: choose another`);
      continue;
    }
    if (list === ALL) {
      packages.set(name, ALL);
      continue;
    }
    const set = new Set<number>();
    list.forEach((item, i) => {
      const n = typeof item === 'number' ? item : (bySlug.get(item) ?? Number(item));
      if (Number.isInteger(n) && numbers.has(n)) set.add(n);
      else report(['packages', name, i], `no channel with number or slug "${item}"`);
    });
    packages.set(name, set);
  }
  const isGrant = (g: string): boolean => g === ALL || g === WRITE || packages.has(g);
  const unknown = (g: string): string =>
    `no package "${g}" (packages: ${[...packages.keys(), ALL, WRITE].join(', ')})`;
  const known = (grants: string[], path: (string | number)[], allowNone = false): string[] =>
    grants.filter((g, i) => {
      if (isGrant(g) || (allowNone && g === NONE)) return true;
      report([...path, i], unknown(g));
      return false;
    });
  const subnets: AccessSpec['subnets'] = [];
  for (const [text, grants] of Object.entries(raw.subnets ?? {})) {
    const subnet = parseSubnet(text);
    if (typeof subnet === 'string') report(['subnets', text], subnet);
    else subnets.push({ subnet, grants: known(grants, ['subnets', text]) });
  }
  subnets.sort((a, b) => b.subnet.prefix - a.subnet.prefix);
  const tokens =
    raw.tokens_file === undefined
      ? []
      : readTokens(
          resolvePath(raw.tokens_file),
          (m) => report(['tokens_file'], m),
          (g) => (isGrant(g) ? undefined : unknown(g)),
        );
  const defaults = known(raw.default ?? [NONE], ['default'], true).filter((g) => g !== NONE);
  return { packages, subnets, tokens, defaults };
}

/** Reads a tokens file: `<name> <token> <grant>[,<grant>]` per line; # comments. */
function readTokens(
  path: string,
  report: (message: string) => void,
  problem: (grant: string) => string | undefined,
): AccessToken[] {
  let text: string;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8);
      report(`${path} is readable by others (mode ${mode}): chmod 600 ${path}`);
      return [];
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    report(`cannot read ${path}${code ? ` (${code})` : ''}`);
    return [];
  }
  const tokens: AccessToken[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/#.*$/, '').trim();
    if (l === '') return;
    const [name, token, grants, extra] = l.split(/\s+/);
    const where = `${path} line ${i + 1}`;
    // The token itself never goes into a message.
    if (grants === undefined || extra !== undefined)
      return report(`${where}: expected "<name> <token> <grant>[,<grant>]"`);
    if (token!.length < MIN_TOKEN)
      return report(`${where}: the token of ${name} is shorter than ${MIN_TOKEN} characters`);
    if (seen.has(name!)) return report(`${where}: ${name} is named twice`);
    seen.add(name!);
    const list = grants.split(',').filter((g) => g !== '');
    const bad = list.map(problem).find((m) => m !== undefined);
    if (bad !== undefined) return report(`${where}: ${bad}`);
    tokens.push({ name: name!, token: token!, grants: list });
  });
  return tokens;
}
