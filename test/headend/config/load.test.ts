// channels.yaml: a valid file gives the typed config with every default; every kind of error
// is reported at the line:column of the key or value it is about, all of them at once.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatConfigError,
  loadConfigFile,
  loadConfigText,
  TEST_PATTERNS,
  type ConfigError,
  type HeadendSpec,
  type InterfaceTable,
  type LoadOptions,
} from '../../../src/headend/config/index.js';

const FFMPEG = '/usr/bin/ffmpeg';
const EXAMPLE = fileURLToPath(new URL('../../../../channels.yaml', import.meta.url));

function ok(
  text: string,
  file = '/etc/headend/channels.yaml',
  opts: LoadOptions = { interfaces: () => MACHINE },
): HeadendSpec {
  const r = loadConfigText(text, file, opts);
  if ('errors' in r) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

function errors(text: string, opts: LoadOptions = { interfaces: () => MACHINE }): ConfigError[] {
  const r = loadConfigText(text, 'channels.yaml', opts);
  if (!('errors' in r)) throw new Error('expected errors, the file was valid');
  return r.errors;
}

/** 1-based line:column of the `nth` occurrence of `needle` in `text`. */
function at(text: string, needle: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`'${needle}' not in the text`);
  }
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** line:column of the value in the `nth` occurrence of `key: value`. */
function val(text: string, keyValue: string, nth = 0): string {
  const [line, column] = at(text, keyValue, nth).split(':').map(Number);
  return `${line}:${column + keyValue.indexOf(': ') + 2}`;
}

const where = (e: ConfigError): string => `${e.line}:${e.column}`;

/** The machine the config tests check interfaces against (os.networkInterfaces() shape). */
const MACHINE: InterfaceTable = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4' },
    { address: '::1', family: 'IPv6' },
  ],
  eth0: [
    { address: '192.168.1.10', family: 'IPv4' },
    { address: 'fe80::1', family: 'IPv6' },
  ],
  eth1: [{ address: '10.0.0.5', family: 'IPv4' }],
  v6only: [{ address: 'fe80::2', family: 'IPv6' }],
};

/** A minimal valid channel, to build files from. */
const channel = (n: number, extra = ''): string =>
  `  - number: ${n}\n    name: Channel ${n}\n    output: udp://239.255.1.${n}:5000\n` +
  `    source: { test: smpte }\n${extra}`;

t.test('a minimal file: every default applied, frozen', async (t) => {
  const c = ok(
    'channels:\n  - number: 7\n    name: Café Nöws!\n    output: udp://239.255.1.1:5000\n    source: udp://@239.1.1.1:1234\n',
  );
  t.match(c, {
    name: 'headend',
    interface: '127.0.0.1',
    ttl: 1,
    tos: 0,
    file: '/etc/headend/channels.yaml',
  });
  t.equal(c.ffmpeg, undefined);
  t.equal(c.channels.length, 1);
  const ch = c.channels[0];
  t.same(ch, {
    number: 7,
    name: 'Café Nöws!',
    provider: 'headend',
    slug: 'cafe-nows',
    output: {
      protocol: 'udp',
      group: '239.255.1.1',
      port: 5000,
      ttl: 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
    },
    sources: [{ url: 'udp://@239.1.1.1:1234', key: ch.sources[0].key }],
    psiIntervalMs: 100,
    decodeMarginMs: 100,
    vbrSmoothingMs: 100,
    stallMs: 2000,
    returnAfterMs: 30000,
    programNumber: 7,
    transportStreamId: 7,
    epg: 'cafe-nows',
    line: 2,
  });
  t.equal(ch.bitrate, undefined, 'VBR unless bitrate is set');
  t.ok(Object.isFrozen(c) && Object.isFrozen(ch) && Object.isFrozen(ch.output));
  t.ok(Object.isFrozen(ch.sources) && Object.isFrozen(ch.sources[0]));
});

t.test('a full file: every key, defaults from headend and headend.defaults', async (t) => {
  const text = `headend:
  name: Grand Hotel
  interface: eth0
  ttl: 4
  dscp: 34
  ffmpeg: /opt/ffmpeg/bin/ffmpeg
  defaults:
    bitrate: 4M
    psi_interval: 50ms
    stall_timeout: 3s
    return_after: 1m
    packets_per_datagram: 5
    provider: Hotel TV
    source: udp://@239.100.0.1:1234
channels:
  - number: 101
    name: News 24
    output: udp://239.255.1.1:5000
    service: 1001
  - number: 102
    name: Sport
    slug: sport-hd
    provider: SportCo
    output: rtp://10.0.0.5@232.1.1.2:6000
    interface: 192.168.1.10
    ttl: 2
    tos: 184
    source:
      url: https://example.com/live.m3u8
      transcode: { video: libx264, audio: aac, video_bitrate: 3M, audio_bitrate: 128k, size: 1280x720 }
    backup:
      - media/slate.ts
      - { url: file:///srv/loop.ts, loop: false, service: 3 }
      - test: { pattern: color, resolution: 320x180, rate: 30, bitrate: 800k, tone: 440, text: Back soon }
    bitrate: 6000000
    psi_interval: 200
    decode_margin: 250ms
    vbr_smoothing: 0
    packets_per_datagram: 7
    program_number: 5
    transport_stream_id: 0x10
`;
  const c = ok(text, '/srv/headend/channels.yaml');
  t.match(c, {
    name: 'Grand Hotel',
    interface: 'eth0',
    ttl: 4,
    tos: 136,
    ffmpeg: '/opt/ffmpeg/bin/ffmpeg',
  });
  const [news, sport] = c.channels;
  t.match(news, {
    number: 101,
    provider: 'Hotel TV',
    slug: 'news-24',
    output: {
      protocol: 'udp',
      group: '239.255.1.1',
      port: 5000,
      ttl: 4,
      tos: 136,
      interface: 'eth0',
      packetsPerDatagram: 5,
    },
    sources: [{ url: 'udp://@239.100.0.1:1234', service: 1001 }],
    bitrate: 4_000_000,
    psiIntervalMs: 50,
    decodeMarginMs: 100,
    vbrSmoothingMs: 100,
    stallMs: 3000,
    returnAfterMs: 60_000,
    programNumber: 101,
    transportStreamId: 101,
    line: 16,
  });
  t.equal(news.output.source, undefined);
  t.match(sport, {
    slug: 'sport-hd',
    provider: 'SportCo',
    output: {
      protocol: 'rtp',
      group: '232.1.1.2',
      port: 6000,
      source: '10.0.0.5',
      ttl: 2,
      tos: 184,
      interface: '192.168.1.10',
      packetsPerDatagram: 7,
    },
    bitrate: 6_000_000,
    psiIntervalMs: 200,
    decodeMarginMs: 250,
    vbrSmoothingMs: 0,
    programNumber: 5,
    transportStreamId: 16,
  });
  t.equal(sport.sources.length, 4);
  t.same(sport.sources[0].transcode, {
    video: 'libx264',
    audio: 'aac',
    videoBitrate: 3_000_000,
    audioBitrate: 128_000,
    size: '1280x720',
  });
  t.equal(sport.sources[0].loop, undefined, 'loop is only defaulted for files');
  t.match(
    sport.sources[1],
    { url: '/srv/headend/media/slate.ts', loop: true },
    'relative to the file',
  );
  t.match(sport.sources[2], { url: '/srv/loop.ts', loop: false, service: 3 });
  t.same(sport.sources[3].test, {
    pattern: 'color',
    resolution: '320x180',
    rate: 30,
    bitrate: 800_000,
    tone: 440,
    text: 'Back soon',
  });
});

