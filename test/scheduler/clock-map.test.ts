import t from 'tap';
import { ClockMap } from '../../src/scheduler/clock-map.js';

const DG_TICKS = (1316 * 8 * 27e6) / 4e6; // one 4 Mbit/s datagram on the 27 MHz clock
const MS = 1e6;

interface Run {
  /** Lead (due − now) of the last datagram of each chunk (the queue depth) after a minute, ms. */
  minLeadMs: number;
  maxLeadMs: number;
  /** Lead at the end, ms. */
  endLeadMs: number;
  skewPpm: number;
  /** Largest step between consecutive due times divided by the stream step (rate seen). */
  maxRateDev: number;
  reanchors: number;
}

/**
 * A producer delivering 40 ms chunks of a 4 Mbit/s stream whose clock runs `driftPpm` fast
 * against ours, for `seconds` of our time, starting at an arbitrary monotonic time.
 */
function simulate(driftPpm: number, seconds: number, latencyMs = 100): Run {
  const cm = new ClockMap({ latencyMs });
  const t0 = 123_456_789_000;
  const pcr0 = 5e11;
  let next = 0; // datagram index
  let minLead = Infinity;
  let maxLead = -Infinity;
  let endLead = 0;
  let lastDue = NaN;
  let maxRateDev = 0;
  for (let now = t0; now < t0 + seconds * 1e9; now += 40 * MS) {
    const streamTicks = ((now - t0) / 1e9) * 27e6 * (1 + driftPpm * 1e-6);
    let lead = NaN;
    while (next * DG_TICKS <= streamTicks) {
      const due = cm.dueNs(pcr0 + next * DG_TICKS, now);
      if (!Number.isNaN(lastDue)) {
        const dev = Math.abs((due - lastDue) / ((DG_TICKS / 27e6) * 1e9) - 1);
        if (dev > maxRateDev) maxRateDev = dev;
      }
      lastDue = due;
      lead = (due - now) / MS;
      next++;
    }
    if (now - t0 > 60e9 && !Number.isNaN(lead)) {
      minLead = Math.min(minLead, lead);
      maxLead = Math.max(maxLead, lead);
      endLead = lead;
    }
  }
  const s = cm.stats;
  return {
    minLeadMs: minLead,
    maxLeadMs: maxLead,
    endLeadMs: endLead,
    skewPpm: s.skewPpm,
    maxRateDev,
    reanchors: s.reanchors,
  };
}

t.test('first datagram is due latency after now; later ones follow stream time', async (t) => {
  const cm = new ClockMap({ latencyMs: 100 });
  t.equal(cm.dueNs(1000, 5e9), 5e9 + 100 * MS);
  t.equal(cm.dueNs(1000 + 27e6, 5e9 + 10 * MS), 5e9 + 1100 * MS, '1 s of stream = 1 s');
  t.equal(cm.dueNs(1000 + 28e6, 5e9 + 20 * MS), 5e9 + 1100 * MS + 1e9 / 27);
  t.equal(new ClockMap().dueNs(0, 0), 100 * MS, 'default latency 100 ms');
});

t.test('steady source: no correction, the queue depth stays put', async (t) => {
  const r = simulate(0, 600);
  t.ok(Math.abs(r.skewPpm) < 1, `skew ${r.skewPpm.toFixed(3)} ppm`);
  t.ok(
    r.minLeadMs > 95 && r.maxLeadMs < 105,
    `lead ${r.minLeadMs.toFixed(2)}..${r.maxLeadMs.toFixed(2)} ms`,
  );
  t.ok(r.maxRateDev < 1e-6, `rate deviation ${r.maxRateDev}`);
  t.equal(r.reanchors, 0);
});

for (const drift of [200, -200]) {
  t.test(
    `source clock ${drift > 0 ? '+' : ''}${drift} ppm: corrected slowly, queue bounded`,
    async (t) => {
      // The controller is deliberately slow (~500 s, ±20 ms deadband, 2 ppm/s): every change
      // bends the send line. The queue (400 ms deep, as a channel runs it) absorbs the drift
      // meanwhile. Uncorrected, the lead would move by 1.44 s in these two hours.
      const run = simulate(drift, 7200, 400);
      t.ok(Math.abs(run.skewPpm + drift) < 20, `skew ${run.skewPpm.toFixed(1)} ppm ≈ ${-drift}`);
      t.ok(
        run.minLeadMs > 300 && run.maxLeadMs < 500,
        `lead ${run.minLeadMs.toFixed(1)}..${run.maxLeadMs.toFixed(1)} ms`,
      );
      t.ok(Math.abs(run.endLeadMs - 400) < 30, `lead at the end ${run.endLeadMs.toFixed(2)} ms`);
      t.ok(
        run.maxRateDev < 600e-6,
        `rate changes stay under 600 ppm: ${(run.maxRateDev * 1e6).toFixed(1)}`,
      );
    },
  );
}

