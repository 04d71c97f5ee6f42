// sd_notify through systemd-notify: a fake NOTIFY_SOCKET (python3 receiving on an AF_UNIX
// SOCK_DGRAM socket, by path or abstract) gets READY=1, WATCHDOG=1, RELOADING=1 and STOPPING=1,
// from the Notifier alone and from a real `headend run` daemon. Abstract sockets belong to the
// network namespace, and the daemon opens multicast sockets: run through scripts/in-netns.sh.
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createNotifier, watchdogIntervalMs } from '../../src/headend/notify.js';
import { createLogger } from '../../src/headend/log.js';
import { startDaemon, tempDir } from '../e2e/helpers.js';

// Prints "LISTENING" once bound, then one JSON line per datagram (list of its lines). Plain
// recv() takes no ancillary data, so the kernel closes the fd of systemd-notify's BARRIER=1,
// which is how the manager acknowledges it.
const RECEIVER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print('LISTENING', flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode().split('\\n')), flush=True)
`;

interface Receiver {
  messages: string[][];
  waitFor(pred: (m: string[]) => boolean, timeoutMs: number): Promise<string[]>;
}

async function receiver(t: Test, address: string): Promise<Receiver> {
  const proc = spawn('python3', ['-c', RECEIVER, address], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    proc.kill(); // our own child, by its pid
  });
  const messages: string[][] = [];
  const waiters = new Set<() => void>();
  let tail = '';
  let listening: () => void = () => {};
  const ready = new Promise<void>((r) => (listening = r));
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (s: string) => {
    tail += s;
    let nl: number;
    while ((nl = tail.indexOf('\n')) >= 0) {
      const line = tail.slice(0, nl);
      tail = tail.slice(nl + 1);
      if (line === 'LISTENING') listening();
      else {
        const fields = (JSON.parse(line) as string[]).filter((f) => f !== '');
        if (!fields.includes('BARRIER=1')) messages.push(fields);
      }
    }
    for (const w of [...waiters]) w();
  });
  await ready;
  const waitFor = (pred: (m: string[]) => boolean, timeoutMs: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = messages.find(pred);
        if (hit) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching notification; got ${JSON.stringify(messages)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { messages, waitFor };
}

const has = (field: string) => (m: string[]) => m.includes(field);

t.test('without NOTIFY_SOCKET every call is a no-op', async (t) => {
  const lines: string[] = [];
  const n = createNotifier({
    log: createLogger({ write: (l) => lines.push(l) }),
    env: { WATCHDOG_USEC: '1000' },
    binary: '/nonexistent/systemd-notify', // would log notify-failed if anything were sent
  });
  t.equal(n.enabled, false);
  n.ready('up');
  n.reloading();
  n.status('x');
  n.stopping();
  await n.flush();
  n.close();
  t.same(lines, [], 'nothing sent, no watchdog started, nothing logged');
});

t.test('watchdog interval: half of WATCHDOG_USEC, only for our pid', async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 15_000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), null);
  t.equal(watchdogIntervalMs({}, 42), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 42), null);
});

t.test('abstract socket: ready, watchdog, reloading, stopping, in order', async (t) => {
  const address = `@headend-notify-test-${randomBytes(4).toString('hex')}`;
  const rx = await receiver(t, address);
  const lines: string[] = [];
  const n = createNotifier({
    log: createLogger({ write: (l) => lines.push(l) }),
    env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000', PATH: process.env.PATH },
  });
  t.equal(n.enabled, true);
  n.ready('2 channels\nrunning');
  await rx.waitFor(has('WATCHDOG=1'), 10_000);
  n.reloading('reloading');
  n.ready('3 channels');
  n.stopping('bye');
  await n.flush();
  await rx.waitFor(has('STOPPING=1'), 10_000);
  n.close();
  const m = rx.messages;
  t.same(m[0], ['READY=1', 'STATUS=2 channels running'], 'READY with a one-line STATUS');
  const reload = m.findIndex(has('RELOADING=1'));
  t.ok(reload > 0, 'RELOADING=1 after READY=1');
  const usec = m[reload]!.find((f) => f.startsWith('MONOTONIC_USEC='));
  t.match(usec, /^MONOTONIC_USEC=\d+$/, 'RELOADING carries MONOTONIC_USEC');
  t.same(m[reload + 1], ['READY=1', 'STATUS=3 channels']);
  t.same(m[m.length - 1], ['STOPPING=1', 'STATUS=bye'], 'STOPPING=1 is last');
  t.ok(m.slice(1, reload).every(has('WATCHDOG=1')), 'watchdog pings between');
  t.notOk(
    lines.some((l) => l.includes('notify-failed')),
    'no send failed',
  );
});

t.test('a real daemon: READY=1, WATCHDOG=1, STOPPING=1', async (t) => {
  const dir = tempDir(t);
  const socketPath = join(dir, 'notify.sock');
  const rx = await receiver(t, socketPath);
  // startDaemon spawns with this process's environment.
  process.env.NOTIFY_SOCKET = socketPath;
  process.env.WATCHDOG_USEC = '500000';
  t.teardown(() => {
    delete process.env.NOTIFY_SOCKET;
    delete process.env.WATCHDOG_USEC;
  });
  const d = startDaemon(t, {
    text: `
headend:
  interface: 127.0.0.1
  ttl: 1
channels:
  - number: 61
    name: Notify
    output: udp://239.255.61.1:6601
    source:
      test: { pattern: smpte, resolution: 160x90, rate: 10, bitrate: 100k }
`,
  });
  const ready = await rx.waitFor(has('READY=1'), 20_000);
  t.same(ready, ['READY=1', 'STATUS=1 channels']);
  t.ok(
    d.events.some((e) => e.event === 'ready'),
    'READY=1 comes after the daemon logged ready',
  );
  await rx.waitFor(has('WATCHDOG=1'), 10_000);
  t.ok(d.events.some((e) => e.event === 'watchdog' && e.intervalMs === 250));
  const exit = await d.stop();
  t.equal(exit.code, 0, 'exits 0 on SIGTERM');
  await rx.waitFor(has('STOPPING=1'), 5_000);
  const stopIdx = rx.messages.findIndex(has('STOPPING=1'));
  t.equal(stopIdx, rx.messages.length - 1, 'STOPPING=1 is the last notification');
  t.notOk(
    d.events.some((e) => e.event === 'notify-failed'),
    'no notification failed',
  );
});
