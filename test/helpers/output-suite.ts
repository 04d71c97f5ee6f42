// The Output tests, run once with the native addon (output.test.ts) and once with node:dgram
// (output-dgram.test.ts, HEADEND_NATIVE_UDP=0): both ways to send must behave the same.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { Output, flush, isMulticast, resolveInterface } from '../../src/headend/output/output.js';
import type { OutputSpec } from '../../src/headend/output/types.js';
import { parseRtpHeader } from '../../src/mpegts/rtp.js';
import { nativeUdp, nativeUdpUnavailable } from '../../src/headend/net/native-udp.js';
import { SEND_DUE, SEND_PCR27 } from '../../src/scheduler/output-contract.js';

/** A datagram's times as Output.send takes them (PacedOutput.send's cell). */
function times(pcr27: number, dueNs: number): Float64Array {
  const t = new Float64Array(2);
  t[SEND_PCR27] = pcr27;
  t[SEND_DUE] = dueNs;
  return t;
}

export function outputSuite(mode: 'native' | 'dgram'): void {
  // tap runs the two suites at once in one namespace: each mode has its own multicast groups
  // and ports, so neither receives the other's datagrams.
  const other = mode === 'native' ? 0 : 1;
  const mainGroup = `239.255.7.${90 + other}`;
  const mainPort = 5790 + other;
  const companionGroup = `239.255.135.${90 + other}`;
  const companionPort = 5792 + other;
  t.test(`sending with ${mode}`, async (t) => {
    if (mode === 'native')
      t.ok(nativeUdp(), `the addon is built and loads ${nativeUdpUnavailable()}`);
    else t.equal(nativeUdp(), undefined, 'HEADEND_NATIVE_UDP=0 turns the addon off');
  });

  function spec(over: Partial<OutputSpec>): OutputSpec {
    return {
      protocol: 'udp',
      group: '127.0.0.1',
      port: 0,
      ttl: 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
      ...over,
    };
  }

  async function receiver(): Promise<{ port: number; got: Buffer[]; close: () => void }> {
    const s = createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return { port: s.address().port, got, close: () => s.close() };
  }

  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  };

  t.test('helpers', async (t) => {
    t.ok(isMulticast('239.255.1.1'));
    t.ok(isMulticast('224.0.0.1'));
    t.notOk(isMulticast('127.0.0.1'));
    t.notOk(isMulticast('240.0.0.1'));
    t.equal(resolveInterface('127.0.0.1'), '127.0.0.1');
    t.equal(resolveInterface('lo'), '127.0.0.1', 'an interface name resolves to its address');
    t.equal(resolveInterface('no-such-if0'), null);
  });

  /** A slot as the pacing worker hands it over: 12 bytes of RTP header room, then the TS. */
  function slotOf(ts: Buffer): { slot: Buffer; ts: Buffer } {
    const slot = Buffer.alloc(12 + ts.length);
    ts.copy(slot, 12);
    return { slot, ts: slot.subarray(12) };
  }

  t.test('UDP: the TS bytes are sent as they are, from the interface address', async (t) => {
    const rx = await receiver();
    t.teardown(rx.close);
    const out = await Output.open(spec({ port: rx.port }));
    t.teardown(() => out.close());
    t.equal(out.info.tosApplied, true, 'TOS 0 needs nothing');
    t.match(out.info.local, /^127\.0\.0\.1:\d+$/);
    const view = Buffer.alloc(1316, 0x47);
    view[1] = 9;
    const d = slotOf(view);
    out.send(d.slot, d.ts, times(27e6, 0));
    flush();
    t.equal(out.queued, 0, 'sent synchronously');
    await until(() => rx.got.length === 1);
    t.equal(rx.got[0].length, 1316);
    t.equal(rx.got[0][1], 9);
  });

  t.test(
    'RTP: header in place, PT 33, sequence +1, timestamp from PCR, marker on a jump',
    async (t) => {
      const rx = await receiver();
      t.teardown(rx.close);
      let r = 0;
      const out = await Output.open(
        spec({ port: rx.port, protocol: 'rtp', tos: 0xb8 }),
        () => [65535, 0xcafe][r++],
      );
      t.teardown(() => out.close());
      if (mode === 'native') t.equal(out.info.tosApplied, true, 'TOS set with IP_TOS');
      else t.equal(out.info.tosApplied, false, 'TOS cannot be set from Node: reported');
      const pcrs = [300 * 1000, 300 * 4000, 300 * 1e6, 300 * 2000];
      for (const pcr of pcrs) {
        const d = slotOf(Buffer.alloc(1316, 0x47));
        out.send(d.slot, d.ts, times(pcr, 0));
        flush();
      }
      await until(() => rx.got.length === 4);
      const h = rx.got.map((b) => parseRtpHeader(b, 0, b.length)!);
      t.same(
        h.map((x) => x.sequence),
        [65535, 0, 1, 2],
        'sequence from the random start, wrapping',
      );
      t.ok(h.every((x) => x.payloadType === 33 && x.ssrc === 0xcafe && x.payloadLength === 1316));
      t.same(
        h.map((x) => x.timestamp),
        [1000, 4000, 1e6, 2000],
      );
      t.same(
        h.map((x) => x.marker),
        [false, false, true, true],
        'marker only where the timestamp jumps (> 1 s forward, or backwards)',
      );
    },
  );

  t.test('multicast output on loopback', async (t) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    await new Promise<void>((r) => s.bind(mainPort, mainGroup, r));
    s.addMembership(mainGroup, '127.0.0.1');
    t.teardown(() => s.close());
    const out = await Output.open(spec({ group: mainGroup, port: mainPort, interface: 'lo' }));
    t.teardown(() => out.close());
    const d = slotOf(Buffer.alloc(188, 0x47));
    out.send(d.slot, d.ts, times(NaN, 0));
    flush();
    await until(() => got.length === 1);
    t.equal(got.length, 1);
  });

  t.test(
    'destinations get the RTP packets of a UDP channel, from the given source port',
    async (t) => {
      const a = await receiver();
      const b = await receiver();
      t.teardown(a.close);
      t.teardown(b.close);
      const main = await receiver();
      t.teardown(main.close);
      const out = await Output.open(spec({ port: main.port, rtp: { ssrc: 0x1234, seq: 100 } }));
      t.teardown(() => out.close());
      const free = createSocket('udp4');
      await new Promise<void>((r) => free.bind(0, '127.0.0.1', r));
      const sourcePort = free.address().port;
      free.close();
      const dest = (id: string, port: number) => ({
        id,
        address: '127.0.0.1',
        port,
        ttl: 1,
        interface: '127.0.0.1',
        sourcePort,
      });
      await out.addDestination(dest('a', a.port));
      await out.addDestination(dest('b', b.port));
      for (let i = 0; i < 3; i++) {
        const d = slotOf(Buffer.alloc(1316, 0x47));
        out.send(d.slot, d.ts, times(300 * 9000 * (i + 1), 0));
        flush();
      }
      await out.removeDestination('b');
      const d = slotOf(Buffer.alloc(1316, 0x47));
      out.send(d.slot, d.ts, times(300 * 9000 * 4, 0));
      flush();
      await until(() => main.got.length === 4 && a.got.length === 4 && b.got.length === 3);
      t.ok(
        main.got.every((m) => m.length === 1316 && m[0] === 0x47),
        'the group gets raw TS',
      );
      const ha = a.got.map((m) => parseRtpHeader(m, 0, m.length)!);
      t.same(
        ha.map((h) => h.sequence),
        [100, 101, 102, 103],
        'sequence from spec.rtp.seq, one per datagram',
      );
      t.ok(ha.every((h) => h.ssrc === 0x1234 && h.payloadType === 33 && h.payloadLength === 1316));
      t.same(
        ha.map((h) => h.timestamp),
        [9000, 18000, 27000, 36000],
      );
      t.equal(b.got.length, 3, 'a removed destination gets nothing more');
      // Both destinations were sent to from the one shared socket on sourcePort.
      const rxFrom = createSocket('udp4');
      const seen: number[] = [];
      rxFrom.on('message', (_m, r) => seen.push(r.port));
      await new Promise<void>((r) => rxFrom.bind(0, '127.0.0.1', r));
      t.teardown(() => rxFrom.close());
      await out.addDestination(dest('c', rxFrom.address().port));
      const e = slotOf(Buffer.alloc(188, 0x47));
      out.send(e.slot, e.ts, times(NaN, 0));
      flush();
      await until(() => seen.length === 1);
      t.same(seen, [sourcePort], 'sent from the RTSP server port');
    },
  );

  t.test('a multicast destination (RTP companion group)', async (t) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    await new Promise<void>((r) => s.bind(companionPort, companionGroup, r));
    s.addMembership(companionGroup, '127.0.0.1');
    t.teardown(() => s.close());
    const main = await receiver();
    t.teardown(main.close);
    const out = await Output.open(spec({ port: main.port }));
    t.teardown(() => out.close());
    await out.addDestination({
      id: 'companion',
      address: companionGroup,
      port: companionPort,
      ttl: 1,
      interface: 'lo',
      sourcePort: 0,
    });
    const d = slotOf(Buffer.alloc(376, 0x47));
    out.send(d.slot, d.ts, times(300 * 90000, 0));
    flush();
    await until(() => got.length === 1);
    t.equal(got[0].length, 12 + 376, 'RTP header + TS');
    t.equal(parseRtpHeader(got[0], 0, got[0].length)?.timestamp, 90000);
  });

  t.test('open fails clearly', async (t) => {
    await t.rejects(Output.open(spec({ interface: 'no-such-if0' })), /no IPv4 address/);
    await t.rejects(Output.open(spec({ group: 'example.invalid', port: 5000 })), /not IPv4/);
    await t.rejects(Output.open(spec({ interface: '192.0.2.1', port: 5000 })), /output udp/);
  });

  if (mode === 'dgram') {
    t.test(
      'send errors are counted (sends take no callback: they come as socket errors)',
      async (t) => {
        // Port 9 on loopback has no listener: the kernel answers ICMP port unreachable, which the
        // connected socket reports as ECONNREFUSED.
        const out = await Output.open(spec({ port: 9 }));
        t.teardown(() => out.close());
        for (let i = 0; i < 5; i++) {
          const d = slotOf(Buffer.alloc(188, 0x47));
          out.send(d.slot, d.ts, times(NaN, 0));
          await new Promise((r) => setTimeout(r, 10));
        }
        await until(() => out.counters.sendErrors > 0);
        t.ok(out.counters.sendErrors > 0, `counted: ${out.counters.sendErrors}`);
        t.match(out.counters.lastError, /ECONNREFUSED/);
      },
    );
  } else {
    t.test(
      'a refused datagram is counted on its own output; the rest of the batch goes',
      async (t) => {
        // The private namespace has no route to 10.0.0.0/8: sendmmsg stops at that datagram with
        // ENETUNREACH; the batch goes on after it.
        const rx = await receiver();
        t.teardown(rx.close);
        const good = await Output.open(spec({ port: rx.port }));
        const bad = await Output.open(spec({ group: '10.255.255.1', port: 5000 }));
        t.teardown(() => good.close());
        t.teardown(() => bad.close());
        t.equal(bad.info.local, good.info.local, 'outputs of the same settings share one socket');
        for (const out of [good, bad, good]) {
          const d = slotOf(Buffer.alloc(188, 0x47));
          out.send(d.slot, d.ts, times(NaN, 0));
        }
        t.equal(rx.got.length, 0, 'nothing sent before the pass ends');
        flush();
        await until(() => rx.got.length === 2);
        t.equal(rx.got.length, 2, 'both datagrams of the good output went');
        t.equal(good.counters.sendErrors, 0);
        t.equal(bad.counters.sendErrors, 1);
        t.match(bad.counters.lastError, /ENETUNREACH/);
      },
    );
  }
}
