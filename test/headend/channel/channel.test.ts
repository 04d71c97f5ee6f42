// A Channel driven with a fake source hub and a fake pacer: a channel whose output cannot send
// (its socket did not open, or every send fails) is `down`, with the reason as its lastError and
// no bitrate, whatever its source does; a CBR rate below the content's is warned about.
import t from 'tap';
import type { Test } from 'tap';
import { Channel, type ChannelDeps } from '../../../src/headend/channel/channel.js';
import { FIRST_WAVE, MAX_WAIT_MS, StartWaves } from '../../../src/headend/channel/start-waves.js';
import type {
  ChannelConfig,
  OutputQueue,
  OutputScheduler,
  SourceProvider,
  SourceSubscriber,
} from '../../../src/headend/channel/types.js';
import type { OutputInfo } from '../../../src/scheduler/output-contract.js';
import { Analyzer } from '../../../src/mpegts/analyzer/index.js';
import { ChannelOutput, type RunningOutput } from '../../../src/headend/channel/channel-output.js';
import { logger, type Line } from '../../helpers/log-lines.js';
import { simpleProgram, synthesize, type SynthProgram } from '../../helpers/synth.js';

const CONFIG: ChannelConfig = {
  number: 7,
  name: 'Seven',
  provider: 'p',
  slug: 'seven',
  output: {
    protocol: 'udp',
    group: '239.255.7.7',
    port: 5007,
    ttl: 1,
    tos: 0,
    interface: 'eth9',
    packetsPerDatagram: 7,
  },
  sources: [{ key: 'src' }],
  psiIntervalMs: 100,
  stallMs: 2000,
  returnAfterMs: 30_000,
  programNumber: 7,
  transportStreamId: 7,
  epg: 'test',
};

const INFO: OutputInfo = {
  interfaceAddress: '127.0.0.1',
  local: '127.0.0.1:40000',
  tosApplied: true,
  sendBufferBytes: 1 << 20,
};

/** A fake pacer queue: counts what is queued as sent, `errors` as its send errors. */
function fakeQueue(ready: OutputInfo | Error | Promise<OutputInfo | Error>): OutputQueue & {
  errors: number;
  failAll: boolean;
  dues: number[];
  t27s: number[];
  data: Uint8Array[];
} {
  const stats = {
    sent: 0,
    dropped: 0,
    lateNs: 0,
    bytes: 0,
    sendErrors: 0,
    lateness: { buckets: [], counts: [], sumSeconds: 0, count: 0 },
  };
  const q = {
    errors: 0,
    failAll: false,
    dues: [] as number[],
    /** Each datagram's output time (27 MHz). */
    t27s: [] as number[],
    /** Every datagram queued (copied). */
    data: [] as Uint8Array[],
    enqueue(bytes: Uint8Array, due: number, t27: number) {
      q.dues.push(due);
      q.t27s.push(t27);
      q.data.push(bytes.slice());
      stats.sent++;
      stats.bytes += bytes.length;
      if (q.failAll) stats.sendErrors++;
      return true;
    },
    stats,
    ready: Promise.resolve(ready),
    rtp: { ssrc: 1, seq: 0 },
    addDestination: () => Promise.resolve(),
    removeDestination: () => Promise.resolve(),
  };
  return q;
}

interface Rig {
  channel: Channel;
  queue: ReturnType<typeof fakeQueue>;
  lines: Line[];
  /** Feeds `ms` of a synthetic program (at muxRate) to the channel's source. */
  feed(ms: number, muxRate?: number, program?: SynthProgram): void;
  /** Feeds these bytes to the channel's source. */
  feedBytes(b: Uint8Array): void;
  advance(ms: number): void;
  now(): number;
  /** Whether the channel has subscribed to its source. */
  subscribed(): boolean;
}

function rig(
  t: Test,
  ready: OutputInfo | Error | Promise<OutputInfo | Error>,
  config: ChannelConfig = CONFIG,
  removeChannel: () => Promise<void> = () => Promise.resolve(),
  extra: Partial<ChannelDeps> = {},
): Rig {
  const lines: Line[] = [];
  const queue = fakeQueue(ready);
  let sub: SourceSubscriber | undefined;
  const hub: SourceProvider = {
    subscribe: (_spec, s) => {
      sub = s;
      return () => (sub = undefined);
    },
    state: () => undefined,
  };
  const pacer: OutputScheduler = {
    addChannel: () => queue,
    removeChannel,
  };
  let now = 1e12;
  let pcr = 0;
  const channel = new Channel(config, {
    hub,
    pacer,
    log: logger(lines),
    staggerIndex: 0,
    nowNs: () => now,
    tickMs: 1,
    ...extra,
  });
  t.teardown(() => channel.stop());
  return {
    channel,
    queue,
    lines,
    feed(ms, muxRate = 2e6, program = simpleProgram(1, 0x100)) {
      const { ts, endPcr } = synthesize({
        programs: [program],
        durationMs: ms,
        muxRate,
        startPcr: pcr,
      });
      pcr = endPcr;
      for (let at = 0; at < ts.length; at += 1316) sub?.data(ts.subarray(at, at + 1316));
    },
    feedBytes(b) {
      sub?.data(b);
    },
    advance(ms) {
      now += ms * 1e6;
    },
    now: () => now,
    subscribed: () => sub !== undefined,
  };
}

