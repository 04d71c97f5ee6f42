// SourceHub with native udp:// and rtp:// inputs (no ffmpeg). Runs inside the private network
// namespace (npm test wraps tap in scripts/in-netns.sh): multicast goes over `lo` only.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RtpWrapper } from '../../../src/mpegts/rtp.js';
import { SourceHub } from '../../../src/headend/sources/hub.js';
import { EventLog, Recorder, sleep, waitFor } from './helpers.js';
import { simpleProgram, synthesize } from '../../helpers/synth.js';

const SAMPLE = readFileSync(
  fileURLToPath(new URL('../../../../samples/sample.ts', import.meta.url)),
);
const DGRAM = 7 * 188;

function hub(t: Test, stallMs = 2000) {
  const log = new EventLog();
  const h = new SourceHub({ log: log.log, stallMs, backoff: { initialMs: 100, maxMs: 200 } });
  t.teardown(() => h.close());
  return { h, log };
}

async function sender(t: Test): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastLoopback(true);
  t.teardown(() => s.close());
  return s;
}

/** Sends datagrams, 32 at a time with a short pause so that no receive buffer overflows. */
async function send(s: Socket, msgs: Uint8Array[], host: string, port: number): Promise<void> {
  for (let i = 0; i < msgs.length; i++) {
    await new Promise<void>((res, rej) => s.send(msgs[i], port, host, (e) => (e ? rej(e) : res())));
    if (i % 32 === 31) await sleep(1);
  }
}

function tsDatagrams(rtp: boolean): Uint8Array[] {
  const w = new RtpWrapper();
  const out: Uint8Array[] = [];
  for (let o = 0; o < SAMPLE.length; o += DGRAM) {
    const ts = SAMPLE.subarray(o, Math.min(o + DGRAM, SAMPLE.length));
    out.push(rtp ? Uint8Array.from(w.wrap(ts, o)) : ts);
  }
  return out;
}

function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));
}

t.test('multicast with RTP (auto-detected on udp://): every TS byte, in order', async (t) => {
  const { h } = hub(t);
  const r = new Recorder(true);
  h.subscribe({ key: 'mc', url: 'udp://@239.255.42.1:15001' }, r);
  await sleep(50); // bind + join
  const s = await sender(t);
  await send(s, tsDatagrams(true), '239.255.42.1', 15001);
  t.ok(await waitFor(() => r.bytes >= SAMPLE.length, 2000), `${r.bytes} bytes`);
  t.ok(concat(r.kept).equals(SAMPLE), 'RTP headers removed, bytes identical');
  t.same(r.program?.streams.map((x) => x.kind).sort(), ['audio', 'video']);
  t.equal(h.pidOf('mc'), undefined, 'no ffmpeg');
  t.match(h.state('mc'), { state: 'running', bytes: SAMPLE.length, restarts: 0 });
});

t.test('rtp:// unicast on 127.0.0.1 and source-specific multicast', async (t) => {
  const { h } = hub(t);
  const uni = new Recorder(true);
  const ssm = new Recorder(true);
  const other = new Recorder();
  h.subscribe({ key: 'u', url: 'rtp://127.0.0.1:15002' }, uni);
  h.subscribe({ key: 'ssm', url: 'udp://127.0.0.1@232.255.42.2:15003' }, ssm);
  h.subscribe({ key: 'ssm-other', url: 'udp://127.0.0.9@232.255.42.3:15004' }, other);
  await sleep(50);
  const s = await sender(t);
  const rtp = tsDatagrams(true).slice(0, 100);
  await send(s, rtp, '127.0.0.1', 15002);
  await send(s, tsDatagrams(false).slice(0, 100), '232.255.42.2', 15003);
  await send(s, tsDatagrams(false).slice(0, 10), '232.255.42.3', 15004);
  t.ok(await waitFor(() => uni.bytes === 100 * DGRAM && ssm.bytes === 100 * DGRAM, 2000));
  t.ok(concat(uni.kept).equals(SAMPLE.subarray(0, 100 * DGRAM)), 'rtp:// unwrapped');
  t.ok(concat(ssm.kept).equals(SAMPLE.subarray(0, 100 * DGRAM)), 'SSM from the right source');
  await sleep(100);
  t.equal(other.bytes, 0, 'SSM from another source: nothing');
});

t.test('a UDP feed that pauses: failed(stall), then restarted() when it returns', async (t) => {
  const { h, log } = hub(t, 300);
  const r = new Recorder();
  h.subscribe({ key: 'st', url: 'udp://@239.255.42.4:15005' }, r);
  await sleep(50);
  const s = await sender(t);
  const d = tsDatagrams(false);
  await send(s, d.slice(0, 50), '239.255.42.4', 15005);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 1500), 'stall seen');
  const silence = (r.find('failed')?.at ?? 0) - r.lastDataAt;
  t.ok(silence >= 300 && silence < 800, `after ${silence.toFixed(0)} ms of silence`);
  t.equal(h.state('st')?.state, 'starting', 'waiting for the feed, socket kept');
  await sleep(700);
  t.equal(r.story, 'data failed:stall', 'no repeated stall while waiting');
  await send(s, d.slice(50, 100), '239.255.42.4', 15005);
  t.ok(await waitFor(() => r.marks.length >= 4, 1000));
  t.equal(r.story, 'data failed:stall restarted data');
  t.match(h.state('st'), { state: 'running', restarts: 1, lastError: /stall/ });
  t.equal(log.of('recovered').length, 1);
  t.equal(log.of('start').length, 1, 'never reopened');
});

