// The RTSP server (RFC 2326) under abuse, with a well-behaved client (OPTIONS §10.1, DESCRIBE
// §10.2) checking every answer throughout:
//
//   random      thousands of connections sending random bytes, truncated, mutated and
//               shuffled requests (seeded PRNG, so a failure replays), written in random pieces
//   oversize    request line, header block, header count, Content-Length and a 64 KiB '$' frame
//               over or at the limits: 414 / 400 / 413 and close where the stream cannot resync
//   interleave  garbage '$' frames (RFC 2326 §10.12) between pipelined requests on one connection
//   pipeline    a client that pipelines 20,000 requests and does not read for a while: all the
//               answers arrive, in order, once it does
//   slow drip   clients sending a request one byte every 100 ms still get their answer
//   idle        1000 connections that send nothing (in a child process: see IDLE below)
//
// Afterwards the server holds nothing: no open connection, no session (garbage that happened
// to be a valid SETUP times out), no 500, no error logged, and the heap (after a full GC) is
// back near where it started.
import '../../helpers/private-network.js';
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger, LogLevel } from '../../../src/headend/log.js';
import { startRtspServer, type RtspServer } from '../../../src/headend/rtsp/server.js';
import { sleep } from '../../e2e/helpers.js';
import { Client, StubSource } from './raw-client.js';

const SEED = 0x5eed2326;

setFlagsFromString('--expose-gc');
const gc = ((globalThis as { gc?: () => void }).gc ?? runInNewContext('gc')) as () => void;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Idle connections: 1000, held by a child process so that this process only holds the server's
 * side. Where the soft fd limit is lower than that needs (the usual default is 1024), 900.
 */
function idleCount(): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const soft = m === null ? 1024 : Number(m[1]);
  return soft >= 1200 ? 1000 : 900;
}

function heapMB(): number {
  gc();
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
}

/** A connection that writes `chunks` (with a pause between them), ends, and reads to the end. */
function blast(
  port: number,
  chunks: Buffer[],
  gapMs = 0,
): Promise<{ text: string; stuck: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', () => undefined);
    const deadline = setTimeout(() => {
      s.destroy();
      resolve({ text, stuck: true });
    }, 30_000);
    s.once('close', () => {
      clearTimeout(deadline);
      resolve({ text, stuck: false });
    });
    s.once('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (gapMs > 0) await sleep(gapMs);
      }
      s.end();
    });
  });
}

/** Runs `jobs` with at most `n` at a time. */
async function pool<T>(n: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}

