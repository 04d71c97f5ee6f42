// Small HTTP GETs of an HDHomeRun's JSON documents (/discover.json, /lineup.json,
// /status.json; SiliconDust's HTTP API as the devices serve it): node:http, a deadline, a size
// cap, and failures as HeadendError values (a refused connection, an unknown host, a timeout).

import { request } from 'node:http';
import { fromSystemError, headendError, isHeadendError, type HeadendError } from '../../errors.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface GetOptions {
  /** Whole request, connect to last byte. Default 3000 ms. */
  timeoutMs?: number;
  /** Bodies larger than this are cut (a lineup of 1000 channels is ~150 KiB). Default 1 MiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** GETs `url`; any HTTP status is an answer, only a failure to get one is an error. */
export function httpGet(url: string, opts: GetOptions = {}): Promise<HttpAnswer | HeadendError> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const maxBytes = opts.maxBytes ?? 1 << 20;
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: HttpAnswer | HeadendError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    let req: ReturnType<typeof request>;
    try {
      req = request(url, { method: 'GET', signal: opts.signal, agent: false });
    } catch (err) {
      done(fromSystemError('E_NET', `cannot GET ${url}`, err));
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      done(headendError('E_NET', `GET ${url}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    req.on('error', (err) => done(fromSystemError('E_NET', `GET ${url}`, err)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= maxBytes) return;
        chunks.push(c);
        size += c.length;
      });
      res.on('end', () =>
        done({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'),
        }),
      );
      res.on('error', (err) => done(fromSystemError('E_NET', `GET ${url}`, err)));
    });
    req.end();
  });
}

/** A JSON document, or `found: false` when the device answers 404 (it has no such document). */
export type JsonAnswer = { found: true; value: unknown } | { found: false };

/** GETs and parses JSON; an answer other than 200 or 404, or a body that is not JSON, is an error. */
export async function getJson(
  url: string,
  opts: GetOptions = {},
): Promise<JsonAnswer | HeadendError> {
  const a = await httpGet(url, opts);
  if (isHeadendError(a)) return a;
  if (a.status === 404) return { found: false };
  if (a.status !== 200) {
    return headendError('E_TUNER', `GET ${url}: ${a.status} ${firstLine(a.body)}`.trimEnd());
  }
  try {
    return { found: true, value: JSON.parse(a.body) as unknown };
  } catch {
    return headendError('E_TUNER', `GET ${url}: not JSON (${firstLine(a.body)})`);
  }
}

/** The first line of a body with HTML tags removed, at most 120 characters (for messages). */
export function firstLine(body: string): string {
  const text = body
    .replace(/<title>[^<]*<\/title>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .find((l) => l !== '');
  return (text ?? '').slice(0, 120);
}
