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
  t.test(`source clock ${drift > 0 ? '+' : ''}${drift} ppm: acquired, queue bounded`, async (t) => {
    // Far beyond the standard's ±30 ppm (ffmpeg can be): the rate is measured within half a
    // minute and acquired at 2 ppm/s, the queue (400 ms deep, as a channel runs it) absorbing
    // the drift meanwhile. Uncorrected, the lead would move by 1.44 s in these two hours.
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
  });
}

/** ISO/IEC 13818-1 2.4.2.1: a system clock's frequency changes by at most 0.075 Hz/s. */
const ISO_SLEW_PPM = (0.075 / 27e6) * 1e6;

interface Follow {
  /** Largest change of the skew per second once locked (after `lockedAfter` s), ppm/s. */
  maxSlewPpm: number;
  /** Lead of the last datagram of each chunk minus the setpoint, after the first minute, ms. */
  minOffMs: number;
  maxOffMs: number;
  /** Skew at these times (s), ppm. */
  skewAt: Map<number, number>;
  chases: number;
  reanchors: number;
  /** The largest skew on the way, ppm (signed: the one furthest from 0). */
  mostPpm: number;
}

/**
 * A producer delivering a 4 Mbit/s stream in chunks of `chunkMs(i)` whose clock runs
 * `ppm(seconds)` fast against ours, for `seconds`, latency 400 ms as a channel runs it.
 */
function follow(
  ppm: (s: number) => number,
  seconds: number,
  opts: { lockedAfter?: number; chunkMs?: (i: number) => number; at?: number[] } = {},
): Follow {
  const cm = new ClockMap({ latencyMs: 400 });
  const t0 = 9e12;
  const lockedAfter = opts.lockedAfter ?? 150;
  let stream = 0; // seconds of stream time produced so far
  let next = 0;
  let now = t0;
  let lastSkew = 0;
  let lastUpdate = t0;
  const r: Follow = {
    maxSlewPpm: 0,
    minOffMs: Infinity,
    maxOffMs: -Infinity,
    skewAt: new Map(),
    chases: 0,
    reanchors: 0,
    mostPpm: 0,
  };
  const at = [...(opts.at ?? [])];
  for (let i = 0; now < t0 + seconds * 1e9; i++) {
    const step = (opts.chunkMs?.(i) ?? 40) * MS;
    stream += (step / 1e9) * (1 + ppm((now - t0) / 1e9) * 1e-6);
    now += step;
    let lead = NaN;
    while (next * DG_TICKS <= stream * 27e6) lead = cm.dueNs(next++ * DG_TICKS, now) - now;
    const s = cm.stats;
    const sec = (now - t0) / 1e9;
    if (Math.abs(s.skewPpm) > Math.abs(r.mostPpm)) r.mostPpm = s.skewPpm;
    const update = cm.state().lastUpdate; // the skew moves when the controller updates
    if (update !== lastUpdate) {
      if (sec > lockedAfter) {
        const slew = Math.abs(s.skewPpm - lastSkew) / ((update - lastUpdate) / 1e9);
        r.maxSlewPpm = Math.max(r.maxSlewPpm, slew);
      }
      lastSkew = s.skewPpm;
      lastUpdate = update;
    }
    if (sec > 60 && !Number.isNaN(lead)) {
      r.minOffMs = Math.min(r.minOffMs, lead / MS - s.setpointMs);
      r.maxOffMs = Math.max(r.maxOffMs, lead / MS - s.setpointMs);
    }
    while (at.length > 0 && sec >= at[0]) r.skewAt.set(at.shift() as number, s.skewPpm);
  }
  r.chases = cm.stats.chases;
  r.reanchors = cm.stats.reanchors;
  return r;
}

for (const drift of [30, -30, 10, -3]) {
  t.test(
    `source clock ${drift} ppm: its rate acquired in 2 minutes, then 0.075 Hz/s`,
    async (t) => {
      // The skew is our output's system clock (PCR values against arrival times). A new source's
      // rate is acquired fast (as a decoder locks afresh when it tunes in); after that it may
      // change by ISO/IEC 13818-1 2.4.2.1's 0.075 Hz/s at most. The old PI loop took ~500 s to
      // settle and moved at up to 2 ppm/s: 720 times the bound.
      const r = follow(() => drift, 3600, { at: [120, 3600] });
      const early = r.skewAt.get(120) ?? NaN;
      t.ok(Math.abs(early + drift) < 1, `skew at 120 s ${early.toFixed(3)} ppm`);
      const end = r.skewAt.get(3600) ?? NaN;
      t.ok(Math.abs(end + drift) < 0.3, `skew at 1 h ${end.toFixed(3)} ppm`);
      t.ok(
        r.maxSlewPpm <= ISO_SLEW_PPM * 1.000001,
        `after 150 s at most ${r.maxSlewPpm.toFixed(5)} ppm/s (bound ${ISO_SLEW_PPM.toFixed(5)})`,
      );
      t.ok(
        r.minOffMs > -25 && r.maxOffMs < 25,
        `lead ${r.minOffMs.toFixed(1)}..${r.maxOffMs.toFixed(1)} ms off the setpoint`,
      );
      t.equal(r.chases, 0, 'never chased');
    },
  );
}

