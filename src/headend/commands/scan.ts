// `headend scan <tuner-id | satip://… | hdhomerun://…> [--transponder …] [--write FILE]`:
// tunes each transponder (a config tuner's own, the --transponder list, or an HDHomeRun's
// lineup), reads PAT, PMTs, SDT and NIT (src/mpegts/service-scan.ts), and prints the services
// (number from the NIT's LCN, name and provider from the SDT, TV/HD/radio/data, service id,
// transponder, PIDs) as a table or JSON; with --write, appends them to channels.yaml as
// channels (scan/write.ts), reporting what was added and what clashed.
// Exit 0 when services were found, 1 when no transponder gave any, 2 for a usage or I/O error.

import { readFileSync, writeFileSync } from 'node:fs';
import { HeadendError, fromSystemError, isHeadendError } from '../errors.js';
import type { ServiceScanResult, ScannedService } from '../../mpegts/service-scan.js';
import { scanTransponders, type TransponderScan } from '../scan/collect.js';
import { formatLineup, planScan, type SkippedEntry } from '../scan/plan.js';
import { writeChannels, type Candidate, type WriteReport } from '../scan/write.js';
import { EXIT_OK, EXIT_STREAM_ERRORS, EXIT_USAGE, type CommandIo } from './io.js';

export interface ScanOptions {
  config?: string;
  transponders: string[];
  /** --discover: where HDHomeRun device-id discovery is sent. */
  discover?: string;
  /** Per transponder, ms. */
  timeoutMs: number;
  json: boolean;
  /** hdhomerun://host: print the lineup instead of scanning it. */
  lineup?: boolean;
  write?: string;
  base: { group: string; port: number };
  firstNumber?: number;
  signal?: AbortSignal;
}

/** One service as printed and written. */
export interface ScanRow extends ScannedService {
  transponder: string;
  tuner: string;
}

export async function scanCommand(target: string, o: ScanOptions, io: CommandIo): Promise<number> {
  const plan = await planScan(target, {
    config: o.config,
    transponders: o.transponders,
    discover: o.discover,
  });
  if (isHeadendError(plan)) {
    io.error(plan);
    return EXIT_USAGE;
  }
  if (o.lineup === true) {
    if (plan.lineup === undefined) {
      io.error(new HeadendError('E_USAGE', '--lineup is for hdhomerun://host (no channel)'));
      return EXIT_USAGE;
    }
    const host = target.replace(/^hdhomerun:\/\//i, '').replace(/\/$/, '');
    io.out(
      o.json ? JSON.stringify({ lineup: plan.lineup }) + '\n' : formatLineup(host, plan.lineup),
    );
    return EXIT_OK;
  }
  const skipped = plan.skipped ?? [];
  for (const k of skipped) io.log('warn', 'scan-skipped', { ...k });
  const scans = await scanTransponders(plan.transponders, {
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    hdhomerun: { discovery: plan.discovery },
    onTune: (t, i) =>
      io.log('info', 'scan-tune', {
        transponder: t.label,
        index: i + 1,
        of: plan.transponders.length,
      }),
  });
  for (const s of scans) {
    const n = s.result.services.length;
    if (n === 0 || s.timedOut) {
      io.log(n === 0 ? 'warn' : 'info', n === 0 ? 'scan-nothing' : 'scan-timeout', {
        transponder: s.transponder.label,
        services: n,
        ...(s.failure !== undefined ? { failure: s.failure } : {}),
        nit: s.result.nitSeen,
        sdt: s.result.sdtSeen,
      });
    }
  }
  const rows = rowsOf(scans);
  if (o.json) {
    io.out(
      JSON.stringify({
        transponders: scans.map((s) => ({
          transponder: s.transponder.label,
          tuner: s.transponder.tuner.id,
          timedOut: s.timedOut,
          ...(s.failure !== undefined ? { failure: s.failure } : {}),
          ...summary(s.result),
        })),
        services: rows.map(({ streams, ...r }) => ({
          ...r,
          streams: streams.map((st) => ({ pid: st.pid, kind: st.kind, codec: st.codec })),
        })),
        ...(skipped.length > 0 ? { skipped } : {}),
      }) + '\n',
    );
  } else io.out(formatScan(rows, scans, skipped));
  if (rows.length === 0) {
    io.error(
      new HeadendError('E_NO_PROGRAM', `no service found on ${scans.length} transponder(s)`),
    );
    return EXIT_STREAM_ERRORS;
  }
  if (o.write !== undefined) return write(o.write, scans, rows, o, io);
  return EXIT_OK;
}

function summary(r: ServiceScanResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    services: r.services.length,
    nit: r.nitSeen,
    sdt: r.sdtSeen,
  };
  if (r.transportStreamId !== undefined) out.transportStreamId = r.transportStreamId;
  if (r.originalNetworkId !== undefined) out.originalNetworkId = r.originalNetworkId;
  if (r.networkId !== undefined) out.networkId = r.networkId;
  if (r.networkName !== undefined) out.networkName = r.networkName;
  return out;
}

/**
 * Every service of every transponder; a service with no number in its own multiplex's NIT
 * takes one from another multiplex's NIT actual (each lists the whole network).
 */