t.test(
  'headend.pacing: balanced by default; mode, priority, nice, CPU latency, spin budget, workers checked',
  async (t) => {
    t.same(ok(`channels:\n${channel(1)}`).pacing, {
      realtimePriority: 10,
      nice: -10,
      cpuDmaLatencyUs: null,
      mode: 'balanced',
      spinBudgetPercent: null,
      workers: 'auto',
    });
    const on = ok(
      `headend:\n  pacing:\n    mode: spin\n    realtime_priority: 20\n    nice: 0\n    cpu_dma_latency: 0\n    spin_budget: 0\n    workers: 0\nchannels:\n${channel(1)}`,
    );
    t.same(on.pacing, {
      realtimePriority: 20,
      nice: 0,
      cpuDmaLatencyUs: 0,
      mode: 'spin',
      spinBudgetPercent: 0,
      workers: 0,
    });
    t.equal(ok(`headend:\n  pacing: { workers: 3 }\nchannels:\n${channel(1)}`).pacing.workers, 3);
    const badNice = `headend:\n  pacing:\n    nice: -30\nchannels:\n${channel(1)}`;
    const bn = errors(badNice);
    t.equal(bn[0]?.path, 'headend.pacing.nice');
    t.match(bn[0]?.message, /-20/);
    t.equal(where(bn[0]), val(badNice, 'nice: -30'));
    const badWorkers = `headend:\n  pacing:\n    workers: many\nchannels:\n${channel(1)}`;
    const w = errors(badWorkers);
    t.equal(w[0]?.path, 'headend.pacing.workers');
    t.match(w[0]?.message, /expected auto or a number of workers, 0-64/);
    t.equal(where(w[0]), val(badWorkers, 'workers: many'));
    const sleep = ok(`headend:\n  pacing: { mode: sleep }\nchannels:\n${channel(1)}`).pacing;
    t.equal(sleep.mode, 'sleep');
    t.equal(sleep.realtimePriority, 10, 'sleep: SCHED_FIFO 10 by default');
    const spinning = ok(`headend:\n  pacing: { mode: spin }\nchannels:\n${channel(1)}`).pacing;
    t.equal(spinning.realtimePriority, 0, 'spin: not real-time by default (it would be throttled)');
    t.equal(
      ok(`headend:\n  pacing: { realtime_priority: 0 }\nchannels:\n${channel(1)}`).pacing
        .realtimePriority,
      0,
      '0 turns it off',
    );
    const badMode = `headend:\n  pacing:\n    mode: turbo\nchannels:\n${channel(1)}`;
    const m = errors(badMode);
    t.equal(m[0]?.path, 'headend.pacing.mode');
    t.match(m[0]?.message, /expected one of spin, balanced, sleep/);
    t.equal(where(m[0]), val(badMode, 'mode: turbo'));
    const spin = errors(`headend:\n  pacing:\n    spin_budget: 101\nchannels:\n${channel(1)}`);
    t.match(spin[0]?.message, /spin_budget: expected an integer from 0 to 100/);
    const text = `headend:\n  pacing:\n    realtime_priority: 100\n    cpu_dma_latncy: 0\nchannels:\n${channel(1)}`;
    const e = errors(text);
    t.equal(e.length, 2, e.map(formatConfigError).join('\n'));
    t.equal(e[0].path, 'headend.pacing.realtime_priority');
    t.equal(where(e[0]), val(text, 'realtime_priority: 100'));
    t.match(e[1].message, /cpu_dma_latency/, 'a typo gets a suggestion');
    t.equal(where(e[1]), at(text, 'cpu_dma_latncy'));
  },
);

t.test('test patterns are lavfi names; smpte and smptehd are short for the bars', async (t) => {
  const pat = (p: string): string | undefined =>
    ok(
      `channels:\n  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: { test: ${p} } }\n`,
    ).channels[0].sources[0].test?.pattern;
  t.equal(pat('smpte'), 'smptebars');
  t.equal(pat('smptehd'), 'smptehdbars');
  for (const p of TEST_PATTERNS) t.equal(pat(p), p);
});

t.test(
  'the example renders: every test pattern is an ffmpeg lavfi source',
  { skip: existsSync(FFMPEG) ? false : `${FFMPEG} is not installed` },
  async (t) => {
    const r = await loadConfigFile(EXAMPLE);
    if ('errors' in r) return t.fail('invalid example');
    for (const ch of r.config.channels) {
      for (const s of ch.sources) {
        if (s.test === undefined) continue;
        const { pattern, resolution, rate } = s.test;
        const lavfi = `${pattern}=size=${resolution}:rate=${rate}`;
        const run = spawnSync(
          FFMPEG,
          [
            '-hide_banner',
            '-loglevel',
            'error',
            '-f',
            'lavfi',
            '-i',
            lavfi,
            '-frames:v',
            '2',
            '-f',
            'null',
            '-',
          ],
          { encoding: 'utf8' },
        );
        t.equal(run.status, 0, `${lavfi} ${run.stderr}`);
      }
    }
  },
);

