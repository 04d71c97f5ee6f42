// RTSP message parsing with every limit (RFC 2326 §6), Transport header parsing and answers
// (§12.39), and the RTCP SR + SDES bytes (RFC 3550 §6.4.1, §6.5). Pure: no sockets.
import t from 'tap';
import { DEFAULT_LIMITS, formatResponse, parseMessage } from '../../../src/headend/rtsp/message.js';
import { chooseTransport, formatTransport } from '../../../src/headend/rtsp/transport.js';
import {
  buildSenderReport,
  isRtcpCompound,
  NTP_UNIX_OFFSET,
  rtpTimeAt,
} from '../../../src/headend/rtsp/rtcp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('parses the RFC 2326 §10.2 DESCRIBE example', (t) => {
  const text =
    'DESCRIBE rtsp://server.example.com/fizzle/foo RTSP/1.0\r\nCSeq: 312\r\nAccept: application/sdp, application/rtsl, application/mheg\r\n\r\n';
  const r = parseMessage(b(text + 'OPTIONS'));
  if (r.kind !== 'request') throw new Error(r.kind);
  t.equal(r.request.method, 'DESCRIBE');
  t.equal(r.request.uri, 'rtsp://server.example.com/fizzle/foo');
  t.equal(r.request.cseq, '312');
  t.equal(r.request.headers.get('accept'), 'application/sdp, application/rtsl, application/mheg');
  t.equal(r.consumed, text.length, 'stops at the end of the message');
  t.end();
});

t.test('bodies, partial input, LF-only lines, interleaved frames', (t) => {
  const text = 'SET_PARAMETER rtsp://h/x RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nab';
  t.same(parseMessage(b(text)), { kind: 'need-more', part: 'body' }, 'waits for the whole body');
  const r = parseMessage(b(text + 'cde'));
  t.equal(r.kind === 'request' && r.request.body.toString(), 'abcde');
  t.same(parseMessage(b('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n')), { kind: 'need-more', part: 'head' });
  const lf = parseMessage(b('OPTIONS * RTSP/1.0\nCSeq: 2\n\n'));
  t.equal(lf.kind === 'request' && lf.request.cseq, '2', 'bare LF line ends');
  const frame = parseMessage(Buffer.from([0x24, 1, 0, 3, 7, 8, 9, 0x4f]));
  t.same(frame.kind === 'interleaved' && [frame.channel, [...frame.data], frame.consumed], [
    1,
    [7, 8, 9],
    7,
  ]);
  t.same(parseMessage(Buffer.from([0x24, 1, 0, 3, 7])), { kind: 'need-more', part: 'frame' });
  t.same(parseMessage(b('\r\n\r\nOPTIONS')), { kind: 'skip', consumed: 4 }, 'blank lines skipped');
  t.end();
});

t.test(
  'malformed requests are 400 (505 for other versions) with the message boundary known',
  (t) => {
    const cases: Array<[string, number]> = [
      ['GARBAGE\r\nCSeq: 3\r\n\r\n', 400],
      ['OPTIONS  * RTSP/1.0\r\nCSeq: 3\r\n\r\n', 400],
      ['OPTIONS * HTTP/1.1\r\nCSeq: 3\r\n\r\n', 400],
      ['OPTIONS * RTSP/2.0\r\nCSeq: 3\r\n\r\n', 505],
      ['OPTIONS * RTSP/1.0\r\n\r\n', 400],
      ['OPTIONS * RTSP/1.0\r\nCSeq: x\r\n\r\n', 400],
      ['OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nno colon here\r\n\r\n', 400],
      ['OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nBad Name: v\r\n\r\n', 400],
    ];
    for (const [text, status] of cases) {
      const r = parseMessage(b(text));
      t.same(
        r.kind === 'error' && [r.status, r.consumed],
        [status, text.length],
        JSON.stringify(text),
      );
    }
    const r = parseMessage(b(cases[6][0]));
    t.equal(r.kind === 'error' && r.cseq, '3', 'CSeq is read even from a bad request, to echo it');
    t.end();
  },
);

t.test('limits: request line, header bytes, header count, body size', (t) => {
  const L = {
    ...DEFAULT_LIMITS,
    maxRequestLine: 100,
    maxHeaderBytes: 400,
    maxHeaders: 5,
    maxBody: 10,
  };
  const long = parseMessage(b('OPTIONS rtsp://h/' + 'a'.repeat(200)), L);
  t.same(
    long.kind === 'error' && [long.status, long.consumed],
    [414, -1],
    'endless request line: 414, close',
  );
  const longDone = parseMessage(
    b(`OPTIONS rtsp://h/${'a'.repeat(120)} RTSP/1.0\r\nCSeq: 1\r\n\r\n`),
    L,
  );
  t.same(longDone.kind === 'error' && longDone.status, 414, 'complete but long request line: 414');
  const big = parseMessage(b('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ' + 'v'.repeat(500)), L);
  t.same(
    big.kind === 'error' && [big.status, big.consumed],
    [400, -1],
    'header over 400 bytes: 400, close',
  );
  const many = 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n' + 'A: 1\r\n'.repeat(5) + '\r\n';
  const m = parseMessage(b(many), L);
  t.same(
    m.kind === 'error' && [m.status, m.consumed],
    [400, many.length],
    'six headers over five: 400, survives',
  );
  const body = parseMessage(
    b('SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 11\r\n\r\n'),
    L,
  );
  t.same(
    body.kind === 'error' && [body.status, body.consumed],
    [413, -1],
    'body over limit: 413, close',
  );
  const neg = parseMessage(
    b('SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n'),
    L,
  );
  t.same(neg.kind === 'error' && neg.status, 400, 'malformed Content-Length');
  t.end();
});