const settle = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Feeds and advances the clock a second at a time, letting the channel's tick run between. */
async function run(r: Rig, seconds: number, muxRate?: number): Promise<void> {
  for (let i = 0; i < seconds * 4; i++) {
    r.feed(250, muxRate);
    r.advance(250);
    await settle();
  }
}

t.test('an output that did not open: down, its error as lastError, no bitrate', async (t) => {
  const r = rig(t, new Error('output interface eth9: no IPv4 address'));
  await r.channel.start();
  await run(r, 2);
  const s = r.channel.status();
  t.equal(s.state, 'down', 'down although its source delivers (it was running)');
  t.match(s.lastError, /^output not open: output interface eth9: no IPv4 address$/);
  t.equal(s.bitrate, 0, 'nothing is sent');
  t.ok(r.lines.some((l) => l.event === 'output-failed'));
});

t.test('nothing is scheduled before the output is open: no burst of late datagrams', async (t) => {
  // The pacing thread's first start takes half a second: datagrams scheduled from the channel's
  // start left late, all at once, when the output opened (seen as a 170-240 ms late send at
  // every daemon start).
  let open: (i: OutputInfo) => void = () => undefined;
  const r = rig(t, new Promise<OutputInfo>((res) => (open = res)));
  const started = r.channel.start();
  for (let i = 0; i < 12; i++) {
    r.advance(50);
    await settle();
  }
  t.notOk(r.subscribed(), 'the source is not opened before the output');
  t.same(r.queue.dues, [], 'nothing queued before the output is open');
  open(INFO);
  await started;
  t.ok(r.subscribed(), 'the source opens with the output');
  const at = r.now();
  await run(r, 1);
  t.ok(r.queue.dues.length > 0, `${r.queue.dues.length} datagrams queued`);
  const firstAheadMs = (r.queue.dues[0] - at) / 1e6;
  t.ok(firstAheadMs >= 300, `the first is due ${firstAheadMs} ms after the output opened`);
});

t.test('stopped while its output opens: nothing starts when it does', async (t) => {
  // The daemon stopped ~0.5 s after start (before the pacing thread had opened the output):
  // the output opened while stop() waited for the pacer, the source and the tick timer started
  // after the stop, and the process never exited (notify.test in CI).
  let open: (i: OutputInfo) => void = () => undefined;
  let removed: () => void = () => undefined;
  let removes = 0;
  const r = rig(t, new Promise<OutputInfo>((res) => (open = res)), CONFIG, () =>
    removes++ === 0 ? new Promise<void>((res) => (removed = res)) : Promise.resolve(),
  );
  const started = r.channel.start();
  const stopped = r.channel.stop();
  open(INFO);
  await started;
  removed();
  await stopped;
  t.notOk(r.subscribed(), 'the source was never opened');
  for (let i = 0; i < 5; i++) {
    r.advance(100);
    await settle();
  }
  t.same(r.queue.dues, [], 'no schedule runs');
});

t.test('the same channel with an open output is running', async (t) => {
  const r = rig(t, INFO);
  await r.channel.start();
  await run(r, 2);
  const s = r.channel.status();
  t.equal(s.state, 'running');
  t.equal(s.lastError, undefined);
  t.ok(s.bitrate > 0, `bitrate ${s.bitrate}`);
});

t.test(
  'every send failing: down (output-send-failed), running again when sends go out',
  async (t) => {
    const r = rig(t, INFO);
    await r.channel.start();
    await run(r, 2);
    t.equal(r.channel.status().state, 'running');
    r.queue.failAll = true;
    await run(r, 2);
    const s = r.channel.status();
    t.equal(s.state, 'down');
    t.match(s.lastError, /^output sends fail \(\d+ send errors for \d+ datagrams in a second\)$/);
    t.equal(s.bitrate, 0);
    t.equal(r.lines.filter((l) => l.event === 'output-send-failed').length, 1, 'logged once');
    r.queue.failAll = false;
    await run(r, 2);
    t.equal(r.channel.status().state, 'running', 'recovers');
    t.ok(r.lines.some((l) => l.event === 'output-send-ok'));
  },
);