t.test('test sources: defaults, shorthand, name burned in', async (t) => {
  const c = ok(
    `channels:\n${channel(1)}  - number: 2\n    name: Two\n    output: udp://239.255.1.2:5000\n    source: { test: {} }\n`,
  );
  t.same(c.channels[0].sources[0].test, {
    pattern: 'smptebars',
    resolution: '640x360',
    rate: 25,
    bitrate: 1_500_000,
    text: 'Channel 1',
  });
  t.same(c.channels[1].sources[0].test, {
    pattern: 'testsrc2',
    resolution: '640x360',
    rate: 25,
    bitrate: 1_500_000,
    text: 'Two',
  });
});

t.test('the example channels.yaml validates', async (t) => {
  const r = await loadConfigFile(EXAMPLE);
  if ('errors' in r) return t.fail(r.errors.map(formatConfigError).join('\n'));
  const c = r.config;
  t.equal(c.interface, '127.0.0.1');
  t.equal(c.ttl, 1);
  t.ok(c.channels.length >= 4, 'several channels');
  const patterns = new Set(c.channels.map((ch) => ch.sources[0].test?.pattern));
  t.equal(patterns.size, c.channels.length, 'a different pattern on each channel');
  t.ok(
    c.channels.some((ch) => ch.sources[0].test?.tone !== undefined),
    'one with a tone',
  );
  t.ok(
    c.channels.some((ch) => ch.bitrate !== undefined),
    'one CBR',
  );
  t.ok(
    c.channels.some((ch) => ch.sources.length > 1),
    'one with a backup',
  );
  for (const ch of c.channels) {
    t.match(ch.output.group, /^239\.255\.\d+\.\d+$/);
    const test = ch.sources[0].test;
    if (test === undefined) return t.fail(`channel ${ch.number} is not a test pattern`);
    const [w, h] = test.resolution.split('x').map(Number);
    t.ok(
      w <= 640 && h <= 360 && test.rate <= 25 && test.bitrate <= 1_500_000,
      `${ch.name} is light`,
    );
    t.equal(test.text, ch.name, 'the name is burned in');
  }
});

t.test('unknown keys, with a suggestion', async (t) => {
  const text = `headend:\n  nmae: X\n  defaults:\n    stall_timout: 1s\nchannels:\n${channel(1, '    bitrat: 6M\n    packetsPerDatagram: 7\n    source2: x\n')}  - number: 2\n    name: Two\n    output: udp://239.255.1.2:5000\n    source: { url: a.ts, lop: false, transcode: { vidoe: libx264 } }\nchanels: []\n`;
  const e = errors(text);
  t.same(
    e.map((x) => [where(x), x.path, x.message]),
    [
      [at(text, 'nmae'), 'headend.nmae', "unknown key 'nmae' in headend (did you mean 'name'?)"],
      [
        at(text, 'stall_timout'),
        'headend.defaults.stall_timout',
        "unknown key 'stall_timout' in headend.defaults (did you mean 'stall_timeout'?)",
      ],
      [
        at(text, 'bitrat'),
        'channels[0].bitrat',
        "unknown key 'bitrat' in channels[0] (did you mean 'bitrate'?)",
      ],
      [
        at(text, 'packetsPerDatagram'),
        'channels[0].packetsPerDatagram',
        "unknown key 'packetsPerDatagram' in channels[0] (did you mean 'packets_per_datagram'?)",
      ],
      [
        at(text, 'source2'),
        'channels[0].source2',
        "unknown key 'source2' in channels[0] (did you mean 'source'?)",
      ],
      [
        at(text, 'lop'),
        'channels[1].source.lop',
        "unknown key 'lop' in channels[1].source (did you mean 'loop'?)",
      ],
      [
        at(text, 'vidoe'),
        'channels[1].source.transcode.vidoe',
        "unknown key 'vidoe' in channels[1].source.transcode (did you mean 'video'?)",
      ],
      [at(text, 'chanels'), 'chanels', "unknown key 'chanels' (did you mean 'channels'?)"],
    ],
  );
  const far = errors(`channels:\n${channel(1, '    colour_scheme: blue\n')}`);
  t.equal(
    far[0].message,
    "unknown key 'colour_scheme' in channels[0]",
    'no suggestion when nothing is close',
  );
});

/** Each case (a channel line, the bad value in it, the message): one error at the value. */
function expectValueErrors(t: Test, cases: [string, string, RegExp][]): void {
  for (const [extra, needle, message] of cases) {
    const text = `channels:\n${channel(1, extra)}`;
    const e = errors(text);
    t.equal(e.length, 1, extra.trim());
    const line = at(text, extra.trim()).split(':').map(Number);
    t.equal(where(e[0]), `${line[0]}:${line[1] + extra.trim().indexOf(needle)}`, extra.trim());
    t.match(e[0].message, message, extra.trim());
  }
}

t.test('bad values: each at the line:column of the value', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['    bitrate: 6X\n', '6X', /channels\[0\]\.bitrate: bad bitrate '6X'/],
    ['    bitrate: 0\n', '0', /bitrate: bad bitrate 0/],
    ['    bitrate: -1M\n', '-1M', /bad bitrate '-1M'/],
    ['    psi_interval: 2s\n', '2s', /psi_interval: duration '2s' is outside 10ms to 500ms/],
    ['    psi_interval: soon\n', 'soon', /bad duration 'soon'/],
    ['    decode_margin: 1s\n', '1s', /decode_margin: duration '1s' is outside 0ms to 900ms/],
    ['    vbr_smoothing: 1s\n', '1s', /vbr_smoothing: duration '1s' is outside 0ms to 500ms/],
    ['    stall_timeout: [1]\n', '[1]', /expected a duration .*got a list/],
    ['    packets_per_datagram: 8\n', '8', /expected an integer from 1 to 7, got 8/],
    ['    ttl: 256\n', '256', /ttl: expected an integer from 0 to 255, got 256/],
    ['    dscp: 64\n', '64', /dscp: expected an integer from 0 to 63/],
    ['    program_number: 0\n', '0', /program_number: expected an integer from 1 to 65535/],
    ['    transport_stream_id: 70000\n', '70000', /from 0 to 65535/],
    ['    service: abc\n', 'abc', /service: expected an integer/],
    ['    slug: Bad Slug\n', 'Bad Slug', /slug: expected lowercase letters/],
    ['    interface: 10.0.0.300\n', '10.0.0.300', /'10.0.0.300' is not a valid IPv4 address/],
    ['    provider:\n', 'provider', /provider: has no value/],
    [
      '    backup: [ftp://x/y]\n',
      'ftp://x/y',
      /backup\[0\]\.url: bad source 'ftp:\/\/x\/y': unsupported scheme/,
    ],
    [
      '    backup: udp://@239.1.1.1:99999\n',
      'udp://@239.1.1.1:99999',
      /port 99999 is outside 1-65535/,
    ],
    [
      '    backup: { test: { pattern: smtpe } }\n',
      'smtpe',
      /unknown pattern 'smtpe' \(did you mean 'smpte'\?\)/,
    ],
    ['    backup: { test: { resolution: 641x360 } }\n', '641x360', /must be even/],
    ['    backup: { test: { resolution: big } }\n', 'big', /expected WIDTHxHEIGHT/],
    [
      '    backup: { test: { rate: 0 } }\n',
      '0',
      /rate: expected a number of frames per second above 0/,
    ],
    ['    backup: { url: a.ts, loop: yes }\n', 'yes', /loop: expected true or false, got 'yes'/],
  ];
  expectValueErrors(t, cases);
});

