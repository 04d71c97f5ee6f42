// SendBatch's bookkeeping against a stand-in for the addon (the kernel's answers scripted:
// partial sends, EAGAIN, a refused datagram), and against the real addon on loopback.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket } from 'node:dgram';
import { SendBatch, flushSendBatches } from '../../../src/headend/output/send-batch.js';
import { ipv4ToInt, nativeUdp, type NativeUdp } from '../../../src/headend/net/native-udp.js';

const EAGAIN = 11;
const ENETUNREACH = 101;

/** A stand-in addon: sendBatch answers from `script` (a number of datagrams to take, or −errno). */
function fakeUdp(script: number[]) {
  const wire: { bytes: number[]; addr: number; port: number }[] = [];
  let closed = 0;
  const udp = {
    open: () => ({
      fd: 42,
      address: '127.0.0.1',
      port: 40000,
      sendBufferBytes: 1 << 20,
      receiveBufferBytes: 0,
      tosApplied: true,
    }),
    sendBatch(_fd: number, arena: Uint8Array, meta: Int32Array, start: number, end: number) {
      const answer = script.length > 0 ? script.shift()! : end - start;
      if (answer < 0) return answer;
      const n = Math.min(answer, end - start);
      for (let i = start; i < start + n; i++) {
        const off = meta[i * 4];
        wire.push({
          bytes: [...arena.subarray(off, off + meta[i * 4 + 1])],
          addr: meta[i * 4 + 2],
          port: meta[i * 4 + 3],
        });
      }
      return n;
    },
    errorName: (e: number) => (e === ENETUNREACH ? 'ENETUNREACH' : `E${e}`),
    close: () => void closed++,
  } as unknown as NativeUdp;
  return { udp, wire, closed: () => closed };
}

const key = { bindAddress: '127.0.0.1', interfaceAddress: '127.0.0.1', ttl: 1, tos: 0 };

function counters() {
  return { sendErrors: 0, lastError: '' };
}

t.test('datagrams wait for the flush, then leave in order with their destinations', async (t) => {
  const f = fakeUdp([]);
  const b = SendBatch.acquire({ ...key, sendBufferBytes: 0 }, f.udp)!;
  const c = counters();
  const src = new Uint8Array([1, 2, 3]);
  b.add(src, ipv4ToInt('239.255.1.2'), 5000, c);
  src[0] = 9; // the caller's buffer is free once add() returns: the batch holds a copy
  b.add(new Uint8Array([4, 5]), ipv4ToInt('239.255.1.3'), 5001, c);
  t.equal(f.wire.length, 0, 'nothing before the flush');
  flushSendBatches();
  t.same(
    f.wire.map((w) => w.bytes),
    [
      [1, 2, 3],
      [4, 5],
    ],
  );
  t.same(
    f.wire.map((w) => [w.addr >>> 0, w.port]),
    [
      [ipv4ToInt('239.255.1.2') >>> 0, 5000],
      [ipv4ToInt('239.255.1.3') >>> 0, 5001],
    ],
  );
  t.equal(c.sendErrors, 0);
  b.release();
  t.equal(f.closed(), 1, 'the last user closes the socket');
});

t.test('a refused datagram is counted on its owner and skipped', async (t) => {
  // The kernel takes the first, refuses the second, then takes the rest.
  const f = fakeUdp([1, -ENETUNREACH]);
  const b = SendBatch.acquire({ ...key, sendBufferBytes: 0 }, f.udp)!;
  const good = counters();
  const bad = counters();
  b.add(new Uint8Array([1]), 1, 1, good);
  b.add(new Uint8Array([2]), 2, 2, bad);
  b.add(new Uint8Array([3]), 1, 1, good);
  b.flush();
  t.same(
    f.wire.map((w) => w.bytes[0]),
    [1, 3],
  );
  t.equal(bad.sendErrors, 1);
  t.equal(bad.lastError, 'send ENETUNREACH');
  t.equal(good.sendErrors, 0);
  b.release();
});

t.test('EAGAIN keeps the unsent for the next flush; a full batch drops the newest', async (t) => {
  // First flush: 2 go, then the socket buffer is full. Second flush: all the rest go.
  const f = fakeUdp([2, -EAGAIN]);
  const b = SendBatch.acquire({ ...key, sendBufferBytes: 0 }, f.udp)!;
  const c = counters();
  for (let i = 0; i < 5; i++) b.add(new Uint8Array([i, i]), 1, 1, c);
  b.flush();
  t.same(
    f.wire.map((w) => w.bytes[0]),
    [0, 1],
    'sent until EAGAIN',
  );
  b.add(new Uint8Array([5, 5]), 1, 1, c);
  b.flush();
  t.same(
    f.wire.map((w) => w.bytes[0]),
    [0, 1, 2, 3, 4, 5],
    'the waiting ones went first, in order',
  );
  t.equal(c.sendErrors, 0, 'nothing lost');

  // The kernel refuses everything: 64 wait, the 65th is dropped and counted.
  const full = fakeUdp(Array(200).fill(-EAGAIN));
  const b2 = SendBatch.acquire({ ...key, tos: 4, sendBufferBytes: 0 }, full.udp)!;
  for (let i = 0; i < 65; i++) b2.add(new Uint8Array(1316).fill(i), 1, 1, c);
  t.equal(c.sendErrors, 1, 'the 65th is dropped');
  t.match(c.lastError, /EAGAIN/);
  b.release();
  b2.release();
});

t.test('after a partial send, the batch compacts and keeps bytes and order', async (t) => {
  const f = fakeUdp([3, -EAGAIN, -EAGAIN]);
  const b = SendBatch.acquire({ ...key, sendBufferBytes: 0 }, f.udp)!;
  const c = counters();
  for (let i = 0; i < 64; i++) b.add(new Uint8Array([i, 100 + i]), 1, i, c);
  b.flush(); // 3 go, then EAGAIN: 61 wait
  // The arena is full of slots: the next add flushes (EAGAIN again), compacts, then fits.
  b.add(new Uint8Array([64, 164]), 1, 64, c);
  t.equal(c.sendErrors, 0, 'room made by compacting, nothing dropped');
  b.flush();
  t.same(
    f.wire.map((w) => [w.bytes[0], w.bytes[1], w.port]),
    Array.from({ length: 65 }, (_, i) => [i, 100 + i, i]),
  );
  b.release();
});

t.test('the real addon: one shared socket sends a batch to several groups', async (t) => {
  const udp = nativeUdp();
  if (udp === undefined) {
    t.fail('the native addon is not built (npm install builds it)');
    return;
  }
  const rx = createSocket({ type: 'udp4', reuseAddr: true });
  const got: string[] = [];
  rx.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => rx.bind(5870, r));
  rx.addMembership('239.255.87.1', '127.0.0.1');
  rx.addMembership('239.255.87.2', '127.0.0.1');
  t.teardown(() => rx.close());
  const b = SendBatch.acquire({ ...key, sendBufferBytes: 1 << 20 })!;
  const c = counters();
  b.add(Buffer.from('one'), ipv4ToInt('239.255.87.1'), 5870, c);
  b.add(Buffer.from('two'), ipv4ToInt('239.255.87.2'), 5870, c);
  flushSendBatches();
  for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  t.same(got.sort(), ['one', 'two']);
  t.equal(c.sendErrors, 0);
  b.release();
});
