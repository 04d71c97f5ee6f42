// Egress interfaces on the real daemon: a file naming an interface this machine does not have
// (every output would fail to open, every channel silent) is refused by `run` (exit 1, the
// error at file:line:column) and by a reload (SIGHUP and POST /api/reload: reload-rejected,
// nothing touched, the channels stream on and stay running).
import '../helpers/private-network.js';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, marker, openRecorder, sleep, startDaemon, stopAndCheck, tempDir } from './helpers.js';

const GROUP = '239.255.33.1';
const PORT = 6331;

function configText(text: string, head = '  interface: 127.0.0.1\n'): string {
  return (
    `headend:\n${head}  http: { listen: 127.0.0.1:0 }\n  rtsp: false\nchannels:\n` +
    `  - number: 1\n    name: Iface\n    output: udp://${GROUP}:${PORT}\n` +
    `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 15, ` +
    `bitrate: 150k, text: ${text} }\n`
  );
}

t.test('run refuses a file whose interface is not on this machine (exit 1)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'channels.yaml');
  writeFileSync(file, configText('x', '  interface: eth9\n'));
  const r = spawnSync(process.execPath, [CLI, 'run', '-c', file], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(r.status, 1, r.stderr);
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; message?: string });
  t.match(
    lines.find((l) => l.event === 'config-error')?.message,
    new RegExp(`^${file}:2:14: headend\\.interface: no interface 'eth9' on this machine`),
  );
  t.notOk(
    lines.some((l) => l.event === 'ready' || l.event === 'channel-start'),
    'nothing started',
  );
});

t.test(
  'a reload to an interface that is not here is rejected; the channel streams on',
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'channels.yaml');
    const text = marker('iface');
    writeFileSync(file, configText(text));
    const d = startDaemon(t, { file });
    const http = await d.waitFor((e) => e.event === 'http-listening', 15_000);
    const api = `http://127.0.0.1:${String(http.port)}`;
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    const rec = await openRecorder(t, GROUP, PORT);

    // SIGHUP with a missing interface name, then POST /api/reload with an address not ours.
    let from = d.events.length;
    writeFileSync(file, configText(text, '  interface: eth9\n'));
    d.proc.kill('SIGHUP');
    await d.waitFor((e) => e.event === 'reload-rejected', 15_000, from);
    const errors = d.events.slice(from).filter((e) => e.event === 'config-error');
    t.equal(errors.length, 1);
    t.match(
      String(errors[0]?.message),
      new RegExp(`^${file}:2:14: headend\\.interface: no interface 'eth9' on this machine`),
    );

    writeFileSync(
      file,
      configText(text).replace('    output:', '    interface: 192.0.2.77\n    output:'),
    );
    const res = await fetch(`${api}/api/reload`, { method: 'POST' });
    const body = (await res.json()) as { ok: boolean; errors: string[] };
    t.equal(body.ok, false, 'the API says rejected');
    t.match(body.errors, [
      new RegExp(`^${file}:8:16: channels\\[0\\]\\.interface: 192\\.0\\.2\\.77 is not an address`),
    ]);
    t.notOk(
      d.events
        .slice(from)
        .some((e) =>
          /^(reload|channel-(restarted|stop|start|updated)|output-failed)$/.test(e.event),
        ),
      'no channel touched',
    );

    // The channel keeps streaming, and says so.
    from = rec.datagrams.length;
    await sleep(1500);
    t.ok(rec.datagrams.length - from > 20, `${rec.datagrams.length - from} datagrams in 1.5 s`);
    const st = (await (await fetch(`${api}/api/channels`)).json()) as {
      channels: { state: string; bitrate: number }[];
    };
    t.equal(st.channels[0]?.state, 'running');
    t.ok((st.channels[0]?.bitrate ?? 0) > 0);
    const health = await fetch(`${api}/healthz`);
    t.equal(health.status, 200, 'healthy');
    await rec.close();
    await stopAndCheck(t, d, [text]);
  },
);
