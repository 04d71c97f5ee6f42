import t from 'tap';
import {
  EARLY_NS,
  MAX_COALESCE_NS,
  MAX_NO_YIELD_NS,
  BALANCED_SPIN_BUDGET,
  DEFAULT_PACING_MODE,
  SpinBudget,
  SpinMargin,
  modeSettings,
  YIELD_GAP_NS,
  coalesceWindow,
  SLEEP_COALESCE_NS,
  planWait,
  sendDue,
  staggerOffsetNs,
  PASS_FLUSH_SENDS,
  QT_DUE,
  QT_FLOOR,
  QT_NOW,
  queueTimes,
  type PacedQueue,
  type PassResult,
} from '../../src/scheduler/pacing-loop.js';
import { crowdedLoop } from '../helpers/limited-queue.js';

/** A queue of due times (and a floor); records (name, due, late) of each send. */
function queue(
  name: string,
  dues: number[],
  log: [string, number, number][],
  floor = -Infinity,
): PacedQueue {
  const q = [...dues];
  return {
    head: (t) => {
      t[QT_DUE] = q.length ? q[0] : Infinity;
      t[QT_FLOOR] = floor;
    },
    sendHead: (t) => {
      const due = q.shift()!;
      log.push([name, due, t[QT_NOW] - due]);
    },
  };
}

t.test('sendDue: everything due, earliest first across channels, with a fake clock', async (t) => {
  const log: [string, number, number][] = [];
  const qs = [
    queue('a', [100e3, 300e3, 5e6], log),
    queue('b', [50e3, 300e3, 310e3], log),
    queue('c', [], log),
  ];
  let now = 300e3;
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue(qs, () => now, out);
  const next = out.deadlineNs;
  t.same(
    log.map(([n, d]) => `${n}${d}`),
    ['b50000', 'a100000', 'a300000', 'b300000', 'b310000'],
    'due by now + EARLY_NS (310 µs ≤ 300 µs + 20 µs), in due order',
  );
  t.same(
    log.map((l) => l[2]),
    [250e3, 200e3, 0, 0, -10e3],
    'lateness = now − due',
  );
  t.equal(out.sent, 5);
  t.equal(next, 5e6, 'earliest remaining');
  now = 10e6;
  sendDue(qs, () => now, out);
  t.equal(out.deadlineNs, Infinity, 'all empty');
  t.equal(out.sent, 1);
});

t.test(
  'coalescing: a sleeping thread sends what is due within half its wake-up delay',
  async (t) => {
    t.equal(coalesceWindow(300e3, 300e3), EARLY_NS, 'spinning to each due time: EARLY_NS only');
    t.equal(coalesceWindow(300e3, 1e6), EARLY_NS, 'the cap above the margin: spinning');
    t.equal(coalesceWindow(300e3, 10e3), 145e3, 'little spin: half the wake-up delay it leaves');
    t.equal(coalesceWindow(300e3, 200e3), 50e3, 'some spin: half of what it leaves');
    t.equal(coalesceWindow(300e3, 0), SLEEP_COALESCE_NS, 'no spin at all: the 1 ms grid');
    t.equal(coalesceWindow(5e6, 0), SLEEP_COALESCE_NS, 'whatever the wake-up delay');
    t.equal(coalesceWindow(300e3, 290e3), EARLY_NS, 'never below EARLY_NS');
    t.equal(coalesceWindow(5e6, 10e3), MAX_COALESCE_NS, 'capped');
    // Three channels 100 µs apart, then one 2.3 ms later, a thread that wakes 50 µs late:
    // with the 150 µs window it sleeps twice (for c, for a's second), without it three times.
    const passes = (early?: number): { sleeps: number; sends: string[] } => {
      const log: [string, number, number][] = [];
      const qs = [
        queue('a', [1e6, 3.3e6], log),
        queue('b', [1.1e6], log),
        queue('c', [1.2e6], log),
      ];
      let now = 1e6;
      let sleeps = 0;
      const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
      for (;;) {
        sendDue(qs, () => now, out, early);
        const next = out.deadlineNs;
        if (next === Infinity) break;
        const plan = planWait(next, now, 0, 0, true, out.sendAtNs);
        t.equal(plan.kind, 'sleep', 'the capped margin: sleeps, never spins');
        sleeps++;
        now = next + 50e3;
      }
      return { sleeps, sends: log.map(([n, , late]) => `${n}${late / 1e3}`) };
    };
    t.same(passes(coalesceWindow(300e3, 10e3)), {
      sleeps: 2,
      sends: ['a0', 'b-100', 'c50', 'a50'],
    });
    t.same(passes(), { sleeps: 3, sends: ['a0', 'b50', 'c50', 'a50'] }, 'without the window');
    t.same(
      passes(coalesceWindow(300e3, 0)),
      { sleeps: 1, sends: ['a0', 'b-100', 'c-200', 'a50'] },
      'never spinning: everything due within 1 ms in one pass',
    );
  },
);

