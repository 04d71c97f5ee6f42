// The schema of channels.yaml: the shape of the file as written, checked key by key with
// zod. Leaf values (bitrates, durations, URLs, sizes) are parsed here into numbers and
// typed objects; resolve.ts then applies defaults and checks what spans several keys or
// channels. Error positions come from positions.ts.
//
// ── channels.yaml reference ───────────────────────────────────────────────────────────────
// Durations: 100ms, 2s, 1.5s, 1m, 1h, or a plain number of milliseconds.
// Bitrates:  6M, 800k, 1.5M, or a plain number of bit/s (k = 1000).
// Unknown keys are errors. Keys are snake_case.
//
// headend:                        optional; everything in it has a default
//   name: Example Hotel           headend name; the provider of channels that set none
//                                 (default "headend")
//   network, network_id, timezone, country: the SI network and clock (config/network.ts)
//   epg: [guide.xml, https://…/guide.xml.gz]
//                                 XMLTV guides (paths relative to this file, http(s) URLs,
//                                 gzip recognised; `test`: a generated guide) for the EIT
//                                 p/f of every channel and /epg.xml (default none)
//   epg_refresh: 6h               read them again this often, 1m-7d (default 6h; and on reload)
//   interface: 127.0.0.1          egress of every output: an IPv4 address of this machine or
//                                 an interface name (eth0) (default 127.0.0.1). Checked
//                                 against the machine's interfaces (up, with an IPv4 address)
//                                 by validate, run and every reload
//   ttl: 1                        multicast TTL, 0-255 (default 1: this subnet only)
//   tos: 0                        IP TOS byte, 0-255 (default 0)
//   dscp: 34                      instead of tos: DSCP 0-63 (tos = dscp << 2)
//   ffmpeg: /usr/bin/ffmpeg       ffmpeg binary (default: FFMPEG_PATH, then ffmpeg on PATH,
//                                 then the ffmpeg-static package)
//   http:                         HTTP surface: /playlist.m3u, /api/channels, /healthz,
//                                 /metrics, /stream/<slug|number> (MPEG-TS); `http: false`
//                                 turns it off
//     listen: 127.0.0.1:8080      host:port, or a port (default 127.0.0.1:8080; port 0 = any)
//     max_clients: 1000           HTTP-TS clients in all (default 1000); then 503
//     max_clients_per_channel: 500   (default 500)
//     max_clients_per_address: 16    (default 16)
//     client_buffer: 4194304      bytes a client may fall behind before it is dropped
//                                 (default 4 MiB: ~8 s of a 4 Mbit/s channel)
//     relay: [239.1.0.0/16]       udpxy's relay of other groups: /udp/<group>:<port> and
//                                 /rtp/<group>:<port> of these multicast subnets (true: any,
//                                 224.0.0.0/4), joined on headend.interface while a client
//                                 reads (default false: only the headend's own outputs)
//   hdhomerun:                    HDHomeRun emulation for Plex, Jellyfin, Emby (off unless
//                                 given; needs http): /discover.json, /lineup.json,
//                                 /lineup_status.json, /device.xml, and discovery answered
//                                 (SiliconDust's UDP 65001, SSDP/UPnP on 1900)
//     tuners: 4                   TunerCount: streams the media server may open (default 4)
//     device_id: 1A2B3C4D         DeviceID, 8 hex digits with a valid check digit (default:
//                                 derived from the headend's name and network id, stable)
//     name: Example Hotel         FriendlyName (default the headend name)
//     address: 192.168.1.10       the address in discovery answers (default: http's listen
//                                 address, else headend.interface's)
//   access: { … }                 who may play what over unicast and who may write
//                                 (config/access.ts; without it every client may play
//                                 everything and only this machine may reload)
//   rtsp:                         RTSP server (rtsp://host:port/<slug or number>);
//                                 `rtsp: false` turns it off
//     listen: 0.0.0.0:8554        host:port, or a port (default 0.0.0.0:8554; 554 needs
//                                 CAP_NET_BIND_SERVICE)
//     rtp_port: 6970              the server's even RTP port for unicast UDP sessions; RTCP
//                                 on the next (default 6970)
//     companion_offset: 0.0.128.0 a raw-UDP channel answers RTSP multicast on an RTP group
//                                 this much above its own, same port, sent only while such a
//                                 session is alive (default 0.0.128.0: 239.255.1.1 → .129.1)
//     session_timeout: 60s        a session with no request for this long ends (default 60s)
//     max_sessions: 1000          sessions in all (default 1000)
//     max_sessions_per_client: 64 sessions per client address (default 64)
//   sap:                          SAP/SDP announcements (RFC 2974) of every channel; off
//                                 unless given (`sap: true` or a mapping)
//     address: 239.255.255.255    239.255.255.255 (administratively scoped, the default) or
//                                 224.2.127.254 (global scope); port 9875
//     ttl: 1                      TTL of the announcements (default headend.ttl)
//   pacing:                       the pacing thread (restart to change)
//     mode: balanced              how it waits for each send: balanced (the default: sleeps
//                                 to just before it, spins the last ~50 µs within 5 % of a
//                                 core; past that at > 1,000 datagrams/s it paces as sleep
//                                 does), spin (spins to every send, up to a whole core: the
//                                 most punctual on a busy VM) or sleep (never spins: the
//                                 least CPU, sends on a 1 ms grid, ~0.1 ms late). Measured
//                                 in the README
//     realtime_priority: 10       run it SCHED_FIFO at this priority, 1-99, so that it
//                                 preempts busy threads (transcodes) when a send is due (0:
//                                 normal scheduling). Default 10 in modes balanced and sleep,
//                                 0 in spin. Needs root, CAP_SYS_NICE or LimitRTPRIO in the
//                                 unit (headend install-systemd sets it); a warning says when
//                                 it did not apply
//     nice: -10                   the pacing thread's nice value, -20..19 (default -10), so
//                                 that its wake-ups do not wait behind the daemon's other
//                                 threads (its garbage collection, the channel workers) when
//                                 the CPUs are busy. Below 0 needs root, CAP_SYS_NICE or
//                                 LimitNICE in the unit (headend install-systemd sets it); a
//                                 warning says when it did not apply
//     cpu_dma_latency: 0          hold the kernel's PM QoS CPU latency request
//                                 (/dev/cpu_dma_latency, µs) while running, so that idle CPUs
//                                 wake in time for the next send (needs root). On VMs the
//                                 difference between ~5 ms and ~50 µs late wake-ups
//     spin_budget: 5              percent of one core the pacing thread may spend spinning to
//                                 each due time (0-100; default the mode's: spin 100,
//                                 balanced 5, sleep 0). Past it, it sleeps to the due time
//                                 (and at > 1,000 datagrams/s paces as sleep does): a send is
//                                 then late by the OS's wake-up delay instead of a core
//                                 spinning at high datagram rates (see the README: a trade
//                                 on VMs)
//     workers: auto               channel workers: threads that each run some of the channels
//                                 whole (remux, native UDP inputs, their own pacing thread);
//                                 auto: one per core beyond the first, at least one; 0: every
//                                 channel on the main thread with one pacing thread
//   cluster: { … }                several headends share the channels through etcd
//                                 (config/cluster.ts; off unless given)
//   alert: { … }                  the emergency override: card, zones, token, serial input
//                                 (config/alert.ts; off unless given)
//   watch: false                  reload when channels.yaml changes on disk (default false;
//                                 SIGHUP and `headend reload` always reload)
//   defaults: { … }               any per-channel key except number, name, slug and output:
//                                 the value for every channel that does not set it
// tuners: [ … ]                    broadcast inputs (DVB adapters, SAT>IP, HDHomeRun): see
//                                 config/tuners.ts for their keys
// channels:                       the list of channels, at least one
//   - number: 101                 logical channel number, 1-65535, unique (required)
//     name: News 24               service name in the SDT and playlists (required)
//     slug: news-24               URL-safe id (RTSP path, metrics): lowercase a-z, 0-9 and -;
//                                 unique (default: made from the name)
//     provider: Example Hotel     provider name in the SDT (default: headend name)
//     output: udp://239.255.1.1:5000
//                                 where the channel is sent (required): udp://group:port,
//                                 rtp://group:port (RTP/RFC 2250, RTCP on port+1), or with a
//                                 source-specific sender udp://10.0.0.5@232.1.1.1:5000 (the
//                                 sender is this machine: one of its addresses). The
//                                 group may be a unicast IPv4 address too. (group, port) is
//                                 unique across channels.
//     interface: eth1             egress for this channel (default: headend.interface)
//     ttl: 1 / tos: 0 / dscp: 0   per channel (default: the headend's)
//     source: <source>            the primary input (required)
//     backup: [<source>, …]       backups, tried in order when the current input fails
//                                 (default none; a single source needs no list)
//     service: 1001               program_number to take from an MPTS primary source
//                                 (shorthand for source.service; default: the first program)
//     bitrate: 6M                 CBR: pad with null packets to this mux rate, 250k-100M
//                                 (default: VBR). It must exceed the content's own rate plus
//                                 PSI and PCR (~95k at psi_interval 100ms, ~40k more with an
//                                 8-day guide in the EIT); when it does not,
//                                 the output runs late behind the input (the remuxer counts
//                                 cbrOverflows and cbrMaxLagMs) and the daemon warns
//                                 cbr-rate-too-low with the measured rate (also lastError)
//     packets_per_datagram: 7     TS packets per UDP/RTP datagram, 1-7 (default 7)
//     burst: 1.2                  after a stall (the OS's, the VM's, ours) the backlog leaves at
//                                 most this × the channel's own rate, above 1 to 10 (default 1.2;
//                                 in headend.defaults for every channel): no burst at switch ports
//     psi_interval: 100ms         PAT/PMT/SDT repetition, 10ms-500ms (default 100ms)
//     decode_margin: 100ms        least time every PES leaves before its decoding time
//                                 (DTS − PCR), 0-900ms (default 100ms); the output never holds
//                                 one more than the T-STD's 1 s
//     vbr_smoothing: 100ms        VBR (no bitrate:) only: how far the output may trail its input
//                                 so that its rate follows the input's mean, not its bursts
//                                 (a muxer's frame-sized bursts), 0-500ms (default 100ms; 0 =
//                                 off); the decode delay grows by as much so no PES is late
//     stall_timeout: 2s           no bytes from the input for this long = failure (default 2s)
//     return_after: 30s           a failed primary that is healthy again for this long gets
//                                 the channel back (default 30s; 0 = at once)
//     program_number: 1           output program_number / service_id, 1-65535
//                                 (default: the channel number)
//     transport_stream_id: 1      output transport_stream_id, 0-65535 (default: the number)
//     service_type: hd            tv, hd, uhd, radio or 1-255 (config/network.ts)
//     epg: bbc1.uk                the channel's id in the XMLTV guide (default: its slug)
//                                 or `passthrough`: the broadcast source's own EIT for its service,
//                                 rewritten to the output's service_id (eit-passthrough.ts)
//     group: lobby                the channel's group: emergency alerts for a zone of that
//                                 name (config/alert.ts), and the M3U group-title
//     schedule: [ … ]             a timetable of other sources by time (config/timetable.ts)
//     logo: https://…/news.png   the channel's logo (M3U tvg-logo) (default none)
//     hls: true                   HLS of the channel at /hls/<slug>/index.m3u8 (default off;
//                                 in defaults for every channel), or { segment: 2s (1-10s),
//                                 window: 6 (3-30 segments), ladder: [720p, 360p] (one ffmpeg
//                                 transcode for all rungs, /hls/<slug>/master.m3u8; rungs 1080p,
//                                 720p, 540p, 480p, 360p, 240p, 180p), encrypt: true
//                                 (AES-128 segments, the key at /hls/<slug>/key behind the
//                                 access rules) }
//     hd_lcn: 101                 the number HD-capable TVs give this channel instead of its
//                                 own (EACEM HD simulcast LCN, 0x88), 1-1023: an HD simulcast
//                                 taking the place of its SD twin (default none)
//
// <source> is a URL string, or a mapping with exactly one of url, test and tuner:
//   tuner: astra-1                a tuner of the tuners: list (see config/tuners.ts); with
//                                 service: the program_number to take from its multiplex
//   url: udp://@239.100.0.1:1234  udp:// or rtp:// (multicast, src@group, unicast; read
//                                 natively), http(s):// and HLS, rtsp(s)://, srt://, rtmp(s)://,
//                                 file:///abs/path or a file path (relative to this file)
//   test: { … }                   a generated test signal (ffmpeg lavfi), or just a pattern
//                                 name: `test: smpte`
//     pattern: testsrc2           an ffmpeg lavfi source: smptebars (or smpte), smptehdbars
//                                 (smptehd), pal75bars, pal100bars, testsrc, testsrc2,
//                                 rgbtestsrc, yuvtestsrc, colorspectrum, mandelbrot (heavy),
//                                 life, color (default testsrc2)
//     resolution: 640x360         WIDTHxHEIGHT, even numbers (default 640x360)
//     rate: 25                    frames per second (default 25)
//     bitrate: 1.5M               video bitrate, 50k-50M (default 1.5M)
//     tone: 1000                  sine tone in Hz (default: a silent audio track)
//     text: News 24               text burned into the picture (default: the channel name)
//   service: 1001                 program_number to take from an MPTS (default: the first)
//   loop: true                    start again at the end (default true for files; true on a URL
//                                 marks a recording, e.g. a finished HLS playlist: read at its
//                                 own pace and restarted at its end)
//   transcode:                    re-encode instead of -c copy (default: copy)
//     video: libx264              ffmpeg video encoder
//     audio: aac                  ffmpeg audio encoder
//     video_bitrate: 3M           50k-100M
//     audio_bitrate: 128k         8k-2M
//     size: 1280x720              output picture size
// Channels whose sources have the same url (or test), loop and transcode share one opened
// source, whatever service each of them takes from it.
// ───────────────────────────────────────────────────────────────────────────────────────────

