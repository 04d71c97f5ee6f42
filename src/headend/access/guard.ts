// The access policy (policy.ts) as every surface applies it: each denial is counted (by
// surface and reason: headend_http_denied_total) and logged at most once per client a minute
// (`access-denied`, the client by address or token name, never the token; `unlogged`: the
// client's denials since its last line, on any surface, which the line stands for); an address
// that failed with a token (a bad one) more than MAX_FAILURES times within a minute is refused
// outright (429) until the minute has passed, so tokens cannot be guessed at speed.

import type { Logger } from '../log.js';
import { AccessPolicy, plainAddress, type Client, type Decision, type Need } from './policy.js';

const WINDOW_MS = 60_000;
const MAX_FAILURES = 10;
/** Entries kept before old ones are swept (a flood of addresses stays bounded). */
const SWEEP_AT = 10_000;

/** Where a request came in: the label of its denials. */
export type Surface = 'stream' | 'hls' | 'playlist' | 'guide' | 'rtsp' | 'reload' | 'alert';

export type GuardDecision =
  Decision | { ok: false; status: 429; reason: 'too-many-failures'; who: string };

export class AccessGuard {
  /** Denials by `surface reason` (the metric). */
  readonly denied = new Map<string, number>();
  /** Per client: when its last denial was logged, and its denials since, not logged. */
  private readonly logged = new Map<string, { at: number; unlogged: number }>();
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly policy: () => AccessPolicy,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  check(client: Client, need: Need, surface: Surface): GuardDecision {
    const t = this.now();
    const address = plainAddress(client.address).address;
    const recent = (this.failures.get(address) ?? []).filter((x) => t - x < WINDOW_MS);
    let d: GuardDecision;
    if (recent.length >= MAX_FAILURES) {
      d = { ok: false, status: 429, reason: 'too-many-failures', who: address };
    } else {
      d = this.policy().decide(client, need);
      if (!d.ok && d.reason === 'bad-token') {
        recent.push(t);
        this.failures.set(address, recent);
      }
    }
    // A list (channel -1) is never refused for want of a grant: it is filtered instead.
    const listing = typeof need === 'object' && need.channel < 0;
    if (!d.ok && !(listing && (d.reason === 'not-granted' || d.reason === 'no-token')))
      this.denial(d, surface, need, t);
    this.sweep(t);
    return d;
  }

  /**
   * The channels (numbers, of `all`) the client may see (playlists, guide); a denial when its
   * token is bad (or it failed too often).
   */
  visible(
    client: Client,
    all: readonly number[],
    surface: Surface,
  ): number[] | Extract<GuardDecision, { ok: false }> {
    const d = this.check(client, { channel: -1 }, surface);
    if (!d.ok && d.reason !== 'not-granted' && d.reason !== 'no-token') return d;
    return this.policy().visible(client, all) ?? [];
  }

  /** Counts and (once a minute per client) logs a denial. */
  private denial(
    d: Extract<GuardDecision, { ok: false }>,
    surface: Surface,
    need: Need,
    t: number,
  ) {
    const key = `${surface} ${d.reason}`;
    this.denied.set(key, (this.denied.get(key) ?? 0) + 1);
    const last = this.logged.get(d.who);
    if (last !== undefined && t - last.at < WINDOW_MS) {
      last.unlogged++;
      return;
    }
    this.logged.set(d.who, { at: t, unlogged: 0 });
    this.log.log('warn', 'access-denied', {
      surface,
      client: d.who,
      reason: d.reason,
      status: d.status,
      ...(typeof need === 'object' && need.channel >= 0 ? { channel: need.channel } : {}),
      ...(last && last.unlogged > 0 ? { unlogged: last.unlogged } : {}),
    });
  }

  private sweep(t: number): void {
    if (this.logged.size + this.failures.size < SWEEP_AT) return;
    for (const [k, v] of this.logged) if (t - v.at >= WINDOW_MS) this.logged.delete(k);
    for (const [k, v] of this.failures)
      if (v.every((x) => t - x >= WINDOW_MS)) this.failures.delete(k);
  }
}

/** The bearer token of a request: `Authorization: Bearer …`, else `?token=…`. */
export function requestToken(authorization: string | undefined, url: URL): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (m) return m[1];
  return url.searchParams.get('token') ?? undefined;
}

/**
 * A refusal as the HTTP surface answers it: its error code and a message (`notGranted` says
 * what the client may not do).
 */
export function denial(
  d: Extract<GuardDecision, { ok: false }>,
  notGranted: string,
): { error: string; message: string } {
  const error = d.status === 401 ? 'unauthorized' : d.status === 429 ? 'too-many' : 'forbidden';
  const message =
    d.reason === 'no-token'
      ? 'send a token: Authorization: Bearer <token>, or ?token=<token>'
      : d.reason === 'bad-token'
        ? 'the token is not valid'
        : d.reason === 'too-many-failures'
          ? 'too many bad tokens from this address: try again in a minute'
          : notGranted;
  return { error, message };
}

/** A request target (HTTP path, RTSP URI) as logged: a `token=` query value is never written. */
export function withoutToken<T extends string | undefined>(target: T): T {
  return target?.replace(/([?&]token=)[^&#]*/gi, '$1…') as T;
}
