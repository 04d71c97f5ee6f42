// The guide as EIT (eit-events.ts, eit-feed.ts): present/following at an instant, an event's
// bytes against EN 300 468 §5.2.4 / §6.2.37 / §6.2.9 / §6.2.28 written out by hand, and a feed
// that answers only when p/f changes.
import t from 'tap';
import {
  eitEvent,
  genresOf,
  language3,
  presentFollowing,
} from '../../../src/headend/epg/eit-events.js';
import { EitFeed } from '../../../src/headend/epg/eit-feed.js';
import { eitEventEntry } from '../../../src/mpegts/psi/eit.js';
import { parseEitPf, parseEitEvents } from '../../../src/mpegts/psi/eit.js';
import { parseXmltv, type Programme } from '../../../src/headend/epg/xmltv.js';
import { decodeDvbText } from '../../../src/mpegts/psi/dvb-text.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 4, 18);
const prog = (h: number, title: string, o: Partial<Programme> = {}): Programme => ({
  channel: 'c',
  start: T0 + h * H,
  stop: T0 + (h + 1) * H,
  title,
  lang: 'en',
  desc: '',
  categories: [],
  ...o,
});

/** A feed of channel 'c' as service 7. */
const feedOf = (guide: { generation: number; programmes: () => Programme[] }): EitFeed =>
  new EitFeed(
    guide,
    () => 'c',
    () => ({ serviceId: 7, transportStreamId: 7, originalNetworkId: 0xff01 }),
    null,
  );

t.test('present/following', async (t) => {
  const list = [prog(0, 'A'), prog(1, 'B'), prog(3, 'C', { stop: NaN })];
  let pf = presentFollowing(list, T0 + 0.5 * H);
  t.equal(pf.present?.title, 'A');
  t.equal(pf.following?.title, 'B');
  t.equal(pf.changesAt, T0 + H);
  pf = presentFollowing(list, T0 + 2.5 * H);
  t.equal(pf.present, undefined, 'a gap: nothing on air');
  t.equal(pf.following?.title, 'C');
  t.equal(pf.changesAt, T0 + 3 * H, 'until C starts');
  pf = presentFollowing(list, T0 + 3.5 * H);
  t.equal(pf.present?.title, 'C');
  t.equal(pf.presentEnd, T0 + 4 * H, 'no stop and nothing after: one hour');
  t.equal(pf.following, undefined);
  t.same(presentFollowing([], T0).changesAt, Infinity);
});

t.test('an event, byte for byte', async (t) => {
  const p = prog(0, 'Quiz', {
    desc: 'Ask',
    categories: ['Game show', 'Comedy'],
    minAge: 12,
    lang: 'de',
  });
  const bytes = [...eitEventEntry(eitEvent(p, p.stop, 4, 'DEU'))];
  const id = Math.floor(p.start / 60000) & 0xffff; // the start minute
  const mjd = Math.floor(p.start / 86_400_000) + 40587; // EN 300 468 annex C
  // prettier-ignore
  const want = [
    id >> 8, id & 0xff,           // event_id
    mjd >> 8, mjd & 0xff, 0x18, 0x00, 0x00, // start: MJD, 18:00:00 BCD
    0x01, 0x00, 0x00,             // duration 01:00:00 BCD
    0x80, 0x1a,                   // running_status 4, free_CA 0, loop length 26
    0x4d, 0x0c, ...Buffer.from('ger'), 4, ...Buffer.from('Quiz'), 3, ...Buffer.from('Ask'),
    0x54, 0x04, 0x30, 0x00, 0x10, 0x00, // content: show/game show, movie/drama
    0x55, 0x04, ...Buffer.from('DEU'), 12 - 3, // parental rating: age 12
  ];
  t.equal(mjd, 61378, 'MJD of 2026-12-04');
  t.same(bytes, want);
  t.same(genresOf(['News', 'Weather', 'Football']), [0x20, 0x40], 'one nibble per genre');
  t.equal(language3('fr'), 'fre');
  t.equal(language3('eng'), 'eng');
  t.equal(language3(''), 'und');
  const noCountry = eitEvent(p, p.stop, 1, null);
  t.notOk(
    noCountry.otherDescriptors.some((d) => d.tag === 0x55),
    'no country: no rating',
  );
  t.equal(noCountry.runningStatus, 1);
});