import { z } from 'zod';
import { PACING_MODES } from '../../scheduler/pacing-loop.js';
import { PATTERN_ALIASES, TEST_PATTERNS, type TestPattern } from './types.js';
import {
  addressOffset,
  bitrate,
  boolean,
  codec,
  describe,
  duration,
  integer,
  interfaceName,
  Invalid,
  invalid,
  leaf,
  listenAddress,
  nonEmpty,
  number,
  outputUrl,
  pattern,
  size,
  slug,
  sourceUrl,
  text,
} from './values.js';
import { DEFAULTS, LIMITS } from './defaults.js';
import { TUNER_KEYS } from './tuners.js';
import { countryCode, serviceType, timeZone } from './network.js';
import { tunerId } from './tuning-values.js';
import { SCHEDULE_KEYS, scheduleRuleSchema } from './timetable.js';
import { ALERT_KEYS, SERIAL_KEYS, alertSchema } from './alert.js';
import { ACCESS_KEYS, accessSchema, parseSubnet, type Subnet } from './access.js';

/** The rungs an HLS ladder may have (hls/ladder.ts RUNGS). */
const LADDER_RUNGS = ['1080p', '720p', '540p', '480p', '360p', '240p', '180p'] as const;
import { BlockList } from 'node:net';
import { validDeviceId } from '../tuners/hdhomerun/packet.js';
import { clusterSchema, nodeList } from './cluster.js';

