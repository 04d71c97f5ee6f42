// Runs inside the private network namespace (npm test wraps tap in scripts/in-netns.sh).
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket } from 'node:dgram';
import { Output, isMulticast, resolveInterface } from '../../../src/headend/output/output.js';
import type { OutputSpec } from '../../../src/headend/output/types.js';
import { parseRtpHeader } from '../../../src/mpegts/rtp.js';

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

t.test('UDP: the slot view is sent as is, from the interface address', async (t) => {
  const rx = await receiver();
  t.teardown(rx.close);
  const out = await Output.open(spec({ port: rx.port }));
  t.teardown(() => out.close());
  t.equal(out.slotOffset, 12);
  t.equal(out.info.tosApplied, true, 'TOS 0 needs nothing');
  t.match(out.info.local, /^127\.0\.0\.1:\d+$/);
  const view = Buffer.alloc(1316, 0x47);
  view[1] = 9;
  out.send(view, 27e6, 0);
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
    t.equal(out.slotOffset, 0);
    t.equal(out.info.tosApplied, false, 'TOS cannot be set from Node: reported');
    const pcrs = [300 * 1000, 300 * 4000, 300 * 1e6, 300 * 2000];
    for (const pcr of pcrs) {
      const slot = Buffer.alloc(12 + 1316, 0x47);
      out.send(slot, pcr, 0);
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
  await new Promise<void>((r) => s.bind(5790, '239.255.7.90', r));
  s.addMembership('239.255.7.90', '127.0.0.1');
  t.teardown(() => s.close());
  const out = await Output.open(spec({ group: '239.255.7.90', port: 5790, interface: 'lo' }));
  t.teardown(() => out.close());
  out.send(Buffer.alloc(188, 0x47), NaN, 0);
  await until(() => got.length === 1);
  t.equal(got.length, 1);
});

t.test('open fails clearly', async (t) => {
  await t.rejects(Output.open(spec({ interface: 'no-such-if0' })), /no IPv4 address/);
  await t.rejects(Output.open(spec({ group: 'example.invalid', port: 5000 })), /not IPv4/);
  await t.rejects(Output.open(spec({ interface: '192.0.2.1', port: 5000 })), /output udp/);
});