export function rowsOf(scans: readonly TransponderScan[]): ScanRow[] {
  const network = scans.flatMap((s) => s.result.network);
  return scans.flatMap((s) =>
    s.result.services.map((svc): ScanRow => {
      const row: ScanRow = {
        ...svc,
        transponder: s.transponder.label,
        tuner: s.transponder.tuner.id,
      };
      if (row.lcn === undefined) {
        const tsid = s.result.transportStreamId;
        const onid = s.result.originalNetworkId;
        const e = network.find(
          (n) =>
            n.transportStreamId === tsid &&
            (onid === undefined || n.originalNetworkId === onid) &&
            n.lcns.some((l) => l.serviceId === svc.serviceId),
        );
        const l = e?.lcns.find((x) => x.serviceId === svc.serviceId);
        if (l !== undefined) {
          row.lcn = l.lcn;
          row.visible = l.visible;
        }
      }
      return row;
    }),
  );
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const KIND_LABEL = { tv: 'TV', hd: 'HD', radio: 'radio', data: 'data' } as const;

/** One row per service: NUM NAME PROVIDER TYPE SID TRANSPONDER PIDS. */
export function formatScan(
  rows: readonly ScanRow[],
  scans: readonly TransponderScan[],
  skipped: readonly SkippedEntry[] = [],
): string {
  const head = scans.map((s) => {
    const r = s.result;
    const net = r.networkName ? ` network "${r.networkName}"` : '';
    const state = s.timedOut ? ' (timed out)' : '';
    const fail = s.failure !== undefined && r.services.length === 0 ? `: ${s.failure}` : '';
    return (
      `${s.transponder.label}: ${r.services.length} service(s), tsid ${r.transportStreamId ?? '?'}` +
      `${net}${r.nitSeen ? '' : ' (no NIT)'}${r.sdtSeen ? '' : ' (no SDT)'}${state}${fail}`
    );
  });
  const table = [['NUM', 'NAME', 'PROVIDER', 'TYPE', 'SID', 'TRANSPONDER', 'PIDS']].concat(
    rows.map((r) => [
      r.lcn !== undefined ? `${r.lcn}${r.visible === false ? '*' : ''}` : '-',
      r.serviceName ?? '',
      r.providerName ?? '',
      KIND_LABEL[r.kind] + (r.scrambled ? ' CA' : ''),
      String(r.serviceId),
      r.transponder,
      pids(r),
    ]),
  );
  const w = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) =>
    row
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd(),
  );
  const note = rows.some((r) => r.visible === false)
    ? '* hidden (LCN visible_service_flag 0)\n'
    : '';
  const skips = skipped.map((k) => `not scanned: ${k.guideNumber} ${k.guideName}: ${k.reason}\n`);
  return `${head.join('\n')}\n\n${lines.join('\n')}\n${note}${skips.join('')}`;
}

/** PMT 0x100 · v 0x101 · a 0x102,0x103 · s 0x104 */
function pids(r: ScannedService): string {
  const by = (kind: string): number[] => r.streams.filter((s) => s.kind === kind).map((s) => s.pid);
  const parts = [`PMT ${hex(r.pmtPid)}`];
  const v = by('video');
  const a = by('audio');
  const other = r.streams.filter((s) => s.kind !== 'video' && s.kind !== 'audio').map((s) => s.pid);
  if (v.length > 0) parts.push(`v ${v.map(hex).join(',')}`);
  if (a.length > 0) parts.push(`a ${a.map(hex).join(',')}`);
  if (other.length > 0) parts.push(`+${other.length}`);
  return parts.join(' ');
}

function write(
  file: string,
  scans: readonly TransponderScan[],
  rows: readonly ScanRow[],
  o: ScanOptions,
  io: CommandIo,
): number {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') {
      io.error(fromSystemError('E_IO', `cannot read '${file}'`, err));
      return EXIT_USAGE;
    }
  }
  // rows is rowsOf(scans): each scan's services in order. The multiplex of a row is taken by
  // position, not by its label: two transponders can share one (the same frequency on two
  // SAT>IP src= inputs or DiSEqC ports, two PLPs of a DVB-T2 multiplex).
  const owners = scans.flatMap((s) => s.result.services.map(() => s.transponder));
  const candidates = rows.map((r, i): Candidate => {
    const t = owners[i];
    const c: Candidate = {
      serviceId: r.serviceId,
      name:
        r.serviceName !== undefined && r.serviceName.trim() !== ''
          ? r.serviceName
          : `Service ${r.serviceId}`,
      kind: r.kind,
      scrambled: r.scrambled,
      tuner: t.tuner,
      transponder: r.transponder,
    };
    if (r.lcn !== undefined) c.lcn = r.lcn;
    if (r.visible !== undefined) c.visible = r.visible;
    if (t.entry !== undefined) c.entry = t.entry;
    if (t.unwritable !== undefined) c.unwritable = t.unwritable;
    return c;
  });
  const report = writeChannels(text, candidates, { base: o.base, firstNumber: o.firstNumber });
  if (isHeadendError(report)) {
    io.error(new HeadendError(report.code, `${file}: ${report.message}`));
    return EXIT_USAGE;
  }
  if (report.added.length > 0) {
    try {
      // In place, not renamed over: a symlinked file and its permissions stay as they are.
      writeFileSync(file, report.text);
    } catch (err) {
      io.error(fromSystemError('E_IO', `cannot write '${file}'`, err));
      return EXIT_USAGE;
    }
  }
  io.out(formatWrite(file, report));
  return EXIT_OK;
}

export function formatWrite(file: string, r: WriteReport): string {
  const lines = [`${file}: ${r.added.length} channel(s) added, ${r.skipped.length} skipped`];
  for (const t of r.tuners) lines.push(`  tuner ${t} added`);
  for (const a of r.added) {
    const kind = a.kind === 'radio' ? ' (radio)' : '';
    lines.push(
      `  + ${a.number} ${a.name}${kind} → ${a.output} (tuner ${a.tuner}, service ${a.serviceId})`,
    );
  }
  for (const s of r.skipped)
    lines.push(`  ! ${s.name} (service ${s.serviceId}, ${s.transponder}): ${s.reason}`);
  return lines.join('\n') + '\n';
}
