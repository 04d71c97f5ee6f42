// The daemon's stop deadline, in process: a stop that cannot finish (a service whose stop hangs)
// ends runDaemon 5 s after the signal with a non-zero status and a `stop-timeout` line naming
// everything that had not stopped; the stop itself carries on behind it.
import '../helpers/private-network.js';
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_STOP_TIMEOUT, STOP_DEADLINE_MS, runDaemon } from '../../src/headend/run-daemon.js';
import type { Logger, LogFields } from '../../src/headend/log.js';

interface Line {
  event: string;
  fields: LogFields;
  atMs: number;
}

function capture(lines: Line[]): Logger {
  const l: Logger = {
    log: (_level, event, fields = {}) => void lines.push({ event, fields, atMs: Date.now() }),
    child: () => l,
  };
  return l;
}

// A native UDP source (no ffmpeg) and no HTTP/RTSP: only the channel, the hub and the pacer.
const CONFIG = `headend:
  interface: 127.0.0.1
  http: false
  rtsp: false
channels:
  - number: 1
    name: Held
    output: udp://239.255.31.1:6301
    source: udp://@239.255.31.100:6300
`;

t.test(
  'a stop that hangs: status EXIT_STOP_TIMEOUT 5 s after the signal, what is left logged',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headend-stop-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'channels.yaml');
    writeFileSync(file, CONFIG);
    const lines: Line[] = [];
    let stopNow!: () => void;
    const stopSignal = new Promise<void>((r) => (stopNow = r));
    // The service lets go after 7 s, so that the stop finishes (and the pacer's thread ends)
    // before the test does.
    let released!: Promise<void>;
    const run = runDaemon({
      configFile: file,
      log: capture(lines),
      stopSignal,
      reloadOnSighup: false,
      startServices: () => [
        {
          name: 'stuck',
          stop: () => (released = new Promise((r) => setTimeout(r, 7000))),
        },
      ],
    });
    const until = Date.now() + 10_000;
    while (!lines.some((l) => l.event === 'ready') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(
      lines.some((l) => l.event === 'ready'),
      'the daemon runs',
    );
    const t0 = Date.now();
    stopNow();
    const code = await run;
    const ms = Date.now() - t0;
    t.equal(code, EXIT_STOP_TIMEOUT, 'non-zero');
    t.not(code, 0);
    t.ok(ms >= STOP_DEADLINE_MS - 100 && ms < STOP_DEADLINE_MS + 1000, `returned after ${ms} ms`);
    const timeout = lines.find((l) => l.event === 'stop-timeout');
    t.ok(timeout, 'stop-timeout logged');
    t.same(
      timeout?.fields.pending,
      ['service stuck', 'channel 1 Held', 'sources', 'pacer'],
      'everything that had not stopped, in stop order',
    );
    t.match(
      timeout?.fields.message,
      /^not stopped after 5 s: service stuck, channel 1 Held, sources, pacer; exiting$/,
    );
    t.notOk(
      lines.some((l) => l.event === 'stopped'),
      'not stopped at the deadline',
    );
    // The stop goes on behind it and ends once the service lets go.
    await released;
    const after = Date.now() + 5000;
    while (!lines.some((l) => l.event === 'stopped') && Date.now() < after) {
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(
      lines.some((l) => l.event === 'stopped'),
      'the clean stop finished afterwards',
    );
  },
);