/** `test: smpte` is short for `test: { pattern: smpte }`. */
const TestSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { pattern: v } : v),
  z.strictObject({
    pattern: pattern<TestPattern>(TEST_PATTERNS, PATTERN_ALIASES).optional(),
    resolution: size().optional(),
    rate: number(0, LIMITS.testRateMax, 'frames per second').optional(),
    bitrate: bitrate(
      LIMITS.testBitrateMin,
      LIMITS.testBitrateMax,
      "a test pattern's video bitrate",
    ).optional(),
    tone: number(0, 24_000, 'Hz').optional(),
    text: text().optional(),
  }),
);

const TranscodeSchema = z.strictObject({
  video: codec().optional(),
  audio: codec().optional(),
  video_bitrate: bitrate(
    LIMITS.videoBitrateMin,
    LIMITS.videoBitrateMax,
    'a video encoder bitrate',
  ).optional(),
  audio_bitrate: bitrate(
    LIMITS.audioBitrateMin,
    LIMITS.audioBitrateMax,
    'an audio encoder bitrate',
  ).optional(),
  size: size().optional(),
});

/** A URL string is short for `{ url: … }`. */
export const SourceSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { url: v } : v),
  z.strictObject({
    url: sourceUrl().optional(),
    test: TestSchema.optional(),
    tuner: tunerId().optional(),
    service: integer(1, 65535).optional(),
    loop: boolean().optional(),
    transcode: TranscodeSchema.optional(),
  }),
);