t.test('outputs: form, multicast or unicast, SSM, aliasing groups', async (t) => {
  const out = (o: string): string =>
    `channels:\n  - number: 1\n    name: One\n    output: ${o}\n    source: { test: smpte }\n`;
  for (const good of [
    'udp://239.255.1.1:5000',
    'rtp://239.255.1.1:5000',
    'udp://10.0.0.5@232.1.1.1:5000',
    'udp://@239.255.1.1:1',
    'udp://192.168.1.20:1234',
    'udp://127.0.0.1:65535',
  ]) {
    t.ok('config' in loadConfigText(out(good), 'c.yaml', { interfaces: () => MACHINE }), good);
  }
  const bad: [string, RegExp][] = [
    ['239.255.1.1:5000', /expected udp:\/\/group:port/],
    ['http://239.255.1.1:5000', /expected udp:\/\/group:port/],
    ['udp://239.255.1.1', /expected udp:\/\/group:port/],
    ['udp://239.255.1.1:0', /port 0 is outside 1-65535/],
    ['udp://239.255.1.1:70000', /port 70000 is outside/],
    ['udp://tv.local:5000', /not an IPv4 address/],
    ['udp://10.0.0.5@192.168.1.1:5000', /needs a multicast group/],
    ['udp://0.0.0.0:5000', /not a destination/],
    ['udp://255.255.255.255:5000', /reserved or broadcast/],
    ['udp://224.0.0.1:5000', /shares its Ethernet MAC address with 224\.0\.0\.x/],
    ['udp://239.128.0.7:5000', /shares its Ethernet MAC/],
    ['udp://239.0.1.7:5000', /with 224\.0\.1\.x/],
    ['udp://238.128.1.1:5000', /shares its Ethernet MAC/],
  ];
  for (const [o, message] of bad) {
    const text = out(o);
    const e = errors(text);
    t.equal(e.length, 1, o);
    t.equal(where(e[0]), at(text, o), o);
    t.match(e[0].message, message, o);
  }
});

t.test('missing and contradictory keys', async (t) => {
  const text = `channels:
  - name: No number
    output: udp://239.255.1.1:5000
    source: a.ts
  - number: 2
    source: { test: smpte, url: a.ts }
    output: udp://239.255.1.2:5000
    name: Both
  - number: 3
    name: Neither
    output: udp://239.255.1.3:5000
    source: { service: 5 }
  - number: 4
    name: Twice
    output: udp://239.255.1.4:5000
    source: { url: udp://@239.1.1.1:1234, service: 5 }
    service: 6
  - number: 5
    name: Test with service
    output: udp://239.255.1.5:5000
    source: { test: smpte, service: 2, loop: true }
    tos: 4
    dscp: 1
  - number: 6
    name: Loop
    output: udp://239.255.1.6:5000
    source: { url: udp://@239.255.1.6:5000, loop: true }
`;
  const e = errors(text);
  t.same(
    e.map((x) => [where(x), x.message]),
    [
      [
        at(text, 'name: No number'),
        "channels[0]: missing required key 'number' (the logical channel number)",
      ],
      [
        at(text, 'test: smpte, url'),
        'channels[1].source.test: a source has one of url, test and tuner, not url and test',
      ],
      [at(text, '{ service: 5 }'), 'channels[2].source: a source needs url, test or tuner'],
      [at(text, 'service: 6'), 'channels[3].service: service is also set in source: give it once'],
      [
        at(text, 'service: 2'),
        'channels[4].source.service: service has no meaning for a test source',
      ],
      [at(text, 'loop: true'), 'channels[4].source.loop: loop has no meaning for a test source'],
      [at(text, 'dscp: 1'), 'channels[4].dscp: give tos or dscp, not both'],
      [
        at(text, 'udp://239.255.1.6:5000'),
        'channels[5].output: the channel would read its own output (source udp://@239.255.1.6:5000)',
      ],
      [at(text, 'loop: true', 1), 'channels[5].source.loop: a live udp:// input cannot loop'],
    ],
  );
  const noChannels = errors('headend:\n  name: x\n');
  t.same(
    noChannels.map((x) => [where(x), x.message]),
    [['1:1', "missing required key 'channels' (the list of channels)"]],
  );
  t.match(errors('channels: []\n')[0], {
    line: 1,
    column: 11,
    message: 'channels: the list of channels is empty',
  });
  t.match(errors('channels:\n  number: 1\n')[0], {
    line: 2,
    column: 3,
    message: /expected a list of channels/,
  });
  t.match(errors('')[0], { line: 1, column: 1, message: /the file is empty/ });
  t.match(errors('- 1\n')[0], { line: 1, column: 1, message: /expected a mapping/ });
  t.match(errors('headend: 3\nchannels: []\n')[0], {
    line: 1,
    column: 10,
    message: /headend: expected a mapping/,
  });
  t.match(
    errors(
      `headend:\n  defaults:\n    number: 1\n    output: udp://239.255.1.1:5000\nchannels:\n${channel(1)}`,
    ),
    [
      {
        line: 3,
        column: 5,
        message: "headend.defaults.number: 'number' cannot be a default: each channel sets its own",
      },
      { line: 4, column: 5, message: /'output' cannot be a default/ },
    ],
  );
});

