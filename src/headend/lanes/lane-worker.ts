// A channel worker (a lane): a thread that runs some of the daemon's channels whole, each with
// its remux, its output monitor, its native UDP inputs (lane-sources.ts) and the lane's own
// pacing thread (pacer-setup.ts), so that channels spread over the cores instead of queueing
// behind one event loop. The main thread keeps the config, the ffmpeg children and tuners, the
// services and the metrics (lane.ts): it sends commands (protocol.ts ToLane) and gets each
// channel's report every `reportMs`, its log lines, its tapped datagrams and the pacer's figures.

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Channel, type RunningOutput } from '../channel/channel.js';
import type { GuideView } from '../epg/eit-feed.js';
import type { Programme } from '../epg/xmltv.js';
import { outputKey } from '../channel/output-key.js';
import { handOff, type OutputHandoff } from '../channel/output-handoff.js';
import { monotonicNs } from '../../scheduler/mono-clock.js';
import { LocalTime } from '../../scheduler/timezone.js';
import { watchStalls } from '../stall-watch.js';
import { startPacer } from './pacer-setup.js';
import { LaneSources } from './lane-sources.js';
import type { RtpStreamState } from '../rtsp/types.js';
import type { Unsubscribe } from '../channel/types.js';
import type { ChannelReport, FromLane, LaneInit, ToLane } from './protocol.js';
import { LaneLog } from './lane-log.js';
import { laneThreadName, nameThread } from '../../scheduler/realtime.js';
import { loggedStartWaves } from '../channel/start-waves.js';
import { CommandSlices } from './command-slices.js';

const init = workerData as LaneInit;
const port = parentPort!;
/** Log lines of this turn of the event loop, posted at its end with the reports they call for. */
const laneLog = new LaneLog(() => setImmediate(postReports));
/** Posts to the main thread; anything but a report goes after the log lines before it. */
function post(m: FromLane, transfer?: ArrayBuffer[]): void {
  if (m.t !== 'report' && laneLog.pending) postReports();
  port.postMessage(m, transfer);
}

/** The main thread's guide as far as this lane's channels need it (GuideView). */
class GuideMirror implements GuideView {
  generation = 0;
  on = false;
  private readonly byId = new Map<string, Programme[]>();
  programmes(id: string): readonly Programme[] {
    return this.byId.get(id) ?? [];
  }
  set(generation: number, entries: [string, Programme[]][], on: boolean): void {
    for (const [id, list] of entries) this.byId.set(id, list);
    this.generation = generation;
    this.on = on;
  }
}

const log = laneLog.logger({ worker: init.lane });
// top -H, ps -L, perf: which thread is which lane (cosmetic: a failure is only said).
const named = nameThread(laneThreadName(init.lane));
if (!named.ok) log.log('debug', 'thread-name-failed', { message: named.error });
// This thread's own stalls (remux, inputs): a worker that cannot keep up says so.
const stalls = watchStalls(log, { thread: 'worker' });
const sources = new LaneSources(post, log);
const guide = new GuideMirror();
/** Channels whose inputs begin together are brought up in waves (start-waves.ts). */
const startWaves = loggedStartWaves(log);
let nit = init.nit;
const localTime = init.country === null ? undefined : new LocalTime(init.timezone, init.country);
const pacer = startPacer(
  init.pacing,
  log,
  (stats) => post({ t: 'pacer-stats', stats }),
  (e) => log.log('error', 'pacer-failed', { message: e.message }),
  init.licence,
);

interface Hosted {
  ch: Channel;
  /** The tap that forwards datagrams to the main thread (RTSP over TCP), when on. */
  untap?: () => void;
  /** Which part of the periodic report carries it (postReports). */
  part: number;
}
const channels = new Map<number, Hosted>();
/** Channels added so far: the next one's report part, in turn. */
let added = 0;
/** Outputs of stopped channels kept for the channels that replace them (a reload), by carry. */
const carried = new Map<number, { output: RunningOutput; key: string }>();
let nextCarry = 1;
/** Queues of outputs handed to another lane, sending what they hold: removed when it is due. */
const draining = new Map<string, NodeJS.Timeout>();
/** How long after its last datagram is due a handed-over queue is removed. */
const DRAIN_SLACK_MS = 200;

