// The TR 101 290 check table and its counters. ETSI TR 101 290 §5.2.1 (first priority:
// necessary for de-codability), §5.2.2 (second priority: recommended continuous monitoring),
// §5.2.3 (third priority: application dependent monitoring).
//
// Counters are typed arrays indexed by the CK constants so the packet loop counts an error
// with two array writes. Per-check "notes" (which PID, which table) are kept in small maps
// that are only touched on the error path.

import type { Check } from './report.js';

export interface CheckDef {
  id: string;
  name: string;
  priority: 1 | 2 | 3;
  /** True when the check reports a warnings figure (softer limit). */
  warns?: boolean;
}

export const CHECK_DEFS: readonly CheckDef[] = [
  { id: '1.1', name: 'TS_sync_loss', priority: 1 },
  { id: '1.2', name: 'Sync_byte_error', priority: 1 },
  { id: '1.3', name: 'PAT_error', priority: 1 },
  { id: '1.4', name: 'Continuity_count_error', priority: 1 },
  { id: '1.5', name: 'PMT_error', priority: 1 },
  { id: '1.6', name: 'PID_error', priority: 1 },
  { id: '2.1', name: 'Transport_error', priority: 2 },
  { id: '2.2', name: 'CRC_error', priority: 2 },
  { id: '2.3a', name: 'PCR_repetition_error', priority: 2 },
  { id: '2.3b', name: 'PCR_discontinuity_indicator_error', priority: 2 },
  { id: '2.4', name: 'PCR_accuracy_error', priority: 2 },
  { id: '2.5', name: 'PTS_error', priority: 2 },
  { id: '2.6', name: 'CAT_error', priority: 2 },
  { id: '3.1.a', name: 'NIT_actual_error', priority: 3 },
  { id: '3.2', name: 'SI_repetition_error', priority: 3, warns: true },
  { id: '3.4', name: 'Unreferenced_PID', priority: 3 },
  { id: '3.5.a', name: 'SDT_actual_error', priority: 3 },
  { id: '3.6.a', name: 'EIT_actual_error', priority: 3 },
  { id: '3.8', name: 'TDT_error', priority: 3 },
];

/** Indexes into CHECK_DEFS and the counters. */
export const CK = {
  SYNC_LOSS: 0,
  SYNC_BYTE: 1,
  PAT: 2,
  CC: 3,
  PMT: 4,
  PID: 5,
  TRANSPORT: 6,
  CRC: 7,
  PCR_REP: 8,
  PCR_DISC: 9,
  PCR_ACC: 10,
  PTS: 11,
  CAT: 12,
  NIT: 13,
  SI_REP: 14,
  UNREF: 15,
  SDT: 16,
  EIT: 17,
  TDT: 18,
} as const;

const N = CHECK_DEFS.length;

export class CheckCounters {
  readonly errors = new Float64Array(N);
  readonly warnings = new Float64Array(N);
  /** Analyzer time (ns) of the first error; NaN before any, -1 when it came with no time. */
  readonly firstNs = new Float64Array(N).fill(NaN);
  /** Per check: key (a PID, a table_id) → count, for the detail text. */
  private readonly notes: (Map<string, number> | undefined)[] = new Array(N);

  error(check: number, nowNs: number, n = 1): void {
    this.errors[check] += n;
    if (Number.isNaN(this.firstNs[check])) this.firstNs[check] = nowNs >= 0 ? nowNs : -1;
  }

  warning(check: number): void {
    this.warnings[check]++;
  }

  /** Remembers what an error was about, e.g. note(CK.CC, 'PID 0x0100'). */
  note(check: number, key: string, n = 1): void {
    let m = this.notes[check];
    if (!m) this.notes[check] = m = new Map();
    m.set(key, (m.get(key) ?? 0) + n);
  }

  noteText(check: number, max = 8): string | undefined {
    const m = this.notes[check];
    if (!m || m.size === 0) return undefined;
    const parts: string[] = [];
    for (const [k, v] of m) {
      if (parts.length === max) {
        parts.push(`+${m.size - max} more`);
        break;
      }
      parts.push(v > 1 ? `${k} ×${v}` : k);
    }
    return parts.join(', ');
  }

  reset(): void {
    this.errors.fill(0);
    this.warnings.fill(0);
    this.firstNs.fill(NaN);
    this.notes.fill(undefined);
  }
}

/** Builds the three priority lists; `override` replaces computed figures for one check. */
export function buildChecks(
  c: CheckCounters,
  override: Map<number, Partial<Check>>,
): { priority1: Check[]; priority2: Check[]; priority3: Check[] } {
  const groups: Check[][] = [[], [], []];
  for (let i = 0; i < N; i++) {
    const d = CHECK_DEFS[i];
    const ch: Check = { id: d.id, name: d.name, errors: c.errors[i] };
    if (d.warns) ch.warnings = c.warnings[i];
    const f = c.firstNs[i];
    if (f >= 0) ch.firstAtSec = f / 1e9;
    const detail = c.noteText(i);
    if (detail !== undefined) ch.detail = detail;
    const o = override.get(i);
    if (o) Object.assign(ch, o);
    if (ch.firstAtSec === undefined) delete ch.firstAtSec;
    if (ch.detail === undefined) delete ch.detail;
    groups[d.priority - 1].push(ch);
  }
  return { priority1: groups[0], priority2: groups[1], priority3: groups[2] };
}