t.test('several errors at once, across channels, in file order', async (t) => {
  const text = `headend:
  ttl: 999
channels:
  - number: 1
    name: One
    output: udp://239.255.1.1:5000
    source: { test: smpte }
    bitrate: lots
  - number: 2
    name: Two
    output: udp://239.255.1.2:5000
    source: { test: smpte }
  - number: 3
    name: Three
    output: udp://239.255.1.3:99999
    source: { tset: smpte }
    psi_interval: 1ms
  - 17
  - number: 1
    name: Two
    output: udp://239.255.1.2:5000
    source: { test: smpte }
`;
  const e = errors(text);
  t.same(
    e.map((x) => `${formatConfigError(x)}`),
    [
      `channels.yaml:${at(text, '999')}: headend.ttl: expected an integer from 0 to 255, got 999`,
      `channels.yaml:${at(text, 'lots')}: channels[0].bitrate: bad bitrate 'lots': expected a number with an optional k, M or G suffix (6M, 800k, 1.5M)`,
      `channels.yaml:${at(text, 'udp://239.255.1.3:99999')}: channels[2].output: bad output 'udp://239.255.1.3:99999': port 99999 is outside 1-65535`,
      `channels.yaml:${at(text, 'tset')}: unknown key 'tset' in channels[2].source (did you mean 'test'?)`,
      `channels.yaml:${at(text, '1ms')}: channels[2].psi_interval: duration '1ms' is outside 10ms to 500ms`,
      `channels.yaml:${at(text, '17')}: channels[3]: expected a mapping (number, name, slug, …), got 17`,
      `channels.yaml:${val(text, 'number: 1', 1)}: channels[4].number: number 1 is already used by channel 1 'One' (line 4)`,
      `channels.yaml:${at(text, 'Two', 1)}: channels[4].name: slug 'two' (made from the name) is already used by channel 2 'Two' (line 9); give one of them a slug:`,
      `channels.yaml:${at(text, 'udp://239.255.1.2:5000', 1)}: channels[4].output: output 239.255.1.2:5000 is already used by channel 2 'Two' (line 9)`,
    ],
  );
});

t.test('duplicates: numbers, slugs, outputs (RTP takes port + 1 for RTCP)', async (t) => {
  const text = `channels:
  - { number: 1, name: A, output: rtp://239.255.1.1:5000, source: a.ts }
  - { number: 2, name: B, output: udp://239.255.1.1:5001, source: a.ts }
  - { number: 3, name: C, output: rtp://239.255.1.1:4999, source: a.ts }
  - { number: 4, name: D, slug: a, output: udp://239.255.1.1:5002, source: a.ts }
  - { number: 5, name: E, output: udp://239.255.1.2:5000, source: a.ts }
  - { number: 5, name: F, output: udp://239.255.1.3:5000, source: a.ts }
`;
  t.same(
    errors(text).map((x) => [where(x), x.message]),
    [
      [
        at(text, 'udp://239.255.1.1:5001'),
        "channels[1].output: output 239.255.1.1:5001 is already the RTCP port of channel 1 'A' (line 2)",
      ],
      [
        at(text, 'rtp://239.255.1.1:4999'),
        "channels[2].output: output 239.255.1.1:5000 (port 5000 would carry its RTCP) is already used by channel 1 'A' (line 2)",
      ],
      [
        val(text, 'slug: a'),
        "channels[3].slug: slug 'a' is already used by channel 1 'A' (line 2)",
      ],
      [
        val(text, 'number: 5', 1),
        "channels[5].number: number 5 is already used by channel 5 'E' (line 6)",
      ],
    ],
  );
  t.ok(
    'config' in
      loadConfigText(
        'channels:\n  - { number: 1, name: A, output: udp://239.255.1.1:5000, source: a.ts }\n  - { number: 2, name: B, output: udp://239.255.1.2:5000, source: a.ts }\n',
        'c.yaml',
      ),
    'same port, other group',
  );
});

t.test('YAML syntax errors: reported alone, at their position', async (t) => {
  const text = `channels:\n  - number: 1\n   name: bad indent\n  - number: 2\n    name: "open\n`;
  const e = errors(text);
  t.ok(e.length >= 1);
  t.match(e[0], {
    file: 'channels.yaml',
    line: 3,
    column: 1,
    path: '',
    message: /without - indicator/,
  });
  t.notOk(
    e.some((x) => /missing required/.test(x.message)),
    'no follow-on schema errors',
  );
  t.match(errors('channels:\n\t- number: 1\n')[0], { line: 2, column: 1, message: /Tabs/ });
  t.match(errors('channels: [1, 2\n')[0], { line: 2, column: 1 });
  const dup = `channels:\n  - number: 1\n    number: 2\n    name: A\n    output: udp://239.255.1.1:5000\n    source: a.ts\n    bitrat: 1M\n`;
  t.same(
    errors(dup).map((x) => [where(x), x.message]),
    [
      [at(dup, 'number', 1), 'duplicate key: keys must be unique'],
      [at(dup, 'bitrat'), "unknown key 'bitrat' in channels[0] (did you mean 'bitrate'?)"],
    ],
    'a duplicate key is reported with the schema errors',
  );
});

t.test('units: bitrates and durations in every form', async (t) => {
  const cases: [
    string,
    Partial<Record<'bitrate' | 'psiIntervalMs' | 'stallMs' | 'returnAfterMs', number>>,
  ][] = [
    ['bitrate: 6M', { bitrate: 6_000_000 }],
    ['bitrate: 800k', { bitrate: 800_000 }],
    ['bitrate: 1.5M', { bitrate: 1_500_000 }],
    ['bitrate: 3000000', { bitrate: 3_000_000 }],
    ['bitrate: 2.5Mbps', { bitrate: 2_500_000 }],
    ['psi_interval: 100ms', { psiIntervalMs: 100 }],
    ['psi_interval: 0.25s', { psiIntervalMs: 250 }],
    ['psi_interval: 40', { psiIntervalMs: 40 }],
    ['stall_timeout: 2s', { stallMs: 2000 }],
    ['stall_timeout: 1m', { stallMs: 60_000 }],
    ['return_after: 0', { returnAfterMs: 0 }],
    ['return_after: 1h', { returnAfterMs: 3_600_000 }],
  ];
  for (const [line, want] of cases) {
    const c = ok(`channels:\n${channel(1, `    ${line}\n`)}`);
    t.match(c.channels[0], want, line);
  }
});

