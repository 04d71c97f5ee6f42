// POST /api/alert: the emergency override over HTTP, for building systems and `headend alert`.
//
//   POST /api/alert   Authorization: Bearer <headend.alert.token>
//                     {"state": "on", "zone": "east-wing", "message": "…"}   (zone, message
//                     optional) or {"state": "off", "zone": "…"} (no zone: every alert ends);
//                     "via": "cli" when `headend alert` sends it (the trigger in logs, metrics)
//                     → 200 with the alert state (GET /api/alert's body)
//   GET  /api/alert   the alert state (no secret in it)
//
// Access (RFC 6750): no token configured = the trigger is off (404 alert-off); no or a malformed
// Authorization header = 401 with WWW-Authenticate: Bearer; a wrong token = 403. Tokens are
// compared in constant time (SHA-256 of both, timingSafeEqual: no early exit, no length leak)
// and never logged. A malformed body is 400 naming what is wrong.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AlertChange } from '../alert/alerts.js';
import type { AlertState } from '../alert/alert-service.js';

export interface AlertApi {
  state(): AlertState;
  /** The configured bearer token; undefined: POST is off. */
  token(): string | undefined;
  on(zone: string | undefined, message: string | undefined, trigger: 'http' | 'cli'): AlertChange;
  off(zone: string | undefined, trigger: 'http' | 'cli'): AlertChange;
}

export interface AlertReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const ZONE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_MESSAGE = 200;

/** Whether `given` is the token, in time independent of where they differ. */
export function tokenMatches(given: string, token: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(a, b);
}

const fail = (status: number, error: string, message: string, headers?: Record<string, string>) =>
  ({ status, body: { error, message }, ...(headers ? { headers } : {}) }) as AlertReply;

/** Whether the request carries the alert token (Authorization: Bearer). */
export function hasAlertToken(api: AlertApi, req: IncomingMessage): boolean {
  const token = api.token();
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return token !== undefined && auth !== null && tokenMatches(auth[1]!, token);
}

/**
 * POST /api/alert. `granted`: the client may write by the access rules (headend.access), so
 * it needs no alert token.
 */
export function postAlert(
  api: AlertApi,
  req: IncomingMessage,
  body: Buffer,
  granted = false,
): AlertReply {
  if (!granted) {
    const refused = checkAlertToken(api, req);
    if (refused) return refused;
  }
  return applyAlert(api, body);
}

function checkAlertToken(api: AlertApi, req: IncomingMessage): AlertReply | undefined {
  const token = api.token();
  if (token === undefined)
    return fail(
      404,
      'alert-off',
      'the HTTP alert trigger is off: set headend.alert.token (or token_file) to turn it on',
    );
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!auth)
    return fail(401, 'unauthorized', 'send the alert token as Authorization: Bearer <token>', {
      'www-authenticate': 'Bearer realm="headend"',
    });
  if (!tokenMatches(auth[1], token))
    return fail(403, 'forbidden', 'the token is not the alert token', {
      'www-authenticate': 'Bearer realm="headend", error="invalid_token"',
    });
  return undefined;
}

function applyAlert(api: AlertApi, body: Buffer): AlertReply {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return fail(
      400,
      'bad-request',
      'the body is not JSON: send {"state": "on"} or {"state": "off"}',
    );
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return fail(400, 'bad-request', 'the body must be a JSON object: {"state": "on"|"off", …}');
  const { state, zone, message, via, ...rest } = v as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    return fail(400, 'bad-request', `unknown field ${unknown[0]}: expected state, zone, message`);
  if (via !== undefined && via !== 'http' && via !== 'cli')
    return fail(400, 'bad-request', 'via must be "http" or "cli"');
  const trigger = via === 'cli' ? 'cli' : 'http';
  if (state !== 'on' && state !== 'off')
    return fail(400, 'bad-request', 'state must be "on" or "off"');
  if (zone !== undefined && (typeof zone !== 'string' || !ZONE.test(zone)))
    return fail(400, 'bad-request', 'zone must be a name of letters, digits, _ . - (≤ 64)');
  if (
    message !== undefined &&
    (state === 'off' ||
      typeof message !== 'string' ||
      message.trim() === '' ||
      message.length > MAX_MESSAGE ||
      /[\u0000-\u001f\u007f]/.test(message))
  )
    return fail(
      400,
      'bad-request',
      `message is for "on": text of 1-${MAX_MESSAGE} characters on one line`,
    );
  const z = zone as string | undefined;
  const change =
    state === 'on'
      ? api.on(z, (message as string | undefined)?.trim(), trigger)
      : api.off(z, trigger);
  return { status: 200, body: { changed: change.changed, ...api.state() } };
}