t.test('stream time jumps re-anchor and continue the schedule', async (t) => {
  const cm = new ClockMap({ latencyMs: 100 });
  const step = (DG_TICKS / 27e6) * 1e9;
  let now = 1e9;
  let due = 0;
  for (let i = 0; i < 10; i++) due = cm.dueNs(i * DG_TICKS, now);
  const afterFwd = cm.dueNs(3600 * 27e6, now);
  t.ok(Math.abs(afterFwd - (due + step)) < 1, 'forward jump: one step after the last due time');
  const next = cm.dueNs(3600 * 27e6 + DG_TICKS, now);
  t.ok(Math.abs(next - afterFwd - step) < 1, 'then stream time again');
  const afterBack = cm.dueNs(5 * DG_TICKS, now);
  t.ok(Math.abs(afterBack - (next + step)) < 1, 'backward jump too');
  t.equal(cm.stats.reanchors, 2);
  // A stall: stream time continues but the producer was away for 3 s.
  now += 3e9;
  const stalled = cm.dueNs(6 * DG_TICKS, now);
  t.equal(stalled, now + 100 * MS, 'a backlog 3 s late is not burst: re-anchored');
  t.equal(cm.stats.reanchors, 3);
  // A small step over 1 s counts as a jump too; a 900 ms one does not.
  const a = cm.dueNs(6 * DG_TICKS + 0.9 * 27e6, now);
  t.ok(Math.abs(a - (stalled + 900 * MS)) < 1);
});

/**
 * A 0 ppm source in 40 ms chunks whose queue deepens by `stepMs` at 10 s (filler before it, a
 * new input after: its first segment comes out at once), the owner calling recalibrate() then
 * when `tell`; for `seconds`. Returns the skew at the end and the largest one on the way, ppm.
 */
function stepped(stepMs: number, tell: boolean, seconds: number): { end: number; most: number } {
  const cm = new ClockMap({ latencyMs: 400 });
  const t0 = 7e12;
  let next = 0;
  let most = 0;
  for (let now = t0; now < t0 + seconds * 1e9; now += 40 * MS) {
    const ahead = now - t0 >= 10e9 ? stepMs / 1e3 : 0;
    if (tell && now - t0 === 10e9) cm.recalibrate(now);
    const streamTicks = ((now - t0) / 1e9 + ahead) * 27e6;
    while (next * DG_TICKS <= streamTicks) cm.dueNs(next++ * DG_TICKS, now);
    most = Math.max(most, Math.abs(cm.stats.skewPpm));
  }
  return { end: cm.stats.skewPpm, most };
}

t.test('a queue deepened on purpose is measured afresh, not taken for drift', async (t) => {
  // The bench's channels ran on filler for ~2 s before their input (setpoint measured there),
  // then 150 ms deeper: the skew slewed to −34 ppm in 20 s, bending the send line.
  const told = stepped(150, true, 600);
  t.ok(told.most < 0.01, `recalibrated: skew stays ${told.most.toFixed(3)} ppm`);
  const untold = stepped(150, false, 600);
  t.ok(untold.most > 10, `held to the old setpoint it would be ${untold.most.toFixed(1)} ppm`);
  const shallower = stepped(-150, true, 600);
  t.ok(shallower.most < 0.01, `shallower too: ${shallower.most.toFixed(3)} ppm`);
});

t.test(
  'recalibrate: the lead is averaged from SETTLE on, and the drift learnt is kept',
  async (t) => {
    const cm = new ClockMap({ latencyMs: 100 });
    cm.recalibrate(1e9); // before the first datagram: nothing to measure yet
    t.equal(cm.stats.setpointMs, -1);
    const t0 = 1e12;
    let next = 0;
    const feed = (from: number, to: number, aheadMs: (now: number) => number, ppm = 0): void => {
      for (let now = from; now < to; now += 40 * MS) {
        const streamTicks = ((now - t0) / 1e9 + aheadMs(now) / 1e3) * 27e6 * (1 + ppm * 1e-6);
        while (next * DG_TICKS <= streamTicks) cm.dueNs(next++ * DG_TICKS, now);
      }
    };
    feed(t0, t0 + 8e9, () => 0);
    const first = cm.stats.setpointMs;
    t.ok(Math.abs(first - 100) < 41, `setpoint ${first.toFixed(1)} ms`);
    // Recalibrated at 8 s; the first 1.9 s after it run 60 ms deeper, then 30 ms: the transient
    // is not averaged in.
    cm.recalibrate(t0 + 8e9);
    t.equal(cm.stats.setpointMs, -1, 'measuring afresh');
    feed(t0 + 8e9, t0 + 9e9, () => 60);
    t.equal(cm.stats.setpointMs, -1, 'still measuring');
    feed(t0 + 9e9, t0 + 16e9, (now) => (now < t0 + 9.9e9 ? 60 : 30));
    const second = cm.stats.setpointMs;
    t.ok(
      Math.abs(second - (first + 30)) < 5,
      `setpoint ${second.toFixed(1)} ms: ${(second - first).toFixed(1)} deeper, the settled depth`,
    );
    // A source 200 ppm fast for two hours: the skew follows; recalibrating keeps it.
    feed(t0 + 16e9, t0 + 7216e9, () => 30, 200);
    const skew = cm.stats.skewPpm;
    t.ok(skew < -180, `skew ${skew.toFixed(1)} ppm`);
    cm.recalibrate(t0 + 7216e9);
    t.equal(cm.stats.skewPpm, skew, 'kept');
  },
);
