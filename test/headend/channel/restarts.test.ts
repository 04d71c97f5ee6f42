// A channel's RESTARTS (status().restarts, `headend status`, headend_channel_source_restarts_total)
// is how many times its sources' runs were started again: the hub's own count, over the time the
// channel was subscribed. A fake hub plays the supervisor: each crash() ends a run (failed() to
// every subscriber) and starts the next (restarted() only to a subscriber that had seen bytes,
// as SupervisedSource does); no media, no sockets.
import t, { type Test } from 'tap';
import { Channel } from '../../../src/headend/channel/channel.js';
import type {
  ChannelSourceSpec,
  SourceProvider,
  SourceSubscriber,
} from '../../../src/headend/channel/types.js';
import { createLogger } from '../../../src/headend/log.js';
import { channelConfig, nullPacer } from './fakes.js';

class FakeHub implements SourceProvider {
  readonly sources = new Map<
    string,
    { restarts: number; subs: Map<SourceSubscriber, { seen: boolean }> }
  >();

  subscribe(spec: ChannelSourceSpec, sub: SourceSubscriber): () => void {
    let s = this.sources.get(spec.key);
    if (s === undefined) {
      s = { restarts: 0, subs: new Map() };
      this.sources.set(spec.key, s);
    }
    const src = s;
    src.subs.set(sub, { seen: false });
    return () => {
      src.subs.delete(sub);
      if (src.subs.size === 0 && this.sources.get(spec.key) === src) this.sources.delete(spec.key);
    };
  }

  state(key: string) {
    const s = this.sources.get(key);
    return s && { state: 'running', restarts: s.restarts, bytes: 0 };
  }

  subscribers(key: string): number {
    return this.sources.get(key)?.subs.size ?? 0;
  }

  /** The run ends and the next one starts; with `deliver`, the new run delivers bytes. */
  crash(key: string, deliver = false): void {
    const s = this.sources.get(key);
    if (s === undefined) throw new Error(`${key} not open`);
    for (const sub of [...s.subs.keys()]) sub.failed('exit');
    s.restarts++;
    if (deliver) this.deliver(key);
  }

  /** Null packets from the current run. */
  deliver(key: string): void {
    const s = this.sources.get(key);
    if (s === undefined) throw new Error(`${key} not open`);
    const chunk = new Uint8Array(188 * 7);
    for (let i = 0; i < 7; i++) chunk.set([0x47, 0x1f, 0xff, 0x10], i * 188);
    for (const [sub, r] of [...s.subs]) {
      if (r.seen) sub.restarted();
      r.seen = true;
      sub.data(chunk);
    }
  }
}

async function channel(t: Test, hub: FakeHub, sources: string[]): Promise<Channel> {
  const ch = new Channel(channelConfig(sources.map((key) => ({ key, url: `file:/${key}.ts` }))), {
    hub,
    pacer: nullPacer,
    log: createLogger({ write: () => undefined }),
    staggerIndex: 0,
    tickMs: 1000,
  });
  await ch.start();
  t.teardown(() => ch.stop());
  return ch;
}

t.test('a primary that dies before delivering: every restart counts', async (t) => {
  const hub = new FakeHub();
  const ch = await channel(t, hub, ['primary']);
  for (let i = 0; i < 40; i++) hub.crash('primary');
  t.equal(ch.status().restarts, 40, '40 runs started again, none delivered a byte');
});

t.test('a primary restarting while the channel is on its backup: counted', async (t) => {
  const hub = new FakeHub();
  const ch = await channel(t, hub, ['primary', 'backup']);
  hub.deliver('primary');
  hub.crash('primary'); // → failover to the backup; the primary stays open and retries
  t.equal(ch.status().sourceIndex, 1, 'on the backup');
  t.equal(hub.subscribers('primary'), 1, 'the primary is kept open');
  for (let i = 0; i < 39; i++) hub.crash('primary');
  t.equal(ch.status().restarts, 40, "the primary's 40, none of which reached the channel");
  hub.deliver('backup');
  hub.deliver('primary');
  hub.crash('backup'); // → back to the primary; the backup is closed, not restarted
  t.equal(ch.status().sourceIndex, 0, 'back on the primary');
  t.equal(hub.subscribers('backup'), 0, 'the backup closed');
  hub.crash('primary', true);
  t.equal(ch.status().restarts, 41, 'and one more on the primary in use');
});

t.test('a restart that delivers again counts once', async (t) => {
  const hub = new FakeHub();
  const ch = await channel(t, hub, ['primary']);
  hub.deliver('primary');
  hub.crash('primary', true);
  hub.crash('primary', true);
  t.equal(ch.status().restarts, 2);
});

t.test(
  "a shared source's restarts before the channel subscribed are not the channel's",
  async (t) => {
    const hub = new FakeHub();
    const other: SourceSubscriber = {
      data: () => undefined,
      restarted: () => undefined,
      failed: () => undefined,
    };
    const off = hub.subscribe({ key: 'mpts' }, other);
    t.teardown(off);
    for (let i = 0; i < 5; i++) hub.crash('mpts');
    const ch = await channel(t, hub, ['mpts']);
    t.equal(ch.status().restarts, 0, 'none since it subscribed');
    hub.crash('mpts');
    t.equal(ch.status().restarts, 1);
  },
);
