// End-to-end tests of the `headend` command line, run as a child process (node dist/src/cli.js).
// The network cases send multicast on `lo`: npm test runs tap inside the private network
// namespace (scripts/in-netns.sh), so nothing leaves the machine.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtpWrapper } from '../../src/mpegts/rtp.js';
import type { AnalyzerReport } from '../../src/mpegts/analyzer/report.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const FFMPEG = '/usr/bin/ffmpeg';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStderr` sees stderr as it arrives (to wait for the 'listening' log). */
function run(args: string[], onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The child's output as diagnostics for a failed assertion. */
function output(r: Run): { stdout: string; stderr: string } {
  return { stdout: r.stdout.slice(0, 4000), stderr: r.stderr.slice(0, 4000) };
}

/** A stack frame line, which a user-facing error must not show. */
const STACK_FRAME = /\n\s+at .+:\d+:\d+/;

const dir = t.testdir();
const source = join(dir, 'ffmpeg.ts');

t.before(() => {
  if (!existsSync(FFMPEG)) throw new Error(`${FFMPEG} is needed (apt-get install ffmpeg)`);
  // The command from the task: 4 s of test pattern and tone, H.264 + AAC.
  const r = spawnSync(
    FFMPEG,
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=1000'],
      ...['-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'mpegts'],
      source,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
});

/** Parses `analyze --json` output: one { input, report } object per line. */
function reports(stdout: string): { input: string; report: AnalyzerReport }[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

t.test('--help lists the verbs; exit 0', async (t) => {
  const r = await run(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Usage: headend/);
  t.match(r.stdout, /analyze/);
  t.match(r.stdout, /remux/);
  const a = await run(['analyze', '--help']);
  t.equal(a.code, 0);
  t.match(a.stdout, /--seconds/);
  t.match(a.stdout, /--pid-timeout/);
  const v = await run(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+/);
});

t.test('remux an ffmpeg file, then analyze the result: no priority-1 errors', async (t) => {
  const out = join(dir, 'remuxed.ts');
  const r = await run([
    'remux',
    source,
    out,
    '--service-name',
    'Test Card',
    '--provider',
    'headend tests',
    '--program-number',
    '101',
    '--tsid',
    '7',
    '--psi-interval',
    '100ms',
  ]);
  t.equal(r.code, 0, 'exit 0', output(r));
  t.match(r.stdout, /^remux: [1-9]\d* packets in, [1-9]\d* out .* 0 splices, 0 bytes skipped/);
  t.equal(r.stdout.trim().split('\n').length, 1, 'one summary line');
  t.ok(existsSync(out) && readFileSync(out).length % 188 === 0, 'whole packets');

  const a = await run(['analyze', out]);
  t.equal(a.code, 0, 'exit 0', output(a));
  t.ok(a.stdout.length > 0, 'prints a report');

  const j = await run(['analyze', '--json', out]);
  t.equal(j.code, 0);
  const [only] = reports(j.stdout);
  t.equal(only.input, out);
  t.equal(only.report.priority1Errors, 0);
  t.match(only.report.programs, [
    { programNumber: 101, serviceName: 'Test Card', providerName: 'headend tests' },
  ]);
});

t.test('remux --cbr pads to a constant rate', async (t) => {
  const out = join(dir, 'cbr.ts');
  const r = await run(['remux', source, out, '--cbr', '2M']);
  t.equal(r.code, 0, 'exit 0', output(r));
  t.match(r.stdout, /[1-9]\d* null/);
  const a = await run(['analyze', out]);
  t.equal(a.code, 0, 'exit 0', output(a));
});

t.test('analyze a corrupted file: exit 1', async (t) => {
  const bad = join(dir, 'corrupt.ts');
  copyFileSync(source, bad);
  const b = readFileSync(bad);
  const n = Math.floor(b.length / 188);
  // Lose sync for 10 packets in the middle, and cut 3 packets out a bit later (CC errors).
  const mid = Math.floor(n / 2) * 188;
  for (let i = 0; i < 10; i++) b[mid + i * 188] = 0x00;
  const cut = mid + 200 * 188;
  writeFileSync(bad, Buffer.concat([b.subarray(0, cut), b.subarray(cut + 3 * 188)]));
  const r = await run(['analyze', bad]);
  t.equal(r.code, 1, 'exit 1', output(r));
  const j = await run(['analyze', '--json', bad]);
  t.equal(j.code, 1);
  t.ok(reports(j.stdout)[0].report.priority1Errors > 0);
  // One good and one bad input: still 1, and both reports are printed.
  const both = await run(['analyze', '--json', source, bad]);
  t.equal(both.code, 1);
  t.equal(reports(both.stdout).length, 2);
});

t.test(
  'analyze shows DTS − PCR per stream; --min-dts-margin sets the warning threshold',
  async (t) => {
    const r = await run(['analyze', source]);
    t.equal(r.code, 0, 'exit 0', output(r));
    t.match(r.stdout, /PID 0x0100 video h264: DTS−PCR min -?\d+\.\d ms max \d+\.\d ms \(\d+ PES\)/);
    t.match(r.stdout, /PID 0x0101 audio aac: DTS−PCR min/);
    const j = await run(['analyze', '--json', '--min-dts-margin', '20ms', source]);
    t.equal(j.code, 0, 'exit 0', output(j));
    const d = reports(j.stdout)[0].report.decodeMargin;
    t.equal(d?.minMarginMs, 20);
    t.equal(d?.maxMarginMs, 1000);
    t.equal(d?.streams.length, 2);
  },
);

t.test('analyze random bytes with a planted PAT: no transport stream, exit 1', async (t) => {
  const src = readFileSync(source);
  const noise = join(dir, 'noise.bin');
  const b = Buffer.alloc(1_000_000);
  let x = 12345;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  src.copy(b, 500_000, 0, 188); // ffmpeg writes its SDT, PAT, PMT first: take the first packet
  writeFileSync(noise, b);
  const r = await run(['analyze', noise]);
  t.equal(r.code, 1, 'exit 1, as for priority-1 errors', output(r));
  t.match(r.stdout, /No MPEG transport stream found/);
  t.notMatch(r.stdout, /Program \d/);
  const j = await run(['analyze', '--json', noise]);
  t.equal(j.code, 1);
  const rep = reports(j.stdout)[0].report;
  t.equal(rep.noTransportStream, true);
  t.equal(rep.verdict, 'no MPEG transport stream found');
  t.same(rep.programs, []);
});

t.test('bad arguments and unusable inputs: exit 2 with a clear message', async (t) => {
  const cases: [string[], RegExp][] = [
    [['analyze'], /missing required argument 'input'/],
    [['remux', source], /missing required argument 'out'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['analyze', '--bogus', source], /unknown option '--bogus'/],
    [['analyze', '--seconds', 'soon', 'udp://@239.255.0.1:5000'], /bad duration 'soon/],
    [['remux', '--cbr', 'fast', source, join(dir, 'o.ts')], /bad bitrate 'fast'/],
    // A rate this high laid out billions of null slots per PCR interval: it never finished.
    [
      ['remux', '--cbr', '99999G', source, join(dir, 'o.ts')],
      /bad bitrate '99999G': a CBR mux rate is 250k to 100M/,
    ],
    [['remux', '--program-number', '0', source, join(dir, 'o.ts')], /1 to 65535/],
    [['analyze', join(dir, 'missing.ts')], /cannot open '.*missing\.ts': no such file/],
    [['analyze', 'udp://@999.0.0.1:5000'], /'999\.0\.0\.1' is not an IPv4 address/],
    [['analyze', 'http://example.invalid/x.ts'], /unsupported scheme/],
    [['remux', join(dir, 'missing.ts'), join(dir, 'o.ts')], /cannot open/],
    [['remux', source, source], /same file/],
    [['remux', source, join(dir, 'no-such-dir', 'o.ts')], /cannot create/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re, args.join(' '));
    t.notMatch(r.stderr, STACK_FRAME, 'no stack trace');
  }
});

t.test('a network input that receives nothing: exit 1 with a no-data warning', async (t) => {
  const r = await run(['analyze', 'udp://@239.255.0.3:5003', '--seconds', '300ms']);
  t.equal(r.code, 1, 'exit 1', output(r));
  t.match(r.stderr, /"event":"no-data"/);
});

/**
 * Sends `file` to group:port in 7-packet datagrams paced at the file's average rate (4 s of
 * content), RTP-wrapped when `rtp`. Stops at `stopAt` ms or when `done` says so.
 */
async function pace(
  file: string,
  group: string,
  port: number,
  rtp: boolean,
  done: () => boolean,
): Promise<number> {
  const bytes = readFileSync(file);
  const datagrams: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; p += 1316) datagrams.push(bytes.subarray(p, p + 1316));
  const intervalMs = 4000 / datagrams.length;
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastTTL(1);
  const w = new RtpWrapper();
  const start = performance.now();
  let sent = 0;
  while (sent < datagrams.length && !done()) {
    const due = Math.min(datagrams.length, Math.floor((performance.now() - start) / intervalMs));
    for (; sent < due; sent++) {
      const d = datagrams[sent];
      const msg = rtp ? Uint8Array.from(w.wrap(d, Math.round(sent * intervalMs * 90))) : d;
      await new Promise<void>((resolve, reject) =>
        s.send(msg, port, group, (err) => (err ? reject(err) : resolve())),
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  s.close();
  return sent;
}

for (const [scheme, group, port] of [
  ['udp', '239.255.0.1', 5000],
  ['rtp', '239.255.0.2', 5002],
] as const) {
  t.test(
    `analyze ${scheme}://@${group}:${port} --seconds 2 while a sender paces a file`,
    async (t) => {
      let listening!: () => void;
      const ready = new Promise<void>((resolve) => (listening = resolve));
      let exited = false;
      const child = run(
        ['analyze', `${scheme}://@${group}:${port}`, '--seconds', '2', '--json'],
        (e) => {
          if (e.includes('"event":"listening"')) listening();
        },
      ).finally(() => {
        exited = true;
        listening();
      });
      await ready;
      const sent = await pace(source, group, port, scheme === 'rtp', () => exited);
      const r = await child;
      t.equal(r.code, 0, 'exit 0', output(r));
      t.ok(sent > 100, `sent ${sent} datagrams`);
      const logs = r.stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      t.match(logs[0], { level: 'info', event: 'listening', multicast: true, port });
      const received = logs.find((l) => l.event === 'received');
      t.ok(received?.datagrams > 100, `received ${received?.datagrams} datagrams`);
      if (scheme === 'rtp') t.equal(received?.rtpDatagrams, received?.datagrams, 'all RTP');
      else t.equal(received?.rtpDatagrams, 0);
      const [only] = reports(r.stdout);
      t.equal(only.report.priority1Errors, 0);
      t.equal(only.report.totals.timeBase, 'arrival', 'timed by arrival');
      t.ok(only.report.totals.packets > 1000, `${only.report.totals.packets} packets analysed`);
    },
  );
}
