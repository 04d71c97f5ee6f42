// WorkerChannel as the pacing loop drives it (sendDue with a fake clock): a datagram that carries
// a PCR never leaves early, whatever early window the loop paces with (the 1 ms grid).
import t from 'tap';
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import { SEND_DUE, type PacedOutput } from '../../src/scheduler/output-contract.js';
import { EARLY_NS, SLEEP_COALESCE_NS, sendDue } from '../../src/scheduler/pacing-loop.js';
import { createCounters, createRing, ringPush, ringViews } from '../../src/scheduler/ring.js';
import { WorkerChannel } from '../../src/scheduler/worker-channel.js';

const MS = 1e6;
const PACKETS = 7;

/**
 * A TS packet (ISO/IEC 13818-1 §2.4.3.2): sync 0x47, PID 0x100, continuity `cc`; with
 * `pcr`, adaptation_field_control 11, adaptation_field_length 7 and PCR_flag (0x10), a PCR of
 * 0; with `flags` only, an adaptation field of one flags byte without PCR_flag.
 */
function packet(cc: number, kind: 'plain' | 'pcr' | 'flags'): Uint8Array {
  const p = new Uint8Array(188).fill(0xff);
  p[0] = 0x47;
  p[1] = 0x01;
  p[2] = 0x00;
  if (kind === 'plain') {
    p[3] = 0x10 | (cc & 15);
    return p;
  }
  p[3] = 0x30 | (cc & 15);
  if (kind === 'pcr') {
    p[4] = 7;
    p[5] = 0x10;
    p.fill(0, 6, 12);
  } else {
    p[4] = 1;
    p[5] = 0x00;
  }
  return p;
}

/** A datagram of 7 packets, packet `at` of kind `kind`, the rest plain. */
function datagram(kind: 'plain' | 'pcr' | 'flags', at = 0): Uint8Array {
  const d = new Uint8Array(PACKETS * 188);
  for (let k = 0; k < PACKETS; k++) d.set(packet(k, k === at ? kind : 'plain'), k * 188);
  return d;
}

/** A channel whose datagrams are due at `dues` (ns); its sends' due times go to `sent`. */
function channel(dues: [number, Uint8Array][], sent: number[]): WorkerChannel {
  const v = ringViews(createRing(16, PACKETS * 188), createCounters());
  for (const [due, bytes] of dues) ringPush(v, bytes, due, NaN);
  const output: PacedOutput = {
    queued: 0,
    counters: { sendErrors: 0 },
    info: {
      interfaceAddress: '127.0.0.1',
      local: '127.0.0.1:0',
      tosApplied: true,
      sendBufferBytes: 0,
    },
    send: (_slot, _ts, times) => void sent.push(times[SEND_DUE]),
    addDestination: async () => {},
    removeDestination: async () => {},
    close: async () => {},
  };
  return new WorkerChannel(
    'ch',
    v,
    output,
    0, // stagger index 0: no offset
    PACKETS * 188,
    new BurstLimiter(),
    { lateMaxNs: 0, unlicensed: 0 },
    null,
  );
}

t.test('on the 1 ms grid a datagram with a PCR waits for its due time', async (t) => {
  for (const [name, pcrAt] of [
    ['PCR-only packet at the head', 0],
    ['PCR in packet 4 (unaligned)', 4],
  ] as const) {
    const sent: number[] = [];
    const ch = channel(
      [
        [10 * MS, datagram('plain')],
        [11 * MS, datagram('pcr', pcrAt)],
        [12 * MS, datagram('plain')],
      ],
      sent,
    );
    let now = 10 * MS;
    const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
    sendDue([ch], () => now, out, SLEEP_COALESCE_NS);
    const next = out.deadlineNs;
    t.same(sent, [10 * MS], `${name}: the plain datagram goes, the PCR one is held`);
    t.equal(next, 11 * MS, `${name}: the loop is told to wake at the PCR's due time`);
    t.equal(out.sendAtNs, 11 * MS - EARLY_NS, `${name}: it may leave EARLY_NS before it`);
    now = 11 * MS;
    sendDue([ch], () => now, out, SLEEP_COALESCE_NS);
    t.same(sent, [10 * MS, 11 * MS, 12 * MS], `${name}: then it, and the next one 1 ms early`);
  }
});

t.test('an adaptation field without PCR_flag goes early like any datagram', async (t) => {
  const sent: number[] = [];
  const ch = channel(
    [
      [10 * MS, datagram('plain')],
      [10.5 * MS, datagram('flags')],
    ],
    sent,
  );
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue([ch], () => 10 * MS, out, SLEEP_COALESCE_NS);
  t.same(sent, [10 * MS, 10.5 * MS]);
});

t.test('a send that carried a PCR leaves at once: the pass flushes after it', async (t) => {
  const sent: number[] = [];
  const ch = channel(
    [
      [10 * MS, datagram('pcr')],
      [10.3 * MS, datagram('plain')],
      [10.6 * MS, datagram('plain')],
    ],
    sent,
  );
  const flushes: number[][] = [];
  const flush = (queues: Int32Array, count: number): void => {
    flushes.push([sent.length, count]);
    void queues;
  };
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue([ch], () => 10 * MS, out, SLEEP_COALESCE_NS, flush);
  t.equal(out.sent, 3);
  t.same(
    flushes,
    [
      [1, 1],
      [3, 2],
    ],
    'after the PCR datagram (one send), then the two others at the end of the pass',
  );
});