t.test('random datagrams: failed(garbage), bytes dropped during the backoff', async (t) => {
  const { h, log } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'rnd', url: 'udp://@239.255.42.5:15006' }, r);
  await sleep(50);
  const s = await sender(t);
  const junk = Array.from({ length: 900 }, () => randomBytes(DGRAM));
  await send(s, junk, '239.255.42.5', 15006);
  t.ok(await waitFor(() => r.find('failed') !== undefined, 2000));
  t.equal(r.story, 'data failed:garbage');
  t.match(log.of('garbage')[0], { level: 'error', message: /not MPEG-TS/ });
  t.ok(r.program === null);
  // Good TS again after the backoff: a new instance.
  await sleep(300);
  await send(s, tsDatagrams(false).slice(0, 200), '239.255.42.5', 15006);
  t.ok(await waitFor(() => r.program !== null, 2000), 'program found after recovery');
  t.match(r.story, /^data failed:garbage restarted data/);
  t.equal(h.state('rnd')?.state, 'running');
});

t.test('an address that cannot be opened: failed(open), retried', async (t) => {
  const { h, log } = hub(t);
  const r = new Recorder();
  h.subscribe({ key: 'bad', url: 'udp://192.0.2.1:15007' }, r); // not a local address
  t.ok(await waitFor(() => log.of('start').length >= 2, 2000), 'retried');
  t.match(r.story, /^failed:open/);
  t.match(
    h.state('bad')?.lastError,
    /open: cannot receive udp:\/\/192\.0\.2\.1:15007.*EADDRNOTAVAIL/,
  );
  const r2 = new Recorder();
  h.subscribe({ key: 'worse', url: 'udp://nonsense' }, r2);
  t.ok(await waitFor(() => r2.marks.length > 0, 1000));
  t.match(h.state('worse')?.lastError, /open: bad input 'udp:\/\/nonsense'/);
});

t.test('one MPTS, channels taking different services: one socket, no spec warning', async (t) => {
  const { h, log } = hub(t);
  const url = 'udp://@239.255.42.9:15009';
  const a = new Recorder();
  const b = new Recorder();
  h.subscribe({ key: 'mpts', url, service: 1 }, a);
  h.subscribe({ key: 'mpts', url, service: 2 }, b);
  const s = await sender(t);
  await sleep(50);
  await send(s, tsDatagrams(false).slice(0, 64), '239.255.42.9', 15009);
  await waitFor(() => a.bytes > 0 && b.bytes > 0, 5000);
  t.equal(a.bytes, b.bytes, 'a one-program feed: both get all of it from the one socket');
  t.same(log.of('spec'), [], 'a different service is not a different source');
  h.subscribe({ key: 'mpts', url, service: 3, loop: true }, new Recorder());
  t.equal(log.of('spec').length, 1, 'a different source under the same key is still reported');
});

t.test(
  'one MPTS, two services: each subscriber gets the SI, its PMT and its streams',
  async (t) => {
    const { h } = hub(t);
    const url = 'udp://@239.255.42.10:15010';
    const { ts } = synthesize({
      programs: [simpleProgram(1, 0x100, 0x1000), simpleProgram(2, 0x200, 0x1001)],
      durationMs: 1500,
      muxRate: 4e6,
      withSdt: true,
    });
    const a = new Recorder(true);
    const b = new Recorder(true);
    h.subscribe({ key: 'mpts2', url, service: 1 }, a);
    h.subscribe({ key: 'mpts2', url, service: 2 }, b);
    const s = await sender(t);
    await sleep(50);
    const msgs: Uint8Array[] = [];
    for (let o = 0; o < ts.length; o += DGRAM) msgs.push(ts.subarray(o, o + DGRAM));
    await send(s, msgs, '239.255.42.10', 15010);
    await waitFor(() => a.program !== null && b.program !== null, 5000);
    await sleep(200);
    const pidsAfterTables = (r: Recorder, pmtPid: number): Set<number> => {
      const all = concat(r.kept);
      const pids: number[] = [];
      for (let o = 0; o + 188 <= all.length; o += 188)
        pids.push(((all[o + 1] & 0x1f) << 8) | all[o + 2]);
      return new Set(pids.slice(pids.indexOf(pmtPid) + 1));
    };
    t.same(
      [...pidsAfterTables(a, 0x1000)].sort((x, y) => x - y),
      [0x0, 0x11, 0x100, 0x101, 0x1000],
      'service 1',
    );
    t.same(
      [...pidsAfterTables(b, 0x1001)].sort((x, y) => x - y),
      [0x0, 0x11, 0x200, 0x201, 0x1001],
      'service 2',
    );
    t.ok(
      a.bytes < ts.length * 0.75 && b.bytes < ts.length * 0.75,
      `${a.bytes}, ${b.bytes} of ${ts.length} bytes`,
    );
  },
);
