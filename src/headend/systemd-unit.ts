// The systemd service unit of the headend (systemd.service(5), systemd.exec(5)), written by
// `headend install-systemd`; systemd/headend.service in the repository is this text for the
// default binary path (a test keeps the two equal). Type=notify with a watchdog (notify.ts sends
// READY=1, WATCHDOG=1, STOPPING=1 through systemd-notify, hence NotifyAccess=all), SIGHUP for a
// reload, a dynamic user and a sandbox that leaves only what a headend needs: IP sockets,
// AF_UNIX (sd_notify), AF_NETLINK (interface names), and CAP_NET_BIND_SERVICE only when RTSP
// listens on a port below 1024; the pacing thread's nice value below 0 (LimitNICE, as
// headend.pacing.nice asks, −10 by default); real-time scheduling (LimitRTPRIO) only when the
// config asks for a real-time pacing thread; the DVB devices (and the video group) only when
// the config has local DVB adapters; the serial ports (and the dialout group) only when the
// emergency override reads a fire panel on one.

import { PACING_NICE } from '../scheduler/realtime.js';

export const UNIT_NAME = 'headend.service';
export const CONFIG_DIR = '/etc/headend';
export const CONFIG_FILE = `${CONFIG_DIR}/channels.yaml`;
/** Where `npm install -g headend` puts the binary on most systems. */
export const DEFAULT_BIN = '/usr/local/bin/headend';

export interface UnitOptions {
  /** ExecStart's program and leading arguments, e.g. ['/usr/bin/node', '/opt/headend/dist/src/cli.js']. */
  command: readonly string[];
  /** Grant CAP_NET_BIND_SERVICE (RTSP on a port below 1024, such as 554). */
  bindLowPorts: boolean;
  /**
   * headend.pacing.realtime_priority of the config (0: none): the unit then allows real-time
   * scheduling (RestrictRealtime=no) up to that priority (LimitRTPRIO=), without a capability.
   */
  realtimePriority?: number;
  /**
   * headend.pacing.nice of the config (default PACING_NICE): below 0 the unit lets the
   * process lower a thread's nice value that far (LimitNICE=), without a capability.
   */
  pacingNice?: number;
  /** Watchdog timeout in seconds (30). */
  watchdogSec?: number;
  /** The config has local DVB adapters: the unit opens the DVB devices to the service. */
  dvb?: boolean;
  /** The alarm input's serial device (headend.alert.serial.device): serial ports opened. */
  serial?: string;
}

/** PrivateDevices, or exactly the devices the config needs (DVB adapters, the alarm's port). */
function devices(o: UnitOptions): string[] {
  if (o.dvb !== true && o.serial === undefined) return ['PrivateDevices=yes'];
  const lines = ['PrivateDevices=no', 'DevicePolicy=closed'];
  const groups: string[] = [];
  if (o.dvb === true) {
    lines.push(
      '# Local DVB adapters (tuners: with adapter:): the DVB devices only, by their',
      '# /proc/devices group (the nodes under /dev/dvb come and go with the driver),',
      '# reached through the video group that owns them.',
      'DeviceAllow=char-DVB rw',
    );
    groups.push('video');
  }
  if (o.serial !== undefined) {
    lines.push(
      `# The fire panel's serial port (headend.alert.serial: ${o.serial}): serial ports by`,
      '# their /proc/devices groups (a USB adapter that comes back may get another number),',
      '# reached through the dialout group that owns them.',
      'DeviceAllow=char-ttyS rw',
      'DeviceAllow=char-ttyUSB rw',
      'DeviceAllow=char-ttyACM rw',
    );
    groups.push('dialout');
  }
  lines.push(`SupplementaryGroups=${groups.join(' ')}`);
  return lines;
}

/** Quotes one ExecStart word when it needs it (systemd.service(5), "Command lines"). */
function word(w: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  return `"${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`;
}

export function renderUnit(o: UnitOptions): string {
  const exec = [...o.command, 'run', '-c', CONFIG_FILE].map(word).join(' ');
  const caps = o.bindLowPorts
    ? [
        '# RTSP listens below port 1024: the one capability that needs.',
        'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
        'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      ]
    : ['# No capabilities (RTSP, if on, listens on a port ≥ 1024).', 'CapabilityBoundingSet='];
  const rt = o.realtimePriority ?? 0;
  const realtime =
    rt > 0
      ? [
          `# headend.pacing.realtime_priority: ${rt}: the pacing thread may run SCHED_FIFO up to it.`,
          'RestrictRealtime=no',
          `LimitRTPRIO=${rt}`,
        ]
      : ['RestrictRealtime=yes'];
  const nice = o.pacingNice ?? PACING_NICE;
  const niceLimit =
    nice < 0
      ? [
          `# headend.pacing.nice: ${nice}: the pacing thread may lower its nice value that far`,
          `# (RLIMIT_NICE ${20 - nice} = nice ${nice}, setrlimit(2)).`,
          `LimitNICE=${20 - nice}`,
        ]
      : [];
  return [
    '# headend: multicast IPTV headend. Installed by `headend install-systemd`.',
    `# Configuration: ${CONFIG_FILE} (check it with \`headend validate -c ${CONFIG_FILE}\`).`,
    '# Reload it without a restart: systemctl reload headend',
    '[Unit]',
    'Description=headend multicast IPTV headend',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=notify',
    '# READY/WATCHDOG/STOPPING come from the systemd-notify helper the daemon runs.',
    'NotifyAccess=all',
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=2s',
    `WatchdogSec=${o.watchdogSec ?? 30}s`,
    'TimeoutStopSec=15s',
    'Environment=NODE_ENV=production',
    '',
    '# A user made for the service at each start; no write access anywhere but its own tmp.',
    'DynamicUser=yes',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    ...devices(o),
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    ...niceLimit,
    ...realtime,
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
    ...caps,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
