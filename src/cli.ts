#!/usr/bin/env node
// The `headend` command line. Verbs live in src/headend/commands/; this file only declares
// arguments and options, turns human units into numbers, and maps outcomes to exit statuses:
//   0 ok · 1 the analysed stream has priority-1 errors (validate: the config is invalid)
//   · 2 usage or I/O error.
// The verbs that load much (the daemon with its etcd and metrics clients, tuners, scans) are
// imported when they run: `headend analyze` or a usage error does not wait for them.

import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { analyzeCommand } from './headend/commands/analyze.js';
import { EXIT_USAGE, processIo } from './headend/commands/io.js';
import { remuxCommand } from './headend/commands/remux.js';
import type { RunCliOptions } from './headend/commands/run.js';
import { DEFAULT_DAEMON_URL } from './headend/commands/daemon-api.js';
import { discoverAddress, outputBase } from './headend/scan/options.js';
import { HeadendError, isHeadendError } from './headend/errors.js';
import { parseBitrate, parseDuration, parseInteger } from './headend/units.js';
import type { RemuxOptions } from './mpegts/remux/types.js';
import { LIMITS } from './headend/config/defaults.js';
import { formatBitrate } from './headend/config/values.js';

/** Adapts a units.ts parser to commander, which reports a thrown InvalidArgumentError. */
function arg<T>(parse: (text: string) => T | HeadendError): (text: string) => T {
  return (text) => {
    const v = parse(text);
    if (isHeadendError(v)) throw new InvalidArgumentError(v.message);
    return v;
  };
}
/** One of a fixed set of words. */
const choice =
  (allowed: string[]) =>
  (text: string): string => {
    if (!allowed.includes(text))
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    return text;
  };