/** Every per-channel key, all optional here: the same shape serves `headend.defaults`. */
const channelShape = {
  number: integer(1, 65535).optional(),
  name: text().optional(),
  slug: slug().optional(),
  provider: text().optional(),
  output: outputUrl().optional(),
  interface: interfaceName().optional(),
  ttl: integer(0, 255).optional(),
  tos: integer(0, 255).optional(),
  dscp: integer(0, 63).optional(),
  source: SourceSchema.optional(),
  /** A single source needs no list. */
  backup: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(SourceSchema)).optional(),
  service: integer(1, 65535).optional(),
  bitrate: bitrate(LIMITS.cbrMin, LIMITS.cbrMax, 'the CBR mux rate of one program').optional(),
  packets_per_datagram: integer(1, 7).optional(),
  burst: number(1, 10, 'times the channel rate').optional(),
  psi_interval: duration(LIMITS.psiIntervalMinMs, LIMITS.psiIntervalMaxMs).optional(),
  decode_margin: duration(0, LIMITS.decodeMarginMaxMs).optional(),
  vbr_smoothing: duration(0, LIMITS.vbrSmoothingMaxMs).optional(),
  stall_timeout: duration(LIMITS.stallMinMs, LIMITS.stallMaxMs).optional(),
  return_after: duration(0, LIMITS.returnAfterMaxMs).optional(),
  program_number: integer(1, 65535).optional(),
  transport_stream_id: integer(0, 65535).optional(),
  service_type: serviceType().optional(),
  epg: text().optional(),
  hd_lcn: integer(1, 1023).optional(),
  group: text().optional(),
  logo: text().optional(),
  hls: offOr(
    z.strictObject({
      segment: duration(1000, 10_000).optional(),
      window: integer(3, 30).optional(),
      ladder: z
        .array(z.enum(LADDER_RUNGS, { error: `expected a rung: ${LADDER_RUNGS.join(', ')}` }))
        .optional(),
      encrypt: boolean().optional(),
    }),
  ).optional(),
  schedule: z.array(scheduleRuleSchema(SourceSchema)).optional(),
  prefer: nodeList().optional(),
  avoid: nodeList().optional(),
};
export const ChannelSchema = z.strictObject(channelShape);

