// `headend status [--url URL] [--json]`: the running daemon's channels (GET /api/channels),
// one aligned line per channel: number, name, state, output bitrate, source in use (index and
// URL), restarts/failovers, input CC errors seen by the remuxer, last error; then, when tuners
// are configured, one line per tuner: state, lock, signal, C/N, BER, uncorrected blocks.
// Exit 0, or 1 when the daemon cannot be reached.

import { HeadendError, isHeadendError } from '../errors.js';
import { callDaemon } from './daemon-api.js';
import type { CommandIo } from './io.js';
import type { TunerReport } from '../tuners/report.js';

export interface StatusCliOptions {
  url: string;
  json?: boolean;
}

/** GET /api/channels as the HTTP surface serves it. */
export interface ChannelsDocument {
  headend: { name: string; version: string; uptimeSec: number };
  channels: {
    number: number;
    name: string;
    slug: string;
    provider?: string;
    output: string;
    state: string;
    sourceIndex: number;
    source: string;
    bitrate: number;
    restarts: number;
    failovers: number;
    lastError?: string;
    datagramsSent?: number;
    datagramsDropped?: number;
    remux?: Record<string, number>;
    analyzer?: Record<string, number>;
    programme?: {
      rule: string | null;
      next: { at: string; rule: string | null } | null;
      alert?: string;
    };
  }[];
  /** Present when tuners are configured. */
  tuners?: TunerReport[];
}

export async function statusCommand(o: StatusCliOptions, io: CommandIo): Promise<number> {
  const r = await callDaemon(o.url, 'GET', 'api/channels', 10_000);
  if (isHeadendError(r)) {
    io.error(r);
    return 1;
  }
  const doc = r.body as ChannelsDocument;
  if (r.status !== 200 || !doc || !Array.isArray(doc.channels)) {
    io.error(
      new HeadendError(
        'E_NET',
        `unexpected answer to GET /api/channels (HTTP ${r.status}): ${JSON.stringify(r.body).slice(0, 200)}`,
      ),
    );
    return 1;
  }
  io.out(o.json ? JSON.stringify(doc) + '\n' : formatStatus(doc));
  return 0;
}

const mbps = (bps: number): string => (bps / 1e6).toFixed(2);

function uptime(sec: number): string {
  const s = Math.floor(sec);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d${h}h${m}m` : h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

/** A header line and one aligned line per channel. */
export function formatStatus(doc: ChannelsDocument): string {
  const h = doc.headend;
  const head = h
    ? `${h.name} (headend ${h.version}), up ${uptime(h.uptimeSec)}, ${doc.channels.length} channel(s)\n`
    : '';
  const rows: string[][] = [
    ['#', 'NAME', 'STATE', 'MBIT/S', 'SOURCE', 'RESTARTS/FAILOVERS', 'CC', 'LAST ERROR'],
  ];
  for (const c of doc.channels) {
    rows.push([
      String(c.number),
      c.name,
      c.state,
      mbps(c.bitrate ?? 0),
      `#${c.sourceIndex} ${c.source}`,
      `${c.restarts}/${c.failovers}`,
      String(c.remux?.inputCcErrors ?? 0),
      c.lastError ?? '-',
    ]);
  }
  const tuners = doc.tuners ?? [];
  // Timetables and alerts: what plays by which rule, and the next switch.
  const programme = doc.channels.flatMap((c) => {
    const p = c.programme;
    if (!p) return [];
    const now = p.alert !== undefined ? `ALERT ${p.alert}` : (p.rule ?? 'own source');
    const next = p.next ? `${p.next.rule ?? 'own source'} at ${p.next.at}` : '-';
    return [[String(c.number), c.name, now, next]];
  });
  return (
    head +
    table(rows, new Set([0, 3, 6])) +
    (programme.length > 0
      ? `\n${table([['#', 'NAME', 'PLAYING', 'NEXT SWITCH'], ...programme], new Set([0]))}`
      : '') +
    (tuners.length > 0 ? `\n${table(tunerRows(tuners), new Set())}` : '')
  );
}

function tunerRows(tuners: readonly TunerReport[]): string[][] {
  const rows = [
    ['TUNER', 'TARGET', 'STATE', 'LOCK', 'SIGNAL', 'C/N', 'BER', 'UNC', 'CHANNELS', 'LAST ERROR'],
  ];
  const num = (v: number | undefined, digits: number): string =>
    v === undefined ? '-' : v.toFixed(digits);
  for (const t of tuners) {
    rows.push([
      t.id,
      t.target,
      t.state,
      t.lock === undefined ? '-' : t.lock ? 'yes' : 'NO',
      t.signal ? `${t.signal.value.toFixed(1)}${t.signal.unit}` : '-',
      t.snr ? `${t.snr.value.toFixed(1)}${t.snr.unit}` : '-',
      t.ber === undefined ? '-' : t.ber === 0 ? '0' : t.ber.toExponential(1),
      num(t.uncorrected, 0),
      t.channels.length > 0 ? t.channels.join(',') : '-',
      t.lastError ?? '-',
    ]);
  }
  return rows;
}

/** Aligned columns, two spaces apart; the last column is not padded. */
function table(rows: string[][], numeric: ReadonlySet<number>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) =>
            i === r.length - 1
              ? cell
              : numeric.has(i)
                ? cell.padStart(widths[i])
                : cell.padEnd(widths[i]),
          )
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