const int = (name: string, min: number, max: number) => arg((t) => parseInteger(t, name, min, max));
/** A CBR mux rate within the range channels.yaml allows (a huge one would never finish). */
const cbrRate = arg((t) => {
  const r = parseBitrate(t);
  if (isHeadendError(r) || (r >= LIMITS.cbrMin && r <= LIMITS.cbrMax)) return r;
  return new HeadendError(
    'E_BAD_BITRATE',
    `bad bitrate '${t}': a CBR mux rate is ${formatBitrate(LIMITS.cbrMin)} to ${formatBitrate(LIMITS.cbrMax)}`,
  );
});
const seconds = arg((t) => {
  // A plain number here means seconds (it is --seconds); units are accepted too: 500ms, 2m.
  const ms = parseDuration(/^\s*[\d.]+\s*$/.test(t) ? `${t}s` : t);
  if (isHeadendError(ms)) return ms;
  return ms > 0
    ? ms
    : new HeadendError('E_BAD_DURATION', `bad duration '${t}': must be more than 0`);
});

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command('headend')
    .description('Multicast IPTV headend: clean, evenly paced single-program MPEG-TS')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('analyze')
    .description(
      'TR 101 290 report of transport streams: files, udp://[source@]group:port, rtp://group:port',
    )
    .argument('<input...>', 'file path, udp://@239.1.1.1:5000, udp://src@232.1.1.1:5000, rtp://…')
    .option(
      '--seconds <n>',
      'how long to listen to network inputs: 2, 500ms, 1m (default 10)',
      seconds,
    )
    .option('--json', 'print each report as one JSON object per line', false)
    .option(
      '--pid-timeout <ms>',
      'PID_error after this long without a PMT-listed PID',
      arg(parseDuration),
    )
    .option(
      '--min-dts-margin <ms>',
      'warn when a PES arrives less than this before its DTS (DTS − PCR; default 100ms)',
      arg(parseDuration),
    )
    .exitOverride()
    .action(
      async (
        inputs: string[],
        o: { seconds?: number; json: boolean; pidTimeout?: number; minDtsMargin?: number },
      ) => {
        const ac = new AbortController();
        const onSigint = (): void => ac.abort();
        process.once('SIGINT', onSigint);
        try {
          process.exitCode = await analyzeCommand(
            inputs,
            {
              durationMs: o.seconds ?? 10_000,
              json: o.json,
              ...(o.pidTimeout !== undefined ? { pidTimeoutMs: o.pidTimeout } : {}),
              ...(o.minDtsMargin !== undefined ? { minDtsMarginMs: o.minDtsMargin } : {}),
              signal: ac.signal,
            },
            processIo,
          );
        } finally {
          process.off('SIGINT', onSigint);
        }
      },
    );

  program
    .command('remux')
    .description('rewrite one program of a TS file as a clean single-program TS (offline)')
    .argument('<in>', 'input .ts file')
    .argument('<out>', 'output .ts file (overwritten)')
    .option(
      '--program <n>',
      'input program_number to take from an MPTS (default: first)',
      int('program', 1, 65535),
    )
    .option(
      '--cbr <rate>',
      'constant mux rate, padded with null packets (6M, 800k; 250k to 100M)',
      cbrRate,
    )
    .option('--service-name <s>', 'service name in the SDT')
    .option('--provider <s>', 'provider name in the SDT')
    .option(
      '--program-number <n>',
      'output program_number / service_id (default 1)',
      int('program number', 1, 65535),
    )
    .option(
      '--tsid <n>',
      'output transport_stream_id (default 1)',
      int('transport_stream_id', 0, 65535),
    )
    .option(
      '--psi-interval <ms>',
      'PAT/PMT/SDT repetition interval (default 100ms)',
      arg(parseDuration),
    )
    .exitOverride()
    .action(async (input: string, output: string, o: RemuxCliOptions) => {
      process.exitCode = await remuxCommand(input, output, remuxOptions(o), processIo);
    });

  program
    .command('validate')
    .description('check channels.yaml without running it: OK, or every error as FILE:LINE:COLUMN')
    .option(
      '-c, --config <file>',
      'config file (default ./channels.yaml, then /etc/headend/channels.yaml)',
    )
    .exitOverride()
    .action(async (o: { config?: string }) => {
      const { validateCommand } = await import('./headend/commands/validate.js');
      process.exitCode = await validateCommand(o.config, processIo);
    });

  program
    .command('run')
    .description('run the headend on channels.yaml until SIGTERM/SIGINT')
    .option(
      '-c, --config <file>',
      'config file (default ./channels.yaml, then /etc/headend/channels.yaml)',
    )
    .option('--log-format <format>', 'json (default) or logfmt', choice(['json', 'logfmt']))
    .option(
      '--log-level <level>',
      'debug, info (default), warn or error',
      choice(['debug', 'info', 'warn', 'error']),
    )
    .option(
      '--node <name>',
      "this node's name in a cluster (headend.cluster; sets HEADEND_NODE; default the host name)",
    )
    .exitOverride()
    .action(async (o: RunCliOptions & { node?: string }) => {
      const { node, ...run } = o;
      if (node !== undefined) process.env.HEADEND_NODE = node;
      const { runCommand } = await import('./headend/commands/run.js');
      process.exitCode = await runCommand(run);
    });

  program
    .command('reload')
    .description('make the running daemon re-read channels.yaml (only changed channels restart)')
    .option('--url <url>', `the daemon's HTTP surface (default ${DEFAULT_DAEMON_URL})`)
    .option('--json', 'print the result as JSON', false)
    .exitOverride()
    .action(async (o: { url?: string; json: boolean }) => {
      const { reloadCommand } = await import('./headend/commands/reload.js');
      process.exitCode = await reloadCommand(
        { url: o.url ?? DEFAULT_DAEMON_URL, json: o.json },
        processIo,
      );
    });

  program
    .command('alert')
    .description('turn the emergency override of the running daemon on or off')
    .argument('<state>', 'on or off')
    .option('--zone <zone>', 'only the channels of this zone (default: every channel)')
    .option('--message <text>', 'the text of the alert card (on only; default from the config)')
    .option('--url <url>', "the daemon's HTTP surface (default: the config's http.listen)")
    .option('--token <token>', 'the alert token (default HEADEND_ALERT_TOKEN, then the config)')
    .option('-c, --config <file>', 'channels.yaml to read the token and URL from')
    .option('--json', 'print the answer as JSON', false)
    .exitOverride()
    .action(
      async (
        state: string,
        o: {
          zone?: string;
          message?: string;
          url?: string;
          token?: string;
          config?: string;
          json: boolean;
        },
      ) => {
        if (state !== 'on' && state !== 'off') {
          processIo.out(`headend alert: expected on or off, got '${state}'\n`);
          process.exitCode = 2;
          return;
        }
        const { alertCommand } = await import('./headend/commands/alert.js');
        process.exitCode = await alertCommand({ state, ...o }, processIo);
      },
    );

  program
    .command('status')
    .description("the running daemon's channels: state, bitrate, source, errors")
    .option('--url <url>', `the daemon's HTTP surface (default ${DEFAULT_DAEMON_URL})`)
    .option('--json', 'print GET /api/channels (or /api/cluster) as JSON', false)
    .option('--cluster', 'the cluster instead: nodes, leases, channel owners, load', false)
    .exitOverride()
    .action(async (o: { url?: string; json: boolean; cluster: boolean }) => {
      const url = o.url ?? DEFAULT_DAEMON_URL;
      const { clusterStatusCommand } = await import('./headend/commands/cluster-status.js');
      const { statusCommand } = await import('./headend/commands/status.js');
      process.exitCode = o.cluster
        ? await clusterStatusCommand({ url, json: o.json }, processIo)
        : await statusCommand({ url, json: o.json }, processIo);
    });

  program
    .command('probe')
    .description('list the programs, services and streams of a feed (to write channels.yaml)')
    .argument(
      '<url>',
      'udp://[src@]group:port, rtp://…, http(s)://, srt://, a file, …, or a tuner: ' +
        'an id of the config, satip://host (with --transponder), hdhomerun://device[/channel]',
    )
    .option('--seconds <n>', 'how long to read at most: 2, 500ms (default 5)', seconds)
    .option('--json', 'print the result as JSON', false)
    .option('-c, --config <file>', 'config file with the tuner (default ./channels.yaml, …)')
    .option(
      '--transponder <tuning>',
      'tuners: a transponder to tune, e.g. dvbs2:11494M:h:22000k, or a file of them (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--discover <address>',
      'HDHomeRun device ids: send discovery to this address (the device, or a directed ' +
        'broadcast such as 192.168.1.255) instead of 255.255.255.255',
      arg(discoverAddress),
    )
    .exitOverride()
    .action(
      async (
        url: string,
        o: {
          seconds?: number;
          json: boolean;
          config?: string;
          transponder: string[];
          discover?: string;
        },
      ) => {
        const { probeCommand } = await import('./headend/commands/probe.js');
        process.exitCode = await probeCommand(
          url,
          {
            maxMs: o.seconds ?? 5000,
            json: o.json,
            config: o.config,
            transponders: o.transponder,
            discover: o.discover,
          },
          processIo,
        );
      },
    );

  program
    .command('scan')
    .description(
      'tune a tuner and list its services (LCN, name, provider, type, PIDs); --write adds them ' +
        'to channels.yaml as channels',
    )
    .argument(
      '<tuner>',
      'a tuner id of the config, satip://host[:port] (with --transponder), ' +
        'hdhomerun://device/channel, or hdhomerun://host (its whole lineup)',
    )
    .option('-c, --config <file>', 'config file with the tuner (default ./channels.yaml, …)')
    .option(
      '--transponder <tuning>',
      'DELIVERY:FREQUENCY[:…]: dvbs2:11494M:h:22000k, dvbt2:474M:8M, dvbc:346M:6900k:qam256, ' +
        'atsc:57M:8vsb (key=value for modulation, plp, …); or a file of them, one per line; ' +
        'repeatable. With a tuner id: other transponders on its adapter or server',
      collect,
      [] as string[],
    )
    .option(
      '--discover <address>',
      'HDHomeRun device ids: send discovery to this address (the device, or a directed ' +
        'broadcast such as 192.168.1.255) instead of 255.255.255.255',
      arg(discoverAddress),
    )
    .option('--timeout <duration>', 'longest wait per transponder: 10s (default), 500ms', seconds)
    .option('--json', 'print the services as JSON', false)
    .option('--lineup', 'hdhomerun://host: print its lineup instead of scanning it', false)
    .option('--write <file>', 'append the services to this channels.yaml as channels')
    .option(
      '--base <group:port>',
      'with --write: first output group and the port (default 239.255.10.1:5000)',
      arg(outputBase),
    )
    .option(
      '--first-number <n>',
      'with --write: numbers for services without an LCN start here (default highest + 1)',
      int('first number', 1, 65535),
    )
    .exitOverride()
    .action(async (target: string, o: ScanCliOptions) => {
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        const { scanCommand } = await import('./headend/commands/scan.js');
        process.exitCode = await scanCommand(
          target,
          {
            config: o.config,
            transponders: o.transponder,
            discover: o.discover,
            timeoutMs: o.timeout ?? 10_000,
            json: o.json,
            lineup: o.lineup,
            write: o.write,
            base: o.base ?? { group: '239.255.10.1', port: 5000 },
            firstNumber: o.firstNumber,
            signal: ac.signal,
          },
          processIo,
        );
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('install-systemd')
    .description('install the systemd unit and an example /etc/headend/channels.yaml')
    .option('--root <dir>', 'root of the target file system', '/')
    .option('--bin <path>', 'headend binary for ExecStart (default: this node and cli.js)')
    .option(
      '--rtsp-port <n>',
      'plan capabilities for this RTSP port (default: from the config)',
      (v: string) => parseInteger(v, 'RTSP port', 1, 65535),
    )
    .exitOverride()
    .action(async (o: { root: string; bin?: string; rtspPort?: number }) => {
      const { installSystemdCommand } = await import('./headend/commands/install-systemd.js');
      process.exitCode = await installSystemdCommand(
        { root: o.root, bin: o.bin, rtspPort: o.rtspPort },
        processIo,
      );
    });

  return program;
}

/** Repeatable options: every value, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ScanCliOptions {
  config?: string;
  transponder: string[];
  discover?: string;
  timeout?: number;
  json: boolean;
  lineup: boolean;
  write?: string;
  base?: { group: string; port: number };
  firstNumber?: number;
}

interface RemuxCliOptions {
  program?: number;
  cbr?: number;
  serviceName?: string;
  provider?: string;
  programNumber?: number;
  tsid?: number;
  psiInterval?: number;
}

function remuxOptions(o: RemuxCliOptions): RemuxOptions {
  const r: RemuxOptions = {};
  if (o.program !== undefined) r.program = o.program;
  if (o.cbr !== undefined) r.cbrBitrate = o.cbr;
  if (o.serviceName !== undefined) r.serviceName = o.serviceName;
  if (o.provider !== undefined) r.providerName = o.provider;
  if (o.programNumber !== undefined) r.programNumber = o.programNumber;
  if (o.tsid !== undefined) r.transportStreamId = o.tsid;
  if (o.psiInterval !== undefined) r.psiIntervalMs = o.psiInterval;
  return r;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (or the help / version text).
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isHeadendError(err)) {
      processIo.error(err);
      return EXIT_USAGE;
    }
    // A bug, not a user error: keep the stack for the report.
    process.stderr.write(`headend: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv);