t.test(
  'the filler keeps the queue the latency deep: at start, under content, after a stall',
  async (t) => {
    // The filler that opened the schedule was a whole latency's worth, due from a latency ahead
    // on: the queue ran 760 ms deep where 400 ms were configured, and every source that followed
    // (an alert's card too) went on the wire that much later.
    const r = rig(t, INFO);
    await r.channel.start();
    const latency = 400;
    let worst = 0;
    const ahead = (): number => (Math.max(...r.queue.dues) - r.now()) / 1e6;
    for (let i = 0; i < 25; i++) {
      await settle();
      worst = Math.max(worst, ahead());
      r.advance(40);
    }
    t.ok(r.queue.dues.length > 0, 'filler went out');
    t.ok(worst <= latency * 1.25 + 1, `filler alone: at most ${worst.toFixed(0)} ms queued`);
    t.ok(worst >= latency, 'and the queue is the latency deep');
    worst = 0;
    for (let i = 0; i < 8; i++) {
      r.feed(250);
      await settle();
      worst = Math.max(worst, ahead());
      r.advance(250);
    }
    // A feed of 250 ms arrives at once: up to that much over the latency and a quarter.
    t.ok(worst <= latency * 1.25 + 250 + 1, `with content: at most ${worst.toFixed(0)} ms queued`);
    r.advance(3000); // the source stalls and the queue runs dry
    worst = 0;
    for (let i = 0; i < 25; i++) {
      await settle();
      worst = Math.max(worst, ahead());
      r.advance(40);
    }
    t.ok(worst <= latency * 1.25 + 1, `after a stall: at most ${worst.toFixed(0)} ms queued`);
  },
);

t.test('a starting source gets no filler until half the latency is left', async (t) => {
  // Filler splices: a top-up while the channel's first bytes waited in the remuxer (for a
  // PCR, a keyframe) cut them, and the pictures waited for the next keyframe (a second
  // without PES at a channel's start in the e2e workers test). Half the latency stays queued.
  const r = rig(t, INFO);
  await r.channel.start();
  await settle(); // the first filler (no bytes yet)
  const { ts } = synthesize({ programs: [simpleProgram(1, 0x100)], durationMs: 40, muxRate: 2e6 });
  const psi: Uint8Array[] = [];
  for (let o = 0; o + 188 <= ts.length; o += 188) {
    const pid = ((ts[o + 1] & 0x1f) << 8) | ts[o + 2];
    if (pid === 0 || pid === 0x1000) psi.push(ts.subarray(o, o + 188));
  }
  const latency = 400;
  let early = 0;
  let least = Infinity;
  for (let i = 0; i < 40; i++) {
    const before = r.queue.dues.length;
    const ahead = (Math.max(...r.queue.dues) - r.now()) / 1e6;
    for (const p of psi) r.feedBytes(p); // PAT and PMT: bytes flow, nothing to send yet
    await settle();
    if (r.queue.dues.length > before && ahead > latency / 2 + 40) early++;
    least = Math.min(least, ahead);
    r.advance(40);
  }
  t.equal(early, 0, 'no filler while more than half the latency is queued');
  t.ok(least >= latency / 2 - 50, `and the queue stays deep: ${least.toFixed(0)} ms at least`);
});

t.test('an input after seconds of filler: its deeper queue is not taken for drift', async (t) => {
  // On the bench, channels whose input came ~2 s after their filler began held the queue
  // depth measured on the filler (over the first 3 s then); the input's ran 150 ms deeper, and
  // the drift controller slewed the send line to −34 ppm in 20 s (PCR jitter p99 114 µs where
  // the other channels had 40). Here the filler runs 6 s, past the first measurement.
  const r = rig(t, INFO);
  await r.channel.start();
  for (let i = 0; i < 24; i++) {
    r.advance(250); // 6 s of filler only: the source sends nothing yet
    await settle();
  }
  await run(r, 40, 3_008_000); // 500 packets in each 250 ms fed: the source's clock is ours
  const { dues, t27s } = r.queue;
  const last = dues.length - 1;
  const from = dues.findIndex((d) => d >= dues[last] - 20e9);
  const rate = (dues[last] - dues[from]) / (((t27s[last] - t27s[from]) / 27e6) * 1e9);
  const ppm = (rate - 1) * 1e6;
  t.ok(Math.abs(ppm) < 0.5, `the send line over the last 20 s: ${ppm.toFixed(2)} ppm`);
  const skew = r.channel.status().clockSkewPpm ?? NaN;
  t.ok(Math.abs(skew) < 0.5, `and its status says so: ${skew.toFixed(2)} ppm`);
});