/** Keys that name one channel and so cannot be defaults. */
export const PER_CHANNEL_ONLY = ['number', 'name', 'slug', 'output', 'epg', 'hd_lcn'] as const;

export const HeadendSchema = z.strictObject({
  name: text().optional(),
  network: text().optional(),
  network_id: integer(1, 65535).optional(),
  timezone: timeZone().optional(),
  country: countryCode().optional(),
  epg: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(text())).optional(),
  epg_refresh: duration(60_000, 7 * 86_400_000).optional(),
  interface: interfaceName().optional(),
  ttl: integer(0, 255).optional(),
  tos: integer(0, 255).optional(),
  dscp: integer(0, 63).optional(),
  ffmpeg: nonEmpty('a path').optional(),
  http: offOr(
    z.strictObject({
      listen: listenAddress(DEFAULTS.httpListen.host).optional(),
      max_clients: integer(1, 100_000).optional(),
      max_clients_per_channel: integer(1, 100_000).optional(),
      max_clients_per_address: integer(1, 100_000).optional(),
      client_buffer: integer(65_536, 256 * 1024 * 1024).optional(),
      relay: leaf(relayValue).optional(),
    }),
  ).optional(),
  access: accessSchema.optional(),
  hdhomerun: offOr(
    z.strictObject({
      tuners: integer(1, 64).optional(),
      device_id: hdhrDeviceId().optional(),
      name: text().optional(),
      address: z.ipv4({ error: 'expected an IPv4 address' }).optional(),
    }),
  ).optional(),
  rtsp: offOr(
    z.strictObject({
      listen: listenAddress(DEFAULTS.rtspListen.host).optional(),
      rtp_port: integer(1024, 65534).optional(),
      companion_offset: addressOffset().optional(),
      session_timeout: duration(5_000, 3_600_000).optional(),
      max_sessions: integer(1, 100_000).optional(),
      max_sessions_per_client: integer(1, 100_000).optional(),
    }),
  ).optional(),
  sap: offOr(
    z.strictObject({
      address: sapAddress().optional(),
      ttl: integer(0, 255).optional(),
    }),
  ).optional(),
  pacing: z
    .strictObject({
      mode: z
        .enum(PACING_MODES, { error: `expected one of ${PACING_MODES.join(', ')}` })
        .optional(),
      realtime_priority: integer(0, 99).optional(),
      nice: integer(-20, 19).optional(),
      cpu_dma_latency: integer(0, 2_000_000).optional(),
      spin_budget: integer(0, 100).optional(),
      workers: z
        .union([z.literal('auto'), integer(0, 64)], {
          error: 'expected auto or a number of workers, 0-64',
        })
        .optional(),
    })
    .optional(),
  watch: boolean().optional(),
  alert: alertSchema(SourceSchema).optional(),
  cluster: clusterSchema.optional(),
  defaults: ChannelSchema.optional(),
});