t.test("sendDue: the early window never crosses a queue's floor", async (t) => {
  const log: [string, number, number][] = [];
  const a = queue('a', [1.0e6], log);
  const b = queue('b', [1.2e6], log, 1.2e6);
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue([a, b], () => 1e6, out, 500e3);
  const next = out.deadlineNs;
  t.same(
    log.map(([n]) => n),
    ['a'],
    'a due within the 0.5 ms early window goes; b, held by its burst window until its time, waits',
  );
  t.equal(next, 1.2e6);
  t.equal(out.sendAtNs, 1.2e6, 'b may leave at its floor, not 0.5 ms before');
});

t.test('sendDue: the wait ends by the least deadline, not the first that may leave', async (t) => {
  // On the 1 ms grid: a, held by its burst window to its due time 1.0 ms; b due at 1.5 ms may
  // leave from 0.5 ms. b is first in the heap; planned to b's due time, the sleep sent a
  // 0.45 ms late (at 20 channels, 1.1-1.7 ms late sends after sleeps that woke when asked).
  const log: [string, number, number][] = [];
  const a = queue('a', [1.0e6], log, 1.0e6);
  const b = queue('b', [1.5e6], log);
  let now = 0.2e6;
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  sendDue([a, b], () => now, out, SLEEP_COALESCE_NS);
  let next = out.deadlineNs;
  t.equal(out.sent, 0, 'nothing may leave yet');
  t.equal(out.sendAtNs, 0.5e6, 'b may leave first');
  t.equal(next, 1.0e6, "but a's deadline comes first");
  while (next !== Infinity) {
    const plan = planWait(next, now, 50e3, 0, true, out.sendAtNs);
    if (plan.kind === 'sleep')
      now += plan.ms * 1e6; // wakes when asked
    else if (plan.kind === 'spin') now = plan.untilNs;
    sendDue([a, b], () => now, out, SLEEP_COALESCE_NS);
    next = out.deadlineNs;
  }
  t.same(
    log.map(([n, , late]) => `${n}${late / 1e3}`),
    ['b-550', 'a0'],
    'b goes at the wake-up 50 µs before, early within the grid; a at its time',
  );
});

t.test('sendDue hands its sends over every PASS_FLUSH_SENDS and at the end', async (t) => {
  const log: [string, number, number][] = [];
  const dues = Array.from({ length: 20 }, (_, i) => i * 1e3);
  const qs = [queue('a', dues, log), queue('b', dues, log), queue('c', [], log)];
  const flushes: number[][] = [];
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  let now = 1e6;
  sendDue(
    qs,
    () => now,
    out,
    EARLY_NS,
    (sent, n) => {
      flushes.push(Array.from(sent.subarray(0, n)));
      now += 1; // the flush takes time: later sends see it
    },
  );
  t.equal(out.sent, 40);
  t.same(
    flushes.map((f) => f.length),
    [PASS_FLUSH_SENDS, PASS_FLUSH_SENDS, 40 - 2 * PASS_FLUSH_SENDS],
    'every PASS_FLUSH_SENDS sends, then the rest when the pass ends',
  );
  t.same(flushes[0].slice(0, 4), [0, 1, 0, 1], 'the indices of the queues that sent, in order');
  t.equal(
    log[16][2] - log[15][2],
    1 - (log[16][1] - log[15][1]),
    'a send after a flush sees the clock after it',
  );
  flushes.length = 0;
  sendDue(
    qs,
    () => now,
    out,
    EARLY_NS,
    (_sent, n) => flushes.push([n]),
  );
  t.same(flushes, [], 'a pass that sends nothing flushes nothing');
});