t.test('responses echo CSeq and count the body in bytes', (t) => {
  const r = formatResponse(200, '42', [['Session', 'ABC;timeout=60']], 'é\r\n');
  t.match(r, /^RTSP\/1\.0 200 OK\r\nCSeq: 42\r\n/);
  t.match(r, /\r\nSession: ABC;timeout=60\r\n/);
  t.match(r, /\r\nContent-Length: 4\r\n\r\né\r\n$/);
  t.match(
    formatResponse(461, '7'),
    /^RTSP\/1\.0 461 Unsupported Transport\r\nCSeq: 7\r\n[^]*\r\n\r\n$/,
  );
  t.end();
});

t.test('Transport: the first spec we serve wins; answers as RFC 2326 §12.39 writes them', (t) => {
  t.same(chooseTransport('RTP/AVP;unicast;client_port=4588-4589'), {
    kind: 'udp',
    clientPorts: [4588, 4589],
    record: false,
  });
  t.same(chooseTransport('RTP/AVP/TCP;unicast;interleaved=2-3'), {
    kind: 'tcp',
    interleaved: [2, 3],
    record: false,
  });
  t.same(chooseTransport('RTP/AVP/TCP;unicast'), {
    kind: 'tcp',
    interleaved: [0, 1],
    record: false,
  });
  t.same(chooseTransport('RTP/AVP;multicast;ttl=127;mode="PLAY"'), {
    kind: 'multicast',
    record: false,
  });
  t.same(
    chooseTransport(
      'RTP/SAVP;unicast;client_port=1-2, RAW/RAW/UDP;unicast, RTP/AVP;unicast;client_port=5000',
    ),
    { kind: 'udp', clientPorts: [5000, 5001], record: false },
    'skips what we do not serve; a single port means the pair',
  );
  t.equal(chooseTransport('RTP/AVP;unicast'), undefined, 'unicast UDP without client_port');
  t.equal(chooseTransport('RTP/AVP;unicast;client_port=0-1'), undefined);
  t.equal(chooseTransport('RTP/AVP;unicast;client_port=70000-70001'), undefined);
  t.equal(
    chooseTransport('RTP/AVP;unicast;client_port=5000-5001;mode=record'),
    undefined,
    'we do not record',
  );
  t.equal(chooseTransport('RTP/AVP/TCP;multicast'), undefined);
  t.equal(
    formatTransport({
      kind: 'udp',
      clientPorts: [4588, 4589],
      serverPorts: [6970, 6971],
      ssrc: 0xab,
    }),
    'RTP/AVP;unicast;client_port=4588-4589;server_port=6970-6971;ssrc=000000AB',
  );
  t.equal(
    formatTransport({ kind: 'tcp', interleaved: [0, 1], ssrc: 1 }),
    'RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=00000001',
  );
  t.equal(
    formatTransport({ kind: 'multicast', group: '239.1.2.3', port: 5000, ttl: 4 }),
    'RTP/AVP;multicast;destination=239.1.2.3;port=5000-5001;ttl=4',
  );
  t.end();
});

t.test('RTCP SR + SDES CNAME bytes (RFC 3550 §6.4.1, §6.5)', (t) => {
  const wallMs = 1_700_000_000_500; // .5 s
  const p = buildSenderReport({
    ssrc: 0x11223344,
    wallMs,
    rtpTime: 0x1_0000_0005,
    packets: 7,
    octets: 9212,
    cname: 'ab',
  });
  // SR: 28 bytes; SDES: 4 + 4 + (1 + 1 + 2 + END 1 = 5 → 8) = 16.
  t.equal(p.length, 44);
  t.same([...p.subarray(0, 4)], [0x80, 200, 0, 6], 'V=2 RC=0 PT=200 length=6');
  t.equal(p.readUInt32BE(4), 0x11223344);
  t.equal(p.readUInt32BE(8), 1_700_000_000 + NTP_UNIX_OFFSET, 'NTP seconds since 1900');
  t.equal(p.readUInt32BE(12), 0x80000000, 'NTP fraction .5');
  t.equal(p.readUInt32BE(16), 5, 'RTP time modulo 2^32');
  t.equal(p.readUInt32BE(20), 7);
  t.equal(p.readUInt32BE(24), 9212);
  t.same([...p.subarray(28, 32)], [0x81, 202, 0, 3], 'V=2 SC=1 PT=202 length=3');
  t.equal(p.readUInt32BE(32), 0x11223344);
  t.same([...p.subarray(36, 44)], [1, 2, 0x61, 0x62, 0, 0, 0, 0], 'CNAME "ab", END, padding');
  t.ok(isRtcpCompound(p), 'our own packet passes the validity check');
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
  t.ok(isRtcpCompound(rr), 'an empty RR');
  t.notOk(isRtcpCompound(Buffer.from([0x80, 202, 0, 1, 0, 0, 0, 1])), 'must start with SR or RR');
  t.notOk(isRtcpCompound(Buffer.from([0x80, 201, 0, 2, 0, 0, 0, 1])), 'lengths must add up');
  t.equal(rtpTimeAt(100, 0, 1e9), 90_100, '90 kHz extrapolation');
  t.equal(rtpTimeAt(0xffffffff, 0, 1e9 / 90_000 + 1), 0, 'wraps at 2^32');
  t.end();
});
