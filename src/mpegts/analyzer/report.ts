// Report of the transport-stream analyzer: plain, JSON-serializable data, and a text table.
// Check ids and names follow ETSI TR 101 290 §5.2 (priority 1, 2 and 3 tables);
// the MDI figures follow RFC 4445 §3.

import type { DecodeMarginReport } from './decode-margin.js';

/** One TR 101 290 check. */
export interface Check {
  /** Clause of TR 101 290 §5.2, e.g. '1.4' or '2.3a'. */
  id: string;
  /** Indicator name as the TR spells it, e.g. 'Continuity_count_error'. */
  name: string;
  errors: number;
  /** Checks with a softer limit (SI sections < 25 ms apart) count warnings. */
  warnings?: number;
  /** Analyzer time of the first error (see AnalyzerReport.timeBase); absent when unknown. */
  firstAtSec?: number;
  /** Short human note: which PIDs or tables, largest deviation, why not assessed. */
  detail?: string;
}

export interface StreamReport {
  pid: number;
  streamType: number;
  kind: string;
  codec: string;
  languages: string[];
}

export interface ProgramReport {
  programNumber: number;
  pmtPid: number;
  /** PCR_PID from the PMT, -1 until a PMT has been received. */
  pcrPid: number;
  serviceName?: string;
  providerName?: string;
  streams: StreamReport[];
}

export interface PidReport {
  pid: number;
  /** 'PAT', 'PMT', 'SDT/BAT', 'video h264', 'audio aac', 'PCR', 'null', 'unreferenced'... */
  label: string;
  packets: number;
  bitrate: number;
  ccErrors: number;
  /**
   * Duplicate packets (ISO/IEC 13818-1 §2.4.3.3: same CC, same bytes, sent twice): allowed
   * once, so informational, not a 1.4 error. A third copy is counted in ccErrors instead.
   */
  duplicates: number;
  pcrCount: number;
  scrambled: boolean;
}

export interface MdiInterval {
  /** Start of the interval, seconds after the first arrival. */
  startSec: number;
  /** RFC 4445 delay factor in milliseconds. */
  df_ms: number;
  /** RFC 4445 media loss rate: TS packets lost (CC gaps) in this 1-s interval. */
  mlr: number;
  /** Bits per second received in the interval. */
  bitrate: number;
}

export interface MdiReport {
  intervals: MdiInterval[];
  dfMaxMs: number;
  dfAvgMs: number;
  mlrTotal: number;
}