// 160 channels × 4 Mbit/s, 50 ms behind after a stall, a loop that takes 4 µs a send (as the
// pacing thread at that load): their burst windows count from when each send was in the kernel.
// Flushed only at the end of a pass, every send of a long pass counts from its end, later than
// the burst window allows to catch up (bench/scale: 160 channels sat 20-30 ms behind for good).
t.test(
  'a crowded loop flushing within the pass catches up; flushing at its end does not',
  async (t) => {
    const run = (passEnd: boolean) =>
      crowdedLoop({
        channels: 160,
        mbps: 4,
        seconds: 4,
        behindMs: 50,
        sendUs: 4,
        flushUs: 20,
        wakeMs: 0.2,
        passEnd,
      });
    const within = run(false);
    t.ok(within.complete, 'every datagram sent');
    t.ok(
      within.worstLastMs < 2,
      `caught up: worst ${within.worstLastMs.toFixed(2)} ms late in the last second`,
    );
    t.equal(within.relaxed, 0, 'never relaxed (rule 3)');
    t.ok(within.burst <= 1.2, `burst ${within.burst.toFixed(2)}`);
    const atEnd = run(true);
    t.ok(
      atEnd.worstLastMs > 10,
      `flushed at the end of each pass: still ${atEnd.worstLastMs.toFixed(1)} ms late in the last second`,
    );
  },
);

t.test('planWait: sleep, spin, yield', async (t) => {
  const m = 200_000;
  t.same(
    planWait(1e9 + 1e6, 1e9, m, 0, false),
    { kind: 'sleep', ms: 0.8 },
    'sleep until due − margin',
  );
  t.same(planWait(1e9 + 100_000, 1e9, m, 0, false), {
    kind: 'spin',
    untilNs: 1e9 + 100_000 - EARLY_NS,
  });
  t.same(
    planWait(1e9 + 10_000, 1e9, m, 0, false),
    { kind: 'none' },
    'due within EARLY_NS: send now',
  );
  t.same(
    planWait(1e9 + 100_000, 1e9, m, 0, false, 1e9 + 100_000),
    { kind: 'spin', untilNs: 1e9 + 100_000 },
    'a burst window that ends at its time: spin to it, not EARLY_NS before',
  );
  t.same(
    planWait(1e9 + 300_000, 1e9 + 100_000, m, 0, false, 1e9 - 700_000),
    { kind: 'none' },
    'inside the early window it was given: send now',
  );
  const idle = 1e9 + YIELD_GAP_NS + 1;
  t.same(
    planWait(idle, 1e9, m, 0, false, idle - EARLY_NS, true),
    { kind: 'yield' },
    'idle for 2 ms while an output holds a send: yield (the event loop completes it)',
  );
  t.equal(
    planWait(idle, 1e9, m, 0, false).kind,
    'sleep',
    'idle for 2 ms, nothing held: sleep (a turn is garbage; a control message wakes the loop)',
  );
  t.equal(
    planWait(idle, 1e9, m, MAX_NO_YIELD_NS + 1, false).kind,
    'yield',
    'idle, nothing held, no turn for a while: yield',
  );
  t.equal(
    planWait(idle, 1e9, m, 0, true, idle - EARLY_NS, true).kind,
    'sleep',
    'one yield per sleep',
  );
  t.equal(planWait(Infinity, 1e9, m, 0, true).kind, 'sleep', 'nothing queued: sleep (bounded)');
  t.equal(
    planWait(1e9 + 500_000, 1e9, m, MAX_NO_YIELD_NS + 1, false).kind,
    'yield',
    'busy: yield at a gap',
  );
  t.equal(
    planWait(1e9 + 300_000, 1e9, m, MAX_NO_YIELD_NS + 1, false).kind,
    'sleep',
    '…but not into a due time',
  );
});

