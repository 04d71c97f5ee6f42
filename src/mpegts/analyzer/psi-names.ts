// Small readers and names for the PSI tracker: table names for error details, CA PIDs
// (ISO/IEC 13818-1 §2.6.16), and the per-stream report with DVB subtitle/teletext languages
// (ETSI EN 300 468 §6.2.41, §6.2.43).

import { languagesOf, type Descriptor } from '../psi/descriptors.js';
import type { Pmt } from '../psi/pmt.js';
import { classifyStream } from '../stream-types.js';
import type { StreamReport } from './report.js';

const TABLE_NAMES: Record<number, string> = {
  0x00: 'PAT',
  0x01: 'CAT',
  0x02: 'PMT',
  0x40: 'NIT',
  0x41: 'NIT other',
  0x42: 'SDT',
  0x46: 'SDT other',
  0x4a: 'BAT',
  0x70: 'TDT',
  0x73: 'TOT',
};
export function tableName(id: number): string {
  if (TABLE_NAMES[id]) return TABLE_NAMES[id];
  if (id >= 0x4e && id <= 0x6f) return 'EIT';
  return 'table 0x' + id.toString(16).padStart(2, '0');
}

/** CA_descriptor (§2.6.16): CA_system_ID(16) reserved(3) CA_PID(13). */
export function caPids(ds: readonly Descriptor[]): number[] {
  const out: number[] = [];
  for (const d of ds)
    if (d.tag === 0x09 && d.data.length >= 4) out.push(((d.data[2] & 0x1f) << 8) | d.data[3]);
  return out;
}

export function streamReport(s: Pmt['streams'][number]): StreamReport {
  const cls = classifyStream(s.streamType, s.descriptors);
  const langs = languagesOf(s.descriptors);
  for (const d of s.descriptors) {
    // subtitling_descriptor 0x59: 8-byte entries; teletext_descriptor 0x56: 5-byte entries
    // (EN 300 468 §6.2.41, §6.2.43), each starting with ISO_639_language_code.
    const step = d.tag === 0x59 ? 8 : d.tag === 0x56 ? 5 : 0;
    if (!step) continue;
    for (let p = 0; p + step <= d.data.length; p += step)
      langs.push(String.fromCharCode(d.data[p], d.data[p + 1], d.data[p + 2]));
  }
  return {
    pid: s.pid,
    streamType: s.streamType,
    kind: cls.kind,
    codec: cls.codec,
    languages: [...new Set(langs)],
  };
}
