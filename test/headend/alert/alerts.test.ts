// The emergency override's state: zones cover the groups the config lists (or the group of the
// zone's name), `on` without a zone covers every channel, `off` without one ends every alert,
// the newest alert a channel is under gives its message, and each trigger's changes are counted
// (a repeated `on` with the same message is no change).
import t from 'tap';
import { ALL_ZONES, Alerts, cardSource } from '../../../src/headend/alert/alerts.js';
import type { AlertSpec } from '../../../src/headend/config/types.js';

const spec: AlertSpec = {
  message: 'Leave the building',
  zones: { 'east-wing': ['lobby', 'floor-1'] },
};

t.test('zones, groups, messages and counts', async (t) => {
  let now = 1000;
  const a = new Alerts(spec, () => now);
  t.equal(a.isOn, false);
  t.equal(a.forGroup('lobby'), null);

  const c1 = a.on('east-wing', undefined, 'serial');
  t.match(c1, { on: true, zone: 'east-wing', message: 'Leave the building', changed: true });
  t.equal(a.forGroup('lobby')?.zone, 'east-wing', 'a listed group is covered');
  t.equal(a.forGroup('floor-1')?.zone, 'east-wing');
  t.equal(a.forGroup('bar'), null, 'another group is not');
  t.equal(a.forGroup(undefined), null, 'nor a channel without a group');
  t.equal(a.on('east-wing', undefined, 'serial').changed, false, 'the same alert again: no change');

  now = 2000;
  a.on('bar', 'Bar closed', 'http');
  t.equal(a.forGroup('bar')?.message, 'Bar closed', 'a zone not listed is the group of its name');
  now = 3000;
  a.on(undefined, 'Fire', 'cli');
  t.equal(a.forGroup('lobby')?.message, 'Fire', 'the newest alert covering a channel wins');
  t.equal(a.forGroup(undefined)?.zone, ALL_ZONES, 'everywhere covers channels without a group');
  t.same(
    a.list().map((x) => x.zone),
    ['east-wing', 'bar', ALL_ZONES],
  );

  t.equal(a.off('bar', 'http').changed, true);
  t.equal(a.off('bar', 'http').changed, false, 'a zone already off: no change');
  t.equal(a.off(undefined, 'serial').changed, true, 'off without a zone ends every alert');
  t.equal(a.isOn, false);
  t.same(Object.fromEntries(a.changes), { serial: 2, http: 2, cli: 1 });
});

t.test('what channels show: the card with the message, or the configured source', async (t) => {
  const a = new Alerts(spec);
  const card = a.sourceFor('Fire');
  t.match(card, { test: { pattern: 'color', text: 'Fire', tone: 1000, gopMs: 100, rate: 10 } });
  t.equal(card.key, cardSource('Fire').key, 'the same message is the same source (shared)');
  t.not(card.key, cardSource('Flood').key, 'another message is another source');
  const file = { key: 'file', url: '/srv/evacuate.ts', loop: true };
  a.setSpec({ ...spec, source: file });
  t.equal(a.sourceFor('Fire'), file, 'a configured source whatever the message');
});