t.test('source keys: channels reading the same input share one source', async (t) => {
  const c = ok(`headend:
  defaults:
    source: udp://@239.100.0.1:1234
channels:
  - { number: 1, name: A, output: udp://239.255.1.1:5000, service: 101 }
  - { number: 2, name: B, output: udp://239.255.1.2:5000, service: 102 }
  - { number: 3, name: C, output: udp://239.255.1.3:5000, source: { url: 'udp://239.100.0.1:1234', service: 103 } }
  - { number: 4, name: D, output: udp://239.255.1.4:5000, source: udp://@239.100.0.2:1234 }
  - { number: 5, name: E, output: udp://239.255.1.5:5000, source: clip.ts }
  - { number: 6, name: F, output: udp://239.255.1.6:5000, source: { url: ./clip.ts, loop: true } }
  - { number: 7, name: G, output: udp://239.255.1.7:5000, source: { url: clip.ts, loop: false } }
  - { number: 8, name: H, output: udp://239.255.1.8:5000, source: { url: clip.ts, transcode: { video: libx264 } } }
  - { number: 9, name: I, output: udp://239.255.1.9:5000, source: rtp://@239.100.0.1:1234 }
  - { number: 10, name: J, output: udp://239.255.1.10:5000, source: { test: { pattern: smpte, text: same } } }
  - { number: 11, name: K, output: udp://239.255.1.11:5000, source: { test: { pattern: smpte, text: same } } }
  - { number: 12, name: L, output: udp://239.255.1.12:5000, source: { test: smpte } }
  - { number: 13, name: M, output: udp://239.255.1.13:5000, source: { url: 'http://feed.invalid/mpts.ts', service: 1 } }
  - { number: 14, name: N, output: udp://239.255.1.14:5000, source: { url: 'http://feed.invalid/mpts.ts', service: 2 } }
`);
  const key = (n: number): string => c.channels[n - 1].sources[0].key;
  const service = (n: number): number | undefined => c.channels[n - 1].sources[0].service;
  t.equal(key(1), key(2), 'same url, different service: same key');
  t.equal(key(1), key(3), 'udp://g:p and udp://@g:p are one socket');
  t.same([service(1), service(2), service(3)], [101, 102, 103], 'each keeps its service');
  t.not(key(1), key(4), 'other group');
  t.not(key(1), key(9), 'udp and rtp differ');
  t.equal(key(5), key(6), 'same file, loop defaulted to true');
  t.not(key(5), key(7), 'loop differs');
  t.not(key(5), key(8), 'transcode differs');
  t.not(key(13), key(14), 'through ffmpeg, each service is its own child (ffmpeg extracts one)');
  t.equal(key(10), key(11), 'equal test sources');
  t.not(key(10), key(12), 'the burned-in text differs');
  t.equal(c.channels[4].sources[0].url, c.channels[5].sources[0].url, 'paths resolved');
});

t.test('anchors and merge keys work; positions follow the text', async (t) => {
  const text = `x-defaults: &common\n  source: a.ts\nchannels:\n  - <<: { number: 1, name: A, source: a.ts }\n    output: udp://239.255.1.1:5000\n`;
  const e = errors(text);
  t.match(e[0], { line: 1, column: 1, message: "unknown key 'x-defaults'" });
  const c = ok(
    `headend:\n  defaults: &d\n    bitrate: 2M\nchannels:\n  - <<: { number: 1, name: A, source: a.ts }\n    output: udp://239.255.1.1:5000\n`,
  );
  t.equal(c.channels[0].number, 1);
  t.equal(c.channels[0].bitrate, 2_000_000);
});

t.test('formatConfigError', async (t) => {
  t.equal(
    formatConfigError({ file: 'c.yaml', line: 3, column: 7, path: 'x', message: 'x: bad' }),
    'c.yaml:3:7: x: bad',
  );
  t.equal(
    formatConfigError({ file: 'c.yaml', line: 0, column: 0, path: '', message: 'cannot read' }),
    'c.yaml: cannot read',
  );
  const r = await loadConfigFile('/nonexistent/channels.yaml');
  t.match(r, {
    errors: [{ file: '/nonexistent/channels.yaml', line: 0, message: /no such file or directory/ }],
  });
});

