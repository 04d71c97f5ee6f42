// StartWaves: the first wave at once, then waves twice as large each WAVE_MS while the thread has
// room, a busy thread's share spread evenly over the looks, nobody waiting past MAX_WAIT_MS, and
// the staging said once at its start and its end.
import t from 'tap';
import {
  FIRST_WAVE,
  MAX_BUSY,
  MAX_WAIT_MS,
  StartWaves,
  WAVE_MS,
} from '../../../src/headend/channel/start-waves.js';

const MS = 1e6;

interface Rig {
  gate: StartWaves;
  events: [string, Record<string, number>][];
  /** The busy share the gate reads at its next look. */
  load: { share: number; looks: number };
}

function rig(): Rig {
  const events: [string, Record<string, number>][] = [];
  const load = { share: 0, looks: 0 };
  const gate = new StartWaves({
    busy: () => {
      load.looks++;
      return load.share;
    },
    log: (e, f) => events.push([e, f]),
  });
  return { gate, events, load };
}

/** How many of `who` the gate lets in at `now` (each asks once). */
const admits = (g: StartWaves, who: object[], now: number): number =>
  who.filter((w) => g.admit(w, now)).length;

const channels = (n: number): object[] => Array.from({ length: n }, () => ({}));

t.test('the first wave at once, then twice as many each WAVE_MS', async (t) => {
  const { gate, events } = rig();
  const all = channels(100);
  const t0 = 1e12;
  t.equal(admits(gate, all, t0), FIRST_WAVE, `the first ${FIRST_WAVE} at once`);
  t.equal(gate.waitingCount, 100 - FIRST_WAVE);
  let waiting = all.slice(FIRST_WAVE);
  t.equal(admits(gate, waiting, t0 + (WAVE_MS - 1) * MS), 0, 'none before WAVE_MS');
  let size = 2 * FIRST_WAVE;
  let now = t0;
  while (waiting.length > 0) {
    now += WAVE_MS * MS;
    const before = waiting.length;
    waiting = waiting.filter((w) => !gate.admit(w, now));
    t.equal(before - waiting.length, Math.min(size, before), `a wave of ${size}`);
    size *= 2;
  }
  t.equal(gate.waitingCount, 0);
  t.same(
    events.map(([e]) => e),
    ['channels-staged', 'channels-staged-done'],
    'staging said once as it began and once as it ended',
  );
  t.equal(events[1][1].channels, 100 - FIRST_WAVE, 'the channels that waited');
  t.equal(events[1][1].ms, (now - t0) / MS);
});

t.test(
  'a busy thread gets no full wave, only one channel a look, until a look finds room',
  async (t) => {
    const { gate, load } = rig();
    const all = channels(FIRST_WAVE + 5);
    const t0 = 1e12;
    admits(gate, all, t0);
    load.share = MAX_BUSY + 0.05;
    let rest = all.slice(FIRST_WAVE);
    const lookAt = (ms: number): number => {
      const before = rest.length;
      rest = rest.filter((w) => !gate.admit(w, t0 + ms * MS));
      return before - rest.length;
    };
    t.equal(lookAt(WAVE_MS), 1, 'busy: its share of 5 over the 10 looks left, one');
    load.share = 0.1;
    t.equal(lookAt(WAVE_MS + 100), 0, 'the next look is WAVE_MS later');
    t.equal(lookAt(2 * WAVE_MS), 4, `room: the wave of ${2 * FIRST_WAVE} opens`);
    t.equal(load.looks, 3, 'one look at start, one per WAVE_MS');
  },
);

t.test(
  'a thread busy throughout takes its channels in evenly, not all at MAX_WAIT_MS',
  async (t) => {
    const { gate, load } = rig();
    const n = 250;
    let waiting = channels(n);
    const t0 = 1e12;
    load.share = 1;
    waiting = waiting.filter((w) => !gate.admit(w, t0));
    t.equal(waiting.length, n - FIRST_WAVE);
    const looks = MAX_WAIT_MS / WAVE_MS;
    const perLook: number[] = [];
    for (let k = 1; k <= looks; k++) {
      const before = waiting.length;
      waiting = waiting.filter((w) => !gate.admit(w, t0 + k * WAVE_MS * MS));
      perLook.push(before - waiting.length);
    }
    t.equal(waiting.length, 0, `all in by MAX_WAIT_MS: ${perLook.join(', ')} a look`);
    const even = Math.ceil((n - FIRST_WAVE) / (looks - 1));
    t.ok(
      perLook.every((c) => c <= even),
      `no look takes more than ${even} (the old code held ${n - FIRST_WAVE} to MAX_WAIT_MS)`,
    );
    t.equal(perLook.at(-1), 0, 'none left for the last look');
  },
);

t.test('no channel waits past MAX_WAIT_MS, however busy the thread', async (t) => {
  const { gate, load } = rig();
  const t0 = 1e12;
  admits(gate, channels(FIRST_WAVE), t0);
  load.share = 1;
  const first = {};
  t.notOk(gate.admit(first, t0 + 10 * MS));
  t.ok(gate.admit(first, t0 + (WAVE_MS + 10) * MS), 'a busy look lets in its share: one');
  const late = {};
  t.notOk(gate.admit(late, t0 + (WAVE_MS + 20) * MS));
  t.ok(gate.admit(late, t0 + (WAVE_MS + 20 + MAX_WAIT_MS) * MS), 'in after MAX_WAIT_MS');
  t.equal(gate.waitingCount, 0);
});

t.test('a channel that stops while it waits ends the staging it was the last of', async (t) => {
  const { gate, events } = rig();
  const t0 = 1e12;
  admits(gate, channels(FIRST_WAVE), t0);
  const gone = {};
  t.notOk(gate.admit(gone, t0));
  gate.forget(gone, t0 + 300 * MS);
  t.equal(gate.waitingCount, 0);
  t.same(
    events.map(([e, f]) => [e, f.channels]),
    [
      ['channels-staged', undefined],
      ['channels-staged-done', 0],
    ],
  );
});

t.test('a channel added long after the start is let in at once', async (t) => {
  const { gate } = rig();
  const t0 = 1e12;
  admits(gate, channels(FIRST_WAVE), t0);
  t.ok(gate.admit({}, t0 + 3600e9), 'a reload an hour later: a wave of its own');
  t.ok(gate.admit({}, t0 + 3600e9), 'and its fellows with it');
});
