// Helpers for PSI/SI table tests: hand-written hex with comments, CRC appending, and the
// sections → TS packets → SectionAssembler path every table must survive.

import { crc32Mpeg2 } from '../../src/mpegts/crc32.js';
import { packetizeSections } from '../../src/mpegts/psi/section.js';
import { SectionAssembler } from '../../src/mpegts/psi/assembler.js';

/** Hex bytes with `//` comments and whitespace ignored. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Appends the CRC_32 (CRC-32/MPEG-2) of the bytes. */
export function withCrc(b: Uint8Array): Uint8Array {
  const c = crc32Mpeg2(b);
  return Uint8Array.from([...b, c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
}

/** Sections → TS packets → SectionAssembler → sections. */
export function throughTs(
  sections: Uint8Array[],
  pid: number,
): { out: Uint8Array[]; faults: string[] } {
  const ts = packetizeSections(sections, pid);
  const out: Uint8Array[] = [];
  const faults: string[] = [];
  const a = new SectionAssembler(pid, {
    onSection: (s) => out.push(s),
    onFault: (f) => faults.push(f),
  });
  for (let o = 0; o < ts.length; o += 188) a.push(ts, o);
  return { out, faults };
}
