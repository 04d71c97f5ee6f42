// Loading the native UDP addon (src/headend/net/native-udp.ts): it is found from an install
// whose path holds a space (a URL's pathname would be percent-encoded there and miss the file),
// and HEADEND_NATIVE_UDP=0 turns it off with the reason given. threadSlice (the pacing thread's
// scheduler slice) changes only the calling thread's slice, as /proc/<tid>/sched shows it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function load(root: string, env: NodeJS.ProcessEnv = {}): { loaded: boolean; reason: string } {
  const mod = join(root, 'dist', 'src', 'headend', 'net', 'native-udp.js');
  const code =
    `import(${JSON.stringify(mod)}).then((m) => console.log(JSON.stringify(` +
    `{ loaded: m.nativeUdp() !== undefined, reason: m.nativeUdpUnavailable() })))`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { loaded: boolean; reason: string };
}

t.test('the addon loads from a path with a space in it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend native '));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist', 'src', 'headend', 'net'), join(dir, 'dist', 'src', 'headend', 'net'), {
    recursive: true,
  });
  cpSync(
    join(ROOT, 'native', 'build', 'Release', 'headend_udp.node'),
    join(dir, 'native', 'build', 'Release', 'headend_udp.node'),
  );
  t.same(load(dir), { loaded: true, reason: '' });
});

t.test('HEADEND_NATIVE_UDP=0 turns it off and says so', async (t) => {
  const r = load(ROOT, { HEADEND_NATIVE_UDP: '0' });
  t.equal(r.loaded, false);
  t.match(r.reason, /HEADEND_NATIVE_UDP=0/);
});

t.test('an addon that is not built is named with the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend-nobuild-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist', 'src', 'headend', 'net'), join(dir, 'dist', 'src', 'headend', 'net'), {
    recursive: true,
  });
  const r = load(dir);
  t.equal(r.loaded, false);
  t.match(r.reason, /headend_udp\.node is not built \(npm install builds it/);
});

/** Linux 6.12 or later: EEVDF takes sched_runtime as a SCHED_OTHER thread's own slice. */
const customSlices = ((r) => r[0] > 6 || (r[0] === 6 && r[1] >= 12))(
  release().split('.').map(Number),
);

t.test('threadSlice: the calling thread gets its slice, keeps its policy and nice', async (t) => {
  // In a worker (the pacing thread is one), after raising its nice value to 5 (always allowed).
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readFileSync, readlinkSync } = require('node:fs');
    const os = require('node:os');
    const m = require(workerData.addon);
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, 5);
    const r = m.threadSlice(100000);
    const sched = readFileSync('/proc/' + tid + '/sched', 'utf8');
    const stat = readFileSync('/proc/' + tid + '/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parentPort.postMessage({ r, tid, slice: Number((/^se\\.slice\\s*:\\s*(\\d+)/m.exec(sched) || [])[1]),
      nice: Number(f[19 - 3]), policy: Number(f[41 - 3]) });`;
  const addon = join(ROOT, 'native', 'build', 'Release', 'headend_udp.node');
  const worker = new Worker(src, { eval: true, workerData: { addon } });
  t.teardown(() => worker.terminate());
  const got = await new Promise<{
    r: number;
    tid: number;
    slice: number;
    nice: number;
    policy: number;
  }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  t.equal(got.r, 0, 'sched_setattr succeeded');
  t.equal(got.nice, 5, 'the nice value kept');
  t.equal(got.policy, 0, 'SCHED_OTHER kept');
  if (customSlices) t.equal(got.slice, 100000, 'the kernel took 0.1 ms as its slice');
  const mainSched = readFileSync(`/proc/${process.pid}/sched`, 'utf8');
  t.not(/^se\.slice\s*:\s*(\d+)/m.exec(mainSched)?.[1], '100000', 'the main thread keeps its own');
});
