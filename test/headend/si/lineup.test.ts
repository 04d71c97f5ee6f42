// The line-up's NIT (headend/si/lineup.ts): byte-exact against a section built by hand from
// ETSI EN 300 468 §5.2.1 (network_name_descriptor; per transport stream a service_list_descriptor,
// the EACEM private_data_specifier and logical_channel_descriptor 0x83), its version from the
// content, and a change never announced under the old version.
import t from 'tap';
import { Lineup, buildNit, contentVersion, MAX_LCN } from '../../../src/headend/si/lineup.js';
import { crc32Mpeg2 } from '../../../src/mpegts/crc32.js';

const NET = { name: 'Hotel', networkId: 0xff01, timezone: 'UTC', country: null };
const ch = (number: number, serviceType?: number) => ({
  number,
  programNumber: number,
  transportStreamId: number,
  serviceType,
});

t.test('NIT of two channels, byte for byte', async (t) => {
  const [s] = buildNit(NET, [ch(12, 0x02), ch(5)], 9);
  // prettier-ignore
  const body = [
    0x40, 0xb0, 0x00,               // table_id, section_syntax_indicator=1, reserved, length (below)
    0xff, 0x01,                     // network_id
    0xc1 | (9 << 1), 0x00, 0x00,    // version 9, current; section 0 of 0
    0xf0, 0x07, 0x40, 0x05, ...Buffer.from('Hotel'), // network_descriptors_length, name
    0xf0, 0x2e,                     // transport_stream_loop_length = 2 × (6 + 17)
    0x00, 0x05, 0xff, 0x01, 0xf0, 0x11, // ts 5 (lowest LCN first), onid, descriptors 17
    0x41, 0x03, 0x00, 0x05, 0x01,   // service_list: service 5, digital television
    0x5f, 0x04, 0x00, 0x00, 0x00, 0x28, // private_data_specifier EACEM
    0x83, 0x04, 0x00, 0x05, 0xfc, 0x05, // LCN 5, visible
    0x00, 0x0c, 0xff, 0x01, 0xf0, 0x11,
    0x41, 0x03, 0x00, 0x0c, 0x02,   // radio
    0x5f, 0x04, 0x00, 0x00, 0x00, 0x28,
    0x83, 0x04, 0x00, 0x0c, 0xfc, 0x0c,
  ];
  const len = body.length - 3 + 4;
  body[1] = 0xf0 | (len >> 8);
  body[2] = len & 0xff;
  const crc = crc32Mpeg2(Uint8Array.from(body));
  const want = [...body, crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff];
  t.same([...s], want);
});

t.test('numbers above 1023 are listed without an LCN', async (t) => {
  const [s] = buildNit(NET, [ch(2000)], 0);
  t.notOk(Buffer.from(s).includes(Buffer.from([0x83, 0x04])), 'no 0x83 descriptor');
  t.ok(Buffer.from(s).includes(Buffer.from([0x41, 0x03, 0x07, 0xd0, 0x01])), 'in the service list');
  t.same(Lineup.withoutLcn([ch(1), ch(MAX_LCN), ch(MAX_LCN + 1)]), [MAX_LCN + 1]);
});

t.test(
  'version: from the content, stable, bumped when a change lands on the same number',
  async (t) => {
    const a = new Lineup(NET, [ch(1), ch(2)]);
    const b = new Lineup(NET, [ch(2), ch(1)]);
    t.equal(
      a.version,
      contentVersion(buildNit(NET, [ch(1), ch(2)], 0)),
      'CRC of the content mod 32',
    );
    t.equal(b.version, a.version, 'the same line-up: the same version (a restart, another node)');
    t.same(b.sections, a.sections);
    t.equal(a.update(NET, [ch(1), ch(2)]), false, 'no change: no new version');
    // Find a line-up whose own version equals the current one: the change must still move it.
    let n = 3;
    while (contentVersion(buildNit(NET, [ch(1), ch(2), ch(n)], 0)) !== a.version) n++;
    const before = a.version;
    t.equal(a.update(NET, [ch(1), ch(2), ch(n)]), true);
    t.equal(a.version, (before + 1) & 0x1f, `a clash (channel ${n}) takes the next version`);
    t.equal((a.sections[0][5] >> 1) & 0x1f, a.version, 'the sections carry it');
  },
);

t.test('hd_lcn: an HD simulcast LCN (0x88) after the LCN, in the same EACEM scope', async (t) => {
  const [s] = buildNit(NET, [{ ...ch(105), hdLcn: 5 }], 0);
  // ts 105: service list, EACEM specifier, LCN 105, HD simulcast LCN 5
  const loop = Buffer.from(s).toString('hex');
  t.match(
    loop,
    '41030069015f0400000028830400' + '69fc69' + '88040069fc05',
    'descriptors of the transport stream, in writer order',
  );
});
