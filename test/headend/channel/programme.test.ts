// Timetables and alerts on a channel. Programme against a fake target and a clock that runs
// with real time from a chosen instant (rules a fraction of a second ahead switch for real);
// then a Channel against a fake hub: the head of its chain moves to a rule's or an alert's
// source and back, the old head closes, failover walks [head, backups], and a head that failed
// gets the channel back once healthy.
import t from 'tap';
import { Programme } from '../../../src/headend/channel/programme.js';
import { Channel } from '../../../src/headend/channel/channel.js';
import type {
  ChannelSourceSpec,
  ScheduleRule,
  SourceProvider,
  SourceSubscriber,
} from '../../../src/headend/channel/types.js';
import { createLogger } from '../../../src/headend/log.js';
import { channelConfig, nullPacer } from './fakes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const src = (key: string): ChannelSourceSpec => ({ key, url: `file:/${key}.ts` });
const rule = (name: string, fromS: number, toS: number, source = src(name)): ScheduleRule => ({
  name,
  source,
  rule: { fromS, toS, days: 0x7f, firstDay: null, lastDay: null },
});

/** A clock at `iso` now, running with real time. */
function clockAt(iso: string): () => number {
  const base = Date.parse(iso);
  const start = Date.now();
  return () => base + (Date.now() - start);
}

t.test('a rule starts and ends on time; an alert overrides it at once', async (t) => {
  const calls: string[] = [];
  const target = {
    setContent: (s: ChannelSourceSpec | null, mode: string, why: string) =>
      void calls.push(`${s?.key ?? 'own'} ${mode} ${why}`),
  };
  // 10:00:59.800 UTC: the rule 10:01:00-10:01:01 starts in 200 ms and lasts a second.
  const p = new Programme(target, 'UTC', clockAt('2026-12-07T10:00:59.800Z'));
  t.teardown(() => p.stop());
  p.setSchedule([rule('lecture', 10 * 3600 + 60, 10 * 3600 + 61)]);
  t.same(calls, ['own planned timetable changed: own source']);
  t.match(p.status(), { rule: null, next: { at: '2026-12-07T10:01:00.000Z', rule: 'lecture' } });
  await sleep(450);
  t.same(calls.slice(1), ['lecture planned timetable: lecture'], 'switched at 10:01:00');
  t.match(p.status(), { rule: 'lecture', next: { at: '2026-12-07T10:01:01.000Z', rule: null } });
  p.setAlert({ source: src('card'), why: '* (serial)' });
  t.same(calls.slice(2), ['card now alert * (serial)'], 'an alert switches at once');
  t.equal(p.status().alert, '* (serial)');
  await sleep(1000);
  t.equal(calls.length, 3, 'the rule ending under the alert changes nothing on air');
  p.setAlert(null);
  t.same(calls.slice(3), ['own planned alert over'], 'back to what the timetable says now');
  p.setSchedule([rule('lecture', 10 * 3600 + 60, 10 * 3600 + 61)]);
  t.equal(calls.length, 4, 'the same rules again: nothing to do');
});

class FakeHub implements SourceProvider {
  readonly subs = new Map<string, Set<SourceSubscriber>>();
  subscribe(spec: ChannelSourceSpec, sub: SourceSubscriber): () => void {
    const set = this.subs.get(spec.key) ?? new Set();
    this.subs.set(spec.key, set);
    set.add(sub);
    return () => set.delete(sub);
  }
  state() {
    return undefined;
  }
  open(): string[] {
    return [...this.subs]
      .filter(([, s]) => s.size > 0)
      .map(([k]) => k)
      .sort();
  }
  fail(key: string): void {
    for (const s of [...(this.subs.get(key) ?? [])]) s.failed('exit');
  }
}

t.test('the chain: a new head, failover behind it, the own source back', async (t) => {
  const hub = new FakeHub();
  const lines: { event: string; [k: string]: unknown }[] = [];
  const ch = new Channel(channelConfig([src('own'), src('backup')]), {
    hub,
    pacer: nullPacer,
    log: createLogger({ write: (l) => void lines.push(JSON.parse(l)) }),
    staggerIndex: 0,
    tickMs: 1000,
  });
  await ch.start();
  t.teardown(() => ch.stop());
  t.same(hub.open(), ['own']);

  ch.setContent(src('rule'), 'now', 'timetable: rule');
  t.same(hub.open(), ['rule'], 'at once: the rule source plays, the own source is closed');
  t.equal(ch.status().source, 'file:/rule.ts');
  t.ok(lines.some((l) => l.event === 'programme' && l.reason === 'timetable: rule'));

  hub.fail('rule');
  t.same(hub.open(), ['backup', 'rule'], 'the rule source failed: the backup, the head watched');
  t.equal(ch.status().failovers, 1);

  ch.setContent(src('card'), 'now', 'alert * (serial)');
  t.same(hub.open(), ['card'], 'an alert: only the card is open');
  ch.setContent(null, 'planned', 'alert over');
  t.same(hub.open(), ['card', 'own'], 'planned: the card plays until the own source is ready');
  t.ok(lines.some((l) => l.event === 'switch-planned' && l.reason === 'alert over'));
  ch.setContent(src('card'), 'now', 'alert again');
  t.same(hub.open(), ['card'], 'a new alert cancels the planned return');
});
