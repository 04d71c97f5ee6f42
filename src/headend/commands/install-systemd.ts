// `headend install-systemd [--root DIR] [--bin PATH] [--rtsp-port N]`: puts the systemd unit at
// <root>/etc/systemd/system/headend.service (always rewritten) and the example channels.yaml at
// <root>/etc/headend/channels.yaml (only when absent), then prints the next steps. The unit gets
// CAP_NET_BIND_SERVICE only when RTSP listens below port 1024 in that config (or --rtsp-port),
// the pacing thread's nice value (LimitNICE, headend.pacing.nice, −10 unless the config says
// otherwise), and real-time scheduling up to headend.pacing.realtime_priority when the config
// sets it.

import { access, copyFile, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from '../config/load.js';
import { HeadendError, fromSystemError } from '../errors.js';
import { CONFIG_FILE, UNIT_NAME, renderUnit } from '../systemd-unit.js';
import { PACING_NICE } from '../../scheduler/realtime.js';
import { EXIT_OK, EXIT_USAGE, type CommandIo } from './io.js';

/** The example configuration shipped with the package (package.json "files"). */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../../channels.yaml', import.meta.url));
/** This command line's entry point (dist/src/cli.js). */
const CLI_JS = fileURLToPath(new URL('../../cli.js', import.meta.url));

export interface InstallSystemdOptions {
  /** Root of the target file system ('/' for this machine). */
  root: string;
  /** The headend binary for ExecStart; default: node and the real path of this cli.js. */
  bin?: string;
  /** RTSP port to plan capabilities for; default: from the installed (or example) config. */
  rtspPort?: number;
  /** The config copied when absent (EXAMPLE_CONFIG). */
  exampleConfig?: string;
}

export interface InstallSystemdResult {
  /** Files written, as paths under root. */
  written: string[];
  /** Files left as they were (an existing channels.yaml). */
  kept: string[];
  /** The ExecStart command (program and leading arguments). */
  command: string[];
  bindLowPorts: boolean;
  /** LimitRTPRIO of the unit (0: real-time scheduling stays forbidden). */
  realtimePriority: number;
  /** headend.pacing.nice (LimitNICE of the unit when below 0). */
  pacingNice: number;
  /** The unit opens the DVB devices (the config has local adapters). */
  dvb: boolean;
  /** The unit opens the serial ports (the alarm input reads this device). */
  serial?: string;
  /** The config does not load, so its RTSP port is unknown (no capability granted). */
  configProblem?: string;
  /** What to run next, one command a line. */
  nextSteps: string[];
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** What the unit depends on in a config text (RTSP port, null: off), or why it does not load. */
function planOf(
  text: string,
  file: string,
):
  | {
      rtspPort: number | null;
      realtimePriority: number;
      pacingNice: number;
      dvb: boolean;
      serial?: string;
    }
  | { problem: string } {
  // The unit depends on the RTSP port and pacing only; the interfaces are the target machine's
  // (--root may be an image being built), checked there by validate and run.
  const r = loadConfigText(text, file, { interfaces: null });
  if ('errors' in r)
    return { problem: `${r.errors.length} error(s); check it with headend validate -c ${file}` };
  return {
    rtspPort: r.config.rtsp ? r.config.rtsp.listen.port : null,
    realtimePriority: r.config.pacing.realtimePriority,
    pacingNice: r.config.pacing.nice,
    dvb: r.config.tuners.some((t) => t.kind === 'dvb'),
    serial: r.config.alert?.serial?.device,
  };
}

export async function installSystemd(
  o: InstallSystemdOptions,
): Promise<InstallSystemdResult | HeadendError> {
  const root = resolve(o.root);
  const unitPath = join(root, 'etc/systemd/system', UNIT_NAME);
  const configPath = join(root, CONFIG_FILE);
  const example = o.exampleConfig ?? EXAMPLE_CONFIG;
  const written: string[] = [];
  const kept: string[] = [];
  try {
    await mkdir(dirname(configPath), { recursive: true });
    if (await exists(configPath)) {
      kept.push(configPath);
    } else {
      await copyFile(example, configPath);
      written.push(configPath);
    }
    const plan = planOf(await readFile(configPath, 'utf8'), configPath);
    const configProblem = 'problem' in plan ? plan.problem : undefined;
    const port = o.rtspPort ?? ('problem' in plan ? null : plan.rtspPort);
    const bindLowPorts = port !== null && port > 0 && port < 1024;
    const realtimePriority = 'problem' in plan ? 0 : plan.realtimePriority;
    const pacingNice = 'problem' in plan ? PACING_NICE : plan.pacingNice;
    const dvb = 'problem' in plan ? false : plan.dvb;
    const serial = 'problem' in plan ? undefined : plan.serial;
    const command = o.bin ? [o.bin] : [process.execPath, await realpath(CLI_JS)];
    await mkdir(dirname(unitPath), { recursive: true });
    const unitOptions = { command, bindLowPorts, realtimePriority, pacingNice, dvb, serial };
    await writeFile(unitPath, renderUnit(unitOptions), { mode: 0o644 });
    written.push(unitPath);
    const nextSteps = [
      `headend validate -c ${CONFIG_FILE}   # edit ${CONFIG_FILE} first: outputs, sources`,
      'systemctl daemon-reload',
      'systemctl enable --now headend',
      'systemctl status headend   # "Active: active (running)" and the STATUS line',
      'journalctl -u headend -f',
    ];
    return { written, kept, ...unitOptions, configProblem, nextSteps };
  } catch (err) {
    return fromSystemError('E_IO', `cannot install the systemd unit under '${root}'`, err);
  }
}

/** The command: prints what was written and the next steps; exit 0, or 2 when it failed. */
export async function installSystemdCommand(
  o: InstallSystemdOptions,
  io: CommandIo,
): Promise<number> {
  const r = await installSystemd(o);
  if (r instanceof HeadendError) {
    io.error(r);
    return EXIT_USAGE;
  }
  const lines = [...r.written.map((f) => `wrote ${f}`), ...r.kept.map((f) => `kept ${f}`)];
  lines.push(`ExecStart: ${r.command.join(' ')}`);
  if (r.bindLowPorts)
    lines.push('RTSP listens below port 1024: the unit grants CAP_NET_BIND_SERVICE');
  if (r.realtimePriority > 0)
    lines.push(
      `real-time pacing: the unit allows SCHED_FIFO up to priority ${r.realtimePriority} (LimitRTPRIO)`,
    );
  if (r.dvb)
    lines.push(
      'local DVB adapters: the unit allows the DVB devices (DeviceAllow=char-DVB rw) and the video group',
    );
  if (r.serial)
    lines.push(
      `alarm input on ${r.serial}: the unit allows the serial ports (ttyS, ttyUSB, ttyACM) and the dialout group`,
    );
  if (r.configProblem) lines.push(`warning: the config does not load (${r.configProblem})`);
  if (/^\/(root|home)\//.test(r.command[r.command.length - 1] ?? ''))
    lines.push(
      'warning: the binary is under /root or /home, which the unit hides (ProtectHome=yes); ' +
        'install headend globally or pass --bin',
    );
  lines.push('', 'Next:', ...r.nextSteps.map((s) => `  ${s}`), '');
  io.out(lines.join('\n'));
  return EXIT_OK;
}