t.test('a rate read through noisy delivery: no overshoot worth the name', async (t) => {
  // Chunks of 20-100 ms: the rate is known within 1 ppm only after minutes. The skew goes at
  // most 2 ppm past the source's 20 ppm (an estimate is taken once it is within 1 ppm: taken
  // within 5 ppm, it went to 23.7 here, and a UDP source 20 ppm fast through the daemon was
  // read as 29 and the line ran 9 ppm too fast for 50 s).
  for (const seed0 of [3, 5, 8, 13]) {
    let seed = seed0;
    const chunk = (): number => {
      seed = (seed * 16807) % 2147483647;
      return 20 + (seed % 81);
    };
    const r = follow(() => 20, 600, { chunkMs: chunk, at: [600] });
    t.ok(r.mostPpm > -22 && r.mostPpm < 0, `seed ${seed0}: at most ${r.mostPpm.toFixed(2)} ppm`);
    t.equal(r.chases, 0);
  }
});

t.test('a source whose clock drifts within the standard is followed within it', async (t) => {
  // 0.07 Hz/s for an hour: from 0 to 9.3 ppm, then steady for another.
  const rate = 0.07 / 27;
  const r = follow((s) => Math.min(s, 3600) * rate, 7200, { at: [7200] });
  const end = r.skewAt.get(7200) ?? NaN;
  t.ok(Math.abs(end + 3600 * rate) < 0.5, `skew at 2 h ${end.toFixed(3)} ppm`);
  t.ok(r.maxSlewPpm <= ISO_SLEW_PPM * 1.000001, `at most ${r.maxSlewPpm.toFixed(5)} ppm/s`);
  t.ok(
    r.minOffMs > -30 && r.maxOffMs < 30,
    `lead ${r.minOffMs.toFixed(1)}..${r.maxOffMs.toFixed(1)} ms off the setpoint`,
  );
  t.equal(r.chases, 0, 'never chased');
});

t.test('a source clock that jumps beyond the standard is chased, and said', async (t) => {
  // 100 ppm slow from one moment to the next, half an hour in: at 0.075 Hz/s the skew would need
  // 10 hours to get there, and the queue would run dry long before. It is followed at
  // 0.075 Hz/s while the queue allows (35 minutes), chased at up to 2 ppm/s (counted) once it
  // is half its depth off and brought back to half that (20 minutes), then held at 0.075 Hz/s
  // again.
  const r = follow((s) => (s < 1800 ? 0 : -100), 7200, { lockedAfter: 5400, at: [3600, 7200] });
  t.equal(r.chases, 1, 'one chase');
  const before = r.skewAt.get(3600) ?? NaN;
  t.ok(before < 6, `skew before it ${before.toFixed(3)} ppm`);
  const end = r.skewAt.get(7200) ?? NaN;
  t.ok(Math.abs(end - 100) < 6, `skew at the end ${end.toFixed(3)} ppm`);
  t.ok(r.minOffMs > -250, `the queue never ran dry: ${r.minOffMs.toFixed(1)} ms off at worst`);
  t.ok(r.maxSlewPpm <= ISO_SLEW_PPM * 1.000001, `after: at most ${r.maxSlewPpm.toFixed(5)} ppm/s`);
  t.equal(r.reanchors, 0);
});

t.test('a source at our rate in uneven chunks: the skew stays put', async (t) => {
  // Chunks of 10-190 ms (an ffmpeg pipe, a bursty network): the lead breathes by 190 ms, and
  // no rate is read into it.
  let seed = 7;
  const chunk = (): number => {
    seed = (seed * 16807) % 2147483647;
    return 10 + (seed % 181);
  };
  const r = follow(() => 0, 3600, { chunkMs: chunk, lockedAfter: 0, at: [3600] });
  const end = r.skewAt.get(3600) ?? NaN;
  t.ok(Math.abs(end) < 0.3, `skew at 1 h ${end.toFixed(3)} ppm`);
  t.ok(r.maxSlewPpm <= 2, `at most ${r.maxSlewPpm.toFixed(4)} ppm/s`);
  t.equal(r.chases, 0);
});

t.test(
  'a source far off in uneven chunks: its rate is taken once the queue is chased',
  async (t) => {
    // 200 ppm fast in chunks of 10-190 ms: after 20 minutes its rate is still known only within
    // 2-3 ppm, never within the 1 ppm an estimate needs; the queue deepens until it is chased,
    // and then an estimate within a tenth of its step is taken. Without that the chase held the
    // line at its 100 ppm and the queue ran 490 ms deep after an hour.
    let seed = 7;
    const chunk = (): number => {
      seed = (seed * 16807) % 2147483647;
      return 10 + (seed % 181);
    };
    const r = follow(() => 200, 3600, { chunkMs: chunk, lockedAfter: 3000, at: [3600] });
    t.equal(r.chases, 1, 'one chase');
    t.ok(r.maxOffMs < 400, `the queue at most ${r.maxOffMs.toFixed(0)} ms deeper`);
    const end = r.skewAt.get(3600) ?? NaN;
    t.ok(Math.abs(end + 200) < 10, `skew at 1 h ${end.toFixed(1)} ppm`);
    t.ok(
      r.maxSlewPpm <= ISO_SLEW_PPM * 1.000001,
      `the last 10 minutes at most ${r.maxSlewPpm.toFixed(5)} ppm/s`,
    );
  },
);

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
  t.ok(untold.most > 2, `held to the old setpoint it would be ${untold.most.toFixed(1)} ppm`);
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
