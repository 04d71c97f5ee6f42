// Slowloris (RFC 2326 §11.3.6 408 Request Timeout): a request must complete once begun. With
// the limits set to 1 s, a client dripping a request head one byte every 200 ms, one dripping
// blank lines, and one whose body stops, are answered 408 and disconnected within the bound, counted and logged,
// while on the same server a normal client keeps being served, a client sending complete
// keep-alives further apart than the limit is never cut, and neither is an RTP-over-TCP
// session whose client sends RTCP frames (RFC 2326 §10.12) between complete requests.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../../src/headend/log.js';
import { startRtspServer } from '../../../src/headend/rtsp/server.js';
import { sleep } from '../../e2e/helpers.js';
import { Client, StubSource } from './raw-client.js';

const LIMIT_MS = 1000;

/** A connection that writes `bytes` one at a time, `gapMs` apart, until the server closes it. */
function drip(
  port: number,
  bytes: Buffer,
  gapMs: number,
): Promise<{ text: string; closedAfterMs: number; sent: number }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    let t0 = 0;
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', () => undefined);
    const give = setTimeout(() => s.destroy(), 10_000);
    s.once('close', () => {
      clearTimeout(give);
      resolve({ text, closedAfterMs: Math.round(performance.now() - t0), sent });
    });
    s.once('connect', async () => {
      t0 = performance.now();
      for (const x of bytes) {
        if (s.destroyed || s.writableEnded) return;
        s.write(Buffer.from([x]));
        sent++;
        await sleep(gapMs);
      }
    });
  });
}

