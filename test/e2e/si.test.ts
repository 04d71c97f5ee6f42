// What TVs read (issue 11, first part), on the real daemon, decoded by GStreamer (tsparse and
// libgstmpegts through test/helpers/gst-si.py, not our code; it checks each section's CRC):
//   - NIT actual on every output: the same version everywhere, network name and id from the
//     config, and byte for byte the sections this test builds by hand from EN 300 468 §5.2.1
//     (a service_list_descriptor and an EACEM logical_channel_descriptor per channel);
//   - SDT with the configured name, provider and service_type, original_network_id = network_id;
//   - TDT/TOT: UTC within a second of the receiver's clock, TOT for Germany with CET/CEST and
//     the next change (computed here from Intl, independently of src/scheduler/timezone.ts);
//   - EIT present/following and schedule from an XMLTV guide written here (made up): the
//     programme on air and the next one, with titles and descriptions; /epg.xml with the same programmes under
//     the channel's slug, and the M3U's x-tvg-url pointing at it;
//   - a reload that adds a channel: a new NIT version listing it, on the outputs that kept
//     running.
import '../helpers/private-network.js';
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  maxGapMs,
  openRecorder,
  scan,
  startDaemon,
  stopAndCheck,
  marker,
  tempDir,
  timed,
  type Datagram,
} from './helpers.js';
import { getPid, payloadUnitStart } from '../../src/mpegts/packet.js';

const GST_SI = fileURLToPath(new URL('../../../test/helpers/gst-si.py', import.meta.url));

interface Si {
  nit: { at: number; networkId: number; version: number; name: string; raw: string }[];
  sdt: {
    at: number;
    onid: number;
    services: { id: number; name: string; provider: string }[];
    raw: string;
  }[];
  tdt: { at: number; utc: string }[];
  eit: {
    tableId: number;
    serviceId: number;
    section: number;
    events: { name?: string; text?: string; lang?: string; running: number; duration: number }[];
  }[];
  tot: { at: number; utc: string; raw: string }[];
}

function gstSi(group: string, port: number, seconds: number): Promise<Si> {
  return new Promise((resolve, reject) =>
    execFile(
      '/usr/bin/python3',
      [GST_SI, group, String(port), String(seconds)],
      { timeout: (seconds + 20) * 1000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`gst-si: ${err.message} ${stderr}`));
        try {
          resolve(JSON.parse(stdout) as Si);
        } catch (e) {
          reject(new Error(`gst-si output: ${(e as Error).message}: ${stdout} ${stderr}`));
        }
      },
    ),
  );
}

/** The channels' psi_interval (the daemon's default). */
const PSI_MS = 100;

/** Kernel arrival ns of each section of `tableId` starting on `pid` (first packet, ours fit). */
function arrivals(d: readonly Datagram[], pid: number, tableId: number): number[] {
  const out: number[] = [];
  for (const x of d)
    for (let o = 0; o + 188 <= x.data.length; o += 188) {
      if (getPid(x.data, o) !== pid || !payloadUnitStart(x.data, o)) continue;
      const adaptation = (x.data[o + 3] & 0x20) !== 0 ? 1 + x.data[o + 4] : 0;
      const p = o + 4 + adaptation;
      if (x.data[p + 1 + x.data[p]] === tableId) out.push(x.ns);
    }
  return out;
}

/**
 * Every table at its interval on the wire, by kernel arrival: PAT and PMT within psi_interval
 * plus one datagram's duration (and 10 ms for this VM's wake-up floor), SDT and EIT p/f within
 * 2 s, NIT within 10 s, TDT and TOT within 30 s (TR 101 290 1.3a, 1.5a, 3.1.a, 3.2, 3.6.a, 3.8;
 * TS 101 211 §4.4).
 */
function wireRepetition(t: Test, d: readonly Datagram[], psiMs: number): void {
  const s = scan([...d]);
  const spanMs = (d[d.length - 1].ns - d[0].ns) / 1e6;
  const datagramMs = spanMs / (d.length - 1);
  const psiLimit = psiMs + datagramMs + 10;
  const pat = maxGapMs(s.patNs);
  const pmt = maxGapMs(s.pmtNs);
  t.ok(
    pat <= psiLimit,
    `PAT on the wire every ${pat.toFixed(1)} ms ≤ ${psiLimit.toFixed(1)} (psi_interval + one datagram of ${datagramMs.toFixed(1)} ms + 10)`,
  );
  t.ok(pmt <= psiLimit, `PMT on the wire every ${pmt.toFixed(1)} ms ≤ ${psiLimit.toFixed(1)}`);
  for (const [name, pid, tid, limit] of [
    ['SDT', 0x11, 0x42, 2000],
    ['EIT p/f', 0x12, 0x4e, 2000],
    ['NIT', 0x10, 0x40, 10_000],
    ['TDT', 0x14, 0x70, 30_000],
    ['TOT', 0x14, 0x73, 30_000],
  ] as const) {
    const at = arrivals(d, pid, tid);
    const gap = maxGapMs(at);
    t.ok(
      at.length >= 2 && gap <= limit,
      `${name} on the wire: ${at.length} in ${(spanMs / 1000).toFixed(1)} s, max gap ${gap.toFixed(0)} ms ≤ ${limit}`,
    );
  }
}