t.test('a source clock that jumps far off is chased, and the log says so', async (t) => {
  // 40 s at our rate (the rate acquired: 0 ppm), then 4,000 ppm fast: at 0.075 Hz/s the send
  // line could not follow, and the queue runs deeper by ~4 ms a second until it is half its
  // depth off. Then the line changes rate at up to 2 ppm/s, counted and said once.
  const r = rig(t, INFO);
  await r.channel.start();
  await run(r, 40, 3_008_000);
  t.equal(r.channel.status().clockChases, 0, 'no chase at our rate');
  for (let i = 0; i < 4 * 100; i++) {
    r.feed(251, 3_008_000);
    r.advance(250);
    await settle();
  }
  const s = r.channel.status();
  t.equal(s.clockChases, 1, 'one chase');
  const said = r.lines.filter((l) => l.event === 'clock-chase');
  t.equal(said.length, 1, 'said once');
  t.match(said[0], { level: 'warn', fields: { chases: 1, message: /0\.075 Hz\/s/ } });
  t.ok((s.clockSkewPpm ?? 0) < -10, `the line sped up: ${s.clockSkewPpm?.toFixed(1)} ppm`);
});

t.test('a stopped channel is stopped, not down', async (t) => {
  const r = rig(t, new Error('no such interface'));
  await r.channel.start();
  await settle();
  await r.channel.stop();
  t.equal(r.channel.status().state, 'stopped');
});

