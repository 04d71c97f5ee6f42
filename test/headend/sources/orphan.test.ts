// The daemon SIGKILLed: its ffmpeg children die with it (setpriv --pdeathsig KILL), both one
// that writes (a test pattern) and one that waits silently (a TCP listener no one calls).
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, marker, processesWith, waitFor } from './helpers.js';

const HUB = new URL('../../../src/headend/sources/index.js', import.meta.url).href;

t.test('SIGKILL of the parent leaves no ffmpeg behind', async (t) => {
  const dir = t.testdir({});
  const name = marker();
  const script = join(dir, 'daemon.mjs');
  writeFileSync(
    script,
    `import { SourceHub } from ${JSON.stringify(HUB)};
const hub = new SourceHub({ ffmpegPath: '/usr/bin/ffmpeg', log: () => {} });
const sub = { data() {}, restarted() {}, failed() {} };
hub.subscribe({ key: 'p', test: { pattern: 'smptebars', resolution: '320x180', rate: 25, bitrate: 200000, text: ${JSON.stringify(name)} } }, sub);
hub.subscribe({ key: 'l', url: 'tcp://127.0.0.1:15099?listen=1&${name}' }, sub);
const timer = setInterval(() => {
  const p = hub.pidOf('p'), l = hub.pidOf('l');
  if (p && l) { console.log(JSON.stringify([p, l])); clearInterval(timer); }
}, 20);
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  t.ok(await waitFor(() => out.includes(']'), 5000), 'children started');
  const pids = JSON.parse(out) as number[];
  t.same(processesWith(name).sort(), [...pids].sort(), 'both children carry the marker');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  t.ok(await waitFor(() => pids.every((p) => !alive(p)), 1000), 'gone within 1 s');
  t.same(processesWith(name), [], 'no process with the marker');
});
