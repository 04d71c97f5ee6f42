// One timer for the housekeeping of every channel with the same period, instead of one each.
//
// Each channel looks at its sources and output every 40 ms (stalls, filler, failover). With a
// timer per channel, 8 channels woke the main thread 200 times a second, each wake-up a context
// switch (on a VM an exit too, ~25 µs of CPU here); one shared timer wakes it 25 times and runs
// all of them in that turn. The callbacks run in the order they were added.

type Tick = () => void;

const tickers = new Map<number, { fns: Set<Tick>; timer: NodeJS.Timeout }>();

/** Calls `fn` every `periodMs` with the others of that period; returns its removal. */
export function everyTick(periodMs: number, fn: Tick): () => void {
  let t = tickers.get(periodMs);
  if (t === undefined) {
    const fns = new Set<Tick>();
    const timer = setInterval(() => {
      for (const f of [...fns]) if (fns.has(f)) f();
    }, periodMs);
    t = { fns, timer };
    tickers.set(periodMs, t);
  }
  // A function added twice is called twice (each removal takes its own).
  const own: Tick = () => fn();
  t.fns.add(own);
  const ticker = t;
  return () => {
    if (!ticker.fns.delete(own) || ticker.fns.size > 0) return;
    clearInterval(ticker.timer);
    if (tickers.get(periodMs) === ticker) tickers.delete(periodMs);
  };
}
