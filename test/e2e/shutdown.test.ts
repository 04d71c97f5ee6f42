// Shutdown and logs of the daemon (issue 5): SIGKILL of the daemon leaves no ffmpeg child
// (they run under a parent-death signal); SIGINT and SIGTERM stop it cleanly with exit 0 within
// 5 s and no child left, also when the signal comes twice (the second one does not cut the
// clean stop short); `--log-format logfmt` puts the channel on every channel line and
// `--log-level warn` drops info lines.
import '../helpers/private-network.js';
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, livePids, marker, pidsWithMarker, sleep, startDaemon, tempDir } from './helpers.js';

function config(texts: string[], base = 1): string {
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\nchannels:\n` +
    texts
      .map(
        (text, i) =>
          `  - number: ${base + i}\n    name: Stop ${base + i}\n` +
          `    output: udp://239.255.27.${base + i}:${6700 + base + i}\n` +
          `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 15, ` +
          `bitrate: 150k, text: ${text} }\n`,
      )
      .join('')
  );
}

async function gone(needle: string, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = livePids(pidsWithMarker(needle));
    if (left.length === 0 || Date.now() > until) return left;
    await sleep(50);
  }
}

t.test('SIGKILL of the daemon leaves no ffmpeg process', async (t) => {
  const texts = [marker('kill1'), marker('kill2')];
  const d = startDaemon(t, { text: config(texts) });
  for (const n of [1, 2])
    await d.waitFor((e) => e.event === 'source-up' && e.channel === `${n} Stop ${n}`, 20_000);
  for (const m of texts) t.equal(livePids(pidsWithMarker(m)).length, 1, `ffmpeg with ${m} runs`);
  d.proc.kill('SIGKILL');
  const r = await d.exited;
  t.equal(r.signal, 'SIGKILL');
  for (const m of texts) t.same(await gone(m, 3000), [], `no process left with ${m}`);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${sig}: exit 0 within 5 s, no child left`, async (t) => {
    const texts = [marker(`${sig}a`)];
    const d = startDaemon(t, { text: config(texts, 3) });
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    const t0 = Date.now();
    d.proc.kill(sig);
    const r = await d.exited;
    t.equal(r.code, 0, `exit 0 (signal ${r.signal})`);
    t.ok(Date.now() - t0 < 5000, 'within 5 s');
    t.ok(
      d.events.some((e) => e.event === 'stopped'),
      'stopped logged',
    );
    t.same(await gone(texts[0], 1000), [], 'no ffmpeg left');
  });
}

t.test('SIGTERM twice: the clean stop goes on, exit 0 within 5 s, no child left', async (t) => {
  const texts = [marker('twice1'), marker('twice2')];
  const d = startDaemon(t, { text: config(texts, 8) });
  for (const n of [8, 9])
    await d.waitFor((e) => e.event === 'source-up' && e.channel === `${n} Stop ${n}`, 20_000);
  const pids = d.childPids();
  t.equal(pids.length, 2, 'two ffmpeg children');
  const t0 = Date.now();
  d.proc.kill('SIGTERM');
  await d.waitFor((e) => e.event === 'stopping', 5000);
  d.proc.kill('SIGTERM'); // as systemd or an impatient operator would, during the stop
  const r = await d.exited;
  const ms = Date.now() - t0;
  t.same(r, { code: 0, signal: null }, 'exit 0, not killed by the second signal');
  t.ok(ms < 5000, `within 5 s (${ms} ms)`);
  t.ok(
    d.events.some((e) => e.event === 'stop-signal-again' && e.signal === 'SIGTERM'),
    'the second signal is logged',
  );
  const order = ['stopping', 'channel-stop', 'stopped'].map((ev) =>
    d.events.findIndex((e) => e.event === ev),
  );
  t.ok(
    order.every((i) => i >= 0) && order[0] < order[1] && order[1] < order[2],
    `the clean stop's lines in order (${order.join(', ')})`,
  );
  t.equal(d.events.filter((e) => e.event === 'channel-stop').length, 2, 'both channels stopped');
  t.notOk(
    d.events.some((e) => e.event === 'stop-timeout'),
    'no timeout',
  );
  for (const m of texts) t.same(await gone(m, 1000), [], `no ffmpeg left with ${m}`);
  t.same(livePids(pids), [], 'no ffmpeg child of the daemon left');
});

function runRaw(t: Test, file: string, args: string[]) {
  const proc = spawn(process.execPath, [CLI, 'run', '-c', file, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let tail = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => {
    tail += s;
    const parts = tail.split('\n');
    tail = parts.pop()!;
    lines.push(...parts.filter((l) => l !== ''));
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, lines, exited };
}

t.test('--log-format logfmt carries the channel; --log-level warn drops info', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'channels.yaml');
  const m = marker('fmt');
  writeFileSync(file, config([m], 5));
  const a = runRaw(t, file, ['--log-format', 'logfmt', '--log-level', 'debug']);
  const until = Date.now() + 20_000;
  while (!a.lines.some((l) => l.includes('event=source-up')) && Date.now() < until)
    await sleep(100);
  a.proc.kill('SIGTERM');
  t.equal(await a.exited, 0);
  t.ok(a.lines.length > 3, `${a.lines.length} lines`);
  for (const l of a.lines) t.match(l, /^ts=\S+ level=(debug|info|warn|error) event=\S+/, l);
  const channelLines = a.lines.filter((l) =>
    /event=(channel-start|source-up|channel-stop)\b/.test(l),
  );
  t.equal(channelLines.length, 3, 'start, source-up, stop');
  for (const l of channelLines) t.match(l, / channel="5 Stop 5"/);

  const b = runRaw(t, file, ['--log-level', 'warn']);
  await sleep(2000);
  b.proc.kill('SIGTERM');
  t.equal(await b.exited, 0);
  t.notOk(
    b.lines.some((l) => /"level":"(info|debug)"/.test(l)),
    `no info/debug lines at warn (${b.lines.length} lines)`,
  );
  const bad = runRaw(t, file, ['--log-level', 'loud']);
  t.equal(await bad.exited, 2, 'an unknown level is a usage error');
});
