// Local DVB adapters through a real SourceHub, against the stand-ins of test/helpers/dvb (no
// tuner hardware or dvb_vidtv here): the named failures an operator meets — adapter missing,
// busy, no lock after the tune timeout — each ending the run with a message naming the tuner
// and the device, the supervisor backing off, and the front end's statistics as the source's
// status. Also: nothing is left running after a failure or a close.
import '../../../helpers/private-network.js'; // the stand-ins run beside socket tests: inside the namespace
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { SourceHub } from '../../../../src/headend/sources/hub.js';
import type { SourceSpec } from '../../../../src/headend/sources/types.js';
import type { DvbTunerSpec } from '../../../../src/headend/tuners/types.js';
import { makeMpts } from '../../../helpers/mpts.js';
import { pidsWithMarker, tempDir, marker } from '../../../e2e/helpers.js';
import { standinAdapter } from '../../../helpers/dvb/adapter.js';
import { EventLog, Recorder, waitFor } from '../../sources/helpers.js';

let MPTS = '';
t.before(() => {
  MPTS = join(tempDir(t), 'mpts.ts');
  makeMpts(MPTS, [{ service: 1, name: 'One', size: [192, 108], pattern: 'testsrc' }], 6);
});

/** A devices directory with adapter0 (frontend0, demux0, dvr0 = the MPTS) and the stand-ins. */
function adapter(t: Test, state?: string): { spec: DvbTunerSpec; dir: string; tag: string } {
  const tag = marker('dvbrun');
  const dir = join(tempDir(t), tag);
  const { devices, zap, demux } = standinAdapter(dir, MPTS, 0, state);
  const spec: DvbTunerSpec = {
    id: 'roof',
    kind: 'dvb',
    adapter: 0,
    frontend: 0,
    tuning: { delivery: 'dvbt2', frequencyHz: 474e6, bandwidthHz: 8e6 },
    tuneTimeoutMs: 1000,
    devices,
    zap,
    demux,
  };
  return { spec, dir, tag };
}

function hub(t: Test) {
  const log = new EventLog();
  const h = new SourceHub({
    log: log.log,
    backoff: { initialMs: 200, maxMs: 800 },
    random: () => 0.5,
  });
  t.teardown(() => h.close());
  return { h, log };
}
const source = (tuner: DvbTunerSpec): SourceSpec => ({
  key: `tuner:${tuner.id}`,
  tuner,
  service: 1,
});

t.test('a locked adapter delivers its multiplex and reports lock, signal, C/N', async (t) => {
  const { spec } = adapter(t);
  const { h } = hub(t);
  const rec = new Recorder();
  h.subscribe(source(spec), rec);
  await waitFor(() => rec.program !== null, 10_000);
  t.equal(rec.program?.programNumber, 1, 'the program arrives through the demux stand-in');
  await waitFor(() => h.state('tuner:roof')?.tuner !== undefined, 5000);
  t.match(h.state('tuner:roof')?.tuner, {
    lock: true,
    signal: { value: -41.5, unit: 'dBm' },
    snr: { value: 13.2, unit: 'dB' },
    uncorrected: 0,
    ber: 0,
  });
  t.equal(h.pidOf('tuner:roof'), undefined, 'no ffmpeg child counted');
});

t.test('a tuner does not linger after its last subscriber: another tune may need it', async (t) => {
  const { spec } = adapter(t);
  const { h } = hub(t);
  const rec = new Recorder();
  const off = h.subscribe(source(spec), rec);
  await waitFor(() => rec.program !== null, 10_000);
  off({ linger: true });
  t.equal(h.state('tuner:roof'), undefined, 'closed at once (other sources linger)');
});

t.test(
  'named failures: missing adapter, busy, no lock; the hub backs off; nothing left',
  async (t) => {
    const missing = adapter(t);
    const m = { ...missing.spec, adapter: 3 };
    const busy = adapter(t, 'busy');
    const nolock = adapter(t, 'nolock');
    const { h, log } = hub(t);
    const recs = [new Recorder(), new Recorder(), new Recorder()];
    h.subscribe({ ...source(m), key: 'm' }, recs[0]);
    h.subscribe({ ...source(busy.spec), key: 'b' }, recs[1]);
    h.subscribe({ ...source(nolock.spec), key: 'n' }, recs[2]);
    await waitFor(() => recs.every((r) => r.find('failed') !== undefined), 10_000);
    const [a, b, c] = recs.map((r) => r.find('failed')!);
    t.equal(a.reason, 'open');
    t.match(
      a.message,
      /^tuner roof \(.*adapter3\/frontend0\): adapter missing: no .*adapter3\/frontend0 \(is the driver loaded\? ls /,
    );
    t.equal(b.reason, 'tuner');
    t.match(
      b.message,
      /^tuner roof \(.*\): .*adapter0\/frontend0 is busy: another program holds it \(find it with: fuser -v /,
    );
    t.equal(c.reason, 'tuner');
    t.match(c.message, /^tuner roof \(.*\): no lock on 474 MHz dvbt2 after 1 s$/);
    await waitFor(() => log.of('backoff').filter((e) => e.source === 'n').length >= 2, 10_000);
    const delays = log
      .of('backoff')
      .filter((e) => e.source === 'n')
      .map((e) => Number(e.delayMs));
    t.ok(delays[1] > delays[0], `the backoff grows (${delays.join(', ')} ms)`);
    t.match(
      h.state('n')?.tuner,
      { lock: false, signal: { value: 8, unit: '%' } },
      'unlocked reading kept',
    );
    await h.close();
    await waitFor(() => [busy, nolock].every((x) => pidsWithMarker(x.tag).length === 0), 5000);
    t.same([...pidsWithMarker(busy.tag), ...pidsWithMarker(nolock.tag)], [], 'no stand-in left');
  },
);

t.test('a zap slower to start than the tune timeout: its own error, not "no lock"', async (t) => {
  // On a loaded box the program can take longer to start than tune_timeout (1 s here; the
  // stand-in says nothing for 1.5 s, then that the frontend is busy): the timeout counts from
  // zap's first line, so the operator reads the real cause.
  const slow = adapter(t, 'slow-busy');
  const { h } = hub(t);
  const rec = new Recorder();
  h.subscribe({ ...source(slow.spec), key: 's' }, rec);
  await waitFor(() => rec.find('failed') !== undefined, 15_000);
  const f = rec.find('failed')!;
  t.equal(f.reason, 'tuner');
  t.match(f.message, /adapter0\/frontend0 is busy: another program holds it/);
  await h.close();
});
