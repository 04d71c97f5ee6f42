import t from 'tap';
import { TS_PACKET_SIZE } from '../../../src/mpegts/packet.js';
import { buildShortSection, packetizeSections } from '../../../src/mpegts/psi/section.js';
import { serializePat } from '../../../src/mpegts/psi/pat.js';
import { analyze, buildMux, check, failing, indexesOf } from './helpers.js';

t.test('3.5.a SDT actual missing for more than 2 s once it has been seen', async (t) => {
  const m = buildMux({ sdtMs: 500, omit: (item, s) => item === 'sdt' && s > 4 && s < 6.6 });
  const r = analyze(m.bytes);
  t.same(failing(r), { '3.5.a': 1 });
  t.match(check(r, '3.5.a').detail, 'SDT actual');
});

t.test('3.2 the same SI section again within 25 ms is a warning', async (t) => {
  const r = analyze(buildMux({ sdtMs: 10, durationSec: 2 }).bytes);
  t.same(failing(r), {});
  t.ok((check(r, '3.2').warnings ?? 0) > 150);
});

t.test('3.5.a another table_id on the SDT PID', async (t) => {
  const m = buildMux({ durationSec: 3 });
  const b = m.bytes.slice();
  const pat = packetizeSections(
    serializePat({ transportStreamId: 1, version: 0, programs: [] }),
    0x11,
  );
  b.set(pat, indexesOf(m, (p) => p.item === 'null')[100] * TS_PACKET_SIZE);
  const r = analyze(b);
  t.same(failing(r), { '3.5.a': 1 });
  t.match(check(r, '3.5.a').detail, 'table_id 0x00 on PID 0x0011');
});

t.test('3.8 TDT missing for more than 30 s', async (t) => {
  const m = buildMux({ durationSec: 40 });
  const b = m.bytes.slice();
  const tdt = packetizeSections(
    [buildShortSection(0x70, Uint8Array.of(0xe0, 0x00, 0x12, 0, 0), false)],
    0x14,
  );
  const nulls = indexesOf(m, (p) => p.item === 'null');
  let cc = 0;
  for (let s = 0; s < 5; s++) {
    const i = nulls.find((k) => m.meta[k].tNs >= s * 1e9) as number;
    b.set(tdt, i * TS_PACKET_SIZE);
    b[i * TS_PACKET_SIZE + 3] = (b[i * TS_PACKET_SIZE + 3] & 0xf0) | cc++;
  }
  const r = analyze(b);
  t.same(failing(r), { '3.8': 1 }, 'last TDT at 4 s, timer runs out at 34 s');
  t.ok(Math.abs((check(r, '3.8').firstAtSec ?? 0) - 34) < 0.02);
});

t.test('3.4 a PID no PMT refers to', async (t) => {
  const r = analyze(buildMux({ durationSec: 3, extraPid: 0x300 }).bytes);
  t.same(failing(r), { '3.4': 1 });
  t.equal(r.pids.find((p) => p.pid === 0x300)?.label, 'unreferenced');
});