t.test('a request that does not complete in time is answered 408 and closed', async (t) => {
  const logged: Array<{ event: string; fields: Record<string, unknown> }> = [];
  const log: Logger = {
    log(_level, event, fields) {
      logged.push({ event, fields: (fields ?? {}) as Record<string, unknown> });
    },
    child() {
      return log;
    },
  };
  const server = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort: 18150,
      companionOffset: 0,
      sessionTimeoutMs: 30_000,
      maxSessions: 50,
      maxSessionsPerClient: 10,
    },
    source: new StubSource(),
    log,
    limits: { requestHeadTimeoutMs: LIMIT_MS, requestBodyTimeoutMs: LIMIT_MS },
  });
  t.teardown(() => server.stop());
  const port = server.address.port;
  const base = `rtsp://127.0.0.1:${port}/seven`;

  // A normal client, served throughout.
  const normal = await Client.open(server);
  t.teardown(() => normal.socket.destroy());
  let normalOk = 0;
  const normalFailures: string[] = [];
  let running = true;
  const normalLoop = (async () => {
    let cseq = 0;
    while (running) {
      try {
        const r = await normal.request('OPTIONS', '*', ++cseq);
        if (r.status === 200) normalOk++;
        else normalFailures.push(`OPTIONS ${cseq}: ${r.status}`);
      } catch (err) {
        normalFailures.push(String(err));
        return;
      }
      await sleep(100);
    }
  })();

  // Keep-alives 1.5 s apart (over the limit), each complete, one in two pieces 300 ms apart.
  const keepAlive = await Client.open(server);
  t.teardown(() => keepAlive.socket.destroy());
  const keepAliveLoop = (async () => {
    const statuses: number[] = [];
    for (let cseq = 1; cseq <= 4; cseq++) {
      const text = `GET_PARAMETER ${base} RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`;
      keepAlive.send(text.slice(0, 10));
      await sleep(300);
      keepAlive.send(text.slice(10));
      statuses.push((await keepAlive.response()).status);
      await sleep(1500);
    }
    return statuses;
  })();

  // RTP over TCP: SETUP + PLAY, then RTCP frames every 300 ms (some in two pieces) and a
  // keep-alive every 1.5 s.
  const tcp = await Client.open(server);
  t.teardown(() => tcp.socket.destroy());
  const setup = await tcp.request('SETUP', `${base}/track1`, 1, [
    'Transport: RTP/AVP/TCP;unicast;interleaved=0-1',
  ]);
  t.equal(setup.status, 200, 'SETUP over TCP');
  const session = (setup.headers.get('session') ?? '').split(';')[0];
  t.equal((await tcp.request('PLAY', base, 2, [`Session: ${session}`])).status, 200, 'PLAY');
  const rr = Buffer.from([0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1]); // RTCP RR, no report block
  const frame = Buffer.concat([Buffer.from([0x24, 1, 0, rr.length]), rr]);
  const tcpLoop = (async () => {
    const statuses: number[] = [];
    let cseq = 3;
    const until = performance.now() + 4500;
    let nextKeepAlive = performance.now() + 1500;
    while (performance.now() < until && !tcp.closed) {
      tcp.socket.write(frame.subarray(0, 3));
      await sleep(100);
      tcp.socket.write(frame.subarray(3));
      await sleep(200);
      if (performance.now() >= nextKeepAlive) {
        nextKeepAlive += 1500;
        tcp.send(
          `GET_PARAMETER ${base} RTSP/1.0\r\nCSeq: ${cseq++}\r\nSession: ${session}\r\n\r\n`,
        );
        statuses.push((await tcp.response()).status);
      }
    }
    return statuses;
  })();

  // The slow ones: a head dripped one byte every 200 ms, and a complete head whose body drips.
  const head = Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 9\r\nX-Pad: ${'a'.repeat(60)}\r\n\r\n`);
  const bodyHead = `SET_PARAMETER ${base} RTSP/1.0\r\nCSeq: 10\r\nContent-Length: 40\r\n\r\n`;
  const [slowHead, blank] = await Promise.all([
    drip(port, head, 200),
    drip(port, Buffer.from('\r\n'.repeat(50)), 200),
  ]);
  t.match(slowHead.text, /^RTSP\/1\.0 408 Request Timeout\r\n/, 'the dripped head: 408');
  t.ok(slowHead.sent < head.length, `cut after ${slowHead.sent} of ${head.length} bytes`);
  t.ok(
    slowHead.closedAfterMs >= LIMIT_MS && slowHead.closedAfterMs < LIMIT_MS + 1000,
    `the dripped head closed after ${slowHead.closedAfterMs} ms (limit ${LIMIT_MS})`,
  );
  t.match(blank.text, /^RTSP\/1\.0 408 /, 'blank lines dripped: 408 too');
  t.ok(blank.closedAfterMs < LIMIT_MS + 1000, `closed after ${blank.closedAfterMs} ms`);

  // A body that never completes.
  const stuckBody = await (async () => {
    const c = new Client(connect(port, '127.0.0.1'));
    await new Promise((r) => c.socket.once('connect', r));
    const t0 = performance.now();
    c.send(bodyHead + 'x'.repeat(10));
    const r = await c.response();
    const closed = await Promise.race([
      new Promise<boolean>((res) => c.socket.once('close', () => res(true))),
      sleep(2000).then(() => c.closed),
    ]);
    return { status: r.status, ms: Math.round(performance.now() - t0), closed };
  })();
  t.equal(stuckBody.status, 408, 'a body that stops: 408');
  t.ok(stuckBody.closed, 'and closed');
  t.ok(stuckBody.ms < LIMIT_MS + 1000, `after ${stuckBody.ms} ms`);

  t.same(await keepAliveLoop, [200, 200, 200, 200], 'slow complete keep-alives: never cut');
  t.notOk(keepAlive.closed, 'the keep-alive connection is open');
  const tcpStatuses = await tcpLoop;
  t.ok(tcpStatuses.length >= 2, `${tcpStatuses.length} keep-alives over TCP`);
  t.ok(
    tcpStatuses.every((s) => s === 200),
    'RTP over TCP with RTCP frames: keep-alives answered',
  );
  t.notOk(tcp.closed, 'the RTP-over-TCP connection is open');
  t.same(server.sessions(), { udp: 0, tcp: 1, multicast: 0 }, 'its session lives');

  running = false;
  await normalLoop;
  t.same(normalFailures, [], `the normal client: ${normalOk} OPTIONS answered, none failed`);
  t.ok(normalOk > 20, 'served throughout');

  const st = server.stats();
  t.equal(st.requestTimeouts, 3, 'three timeouts counted');
  t.equal(st.responses[408], 3, 'three 408 answers');
  const timeouts = logged.filter((l) => l.event === 'rtsp-request-timeout');
  t.same(
    timeouts.map((l) => [l.fields.client, l.fields.part]),
    [
      ['127.0.0.1', 'head'],
      ['127.0.0.1', 'head'],
      ['127.0.0.1', 'body'],
    ],
    'logged with the client address and the part that stalled',
  );
});
