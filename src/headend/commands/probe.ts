// `headend probe <url> [--seconds N] [--json]`: what a feed carries, to write channels.yaml for
// it in one command. The URL goes through the same code as a channel's source in the daemon:
// the config loader turns it into a source spec (file paths, udp://[src@]group:port options)
// and the SourceHub opens it (udp:// and rtp:// natively, everything else through ffmpeg).
// Files are the exception: they are read directly (an ffmpeg child would remux every program
// into one), with bitrates over the stream time their PCRs span. Reads until every PMT of the PAT and the SDT have been seen plus 2 s for the bitrates, or at
// most N seconds (default 5); prints every program with its service name and provider, PMT and
// PCR PIDs, and each stream's PID, stream_type, codec, languages and bitrate.
// Exit 0, 1 when nothing (or no PAT) arrived, 2 for a URL the loader refuses.
// A tuner (an id of channels.yaml with -c, satip://… with --transponder, hdhomerun://…) is
// opened as `headend scan` opens it, one multiplex after the other (scan/probe-tuner.ts).

import { join } from 'node:path';
import { loadConfigText, formatConfigError } from '../config/index.js';
import { HeadendError, isHeadendError } from '../errors.js';
import { readFileChunks } from '../inputs/file-reader.js';
import { SourceHub, resolveFfmpeg, sourceKind } from '../sources/index.js';
import { ProgramScanner } from '../../mpegts/program-scan.js';
import { isTunerTarget, probeTuner } from '../scan/probe-tuner.js';
import type { ScanResult } from '../../mpegts/program-scan.js';
import { EXIT_USAGE } from './io.js';
import type { CommandIo } from './io.js';

export interface ProbeOptions {
  /** Longest read, ms. */
  maxMs: number;
  json: boolean;
  /** After the structure is complete, read this long more for the bitrates (default 2000 ms). */
  settleMs?: number;
  signal?: AbortSignal;
  /** Tuner targets (a tuner id, satip://, hdhomerun://): the config and --transponder list. */
  config?: string;
  transponders?: string[];
  /** --discover: where HDHomeRun device-id discovery is sent. */
  discover?: string;
}

export async function probeCommand(url: string, o: ProbeOptions, io: CommandIo): Promise<number> {
  const tuner = { ...o, transponders: o.transponders ?? [] };
  if (isTunerTarget(url, tuner)) return probeTuner(url, tuner, io, formatProbe);
  if (o.discover !== undefined) {
    io.error(new HeadendError('E_USAGE', `--discover is for HDHomeRun tuners, not '${url}'`));
    return EXIT_USAGE;
  }
  // The loader makes the source spec exactly as for a channel whose source is this URL.
  const loaded = loadConfigText(
    `channels:\n  - number: 1\n    name: probe\n    output: udp://239.1.1.1:1\n` +
      `    source: ${JSON.stringify(url)}\n`,
    // Relative file paths resolve against the directory of the "file": the working directory.
    join(process.cwd(), 'probe'),
    { interfaces: null }, // nothing is sent: the made-up output's interface does not matter
  );
  if ('errors' in loaded) {
    const msgs = loaded.errors
      .filter((e) => e.path.includes('source'))
      .map((e) => e.message)
      .concat(loaded.errors.filter((e) => !e.path.includes('source')).map(formatConfigError));
    io.error(new HeadendError('E_BAD_URL', `cannot probe '${url}': ${msgs.join('; ')}`));
    return EXIT_USAGE;
  }
  const spec = loaded.config.channels[0].sources[0];
  if (spec.url !== undefined && sourceKind(spec) === 'file' && !spec.transcode) {
    const r = await scanFile(spec.url, o, io);
    return typeof r === 'number' ? r : report(url, r, undefined, o, io);
  }
  const ffmpeg = resolveFfmpeg();
  const hub = new SourceHub({
    ffmpegPath: 'error' in ffmpeg ? undefined : ffmpeg.path,
    stallMs: o.maxMs + 1000,
    startMs: o.maxMs + 1000,
    log: (e) => {
      if (e.level === 'error') io.log('error', `source-${e.event}`, { message: e.message });
    },
  });
  const scanner = new ProgramScanner();
  let lastFailure: string | undefined;
  const result = await new Promise<ScanResult>((resolve) => {
    let settle: NodeJS.Timeout | null = null;
    const finish = (): void => {
      clearTimeout(deadline);
      if (settle) clearTimeout(settle);
      o.signal?.removeEventListener('abort', finish);
      off();
      resolve(scanner.result());
    };
    const deadline = setTimeout(finish, o.maxMs);
    o.signal?.addEventListener('abort', finish);
    const off = hub.subscribe(spec, {
      data: (chunk) => {
        scanner.push(chunk);
        if (!settle && scanner.complete) settle = setTimeout(finish, o.settleMs ?? 2000);
      },
      restarted: () => undefined,
      failed: (reason) => {
        lastFailure = reason;
      },
    });
  });
  await hub.close();
  return report(url, result, lastFailure, o, io);
}