const CH = [
  { number: 7, name: 'Lobby', group: '239.255.27.1', port: 6601, type: 'tv', typeCode: 0x01 },
  {
    number: 12,
    name: 'Jazz Radio',
    group: '239.255.27.2',
    port: 6602,
    type: 'radio',
    typeCode: 0x02,
  },
  { number: 31, name: 'Sports HD', group: '239.255.27.3', port: 6603, type: 'hd', typeCode: 0x19 },
];

function config(n: number): string {
  return (
    `headend:\n  name: SI Test Hotel\n  network: Hotel Network\n  network_id: 65290\n` +
    `  timezone: Europe/Berlin\n  interface: 127.0.0.1\n  ttl: 1\n  epg: [guide.xml]\n` +
    `  http: { listen: 127.0.0.1:0 }\n  rtsp: false\nchannels:\n` +
    CH.slice(0, n)
      .map(
        (c) =>
          `  - number: ${c.number}\n    name: ${c.name}\n    provider: Front Desk\n` +
          `    service_type: ${c.type}\n    output: udp://${c.group}:${c.port}\n` +
          (c.number === 7 ? `    epg: lobby.example\n` : '') +
          `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 15, ` +
          `bitrate: 150k, text: ${marker(`si${c.number}`)} }\n`,
      )
      .join('')
  );
}

const hex = (bytes: number[]): string => Buffer.from(bytes).toString('hex');
const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const text = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/**
 * NIT actual, EN 300 468 §5.2.1, written out by hand: the section without its CRC (GStreamer
 * checked that), with the version of the received section.
 */
function expectedNit(n: number, version: number): string {
  const name = text('Hotel Network');
  const networkDescriptors = [0x40, name.length, ...name];
  const loop: number[] = [];
  for (const c of CH.slice(0, n).sort((a, b) => a.number - b.number)) {
    const descriptors = [
      ...[0x41, 3, ...u16(c.number), c.typeCode], // service_list: service_id = number, type
      ...[0x5f, 4, 0x00, 0x00, 0x00, 0x28], // private_data_specifier: EACEM
      ...[0x83, 4, ...u16(c.number), 0xfc | (c.number >> 8), c.number & 0xff], // LCN, visible
    ];
    // transport_stream_id = number, original_network_id = network_id
    loop.push(
      ...u16(c.number),
      ...u16(65290),
      0xf0 | (descriptors.length >> 8),
      descriptors.length & 0xff,
      ...descriptors,
    );
  }
  const body = [
    ...[0xf0 | (networkDescriptors.length >> 8), networkDescriptors.length & 0xff],
    ...networkDescriptors,
    ...[0xf0 | (loop.length >> 8), loop.length & 0xff],
    ...loop,
  ];
  const sectionLength = 5 + body.length + 4;
  return hex([
    0x40,
    0xf0 | (sectionLength >> 8),
    sectionLength & 0xff,
    ...u16(65290), // network_id
    0xc1 | (version << 1),
    0x00, // section_number
    0x00, // last_section_number
    ...body,
  ]);
}

/** Offset of Europe/Berlin at `ms`, minutes, and its next change, from Intl alone. */
function berlin(ms: number): { offset: number; change: number; next: number } {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    timeZoneName: 'shortOffset',
  });
  const off = (x: number): number => {
    const name = f.formatToParts(x).find((p) => p.type === 'timeZoneName')!.value; // GMT+1
    const m = /GMT([+-]\d+)/.exec(name);
    return m ? Number(m[1]) * 60 : 0;
  };
  const now = off(ms);
  let x = Math.floor(ms / 3_600_000) * 3_600_000;
  while (off(x) === now) x += 3_600_000; // Berlin changes on the hour (01:00 UTC)
  return { offset: now, change: x, next: off(x) };
}

const bcd = (v: number): number => ((Math.floor(v / 10) << 4) | (v % 10)) & 0xff;
function mjdTime(ms: number): number[] {
  const mjd = Math.floor(ms / 86_400_000) + 40587;
  const d = new Date(ms);
  return [...u16(mjd), bcd(d.getUTCHours()), bcd(d.getUTCMinutes()), bcd(d.getUTCSeconds())];
}
const hhmm = (min: number): number[] => [
  bcd(Math.floor(Math.abs(min) / 60)),
  bcd(Math.abs(min) % 60),
];

