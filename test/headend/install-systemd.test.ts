// `headend install-systemd`: the unit and the example config land under a temporary root, the
// config is never overwritten, CAP_NET_BIND_SERVICE appears only for RTSP below port 1024, and
// systemd-analyze verify accepts the written unit (exit 0 and not one warning). No sockets.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EXAMPLE_CONFIG,
  installSystemd,
  installSystemdCommand,
  type InstallSystemdResult,
} from '../../src/headend/commands/install-systemd.js';
import { DEFAULT_BIN, renderUnit } from '../../src/headend/systemd-unit.js';
import { HeadendError } from '../../src/headend/errors.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = realpathSync(fileURLToPath(new URL('../../src/cli.js', import.meta.url)));
const HAVE_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

function root(): string {
  const dir = mkdtempSync(join(tmpdir(), 'headend-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function ok(r: InstallSystemdResult | HeadendError): InstallSystemdResult {
  if (r instanceof HeadendError) throw r;
  return r;
}

/** systemd-analyze verify on a unit file: [exit status, everything it printed]. */
function verify(unitFile: string): [number | null, string] {
  const r = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
  return [r.status, (r.stdout + r.stderr).trim()];
}

/** `Key=value` lines of a unit (comments and sections left out). */
function keys(unit: string): string[] {
  return unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
}

t.test('installs the unit and the example config; ExecStart is node and this cli', async (t) => {
  const dir = root();
  const r = ok(await installSystemd({ root: dir }));
  const unitFile = join(dir, 'etc/systemd/system/headend.service');
  const configFile = join(dir, 'etc/headend/channels.yaml');
  t.same(r.written.sort(), [configFile, unitFile].sort());
  t.same(r.kept, []);
  t.equal(readFileSync(configFile, 'utf8'), readFileSync(EXAMPLE_CONFIG, 'utf8'));
  t.equal(EXAMPLE_CONFIG, join(REPO, 'channels.yaml'));
  const unit = readFileSync(unitFile, 'utf8');
  const k = keys(unit);
  t.ok(k.includes(`ExecStart=${process.execPath} ${CLI} run -c /etc/headend/channels.yaml`));
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'Restart=always',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'DynamicUser=yes',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
    'CapabilityBoundingSet=',
  ])
    t.ok(k.includes(line), line);
  t.ok(
    k.some((l) => /^WatchdogSec=\d+s$/.test(l)),
    'a watchdog',
  );
  t.notOk(
    unit.includes('CAP_NET_BIND_SERVICE'),
    'the example RTSP port (8554) needs no capability',
  );
  t.equal(r.bindLowPorts, false);

  if (!HAVE_ANALYZE) {
    t.comment('SKIP verify: systemd-analyze is not installed');
    return;
  }
  const [status, out] = verify(unitFile);
  t.equal(status, 0, 'systemd-analyze verify exits 0');
  t.equal(out, '', 'and prints no warning');
});

t.test('an existing config is kept; its RTSP port 554 grants CAP_NET_BIND_SERVICE', async (t) => {
  const dir = root();
  ok(await installSystemd({ root: dir }));
  const configFile = join(dir, 'etc/headend/channels.yaml');
  const mine = `headend:
  rtsp:
    listen: 0.0.0.0:554
channels:
  - number: 1
    name: Mine
    output: udp://239.255.1.1:5000
    source: { test: { pattern: smpte } }
`;
  writeFileSync(configFile, mine);
  const r = ok(await installSystemd({ root: dir, bin: process.execPath }));
  t.same(r.kept, [configFile]);
  t.equal(readFileSync(configFile, 'utf8'), mine, 'not overwritten');
  t.equal(r.bindLowPorts, true);
  const unitFile = join(dir, 'etc/systemd/system/headend.service');
  const k = keys(readFileSync(unitFile, 'utf8'));
  t.ok(k.includes('CapabilityBoundingSet=CAP_NET_BIND_SERVICE'));
  t.ok(k.includes('AmbientCapabilities=CAP_NET_BIND_SERVICE'));
  t.ok(k.includes(`ExecStart=${process.execPath} run -c /etc/headend/channels.yaml`), '--bin');
  if (HAVE_ANALYZE) t.same(verify(unitFile), [0, ''], 'systemd-analyze verify: clean');

  const high = ok(await installSystemd({ root: dir, rtspPort: 8554 }));
  t.equal(high.bindLowPorts, false, '--rtsp-port overrides the config');
  t.notOk(readFileSync(unitFile, 'utf8').includes('CAP_NET_BIND_SERVICE'));
});

