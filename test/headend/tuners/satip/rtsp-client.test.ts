// The RTSP/1.0 client (RFC 2326) of the SAT>IP backend against a scripted raw TCP server:
// CSeq matching (§12.17), Session with timeout (§12.37), interleaved frames between and inside
// answers (§10.12), a server's own request answered 501, bounded head size, no answer in time,
// and a connection refused.
import '../../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import { isHeadendError } from '../../../../src/headend/errors.js';
import {
  parseInterleaved,
  parseSession,
  RtspClient,
  type RtspResponse,
} from '../../../../src/headend/tuners/satip/rtsp-client.js';

/** A server that hands each request's text and the socket to `on`. */
async function rawServer(t: Test, on: (req: string, c: Socket) => void): Promise<number> {
  const srv = createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        on(buf.slice(0, i), c);
        buf = buf.slice(i + 4);
      }
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as { port: number }).port;
}

const cseqOf = (req: string): string => /CSeq: (\d+)/.exec(req)?.[1] ?? '';

async function client(t: Test, port: number, o: object = {}) {
  const frames: [number, string][] = [];
  const closes: string[] = [];
  const c = await RtspClient.connect({
    host: '127.0.0.1',
    port,
    onFrame: (ch, b, off, len) =>
      frames.push([ch, Buffer.from(b.subarray(off, off + len)).toString()]),
    onClose: (why) => closes.push(why.message),
    ...o,
  });
  if (isHeadendError(c)) throw c;
  t.teardown(() => c.close());
  return { c, frames, closes };
}

function ok(r: RtspResponse | Error): RtspResponse {
  if (r instanceof Error) throw r;
  return r;
}

t.test('answers matched by CSeq, frames between and before them, a server request', async (t) => {
  const seen: string[] = [];
  const port = await rawServer(t, (req, c) => {
    seen.push(req.split('\r\n')[0]);
    const cseq = cseqOf(req);
    if (req.startsWith('RTSP/1.0 501')) return;
    if (req.startsWith('SETUP')) {
      // A stale answer first (an older CSeq), a frame, then the answer in two pieces.
      c.write(`RTSP/1.0 200 OK\r\nCSeq: ${Number(cseq) - 1}\r\n\r\n`);
      c.write(Buffer.concat([Buffer.from([0x24, 0, 0, 3]), Buffer.from('abc')]));
      const ans =
        `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 1A2B3C;timeout=30\r\n` +
        `com.ses.streamID: 7\r\nTransport: RTP/AVP/TCP;interleaved=2-3\r\n\r\n`;
      c.write(ans.slice(0, 20));
      setTimeout(() => c.write(ans.slice(20)), 20);
      return;
    }
    // A request of the server's own, then a frame on channel 1, then the answer with a body.
    c.write('OPTIONS rtsp://client/ RTSP/1.0\r\nCSeq: 90\r\n\r\n');
    c.write(Buffer.concat([Buffer.from([0x24, 1, 0, 2]), Buffer.from('xy')]));
    c.write(`RTSP/1.0 454 Session Not Found\r\nCSeq: ${cseq}\r\nContent-Length: 5\r\n\r\nhello`);
  });
  const { c, frames, closes } = await client(t, port);
  const setup = ok(await c.request('SETUP', 'rtsp://127.0.0.1/?freq=1', [['Transport', 'x']]));
  t.equal(setup.status, 200);
  t.same(parseSession(setup.headers.get('session')), { id: '1A2B3C', timeoutS: 30 });
  t.equal(setup.headers.get('com.ses.streamid'), '7');
  t.same(parseInterleaved(setup.headers.get('transport')), [2, 3]);
  const play = ok(await c.request('PLAY', 'rtsp://127.0.0.1/stream=7', [['Session', '1A2B3C']]));
  t.match(play, { status: 454, reason: 'Session Not Found' });
  t.equal(play.body.toString(), 'hello');
  t.same(frames, [
    [0, 'abc'],
    [1, 'xy'],
  ]);
  await new Promise((r) => setTimeout(r, 50));
  t.ok(seen.includes('RTSP/1.0 501 Not Implemented'), 'the server request answered 501');
  t.same(closes, []);
});

t.test('Session header: timeout default 60 s', async (t) => {
  t.same(parseSession('12345678'), { id: '12345678', timeoutS: 60 });
  t.same(parseSession('abc ; timeout=5'), { id: 'abc', timeoutS: 5 });
  t.equal(parseSession(undefined), undefined);
  t.same(parseInterleaved('RTP/AVP/TCP;unicast;interleaved=4'), [4, 5]);
  t.equal(parseInterleaved('RTP/AVP;unicast;client_port=5000-5001'), undefined);
});

t.test('a head over the limit closes the connection with a reason', async (t) => {
  const port = await rawServer(t, (_req, c) => {
    c.write(`RTSP/1.0 200 OK\r\nX-Pad: ${'a'.repeat(2000)}\r\n`);
  });
  const { c, closes } = await client(t, port, { maxHeaderBytes: 1024 });
  const r = await c.request('OPTIONS', 'rtsp://127.0.0.1/');
  t.ok(isHeadendError(r));
  t.match(closes, [/answer head over 1024 bytes/]);
  t.notOk(c.isOpen);
});

t.test('no answer in time; a closed connection; a refused one', async (t) => {
  let n = 0;
  const port = await rawServer(t, (_req, c) => {
    if (++n === 2) c.destroy();
  });
  const { c, closes } = await client(t, port, { requestTimeoutMs: 200 });
  const r1 = await c.request('OPTIONS', 'rtsp://127.0.0.1/');
  t.match(r1, { code: 'E_RTSP', message: /no answer to OPTIONS within 200 ms/ });
  const r2 = await c.request('OPTIONS', 'rtsp://127.0.0.1/');
  t.match(r2, { code: 'E_NET', message: /connection closed/ });
  t.match(closes, [/connection closed/]);

  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const refused = await RtspClient.connect({ host: '127.0.0.1', port: deadPort });
  t.match(refused, {
    code: 'E_NET',
    message: `cannot connect to 127.0.0.1:${deadPort}: connection refused (ECONNREFUSED)`,
  });
});
