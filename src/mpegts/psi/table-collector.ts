// Collects the sections of one table (all section_numbers of one version) and reports the
// table when it is complete and new. ISO/IEC 13818-1 §2.4.4.4 (version_number, current_next,
// section_number/last_section_number). Sections with current_next_indicator = 0 describe a
// future table and are ignored until they become current.

import { parseSectionHeader } from './section.js';

interface Pending {
  version: number;
  last: number;
  parts: (Uint8Array | undefined)[];
  have: number;
  /** Version of the last complete table delivered, -1 if none. */
  delivered: number;
  /** CRC of each section last delivered, to notice a changed table that kept its version. */
  deliveredSections: Uint8Array[] | null;
}

export class TableCollector {
  private readonly tables = new Map<number, Pending>();

  /**
   * Offers a section (CRC already checked). Returns all sections of the table, in
   * section_number order, when this section completes a version not delivered before;
   * otherwise null. The key separates tables by table_id and table_id_extension.
   */
  push(section: Uint8Array, extraKey = 0): Uint8Array[] | null {
    const h = parseSectionHeader(section);
    if (!h.currentNext) return null;
    const key = h.tableId * 0x1_0000_0000 + h.tableIdExtension * 0x10000 + (extraKey & 0xffff);
    let t = this.tables.get(key);
    if (!t) {
      t = { version: -1, last: -1, parts: [], have: 0, delivered: -1, deliveredSections: null };
      this.tables.set(key, t);
    }
    if (t.version !== h.version || t.last !== h.lastSectionNumber) {
      t.version = h.version;
      t.last = h.lastSectionNumber;
      t.parts = new Array(h.lastSectionNumber + 1);
      t.have = 0;
    }
    if (h.sectionNumber > t.last) return null;
    if (!t.parts[h.sectionNumber]) t.have++;
    t.parts[h.sectionNumber] = section;
    if (t.have !== t.last + 1) return null;
    const sections = t.parts as Uint8Array[];
    if (t.delivered === t.version && sameSections(t.deliveredSections, sections)) return null;
    t.delivered = t.version;
    t.deliveredSections = sections.slice();
    t.parts = new Array(t.last + 1);
    t.have = 0;
    return sections;
  }

  reset(): void {
    this.tables.clear();
  }
}

function sameSections(a: Uint8Array[] | null, b: Uint8Array[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    // The CRC_32 is the last 4 bytes: equal CRCs on equal lengths mean equal content here.
    for (let k = x.length - 4; k < x.length; k++) if (x[k] !== y[k]) return false;
  }
  return true;
}
