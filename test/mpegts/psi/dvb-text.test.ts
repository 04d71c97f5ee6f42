import t from 'tap';
import { decodeDvbText, encodeDvbText, iso8859High } from '../../../src/mpegts/psi/dvb-text.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

t.test('default table: printable ASCII, no selector', async (t) => {
  t.equal(decodeDvbText(bytes(...ascii('Das Erste HD'))), 'Das Erste HD');
  t.equal(decodeDvbText(new Uint8Array(0)), '');
});

t.test('default table: ISO 6937 specials and diacritic prefixes', async (t) => {
  // 0xC2 acute + 'e', 0xC8 diaeresis + 'u', 0xCB cedilla + 'c', 0xA4 euro (DVB), 0xFB sharp s
  t.equal(decodeDvbText(bytes(0x43, 0x61, 0x66, 0xc2, 0x65)), 'Café');
  t.equal(decodeDvbText(bytes(0x4d, 0xc8, 0x75, 0x6e, 0x63, 0x68, 0x65, 0x6e)), 'München');
  t.equal(decodeDvbText(bytes(0x47, 0x61, 0xcb, 0x63, 0x6f, 0x6e)), 'Gaçon');
  t.equal(decodeDvbText(bytes(0x35, 0xa4)), '5€');
  t.equal(decodeDvbText(bytes(0x53, 0x74, 0x72, 0x61, 0xfb, 0x65)), 'Straße');
  t.equal(decodeDvbText(bytes(0xd4, 0x20, 0xd3)), '™ ©');
});

t.test('control codes: emphasis dropped, 0x8A is a line break', async (t) => {
  t.equal(decodeDvbText(bytes(0x86, ...ascii('News'), 0x87, 0x8a, ...ascii('at 8'))), 'News\nat 8');
  // the same codes in UTF-8 (U+E086, U+E087, U+E08A) and UCS-2
  const e086 = [0xee, 0x82, 0x86];
  const e087 = [0xee, 0x82, 0x87];
  const e08a = [0xee, 0x82, 0x8a];
  t.equal(decodeDvbText(bytes(0x15, ...e086, 0x41, ...e087, ...e08a, 0x42)), 'A\nB');
  t.equal(decodeDvbText(bytes(0x11, 0xe0, 0x86, 0x00, 0x41, 0xe0, 0x8a, 0x00, 0x42)), 'A\nB');
  t.equal(decodeDvbText(bytes(0x15, 0xc2, 0x8a, 0x41)), '\nA', 'C1 code as U+008A');
});

t.test('ISO 8859-5 (selector 0x01) and 8859-7 (0x03)', async (t) => {
  // "Россия" in 8859-5
  t.equal(decodeDvbText(bytes(0x01, 0xc0, 0xde, 0xe1, 0xe1, 0xd8, 0xef)), 'Россия');
  // "ΕΡΤ" and "ελληνικά" in 8859-7
  t.equal(decodeDvbText(bytes(0x03, 0xc5, 0xd1, 0xd4)), 'ΕΡΤ');
  t.equal(decodeDvbText(bytes(0x03, 0xe5, 0xeb, 0xeb, 0xe7, 0xed, 0xe9, 0xea, 0xdc)), 'ελληνικά');
  t.equal(decodeDvbText(bytes(0x01, 0xf0, 0x20, 0x31)), '№ 1');
});

t.test('built-in 8859-5 / 8859-7 tables agree with TextDecoder', async (t) => {
  const all = new Uint8Array(96);
  for (let i = 0; i < 96; i++) all[i] = 0xa0 + i;
  for (const part of [5, 7]) {
    const ref = new TextDecoder(`iso-8859-${part}`).decode(all);
    const ours = String.fromCharCode(...iso8859High(part));
    for (let i = 0; i < 96; i++) {
      if (ours.charCodeAt(i) === 0xfffd) continue; // unassigned
      t.equal(ours.charCodeAt(i), ref.charCodeAt(i), `8859-${part} 0x${(0xa0 + i).toString(16)}`);
    }
  }
});

t.test('selector 0x10 0x00 NN: ISO 8859-NN', async (t) => {
  t.equal(decodeDvbText(bytes(0x10, 0x00, 0x05, 0xb0)), 'А');
  t.equal(decodeDvbText(bytes(0x10, 0x00, 0x09, 0xdd)), 'İ', '8859-9 Turkish');
  t.equal(decodeDvbText(bytes(0x10, 0x00, 0x01, 0xe9)), 'é');
  t.equal(decodeDvbText(bytes(0x0b, 0xa4)), '€', '0x0B = 8859-15');
});

t.test('selector 0x11: UCS-2 big-endian', async (t) => {
  t.equal(decodeDvbText(bytes(0x11, 0x00, 0x41, 0x04, 0x10, 0x4e, 0x2d)), 'AА中');
});

t.test('selector 0x15: UTF-8', async (t) => {
  const s = 'Ünïcödé 中文 €';
  t.equal(decodeDvbText(Uint8Array.from([0x15, ...new TextEncoder().encode(s)])), s);
});

t.test('encode: ASCII without selector, else 0x15 UTF-8', async (t) => {
  t.same([...encodeDvbText('BBC One')], ascii('BBC One'));
  t.same([...encodeDvbText('a\nb')], [0x61, 0x8a, 0x62]);
  t.same([...encodeDvbText('')], []);
  t.same([...encodeDvbText('é')], [0x15, 0xc3, 0xa9]);
  t.same([...encodeDvbText('x\né')], [0x15, 0x78, 0xee, 0x82, 0x8a, 0xc3, 0xa9]);
});

t.test('encode with maxBytes cuts at a character boundary', async (t) => {
  t.same([...encodeDvbText('abcdef', 3)], ascii('abc'));
  t.same([...encodeDvbText('ééé', 6)], [0x15, 0xc3, 0xa9, 0xc3, 0xa9], 'never half a character');
  t.same([...encodeDvbText('é', 1)], []);
});

t.test('encode → decode round trip', async (t) => {
  for (const s of [
    '',
    'Plain',
    'Line 1\nLine 2',
    'Ελληνικά',
    'Пример',
    '日本語 テレビ',
    'émoji 📺',
  ]) {
    t.equal(decodeDvbText(encodeDvbText(s)), s, JSON.stringify(s));
  }
});
