// DVB text strings: ETSI EN 300 468 Annex A.
//
// The first byte of a text field selects its character table (Table A.3):
//   0x20..0xFF  no selector: default table 00 (Figure A.1, ISO/IEC 6937 with € at 0xA4)
//   0x01..0x0B  ISO/IEC 8859-5 .. 8859-15        0x10 0x00 NN  ISO/IEC 8859-NN
//   0x11        ISO/IEC 10646 BMP (UCS-2, big-endian)
//   0x12 KS X 1001 (decoded as EUC-KR), 0x13 GB-2312, 0x14 Big5, 0x15 UTF-8
// Control codes (Table A.1): 0x86/0x87 emphasis on/off, 0x8A CR/LF; in two-byte tables they are
// U+E086, U+E087, U+E08A. On decode, CR/LF becomes '\n' and the other control codes (and C0
// controls other than tab) are dropped.
//
// Default table: ASCII 0x20..0x7E, the ISO 6937 specials at 0xA0..0xFF, and the non-spacing
// diacritics 0xC1..0xCF that prefix a base letter (combined and NFC-normalized).
// ISO 8859-5 (Cyrillic) and 8859-7 (Greek) come from tables here; the other parts use the
// global TextDecoder (WHATWG labels) and fall back to Latin-1 when the runtime lacks them.
//
// Encoding: printable ASCII (with '\n' as 0x8A) goes out with no selector; anything else is
// 0x15 + UTF-8 ('\n' as U+E08A).

const UNDEF = 0xfffd;

// Default table 00, bytes 0xA0..0xFF; 0 marks a diacritic prefix (0xC1..0xCF) or unused.
const TABLE_00_HIGH: readonly number[] = [
  // A0..AF
  0xa0,
  0xa1,
  0xa2,
  0xa3,
  0x20ac,
  0xa5,
  UNDEF,
  0xa7,
  0xa4,
  0x2018,
  0x201c,
  0xab,
  0x2190,
  0x2191,
  0x2192,
  0x2193,
  // B0..BF
  0xb0,
  0xb1,
  0xb2,
  0xb3,
  0xd7,
  0xb5,
  0xb6,
  0xb7,
  0xf7,
  0x2019,
  0x201d,
  0xbb,
  0xbc,
  0xbd,
  0xbe,
  0xbf,
  // C0..CF: C0 unused, C1..CF diacritics
  UNDEF,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  // D0..DF
  0x2015,
  0xb9,
  0xae,
  0xa9,
  0x2122,
  0x266a,
  0xac,
  0xa6,
  UNDEF,
  UNDEF,
  UNDEF,
  UNDEF,
  0x215b,
  0x215c,
  0x215d,
  0x215e,
  // E0..EF
  0x2126,
  0xc6,
  0x110,
  0xaa,
  0x126,
  UNDEF,
  0x132,
  0x13f,
  0x141,
  0xd8,
  0x152,
  0xba,
  0xde,
  0x166,
  0x14a,
  0x149,
  // F0..FF
  0x138,
  0xe6,
  0x111,
  0xf0,
  0x127,
  0x131,
  0x133,
  0x140,
  0x142,
  0xf8,
  0x153,
  0xdf,
  0xfe,
  0x167,
  0x14b,
  0xad,
];

/** Combining mark for each ISO 6937 diacritic prefix 0xC1..0xCF (0 = unused). */
const DIACRITICS: readonly number[] = [
  0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0, 0x30a, 0x327, 0, 0x30b, 0x328, 0x30c,
];

/** ISO/IEC 8859-5, bytes 0xA0..0xFF: Cyrillic block U+0400 + (b - 0xA0) with four exceptions. */
function iso8859_5(): number[] {
  const t: number[] = [];
  for (let b = 0xa0; b <= 0xff; b++) {
    if (b === 0xa0 || b === 0xad) t.push(b);
    else if (b === 0xf0) t.push(0x2116);
    else if (b === 0xfd) t.push(0xa7);
    else t.push(0x400 + b - 0xa0);
  }
  return t;
}

/** ISO/IEC 8859-7:2003, bytes 0xA0..0xFF: Greek block U+0384 + (b - 0xB4) from 0xB4 on. */
function iso8859_7(): number[] {
  const low = [
    0xa0,
    0x2018,
    0x2019,
    0xa3,
    0x20ac,
    0x20af,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0x37a,
    0xab,
    0xac,
    0xad,
    UNDEF,
    0x2015,
    0xb0,
    0xb1,
    0xb2,
    0xb3,
  ];
  const t = [...low];
  for (let b = 0xb4; b <= 0xff; b++) {
    if (b === 0xb7 || b === 0xbb || b === 0xbd) t.push(b);
    else if (b === 0xd2 || b === 0xff) t.push(UNDEF);
    else t.push(0x384 + b - 0xb4);
  }
  return t;
}