/** XMLTV time, UTC. */
const xt = (ms: number): string =>
  new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + ' +0000';

/**
 * A made-up guide: for the Lobby, one programme on air now and the next one. The programme on
 * air began half an hour ago (to the minute) and ends half an hour from now, so that the test's
 * ~25 s never cross its end (it began on the hour, and a run across the hour found the next
 * programme on air).
 */
function guide(now: number): string {
  const h = Math.floor(now / 60_000) * 60_000 - 1_800_000;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<tv>\n` +
    `<channel id="lobby.example"><display-name>Lobby</display-name></channel>\n` +
    `<programme start="${xt(h)}" stop="${xt(h + 3_600_000)}" channel="lobby.example">` +
    `<title lang="en">Welcome Loop</title><desc lang="en">Rooms, spa &amp; dinner</desc>` +
    `<category lang="en">Magazine</category></programme>\n` +
    `<programme start="${xt(h + 3_600_000)}" stop="${xt(h + 7_200_000)}" channel="lobby.example">` +
    `<title lang="en">Evening News</title><category lang="en">News</category></programme>\n` +
    `</tv>\n`
  );
}

t.test(
  'NIT with LCNs, SDT, TDT, TOT and EIT on every output; /epg.xml; a reload updates the NIT',
  async (t) => {
    const dir = tempDir(t);
    const file = `${dir}/channels.yaml`;
    writeFileSync(file, config(2));
    const guideAt = Date.now();
    writeFileSync(`${dir}/guide.xml`, guide(guideAt));
    const d = startDaemon(t, { file });
    await d.waitFor((e) => e.event === 'network-si', 10_000);
    for (const c of CH.slice(0, 2))
      await d.waitFor(
        (e) => e.event === 'source-up' && e.channel === `${c.number} ${c.name}`,
        30_000,
      );
    const rec = await openRecorder(t, CH[0].group, CH[0].port);
    const [a, b] = await Promise.all(CH.slice(0, 2).map((c) => gstSi(c.group, c.port, 12)));
    await rec.close();
    wireRepetition(t, timed(rec), PSI_MS);

    // NIT: on both outputs, the same version, byte for byte the hand-built line-up.
    t.ok(a.nit.length > 0 && b.nit.length > 0, 'a NIT on both outputs');
    const v = a.nit[0].version;
    t.equal(b.nit[0].version, v, `the same NIT version on every output (${v})`);
    t.equal(a.nit[0].networkId, 65290, 'network_id');
    t.equal(a.nit[0].name, 'Hotel Network', 'network name');
    for (const [who, si] of [
      ['Lobby', a],
      ['Jazz Radio', b],
    ] as const)
      t.equal(
        si.nit[0].raw.slice(0, -8),
        expectedNit(2, v),
        `${who}: the NIT byte for byte (LCN 7, 12)`,
      );

    // SDT: names, provider, service_type, original_network_id.
    for (const [c, si] of [
      [CH[0], a],
      [CH[1], b],
    ] as const) {
      const s = si.sdt.at(-1)!;
      t.equal(s.onid, 65290, `${c.name}: SDT original_network_id = network_id`);
      t.same(
        s.services,
        [{ id: c.number, name: c.name, provider: 'Front Desk' }],
        `${c.name}: SDT service`,
      );
      // EN 300 468 §5.2.3: 11 bytes of header, 5 of the service entry, then its
      // service_descriptor: tag 0x48, length, service_type.
      t.equal(s.raw.slice(32, 34), '48', `${c.name}: service_descriptor first`);
      t.equal(parseInt(s.raw.slice(36, 38), 16), c.typeCode, `${c.name}: service_type ${c.type}`);
    }

    // TDT/TOT: the time, every ≤ 5 s (+ one PSI interval), and the TOT for Germany.
    for (const [c, si] of [
      [CH[0], a],
      [CH[1], b],
    ] as const) {
      t.ok(si.tdt.length >= 2, `${c.name}: TDTs (${si.tdt.length} in 12 s)`);
      for (const x of si.tdt) {
        const err = x.at - Date.parse(x.utc);
        t.ok(
          err > -1000 && err < 1500,
          `${c.name}: TDT ${x.utc} received ${err} ms after its second`,
        );
      }
      const gaps = si.tdt.slice(1).map((x, i) => x.at - si.tdt[i].at);
      t.ok(Math.max(...gaps) < 5000 + 600, `${c.name}: TDT every ≤ 5 s (${gaps.join(', ')} ms)`);
      t.ok(si.tot.length >= 2, `${c.name}: TOTs`);
      const tot = si.tot.at(-1)!;
      const z = berlin(Date.parse(tot.utc));
      // local_time_offset_descriptor (EN 300 468 §6.2.20): DEU, region 0, polarity +, offset,
      // time_of_change, next_time_offset
      const want = hex([
        0x58,
        13,
        ...text('DEU'),
        0x02,
        ...hhmm(z.offset),
        ...mjdTime(z.change),
        ...hhmm(z.next),
      ]);
      t.equal(
        tot.raw.slice(20, 20 + want.length),
        want,
        `${c.name}: TOT for Germany: +${z.offset} min, ${new Date(z.change).toISOString()} → +${z.next}`,
      );
    }

    // EIT p/f of the Lobby from the guide (GStreamer's decoding): on air now, then next.
    const pf = a.eit.filter((e) => e.tableId === 0x4e && e.serviceId === 7);
    const present = pf.find((e) => e.section === 0)?.events[0];
    const following = pf.find((e) => e.section === 1)?.events[0];
    t.match(
      present,
      {
        name: 'Welcome Loop',
        text: 'Rooms, spa & dinner',
        lang: 'eng',
        running: 4,
        duration: 3600,
      },
      'EIT present',
    );
    t.match(following, { name: 'Evening News', running: 1, duration: 3600 }, 'EIT following');
    const schedule = a.eit
      .filter((e) => e.tableId === 0x50 && e.serviceId === 7)
      .flatMap((e) => e.events.map((x) => x.name));
    // The schedule holds the events that start today (00:00 UTC) or later (TS 101 211
    // §4.1.4.2; the one on air came in p/f): from 00:00 to 00:30 UTC the programme on air
    // began yesterday.
    const welcomeStart = Math.floor(guideAt / 60_000) * 60_000 - 1_800_000;
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const want = welcomeStart >= today ? ['Evening News', 'Welcome Loop'] : ['Evening News'];
    // Sorted: the two may sit in two segments (3 hours each, EN 300 468 5.2.4) whose sections
    // came in either order (CI at 05:50 UTC: the news in the 06:00 segment came first).
    t.same(
      [...new Set(schedule)].sort(),
      want,
      `EIT schedule (table 0x50) lists the guide (${schedule.join(', ')})`,
    );
    t.equal(b.eit.length, 0, 'no guide for Jazz Radio: no EIT');
    t.equal(
      parseInt(a.sdt.at(-1)!.raw.slice(26, 28), 16) & 0x01,
      1,
      "the Lobby's SDT flags its EIT p/f",
    );
    // /epg.xml and the playlist's pointer to it.
    const http = await d.waitFor((e) => e.event === 'http-listening', 5000);
    const api = `http://127.0.0.1:${String(http.port)}`;
    const lobby = (await (await fetch(`${api}/api/channels/7`)).json()) as {
      guide?: {
        id: string;
        present: { title: string } | null;
        following: { title: string } | null;
      };
    };
    t.match(
      lobby.guide,
      {
        id: 'lobby.example',
        present: { title: 'Welcome Loop' },
        following: { title: 'Evening News' },
      },
      '/api/channels shows now/next',
    );
    const m3u = await (await fetch(`${api}/playlist.m3u`)).text();
    t.equal(m3u.split('\n')[0], `#EXTM3U x-tvg-url="${api}/epg.xml"`, 'the M3U names the guide');
    const xml = await (await fetch(`${api}/epg.xml`)).text();
    t.match(
      xml,
      /<channel id="lobby">\s*<display-name>Lobby<\/display-name>/,
      'channel id = tvg-id (slug)',
    );
    t.match(
      xml,
      /channel="lobby">\s*<title lang="en">Welcome Loop<\/title>\s*<desc lang="en">Rooms, spa &amp; dinner<\/desc>/,
    );
    t.match(xml, /<title lang="en">Evening News<\/title>/);

    // Reload with a third channel: a new NIT version with three entries on the running outputs.
    writeFileSync(file, config(3));
    const from = d.events.length;
    d.proc.kill('SIGHUP');
    await d.waitFor((e) => e.event === 'reload', 15_000, from);
    const after = await gstSi(CH[0].group, CH[0].port, 8);
    t.ok(after.nit.length > 0, 'a NIT after the reload');
    const v2 = after.nit.at(-1)!.version;
    t.not(v2, v, `a new version (${v} → ${v2})`);
    t.equal(
      after.nit.at(-1)!.raw.slice(0, -8),
      expectedNit(3, v2),
      'listing the new channel (LCN 31)',
    );
    await stopAndCheck(
      t,
      d,
      CH.map((c) => marker(`si${c.number}`)),
    );
  },
);
