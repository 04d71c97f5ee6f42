// The client side of the daemon's HTTP surface, for `headend reload` and `headend status`:
// one request, a timeout, and errors as values (HeadendError) with a message that says what to
// check (is the daemon running, is headend.http on, the --url).

import { HeadendError } from '../errors.js';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8080';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** Sends one request to the daemon; an unreachable daemon or a non-JSON answer is an error. */
export async function callDaemon(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 30_000,
  send: { json?: unknown; bearer?: string } = {},
): Promise<ApiResponse | HeadendError> {
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    return new HeadendError('E_BAD_URL', `bad daemon URL '${base}'`);
  }
  let res: Response;
  try {
    const headers: Record<string, string> = {};
    if (send.json !== undefined) headers['content-type'] = 'application/json';
    if (send.bearer !== undefined) headers.authorization = `Bearer ${send.bearer}`;
    res = await fetch(url, {
      method,
      headers,
      body: send.json === undefined ? undefined : JSON.stringify(send.json),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    return new HeadendError(
      'E_NET',
      `cannot reach the daemon at ${url.origin} (${why}): is \`headend run\` running with ` +
        `headend.http on, and is --url right?`,
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return new HeadendError(
      'E_NET',
      `the daemon at ${url.origin} answered ${method} ${url.pathname} with HTTP ${res.status} ` +
        `and no JSON: ${text.slice(0, 200)}`,
    );
  }
}