t.test('other languages: a short_event_descriptor each, after the own one', async (t) => {
  const p = prog(0, 'Quiz', {
    lang: 'de',
    desc: 'Frage',
    others: [
      { lang: 'en', title: 'Quiz', desc: 'Ask' },
      { lang: 'de', title: 'Doppelt', desc: '' }, // the own language again: left out
      { lang: 'fr', title: 'Jeu', desc: '' },
    ],
  });
  const bytes = [...eitEventEntry(eitEvent(p, p.stop, 4, null))];
  // prettier-ignore
  const loop = [
    0x4d, 0x0e, ...Buffer.from('ger'), 4, ...Buffer.from('Quiz'), 5, ...Buffer.from('Frage'),
    0x4d, 0x0c, ...Buffer.from('eng'), 4, ...Buffer.from('Quiz'), 3, ...Buffer.from('Ask'),
    0x4d, 0x08, ...Buffer.from('fre'), 3, ...Buffer.from('Jeu'), 0,
  ];
  t.same(bytes.slice(12), loop, 'descriptor loop, byte for byte');
  t.equal(((bytes[10] & 0x0f) << 8) | bytes[11], loop.length, 'descriptors_loop_length');
  const back = parseEitEvents(
    Uint8Array.from([
      0x4e,
      0xf0,
      0,
      0,
      7,
      0xc1,
      0,
      0,
      0,
      7,
      0xff,
      1,
      0,
      0x4e,
      ...bytes,
      0,
      0,
      0,
      0,
    ]),
  );
  t.equal(back[0]?.shortEvent?.language, 'ger', 'the first is the event’s own');
  t.equal(back[0]?.otherDescriptors.filter((d) => d.tag === 0x4d).length, 2);
});

t.test('EitFeed: new sections only when p/f or the guide changes', async (t) => {
  let list = [prog(0, 'A'), prog(1, 'B')];
  const guide = { generation: 1, programmes: () => list };
  const feed = feedOf(guide);
  const b = feed.poll(T0 + 10_000);
  t.ok(b, 'the first poll builds');
  const pf = parseEitPf(b!(3));
  t.equal(pf.serviceId, 7);
  t.equal(pf.version, 3);
  t.equal(pf.present?.shortEvent?.name, 'A');
  t.equal(pf.following?.shortEvent?.name, 'B');
  t.equal(feed.poll(T0 + 20_000), undefined, 'nothing changed');
  t.equal(parseEitPf(feed.poll(T0 + H)!(0)).present?.shortEvent?.name, 'B', 'at the change');
  list = [prog(1, 'B2')];
  guide.generation = 2;
  t.equal(parseEitPf(feed.poll(T0 + H + 1)!(0)).present?.shortEvent?.name, 'B2', 'a new guide');
  list = [];
  guide.generation = 3;
  t.equal(feed.poll(T0 + H + 2), null, 'nothing in the guide: no EIT');
});

t.test('EitFeed schedule: 8 days from 00:00 UTC, a new version only on a change', async (t) => {
  let list = [prog(0, 'A'), prog(30, 'Tomorrow'), prog(-20, 'Yesterday')].sort(
    (a, b) => a.start - b.start,
  );
  const guide = { generation: 1, programmes: () => list };
  const feed = feedOf(guide);
  const first = feed.update(T0);
  t.ok(first?.pf && first.schedule, 'p/f and schedule at the first update');
  const s1 = first!.schedule!;
  t.ok(s1.length > 0 && s1.every((s) => s[0] === 0x50), 'within the first 4 days: table 0x50');
  t.equal((s1[0][5] >> 1) & 0x1f, 0, 'version 0');
  const names = s1.flatMap((s) => parseEitEvents(s).map((e) => e.shortEvent?.name));
  t.same(names, ['A', 'Tomorrow'], "yesterday's programme left out");
  t.ok(
    s1.flatMap((s) => parseEitEvents(s)).every((e) => e.runningStatus === 0),
    'running_status undefined in the schedule',
  );
  t.equal(feed.update(T0 + 60_000), undefined, 'nothing changed');
  guide.generation = 2; // re-read, same content
  t.equal(feed.update(T0 + 120_000)?.schedule, undefined, 'same content: no new version');
  list = [...list, prog(50, 'Later')];
  guide.generation = 3;
  const s2 = feed.update(T0 + 180_000)!.schedule!;
  t.equal((s2[0][5] >> 1) & 0x1f, 1, 'new content: version 1');
  list = [];
  guide.generation = 4;
  t.same(feed.update(T0 + 240_000), { pf: null, schedule: [] }, 'an empty guide: no EIT at all');
});

