// `headend analyze <input...>`: TR 101 290 report of files and UDP/RTP streams.
// Inputs are analysed concurrently (network inputs for `seconds`, files to their end), then
// one report per input is printed in the order given.
// Exit: 2 when an input is unusable (bad URL, unreadable file, bind/join failure),
// else 1 when any input has priority-1 errors or is not a transport stream at all (nothing
// received, sync never acquired, or almost no byte in sync: report.noTransportStream), else 0.

import { Analyzer } from '../../mpegts/analyzer/analyzer.js';
import { formatReport, type AnalyzerReport } from '../../mpegts/analyzer/report.js';
import { HeadendError, fromSystemError, isHeadendError } from '../errors.js';
import { readFileChunks } from '../inputs/file-reader.js';
import { UdpReceiver } from '../inputs/udp-receiver.js';
import { parseInputAddress, type InputAddress, type NetworkInput } from '../inputs/url.js';
import { EXIT_OK, EXIT_STREAM_ERRORS, EXIT_USAGE, type CommandIo } from './io.js';

type AnalyzerOptions = NonNullable<ConstructorParameters<typeof Analyzer>[0]>;

export interface AnalyzeOptions {
  /** How long to listen to each network input, in ms. */
  durationMs: number;
  /** Print reports as JSON (one object per line: { input, report }) instead of text. */
  json: boolean;
  /** How long a PID named in a PMT may be absent before PID_error (TR 101 290 1.6). */
  pidTimeoutMs?: number;
  /** Decode margin (DTS − PCR) below this many ms is a warning (default 100). */
  minDtsMarginMs?: number;
  /** Stops network inputs early (Ctrl-C); their reports are still printed. */
  signal?: AbortSignal;
}

interface Outcome {
  input: string;
  report?: AnalyzerReport;
  error?: HeadendError;
}

export async function analyzeCommand(
  inputs: readonly string[],
  opts: AnalyzeOptions,
  io: CommandIo,
): Promise<number> {
  const parsed: InputAddress[] = [];
  for (const text of inputs) {
    const a = parseInputAddress(text);
    if (isHeadendError(a)) {
      io.error(a);
      return EXIT_USAGE;
    }
    parsed.push(a);
  }
  const outcomes = await Promise.all(
    parsed.map((a, i) =>
      analyzeOne(a, opts, io).then(
        (report): Outcome => ({ input: inputs[i], report }),
        (err: unknown): Outcome => ({
          input: inputs[i],
          error: fromSystemError('E_IO', `cannot analyze '${inputs[i]}'`, err),
        }),
      ),
    ),
  );

  let status = EXIT_OK;
  for (const o of outcomes) {
    if (o.error !== undefined) {
      io.error(o.error);
      status = EXIT_USAGE;
      continue;
    }
    const report = o.report as AnalyzerReport;
    if (opts.json) {
      io.out(JSON.stringify({ input: o.input, report }) + '\n');
    } else {
      if (outcomes.length > 1) io.out(`== ${o.input}\n`);
      const text = formatReport(report);
      io.out(text.endsWith('\n') ? text : text + '\n');
    }
    // Silence is not a clean stream: with no packets there is nothing to flag, so say it here.
    const empty = report.totals.packets === 0;
    if (empty) io.log('warn', 'no-data', { input: o.input, message: 'no TS packets received' });
    if (!empty && report.noTransportStream)
      io.log('warn', 'no-transport-stream', { input: o.input, message: report.verdict });
    if (status === EXIT_OK && (report.priority1Errors > 0 || report.noTransportStream)) {
      status = EXIT_STREAM_ERRORS;
    }
  }
  return status;
}

async function analyzeOne(
  input: InputAddress,
  opts: AnalyzeOptions,
  io: CommandIo,
): Promise<AnalyzerReport> {
  const analyzerOpts: AnalyzerOptions = {};
  if (opts.pidTimeoutMs !== undefined) analyzerOpts.pidTimeoutMs = opts.pidTimeoutMs;
  if (opts.minDtsMarginMs !== undefined) analyzerOpts.minDtsMarginMs = opts.minDtsMarginMs;
  const analyzer = new Analyzer(analyzerOpts);
  if (input.kind === 'file') {
    for await (const chunk of readFileChunks(input.path)) analyzer.push(chunk);
  } else {
    await receive(input, analyzer, opts, io);
  }
  analyzer.end();
  return analyzer.report();
}

async function receive(
  input: NetworkInput,
  analyzer: Analyzer,
  opts: AnalyzeOptions,
  io: CommandIo,
): Promise<void> {
  const rx = new UdpReceiver(input);
  const err = await rx.open();
  if (err !== undefined) throw err;
  const bound = rx.address();
  io.log('info', 'listening', {
    input: input.url,
    address: bound?.address,
    port: bound?.port,
    multicast: input.multicast,
    source: input.source,
    seconds: opts.durationMs / 1000,
  });
  const stop = (): void => rx.close();
  const timer = setTimeout(stop, opts.durationMs);
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const d of rx) analyzer.push(d.data, d.arrivalNs);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', stop);
    rx.close();
  }
  io.log('info', 'received', { input: input.url, ...rx.stats });
}
