// XMLTV in (xmltv.ts, saxes), the guide's sources (guide.ts: files, gzip, a broken source keeps
// what it gave last) and /epg.xml out (xmltv-out.ts). The XMLTV here is made up for the test.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseXmltv, parseXmltvTime, XmltvError } from '../../../src/headend/epg/xmltv.js';
import { Guide } from '../../../src/headend/epg/guide.js';
import { epgXml, xmlEscape } from '../../../src/headend/epg/xmltv-out.js';
import { createLogger } from '../../../src/headend/log.js';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd">
<tv generator-info-name="made up">
  <channel id="lobby.hotel"><display-name>Lobby</display-name></channel>
  <programme start="20261204180000 +0100" stop="20261204190000 +0100" channel="lobby.hotel">
    <title lang="de">Abendschau</title>
    <title lang="en">Evening Show</title>
    <desc lang="de"><![CDATA[Nachrichten & Wetter]]></desc>
    <category lang="en">News</category>
    <rating system="FSK"><value>12</value></rating>
  </programme>
  <programme start="20261204180000" channel="pool.hotel">
    <title>Swim &amp; Relax</title>
  </programme>
</tv>
`;

t.test(
  'parse: times with offsets, titles by language, CDATA, entities, categories, rating',
  async (t) => {
    t.equal(parseXmltvTime('20261204180000 +0100'), Date.UTC(2026, 11, 4, 17));
    t.equal(parseXmltvTime('20261204180000 -0530'), Date.UTC(2026, 11, 4, 23, 30));
    t.equal(
      parseXmltvTime('202612041800'),
      Date.UTC(2026, 11, 4, 18),
      'no seconds, no offset: UTC',
    );
    t.ok(Number.isNaN(parseXmltvTime('tomorrow')));
    const g = parseXmltv(XML);
    t.same([...g.channels], [['lobby.hotel', ['Lobby']]]);
    t.same(g.programmes[0], {
      channel: 'lobby.hotel',
      start: Date.UTC(2026, 11, 4, 17),
      stop: Date.UTC(2026, 11, 4, 18),
      title: 'Abendschau',
      lang: 'de',
      desc: 'Nachrichten & Wetter',
      others: [{ lang: 'en', title: 'Evening Show', desc: '' }],
      categories: ['News'],
      minAge: 12,
    });
    const two = parseXmltv(
      XML.replace(
        '<category lang="en">',
        '<desc lang="en">News and weather</desc>\n<category lang="en">',
      ),
    );
    t.same(
      two.programmes[0].others,
      [{ lang: 'en', title: 'Evening Show', desc: 'News and weather' }],
      'a description in the other language goes with its title',
    );
    const out = epgXml(
      [{ number: 1, name: 'Lobby', slug: 'lobby', epg: 'lobby.hotel' }] as never,
      (id) => (id === 'lobby.hotel' ? two.programmes.slice(0, 1) : []),
    );
    t.match(
      out,
      /<title lang="de">Abendschau<\/title>\n {4}<title lang="en">Evening Show<\/title>/,
    );
    t.match(out, /<desc lang="en">News and weather<\/desc>/, '/epg.xml keeps every language');
    t.equal(g.programmes[1].title, 'Swim & Relax');
    t.ok(Number.isNaN(g.programmes[1].stop), 'no stop given');
  },
);

t.test('malformed XML: an error with its line and column', async (t) => {
  const bad = XML.replace('</title>\n    <title lang="en">', '</titel>\n    <title lang="en">');
  t.throws(() => parseXmltv(bad), { name: 'XmltvError', message: 'unexpected close tag.' });
  try {
    parseXmltv(bad);
  } catch (e) {
    t.equal((e as XmltvError).line, 6, 'line of the bad close tag');
    t.ok((e as XmltvError).column > 0);
  }
  try {
    parseXmltv('<tv><programme channel="x" start="soon"/></tv>');
  } catch (e) {
    t.match((e as Error).message, /needs channel= and a start= time/);
  }
});

t.test(
  'Guide: files and gzip; a broken source keeps its last guide; unknown ids warned',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headend-epg-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'a.xml'), XML);
    writeFileSync(join(dir, 'b.xml.gz'), gzipSync(XML.replace(/lobby\.hotel/g, 'bar.hotel')));
    const lines: string[] = [];
    const log = createLogger({
      format: 'json',
      level: 'info',
      write: (l: string) => lines.push(l),
    });
    const g = new Guide({
      sources: ['a.xml', 'b.xml.gz'],
      dir,
      log,
      channels: () => [
        { epg: 'lobby.hotel', name: 'Lobby' },
        { epg: 'spa.hotel', name: 'Spa' },
      ],
    });
    await g.load();
    t.equal(g.programmes('lobby.hotel').length, 1);
    t.equal(g.programmes('bar.hotel').length, 1, 'from the gzip file');
    t.equal(g.programmes('pool.hotel').length, 1, 'both sources, one per start time');
    t.match(lines.join('\n'), /epg-unknown-channel.*Spa \(epg: spa\.hotel\)/);
    const gen = g.generation;
    writeFileSync(join(dir, 'a.xml'), XML.slice(0, 300) + '<oops');
    await g.load();
    t.equal(g.programmes('lobby.hotel').length, 1, 'the old programmes stay on the air');
    t.ok(g.generation > gen);
    t.match(lines.join('\n'), /"event":"epg-error","source":"a\.xml:\d+:\d+"/);
    t.match(lines.join('\n'), /"kept":"the guide it gave last time"/);
    await g.setSources(['missing.xml'], dir);
    t.equal(g.programmes('lobby.hotel').length, 0, 'a source removed by a reload is gone');
    t.match(lines.join('\n'), /epg-error","source":"missing\.xml".*ENOENT.*"kept":"nothing yet"/);
  },
);

t.test('/epg.xml: channels by slug and number, programmes under the slug, escaped', async (t) => {
  const g = parseXmltv(XML);
  const xml = epgXml([{ slug: 'lobby', name: 'Lobby <1>', number: 7, epg: 'lobby.hotel' }], (id) =>
    g.programmes.filter((p) => p.channel === id),
  );
  t.match(
    xml,
    /<channel id="lobby">\n {4}<display-name>Lobby &lt;1&gt;<\/display-name>\n {4}<display-name>7<\/display-name>/,
  );
  t.match(
    xml,
    /<programme start="20261204170000 \+0000" stop="20261204180000 \+0000" channel="lobby">\n {4}<title lang="de">Abendschau<\/title>\n {4}<title lang="en">Evening Show<\/title>\n {4}<desc lang="de">Nachrichten &amp; Wetter<\/desc>\n {4}<category lang="de">News<\/category>\n {4}<rating><value>12<\/value><\/rating>/,
  );
  // Round trip through the parser: the same programme again.
  const back = parseXmltv(xml);
  t.equal(back.programmes[0].title, 'Abendschau');
  t.equal(back.programmes[0].channel, 'lobby');
  t.equal(xmlEscape('a"b\u0001'), 'a&quot;b');
});
