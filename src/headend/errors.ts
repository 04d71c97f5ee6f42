// Errors of the headend layer as values: a stable code plus a message written for a human.
// Functions that can fail return `T | HeadendError`; callers test with `isHeadendError`.
// Stream faults are not errors: they are counted (analyzer, remuxer stats), never thrown.

/** Every code the headend can report, with what it means. Codes are stable: scripts match on them. */
export const ERROR_CODES = {
  E_USAGE: 'the command line is not valid',
  E_BAD_NUMBER: 'a number is malformed or out of range',
  E_BAD_BITRATE: 'a bitrate is malformed (examples: 6M, 800k, 1.5M, 3000000)',
  E_BAD_DURATION: 'a duration is malformed (examples: 100ms, 2s, 1m, 250)',
  E_BAD_URL: 'an input URL or path is not understood',
  E_BAD_TUNING:
    'a tuner to scan or probe is not understood: a --transponder, a satip:// or hdhomerun:// URL, or a tuner id the config lacks',
  E_IO: 'a file could not be read or written',
  E_NET: 'a socket could not be opened, bound or joined to its group',
  E_NO_INTERFACE:
    "an interface name or address is not this machine's (no such interface, down, or no IPv4 address)",
  E_NO_PROGRAM: 'the input does not carry the program asked for (or no PAT/PMT at all)',
  E_RTSP: 'an RTSP server refused a request, did not answer in time, or broke the protocol',
  E_TUNER:
    'a tuner device was not found, refused the request (busy, unknown channel) or answered in a way not understood',
} as const;

export type HeadendErrorCode = keyof typeof ERROR_CODES;

/**
 * An error value. It extends Error so that it can also cross an async-iterator boundary
 * (a reader that fails mid-stream throws it), but it is meant to be returned and printed
 * as `message`, never shown with a stack trace.
 */
export class HeadendError extends Error {
  readonly code: HeadendErrorCode;
  constructor(code: HeadendErrorCode, message: string) {
    super(message);
    this.name = 'HeadendError';
    this.code = code;
  }
  toJSON(): { code: HeadendErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function headendError(code: HeadendErrorCode, message: string): HeadendError {
  return new HeadendError(code, message);
}

export function isHeadendError(x: unknown): x is HeadendError {
  return x instanceof HeadendError;
}

/** Turns a Node system error (ENOENT, EADDRINUSE, ...) into a HeadendError with a readable message. */
export function fromSystemError(code: HeadendErrorCode, what: string, err: unknown): HeadendError {
  if (err instanceof HeadendError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const sys = typeof e?.code === 'string' ? e.code : undefined;
  const reason =
    sys !== undefined && SYSTEM_REASONS[sys] !== undefined
      ? SYSTEM_REASONS[sys]
      : typeof e?.message === 'string'
        ? e.message
        : String(err);
  return new HeadendError(code, `${what}: ${reason}${sys !== undefined ? ` (${sys})` : ''}`);
}

const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a path component is not a directory',
  ENOSPC: 'no space left on device',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENODEV: 'no such network interface',
  ENETUNREACH: 'network unreachable (no route for this group?)',
  EINVAL: 'invalid argument',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed (temporary)',
};
