// Transport-stream analyzer: ETSI TR 101 290 checks and RFC 4445 MDI.
export { Analyzer, type AnalyzerOptions } from './analyzer.js';
export { formatReport, formatBitrate } from './report.js';
export type {
  AnalyzerReport,
  Check,
  MdiInterval,
  MdiReport,
  PidReport,
  ProgramReport,
  StreamReport,
} from './report.js';
export { CHECK_DEFS } from './checks.js';
export type { DecodeMarginReport, DecodeMarginStream } from './decode-margin.js';
export type { SiTable } from './psi-tracker.js';
