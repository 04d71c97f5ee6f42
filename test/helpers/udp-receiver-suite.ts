// The UdpReceiver tests, run with the native addon (udp-receiver.test.ts: recvmmsg) and with
// node:dgram (udp-receiver-dgram.test.ts, HEADEND_NATIVE_UDP=0).
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { RtpWrapper } from '../../src/mpegts/rtp.js';
import { isHeadendError } from '../../src/headend/errors.js';
import { UdpReceiver, type Datagram } from '../../src/headend/inputs/udp-receiver.js';
import { parseInputAddress, type NetworkInput } from '../../src/headend/inputs/url.js';
import { ipv4ToInt, nativeUdp, nativeUdpUnavailable } from '../../src/headend/net/native-udp.js';
import { READ_BUDGET_NS } from '../../src/headend/inputs/native-receive.js';
import { SendBatch } from '../../src/headend/output/send-batch.js';

export function udpReceiverSuite(mode: 'native' | 'dgram'): void {
  // tap runs the two suites at once in one namespace: each mode has its own groups and ports, so
  // neither reads the other's datagrams (SO_REUSEADDR lets both bind one group:port).
  const group = (n: number): string => `239.255.${mode === 'native' ? 0 : 1}.${n}`;
  const port = (n: number): number => (mode === 'native' ? 5000 : 5100) + n;
  function input(url: string): NetworkInput {
    const a = parseInputAddress(url);
    if (isHeadendError(a) || a.kind !== 'network') throw new Error(`bad test url ${url}`);
    return a;
  }

  function tsDatagram(tag: number): Uint8Array {
    const b = new Uint8Array(7 * 188).fill(0xff);
    for (let i = 0; i < 7; i++) {
      b[i * 188] = 0x47;
      b[i * 188 + 1] = 0x1f;
      b[i * 188 + 2] = 0xff;
      b[i * 188 + 3] = 0x10;
    }
    b[4] = tag;
    return b;
  }

  async function sender(): Promise<Socket> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastLoopback(true);
    return s;
  }

  async function send(s: Socket, msgs: Uint8Array[], group: string, port: number): Promise<void> {
    for (const m of msgs) {
      await new Promise<void>((resolve, reject) =>
        s.send(m, port, group, (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  /** Collects `n` datagrams (or whatever arrived within 2 s). */
  async function collect(rx: UdpReceiver, n: number): Promise<Datagram[]> {
    const got: Datagram[] = [];
    const timer = setTimeout(() => rx.close(), 2000);
    for await (const d of rx) {
      got.push({ data: Uint8Array.from(d.data), arrivalNs: d.arrivalNs });
      if (got.length === n) break;
    }
    clearTimeout(timer);
    rx.close();
    return got;
  }

  t.test('multicast: raw UDP and auto-detected RTP', async (t) => {
    const rx = new UdpReceiver(input(`udp://@${group(11)}:${port(11)}`));
    t.equal(await rx.open(), undefined, 'opened');
    const s = await sender();
    t.teardown(() => s.close());
    const w = new RtpWrapper({ random: () => 65535 });
    const before = Number(process.hrtime.bigint());
    await send(
      s,
      [tsDatagram(1), Uint8Array.from(w.wrap(tsDatagram(2), 0)), tsDatagram(3)],
      group(11),
      port(11),
    );
    const got = await collect(rx, 3);
    t.equal(got.length, 3);
    t.same(
      got.map((d) => d.data[4]),
      [1, 2, 3],
    );
    for (const d of got) {
      t.equal(d.data.length, 1316, 'RTP header removed');
      t.ok(d.arrivalNs >= before, 'arrival time on the hrtime clock');
    }
    t.equal(rx.stats.rtpDatagrams, 1);
    t.equal(rx.stats.datagrams, 3);
  });

  t.test('rtp:// drops datagrams that are not RTP and counts sequence gaps', async (t) => {
    const rx = new UdpReceiver(input(`rtp://@${group(12)}:${port(12)}`));
    t.equal(await rx.open(), undefined);
    const s = await sender();
    t.teardown(() => s.close());
    const w = new RtpWrapper({ random: () => 65534 });
    const a = Uint8Array.from(w.wrap(tsDatagram(1), 0));
    w.wrap(tsDatagram(2), 0); // lost on the way
    const c = Uint8Array.from(w.wrap(tsDatagram(3), 0));
    await send(s, [a, Uint8Array.from([1, 2, 3]), c], group(12), port(12));
    const got = await collect(rx, 2);
    t.same(
      got.map((d) => d.data[4]),
      [1, 3],
    );
    t.equal(rx.stats.notRtpDropped, 1);
    t.equal(rx.stats.rtpLost, 1, 'one sequence number missing across the 65535 wrap');
  });

  t.test('unicast on 127.0.0.1', async (t) => {
    const rx = new UdpReceiver(input(`udp://127.0.0.1:${port(13)}`));
    t.equal(await rx.open(), undefined);
    const s = await sender();
    t.teardown(() => s.close());
    await send(s, [tsDatagram(9)], '127.0.0.1', port(13));
    const got = await collect(rx, 1);
    t.equal(got[0]?.data[4], 9);
  });

  t.test('bind failure is an E_NET error value', async (t) => {
    const first = new UdpReceiver(input(`udp://127.0.0.1:${port(14)}?reuse=0`));
    t.equal(await first.open(), undefined);
    t.teardown(() => first.close());
    const second = new UdpReceiver(input(`udp://127.0.0.1:${port(14)}?reuse=0`));
    const err = await second.open();
    t.ok(isHeadendError(err));
    t.equal(err?.code, 'E_NET');
    t.match(err?.message, /address already in use/);
  });

  t.test('close() ends the iteration', async (t) => {
    const rx = new UdpReceiver(input(`udp://@${group(15)}:${port(15)}`));
    t.equal(await rx.open(), undefined);
    setTimeout(() => rx.close(), 50);
    let n = 0;
    for await (const _ of rx) n++;
    t.equal(n, 0);
  });

  t.test(
    'listen(): each datagram to the listener at once, RTP unwrapped, nothing queued',
    async (t) => {
      const rx = new UdpReceiver(input(`udp://@${group(16)}:${port(16)}`));
      const got: number[] = [];
      rx.listen((data) => {
        t.equal(data.length, 7 * 188, 'TS bytes only');
        got.push(data[4]);
      });
      t.equal(await rx.open(), undefined);
      const s = await sender();
      t.teardown(() => s.close());
      const rtp = new RtpWrapper({ random: () => 7 });
      await send(
        s,
        [tsDatagram(1), rtp.wrap(tsDatagram(2), 0), tsDatagram(3)],
        group(16),
        port(16),
      );
      for (let i = 0; i < 100 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      t.same(got, [1, 2, 3], 'in order');
      t.equal(rx.stats.datagrams, 3);
      setTimeout(() => rx.close(), 20);
      let queued = 0;
      for await (const _ of rx) queued++;
      t.equal(queued, 0, 'the iterator only waits for the end');
    },
  );

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  t.test('batchMs: datagrams that come during the pause are read together after it', async (t) => {
    const rx = new UdpReceiver(input(`udp://@${group(17)}:${port(17)}`), { batchMs: 200 });
    const got: { tag: number; atMs: number }[] = [];
    rx.listen((data) => got.push({ tag: data[4], atMs: performance.now() }));
    t.equal(await rx.open(), undefined);
    t.equal(rx.batching, true, 'the socket reads in batches');
    const s = await sender();
    t.teardown(() => s.close());
    await send(s, [tsDatagram(1)], group(17), port(17));
    for (let i = 0; i < 100 && got.length < 1; i++) await sleep(2);
    // The first datagram opened a batch; reading now pauses for 200 ms. Send 4 more, 10 ms apart.
    for (let tag = 2; tag <= 5; tag++) {
      await sleep(10);
      await send(s, [tsDatagram(tag)], group(17), port(17));
    }
    for (let i = 0; i < 100 && got.length < 5; i++) await sleep(5);
    t.same(
      got.map((g) => g.tag),
      [1, 2, 3, 4, 5],
      'every datagram, in order',
    );
    // Sent over ~30 ms, read in one turn after the pause (without batching: ~10 ms apart).
    const span = got[4].atMs - got[1].atMs;
    t.ok(span < 5, `datagrams 2-5 read together (${span.toFixed(2)} ms apart)`);
    t.ok(got[1].atMs - got[0].atMs >= 190, 'after the pause');
    rx.close();
  });

  t.test('batchMs: a burst beyond one libuv batch is read without loss or pause', async (t) => {
    const rx = new UdpReceiver(input(`udp://@${group(18)}:${port(18)}`), { batchMs: 1000 });
    const tags: number[] = [];
    rx.listen((data) => tags.push(data[4]));
    t.equal(await rx.open(), undefined);
    const s = await sender();
    t.teardown(() => s.close());
    // 150 datagrams at once: turns of 32 keep reading; the pause only follows a short turn.
    const burst = Array.from({ length: 150 }, (_, i) => tsDatagram(i));
    await Promise.all(
      burst.map(
        (m) =>
          new Promise<void>((resolve, reject) =>
            s.send(m, port(18), group(18), (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
    for (let i = 0; i < 100 && tags.length < 150; i++) await sleep(5);
    t.equal(tags.length, 150, 'all 150 read well within the 1 s pause');
    t.same(
      tags,
      burst.map((_, i) => i),
      'in order',
    );
    t.equal(rx.stats.datagrams, 150);
    rx.close();
  });

  t.test('batchMs: close during a pause stops reading for good', async (t) => {
    const rx = new UdpReceiver(input(`udp://@${group(19)}:${port(19)}`), { batchMs: 30 });
    let n = 0;
    rx.listen(() => n++);
    t.equal(await rx.open(), undefined);
    const s = await sender();
    t.teardown(() => s.close());
    await send(s, [tsDatagram(1)], group(19), port(19));
    for (let i = 0; i < 100 && n < 1; i++) await sleep(2);
    rx.close(); // within the pause: its timer must not restart a closed handle
    await send(s, [tsDatagram(2)], group(19), port(19));
    await sleep(80);
    t.equal(n, 1, 'nothing after close');
  });

  t.test(`reading with ${mode}`, async (t) => {
    if (mode === 'native')
      t.ok(nativeUdp(), `the addon is built and loads ${nativeUdpUnavailable()}`);
    else t.equal(nativeUdp(), undefined, 'HEADEND_NATIVE_UDP=0 turns the addon off');
  });

  if (mode === 'native') {
    t.test(
      'native: a datagram too long to read whole is counted and dropped, the rest kept',
      async (t) => {
        const rx = new UdpReceiver(input(`udp://@${group(20)}:${port(20)}`));
        t.equal(await rx.open(), undefined);
        const s = await sender();
        t.teardown(() => s.close());
        await send(
          s,
          [tsDatagram(1), new Uint8Array(12000).fill(0x47), tsDatagram(2)],
          group(20),
          port(20),
        );
        const got = await collect(rx, 2);
        t.same(
          got.map((d) => d.data[4]),
          [1, 2],
          'the datagrams around it arrive',
        );
        t.equal(rx.stats.truncated, 1, 'counted');
      },
    );

    t.test('native: views handed on stay valid after later batches', async (t) => {
      const rx = new UdpReceiver(input(`udp://@${group(21)}:${port(21)}`));
      const kept: Uint8Array[] = [];
      rx.listen((d) => kept.push(d));
      t.equal(await rx.open(), undefined);
      const s = await sender();
      t.teardown(() => s.close());
      const msgs = Array.from({ length: 150 }, (_, k) => tsDatagram(k));
      await send(s, msgs, group(21), port(21));
      for (let k = 0; k < 100 && kept.length < 150; k++)
        await new Promise((r) => setTimeout(r, 10));
      rx.close();
      t.equal(kept.length, 150, 'all read (more than one recvmmsg of 64)');
      t.same(
        kept.map((d) => d[4]),
        msgs.map((_, k) => k),
        'each view still holds its own datagram',
      );
    });

    for (const [transient, g] of [
      [true, 23],
      [false, 24],
    ] as const)
      t.test(
        `native${transient ? ', transient' : ''}: a backlog is read in turns that let the thread work between`,
        async (t) => {
          // Without READ_BUDGET_NS one wake-up read the whole queue, however long its datagrams took:
          // the first data of a channel worker's inputs held it ~200 ms (bench/scale). With it
          // looked at only between batches, a batch of 64 still held it 120-230 ms at 160 channels.
          const rx = new UdpReceiver(input(`udp://@${group(g)}:${port(g)}`));
          const seen: number[] = [];
          rx.listen((d) => {
            seen.push(d[4]);
            const until = performance.now() + 0.5; // 0.5 ms of work per datagram: 75 ms in all
            while (performance.now() < until);
          }, transient);
          t.equal(await rx.open(), undefined);
          // 150 datagrams queued in the kernel at once (one synchronous sendmmsg per 64), before
          // the receiver's next wake-up.
          const batch = SendBatch.acquire({
            bindAddress: '127.0.0.1',
            interfaceAddress: '127.0.0.1',
            ttl: 1,
            tos: 0,
            sendBufferBytes: 1 << 20,
          })!;
          t.teardown(() => batch.release());
          const counters = { sendErrors: 0, lastError: '' };
          for (let k = 0; k < 150; k++)
            batch.add(tsDatagram(k), ipv4ToInt(group(g)), port(g), counters);
          batch.flush();
          let seenByOtherWork = -1;
          setImmediate(() => (seenByOtherWork = seen.length));
          for (let k = 0; k < 100 && seen.length < 150; k++)
            await new Promise((r) => setTimeout(r, 10));
          rx.close();
          t.equal(counters.sendErrors, 0);
          t.ok(
            seenByOtherWork > 0 && seenByOtherWork < 64,
            `other work ran after ${seenByOtherWork} of 150, within the first batch of 64 (one turn reads for at most ${READ_BUDGET_NS / 1e6} ms)`,
          );
          t.same(
            seen,
            Array.from({ length: 150 }, (_, k) => k),
            'then every datagram, in order',
          );
        },
      );

    t.test('native, transient: each datagram a view of the read arena, no copy', async (t) => {
      const rx = new UdpReceiver(input(`udp://@${group(22)}:${port(22)}`));
      const seen: number[] = [];
      const buffers = new Set<ArrayBufferLike>();
      rx.listen((d) => {
        seen.push(d[4]);
        buffers.add(d.buffer);
      }, true);
      t.equal(await rx.open(), undefined);
      const s = await sender();
      t.teardown(() => s.close());
      const msgs = Array.from({ length: 150 }, (_, k) => tsDatagram(k));
      await send(s, msgs, group(22), port(22));
      for (let k = 0; k < 100 && seen.length < 150; k++)
        await new Promise((r) => setTimeout(r, 10));
      rx.close();
      t.same(
        seen,
        msgs.map((_, k) => k),
        'every datagram, in order, read during the call',
      );
      t.equal(buffers.size, 1, 'all of them views of one arena (nothing copied per batch)');
    });
  }
}
