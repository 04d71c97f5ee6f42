// Hot reload planning (src/headend/reload/config-diff.ts): which channels stay, which get their
// SI updated in place, which restart, and which headend settings need a daemon restart.
import t from 'tap';
import { loadConfigText } from '../../src/headend/config/index.js';
import type { HeadendSpec } from '../../src/headend/config/index.js';
import {
  diffChannels,
  restartRequired,
  updateKinds,
} from '../../src/headend/reload/config-diff.js';

function load(text: string): HeadendSpec {
  const r = loadConfigText(text, '/tmp/channels.yaml');
  if ('errors' in r) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const ch = (n: number, name: string, extra = '', out = n): string =>
  `  - number: ${n}\n    name: ${name}\n    output: udp://239.255.60.${out}:5000\n` +
  `    source: { test: { pattern: smpte, text: Fixed } }\n${extra}`;

t.test('channels are unchanged, updated, restarted, added, removed', async (t) => {
  const a = load(`channels:\n${ch(1, 'One')}${ch(2, 'Two')}${ch(3, 'Three')}${ch(4, 'Four')}`);
  const b = load(
    `# a comment moves every line\nchannels:\n${ch(1, 'One')}${ch(2, 'Deux')}` +
      `${ch(3, 'Three', '    stall_timeout: 9s\n')}${ch(5, 'Five')}`,
  );
  const d = diffChannels(a.channels, b.channels);
  t.same(
    d.unchanged.map(([, n]) => n.slug),
    ['one'],
    'moved lines only: unchanged',
  );
  t.same(
    d.updated.map(([o, n]) => `${o.slug}>${n.slug}`),
    ['two>deux'],
    'rename found by number',
  );
  t.same(
    d.restarted.map(([, n]) => n.slug),
    ['three'],
  );
  t.same(
    d.added.map((c) => c.slug),
    ['five'],
  );
  t.same(
    d.removed.map((c) => c.slug),
    ['four'],
  );
});

t.test('identity fields update in place; output and headend egress changes restart', async (t) => {
  const a = load(`channels:\n${ch(1, 'One')}${ch(2, 'Two')}`);
  const b = load(`channels:\n${ch(7, 'One', '    provider: Other\n', 1)}${ch(2, 'Two')}`);
  const d = diffChannels(a.channels, b.channels);
  t.same(
    d.updated.map(([, n]) => n.slug),
    ['one'],
    'number and provider: SI only',
  );
  t.same(
    d.unchanged.map(([, n]) => n.slug),
    ['two'],
  );
  const c = load(`headend:\n  ttl: 4\nchannels:\n${ch(1, 'One')}${ch(2, 'Two')}`);
  t.same(
    diffChannels(a.channels, c.channels).restarted.map(([, n]) => n.slug),
    ['one', 'two'],
    'headend ttl reaches every output: all restart',
  );
  t.same(restartRequired(a, c), [], 'ttl needs no daemon restart');
});

t.test('a rename of a test source with the default text restarts it', async (t) => {
  const mk = (name: string) =>
    load(
      `channels:\n  - number: 1\n    name: ${name}\n    output: udp://239.255.60.1:5000\n` +
        `    source: { test: { pattern: smpte } }\n`,
    );
  const d = diffChannels(mk('One').channels, mk('Uno').channels);
  t.same(
    d.restarted.map(([, n]) => n.slug),
    ['uno'],
  );
});

t.test('headend services that need a restart are reported', async (t) => {
  const a = load(`channels:\n${ch(1, 'One')}`);
  const b = load(`headend:\n  name: Other\n  watch: true\nchannels:\n${ch(1, 'One')}`);
  t.same(restartRequired(a, b), ['name'], 'name needs a restart, watch does not');
  const net = (extra: string) =>
    load(`headend:\n  timezone: Europe/Paris\n${extra}channels:\n${ch(1, 'One')}`);
  t.same(
    restartRequired(net(''), net('  network: Renamed TV\n')),
    [],
    "the network's name goes into the NIT at once",
  );
  t.same(
    restartRequired(net(''), net('  network_id: 7\n  country: BEL\n')),
    ['network_id', 'country'],
    'network_id (every SDT) and the TOT country at the next start',
  );
});

t.test(
  'mux changes (bitrate, CBR↔VBR, psi_interval, packets per datagram) update in place',
  async (t) => {
    const a = load(
      `channels:\n${ch(1, 'One', '    bitrate: 4M\n')}${ch(2, 'Two')}${ch(3, 'Three')}` +
        `${ch(4, 'Four')}${ch(5, 'Five', '    bitrate: 3M\n')}${ch(6, 'Six', '    bitrate: 3M\n')}`,
    );
    const b = load(
      `channels:\n${ch(1, 'One', '    bitrate: 6M\n')}${ch(2, 'Two', '    bitrate: 2M\n')}` +
        `${ch(3, 'Three', '    psi_interval: 40ms\n')}` +
        `${ch(4, 'Four', '    packets_per_datagram: 4\n')}${ch(5, 'Cinq', '    bitrate: 5M\n')}` +
        `${ch(6, 'Six', '    bitrate: 5M\n', 66)}`,
    );
    const d = diffChannels(a.channels, b.channels);
    t.same(
      d.updated.map(([, n]) => n.slug),
      ['one', 'two', 'three', 'four', 'cinq'],
      'rate, VBR→CBR, PSI interval, datagram size, rename + rate: in place',
    );
    t.same(
      d.updated.map(([o, n]) => updateKinds(o, n)),
      [
        { identity: false, mux: true, programme: false },
        { identity: false, mux: true, programme: false },
        { identity: false, mux: true, programme: false },
        { identity: false, mux: true, programme: false },
        { identity: true, mux: true, programme: false },
      ],
    );
    t.same(
      d.restarted.map(([, n]) => n.slug),
      ['six'],
      'a new output group (and a new rate) still restarts',
    );
    const back = diffChannels(b.channels, a.channels);
    t.same(
      back.updated.find(([, n]) => n.slug === 'two')?.[1].bitrate,
      undefined,
      'CBR→VBR: updated too',
    );
    t.ok(
      back.updated.some(([, n]) => n.slug === 'two'),
      'CBR→VBR is an update',
    );
    const rename = diffChannels(
      a.channels,
      load(`channels:\n${ch(1, 'Uno', '    bitrate: 4M\n')}`).channels,
    );
    t.same(
      rename.updated.map(([o, n]) => updateKinds(o, n)),
      [{ identity: true, mux: false, programme: false }],
      'a rename alone changes no mux',
    );
  },
);

t.test('timetable rules and the group are updated in place', async (t) => {
  const rule = (from: string): string =>
    `    group: lobby\n    schedule:\n      - source: /srv/w.ts\n        from: "${from}"\n`;
  const a = load(`channels:\n${ch(1, 'One', rule('06:00'))}${ch(2, 'Two')}`);
  const b = load(`channels:\n${ch(1, 'One', rule('07:00'))}${ch(2, 'Two', '    group: bar\n')}`);
  const d = diffChannels(a.channels, b.channels);
  t.same(
    d.updated.map(([, n]) => n.slug),
    ['one', 'two'],
  );
  t.same(
    d.updated.map(([o, n]) => updateKinds(o, n)),
    [
      { identity: false, mux: false, programme: true },
      { identity: false, mux: false, programme: true },
    ],
  );
  t.same(d.restarted, []);
});