/** http.relay: true (any multicast group), false, or the multicast subnets it may join. */
function relayValue(v: unknown): boolean | Subnet[] | Invalid {
  if (typeof v === 'boolean') return v;
  if (!Array.isArray(v))
    return invalid(
      `expected true, false or a list of multicast subnets such as 239.1.0.0/16, got ${describe(v)}`,
    );
  const out: Subnet[] = [];
  for (const x of v) {
    const s = subnetValue(x);
    if (s instanceof Invalid) return s;
    out.push(s);
  }
  return out;
}

/** A multicast subnet (IPv4) that the HTTP relay may join. */
function subnetValue(v: unknown): Subnet | Invalid {
  if (typeof v !== 'string')
    return invalid(`expected a subnet such as 239.1.0.0/16, got ${describe(v)}`);
  const s = parseSubnet(v);
  if (typeof s === 'string') return invalid(s);
  if (s.family !== 'ipv4' || !MULTICAST.check(s.address, 'ipv4'))
    return invalid(`${v} is not an IPv4 multicast subnet (224.0.0.0/4)`);
  return s;
}
const MULTICAST = new BlockList();
MULTICAST.addSubnet('224.0.0.0', 4, 'ipv4');

/** An HDHomeRun DeviceID: 8 hex digits whose check digit is right (a real device's form). */
function hdhrDeviceId() {
  return leaf((v) => {
    const t = typeof v === 'number' ? String(v) : v;
    if (typeof t !== 'string' || !/^[0-9a-fA-F]{8}$/.test(t))
      return invalid(`expected 8 hex digits such as 1A2B3C4D, got ${describe(v)}`);
    if (!validDeviceId(parseInt(t, 16)))
      return invalid(`${t} is not a valid HDHomeRun DeviceID (its check digit is wrong)`);
    return t.toUpperCase();
  });
}

/** `false` turns a service off, `true` takes its defaults, a mapping sets them. */
function offOr<T extends z.ZodType>(shape: T) {
  return z.unknown().transform((v, ctx): z.output<T> | false => {
    if (v === false) return false;
    const r = shape.safeParse(v === true || v === null ? {} : v, { reportInput: true });
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  });
}

/** RFC 2974 §3: the two SAP groups announcements go to. */
function sapAddress() {
  return z.enum(['239.255.255.255', '224.2.127.254'], {
    error: 'expected 239.255.255.255 (administratively scoped) or 224.2.127.254 (global)',
  });
}