t.test(
  'SpinMargin with a quantile (mode balanced): a rare slow wake-up does not raise it',
  async (t) => {
    const s = new SpinMargin(SpinMargin.MAX_NS, 0.9);
    const start = s.ns;
    for (let i = 0; i < SpinMargin.WINDOW - 1; i++) s.record(i % 20 === 0 ? 900_000 : 30_000);
    t.equal(s.ns, start, 'unchanged within the first window');
    s.record(30_000);
    // 13 of 256 samples (5 %) were slow: the 90th percentile is a fast one.
    t.equal(s.ns, 30_000 + SpinMargin.GUARD_NS, 'the window ends: its 90th percentile + guard');
    for (let i = 0; i < SpinMargin.WINDOW; i++) s.record(i % 5 === 0 ? 600_000 : 50_000);
    t.equal(s.ns, 600_000 + SpinMargin.GUARD_NS, 'when 20 % are slow, the margin covers them');
    for (let i = 0; i < SpinMargin.WINDOW; i++) s.record(20_000);
    t.equal(s.ns, 600_000 + SpinMargin.GUARD_NS, 'the higher of the last two windows');
    for (let i = 0; i < SpinMargin.WINDOW; i++) s.record(20_000);
    t.equal(s.ns, SpinMargin.MIN_NS, 'then down to the minimum');
  },
);

t.test('modeSettings: spin has no budget, sleep none to spend, balanced a quantile', async (t) => {
  t.same(modeSettings('spin'), { spinBudget: 1, marginQuantile: 1 });
  t.same(modeSettings('sleep'), { spinBudget: 0, marginQuantile: 1 });
  t.same(modeSettings('balanced'), { spinBudget: BALANCED_SPIN_BUDGET, marginQuantile: 0.9 });
  t.equal(DEFAULT_PACING_MODE, 'balanced');
});

t.test('SpinMargin follows the worst recent oversleep', async (t) => {
  const s = new SpinMargin();
  t.equal(s.ns, 200_000, 'starts cautious');
  s.record(10_000);
  t.equal(s.ns, SpinMargin.MIN_NS, 'never below the minimum');
  s.record(300_000);
  t.equal(s.ns, 300_000 + SpinMargin.GUARD_NS, 'one slow wake-up raises it at once');
  for (let i = 0; i < 2 * SpinMargin.WINDOW; i++) s.record(50_000);
  t.equal(s.ns, 50_000 + SpinMargin.GUARD_NS, 'and it decays within two windows');
  s.record(1e9);
  t.equal(s.ns, SpinMargin.MAX_NS, 'capped');
});

t.test('SpinMargin of a real-time thread: capped lower, at once', async (t) => {
  const s = new SpinMargin();
  s.record(800_000);
  t.equal(s.ns, 800_000 + SpinMargin.GUARD_NS);
  s.setMax(SpinMargin.REALTIME_MAX_NS);
  t.equal(s.ns, SpinMargin.REALTIME_MAX_NS, 'the margin drops to the new cap');
  s.record(5e6);
  t.equal(s.ns, SpinMargin.REALTIME_MAX_NS, 'a slow wake-up no longer makes it spin longer');
  for (let i = 0; i < 2 * SpinMargin.WINDOW; i++) s.record(20_000);
  t.equal(s.ns, SpinMargin.MIN_NS, 'fast wake-ups bring it down as before');
  const r = new SpinMargin(100_000);
  t.equal(r.ns, 100_000, 'a cap below the starting margin applies from the start');
});

