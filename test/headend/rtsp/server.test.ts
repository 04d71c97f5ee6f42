// The RTSP server's protocol over a raw TCP socket (hand-written requests as in RFC 2326 §14):
// CSeq echo, 404 / 454 / 455 / 459 / 461 / 405 / 501, Session with timeout, 400 with the
// connection surviving, 414 closing it, session limits (503), session expiry. Abuse (random,
// truncated and oversize input, slow and idle clients) is in abuse.test.ts.
// The channel source is a stub (no media): the real-client test covers the streams.
import '../../helpers/private-network.js';
import t, { type Test } from 'tap';
import { createLogger } from '../../../src/headend/log.js';
import { startRtspServer } from '../../../src/headend/rtsp/server.js';
import { sleep } from '../../e2e/helpers.js';
import { Client, StubSource } from './raw-client.js';

async function start(
  t: Test,
  spec: Partial<{
    sessionTimeoutMs: number;
    maxSessions: number;
    maxSessionsPerClient: number;
  }> = {},
  rtpPort = 18000,
) {
  const source = new StubSource();
  const server = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort,
      companionOffset: 0,
      sessionTimeoutMs: 30_000,
      maxSessions: 50,
      maxSessionsPerClient: 10,
      ...spec,
    },
    source,
    log: createLogger({ write: () => undefined }),
    limits: { maxHeaderBytes: 4096 },
  });
  t.teardown(() => server.stop());
  return { server, source };
}