t.test('bitrates have a sane range, reported at the value', async (t) => {
  const cases: [string, string, RegExp][] = [
    // 99999G made the daemon spin forever filling one PCR interval; 1G and 6G flooded loopback.
    [
      '    bitrate: 99999G\n',
      '99999G',
      /channels\[0\]\.bitrate: bitrate '99999G' is outside 250k to 100M \(the CBR mux rate of one program\)/,
    ],
    ['    bitrate: 6G\n', '6G', /bitrate '6G' is outside 250k to 100M/],
    ['    bitrate: 1G\n', '1G', /bitrate '1G' is outside 250k to 100M/],
    ['    bitrate: 100000001\n', '100000001', /bitrate 100000001 is outside 250k to 100M/],
    ['    bitrate: 100k\n', '100k', /bitrate '100k' is outside 250k to 100M/],
    [
      '    backup: { test: { bitrate: 99999G } }\n',
      '99999G',
      /backup\[0\]\.test\.bitrate: bitrate '99999G' is outside 50k to 50M \(a test pattern's video bitrate\)/,
    ],
    ['    backup: { test: { bitrate: 10k } }\n', '10k', /outside 50k to 50M/],
    [
      '    backup: { url: a.ts, transcode: { video_bitrate: 1G } }\n',
      '1G',
      /video_bitrate: bitrate '1G' is outside 50k to 100M/,
    ],
    [
      '    backup: { url: a.ts, transcode: { audio_bitrate: 5M } }\n',
      '5M',
      /audio_bitrate: bitrate '5M' is outside 8k to 2M/,
    ],
  ];
  expectValueErrors(t, cases);
  const d = errors(`headend:\n  defaults:\n    bitrate: 99999G\nchannels:\n${channel(1)}`);
  t.same(
    d.map((x) => [where(x), x.message]),
    [
      [
        '3:14',
        "headend.defaults.bitrate: bitrate '99999G' is outside 250k to 100M (the CBR mux rate of one program)",
      ],
    ],
    'in headend.defaults too, reported once',
  );
  for (const [line, want] of [
    ['bitrate: 250k', 250_000],
    ['bitrate: 100M', 100_000_000],
    ['bitrate: 38M', 38_000_000],
  ] as const) {
    t.equal(ok(`channels:\n${channel(1, `    ${line}\n`)}`).channels[0].bitrate, want, line);
  }
  const tp = ok(`channels:\n${channel(1, '    backup: { test: { bitrate: 50k } }\n')}`);
  t.equal(tp.channels[0].sources[1].test?.bitrate, 50_000, 'test bitrate 50k is the least');
});

t.test('interfaces are checked against the machine, where they are written', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a name that does not exist',
      'headend:\n  interface: eth9\n',
      'eth9',
      /^headend\.interface: no interface 'eth9' on this machine \(or it is down\) \(did you mean 'eth0'\?\) \(interfaces with an IPv4 address: lo 127\.0\.0\.1, eth0 192\.168\.1\.10, eth1 10\.0\.0\.5\)$/,
    ],
    [
      'an address that is not ours',
      'headend:\n  interface: 192.0.2.1\n',
      '192.0.2.1',
      /^headend\.interface: 192\.0\.2\.1 is not an address of this machine \(interfaces with/,
    ],
    [
      'a name without IPv4',
      'headend:\n  interface: v6only\n',
      'v6only',
      /interface 'v6only' has no IPv4 address/,
    ],
    [
      'in headend.defaults',
      'headend:\n  defaults:\n    interface: wlan7\n',
      'wlan7',
      /^headend\.defaults\.interface: no interface 'wlan7'/,
    ],
  ];
  for (const [name, head, needle, message] of cases) {
    const text = `${head}channels:\n${channel(1)}${channel(2)}`;
    const e = errors(text);
    t.equal(e.length, 1, `${name}: reported once, not per channel`);
    t.equal(where(e[0]), at(text, needle), name);
    t.match(e[0].message, message, name);
  }
  const perChannel = `channels:\n${channel(1, '    interface: eth9\n')}${channel(2, '    interface: 10.9.9.9\n')}`;
  t.same(
    errors(perChannel).map((x) => [where(x), x.message.split(' (')[0]]),
    [
      [at(perChannel, 'eth9'), "channels[0].interface: no interface 'eth9' on this machine"],
      [
        at(perChannel, '10.9.9.9'),
        'channels[1].interface: 10.9.9.9 is not an address of this machine',
      ],
    ],
    'per channel, at each value',
  );
  const ssm = `channels:\n${channel(1).replace('udp://239.255.1.1:5000', 'udp://10.9.9.9@232.1.1.1:5000')}`;
  t.match(errors(ssm), [
    {
      line: Number(at(ssm, 'udp://10.9.9.9').split(':')[0]),
      message:
        /^channels\[0\]\.output: the sender address 10\.9\.9\.9 \(source@group\): 10\.9\.9\.9 is not an address of this machine/,
    },
  ]);
  t.equal(ok(ssm.replace('10.9.9.9', '10.0.0.5')).channels[0].output.source, '10.0.0.5');

  // Good: the loopback by name and by address, another interface, 0.0.0.0 (the kernel's choice).
  for (const iface of ['lo', '127.0.0.1', 'eth0', '192.168.1.10', '0.0.0.0']) {
    const c = ok(`headend:\n  interface: ${iface}\nchannels:\n${channel(1)}`);
    t.equal(c.channels[0].output.interface, iface, `${iface} is accepted`);
  }
  const none = errors(`channels:\n${channel(1)}`, { interfaces: () => ({}) });
  t.match(none, [
    {
      message:
        /^channels\[0\]: the default interface 127\.0\.0\.1: 127\.0\.0\.1 is not an address of this machine \(this machine has no interface/,
    },
  ]);
  t.ok(
    'config' in
      loadConfigText(`headend:\n  interface: eth9\nchannels:\n${channel(1)}`, 'c.yaml', {
        interfaces: null,
      }),
    'interfaces: null skips the check (install-systemd, probe)',
  );
  // With the real machine (the tests' private namespace has lo only; a host has lo too).
  t.ok('config' in loadConfigText(`headend:\n  interface: lo\nchannels:\n${channel(1)}`, 'c.yaml'));
  t.ok(
    'errors' in loadConfigText(`headend:\n  interface: eth9x\nchannels:\n${channel(1)}`, 'c.yaml'),
  );
});

t.test('the SI network: network, network_id, timezone, country, service_type', async (t) => {
  const c = ok(
    'headend:\n  name: Grand Hotel\n  timezone: Europe/Vienna\nchannels:\n' +
      channel(1, '    service_type: radio\n    hd_lcn: 5\n') +
      channel(2, '    service_type: 0x19\n') +
      channel(3),
  );
  t.same(c.network, {
    name: 'Grand Hotel',
    networkId: 0xff01,
    timezone: 'Europe/Vienna',
    country: 'AUT',
  });
  t.same(
    c.channels.map((ch) => ch.serviceType),
    [0x02, 0x19, undefined],
  );
  t.same(
    c.channels.map((ch) => ch.hdLcn),
    [5, undefined, undefined],
  );
  const d = ok(
    'headend:\n  network: Campus TV\n  network_id: 4242\n  timezone: UTC\n  country: gbr\n' +
      `channels:\n${channel(1)}`,
  );
  t.same(d.network, { name: 'Campus TV', networkId: 4242, timezone: 'UTC', country: 'GBR' });
  const e = ok(`headend:\n  timezone: Etc/UTC\nchannels:\n${channel(1)}`);
  t.equal(e.network.country, null, 'a zone of no country: no TOT entry');

  const text =
    'headend:\n  timezone: Mars/Olympus\n  country: XYZ\n  network_id: 0\nchannels:\n' +
    channel(1, '    service_type: movie\n');
  const errs = errors(text);
  t.same(errs.map(where), [
    val(text, 'timezone: Mars/Olympus'),
    val(text, 'country: XYZ'),
    val(text, 'network_id: 0'),
    val(text, 'service_type: movie'),
  ]);
  t.match(errs[0].message, /unknown time zone 'Mars\/Olympus'/);
  t.match(errs[1].message, /ISO 3166-1 alpha-3 country code/);
  t.match(errs[2].message, /from 1 to 65535/);
  t.match(errs[3].message, /expected tv, hd, uhd, radio or a number 1-255, got 'movie'/);
});