t.test('SpinBudget: the spin stays within its share of a core', async (t) => {
  const W = SpinBudget.WINDOW_NS;
  const b = new SpinBudget(0.05);
  t.equal(b.ns, SpinMargin.MAX_NS, 'starts uncapped');
  // A thread that spins 50 % of each window (datagrams every 0.25 ms, 1 ms margin).
  let now = 0;
  b.add(0, 0, now, 0);
  for (let w = 0; w < 3; w++) {
    for (let i = 0; i < 100; i++) {
      now += W / 100;
      b.add(W / 200, 0, now, 0);
    }
  }
  t.equal(b.ns, SpinMargin.MAX_NS / 8, 'over budget: the cap halves each window');
  for (let w = 0; w < 20; w++) {
    now += W;
    b.add(0, 0, now, 0);
  }
  t.equal(b.ns, SpinMargin.MAX_NS, 'no spin: it grows back to the maximum');
  const never = new SpinBudget(0);
  never.add(1e9, 0, 1e9, 0);
  t.equal(never.ns, 0, 'budget 0: never spin');
  t.ok(never.onGrid, 'budget 0 (mode sleep): always the 1 ms grid');
  const free = new SpinBudget(1);
  free.add(W, 0, W, 0);
  free.add(W, 0, 2 * W, 0);
  t.equal(free.ns, SpinMargin.MAX_NS, 'budget 1: no limit');
  // Down to 0: then the plan sleeps to the due time itself.
  const c = new SpinBudget(0.01);
  for (let w = 1; w <= 40; w++) c.add(W, 0, w * W, 0);
  t.equal(c.ns, 0, 'a cap that halves enough reaches 0');
  t.same(
    planWait(1e9 + 300_000, 1e9, 0, 0, true),
    { kind: 'sleep', ms: 0.3 },
    'margin 0: sleep to due',
  );
});

t.test(
  'SpinBudget: a capped spin at a high datagram rate gives way to the 1 ms grid',
  async (t) => {
    const W = SpinBudget.WINDOW_NS;
    const b = new SpinBudget(0.05);
    const M = 60e3;
    let now = 0;
    b.add(0, 0, now, M);
    /** A window of `sends` evenly spread, each after a spin of `spinNs`. */
    const win = (sends: number, spinNs: number, m = M): void => {
      for (let i = 0; i < sends; i++) {
        now += W / sends;
        b.add(spinNs, 1, now, m);
      }
    };
    // 4,200 datagrams a second, each spun to for 50 µs: 21 % of a core.
    let w = 0;
    for (; w < 10 && !b.onGrid; w++) {
      t.ok(b.ns >= M, `window ${w}: the cap (${b.ns / 1e3} µs) still covers the margin, it spins`);
      win(420, 50e3);
    }
    t.ok(b.onGrid, 'the cap halved below the margin at 4,200 sends a second: the grid');
    t.ok(w >= 5 && w <= 6, `after 5 halvings of 1 ms (${w} windows)`);
    t.equal(b.ns, 0, 'no spin at all');
    t.equal(coalesceWindow(M, b.ns), SLEEP_COALESCE_NS, 'what falls due within 1 ms goes together');
    for (let k = 0; k < 20; k++) win(420, 0);
    t.ok(b.onGrid, 'it stays there while spinning to every send would overrun the budget');
    for (let k = 0; k < 10; k++) win(60, 0);
    t.notOk(b.onGrid, '600 sends a second: spinning again (below GRID_RATE)');
    t.ok(b.ns > 0, 'with a spin margin');
    const slow = new SpinBudget(0.05);
    now = 0;
    slow.add(0, 0, 0, M);
    for (let w = 0; w < 10; w++) {
      for (let i = 0; i < 40; i++) {
        now += W / 40;
        slow.add(150e3, 1, now, 300e3);
      }
    }
    t.notOk(slow.onGrid, '400 sends a second never use the grid, however capped');
    t.ok(slow.ns > 0 && slow.ns < 300e3, 'their spin is capped instead');
  },
);

t.test('stagger spreads channels over a datagram interval', async (t) => {
  const offs = Array.from({ length: 20 }, (_, k) => staggerOffsetNs(k, 2_632_000));
  t.equal(offs[0], 0);
  t.ok(offs.every((o) => o >= 0 && o < 2_632_000));
  const sorted = [...offs].sort((a, b) => a - b);
  const minGap = Math.min(...sorted.slice(1).map((o, i) => o - sorted[i]));
  t.ok(minGap > 2_632_000 / 20 / 3, `no two channels within ${(minGap / 1e3).toFixed(0)} µs`);
});