t.test('a long description: extended event descriptors, whole characters, in order', async (t) => {
  const desc = 'Ein langer Abend über Öl und Wasser. '.repeat(20); // 740 characters, UTF-8 needed
  const e = eitEvent(prog(0, 'Lang', { desc, lang: 'de' }), T0 + H, 1, null);
  t.equal(e.shortEvent?.text, '', 'the short event keeps the title only');
  const ext = e.otherDescriptors.filter((d) => d.tag === 0x4e);
  t.ok(ext.length >= 3 && ext.length <= 12, `${ext.length} extended_event_descriptors`);
  ext.forEach((d, i) => {
    t.equal(d.data[0], (i << 4) | (ext.length - 1), `descriptor ${i} of ${ext.length - 1}`);
    t.equal(Buffer.from(d.data.subarray(1, 4)).toString(), 'ger');
    t.equal(d.data[4], 0, 'no items');
    t.ok(d.data.length <= 255);
  });
  // Each text is a DVB text of its own (0x15: UTF-8); joined, they are the description.
  const joined = ext.map((d) => decodeDvbText(d.data.subarray(6, 6 + d.data[5]))).join('');
  t.equal(joined, desc);
  const short = eitEvent(prog(0, 'Kurz', { desc: 'Short.' }), T0 + H, 1, null);
  t.equal(short.shortEvent?.text, 'Short.');
  t.notOk(
    short.otherDescriptors.some((d) => d.tag === 0x4e),
    'short: no extended descriptor',
  );
});

t.test('an XMLTV guide across the DST change and midnight: p/f and schedule in UTC', async (t) => {
  // Europe/Berlin, night of 2026-10-24/25: CEST (+0200) until 03:00, then CET (+0100). The
  // listing's local times carry their offsets; the EIT is in UTC (EN 300 468 §5.2.4).
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<tv>
  <programme start="20261024233000 +0200" stop="20261025013000 +0200" channel="c">
    <title lang="de">Spätfilm</title></programme>
  <programme start="20261025013000 +0200" stop="20261025020000 +0100" channel="c">
    <title lang="de">Nachtschicht</title></programme>
  <programme start="20261025020000 +0100" stop="20261025060000 +0100" channel="c">
    <title lang="de">Testbild</title></programme>
</tv>`;
  const list = parseXmltv(xml).programmes;
  t.same(
    list.map((p) => [new Date(p.start).toISOString(), (p.stop - p.start) / 60_000]),
    [
      ['2026-10-24T21:30:00.000Z', 120],
      ['2026-10-24T23:30:00.000Z', 90], // 01:30 CEST → 02:00 CET: an hour and a half
      ['2026-10-25T01:00:00.000Z', 240],
    ],
    'local times with their offsets, in UTC',
  );
  const feed = feedOf({ generation: 1, programmes: () => list });
  // At 23:45 UTC (01:45 CEST) "Nachtschicht" runs, across midnight UTC.
  const at = Date.UTC(2026, 9, 24, 23, 45);
  const first = feed.update(at)!;
  const pf = parseEitPf(first.pf!(0));
  t.equal(pf.present?.shortEvent?.name, 'Nachtschicht');
  t.equal(pf.present?.startTime?.toISOString(), '2026-10-24T23:30:00.000Z');
  t.equal(pf.present?.durationSec, 5400, 'duration 01:30:00 across the change');
  t.equal(pf.following?.shortEvent?.name, 'Testbild');
  // The schedule counts from 00:00 UTC of the day: the events before midnight are in the
  // segment 21:00-24:00 of day 0, Testbild in segment 0 of day 1 (section 8 = 3-h segment 8).
  const events = first.schedule!.flatMap((s) =>
    parseEitEvents(s).map((e) => [s[6], e.shortEvent?.name, e.startTime?.toISOString()]),
  );
  t.same(events, [
    [7 * 8, 'Spätfilm', '2026-10-24T21:30:00.000Z'],
    [7 * 8, 'Nachtschicht', '2026-10-24T23:30:00.000Z'],
    [8 * 8, 'Testbild', '2026-10-25T01:00:00.000Z'],
  ]);
  // After midnight UTC the day moves on: Spätfilm and Nachtschicht are past or running.
  const next = feed.update(Date.UTC(2026, 9, 25, 1, 5))!;
  t.equal(parseEitPf(next.pf!(1)).present?.shortEvent?.name, 'Testbild');
});
