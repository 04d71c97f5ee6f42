// WorkerChannel as the pacing loop drives it (sendDue with a fake clock): a datagram that carries
// a PCR never leaves early, whatever early window the loop paces with (the 1 ms grid); a send's
// lateness is split into what the OS's late wake-up and the burst limit explain and the
// daemon's own share (LoopCounters.ownLateMaxNs).
import t from 'tap';
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import { SEND_DUE, type PacedOutput } from '../../src/scheduler/output-contract.js';
import { EARLY_NS, SLEEP_COALESCE_NS, sendDue } from '../../src/scheduler/pacing-loop.js';
import {
  CTL_TAIL,
  createCounters,
  createRing,
  ringPush,
  ringViews,
} from '../../src/scheduler/ring.js';
import {
  WorkerChannel,
  loopCounters,
  type LoopCounters,
} from '../../src/scheduler/worker-channel.js';

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
function channel(
  dues: [number, Uint8Array][],
  sent: number[],
  counters: LoopCounters = loopCounters(),
  /** Sends the output holds (PacedOutput.queued). */
  queued: () => number = () => 0,
  v = ringViews(createRing(256, PACKETS * 188), createCounters()),
): WorkerChannel {
  for (const [due, bytes] of dues) ringPush(v, bytes, due, NaN);
  const output: PacedOutput = {
    get queued() {
      return queued();
    },
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
    counters,
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

t.test(
  "a late send's own share: beyond the OS's late wake-up, from the burst limit's time",
  async (t) => {
    const fresh = loopCounters;
    const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };

    // The OS woke the loop 2.9 ms late for a datagram due at 10 ms; it left at 13 ms.
    let c = fresh();
    let ch = channel([[10 * MS, datagram('plain')]], [], c);
    c.wakeLateNs = 2.9 * MS;
    sendDue([ch], () => 13 * MS, out);
    t.equal(c.lateMaxNs, 3 * MS, '3 ms late');
    t.ok(Math.abs(c.ownLateMaxNs - 0.1 * MS) < 1, "0.1 ms of it the daemon's own");

    // Woken on time, the daemon itself held the send 3 ms: all of it its own.
    c = fresh();
    ch = channel([[10 * MS, datagram('plain')]], [], c);
    sendDue([ch], () => 13 * MS, out);
    t.equal(c.ownLateMaxNs, 3 * MS, 'a stall of its own counts whole');

    // A 30 ms oversleep with 0.5 ms datagrams queued: the burst limit spreads the backlog after
    // it (1.2 × the rate), every send of the catch-up late against its schedule, none against the
    // time the limit let it go.
    c = fresh();
    const dues: [number, Uint8Array][] = [];
    for (let k = 0; k < 120; k++) dues.push([10 * MS + k * 0.5 * MS, datagram('plain')]);
    const sent: number[] = [];
    ch = channel(dues, sent, c);
    let now = 10 * MS;
    sendDue([ch], () => now, out);
    now += 30 * MS;
    c.wakeLateNs = 30 * MS - 0.5 * MS; // asked to wake at the next due time, woke 29.5 ms later
    let passes = 0;
    while (sent.length < dues.length && passes++ < 10_000) {
      sendDue([ch], () => now, out);
      c.wakeLateNs = 0; // every later wait ends when asked
      now = Math.max(now + 10_000, out.sendAtNs);
    }
    t.equal(sent.length, dues.length, 'every datagram sent');
    t.ok(c.lateMaxNs > 25 * MS, `late against the schedule: ${(c.lateMaxNs / MS).toFixed(1)} ms`);
    t.ok(
      c.ownLateMaxNs < 0.6 * MS,
      `own share ${(c.ownLateMaxNs / MS).toFixed(2)} ms: the OS's stall and the limit's spreading`,
    );
  },
);

t.test(
  "time the OS held the thread off its CPU within the pass is not the daemon's own",
  async (t) => {
    // LoopCounters.passCpu: the thread's cpuCell at the start of the pass (CPU ns, voluntary and
    // involuntary switches); readCpu reads it again for a send that could be the worst own share.
    const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
    const cell = (cpuNs: number, voluntary: number, involuntary: number) => [
      cpuNs,
      voluntary,
      involuntary,
    ];
    const run = (now: number, atStart: number[], atSend: number[], passStart = 10 * MS) => {
      const c = loopCounters();
      let reads = 0;
      c.readCpu = (into) => {
        reads++;
        into.set(atSend);
      };
      c.passStartNs = passStart;
      c.passCpu.set(atStart);
      sendDue([channel([[10 * MS, datagram('plain')]], [], c)], () => now, out);
      return { c, reads };
    };

    // The pass began on time; at the send 3 ms later the thread had run 0.5 ms of it and been
    // switched out by the scheduler (involuntary): 2.5 ms were the OS's.
    let { c, reads } = run(13 * MS, cell(5 * MS, 10, 4), cell(5.5 * MS, 10, 5));
    t.equal(reads, 1, 'its CPU read once, for the worst candidate');
    t.equal(c.lateMaxNs, 3 * MS, '3 ms late');
    t.ok(Math.abs(c.ownLateMaxNs - 0.5 * MS) < 1, "0.5 ms of it the daemon's own");
    t.ok(Math.abs(c.preemptedMaxNs - 2.5 * MS) < 1, '2.5 ms preempted, said');

    // The same, but the thread blocked on something of its own (a voluntary switch): all its own.
    ({ c } = run(13 * MS, cell(5 * MS, 10, 4), cell(5.5 * MS, 11, 4)));
    t.equal(c.ownLateMaxNs, 3 * MS, 'a wait of its own counts whole');
    t.equal(c.preemptedMaxNs, 0);

    // On its CPU the whole time (its own work, a garbage collection): all its own.
    ({ c } = run(13 * MS, cell(5 * MS, 10, 4), cell(8 * MS, 10, 4)));
    t.equal(c.ownLateMaxNs, 3 * MS, 'work of its own counts whole');

    // The pass began 2 ms before the send was due: only what was off the CPU after its due time
    // can be the OS's share of its lateness, and the pass's 0.5 ms of CPU may all have been
    // after it: 2.5 ms, not the 4.5 ms the whole pass spent off its CPU.
    ({ c } = run(13 * MS, cell(5 * MS, 10, 4), cell(5.5 * MS, 10, 5), 8 * MS));
    t.ok(Math.abs(c.ownLateMaxNs - 0.5 * MS) < 1, 'off-CPU time before the due time not taken');
    t.ok(Math.abs(c.preemptedMaxNs - 2.5 * MS) < 1);

    // A send late by less than OWN_CPU_CHECK_NS does not read the CPU (a system call).
    ({ c, reads } = run(10.05 * MS, cell(5 * MS, 10, 4), cell(5 * MS, 10, 9)));
    t.equal(reads, 0, 'not read for 50 µs');
    t.equal(c.ownLateMaxNs, 0.05 * MS);
  },
);

t.test('a queue whose output holds sends is counted held once, until released', async (t) => {
  // LoopCounters.held: while it is > 0 the loop turns its event loop at every gap (the event
  // loop completes those sends; release() then frees their slots).
  const counters: LoopCounters = loopCounters();
  let held = 2;
  const v = ringViews(createRing(256, PACKETS * 188), createCounters());
  const sent: number[] = [];
  const dues: [number, Uint8Array][] = [10, 13, 16].map((ms) => [ms * MS, datagram('plain')]);
  const ch = channel(dues, sent, counters, () => held, v);
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue([ch], () => 10 * MS, out, SLEEP_COALESCE_NS);
  sendDue([ch], () => 13 * MS, out, SLEEP_COALESCE_NS);
  t.same(sent, [10 * MS, 13 * MS]);
  t.equal(counters.held, 1, 'two sends held by the output: the queue counts once');
  t.equal(v.ctl[CTL_TAIL], 0, 'their slots are not free');
  ch.release();
  t.equal(counters.held, 1, 'released while the output still holds them: still held');
  held = 0;
  ch.release();
  t.equal(counters.held, 0, 'released once the output holds none');
  t.equal(v.ctl[CTL_TAIL], 2, 'both slots free');
  sendDue([ch], () => 16 * MS, out, SLEEP_COALESCE_NS);
  t.equal(counters.held, 0, 'a send the output does not hold: not held');
  t.equal(v.ctl[CTL_TAIL], 3);
});
