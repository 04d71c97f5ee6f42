// Unit tests of SAP packets (RFC 2974 §3), the re-announcement interval (§3.1) and the
// per-channel session descriptions (RFC 4566), against hand-computed bytes.
import t from 'tap';
import { decodeSap, encodeSap, msgIdHash, originLine } from '../../src/headend/sap/packet.js';
import { sapBaseIntervalMs, sapIntervalMs } from '../../src/headend/sap/interval.js';
import { sapSession, type SapChannel } from '../../src/headend/sap/session.js';

const SDP =
  'v=0\r\no=- 42 7 IN IP4 192.0.2.10\r\ns=News\r\nc=IN IP4 239.1.1.1/4\r\nt=0 0\r\nm=video 5000 udp mpeg\r\n';

t.test('announcement header, bit by bit', async (t) => {
  const p = encodeSap({ deletion: false, source: '192.0.2.10', sdp: SDP, msgIdHash: 0xbeef });
  // Byte 0: V=001, A=0, R=0, T=0, E=0, C=0 → 0010 0000.
  t.equal(p[0], 0b0010_0000);
  t.equal(p[0]! >> 5, 1, 'V = 1');
  t.equal((p[0]! >> 4) & 1, 0, 'A = 0 (IPv4 origin)');
  t.equal((p[0]! >> 3) & 1, 0, 'R = 0');
  t.equal((p[0]! >> 2) & 1, 0, 'T = 0 (announcement)');
  t.equal((p[0]! >> 1) & 1, 0, 'E = 0');
  t.equal(p[0]! & 1, 0, 'C = 0');
  t.equal(p[1], 0, 'auth len 0');
  t.same([p[2], p[3]], [0xbe, 0xef], 'msg id hash, network order');
  t.same([...p.subarray(4, 8)], [192, 0, 2, 10], 'originating source');
  const type = Buffer.from('application/sdp\0', 'ascii');
  t.ok(p.subarray(8, 8 + type.length).equals(type), 'payload type, NUL-terminated');
  t.equal(p.subarray(8 + type.length).toString('utf8'), SDP, 'the SDP follows');
  t.equal(p.length, 8 + 16 + Buffer.byteLength(SDP));
});

t.test('deletion: T=1 and the o= line as payload', async (t) => {
  const p = encodeSap({ deletion: true, source: '10.1.2.3', sdp: SDP });
  t.equal(p[0], 0b0010_0100);
  t.equal((p[0]! >> 2) & 1, 1, 'T = 1');
  t.equal(p.readUInt16BE(2), msgIdHash(SDP), 'same hash as the announcement it deletes');
  const m = decodeSap(p);
  if (typeof m === 'string') throw new Error(m);
  t.same(m, {
    deletion: true,
    msgIdHash: msgIdHash(SDP),
    source: '10.1.2.3',
    payloadType: 'application/sdp',
    payload: 'o=- 42 7 IN IP4 192.0.2.10\r\n',
  });
  t.equal(originLine(SDP), 'o=- 42 7 IN IP4 192.0.2.10');
});

t.test('msg id hash: stable, 16 bits, non-zero, changes with the description', async (t) => {
  const h = msgIdHash(SDP);
  t.equal(msgIdHash(SDP), h);
  t.ok(h > 0 && h <= 0xffff);
  t.not(msgIdHash(SDP.replace('s=News', 's=News 2')), h);
  const a = encodeSap({ deletion: false, source: '192.0.2.10', sdp: SDP });
  const b = encodeSap({ deletion: false, source: '192.0.2.10', sdp: SDP });
  t.ok(a.equals(b), 'identical bytes for the same description');
});

t.test('decoder refuses what is not SAPv1/IPv4 plain', async (t) => {
  t.type(decodeSap(Buffer.alloc(4)), 'string');
  t.match(decodeSap(Buffer.from([0x40, 0, 0, 1, 1, 2, 3, 4])), /version 2/);
  t.match(decodeSap(Buffer.from([0x30, 0, 0, 1, 1, 2, 3, 4])), /IPv6/);
  t.match(decodeSap(Buffer.from([0x21, 0, 0, 1, 1, 2, 3, 4])), /compressed/);
  t.throws(() => encodeSap({ deletion: false, source: 'eth0', sdp: SDP }));
});

t.test('interval (RFC 2974 §3.1): max(300 s, 8·N·size/4000) ±1/3', async (t) => {
  t.equal(sapBaseIntervalMs(1, 300), 300_000, 'few small ads: the 300 s floor');
  // 1000 ads of 500 bytes: 8·1000·500/4000 = 1000 s.
  t.equal(sapBaseIntervalMs(1000, 500), 1_000_000);
  t.equal(sapIntervalMs(1000, 500, 0), Math.round(1_000_000 - 1_000_000 / 3), 'lowest: −1/3');
  t.equal(sapIntervalMs(1000, 500, 0.5), 1_000_000, 'middle: the base');
  t.ok(
    sapIntervalMs(1000, 500, 0.999999) <= Math.round(1_000_000 + 1_000_000 / 3),
    'highest: +1/3',
  );
  t.equal(sapIntervalMs(2, 400, 0), 200_000);
});

const channel = (over: Partial<SapChannel> = {}): SapChannel => ({
  number: 101,
  name: 'News',
  provider: 'Acme',
  slug: 'news',
  output: {
    protocol: 'udp',
    group: '239.255.50.1',
    port: 5000,
    ttl: 4,
    tos: 0,
    interface: '127.0.0.1',
    packetsPerDatagram: 7,
  },
  ...over,
});

t.test('session: SDP of a channel, stable ids, unicast not announced', async (t) => {
  const s = sapSession(channel(), '192.0.2.10');
  if (!s) throw new Error('no session');
  t.match(s.sdp, /^v=0\r\no=- \d+ \d+ IN IP4 192\.0\.2\.10\r\ns=News\r\n/);
  t.match(s.sdp, /\r\nc=IN IP4 239\.255\.50\.1\/4\r\n/);
  t.match(s.sdp, /\r\nm=video 5000 udp mpeg\r\n/);
  t.same(sapSession(channel(), '192.0.2.10'), s, 'same channel → same SDP and hash');
  const rtp = sapSession(
    channel({ output: { ...channel().output, protocol: 'rtp' } }),
    '192.0.2.10',
  )!;
  t.match(rtp.sdp, /\r\nm=video 5000 RTP\/AVP 33\r\na=rtpmap:33 MP2T\/90000\r\n/);
  const renamed = sapSession(channel({ name: 'News 24' }), '192.0.2.10')!;
  t.not(renamed.msgIdHash, s.msgIdHash, 'a change gives a new hash');
  t.not(originLine(renamed.sdp), originLine(s.sdp), 'and a new version');
  t.equal(
    originLine(renamed.sdp).split(' ')[1],
    originLine(s.sdp).split(' ')[1],
    'same session id',
  );
  t.equal(
    sapSession(channel({ output: { ...channel().output, group: '192.0.2.99' } }), '192.0.2.10'),
    null,
  );
});
