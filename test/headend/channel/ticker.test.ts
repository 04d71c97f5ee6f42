// The shared housekeeping tick (src/headend/channel/ticker.ts): channels of one period share one
// timer, and the last removal stops it.
import t from 'tap';
import { everyTick } from '../../../src/headend/channel/ticker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const activeTimers = (): number =>
  (process as unknown as { getActiveResourcesInfo(): string[] })
    .getActiveResourcesInfo()
    .filter((r) => r === 'Timeout').length;

t.test('channels of one period share one timer, called in order', async (t) => {
  const before = activeTimers();
  const calls: string[] = [];
  const stopA = everyTick(20, () => calls.push('a'));
  const stopB = everyTick(20, () => calls.push('b'));
  const stopC = everyTick(20, () => calls.push('c'));
  t.equal(activeTimers(), before + 1, 'three channels, one timer');
  await sleep(70);
  t.ok(calls.length >= 6, `ticked (${calls.length} calls)`);
  t.same(calls.slice(0, 3), ['a', 'b', 'c'], 'in the order added, in one turn');
  stopB();
  calls.length = 0;
  await sleep(50);
  t.notOk(calls.includes('b'), 'a removed channel is not called again');
  t.ok(calls.includes('a') && calls.includes('c'), 'the others go on');
  stopA();
  stopC();
  t.equal(activeTimers(), before, 'the last removal stops the timer');
  stopC();
  t.equal(activeTimers(), before, 'a second removal changes nothing');
});

t.test('a channel removed by another in the same tick is not called', async (t) => {
  const calls: string[] = [];
  let stopB: () => void = () => {};
  const stopA = everyTick(15, () => {
    calls.push('a');
    stopB();
  });
  stopB = everyTick(15, () => calls.push('b'));
  await sleep(40);
  stopA();
  t.ok(calls.length >= 1);
  t.notOk(calls.includes('b'), 'b was removed by a before its turn');
});