t.test('abuse: random, oversize, interleaved, pipelined, slow and idle clients', async (t) => {
  const logged: Record<LogLevel, number> = { debug: 0, info: 0, warn: 0, error: 0 };
  const errors: string[] = [];
  const log: Logger = {
    log(level, event, fields) {
      logged[level]++;
      if (level === 'error') errors.push(`${event} ${JSON.stringify(fields)}`);
    },
    child() {
      return log;
    },
  };
  const server: RtspServer = await startRtspServer({
    spec: {
      listen: { host: '127.0.0.1', port: 0 },
      rtpPort: 18050,
      companionOffset: 0,
      sessionTimeoutMs: 1500,
      maxSessions: 50,
      maxSessionsPerClient: 10,
    },
    source: new StubSource(),
    log,
  });
  t.teardown(() => server.stop());
  const port = server.address.port;
  const base = `rtsp://127.0.0.1:${port}`;

  // The well-behaved client: OPTIONS and DESCRIBE in a loop, every answer checked.
  const probe = await Client.open(server);
  const probeFailures: string[] = [];
  let probes = 0;
  let probing = true;
  const probeLoop = (async () => {
    let cseq = 0;
    while (probing) {
      try {
        const o = await probe.request('OPTIONS', '*', ++cseq);
        if (o.status !== 200 || o.headers.get('cseq') !== String(cseq))
          probeFailures.push(`OPTIONS ${cseq}: ${o.status} CSeq ${o.headers.get('cseq')}`);
        const d = await probe.request('DESCRIBE', `${base}/seven`, ++cseq);
        if (
          d.status !== 200 ||
          d.headers.get('cseq') !== String(cseq) ||
          !/a=rtpmap:33 MP2T\/90000\r\n/.test(d.body) ||
          !d.body.includes(`a=control:${base}/seven/track1`)
        )
          probeFailures.push(`DESCRIBE ${cseq}: ${d.status}`);
        probes++;
      } catch (err) {
        probeFailures.push(String(err));
        return;
      }
      await sleep(10);
    }
  })();
  for (let i = 0; i < 50 && probes < 5; i++) await sleep(20);
  const heapBefore = heapMB();
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed / 1e6);
  }, 100);
  t.teardown(() => clearInterval(sampler));

  const rnd = prng(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const VALID = [
    `OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n`,
    `DESCRIBE ${base}/seven RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n`,
    `SETUP ${base}/seven/track1 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n`,
    `SETUP ${base}/seven/track1 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n`,
    `SETUP ${base}/7/track1 RTSP/1.0\r\nCSeq: 5\r\nTransport: RTP/AVP;multicast\r\n\r\n`,
    `PLAY ${base}/seven RTSP/1.0\r\nCSeq: 6\r\nSession: 0123456789ABCDEF\r\n\r\n`,
    `TEARDOWN ${base}/seven RTSP/1.0\r\nCSeq: 7\r\nSession: 0123456789ABCDEF\r\n\r\n`,
    `SET_PARAMETER ${base}/seven RTSP/1.0\r\nCSeq: 8\r\nContent-Length: 6\r\n\r\nx: 1\r\n`,
  ];
  const WORDS = [
    'OPTIONS',
    'DESCRIBE',
    'SETUP',
    'PLAY',
    'PAUSE',
    'TEARDOWN',
    'GET_PARAMETER',
    'RECORD',
    '*',
    `${base}/seven`,
    `${base}/seven/track1`,
    'rtsp://',
    '/../',
    '%ff%00',
    'RTSP/1.0',
    'RTSP/2.0',
    'HTTP/1.1',
    ' ',
    '  ',
    '\t',
    ':',
    '\r\n',
    '\n',
    '\r',
    '\r\n\r\n',
    'CSeq: 1',
    'CSeq: -1',
    'CSeq: 99999999999',
    'Content-Length: 5',
    'Content-Length: x',
    'Session: ',
    'Transport: RTP/AVP/TCP;interleaved=',
    'Transport: RTP/AVP;unicast;client_port=0-65535',
    '$',
    '$\x00\x00\x04',
    '\x00',
    '\xff',
  ];
  /** One random message (and whether it counts as a request attempt). */
  const message = (): string | Buffer => {
    switch (int(5)) {
      case 0:
        return bytes(1 + int(3000));
      case 1: {
        const v = pick(VALID);
        return v.slice(0, int(v.length));
      }
      case 2: {
        const v = Buffer.from(pick(VALID), 'latin1');
        for (let k = 1 + int(5); k > 0; k--) v[int(v.length)] = int(256);
        return v;
      }
      case 3:
        return Array.from({ length: 1 + int(30) }, () => pick(WORDS)).join('');
      default:
        return pick(VALID);
    }
  };
  /** Cuts `b` into 1..8 pieces at random places. */
  const pieces = (b: Buffer): Buffer[] => {
    const cuts = Array.from({ length: int(8) }, () => int(b.length)).sort((x, y) => x - y);
    const out: Buffer[] = [];
    let at = 0;
    for (const c of [...cuts, b.length]) {
      if (c > at) out.push(b.subarray(at, c));
      at = Math.max(at, c);
    }
    return out.length > 0 ? out : [b];
  };

  // random: 3000 connections, 1 to 20 messages each, 50 at a time.
  const started = Date.now();
  let requestsSent = 0;
  const randomJobs = Array.from({ length: 3000 }, () => {
    const n = int(4) === 0 ? 2 + int(19) : 1;
    const msgs = Array.from({ length: n }, message);
    requestsSent += n;
    const all = Buffer.concat(
      msgs.map((m) => (typeof m === 'string' ? Buffer.from(m, 'latin1') : m)),
    );
    return () => blast(port, pieces(all));
  });

  // slow drip (concurrently): a request one byte every 100 ms; 20 valid, 5 garbage.
  const drip = Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 42\r\n\r\n`);
  const slow = Promise.all([
    ...Array.from({ length: 20 }, () =>
      blast(
        port,
        [...drip].map((x) => Buffer.from([x])),
        100,
      ),
    ),
    ...Array.from({ length: 5 }, () =>
      blast(
        port,
        [...bytes(40)].map((x) => Buffer.from([x])),
        100,
      ),
    ),
  ]);
  requestsSent += 25;

  const random = await pool(50, randomJobs);
  t.equal(random.filter((r) => r.stuck).length, 0, 'every random connection closed');
  const statusLines = random.flatMap((r) => r.text.match(/^RTSP\/1\.0 \d{3} /gm) ?? []);
  t.ok(statusLines.length > 1000, `${statusLines.length} answers to random input`);
  const randomMs = Date.now() - started;

  // oversize: each alone on its connection; those the parser cannot get past close.
  const over = async (text: string): Promise<{ statuses: number[]; stuck: boolean }> => {
    const r = await blast(port, [Buffer.from(text, 'latin1')]);
    requestsSent++;
    return {
      statuses: (r.text.match(/^RTSP\/1\.0 (\d{3}) /gm) ?? []).map((l) => Number(l.slice(9, 12))),
      stuck: r.stuck,
    };
  };
  const opt = (cseq: number) => `OPTIONS * RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`;
  t.same(await over(`OPTIONS ${base}/${'a'.repeat(100_000)} RTSP/1.0\r\n\r\n`), {
    statuses: [414],
    stuck: false,
  });
  t.same(await over(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n${'X-A: b\r\n'.repeat(20_000)}\r\n`), {
    statuses: [400],
    stuck: false,
  });
  t.same(await over(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-A: ${'b'.repeat(100_000)}`), {
    statuses: [400],
    stuck: false,
  });
  t.same(
    await over(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n${'X-A: b\r\n'.repeat(100)}\r\n${opt(2)}`),
    { statuses: [400, 200], stuck: false },
    'over the header count: 400, and the next request is served',
  );
  t.same(
    await over(
      `SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n${'z'.repeat(200_000)}`,
    ),
    { statuses: [413], stuck: false },
  );
  t.same(
    await over(`$\x05\xff\xff${'\0'.repeat(65_535)}${opt(3)}`),
    { statuses: [200], stuck: false },
    'a 64 KiB interleaved frame is skipped',
  );

  // interleave: 500 pipelined OPTIONS, each after a garbage '$' frame, all sent in random pieces.
  const il = await Client.open(server);
  const frames: Buffer[] = [];
  for (let i = 1; i <= 500; i++) {
    const len = int(2000);
    frames.push(Buffer.from([0x24, int(256), len >> 8, len & 0xff]), bytes(len));
    frames.push(Buffer.from(opt(i)));
  }
  for (const p of pieces(Buffer.concat(frames))) il.socket.write(p);
  requestsSent += 500;
  let inOrder = 0;
  for (let i = 1; i <= 500; i++) {
    const r = await il.response();
    if (r.status === 200 && r.headers.get('cseq') === String(i)) inOrder++;
  }
  t.equal(inOrder, 500, 'every request between garbage frames answered, in order');
  il.socket.destroy();

  // pipeline: 20,000 requests, not read for a second, then read.
  const pl = connect(port, '127.0.0.1');
  await new Promise((r) => pl.once('connect', r));
  pl.write(Array.from({ length: 20_000 }, (_, i) => opt(i + 1)).join(''));
  requestsSent += 20_000;
  await sleep(1000);
  const plc = new Client(pl);
  let plOk = 0;
  for (let i = 1; i <= 20_000; i++) {
    const r = await plc.response();
    if (r.status === 200 && r.headers.get('cseq') === String(i)) plOk++;
  }
  t.equal(plOk, 20_000, 'all pipelined requests answered, in order, once the client reads');
  pl.destroy();

  const dripped = await slow;
  t.equal(dripped.filter((r) => r.stuck).length, 0, 'slow clients done');
  t.equal(
    dripped.slice(0, 20).filter((r) => /^RTSP\/1\.0 200 OK\r\nCSeq: 42\r\n/.test(r.text)).length,
    20,
    'a request dripped one byte every 100 ms is answered',
  );

  // idle: N connections held open by a child process while the probe keeps going.
  const n = idleCount();
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./idle-clients.js', import.meta.url)), String(port), String(n)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const report = await new Promise<{ open: number; failed: number }>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out) as { open: number; failed: number });
    });
    child.once('exit', () => reject(new Error(`idle clients exited: ${out}`)));
  });
  t.same(report, { open: n, failed: 0 }, `${n} idle connections open`);
  for (let i = 0; i < 100 && server.stats().connectionsOpen < n + 1; i++) await sleep(50);
  const openWithIdle = server.stats().connectionsOpen;
  t.equal(openWithIdle, n + 1, 'the server holds them (and the probe)');
  const probesBefore = probes;
  for (let i = 0; i < 100 && probes < probesBefore + 5; i++) await sleep(20);
  t.ok(probes >= probesBefore + 5, 'the probe is served while they are open');
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  await exited;

  probing = false;
  await probeLoop;
  probe.socket.destroy();
  t.same(probeFailures, [], `${probes} OPTIONS + DESCRIBE pairs, all answered correctly`);

  // Afterwards: nothing left.
  for (let i = 0; i < 100 && server.stats().connectionsOpen > 0; i++) await sleep(50);
  t.equal(server.stats().connectionsOpen, 0, 'no connection left');
  for (let i = 0; i < 100 && Object.values(server.sessions()).some((x) => x > 0); i++)
    await sleep(50);
  t.same(server.sessions(), { udp: 0, tcp: 0, multicast: 0 }, 'no session left');
  const st = server.stats();
  t.equal(st.responses[500] ?? 0, 0, 'no internal error');
  t.same(errors, [], 'nothing logged as an error');
  clearInterval(sampler);
  const heapAfter = heapMB();
  t.ok(heapAfter - heapBefore < 16, `heap ${heapBefore} MB before, ${heapAfter} MB after`);
  const answered = Object.values(st.responses).reduce((a, b) => a + b, 0);
  t.comment(
    `seed ${SEED.toString(16)}: ${requestsSent} requests (random pieces ${randomJobs.length} ` +
      `connections in ${randomMs} ms), ${st.connections} connections, ${answered} answers ` +
      `${JSON.stringify(st.responses)}, ${st.sessionsStarted} sessions from garbage ` +
      `(${st.sessionsTimedOut} timed out), idle ${openWithIdle - 1}, ${probes} probes; ` +
      `heap ${heapBefore} MB before, peak ${Math.round(heapPeak)} MB, ${heapAfter} MB after; ` +
      `log lines warn ${logged.warn} error ${logged.error}`,
  );
});
