// CommandSlices: a batch of commands is taken SLICE_MS of them per turn, in order, the rest in
// the turns after; a command that comes while others wait goes behind them.
import t from 'tap';
import { CommandSlices, SLICE_MS } from '../../../src/headend/lanes/command-slices.js';

interface Rig {
  slices: CommandSlices<number>;
  done: number[];
  /** Commands carried out in each turn so far (the current one last). */
  perTurn: number[];
  /** Ends the current turn and runs what was asked for later (one turn of the loop). */
  nextTurn(): void;
}

/** Each command takes `costMs` of a fake clock. */
function rig(costMs: number): Rig {
  let now = 1000;
  let pending: (() => void)[] = [];
  const done: number[] = [];
  const perTurn = [0];
  const slices = new CommandSlices<number>({
    handle: (m) => {
      done.push(m);
      perTurn[perTurn.length - 1]++;
      now += costMs;
    },
    nowMs: () => now,
    later: (f) => pending.push(f),
  });
  return {
    slices,
    done,
    perTurn,
    nextTurn() {
      const run = pending;
      pending = [];
      perTurn.push(0);
      now += 5; // the loop's timers and inputs
      for (const f of run) f();
    },
  };
}

t.test('a batch of 500 commands of 0.7 ms each: SLICE_MS a turn, in order', async (t) => {
  const r = rig(0.7);
  for (let i = 0; i < 500; i++) r.slices.take(i);
  const most = Math.floor(SLICE_MS / 0.7) + 1;
  t.equal(r.perTurn[0], most, `the first turn takes ${most} (${SLICE_MS} ms)`);
  t.equal(r.slices.waiting, 500 - most, 'the rest wait');
  let turns = 0;
  while (r.slices.waiting > 0 && turns++ < 100) r.nextTurn();
  r.nextTurn();
  t.ok(
    r.perTurn.every((n) => n <= most),
    `no turn takes more than ${most} (${r.perTurn.length} turns)`,
  );
  t.same(
    r.done,
    Array.from({ length: 500 }, (_, i) => i),
    'all 500, in the order they came',
  );
});

t.test('a command that comes while others wait goes behind them', async (t) => {
  const r = rig(4);
  for (let i = 0; i < 5; i++) r.slices.take(i);
  t.same(r.done, [0, 1, 2], 'three fit in the turn (the third starts at 8 ms)');
  r.nextTurn(); // a turn that takes the waiting ones; then a new command comes in it
  r.slices.take(5);
  t.same(r.done, [0, 1, 2, 3, 4, 5], 'after those that waited');
  r.nextTurn();
  r.nextTurn();
  r.slices.take(6);
  t.same(r.done.at(-1), 6, 'with none waiting, a command in a fresh turn is taken at once');
  t.equal(r.slices.waiting, 0);
});

t.test('cheap commands are all taken in their own turn', async (t) => {
  const r = rig(0.01);
  for (let i = 0; i < 200; i++) r.slices.take(i);
  t.equal(r.done.length, 200);
  t.equal(r.slices.waiting, 0);
});