export interface AnalyzerReport {
  totals: {
    packets: number;
    bytes: number;
    /** Bytes outside any 188-byte packet: garbage, lost sync, truncated packets. */
    bytesSkipped: number;
    /** Allowed duplicate packets, all PIDs (see PidReport.duplicates). */
    duplicatePackets: number;
    durationSec: number;
    /** Bits per second over durationSec, 0 when no duration is known. */
    bitrate: number;
    /**
     * What the analyzer's clock runs on: 'arrival' (push arrival times, 0 = first arrival),
     * 'pcr' (PCR of the first PCR-carrying PID interpolated by byte position, 0 = its first
     * PCR), or 'none' (no PCR and no arrival times: no interval checks were possible).
     */
    timeBase: 'arrival' | 'pcr' | 'none';
    /** Internal analyzer exceptions caught by push()/end(); present only when non-zero. */
    analyzerFaults?: number;
  };
  /**
   * True when the input is not a transport stream: sync (TR 101 290 1.1, five sync bytes 188
   * bytes apart) was never acquired, or less than 5 % of the bytes were in sync. Then
   * programs and pids are empty, every check is 0, and `verdict` says so.
   */
  noTransportStream: boolean;
  /** 'no MPEG transport stream found' when noTransportStream. */
  verdict?: string;
  programs: ProgramReport[];
  pids: PidReport[];
  tr101290: { priority1: Check[]; priority2: Check[]; priority3: Check[] };
  priority1Errors: number;
  priority2Errors: number;
  priority3Errors: number;
  mdi?: MdiReport;
  /** DTS − PCR per video/audio stream (decode-margin.ts); absent when noTransportStream. */
  decodeMargin?: DecodeMarginReport;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
function hex(pid: number): string {
  return '0x' + pid.toString(16).padStart(4, '0');
}
export function formatBitrate(bps: number): string {
  if (bps >= 1e6) return (bps / 1e6).toFixed(3) + ' Mb/s';
  if (bps >= 1e3) return (bps / 1e3).toFixed(1) + ' kb/s';
  return bps.toFixed(0) + ' b/s';
}

/** Renders a report as fixed-width text tables (for the CLI and logs). */
export function formatReport(r: AnalyzerReport): string {
  const out: string[] = [];
  const t = r.totals;
  out.push(
    `Packets ${t.packets}  bytes ${t.bytes}  skipped ${t.bytesSkipped}  ` +
      `duration ${t.durationSec.toFixed(3)} s  bitrate ${formatBitrate(t.bitrate)}  ` +
      `time base ${t.timeBase}`,
  );
  if (r.noTransportStream) {
    const why =
      t.packets === 0
        ? 'sync never acquired (TR 101 290 1.1: five sync bytes 0x47, 188 bytes apart)'
        : `only ${((100 * t.packets * 188) / Math.max(1, t.bytes)).toFixed(2)} % of the bytes ` +
          `in sync (TR 101 290 1.1)`;
    out.push(`No MPEG transport stream found: ${t.bytes === 0 ? 'no data' : why}`);
    return out.join('\n') + '\n';
  }
  for (const p of r.programs) {
    const name = p.serviceName !== undefined ? ` "${p.serviceName}"` : '';
    const prov = p.providerName !== undefined ? ` (${p.providerName})` : '';
    out.push(
      `Program ${p.programNumber}${name}${prov}  PMT ${hex(p.pmtPid)}  PCR ` +
        (p.pcrPid >= 0 ? hex(p.pcrPid) : '-'),
    );
    for (const s of p.streams) {
      const langs = s.languages.length ? ' [' + s.languages.join(',') + ']' : '';
      out.push(
        `  ${hex(s.pid)}  type 0x${s.streamType.toString(16).padStart(2, '0')}  ` +
          `${s.kind} ${s.codec}${langs}`,
      );
    }
  }
  out.push('');
  out.push(
    pad('PID', 8) +
      pad('label', 22) +
      lpad('packets', 10) +
      lpad('bitrate', 14) +
      lpad('CC err', 8) +
      lpad('dup', 6) +
      lpad('PCRs', 8) +
      '  scrambled',
  );
  for (const p of r.pids) {
    out.push(
      pad(hex(p.pid), 8) +
        pad(p.label, 22) +
        lpad(String(p.packets), 10) +
        lpad(formatBitrate(p.bitrate), 14) +
        lpad(String(p.ccErrors), 8) +
        lpad(String(p.duplicates), 6) +
        lpad(String(p.pcrCount), 8) +
        (p.scrambled ? '  yes' : ''),
    );
  }
  out.push('');
  out.push(pad('TR 101 290', 8) + pad('', 36) + lpad('errors', 8) + lpad('warn', 8) + '  first');
  const groups = [r.tr101290.priority1, r.tr101290.priority2, r.tr101290.priority3];
  for (const g of groups) {
    for (const c of g) {
      const first = c.firstAtSec !== undefined ? c.firstAtSec.toFixed(3) + ' s' : '';
      const line =
        pad(c.id, 8) +
        pad(c.name, 36) +
        lpad(String(c.errors), 8) +
        lpad(c.warnings !== undefined ? String(c.warnings) : '', 8) +
        '  ' +
        pad(first, 12) +
        (c.detail ?? '');
      out.push(line.trimEnd());
    }
  }
  if (t.duplicatePackets > 0) {
    out.push(
      `Duplicate packets ${t.duplicatePackets} (sent twice with the same CC: allowed by ` +
        `ISO/IEC 13818-1 §2.4.3.3, not continuity errors)`,
    );
  }
  out.push(
    `Priority 1 errors ${r.priority1Errors}  priority 2 errors ${r.priority2Errors}  ` +
      `priority 3 errors ${r.priority3Errors}`,
  );
  if (r.decodeMargin && r.decodeMargin.streams.length > 0) {
    out.push('');
    formatDecodeMargin(r.decodeMargin, out);
  }
  if (r.mdi) {
    const m = r.mdi;
    out.push('');
    out.push(
      `MDI (RFC 4445) over ${m.intervals.length} s: DF max ${m.dfMaxMs.toFixed(3)} ms  ` +
        `avg ${m.dfAvgMs.toFixed(3)} ms  MLR total ${m.mlrTotal}`,
    );
  }
  return out.join('\n') + '\n';
}

/** The DTS − PCR lines: one heading, one line per stream, with what was out of bounds. */
function formatDecodeMargin(d: DecodeMarginReport, out: string[]): void {
  out.push(
    `Decode margin DTS−PCR (ISO/IEC 13818-1 §2.7.4: 0…${d.maxMarginMs} ms, warning below ` +
      `${d.minMarginMs} ms): errors ${d.errors}  warnings ${d.warnings}`,
  );
  for (const s of d.streams) {
    const faults: string[] = [];
    if (s.late > 0) faults.push(`ERROR ${s.late} late (< 0 ms)`);
    if (s.overLimit > 0) faults.push(`ERROR ${s.overLimit} over ${d.maxMarginMs} ms (T-STD)`);
    if (s.low > 0) faults.push(`warning ${s.low} low decode margin (< ${d.minMarginMs} ms)`);
    out.push(
      `  PID ${hex(s.pid)} ${s.label}: DTS−PCR min ${s.minMs.toFixed(1)} ms ` +
        `max ${s.maxMs.toFixed(1)} ms (${s.count} PES)` +
        (faults.length ? '  ' + faults.join(', ') : ''),
    );
  }
}
