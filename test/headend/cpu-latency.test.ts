// holdCpuLatency: the PM QoS request is a binary s32 (µs) written to /dev/cpu_dma_latency and
// held while the file stays open. Checked on a regular file (what is written, that release
// closes) and, where this process may open it, on the real device: reading it gives the
// machine's current target, which must be our value while held.
import t from 'tap';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPU_DMA_LATENCY, holdCpuLatency } from '../../src/headend/cpu-latency.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

t.test('writes the value as a little-endian s32 and holds the file until release', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-lat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cpu_dma_latency');
  const before = openFds();
  const r = holdCpuLatency(20, file);
  if (!r.ok) throw new Error(r.message);
  t.same([...readFileSync(file)], [20, 0, 0, 0]);
  t.equal(r.hold.us, 20);
  t.equal(openFds(), before + 1, 'the file stays open: that is the request');
  r.hold.release();
  t.equal(openFds(), before, 'release closes it');
  r.hold.release();
  t.equal(openFds(), before, 'twice is harmless');
});

t.test('cannot open: a code and the path, nothing left open', async (t) => {
  const before = openFds();
  const r = holdCpuLatency(0, '/nonexistent/cpu_dma_latency');
  t.match(r, { ok: false, code: 'ENOENT', message: /\/nonexistent\/cpu_dma_latency/ });
  t.equal(openFds(), before);
  t.match(holdCpuLatency(-1), { ok: false, code: 'ERANGE' });
  t.match(holdCpuLatency(1.5), { ok: false, code: 'ERANGE' });
});

let writable = true;
try {
  accessSync(CPU_DMA_LATENCY, constants.W_OK);
} catch {
  writable = false;
}

t.test(
  'the real device reports our request while held',
  { skip: !writable && `${CPU_DMA_LATENCY} is not writable here` },
  async (t) => {
    const current = (): number => readFileSync(CPU_DMA_LATENCY).readInt32LE(0);
    const r = holdCpuLatency(0);
    if (!r.ok) throw new Error(r.message);
    t.equal(current(), 0, 'the machine-wide target is 0 µs while held');
    r.hold.release();
    t.ok(current() > 0, `released: back to ${current()} µs`);
  },
);