t.test(
  'a config with a real-time pacing thread: the unit allows SCHED_FIFO up to it',
  async (t) => {
    const dir = root();
    const example = ok(await installSystemd({ root: dir }));
    const unitFile = join(dir, 'etc/systemd/system/headend.service');
    t.equal(example.realtimePriority, 10, 'example: the default, 10');
    const ex = keys(readFileSync(unitFile, 'utf8'));
    t.ok(ex.includes('RestrictRealtime=no'), 'example: allowed');
    t.ok(ex.includes('LimitRTPRIO=10'), 'example: up to 10');
    /** The operator's config, asking for `priority`. */
    const withPriority = (priority: number): void =>
      writeFileSync(
        join(dir, 'etc/headend/channels.yaml'),
        `headend:\n  pacing:\n    realtime_priority: ${priority}\nchannels:\n  - number: 1\n    name: Mine\n    output: udp://239.255.1.1:5000\n    source: { test: { pattern: smpte } }\n`,
      );
    withPriority(0);
    const off = ok(await installSystemd({ root: dir, bin: process.execPath }));
    t.equal(off.realtimePriority, 0);
    t.ok(keys(readFileSync(unitFile, 'utf8')).includes('RestrictRealtime=yes'), '0: forbidden');
    t.notOk(readFileSync(unitFile, 'utf8').includes('LimitRTPRIO'));
    withPriority(30);
    const r = ok(await installSystemd({ root: dir, bin: process.execPath }));
    t.equal(r.realtimePriority, 30);
    t.equal(r.pacingNice, -10, 'the pacing nice value by default');
    const k = keys(readFileSync(unitFile, 'utf8'));
    t.ok(k.includes('RestrictRealtime=no'));
    t.ok(k.includes('LimitRTPRIO=30'));
    t.notOk(k.includes('RestrictRealtime=yes'));
    if (HAVE_ANALYZE) t.same(verify(unitFile), [0, ''], 'systemd-analyze verify: clean');
  },
);

t.test(
  'the pacing nice value: LimitNICE lets the thread lower its own that far, no more',
  async (t) => {
    const dir = root();
    const example = ok(await installSystemd({ root: dir }));
    const unitFile = join(dir, 'etc/systemd/system/headend.service');
    t.equal(example.pacingNice, -10, 'example: the default');
    t.ok(keys(readFileSync(unitFile, 'utf8')).includes('LimitNICE=30'), 'RLIMIT_NICE 30: nice −10');
    if (HAVE_ANALYZE) t.same(verify(unitFile), [0, ''], 'systemd-analyze verify: clean');
    const config = (nice: number): string => `headend:
  pacing:
    nice: ${nice}
channels:
  - number: 1
    name: Mine
    output: udp://239.255.1.1:5000
    source: { test: { pattern: smpte } }
`;
    writeFileSync(join(dir, 'etc/headend/channels.yaml'), config(-15));
    t.equal(ok(await installSystemd({ root: dir })).pacingNice, -15);
    t.ok(keys(readFileSync(unitFile, 'utf8')).includes('LimitNICE=35'), 'nice −15: 35');
    writeFileSync(join(dir, 'etc/headend/channels.yaml'), config(0));
    ok(await installSystemd({ root: dir }));
    t.notOk(readFileSync(unitFile, 'utf8').includes('LimitNICE'), 'nice 0: no limit raised');
  },
);