t.test('methods, status codes and CSeq echo', async (t) => {
  const { server, source } = await start(t);
  const c = await Client.open(server);
  t.teardown(() => c.socket.destroy());
  const base = `rtsp://127.0.0.1:${server.address.port}`;
  const o = await c.request('OPTIONS', '*', 1);
  t.same([o.status, o.headers.get('cseq')], [200, '1']);
  t.match(
    o.headers.get('public'),
    /DESCRIBE.*SETUP.*PLAY.*PAUSE.*TEARDOWN.*GET_PARAMETER.*SET_PARAMETER/,
  );
  t.equal((await c.request('DESCRIBE', `${base}/nope`, 2)).status, 404, 'unknown path');
  t.equal((await c.request('DESCRIBE', `${base}/seven/track9`, 3)).status, 404, 'unknown track');
  const d = await c.request('DESCRIBE', `${base}/7`, 4, ['Accept: application/sdp']);
  t.same(
    [d.status, d.headers.get('content-type'), d.headers.get('cseq')],
    [200, 'application/sdp', '4'],
  );
  t.match(d.body, /a=rtpmap:33 MP2T\/90000\r\n/);
  t.match(d.body, /m=video 0 RTP\/AVP 33\r\n/);
  t.match(d.body, new RegExp(`a=control:${base}/7/track1\\r\\n`));
  const dm = await c.request('DESCRIBE', `${base}/seven?multicast`, 5);
  t.match(
    dm.body,
    /c=IN IP4 239\.255\.178\.7\/2\r\n/,
    'multicast SDP names the companion group and TTL',
  );
  t.match(dm.body, /m=video 5000 RTP\/AVP 33/);

  t.equal(
    (await c.request('SETUP', `${base}/seven/track1`, 6, ['Transport: RAW/RAW/UDP;unicast']))
      .status,
    461,
  );
  t.equal(
    (await c.request('SETUP', `${base}/eight/track1`, 7, ['Transport: RTP/AVP;multicast'])).status,
    461,
    'no multicast for a unicast-output channel',
  );
  t.equal((await c.request('SETUP', `${base}/seven/track1`, 8, [])).status, 400, 'no Transport');
  t.equal(
    (
      await c.request('SETUP', `${base}/seven/track1`, 9, [
        'Session: FFFF',
        'Transport: RTP/AVP/TCP;interleaved=0-1',
      ])
    ).status,
    454,
  );
  const s = await c.request('SETUP', `${base}/seven/track1`, 10, [
    'Transport: RTP/AVP;unicast;client_port=40000-40001',
  ]);
  t.equal(s.status, 200);
  t.match(s.headers.get('session'), /^[0-9A-F]{16};timeout=30$/, 'Session with timeout');
  t.equal(
    s.headers.get('transport'),
    'RTP/AVP;unicast;client_port=40000-40001;server_port=18000-18001;ssrc=0000CAFE',
  );
  const sid = s.headers.get('session')!.split(';')[0];
  t.equal(
    (
      await c.request('SETUP', `${base}/eight/track1`, 11, [
        `Session: ${sid}`,
        'Transport: RTP/AVP/TCP',
      ])
    ).status,
    459,
    'another channel into the session',
  );
  t.equal((await c.request('PLAY', `${base}/seven`, 12)).status, 454, 'PLAY without Session');
  t.equal(
    (await c.request('PLAY', `${base}/eight`, 13, [`Session: ${sid}`])).status,
    459,
    'PLAY of another channel',
  );
  const p = await c.request('PLAY', `${base}/seven`, 14, [`Session: ${sid}`]);
  t.equal(p.status, 200);
  t.match(
    p.headers.get('rtp-info'),
    new RegExp(`^url=${base}/seven/track1;seq=1234;rtptime=\\d+$`),
  );
  t.same(
    [...source.dest.values()],
    [{ id: sid, address: '127.0.0.1', port: 40000, ttl: 64 }],
    'unicast destination added',
  );
  t.equal(
    (
      await c.request('SETUP', `${base}/seven/track1`, 15, [
        `Session: ${sid}`,
        'Transport: RTP/AVP/TCP',
      ])
    ).status,
    455,
    'SETUP while playing',
  );
  t.equal(
    (await c.request('GET_PARAMETER', `${base}/seven`, 16, [`Session: ${sid}`])).status,
    200,
    'keep-alive',
  );
  t.equal((await c.request('SET_PARAMETER', `${base}/seven`, 17, [`Session: ${sid}`])).status, 200);
  c.send(
    `SET_PARAMETER ${base}/seven RTSP/1.0\r\nCSeq: 170\r\nSession: ${sid}\r\nContent-Length: 6\r\n\r\nx: 1\r\n`,
  );
  const sp = await c.response();
  t.same([sp.status, sp.headers.get('cseq')], [451, '170'], 'unknown parameter');
  t.equal((await c.request('PAUSE', `${base}/seven`, 18, [`Session: ${sid}`])).status, 200);
  t.equal(source.dest.size, 0, 'PAUSE stops sending');
  t.same(server.sessions(), { udp: 1, tcp: 0, multicast: 0 });
  t.equal((await c.request('TEARDOWN', `${base}/seven`, 19, [`Session: ${sid}`])).status, 200);
  t.equal(
    (await c.request('TEARDOWN', `${base}/seven`, 20, [`Session: ${sid}`])).status,
    454,
    'gone',
  );
  t.same(server.sessions(), { udp: 0, tcp: 0, multicast: 0 });
  // SAT>IP control URLs (VLC without live555): .../stream=N, and a bare /stream=N by session.
  const sat = await c.request('SETUP', `${base}/seven/stream=1`, 200, [
    'Transport: RTP/AVP;unicast;client_port=40010-40011',
  ]);
  const satId = sat.headers.get('session')!.split(';')[0];
  t.equal(sat.status, 200, 'SETUP .../stream=1');
  t.equal(
    (await c.request('PLAY', `${base}/stream=1`, 201, [`Session: ${satId}`])).status,
    200,
    "PLAY /stream=1 names the session's channel",
  );
  t.equal((await c.request('PLAY', `${base}/stream=1`, 202)).status, 454, 'not without a session');
  t.equal(
    (await c.request('TEARDOWN', `${base}/stream=1`, 203, [`Session: ${satId}`])).status,
    200,
  );
  t.equal((await c.request('RECORD', `${base}/seven`, 21)).status, 405);
  t.equal((await c.request('FROB', `${base}/seven`, 22)).status, 501);

  // Multicast: the companion group is fed from the first PLAY to the last session's end.
  const m1 = await c.request('SETUP', `${base}/seven/track1`, 23, ['Transport: RTP/AVP;multicast']);
  t.equal(
    m1.headers.get('transport'),
    'RTP/AVP;multicast;destination=239.255.178.7;port=5000-5001;ttl=2;ssrc=0000CAFE',
  );
  const c2 = await Client.open(server);
  t.teardown(() => c2.socket.destroy());
  const m2 = await c2.request('SETUP', `${base}/seven/track1`, 1, ['Transport: RTP/AVP;multicast']);
  const [id1, id2] = [m1, m2].map((r) => r.headers.get('session')!.split(';')[0]);
  await c.request('PLAY', `${base}/seven`, 24, [`Session: ${id1}`]);
  await c2.request('PLAY', `${base}/seven`, 2, [`Session: ${id2}`]);
  t.same(
    [...source.dest.values()],
    [{ id: 'rtsp-multicast', address: '239.255.178.7', port: 5000, ttl: 2 }],
  );
  await c.request('TEARDOWN', `${base}/seven`, 25, [`Session: ${id1}`]);
  t.equal(source.dest.size, 1, 'still fed for the second session');
  await c2.request('TEARDOWN', `${base}/seven`, 3, [`Session: ${id2}`]);
  t.equal(source.dest.size, 0, 'companion stops with the last session');
});