function add(m: Extract<ToLane, { t: 'add' }>): void {
  const output = m.carry === undefined ? undefined : carried.get(m.carry)?.output;
  if (m.carry !== undefined) carried.delete(m.carry);
  // The same output back while its old queue drains (moved away and back at once): the old
  // queue goes now, so the new one can open.
  const key = outputKey(m.config.output);
  const drain = draining.get(key);
  if (drain) {
    clearTimeout(drain);
    draining.delete(key);
    void pacer.removeChannel(key);
  }
  try {
    const ch = new Channel(m.config, {
      hub: sources,
      pacer,
      log: laneLog.forChannel({ worker: init.lane }, m.id),
      staggerIndex: m.staggerIndex,
      rtp: m.handoff?.rtp ?? m.rtp,
      output,
      handoff: m.handoff,
      continueFrom: m.continueFrom,
      si: {
        originalNetworkId: init.originalNetworkId,
        nit,
        localTimeOffsets: localTime && ((u: number) => localTime.offsets(u)),
        guide,
        guideOn: () => guide.on,
        country: init.country,
      },
      timezone: init.timezone,
      startWaves,
    });
    channels.set(m.id, { ch, part: added++ % REPORT_PARTS });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.log('error', 'channel-error', {
      channel: `${m.config.number} ${m.config.name}`,
      message,
    });
    post({ t: 'failed', id: m.id, message });
    if (output) void pacer.removeChannel(outputKey(m.config.output));
  }
}

async function stop(m: Extract<ToLane, { t: 'stop' }>): Promise<void> {
  const h = channels.get(m.id);
  if (!h) return post({ t: 'reply', req: m.req });
  channels.delete(m.id);
  h.untap?.();
  const kept = await h.ch.stop({ keepOutput: m.keepOutput });
  let carry: number | undefined;
  if (kept) {
    carry = nextCarry++;
    carried.set(carry, { output: kept, key: h.ch.outputKey });
  }
  post({ t: 'reply', req: m.req, carry, rtp: h.ch.rtpState() });
}

/**
 * A kept output goes to another lane (output-handoff.ts): what its remuxer holds is sent, its
 * state goes in the reply, and its queue sends what it holds and is removed once that is due.
 */
async function handOver(m: Extract<ToLane, { t: 'export' }>): Promise<void> {
  const c = carried.get(m.carry);
  carried.delete(m.carry);
  if (!c) return post({ t: 'reply', req: m.req, error: `no kept output ${m.carry}` });
  let handoff: OutputHandoff;
  try {
    handoff = await handOff(c.output, monotonicNs);
  } catch (e) {
    void pacer.removeChannel(c.key);
    return post({ t: 'reply', req: m.req, error: `hand-over: ${(e as Error).message}` });
  }
  const waitMs = Math.max(0, (handoff.lastDueNs - monotonicNs()) / 1e6) + DRAIN_SLACK_MS;
  const timer = setTimeout(() => {
    draining.delete(c.key);
    void pacer.removeChannel(c.key);
  }, waitMs);
  draining.set(c.key, timer);
  post({ t: 'reply', req: m.req, handoff });
}

/** How long a warm-up waits for an input's first bytes (a feed that is down holds no move). */
const WARM_MS = 500;

/**
 * A channel moves here (a load balance, ChannelHost.warm): the inputs this lane receives itself
 * are opened before its old lane cuts it, so their recent bytes hold the cut and the channel
 * reads on from it. Each waits for its first bytes, then is let go with linger (the hub keeps
 * it LINGER_MS, longer than the move takes) for the channel to take it up.
 */
async function warm(m: Extract<ToLane, { t: 'warm' }>): Promise<void> {
  await Promise.all(
    m.sources.map(
      (spec) =>
        new Promise<void>((resolve) => {
          let off: Unsubscribe | undefined;
          const done = (): void => {
            clearTimeout(timer);
            off?.({ linger: true });
            off = undefined;
            resolve();
          };
          const timer = setTimeout(done, WARM_MS);
          const noop = (): void => undefined;
          off = sources.subscribe(spec, {
            data: () => {
              if (off) done();
            },
            restarted: noop,
            failed: noop,
          });
        }),
    ),
  );
  post({ t: 'reply', req: m.req });
}

/** Datagrams a tap gathers before it posts them, however soon. */
const TAP_BATCH = 64;

/**
 * Datagrams of a tapped channel, gathered into one buffer within a turn of the event loop (or
 * TAP_BATCH of them) and posted to the main thread as one message: one allocation per batch.
 */
