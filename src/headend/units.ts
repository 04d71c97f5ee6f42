// Human units on the command line and in config: bitrates ("6M"), durations ("100ms"), integers.
// Each parser returns the value or a HeadendError; none throws.

import { HeadendError } from './errors.js';

const BITRATE_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmMgG]?)(?:bit\/s|bps|b)?\s*$/;
const BITRATE_SCALE: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/**
 * Bitrate in bit/s from "6M", "800k", "1.5M", "2G", "3000000" (SI prefixes: k = 1000).
 * An optional "bps", "bit/s" or "b" suffix is accepted. Result is a positive integer.
 */
export function parseBitrate(text: string): number | HeadendError {
  const m = BITRATE_RE.exec(text);
  if (m === null) {
    return new HeadendError(
      'E_BAD_BITRATE',
      `bad bitrate '${text}': expected a number with an optional k, M or G suffix (6M, 800k, 1.5M)`,
    );
  }
  const value = Math.round(Number(m[1]) * BITRATE_SCALE[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    return new HeadendError('E_BAD_BITRATE', `bad bitrate '${text}': must be more than 0 bit/s`);
  }
  return value;
}

const DURATION_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/;
const DURATION_SCALE: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Duration in milliseconds from "100ms", "2s", "1.5s", "1m", "1h"; a plain number means ms. */
export function parseDuration(text: string): number | HeadendError {
  const m = DURATION_RE.exec(text);
  if (m === null) {
    return new HeadendError(
      'E_BAD_DURATION',
      `bad duration '${text}': expected a number with an optional ms, s, m or h suffix (100ms, 2s, 1m; plain = ms)`,
    );
  }
  const value = Number(m[1]) * DURATION_SCALE[m[2] ?? ''];
  if (!Number.isFinite(value)) {
    return new HeadendError('E_BAD_DURATION', `bad duration '${text}': too large`);
  }
  return value;
}

/** A decimal (or 0x hex) integer within [min, max]; `name` is used in the message. */
export function parseInteger(
  text: string,
  name: string,
  min: number,
  max: number,
): number | HeadendError {
  const t = text.trim();
  const value = /^\d+$/.test(t)
    ? Number(t)
    : /^0x[0-9a-f]+$/i.test(t)
      ? Number.parseInt(t, 16)
      : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return new HeadendError(
      'E_BAD_NUMBER',
      `bad ${name} '${text}': expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}
