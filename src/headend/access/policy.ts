// Access to the unicast surfaces and the write endpoints (config/access.ts): what a client
// (its address, and the bearer token it sent, if any) may do. A client gets what the most
// specific subnet holding its address grants, plus what its token grants; no subnet and no
// token: the default. Without `headend.access`, every client may play every channel and only
// loopback clients may write.
//
// Tokens: compared in constant time (SHA-256 of both, timingSafeEqual: no early exit, no length
// leak) and never logged; a client is known by its token's name. A token that matches none is
// refused (403) whatever the address would allow, so a mistyped token is noticed.

import { BlockList } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ALL, WRITE, type AccessSpec } from '../config/access.js';

export interface Client {
  /** Remote address as the socket gives it (IPv4-mapped IPv6 is read as IPv4). */
  address: string;
  /** The bearer token sent (Authorization: Bearer, or ?token=), if any. */
  token?: string;
}

/** What is asked: a channel (by number), a write, or the relay of another group (`all`). */
export type Need = { channel: number } | 'write' | 'relay';

export type Decision =
  | { ok: true; who: string }
  /** 401: no token and nothing granted (tokens exist); 403: refused. */
  | { ok: false; status: 401 | 403; reason: 'no-token' | 'bad-token' | 'not-granted'; who: string };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The address as its family reads it: ::ffff:10.0.0.1 is 10.0.0.1. */
export function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, family: 'ipv4' };
  return { address, family: address.includes(':') ? 'ipv6' : 'ipv4' };
}

export class AccessPolicy {
  private readonly subnets: { list: BlockList; grants: string[] }[];
  private readonly tokens: { name: string; hash: Buffer; grants: string[] }[];

  /** `spec` null: the defaults above. */
  constructor(private readonly spec: AccessSpec | null) {
    this.subnets = (spec?.subnets ?? []).map(({ subnet, grants }) => {
      const list = new BlockList();
      list.addSubnet(subnet.address, subnet.prefix, subnet.family);
      return { list, grants };
    });
    this.tokens = (spec?.tokens ?? []).map((t) => ({
      name: t.name,
      hash: digest(t.token),
      grants: t.grants,
    }));
  }

  /** Whether bearer tokens are configured (a 401 then asks for one). */
  get takesTokens(): boolean {
    return this.tokens.length > 0;
  }

  decide(client: Client, need: Need): Decision {
    const g = this.grants(client);
    if (g.badToken) return { ok: false, status: 403, reason: 'bad-token', who: g.who };
    if (this.allows(g.grants, need, client)) return { ok: true, who: g.who };
    if (client.token === undefined && this.takesTokens)
      return { ok: false, status: 401, reason: 'no-token', who: g.who };
    return { ok: false, status: 403, reason: 'not-granted', who: g.who };
  }

  /** The channels (numbers) the client may play, of `all`; null when the token is bad. */
  visible(client: Client, all: readonly number[]): number[] | null {
    const g = this.grants(client);
    if (g.badToken) return null;
    return all.filter((n) => this.allows(g.grants, { channel: n }, client));
  }

  private allows(grants: readonly string[], need: Need, client: Client): boolean {
    if (this.spec === null) {
      if (need !== 'write') return true;
      const a = plainAddress(client.address);
      return LOOPBACK.check(a.address, a.family);
    }
    if (need === 'write') return grants.includes(WRITE);
    if (need === 'relay') return grants.includes(ALL);
    return grants.some((g) => {
      if (g === ALL) return true;
      const p = this.spec!.packages.get(g);
      return p === ALL || (p !== undefined && p.has(need.channel));
    });
  }

  /** What the client's subnet (or the default) and token grant; who it is for the log. */
  private grants(client: Client): { grants: string[]; who: string; badToken: boolean } {
    const a = plainAddress(client.address);
    const subnet = this.subnets.find((s) => s.list.check(a.address, a.family));
    const grants = [...(subnet?.grants ?? this.spec?.defaults ?? [])];
    // A token where none are configured (a playlist URL kept from elsewhere) is not looked at.
    if (client.token === undefined || this.tokens.length === 0)
      return { grants, who: a.address, badToken: false };
    const given = digest(client.token);
    // Every token is compared, so the time does not tell which one (or whether any) matched.
    let match: (typeof this.tokens)[number] | undefined;
    for (const t of this.tokens) if (timingSafeEqual(given, t.hash) && !match) match = t;
    if (!match) return { grants, who: a.address, badToken: true };
    return {
      grants: [...grants, ...match.grants],
      who: `${match.name}@${a.address}`,
      badToken: false,
    };
  }
}