t.test(
  'bad input: 400 and the connection survives; 414 closes; pipelining keeps order',
  async (t) => {
    const { server } = await start(t, {}, 18010);
    const c = await Client.open(server);
    t.teardown(() => c.socket.destroy());
    c.send(
      'HELLO\r\nCSeq: 5\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 6\r\n\r\nOPTIONS * RTSP/1.0\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 8\r\n\r\n',
    );
    const r = [await c.response(), await c.response(), await c.response(), await c.response()];
    t.same(
      r.map((x) => [x.status, x.headers.get('cseq')]),
      [
        [400, '5'],
        [200, '6'],
        [400, undefined],
        [200, '8'],
      ],
    );
    const long = await Client.open(server);
    long.send('OPTIONS rtsp://x/' + 'a'.repeat(5000));
    t.equal((await long.response()).status, 414);
    await new Promise((res) => (long.closed ? res(null) : long.socket.once('close', res)));
    t.ok(long.closed, 'closed after an unbounded request line');
    t.equal((await c.request('OPTIONS', '*', 9)).status, 200, 'the other connection still served');
  },
);

t.test('session limits and expiry', async (t) => {
  const { server, source } = await start(
    t,
    { sessionTimeoutMs: 400, maxSessions: 3, maxSessionsPerClient: 2 },
    18020,
  );
  const c = await Client.open(server);
  t.teardown(() => c.socket.destroy());
  const base = `rtsp://127.0.0.1:${server.address.port}/seven/track1`;
  const tr = (n: number) => [
    `Transport: RTP/AVP;unicast;client_port=${41000 + 2 * n}-${41001 + 2 * n}`,
  ];
  t.equal((await c.request('SETUP', base, 1, tr(0))).status, 200);
  const s2 = await c.request('SETUP', base, 2, tr(1));
  t.equal((await c.request('SETUP', base, 3, tr(2))).status, 503, 'over the per-client limit');
  t.equal(
    (
      await c.request('PLAY', base.replace('/track1', ''), 4, [
        `Session: ${s2.headers.get('session')!.split(';')[0]}`,
      ])
    ).status,
    200,
  );
  t.equal(source.dest.size, 1);
  // No keep-alive: both sessions expire and the destination goes.
  for (let i = 0; i < 100 && server.sessions().udp > 0; i++) await sleep(50);
  t.same(server.sessions(), { udp: 0, tcp: 0, multicast: 0 }, 'sessions expired');
  t.equal(source.dest.size, 0, 'destination removed on expiry');
  t.equal(server.stats().sessionsTimedOut, 2);
});

t.test('stop() leaves nothing running: listener, RTCP socket, connections, sessions', async (t) => {
  const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'UDPWrap'];
  const count = () => {
    const n = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo())
      if (kinds.includes(r)) n.set(r, (n.get(r) ?? 0) + 1);
    return kinds.map((k) => `${k}=${n.get(k) ?? 0}`).join(' ');
  };
  await sleep(50); // the previous tests' handles finish closing
  const before = count();
  const source = new StubSource();
  const server = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort: 18040,
      companionOffset: 0,
      sessionTimeoutMs: 30_000,
      maxSessions: 50,
      maxSessionsPerClient: 10,
    },
    source,
    log: createLogger({ write: () => undefined }),
  });
  const base = `rtsp://127.0.0.1:${server.address.port}/seven`;
  // A playing TCP session, a playing UDP session, a playing multicast session, a half-sent
  // request and an idle connection, all left open.
  const c = await Client.open(server);
  const tcp = await c.request('SETUP', `${base}/track1`, 1, ['Transport: RTP/AVP/TCP']);
  await c.request('PLAY', base, 2, [`Session: ${tcp.headers.get('session')!.split(';')[0]}`]);
  const c2 = await Client.open(server);
  const udp = await c2.request('SETUP', `${base}/track1`, 1, [
    'Transport: RTP/AVP;unicast;client_port=42000-42001',
  ]);
  await c2.request('PLAY', base, 2, [`Session: ${udp.headers.get('session')!.split(';')[0]}`]);
  const mc = await c2.request('SETUP', `${base}/track1`, 3, ['Transport: RTP/AVP;multicast']);
  await c2.request('PLAY', base, 4, [`Session: ${mc.headers.get('session')!.split(';')[0]}`]);
  const c3 = await Client.open(server);
  c3.send('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n');
  const c4 = await Client.open(server);
  t.same(server.sessions(), { udp: 1, tcp: 1, multicast: 1 });
  t.equal(server.stats().connectionsOpen, 4);

  await Promise.all([server.stop(), server.stop()]);
  await Promise.all(
    [c, c2, c3, c4].map(
      (x) => new Promise((r) => (x.closed ? r(null) : x.socket.once('close', r))),
    ),
  );
  t.same(server.sessions(), { udp: 0, tcp: 0, multicast: 0 }, 'sessions ended');
  t.equal(server.stats().connectionsOpen, 0, 'connections closed');
  t.equal(source.dest.size, 0, 'destinations removed');
  t.equal(count(), before, 'no listener, socket or RTCP socket left');
});