const partCache = new Map<number, readonly number[]>();

/** Code points of bytes 0xA0..0xFF of ISO/IEC 8859-`part` (Latin-1 when unknown here). */
export function iso8859High(part: number): readonly number[] {
  const hit = partCache.get(part);
  if (hit) return hit;
  let t: number[];
  if (part === 5) t = iso8859_5();
  else if (part === 7) t = iso8859_7();
  else {
    t = [];
    const bytes = new Uint8Array(96);
    for (let i = 0; i < 96; i++) bytes[i] = 0xa0 + i;
    let s: string | undefined;
    if (part >= 2 && part <= 16) {
      try {
        s = new TextDecoder(`iso-8859-${part}`).decode(bytes);
      } catch {
        s = undefined;
      }
    }
    for (let i = 0; i < 96; i++) t.push(s && s.length === 96 ? s.charCodeAt(i) : 0xa0 + i);
  }
  partCache.set(part, t);
  return t;
}

function isControl(cp: number): boolean {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xe080 && cp <= 0xe09f);
}

/** Applies the control-code rules to decoded text: CR/LF → '\n', others dropped. */
function cleanControls(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0x8a || cp === 0xe08a) out += '\n';
    else if (isControl(cp) || (cp < 0x20 && cp !== 0x09 && cp !== 0x0a)) continue;
    else out += ch;
  }
  return out;
}

function decodeDefault(b: Uint8Array): string {
  let out = '';
  let mark = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    let cp: number;
    if (c < 0xa0) cp = c;
    else if (c >= 0xc1 && c <= 0xcf) {
      mark = DIACRITICS[c - 0xc1];
      continue;
    } else cp = TABLE_00_HIGH[c - 0xa0];
    out += String.fromCodePoint(cp);
    if (mark) out += String.fromCodePoint(mark);
    mark = 0;
  }
  return out.normalize('NFC');
}

function decodeSingleByte(b: Uint8Array, high: readonly number[]): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    out += String.fromCharCode(c < 0xa0 ? c : high[c - 0xa0]);
  }
  return out;
}

function decodeWith(label: string, b: Uint8Array): string {
  try {
    return new TextDecoder(label).decode(b);
  } catch {
    return decodeSingleByte(b, iso8859High(1));
  }
}

/** Decodes a DVB text field (the bytes of e.g. service_name, selector included). */
export function decodeDvbText(b: Uint8Array): string {
  if (b.length === 0) return '';
  const sel = b[0];
  let text: string;
  if (sel >= 0x20) text = decodeDefault(b);
  else if (sel >= 0x01 && sel <= 0x0b) text = decodeSingleByte(b.subarray(1), iso8859High(sel + 4));
  else if (sel === 0x10) text = decodeSingleByte(b.subarray(3), iso8859High(b[2] ?? 1));
  else if (sel === 0x11) text = decodeWith('utf-16be', b.subarray(1, 1 + ((b.length - 1) & ~1)));
  else if (sel === 0x12) text = decodeWith('euc-kr', b.subarray(1));
  else if (sel === 0x13) text = decodeWith('gb2312', b.subarray(1));
  else if (sel === 0x14) text = decodeWith('big5', b.subarray(1));
  else if (sel === 0x15) text = decodeWith('utf-8', b.subarray(1));
  else if (sel === 0x1f)
    text = decodeDefault(b.subarray(2)); // encoding_type_id: unsupported
  else text = decodeDefault(b.subarray(1)); // reserved selector
  return cleanControls(text);
}

const utf8 = new TextEncoder();

/** True when s is sent in the default table with no selector: printable ASCII and '\n'. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 || c > 0x7e) && c !== 0x0a) return false;
  }
  return true;
}

/**
 * Encodes s as a DVB text field. With maxBytes, the result is cut to at most that many bytes
 * at a character boundary (a descriptor field holds at most 255).
 */
export function encodeDvbText(s: string, maxBytes = Infinity): Uint8Array {
  if (s.length === 0) return new Uint8Array(0);
  if (isPlainAscii(s)) {
    const n = Math.min(s.length, maxBytes);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      out[i] = c === 0x0a ? 0x8a : c;
    }
    return out;
  }
  if (maxBytes < 2) return new Uint8Array(0);
  const parts: Uint8Array[] = [Uint8Array.of(0x15)];
  let used = 1;
  for (const ch of s) {
    const enc = ch === '\n' ? Uint8Array.of(0xee, 0x82, 0x8a) : utf8.encode(ch);
    if (used + enc.length > maxBytes) break;
    parts.push(enc);
    used += enc.length;
  }
  const out = new Uint8Array(used);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
