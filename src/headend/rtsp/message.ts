// RTSP/1.0 request parsing and response writing (RFC 2326 §6 Request, §7 Response; RFC 7826
// §8 for the tightened grammar), bounded by limits on everything a client controls.
//
//   Request-Line = Method SP Request-URI SP RTSP-Version CRLF        (§6.1)
//   *( message-header CRLF )                                         (§6.2: name ":" value)
//   CRLF
//   [ message-body ]                                                  (Content-Length bytes, §12.14)
//
// Interleaved binary data (§10.12) may arrive on the same connection between requests:
//
//   '$' (0x24) | channel (1 byte) | length (2 bytes, big endian) | <length bytes>
//
// The parser works on the connection's accumulated bytes and never throws: it returns one
// request, one interleaved frame, "need more bytes" (and of which part: the connection bounds
// how long each may take), or an error with the status to answer and
// whether the connection can continue (the message boundary is known) or must close.

export interface RtspLimits {
  /** Request-Line length in bytes (414 when longer). */
  maxRequestLine: number;
  /** Request-Line plus headers, up to and including the empty line. */
  maxHeaderBytes: number;
  maxHeaders: number;
  /** Content-Length (413 when larger). */
  maxBody: number;
}

export const DEFAULT_LIMITS: RtspLimits = {
  maxRequestLine: 2048,
  maxHeaderBytes: 8192,
  maxHeaders: 64,
  maxBody: 4096,
};

export interface RtspRequest {
  method: string;
  uri: string;
  version: string;
  /** Lower-case names; repeated headers joined with ", " (RFC 2616 §4.2). */
  headers: Map<string, string>;
  body: Buffer;
  /** CSeq as sent (echoed verbatim), undefined when missing. */
  cseq: string | undefined;
}

export type ParseResult =
  | { kind: 'need-more'; part: PendingPart }
  /** Blank lines between messages, to drop. */
  | { kind: 'skip'; consumed: number }
  | { kind: 'request'; request: RtspRequest; consumed: number }
  | { kind: 'interleaved'; channel: number; data: Buffer; consumed: number }
  | {
      kind: 'error';
      status: number;
      message: string;
      /** CSeq when it could be read (echoed in the error response). */
      cseq: string | undefined;
      /** Bytes to drop to continue, or -1: the connection cannot resynchronise and must close. */
      consumed: number;
    };

/** What an incomplete message still lacks: its head, its body, or an interleaved frame's bytes. */
export type PendingPart = 'head' | 'body' | 'frame';

