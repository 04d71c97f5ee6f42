// RTCP APP "SES1" (RFC 3550 §6.7, SAT>IP 1.2.2 §3.5.7) → TunerStatus, on packets built by
// hand byte by byte.
import t from 'tap';
import {
  buildSes1,
  findSes1,
  parseRtcpStatus,
  parseSes1,
  tunerStatus,
} from '../../../../src/headend/tuners/satip/rtcp-status.js';

const SAT = 'ver=1.0;src=1;tuner=1,70,1,15,11914,h,dvbs2,qpsk,off,0.35,27500,910;pids=32,767,770';

/** An APP packet: V=2 subtype 0, PT 204, length, SSRC, "SES1", identifier, string length. */
function app(text: string, name = 'SES1'): number[] {
  const s = [...Buffer.from(text, 'latin1')];
  while ((s.length & 3) !== 0) s.push(0);
  const words = (16 + s.length) / 4 - 1;
  return [
    ...[0x80, 204, words >> 8, words & 0xff],
    ...[0x12, 0x34, 0x56, 0x78],
    ...[...name].map((c) => c.charCodeAt(0)),
    ...[0x00, 0x00, text.length >> 8, text.length & 0xff],
    ...s,
  ];
}

/** A sender report with no report blocks (PT 200, length 6). */
const SR = [
  ...[0x80, 200, 0x00, 0x06],
  ...[0x12, 0x34, 0x56, 0x78],
  ...[0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  ...[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
];

t.test('SR + APP compound: the satellite string', async (t) => {
  const d = Uint8Array.from([...SR, ...app(SAT)]);
  t.equal(findSes1(d, 0, d.length), SAT);
  const r = parseRtcpStatus(d, 0, d.length);
  t.match(r, {
    version: '1.0',
    src: 1,
    feId: 1,
    level: 70,
    lock: true,
    quality: 15,
    pids: '32,767,770',
  });
  t.same(r?.tuning.slice(0, 3), ['11914', 'h', 'dvbs2']);
  t.same(tunerStatus(r!, 1234), {
    lock: true,
    signal: { value: 27.5, unit: '%' },
    snr: { value: 100, unit: '%' },
    at: 1234,
  });
});

t.test('inside a larger buffer, at an offset', async (t) => {
  const pkt = [...SR, ...app(SAT)];
  const d = Uint8Array.from([0xaa, 0xbb, 0xcc, ...pkt, 0xdd]);
  t.equal(findSes1(d, 3, pkt.length), SAT);
});

t.test('terrestrial and cable strings, no lock', async (t) => {
  const terr = parseSes1('ver=1.1;tuner=2,0,0,0,506,8,dvbt2,32k,256qam,1128,23,0,0,0;pids=0,16');
  t.match(terr, { version: '1.1', feId: 2, level: 0, lock: false, quality: 0 });
  t.equal(terr?.src, undefined);
  t.same(tunerStatus(terr!, 0), {
    lock: false,
    signal: { value: 0, unit: '%' },
    snr: { value: 0, unit: '%' },
    at: 0,
  });
  const cab = parseSes1('ver=1.2;tuner=3,255,1,8,346,8,dvbc,256qam,6900,0,0,0,0;pids=all');
  t.match(cab, { level: 255, lock: true, quality: 8, pids: 'all' });
  t.same(tunerStatus(cab!, 0).snr, { value: 53.3, unit: '%' });
});

t.test('what is not a SES1 report', async (t) => {
  const cases: [string, number[]][] = [
    ['an SR alone', SR],
    ['an APP of another name', app(SAT, 'XYZ1')],
    ['version 1', [0x40, ...app(SAT).slice(1)]],
    ['length past the end', [...app(SAT)].slice(0, 30)],
  ];
  for (const [name, bytes] of cases) {
    const d = Uint8Array.from(bytes);
    t.equal(parseRtcpStatus(d, 0, d.length), null, name);
  }
  t.equal(parseSes1('ver=1.0;src=1;pids=0'), null, 'no tuner=');
  t.equal(parseSes1('ver=1.0;tuner=1,300,1,15'), null, 'level over 255');
  t.equal(parseSes1('ver=1.0;tuner=1,70,2,15'), null, 'lock neither 0 nor 1');
  t.equal(parseSes1('ver=1.0;tuner=1,70,1,16'), null, 'quality over 15');
  t.equal(parseSes1('ver=1.0;tuner=1,x,1,15'), null, 'not a number');
});

t.test('buildSes1 writes the layout built by hand above', async (t) => {
  t.same([...buildSes1(0x12345678, SAT)], app(SAT));
  t.same([...buildSes1(0x12345678, 'ver=1.0')], app('ver=1.0'));
});