/** sendDue without its heap: every queue scanned for every send (the reference). */
function sendDueLinear(
  queues: readonly PacedQueue[],
  clock: () => number,
  out: PassResult,
  earlyNs: number,
): void {
  const t = queueTimes();
  let sent = 0;
  for (;;) {
    let best = -1;
    let bestAt = Infinity;
    for (let i = 0; i < queues.length; i++) {
      queues[i].head(t);
      const d = t[QT_DUE];
      const floor = t[QT_FLOOR];
      const at = d - earlyNs > floor ? d - earlyNs : floor;
      if (at < bestAt) {
        bestAt = at;
        best = i;
      }
    }
    out.sendAtNs = bestAt;
    if (best < 0) {
      out.sent = sent;
      out.deadlineNs = Infinity;
      return;
    }
    const now = clock();
    if (bestAt > now) {
      out.sent = sent;
      // The least deadline: a queue's due time, or its floor where that holds it longer.
      let deadline = Infinity;
      for (const q of queues) {
        q.head(t);
        const d = t[QT_DUE];
        if (d !== Infinity) deadline = Math.min(deadline, Math.max(d, t[QT_FLOOR]));
      }
      out.deadlineNs = deadline;
      return;
    }
    t[QT_NOW] = now;
    queues[best].sendHead(t);
    sent++;
  }
}

/** A queue of due times with a floor that moves as it sends (a window held every k sends). */
function flooredQueue(
  name: string,
  dues: number[],
  every: number,
  holdNs: number,
  log: string[],
): PacedQueue {
  const q = [...dues];
  let sends = 0;
  let floor = -Infinity;
  return {
    head: (t) => {
      t[QT_DUE] = q.length ? q[0] : Infinity;
      t[QT_FLOOR] = floor;
    },
    sendHead: (t) => {
      const due = q.shift()!;
      const late = t[QT_NOW] - due;
      log.push(`${name}:${due}:${late}`);
      if (++sends % every === 0) floor = due + late + holdNs;
    },
  };
}

t.test('sendDue: the heap sends what the linear scan sends, in its order (property)', async (t) => {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(rnd() * 40);
    const spec = Array.from({ length: n }, () => {
      const gap = 0.5e6 + Math.floor(rnd() * 4) * 1e6;
      const start = Math.floor(rnd() * 5e6);
      // Equal due times across queues now and then: the tie goes to the lower index.
      const dues = Array.from({ length: Math.floor(rnd() * 30) }, (_, k) => start + k * gap);
      return { dues, every: 1 + Math.floor(rnd() * 5), hold: Math.floor(rnd() * 3e6) };
    });
    const early = [EARLY_NS, 500e3, 1e6][round % 3];
    const jitter = Array.from({ length: 400 }, () => Math.floor(rnd() * 2e6));
    const logs: string[][] = [[], []];
    const runs = [sendDueLinear, sendDue].map((f, k) => {
      const qs = spec.map((s, i) => flooredQueue(`q${i}`, s.dues, s.every, s.hold, logs[k]));
      let now = 0;
      const results: number[] = [];
      for (let pass = 0; pass < 400; pass++) {
        const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
        // The clock moves within a pass too (each read 7 µs later).
        f(qs, () => (now += 7e3), out, early);
        const next = out.deadlineNs;
        results.push(next, out.sent, out.sendAtNs);
        if (next === Infinity) break;
        now = Math.max(now, out.sendAtNs) + jitter[pass];
      }
      return results;
    });
    if (logs[0].join() !== logs[1].join() || runs[0].join() !== runs[1].join()) {
      t.fail(`round ${round}: ${n} queues differ`);
      return;
    }
  }
  t.pass('200 rounds of up to 40 queues: the same sends, order, lateness and next times');
});
