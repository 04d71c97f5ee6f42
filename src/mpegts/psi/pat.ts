// Program Association Table: ISO/IEC 13818-1 §2.4.4.3, PID 0x0000, table_id 0x00.
//   long section header (table_id_extension = transport_stream_id)
//   { program_number(16) reserved(3) network_PID / program_map_PID(13) }*  (program 0 → NIT PID)
//   CRC_32

import {
  buildLongSection,
  packEntries,
  sectionBody,
  parseSectionHeader,
  concatBytes,
} from './section.js';

export const PAT_PID = 0x0000;
export const PAT_TABLE_ID = 0x00;

export interface PatProgram {
  programNumber: number;
  /** program_map_PID, or network_PID when programNumber is 0. */
  pid: number;
}

export interface Pat {
  transportStreamId: number;
  version: number;
  programs: PatProgram[];
}

/** Parses all sections of one PAT (any order). */
export function parsePat(sections: readonly Uint8Array[]): Pat {
  const h = parseSectionHeader(sections[0]);
  const programs: PatProgram[] = [];
  for (const s of sections) {
    const body = sectionBody(s);
    for (let p = 0; p + 4 <= body.length; p += 4) {
      programs.push({
        programNumber: (body[p] << 8) | body[p + 1],
        pid: ((body[p + 2] & 0x1f) << 8) | body[p + 3],
      });
    }
  }
  return { transportStreamId: h.tableIdExtension, version: h.version, programs };
}

/** Serializes a PAT; more than 253 programs spill into further sections. */
export function serializePat(pat: Pat): Uint8Array[] {
  const entries = pat.programs.map((p) => {
    const e = new Uint8Array(4);
    e[0] = p.programNumber >> 8;
    e[1] = p.programNumber & 0xff;
    e[2] = 0xe0 | ((p.pid >> 8) & 0x1f);
    e[3] = p.pid & 0xff;
    return e;
  });
  const chunks = packEntries(entries, 1024 - 12);
  return chunks.map((c, i) =>
    buildLongSection({
      tableId: PAT_TABLE_ID,
      tableIdExtension: pat.transportStreamId,
      version: pat.version,
      sectionNumber: i,
      lastSectionNumber: chunks.length - 1,
      body: concatBytes(c),
    }),
  );
}