/**
 * A file is read directly (an ffmpeg child would remux it into one program and hide the
 * others), as fast as the disk goes, up to maxMs of stream time by its PCRs.
 */
async function scanFile(
  path: string,
  o: ProbeOptions,
  io: CommandIo,
): Promise<ScanResult | number> {
  const scanner = new ProgramScanner('pcr');
  let completeAt = -1;
  try {
    for await (const chunk of readFileChunks(path, 188 * 512)) {
      scanner.push(chunk);
      if (completeAt < 0 && scanner.complete) completeAt = scanner.pcrMs;
      const enough = completeAt >= 0 && scanner.pcrMs - completeAt >= (o.settleMs ?? 2000);
      if (enough || scanner.pcrMs >= o.maxMs || o.signal?.aborted) break;
    }
  } catch (err) {
    if (isHeadendError(err)) {
      io.error(err);
      return EXIT_USAGE;
    }
    throw err;
  }
  return scanner.result();
}

function report(
  url: string,
  result: ScanResult,
  lastFailure: string | undefined,
  o: ProbeOptions,
  io: CommandIo,
): number {
  if (result.packets === 0 || result.programs.length === 0) {
    const what = result.packets === 0 ? 'nothing arrived' : 'no PAT (no programs) arrived';
    io.error(
      new HeadendError(
        'E_NO_PROGRAM',
        `${what} from ${url} within ${(o.maxMs / 1000).toFixed(1)} s` +
          (lastFailure ? ` (${lastFailure})` : ''),
      ),
    );
    return 1;
  }
  io.out(o.json ? JSON.stringify({ url, ...result }) + '\n' : formatProbe(url, result));
  return 0;
}

const kbps = (bps: number): string => `${(bps / 1000).toFixed(0)} kbit/s`;
const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** Human table: one block per program, one aligned row per stream. */
export function formatProbe(url: string, r: ScanResult): string {
  const lines: string[] = [
    `${url}: ${r.programs.length} program(s), ${(r.bitrate / 1e6).toFixed(2)} Mbit/s, ` +
      `tsid ${r.transportStreamId ?? '?'}, ${r.seconds.toFixed(1)} s read` +
      (r.sdtSeen ? '' : ' (no SDT)'),
  ];
  for (const p of r.programs) {
    lines.push('');
    lines.push(
      `program ${p.programNumber}  "${p.serviceName ?? ''}"  provider "${p.providerName ?? ''}"` +
        `  PMT ${hex(p.pmtPid)}  PCR ${p.pcrPid === undefined ? '?' : hex(p.pcrPid)}`,
    );
    const rows = [['PID', 'TYPE', 'KIND', 'CODEC', 'LANG', 'BITRATE']].concat(
      p.streams.map((s) => [
        hex(s.pid),
        `0x${s.streamType.toString(16).padStart(2, '0')}`,
        s.kind,
        s.codec,
        s.languages.join(',') || '-',
        kbps(s.bitrate),
      ]),
    );
    if (p.streams.length === 0) lines.push('  (PMT not seen)');
    else {
      const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
      for (const row of rows)
        lines.push(
          '  ' +
            row
              .map((c, i) => (i === row.length - 1 ? c.padStart(w[i]) : c.padEnd(w[i])))
              .join('  '),
        );
    }
  }
  return lines.join('\n') + '\n';
}