t.test(
  'CBR rate below the content: cbr-rate-too-low with the measured rate, once a minute',
  async (t) => {
    const r = rig(t, INFO, { ...CONFIG, bitrate: 1_000_000 });
    await r.channel.start();
    await run(r, 8, 2e6);
    const warn = r.lines.filter((l) => l.event === 'cbr-rate-too-low');
    t.equal(warn.length, 1, 'warned once (rate-limited)');
    t.equal(warn[0]?.level, 'warn');
    const f = warn[0]?.fields ?? {};
    t.equal(f.rate, 1_000_000);
    t.ok(
      typeof f.contentRate === 'number' && f.contentRate > 1_050_000 && f.contentRate < 1_500_000,
      `measured ${String(f.contentRate)}`,
    );
    t.ok(typeof f.overflows === 'number' && f.overflows > 0);
    const s = r.channel.status();
    t.match(s.lastError, /^CBR rate 1M is below the content's \d/);
    t.ok(s.remux.cbrOverflows > 0 && s.remux.cbrMaxLagMs > 0, 'remux counters in the status');

    const fits = rig(t, INFO, { ...CONFIG, bitrate: 4_000_000 });
    await fits.channel.start();
    await run(fits, 8, 2e6);
    t.notOk(
      fits.lines.some((l) => l.event === 'cbr-rate-too-low'),
      'no warning when the rate suffices',
    );
  },
);

t.test('a reload that lowers the CBR rate below the content is warned about', async (t) => {
  // The watch measured against the rate the channel started with: 4M, so a reload to 1M
  // (applied in place) went unreported.
  const r = rig(t, INFO, { ...CONFIG, bitrate: 4_000_000 });
  await r.channel.start();
  await run(r, 3, 2e6);
  r.channel.updateMux({ ...CONFIG, bitrate: 1_000_000 });
  await run(r, 8, 2e6);
  const warn = r.lines.filter((l) => l.event === 'cbr-rate-too-low');
  t.equal(warn.length, 1, 'warned against the new rate');
  t.equal(warn[0]?.fields?.rate, 1_000_000);
});

t.test('bytes with PSI but no video or audio: the source fails (no payload)', async (t) => {
  // An encoder whose input died often sends PAT, PMT and PCR and nothing else: before, the
  // channel stayed 'running' on it for good.
  const r = rig(t, INFO, { ...CONFIG, stallMs: 1000 });
  await r.channel.start();
  await run(r, 2);
  t.equal(r.channel.status().state, 'running');
  const silent = simpleProgram(1, 0x100);
  for (const s of silent.streams) s.startMs = 1e9; // PSI and PCR-only packets, no PES
  for (let i = 0; i < 4 * 5; i++) {
    r.feed(250, 2e6, silent);
    r.advance(250);
    await settle();
  }
  const failed = r.lines.filter((l) => l.event === 'source-failed');
  t.equal(failed.length, 1, 'failed once (then watched afresh)');
  t.match(failed[0]?.fields.reason, /^no payload: no video or audio packets for 3000 ms$/);
  t.match(r.channel.status().lastError, /no payload/);
  t.equal(r.channel.status().state, 'down');
});

t.test(
  'a source that starts sending long after it opened is not failed at its first bytes',
  async (t) => {
    // The payload watch began when the source opened: bytes that came more than 3 s later were
    // failed as 'no payload' at the first tick before their first picture (a daemon started
    // before its inputs: seen on 20 of 200 channels at once, each restarted for nothing).
    const r = rig(t, INFO, { ...CONFIG, stallMs: 1000 });
    await r.channel.start();
    for (let i = 0; i < 5 * 4; i++) {
      r.advance(250);
      await settle();
    }
    const silent = simpleProgram(1, 0x100);
    for (const s of silent.streams) s.startMs = 1e9; // the first bytes: PAT, PMT, PCR only
    r.feed(100, 2e6, silent);
    r.advance(100);
    await settle();
    await run(r, 2);
    t.same(
      r.lines.filter((l) => l.event === 'source-failed').map((l) => l.fields.reason),
      [],
      'not failed',
    );
    t.equal(r.channel.status().state, 'running');
  },
);

t.test(
  'the first input after the starting filler goes on three quarters of the latency ahead',
  async (t) => {
    // The starting filler waits until half the latency is left, and the input then went on from
    // there for good: bench/scale's channels ran 140-200 ms ahead instead of ~340, so the 250 ms
    // before a source that stopped is called quiet emptied their queues (sends 40-140 ms late).
    const r = rig(t, INFO, CONFIG);
    await r.channel.start();
    const noise = new Uint8Array(1316); // bytes, but nothing of a program yet
    for (let i = 0; i < 8; i++) {
      r.feedBytes(noise);
      r.advance(125);
      await settle();
    }
    const last = (): number => (r.queue.dues[r.queue.dues.length - 1] - r.now()) / 1e6;
    // The input begins just before the filler's next top-up, where its queue is shallowest.
    for (let i = 0; i < 100 && last() > 215; i++) {
      r.feedBytes(noise);
      r.advance(5);
      await settle(2);
    }
    const starting = last();
    t.ok(starting <= 215, `the starting filler's queue: ${starting.toFixed(0)} ms ahead`);
    for (let i = 0; i < 8; i++) {
      r.feed(125);
      r.advance(125);
      await settle();
    }
    t.equal(r.channel.status().state, 'running');
    const ahead = last();
    t.ok(
      ahead >= 0.75 * 400 - 10 && ahead <= 400,
      `the input goes on ${ahead.toFixed(0)} ms ahead`,
    );
  },
);

t.test('a source gone quiet: the queue refills by steps, never running dry', async (t) => {
  // All of an input's channels go quiet in the same tick; each topped its queue up to the
  // whole latency at once (~350 ms of filler), and 200 of them held the thread long enough to
  // send late. Now: up to half the latency at once, then a quarter per tick.
  const queue = fakeQueue(INFO);
  let now = 1e12;
  const out = new ChannelOutput(CONFIG, {
    pacer: { addChannel: () => queue, removeChannel: () => Promise.resolve() },
    staggerIndex: 0,
    nowNs: () => now,
    wallMs: () => 0,
    latencyMs: 400,
    log: () => undefined,
    error: () => undefined,
  });
  await out.open(CONFIG);
  const lead = (): number => (queue.dues[queue.dues.length - 1] - now) / 1e6;
  /** One tick's top-up: ms of filler queued (VBR filler: a datagram spans ~30 ms). */
  const topUp = (): number => {
    const from = queue.dues.length;
    out.keepAlive(now);
    return from === queue.dues.length
      ? 0
      : (queue.dues[queue.dues.length - 1] - queue.dues[from - 1]) / 1e6;
  };
  out.keepAlive(now); // the schedule opens (a quarter of the latency)
  for (let i = 0; i < 20; i++) ((now += 40e6), topUp());
  t.ok(lead() >= 300, `running: ${lead().toFixed(0)} ms ahead`);
  now += (lead() - 50) * 1e6; // found quiet with 50 ms left
  const first = topUp();
  t.ok(
    first >= 120 && first <= 190,
    `the first top-up: ${first.toFixed(0)} ms (to half the latency)`,
  );
  const sizes: number[] = [];
  let least = lead();
  for (let i = 0; i < 10; i++) {
    now += 40e6;
    least = Math.min(least, lead());
    sizes.push(topUp());
  }
  t.ok(
    Math.max(...sizes) <= 130,
    `then at most a quarter per tick: ${sizes.map((x) => x.toFixed(0))}`,
  );
  t.ok(least > 0, `never dry (least ${least.toFixed(0)} ms ahead)`);
  t.ok(lead() >= 300, `refilled: ${lead().toFixed(0)} ms ahead`);
});

t.test('a channel waiting for its wave: filler, no source failure, then its input', async (t) => {
  // The thread stays busy and a crowd of channels that asks first takes each look's share:
  // the channel waits MAX_WAIT_MS, longer than the 3 s watches of its source (no payload,
  // missing service), which must not fail it meanwhile.
  const gate = new StartWaves({ busy: () => 1 });
  for (let i = 0; i < FIRST_WAVE; i++) gate.admit({}, 1e12);
  let crowd = Array.from({ length: 300 }, () => ({}));
  crowd = crowd.filter((w) => !gate.admit(w, 1e12));
  const r = rig(t, INFO, { ...CONFIG, stallMs: 1000 }, undefined, { startWaves: gate });
  await r.channel.start();
  const waitMs = MAX_WAIT_MS - 500;
  for (let ms = 0; ms < waitMs; ms += 250) {
    crowd = crowd.filter((w) => !gate.admit(w, r.now()));
    r.feed(250);
    r.advance(250);
    await settle();
  }
  t.equal(gate.waitingCount - crowd.length, 1, 'it waits');
  t.equal(r.channel.status().state, 'starting');
  t.equal(r.channel.status().remux.contentPacketsIn, 0, 'its input is not taken in');
  t.ok(r.queue.dues.length > 0, `filler goes out meanwhile (${r.queue.dues.length} datagrams)`);
  t.same(
    r.lines.filter((l) => l.event === 'source-failed').map((l) => l.fields.reason),
    [],
    'no source failure while it waits',
  );
  await run(r, 2);
  t.equal(gate.waitingCount - crowd.length, 0, 'let in after MAX_WAIT_MS');
  t.equal(r.channel.status().state, 'running');
  t.ok(r.channel.status().remux.contentPacketsIn > 0, 'its input is taken in');
});

t.test('a channel that goes on from a kept output is not held by the gate', async (t) => {
  const gate = new StartWaves({ busy: () => 1 });
  for (let i = 0; i < FIRST_WAVE; i++) gate.admit({}, 1e12);
  const r = rig(t, INFO, CONFIG);
  await r.channel.start();
  await run(r, 1);
  const kept = await r.channel.stop({ keepOutput: true });
  let sub: SourceSubscriber | undefined;
  const next = new Channel(CONFIG, {
    hub: { subscribe: (_s, s) => ((sub = s), () => (sub = undefined)), state: () => undefined },
    pacer: { addChannel: () => r.queue, removeChannel: () => Promise.resolve() },
    log: logger([]),
    staggerIndex: 0,
    nowNs: () => r.now(),
    tickMs: 1,
    output: kept!,
    startWaves: gate,
  });
  t.teardown(() => next.stop());
  await next.start();
  const { ts } = synthesize({ programs: [simpleProgram(1, 0x100)], durationMs: 500, muxRate: 2e6 });
  for (let at = 0; at < ts.length; at += 1316) sub?.data(ts.subarray(at, at + 1316));
  t.equal(gate.waitingCount, 0, 'never asked to wait');
  t.ok(next.status().remux.contentPacketsIn > 0, 'its input is taken in at once');
});

t.test('a rebuilt channel with the same output takes it over: one stream goes on', async (t) => {
  let removes = 0;
  const r = rig(t, INFO, CONFIG, () => {
    removes++;
    return Promise.resolve();
  });
  await r.channel.start();
  await run(r, 1);
  const oldDues = r.queue.dues.length;
  t.ok(oldDues > 0, `${oldDues} datagrams queued by the old channel`);
  const kept = await r.channel.stop({ keepOutput: true });
  t.equal(kept?.queue, r.queue, 'stop hands the running output back, its queue with it');
  t.equal(removes, 0, 'the output stays in the pacer (socket, RTP stream, RTSP destinations)');
  t.ok(r.lines.some((l) => l.event === 'channel-stop' && l.fields.output === 'kept'));

  let sub: SourceSubscriber | undefined;
  const next = new Channel(
    { ...CONFIG, sources: [{ key: 'other' }] },
    {
      hub: { subscribe: (_s, s) => ((sub = s), () => (sub = undefined)), state: () => undefined },
      pacer: {
        addChannel: () => t.fail('a new queue was asked for') as never,
        removeChannel: () => Promise.resolve(),
      },
      log: logger([]),
      staggerIndex: 0,
      nowNs: r.now,
      tickMs: 1,
      output: kept ?? undefined,
    },
  );
  t.teardown(() => next.stop());
  await next.start();
  t.ok(next.sharesOutputWith(r.channel), 'the two share one output');
  t.notOk(next.sharesOutputWith(rig(t, INFO).channel), 'not with another channel');
  t.equal(next.outputKey, 'udp://239.255.7.7:5007', 'keyed by the output identity');
  // Another source: its own clock, PIDs and continuity counters.
  const { ts } = synthesize({
    programs: [simpleProgram(3, 0x200)],
    durationMs: 3000,
    muxRate: 2e6,
    startPcr: 5e11,
  });
  for (let at = 0; at < ts.length; at += 1316) sub?.data(ts.subarray(at, at + 1316));
  const dues = r.queue.dues;
  t.ok(dues.length > oldDues, 'the new channel queues into the same queue');
  t.ok(
    dues[oldDues] >= dues[oldDues - 1],
    'its first datagram is due after the old channel’s last: the queue stays in order',
  );
  t.equal(next.status().output, 'udp://239.255.7.7:5007');
  // The receivers' view: what the queue sent, old channel then new, as one stream.
  const a = new Analyzer();
  r.queue.data.forEach((d, i) => a.push(d, r.queue.dues[i]));
  a.end();
  const rep = a.report();
  const all = [...rep.tr101290.priority1, ...rep.tr101290.priority2];
  const errors = all
    .filter((c) => c.errors > 0)
    .map((c) => `${c.id} ${c.name}: ${c.errors} ${c.detail ?? ''}`);
  t.same(errors, [], 'no continuity, PCR or PSI error across the hand-over');
  t.ok(rep.totals.durationSec > 3, `${rep.totals.durationSec.toFixed(1)} s analyzed`);
});

/**
 * A channel rebuilt on `kept` (the same config), started: what it logs, the `from` its source
 * subscription asked for, and its source's bytes.
 */
async function takeOver(t: Test, r: Rig, kept: RunningOutput) {
  let sub: SourceSubscriber | undefined;
  let asked: Uint8Array | undefined;
  const lines: Line[] = [];
  const next = new Channel(CONFIG, {
    hub: {
      subscribe: (_s, s, opts) => {
        asked = opts?.from;
        sub = s;
        return () => (sub = undefined);
      },
      state: () => undefined,
    },
    pacer: {
      addChannel: () => t.fail('a new queue was asked for') as never,
      removeChannel: () => Promise.resolve(),
    },
    log: logger(lines),
    staggerIndex: 0,
    nowNs: r.now,
    tickMs: 1,
    output: kept,
  });
  t.teardown(() => next.stop());
  await next.start();
  return { lines, asked: () => asked, feed: (b: Uint8Array) => sub?.data(b) };
}

/**
 * A channel run for 2 s from PCR 0 of a synthesized 6 s run, then stopped with its output kept
 * while that run goes on (one continuous source): `at` where the run went on at the stop, `end`
 * how far it was fed before the cut came, `from` the cut packet's place in the run.
 */
async function stopMidRun(t: Test) {
  const r = rig(t, INFO, CONFIG);
  await r.channel.start();
  await run(r, 2);
  // The stop waits for the next input PCR: the source goes on meanwhile (one continuous run).
  const { ts } = synthesize({
    programs: [simpleProgram(1, 0x100)],
    durationMs: 6000,
    muxRate: 2e6,
    startPcr: 0,
  });
  const stopped = r.channel.stop({ keepOutput: true });
  // 2 s were fed from PCR 0: go on from there, the run's next bytes.
  const at = Math.floor((2e6 / 8 / 188) * 2) * 188;
  let end = at;
  let kept: Awaited<typeof stopped> | undefined;
  void stopped.then((k) => (kept = k));
  for (; end < ts.length && kept === undefined; end += 1316) {
    r.feedBytes(ts.subarray(end, end + 1316));
    await settle(1);
  }
  await stopped;
  const from = kept?.cut ? Buffer.from(ts).indexOf(Buffer.from(kept.cut.input.cutPacket)) : -1;
  return { r, ts, at, end, kept: kept!, from };
}

t.test(
  'a kept output reads its source on from the cut: no splice (make-before-break)',
  async (t) => {
    const { r, at, end, kept, from, ts } = await stopMidRun(t);
    t.ok(kept?.cut, 'the kept output carries the cut');
    t.match(
      r.lines.find((l) => l.event === 'channel-stop'),
      { fields: { output: 'kept', input: 'cut' } },
      'channel-stop says so',
    );
    const packet = kept.cut!.input.cutPacket;
    t.ok(from >= at && from < end, 'cut before a packet of the run it was reading');
    const splices = kept!.remuxer.stats.splices;
    const n = await takeOver(t, r, kept!);
    const asked = n.asked();
    t.ok(asked && Buffer.from(asked).equals(Buffer.from(packet)), 'it subscribes from the cut');
    // The hub gives the run's bytes from that packet on.
    for (let p = from; p < ts.length; p += 1316) n.feed(ts.subarray(p, p + 1316));
    t.ok(
      n.lines.some((l) => l.event === 'input-resumed'),
      'input-resumed: read on from the cut',
    );
    t.equal(kept!.remuxer.stats.splices, splices, 'no splice');
    const a = new Analyzer();
    r.queue.data.forEach((d, i) => a.push(d, r.queue.dues[i]));
    a.end();
    const rep = a.report();
    const errors = [...rep.tr101290.priority1, ...rep.tr101290.priority2]
      .filter((c) => c.errors > 0)
      .map((c) => `${c.id} ${c.name}: ${c.errors} ${c.detail ?? ''}`);
    t.same(errors, [], 'no continuity, PCR, PTS or PSI error across the rebuild');
  },
);

t.test('read on from the cut, a low queue gets no filler before the next PCR', async (t) => {
  // The rebuilt channel had produced nothing yet, so its tick found it quiet: with the queue
  // under half the latency, filler spliced the resumed input and its pictures waited for the
  // next keyframe (e2e workers, W3: 968 ms).
  const { r, ts, kept, from } = await stopMidRun(t);
  const splices = kept!.remuxer.stats.splices;
  const n = await takeOver(t, r, kept!);
  // The hand-over took long: 300 ms left in the queue (the cut holds it, no filler).
  r.advance((Math.max(...r.queue.dues) - r.now()) / 1e6 - 300);
  await settle();
  n.feed(ts.subarray(from, from + 1316)); // the first bytes from the cut: no PCR out of them yet
  r.advance(160); // 140 ms left
  await settle();
  await settle();
  for (let p = from + 1316; p < ts.length; p += 1316) n.feed(ts.subarray(p, p + 1316));
  t.ok(
    n.lines.some((l) => l.event === 'input-resumed'),
    'input-resumed',
  );
  t.equal(kept!.remuxer.stats.splices, splices, 'no splice: no filler cut in');
});

/** A channel run for 2 s, then stopped with its output kept while its source goes on: cut. */
async function cutRunning(t: Test): Promise<{ r: Rig; kept: RunningOutput }> {
  const r = rig(t, INFO, CONFIG);
  await r.channel.start();
  await run(r, 2);
  const stopped = r.channel.stop({ keepOutput: true });
  for (let i = 0; i < 10; i++) {
    r.feed(50);
    await settle(1);
  }
  const kept = await stopped;
  t.ok(kept?.cut, 'cut before an input PCR');
  return { r, kept: kept! };
}

t.test('bytes that do not go on from the cut: the kept output splices to them', async (t) => {
  const { r, kept } = await cutRunning(t);
  const splices = kept.remuxer.stats.splices;
  const n = await takeOver(t, r, kept);
  const { ts } = synthesize({
    programs: [simpleProgram(1, 0x100)],
    durationMs: 2000,
    muxRate: 2e6,
    startPcr: 9e11,
  });
  for (let p = 0; p < ts.length; p += 1316) n.feed(ts.subarray(p, p + 1316));
  t.ok(
    n.lines.some((l) => l.event === 'input-spliced'),
    'input-spliced: said',
  );
  t.equal(kept.remuxer.stats.splices, splices + 1, 'and spliced');
  t.ok(r.queue.data.length > 0);
});

t.test(
  'a cut input whose bytes do not come: the queue holds out, then filler and a splice',
  async (t) => {
    const { r, kept } = await cutRunning(t);
    const n = await takeOver(t, r, kept!);
    const queued = r.queue.data.length;
    // The old channel queued up to its latency (400 ms) ahead; 300 ms pass with no bytes.
    for (let i = 0; i < 6; i++) {
      r.advance(50);
      await settle(3);
    }
    t.equal(r.queue.data.length, queued, 'no filler while the bytes from the cut may still come');
    t.notOk(n.lines.some((l) => l.event === 'input-spliced'));
    for (let i = 0; i < 8; i++) {
      r.advance(50);
      await settle(3);
    }
    t.ok(
      n.lines.some((l) => l.event === 'input-spliced'),
      'an eighth of the latency left: input-spliced',
    );
    t.ok(r.queue.data.length > queued, 'and filler goes out');
  },
);

t.test('an output that did not open is not handed over: the next channel opens it', async (t) => {
  let removes = 0;
  const r = rig(t, new Error('no such interface'), CONFIG, () => {
    removes++;
    return Promise.resolve();
  });
  await r.channel.start();
  await settle();
  t.equal(await r.channel.stop({ keepOutput: true }), null);
  t.equal(removes, 1, 'removed from the pacer');
});