const NEED_HEAD: ParseResult = { kind: 'need-more', part: 'head' };
const NEED_BODY: ParseResult = { kind: 'need-more', part: 'body' };
const NEED_FRAME: ParseResult = { kind: 'need-more', part: 'frame' };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses the first message in buf[0..]. */
export function parseMessage(buf: Buffer, limits: RtspLimits = DEFAULT_LIMITS): ParseResult {
  if (buf.length === 0) return NEED_HEAD;
  if (buf[0] === 0x24) {
    if (buf.length < 4) return NEED_FRAME;
    const len = buf.readUInt16BE(2);
    if (buf.length < 4 + len) return NEED_FRAME;
    return {
      kind: 'interleaved',
      channel: buf[1],
      data: buf.subarray(4, 4 + len),
      consumed: 4 + len,
    };
  }
  // Blank lines between messages are tolerated (RFC 7826 §8: robust parsing).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start > 0) return { kind: 'skip', consumed: start };

  const headEnd = findHeadEnd(buf, limits.maxHeaderBytes);
  if (headEnd === undefined) {
    const firstLf = buf.indexOf(0x0a);
    if ((firstLf < 0 ? buf.length : firstLf) > limits.maxRequestLine) {
      return fatal(414, `request line over ${limits.maxRequestLine} bytes`);
    }
    if (buf.length > limits.maxHeaderBytes) {
      return fatal(400, `request header over ${limits.maxHeaderBytes} bytes`);
    }
    return NEED_HEAD;
  }
  const head = buf.toString('latin1', 0, headEnd.end);
  const afterHead = headEnd.after;
  const lines = head.split(/\r?\n/);
  const requestLine = lines[0];

  const headers = new Map<string, string>();
  let headerError: string | undefined;
  let last: string | undefined;
  if (lines.length - 1 > limits.maxHeaders) headerError = `more than ${limits.maxHeaders} headers`;
  for (let i = 1; i < lines.length && headerError === undefined; i++) {
    const line = lines[i];
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`); // obsolete line folding
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (!TOKEN.test(name)) {
      headerError = `malformed header line ${i + 1}`;
      break;
    }
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    last = name;
  }
  const cseq = headers.get('cseq');

  // Body: Content-Length (§12.14); none when absent.
  let bodyLen = 0;
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    if (!/^\d{1,9}$/.test(cl)) {
      return {
        kind: 'error',
        status: 400,
        message: 'malformed Content-Length',
        cseq,
        consumed: -1,
      };
    }
    bodyLen = Number(cl);
    if (bodyLen > limits.maxBody) {
      return {
        kind: 'error',
        status: 413,
        message: `body of ${bodyLen} bytes over ${limits.maxBody}`,
        cseq,
        consumed: -1,
      };
    }
  }
  if (buf.length < afterHead + bodyLen) return NEED_BODY;
  const consumed = afterHead + bodyLen;
  const bad = (status: number, message: string): ParseResult => ({
    kind: 'error',
    status,
    message,
    cseq,
    consumed,
  });

  if (requestLine.length > limits.maxRequestLine)
    return bad(414, `request line over ${limits.maxRequestLine} bytes`);
  if (headerError !== undefined) return bad(400, headerError);
  const parts = requestLine.split(' ');
  if (
    parts.length !== 3 ||
    !TOKEN.test(parts[0]) ||
    parts[1] === '' ||
    /[\x00-\x20\x7f]/.test(parts[1])
  ) {
    return bad(400, 'malformed request line');
  }
  const [method, uri, version] = parts;
  if (!/^RTSP\/\d\.\d$/.test(version)) return bad(400, 'malformed RTSP version');
  if (version !== 'RTSP/1.0') return bad(505, `${version} not supported`);
  if (cseq === undefined || !/^\d{1,9}$/.test(cseq)) return bad(400, 'missing or malformed CSeq');
  return {
    kind: 'request',
    request: {
      method,
      uri,
      version,
      headers,
      body: Buffer.from(buf.subarray(afterHead, consumed)),
      cseq,
    },
    consumed,
  };

  function fatal(status: number, message: string): ParseResult {
    return { kind: 'error', status, message, cseq: undefined, consumed: -1 };
  }
}

/** Where the head ends: the empty line (CRLF CRLF, or bare LFs), searching at most `max` bytes. */
function findHeadEnd(buf: Buffer, max: number): { end: number; after: number } | undefined {
  const end = Math.min(buf.length, max + 4);
  for (let i = 0; i < end; i++) {
    if (buf[i] !== 0x0a) continue;
    const lineEnd = i > 0 && buf[i - 1] === 0x0d ? i - 1 : i;
    if (buf[i + 1] === 0x0a) return { end: lineEnd, after: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { end: lineEnd, after: i + 3 };
  }
  return undefined;
}

/** Reason phrases (RFC 2326 §7.1.1, RFC 7826 §17). */
export const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  451: 'Parameter Not Understood',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
};

/** A response: status line, CSeq first, the given headers, Content-Length when there is a body. */
export function formatResponse(
  status: number,
  cseq: string | undefined,
  headers: ReadonlyArray<readonly [string, string]> = [],
  body = '',
): string {
  const lines = [`RTSP/1.0 ${status} ${REASONS[status] ?? 'Unknown'}`];
  if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
  lines.push(`Date: ${new Date().toUTCString()}`, 'Server: headend');
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (body.length > 0) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}
