// Program Map Table: ISO/IEC 13818-1 §2.4.4.8, table_id 0x02, one section per program.
//   long section header (table_id_extension = program_number)
//   reserved(3) PCR_PID(13) | reserved(4) program_info_length(12) | descriptors
//   { stream_type(8) reserved(3) elementary_PID(13) reserved(4) ES_info_length(12) descriptors }*
//   CRC_32

import { buildLongSection, parseSectionHeader, sectionBody } from './section.js';
import {
  Descriptor,
  descriptorsLength,
  parseDescriptors,
  writeDescriptors,
} from './descriptors.js';

export const PMT_TABLE_ID = 0x02;

export interface PmtStream {
  streamType: number;
  pid: number;
  descriptors: Descriptor[];
}

export interface Pmt {
  programNumber: number;
  version: number;
  pcrPid: number;
  programInfo: Descriptor[];
  streams: PmtStream[];
}

export function parsePmt(section: Uint8Array): Pmt {
  const h = parseSectionHeader(section);
  const b = sectionBody(section);
  const pcrPid = ((b[0] & 0x1f) << 8) | b[1];
  const infoLen = ((b[2] & 0x0f) << 8) | b[3];
  const infoEnd = Math.min(4 + infoLen, b.length);
  const programInfo = parseDescriptors(b, 4, infoEnd);
  const streams: PmtStream[] = [];
  let p = infoEnd;
  while (p + 5 <= b.length) {
    const streamType = b[p];
    const pid = ((b[p + 1] & 0x1f) << 8) | b[p + 2];
    const esLen = ((b[p + 3] & 0x0f) << 8) | b[p + 4];
    const end = Math.min(p + 5 + esLen, b.length);
    streams.push({ streamType, pid, descriptors: parseDescriptors(b, p + 5, end) });
    p = p + 5 + esLen;
  }
  return { programNumber: h.tableIdExtension, version: h.version, pcrPid, programInfo, streams };
}

/** Serializes a PMT into its single section (a PMT may not span sections: §2.4.4.8). */
export function serializePmt(pmt: Pmt): Uint8Array {
  let n = 4 + descriptorsLength(pmt.programInfo);
  for (const s of pmt.streams) n += 5 + descriptorsLength(s.descriptors);
  if (n > 1024 - 12)
    throw new RangeError(`PMT of program ${pmt.programNumber} exceeds one section`);
  const b = new Uint8Array(n);
  b[0] = 0xe0 | ((pmt.pcrPid >> 8) & 0x1f);
  b[1] = pmt.pcrPid & 0xff;
  const infoLen = descriptorsLength(pmt.programInfo);
  b[2] = 0xf0 | ((infoLen >> 8) & 0x0f);
  b[3] = infoLen & 0xff;
  let p = writeDescriptors(b, 4, pmt.programInfo);
  for (const s of pmt.streams) {
    const esLen = descriptorsLength(s.descriptors);
    b[p] = s.streamType;
    b[p + 1] = 0xe0 | ((s.pid >> 8) & 0x1f);
    b[p + 2] = s.pid & 0xff;
    b[p + 3] = 0xf0 | ((esLen >> 8) & 0x0f);
    b[p + 4] = esLen & 0xff;
    p = writeDescriptors(b, p + 5, s.descriptors);
  }
  return buildLongSection({
    tableId: PMT_TABLE_ID,
    tableIdExtension: pmt.programNumber,
    version: pmt.version,
    sectionNumber: 0,
    lastSectionNumber: 0,
    body: b,
  });
}