t.test(
  'a config with a local DVB adapter: the unit opens the DVB devices and the video group',
  async (t) => {
    const dir = root();
    ok(await installSystemd({ root: dir }));
    const unitFile = join(dir, 'etc/systemd/system/headend.service');
    const example = keys(readFileSync(unitFile, 'utf8'));
    t.ok(example.includes('PrivateDevices=yes'), 'example (no tuner): no devices');
    t.notOk(
      example.some((k) => k.startsWith('DeviceAllow=')),
      'example: no DeviceAllow',
    );
    writeFileSync(
      join(dir, 'etc/headend/channels.yaml'),
      `tuners:
  - id: sat
    adapter: 0
    delivery: dvbs2
    frequency: 11494M
    polarization: h
    symbol_rate: 22000k
channels:
  - number: 1
    name: Mine
    output: udp://239.255.1.1:5000
    source: { tuner: sat, service: 1001 }
`,
    );
    const r = ok(await installSystemd({ root: dir, bin: process.execPath }));
    t.equal(r.dvb, true, 'the result says so');
    const k = keys(readFileSync(unitFile, 'utf8'));
    t.ok(k.includes('PrivateDevices=no'), 'PrivateDevices lifted');
    t.ok(k.includes('DeviceAllow=char-DVB rw'), 'DeviceAllow=char-DVB rw');
    t.ok(k.includes('DevicePolicy=closed'), 'every other device stays closed');
    t.ok(k.includes('SupplementaryGroups=video'), 'SupplementaryGroups=video');
    t.notOk(k.includes('PrivateDevices=yes'));
    if (HAVE_ANALYZE) t.same(verify(unitFile), [0, ''], 'systemd-analyze verify: clean');

    // A fire panel on a serial port as well: the serial ports and dialout join.
    writeFileSync(
      join(dir, 'etc/headend/channels.yaml'),
      readFileSync(join(dir, 'etc/headend/channels.yaml'), 'utf8').replace(
        'tuners:',
        'headend:\n  alert:\n    serial: { device: /dev/ttyUSB0 }\ntuners:',
      ),
    );
    const s = ok(await installSystemd({ root: dir, bin: process.execPath }));
    t.equal(s.serial, '/dev/ttyUSB0', 'the result names the port');
    const u = keys(readFileSync(unitFile, 'utf8'));
    for (const k of [
      'DeviceAllow=char-DVB rw',
      'DeviceAllow=char-ttyUSB rw',
      'DeviceAllow=char-ttyS rw',
    ])
      t.ok(u.includes(k), k);
    t.ok(u.includes('SupplementaryGroups=video dialout'), 'both groups');
    if (HAVE_ANALYZE) t.same(verify(unitFile), [0, ''], 'systemd-analyze verify: clean');
  },
);

const NO_ANALYZE = HAVE_ANALYZE ? false : 'systemd-analyze is not installed';
t.test(
  'the verify check is strict: a bad value or a missing binary fails it',
  { skip: NO_ANALYZE },
  async (t) => {
    const dir = root();
    const bad = join(dir, 'headend.service');
    const good = renderUnit({ command: [process.execPath], bindLowPorts: false });
    writeFileSync(bad, good.replace('Restart=always', 'Restart=sometimes'));
    t.not(verify(bad)[1], '', 'an invalid value is reported');
    writeFileSync(
      bad,
      renderUnit({ command: [join(dir, 'no-such-headend')], bindLowPorts: false }),
    );
    const [status, out] = verify(bad);
    t.not(status, 0);
    t.match(out, /no-such-headend/);
  },
);

t.test('the repository unit is the rendered default', async (t) => {
  t.equal(
    readFileSync(join(REPO, 'systemd/headend.service'), 'utf8'),
    renderUnit({ command: [DEFAULT_BIN], bindLowPorts: false }),
  );
});

t.test('the command prints what it wrote and the next steps; errors are values', async (t) => {
  const dir = root();
  const out: string[] = [];
  const errors: HeadendError[] = [];
  const io = {
    out: (s: string) => out.push(s),
    log: () => {},
    error: (e: HeadendError) => errors.push(e),
  };
  t.equal(await installSystemdCommand({ root: dir }, io), 0);
  const text = out.join('');
  t.match(text, `wrote ${join(dir, 'etc/systemd/system/headend.service')}`);
  t.match(text, 'systemctl daemon-reload');
  t.match(text, 'systemctl enable --now headend');

  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  t.equal(await installSystemdCommand({ root: file }, io), 2, 'a root that is a file');
  t.equal(errors.length, 1);
  t.equal(errors[0]!.code, 'E_IO');
});