t.test('a radio service with an HLS ladder: refused at the ladder key', async (t) => {
  const text =
    'channels:\n' +
    channel(1, '    service_type: radio\n    hls:\n      ladder: [360p]\n') +
    channel(2, '    service_type: radio\n    hls: true\n');
  const errs = errors(text);
  t.same(errs.map(where), [at(text, 'ladder: [360p]')], 'one error, at channel 1');
  t.match(
    errs[0].message,
    /channels\[0\]\.hls\.ladder: a radio service \(service_type 2\) has no video/,
  );
});

t.test('timetables: schedule rules and the group', async (t) => {
  const c = ok(
    'channels:\n' +
      channel(
        1,
        '    group: lobby\n    schedule:\n' +
          '      - name: welcome\n        source: /srv/welcome.ts\n' +
          '        from: "06:00"\n        to: "10:00:30"\n        days: mon-fri\n' +
          '        dates: 2026-09-01..2027-06-30\n' +
          '      - source: { url: "udp://@239.1.1.9:5000", service: 3 }\n' +
          '        from: "22:00"\n        to: "06:00"\n        days: [sat, sun]\n' +
          '      - source: { test: smpte }\n        days: fri-mon\n        dates: 2026-12-24..\n',
      ),
  );
  const ch = c.channels[0];
  t.equal(ch.group, 'lobby');
  t.match(ch.schedule, [
    {
      name: 'welcome',
      rule: {
        fromS: 6 * 3600,
        toS: 10 * 3600 + 30,
        days: 0b0111110,
        firstDay: Date.UTC(2026, 8, 1) / 86_400_000,
        lastDay: Date.UTC(2027, 5, 30) / 86_400_000,
      },
      source: { url: '/srv/welcome.ts', loop: true },
    },
    {
      name: 'rule 2',
      rule: { fromS: 22 * 3600, toS: 6 * 3600, days: 0b1000001, firstDay: null },
      source: { url: 'udp://@239.1.1.9:5000', service: 3 },
    },
    {
      rule: {
        fromS: 0,
        toS: 86_400,
        days: 0b1100011,
        firstDay: Date.UTC(2026, 11, 24) / 86_400_000,
        lastDay: null,
      },
      source: { test: { pattern: 'smptebars' } },
    },
  ]);
  t.ok(
    ch.schedule!.every((r) => r.source.key !== ''),
    'each rule source has its key',
  );
  t.equal(ok(`channels:\n${channel(1)}`).channels[0].schedule, undefined, 'none by default');

  const text =
    'channels:\n' +
    channel(
      1,
      '    schedule:\n' +
        '      - source: /srv/a.ts\n        from: "25:00"\n        to: "24:30"\n' +
        '      - source: /srv/b.ts\n        days: monday-fryday\n        dates: 2027-02-30..\n' +
        '      - source: /srv/c.ts\n        dates: 2027-03-01..2027-02-01\n        when: always\n',
    );
  const errs = errors(text);
  t.same(errs.map(where), [
    val(text, 'from: "25:00"'),
    val(text, 'to: "24:30"'),
    val(text, 'days: monday-fryday'),
    val(text, 'dates: 2027-02-30..'),
    val(text, 'dates: 2027-03-01..2027-02-01'),
    at(text, 'when: always'),
  ]);
  t.match(
    errs.map((e) => e.message),
    [
      /expected a local time HH:MM or HH:MM:SS/,
      /or "24:00"/,
      /expected weekdays such as mon-fri/,
      /2027-02-30 is not a date/,
      /the first date 2027-03-01 is after the last 2027-02-01/,
      /when/,
    ],
  );
});

t.test('headend.alert: card, zones, token or token_file, serial', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend-alert-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'alert.token'), 's3cret\n');
  const c = ok(
    'headend:\n  alert:\n    message: Fire\n    token_file: alert.token\n' +
      '    zones: { east: [lobby, bar], west: spa }\n' +
      "    serial: { device: /dev/ttyUSB0, baud: 19200, on: '^FIRE (\\w+)$', contact: dcd }\n" +
      `channels:\n${channel(1)}`,
    join(dir, 'channels.yaml'),
  );
  t.match(c.alert, {
    message: 'Fire',
    token: 's3cret',
    zones: { east: ['lobby', 'bar'], west: ['spa'] },
    serial: {
      device: '/dev/ttyUSB0',
      baud: 19200,
      on: '^FIRE (\\w+)$',
      off: '^ALARM OFF(?:\\s+(\\S+))?$',
      contact: 'dcd',
      contactInverted: false,
    },
  });
  t.equal(c.alert?.source, undefined, 'the card by default');
  t.equal(ok(`channels:\n${channel(1)}`).alert, null, 'off unless given');
  const d = ok('headend:\n  alert: { source: /srv/evacuate.ts }\n' + `channels:\n${channel(1)}`);
  t.match(d.alert, {
    message: /^Emergency alert/,
    source: { url: '/srv/evacuate.ts', loop: true },
  });
  t.equal(d.alert?.token, undefined, 'no token: the HTTP trigger is off');

  const text =
    'headend:\n  alert:\n    token: a\n    token_file: missing.token\n' +
    "    serial: { device: /dev/ttyS0, on: '(unclosed', contact: rts }\n" +
    `channels:\n${channel(1)}`;
  const errs = errors(text);
  t.same(errs.map(where), [val(text, "on: '(unclosed'"), val(text, 'contact: rts')]);
  t.match(errs[0].message, /not a regular expression/);
  t.match(errs[1].message, /expected cts, dsr or dcd/);
  const both =
    'headend:\n  alert:\n    token: a\n    token_file: missing.token\n' +
    `channels:\n${channel(1)}`;
  t.match(errors(both), [{ message: /give token or token_file, not both/ }]);
  const missing =
    'headend:\n  alert:\n    token_file: missing.token\n' + `channels:\n${channel(1)}`;
  const m = errors(missing);
  t.same(m.map(where), [val(missing, 'token_file: missing.token')]);
  t.match(m[0].message, /cannot read .*missing\.token \(ENOENT\)/);
});