/** The document: `channels` is checked element by element with ChannelSchema. */
export const RootSchema = z.strictObject({
  headend: z.unknown().optional(),
  tuners: z.unknown().optional(),
  channels: z.unknown().optional(),
});

export type RawSource = z.output<typeof SourceSchema>;
export type RawTest = NonNullable<RawSource['test']>;
export type RawChannel = z.output<typeof ChannelSchema>;
export type RawHeadend = z.output<typeof HeadendSchema>;

/** The keys a mapping at `path` may have, for "did you mean" suggestions. */
export function knownKeys(path: readonly (string | number)[]): readonly string[] {
  const named = path.filter((s): s is string => typeof s === 'string');
  const last = named[named.length - 1];
  const tail = path[path.length - 1];
  if (path.length === 0) return Object.keys(RootSchema.shape);
  if (last === 'headend') return Object.keys(HeadendSchema.shape);
  if (last === 'defaults') return Object.keys(channelShape);
  if (last === 'channels' && typeof tail === 'number') return Object.keys(channelShape);
  if (last === 'source' || last === 'backup') return SOURCE_KEYS;
  if (last === 'tuners' && typeof tail === 'number') return TUNER_KEYS;
  if (last === 'lnb') return ['low', 'high', 'switch'];
  if (last === 'unicable') return ['slot', 'frequency'];
  if (last === 'test') return TEST_KEYS;
  if (last === 'alert') return ALERT_KEYS;
  if (last === 'serial') return SERIAL_KEYS;
  if (last === 'schedule' && typeof tail === 'number') return SCHEDULE_KEYS;
  if (last === 'transcode') return Object.keys(TranscodeSchema.shape);
  if (last === 'http') return HTTP_KEYS;
  if (last === 'access') return ACCESS_KEYS;
  if (last === 'hdhomerun') return ['tuners', 'device_id', 'name', 'address'];
  if (last === 'hls') return ['segment', 'window', 'ladder', 'encrypt'];
  if (last === 'cluster') return Object.keys(clusterSchema.shape);
  if (last === 'rtsp') return RTSP_KEYS;
  if (last === 'sap') return ['address', 'ttl'];
  if (last === 'pacing')
    return ['mode', 'realtime_priority', 'nice', 'cpu_dma_latency', 'spin_budget', 'workers'];
  return [];
}

const HTTP_KEYS = [
  'listen',
  'relay',
  'max_clients',
  'max_clients_per_channel',
  'max_clients_per_address',
  'client_buffer',
];
const RTSP_KEYS = [
  'listen',
  'rtp_port',
  'companion_offset',
  'session_timeout',
  'max_sessions',
  'max_sessions_per_client',
];
const SOURCE_KEYS = ['url', 'test', 'tuner', 'service', 'loop', 'transcode'];
const TEST_KEYS = ['pattern', 'resolution', 'rate', 'bitrate', 'tone', 'text'];

/** A channel (or the defaults) as parsed, with the keys whose values were invalid. */
export interface ParsedChannel {
  data: RawChannel;
  /** Keys whose values are invalid ('*': the whole value is not a mapping). */
  broken: Set<string>;
  issues: z.core.$ZodIssue[];
}

/**
 * Parses a channel mapping; when some keys are invalid, keeps every key that is valid on its
 * own, so the rules that span keys and channels can still be checked and reported in the
 * same run.
 */
export function parseChannel(raw: unknown): ParsedChannel {
  const whole = ChannelSchema.safeParse(raw, { reportInput: true });
  if (whole.success) return { data: whole.data, broken: new Set(), issues: [] };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { data: {}, broken: new Set(['*']), issues: whole.error.issues };
  }
  const data: Record<string, unknown> = {};
  const broken = new Set<string>();
  for (const [key, value] of Object.entries(raw)) {
    const schema = (channelShape as Record<string, z.ZodType | undefined>)[key];
    if (schema === undefined) continue;
    const one = schema.safeParse(value);
    if (one.success) data[key] = one.data;
    else broken.add(key);
  }
  return { data: data as RawChannel, broken, issues: whole.error.issues };
}
