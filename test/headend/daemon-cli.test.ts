// `headend reload` and `headend status` against a stub of the daemon's HTTP surface
// (node:http on 127.0.0.1, in the private namespace): what they send, what they print, and
// their exit statuses (0 applied / 1 rejected or unreachable).
import '../helpers/private-network.js';
import t from 'tap';
import type { Test } from 'tap';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function stub(
  t: Test,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

t.test('headend reload: applied', async (t) => {
  const seen: string[] = [];
  const url = await stub(t, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    json(res, 200, {
      ok: true,
      errors: [],
      added: ['sport'],
      removed: [],
      restarted: ['news'],
      updated: ['movies'],
      unchanged: ['a', 'b'],
      restartRequired: ['http'],
    });
  });
  const r = await cli(['reload', '--url', url]);
  t.equal(r.code, 0, r.stderr);
  t.same(seen, ['POST /api/reload']);
  t.match(r.stdout, /^reloaded\n/);
  t.match(r.stdout, /added\s+sport\n/);
  t.match(r.stdout, /restarted\s+news\n/);
  t.match(r.stdout, /updated\s+movies\n/);
  t.match(r.stdout, /unchanged\s+2 channel/);
  t.match(r.stdout, /restart the daemon to apply changed settings: http/);
});

t.test('headend reload: rejected prints each error and exits 1', async (t) => {
  const url = await stub(t, (_req, res) =>
    json(res, 422, {
      ok: false,
      errors: [
        '/etc/headend/channels.yaml:12:5: bad bitrate',
        '/etc/headend/channels.yaml:20:3: x',
      ],
      added: [],
      removed: [],
      restarted: [],
      updated: [],
      unchanged: [],
    }),
  );
  const r = await cli(['reload', '--url', url]);
  t.equal(r.code, 1);
  t.match(r.stdout, /reload rejected: the running configuration is unchanged \(2 errors\)/);
  t.match(r.stdout, /channels\.yaml:12:5: bad bitrate/);
  t.match(r.stdout, /channels\.yaml:20:3: x/);
  const j = await cli(['reload', '--url', url, '--json']);
  t.equal(j.code, 1);
  t.equal(JSON.parse(j.stdout).errors.length, 2, '--json prints the result');
});

t.test('headend reload / status: unreachable daemon exits 1 with a clear message', async (t) => {
  // A port that was just free: listen, note it, close.
  const url = await new Promise<string>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
  for (const verb of ['reload', 'status']) {
    const r = await cli([verb, '--url', url]);
    t.equal(r.code, 1, verb);
    t.match(r.stderr, /cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  }
});

const CHANNELS = {
  headend: { name: 'Test Headend', version: '0.1.0', uptimeSec: 3725 },
  channels: [
    {
      number: 101,
      name: 'News',
      slug: 'news',
      provider: 'headend',
      output: 'udp://239.1.1.1:5000',
      state: 'running',
      sourceIndex: 0,
      source: 'udp://@239.0.0.1:1234',
      bitrate: 4_250_000,
      restarts: 2,
      failovers: 0,
      datagramsSent: 100,
      datagramsDropped: 0,
      remux: { inputCcErrors: 3 },
    },
    {
      number: 7,
      name: 'Sport HD',
      slug: 'sport-hd',
      provider: 'headend',
      output: 'udp://239.1.1.2:5000',
      state: 'failover',
      sourceIndex: 1,
      source: 'http://backup.example/sport.ts',
      bitrate: 800_000,
      restarts: 0,
      failovers: 4,
      lastError: 'udp://@239.0.0.2:1234: stall',
      datagramsSent: 10,
      datagramsDropped: 1,
      remux: { inputCcErrors: 0 },
    },
  ],
};

t.test('headend status: one aligned line per channel', async (t) => {
  const seen: string[] = [];
  const url = await stub(t, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    json(res, 200, CHANNELS);
  });
  const r = await cli(['status', '--url', url]);
  t.equal(r.code, 0, r.stderr);
  t.same(seen, ['GET /api/channels']);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 4, 'header, column titles, two channels');
  t.match(lines[0], /^Test Headend \(headend 0\.1\.0\), up 1h2m, 2 channel\(s\)$/);
  const cols = (l: string): string[] =>
    l
      .trim()
      .split(/\s{2,}/)
      .map((c) => c.trim());
  t.same(cols(lines[1]), [
    '#',
    'NAME',
    'STATE',
    'MBIT/S',
    'SOURCE',
    'RESTARTS/FAILOVERS',
    'CC',
    'LAST ERROR',
  ]);
  t.same(cols(lines[2]), [
    '101',
    'News',
    'running',
    '4.25',
    '#0 udp://@239.0.0.1:1234',
    '2/0',
    '3',
    '-',
  ]);
  t.same(cols(lines[3]), [
    '7',
    'Sport HD',
    'failover',
    '0.80',
    '#1 http://backup.example/sport.ts',
    '0/4',
    '0',
    'udp://@239.0.0.2:1234: stall',
  ]);
  // Aligned: every column starts at the same offset on every line.
  const at = (l: string, s: string): number => l.indexOf(s);
  t.equal(at(lines[2], 'running'), at(lines[3], 'failover'));
  t.equal(at(lines[2], '#0 '), at(lines[3], '#1 '));
  const j = await cli(['status', '--url', url, '--json']);
  t.same(JSON.parse(j.stdout), CHANNELS, '--json prints the document');
});