function tapTo(id: number): (ts: Uint8Array, pcr27: number, dueNs: number) => void {
  const bytes = new Uint8Array(TAP_BATCH * 7 * 188);
  const lens = new Int32Array(TAP_BATCH);
  const pcr = new Float64Array(TAP_BATCH);
  const due = new Float64Array(TAP_BATCH);
  let n = 0;
  let used = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (n === 0) return;
    const m: FromLane = {
      t: 'tap-data',
      id,
      bytes: bytes.slice(0, used),
      lens: lens.slice(0, n),
      pcr27: pcr.slice(0, n),
      dueNs: due.slice(0, n),
    };
    post(m, [m.bytes.buffer as ArrayBuffer]);
    n = 0;
    used = 0;
  };
  return (ts, pcr27, dueNs) => {
    if (n === TAP_BATCH || used + ts.length > bytes.length) flush();
    bytes.set(ts, used);
    used += ts.length;
    lens[n] = ts.length;
    pcr[n] = pcr27;
    due[n] = dueNs;
    n++;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/** A channel's report as it stands. */
function reportOf(ch: Channel): ChannelReport {
  return {
    status: ch.status(),
    sourceUpSinceMs: ch.sourceUpSinceMs,
    lateness: ch.pacingLateness(),
    psi: ch.monitor.psiIntervals(),
    si: ch.monitor.siIntervals(),
    pcr: ch.monitor.pcrInterval(),
    rtp: ch.rtpState(),
  };
}

/**
 * Every channel's report goes every reportMs, in REPORT_PARTS parts (channels in the order
 * added, in turn), one every reportMs / REPORT_PARTS: all at once, 250 channels' took 6-9 ms of
 * one turn.
 */
const REPORT_PARTS = 5;
let reportPart = 0;

/**
 * Posts the pending log lines with the reports they call for (lane-log.ts), and those of the
 * channels in periodic part `part` (−1: none).
 */
function postReports(part = -1): void {
  const { lines, ids } = laneLog.take();
  const out: [number, ChannelReport][] = [];
  for (const [id, h] of channels) {
    if (ids === null || ids.has(id) || h.part === part) out.push([id, reportOf(h.ch)]);
  }
  if (out.length > 0 || lines.length > 0) post({ t: 'report', channels: out, logs: lines });
}
const reports = setInterval(() => {
  reportPart = (reportPart + 1) % REPORT_PARTS;
  postReports(reportPart);
}, init.reportMs / REPORT_PARTS);

async function reply(
  req: number,
  work: () => Promise<unknown>,
  after?: () => RtpStreamState | undefined,
): Promise<void> {
  try {
    await work();
    post({ t: 'reply', req, rtp: after?.() });
  } catch (err) {
    post({ t: 'reply', req, error: err instanceof Error ? err.message : String(err) });
  }
}

async function close(req: number): Promise<void> {
  clearInterval(reports);
  stalls.stop();
  await Promise.allSettled([...channels.values()].map((h) => h.ch.stop()));
  channels.clear();
  await sources.close();
  carried.clear();
  for (const timer of draining.values()) clearTimeout(timer);
  draining.clear();
  await pacer.close();
  post({ t: 'reply', req });
  port.close();
}

/** Commands in slices of the loop's turns (a start of 250 channels is 500 of them). */
const commands = new CommandSlices<ToLane>({
  handle,
  nowMs: () => performance.now(),
  later: (f) => setImmediate(f),
});
port.on('message', (m: ToLane) => commands.take(m));

function handle(m: ToLane): void {
  const h = 'id' in m ? channels.get(m.id) : undefined;
  switch (m.t) {
    case 'add':
      return add(m);
    case 'start':
      return void h?.ch.start();
    case 'stop':
      return void stop(m);
    case 'export':
      return void handOver(m);
    case 'warm':
      return void warm(m);
    case 'psi':
      return post({ t: 'reply', req: m.req, psi: h?.ch.psiState() });
    // An update answered with the channel's fresh report first: what /api/channels and
    // `headend status` say right after a reload is the updated channel (its next switch), not
    // the report of up to reportMs before it (the timetable e2e test read the old next switch,
    // in CI). Its own report only: 250 updates each with every channel's took 1.5 s.
    case 'identity':
      h?.ch.updateIdentity(m.config);
      return updated(m.id, m.req);
    case 'mux':
      h?.ch.updateMux(m.config);
      return updated(m.id, m.req);
    case 'schedule':
      h?.ch.updateSchedule(m.config);
      return updated(m.id, m.req);
    case 'alert':
      return h?.ch.programme.setAlert(m.alert);
    case 'nit':
      nit = m.sections;
      for (const x of channels.values()) x.ch.setNit(nit);
      return;
    case 'guide':
      return guide.set(m.generation, m.entries, m.on);
    case 'tap':
      if (!h) return;
      h.untap?.();
      h.untap = m.on ? h.ch.tap(tapTo(m.id)) : undefined;
      return;
    case 'dest-add':
      return void reply(
        m.req,
        () => h?.ch.addRtpDestination(m.dest) ?? noChannel(m.id),
        () => h?.ch.rtpState(),
      );
    case 'dest-remove':
      return void reply(m.req, () => h?.ch.removeRtpDestination(m.destId) ?? noChannel(m.id));
    case 'src-data':
      return sources.data(m.sub, m.chunk);
    case 'src-restarted':
      return sources.restarted(m.sub);
    case 'src-failed':
      return sources.failed(m.sub, m.reason, m.message);
    case 'src-state':
      return sources.setRemoteStates(m.states);
    case 'close':
      return void close(m.req);
  }
}

/** Replies to an update of channel `id` after its fresh report. */
function updated(id: number, req: number): void {
  laneLog.mark(id);
  post({ t: 'reply', req });
}

function noChannel(id: number): Promise<void> {
  return Promise.reject(new Error(`no channel ${id} in worker ${init.lane}`));
}
