// The daemon: `headend run`. Loads channels.yaml (every error at file:line:column, and it does
// not start on an invalid file), opens one SourceHub (sources shared by key), builds a channel
// per entry where headend.pacing.workers puts it (lanes/channel-host.ts: channel workers, each
// with its own pacing thread, or the main thread with one), starts the services (HTTP, RTSP,
// SAP, …: DaemonOptions.startServices), and runs until SIGTERM/SIGINT.
//
// Hot reload (SIGHUP, reload() from POST /api/reload, or the file watch when `watch: true`):
// the new file is validated first; if invalid, each error is logged (`config-error`,
// file:line:column) and `reload-rejected`, and the running configuration is untouched. If
// valid, only what changed is touched (reload/config-diff.ts): unchanged channels keep
// streaming, identity and mux changes (bitrate, psi_interval, packets_per_datagram) are applied
// in place (`channel-updated`: new SI, the next slots at the new rate, no break in the stream),
// other changes stop the old channel and start a new one (`channel-restarted`). Headend
// settings the services read at start (http, rtsp, sap, name, ffmpeg) are reported in
// ReloadResult.restartRequired rather than applied.
//
// Stop (SIGTERM/SIGINT): services first, RTSP → SAP → HTTP → any others (newest first), so no
// client is accepted while channels go away and SAP sends its deletions; then channels,
// sources (ffmpeg children: killed, and started with a parent-death signal so they die with a
// SIGKILLed daemon too), the channel workers and pacers. run-daemon.ts gives the stop 5 s.
//
// Cluster mode (headend.cluster, cluster/): only the channels this node owns run. The
// coordinator's decisions come in turn with reloads (the same diff starts and stops them);
// a fence stops every channel at once, outside that turn; the pacing threads hold a send
// licence that the etcd lease moves on.

import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { findConfigFile, loadConfigFile, formatConfigError } from './config/index.js';
import type { ChannelSpec, HeadendSpec } from './config/index.js';
import { SourceHub, deathSignalWrapper, ffmpegCaps, resolveFfmpeg } from './sources/index.js';
import { sourceKey } from './config/resolve.js';
import { tunerReports, type TunerReport } from './tuners/report.js';
import { nativeUdp, nativeUdpUnavailable } from './net/native-udp.js';
import type { ChannelSi } from './channel/channel.js';
import type { CarriedOutput, ChannelHandle } from './channel/handle.js';
import { startChannelHost, type PacingThreadStats } from './lanes/channel-host.js';
import { keepsOutput } from './channel/output-key.js';
import { Lineup, MAX_LCN } from './si/lineup.js';
import { LocalTime } from '../scheduler/timezone.js';
import { Guide } from './epg/guide.js';
import { EPG_PASSTHROUGH } from './config/network.js';
import { diffChannels, restartRequired, updateKinds } from './reload/config-diff.js';
import { watchConfigFile } from './reload/watch.js';
import type { DaemonService, ReloadResult } from './services.js';
import type { Logger } from './log.js';
import type { Notifier } from './notify.js';
import { holdPacingLatency } from './cpu-latency.js';
import { watchStalls } from './stall-watch.js';
import { sendLicence } from '../scheduler/pacer.js';
import { AlertService } from './alert/alert-service.js';
import type { SerialBinding } from './alert/serial-alarm.js';
import type { OutputSi } from '../mpegts/remux/output-psi.js';
import { ETCD_CONFIG_TRIGGER, startCluster, type ClusterRun } from './cluster/cluster-run.js';
import type { ClusterCoordinator } from './cluster/coordinator.js';

export interface DaemonOptions {
  configFile?: string;
  log: Logger;
  /** Resolves when the daemon should stop (default: SIGTERM or SIGINT). */
  stopSignal?: Promise<void>;
  /**
   * Starts the daemon's services once the channels run (HTTP surface, RTSP, SAP, metrics).
   * They are stopped before the channels, RTSP → SAP → HTTP → others in reverse start order.
   */
  startServices?: (d: RunningDaemon) => Promise<DaemonService[]> | DaemonService[];
  /** Reload on SIGHUP (runDaemon only; default true). */
  reloadOnSighup?: boolean;
  /** systemd notifications (runDaemon; default: from NOTIFY_SOCKET, a no-op without it). */
  notify?: Notifier;
  /** runDaemon: how long the stop may take from the signal (default STOP_DEADLINE_MS). */
  stopDeadlineMs?: number;
  /** The serial port binding of the alarm input (tests: MockBinding; default bindings-cpp). */
  serialBinding?: () => Promise<SerialBinding>;
}

export interface RunningDaemon {
  /** The configuration now running (replaced by each accepted reload). */
  readonly config: HeadendSpec;
  /** The running channels, in the order of the current file. */
  readonly channels: readonly ChannelHandle[];
  /** The started services (stopped first on shutdown). */
  readonly services: readonly DaemonService[];
  /** The programme guide (empty without headend.epg). */
  readonly guide: Guide;
  /** The emergency override: triggers, state. */
  readonly alerts: AlertService;
  /**
   * Re-reads the config file and applies what changed; never throws. Reloads run one at a
   * time. `trigger` names the caller in the log ('api' by default, 'SIGHUP', 'watch').
   */
  reload(trigger?: string): Promise<ReloadResult>;
  stop(): Promise<void>;
  /** What a stop under way has not finished yet (services, channels, sources, pacer). */
  stopPending(): string[];
  /** Each pacing thread's latest report (about once a second). */
  pacing(): PacingThreadStats[];
  /** Process ids of the running ffmpeg children. */
  ffmpegPids(): number[];
  /** Every configured tuner: state, channels on it, the front end's last reading. */
  tuners(): TunerReport[];
  /** Cluster mode (headend.cluster): membership, owners, load; null for a single headend. */
  readonly cluster: ClusterCoordinator | null;
}

/** Services that must stop first, in this order; the rest stop newest first. */
const STOP_FIRST = ['rtsp', 'sap', 'http'];

const channelLabel = (s: { number: number; name: string }): string => `${s.number} ${s.name}`;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Loads the configuration and starts every channel; returns null (errors logged) on a bad file. */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon | null> {
  const { log } = opts;
  const file = findConfigFile(opts.configFile);
  if (typeof file !== 'string') {
    log.log('error', 'config-error', { message: formatConfigError(file) });
    return null;
  }
  const loaded = await loadConfigFile(file);
  if ('errors' in loaded) {
    for (const e of loaded.errors)
      log.log('error', 'config-error', { message: formatConfigError(e) });
    return null;
  }
  let config = loaded.config;
  let configText = await readFile(file, 'utf8').catch(() => '');
  const ffmpeg = resolveFfmpeg(config.ffmpeg);
  if ('error' in ffmpeg) {
    log.log('warn', 'ffmpeg-missing', { message: ffmpeg.error });
  } else {
    log.log('info', 'ffmpeg', { path: ffmpeg.path, from: ffmpeg.from });
    // Both ask a program once (spawnSync) and cache the answer: asked now, before any channel
    // paces, not at the first test-pattern failover, where the wait (a second on a loaded box)
    // would stall every channel's output.
    ffmpegCaps(ffmpeg.path);
    deathSignalWrapper();
  }
  if (nativeUdp() !== undefined)
    log.log('info', 'native-udp', { message: 'sending and receiving with sendmmsg/recvmmsg' });
  else
    log.log('warn', 'native-udp', {
      message: `using node:dgram (more CPU per datagram): ${nativeUdpUnavailable()}`,
    });
  const hub = new SourceHub({
    ffmpegPath: 'error' in ffmpeg ? undefined : ffmpeg.path,
    log: (e) => {
      const { level, event, ...rest } = e;
      log.log(level, `source-${event}`, rest);
    },
  });
  const stalls = watchStalls(log);
  const cpuLatency = holdPacingLatency(config.pacing.cpuDmaLatencyUs, log);
  // The network SI of every output: the line-up's NIT, the clock's local time (si/lineup.ts).
  const lineup = new Lineup(config.network, config.channels);
  let network = config.network;
  const localTime =
    network.country === null ? undefined : new LocalTime(network.timezone, network.country);
  // The programme guide (headend.epg): read in the background, again every epg_refresh and on
  // reload; channels take their EIT p/f from it once it is in.
  const guide = new Guide({
    sources: config.epg,
    dir: dirname(file),
    log,
    // Channels that pass their source's EIT through have no guide entry to miss.
    channels: () =>
      config.channels
        .filter((c) => c.epg !== EPG_PASSTHROUGH)
        .map((c) => ({ epg: c.epg, name: c.name })),
  });
  const guideFailed = (err: unknown): void =>
    log.log('error', 'epg-error', { message: `reading the guides: ${message(err)}` });
  const loadGuide = (): void => {
    guide.load().catch(guideFailed);
  };
  if (config.epg.length > 0) loadGuide();
  let guideTimer = setInterval(loadGuide, config.epgRefreshMs);
  guideTimer.unref();
  const si = (): ChannelSi => ({
    originalNetworkId: network.networkId,
    nit: lineup.sections,
    localTimeOffsets: localTime && ((u: number) => localTime.offsets(u)),
    guide,
    guideOn: () => config.epg.length > 0,
    country: network.country,
  });
  const noteLineup = (channelSpecs: readonly ChannelSpec[]): void => {
    const without = Lineup.withoutLcn(channelSpecs);
    log.log('info', 'network-si', {
      network: network.name,
      networkId: network.networkId,
      nitVersion: lineup.version,
      timezone: network.timezone,
      country: network.country ?? 'none (TDT only, no local time offset)',
    });
    if (without.length > 0)
      log.log('warn', 'lcn-out-of-range', {
        message: `channels ${without.join(', ')} are above ${MAX_LCN}: listed in the NIT without a logical channel number`,
      });
  };
  noteLineup(config.channels);
  // Where the channels run: the main thread or channel workers (headend.pacing.workers).
  // Cluster mode: the pacing threads send only while this node's etcd lease is sure to hold
  // (cluster/member.ts moves the licence on); none until it joins.
  const licence = config.cluster ? sendLicence() : undefined;
  if (licence) new Float64Array(licence)[0] = 1;
  const host = startChannelHost({
    licence,
    workers: config.pacing.workers,
    pacing: config.pacing,
    hub,
    log,
    timezone: network.timezone,
    si: si(),
    onStats: (t) => stalls.pacer(t.stats, t),
  });
  /** Running channels by slug of the current config. */
  let channels = new Map<string, ChannelHandle>();
  // Cluster mode: only the channels this node owns run (cluster/coordinator.ts decides);
  // null: a single headend runs every channel.
  let owned: ReadonlySet<string> | null = config.cluster ? new Set() : null;
  /** The stored SI of channels being taken over from another node, for their build. */
  let takeover: ReadonlyMap<string, OutputSi> = new Map();
  const runs = (c: ChannelSpec): boolean => owned === null || owned.has(c.slug);
  // The emergency override (headend.alert): its source kept warm, its serial input open.
  const alerts = new AlertService({
    spec: config.alert,
    hub,
    log,
    channels: () => [...channels.values()],
    serialBinding: opts.serialBinding,
  });
  const services: DaemonService[] = [];

  const build = (
    spec: ChannelSpec,
    index: number,
    rtp?: { ssrc: number; seq: number },
    output?: CarriedOutput,
    lane?: number,
  ): ChannelHandle | null => {
    // Fenced (or given up) since the reload began: it stays off.
    if (!runs(spec)) return null;
    try {
      const ch = host.build(spec, {
        staggerIndex: index,
        rtp,
        carry: output,
        si: si(),
        continueFrom: takeover.get(spec.slug),
        lane,
      });
      // Under an alert from its first byte (before its source opens).
      alerts.applyTo(ch);
      ch.start();
      return ch;
    } catch (err) {
      log.log('error', 'channel-error', { channel: channelLabel(spec), message: message(err) });
      return null;
    }
  };
  const stopChannel = async (
    ch: ChannelHandle,
    keepOutput = false,
  ): Promise<CarriedOutput | null> => {
    try {
      return await ch.stop({ keepOutput });
    } catch (err) {
      log.log('error', 'channel-error', {
        channel: channelLabel(ch.config),
        message: `stop: ${message(err)}`,
      });
      return null;
    }
  };

  config.channels.forEach((spec, i) => {
    if (!runs(spec)) return;
    const ch = build(spec, i);
    if (ch) channels.set(spec.slug, ch);
  });

  let stopping: Promise<void> | null = null;
  let watcher: { close(): void } | null = null;

  /**
   * Channel workers left uneven by a reload (channels removed from one): the channels the host
   * names move with their outputs (lanes/balance.ts; `channel-moved`, reason load balance).
   */
  const balance = async (cfg: HeadendSpec): Promise<void> => {
    // All at once: each stop waits for its input's cut (Channel.stop, up to 200 ms).
    const moves = host.movesForBalance().map(async (m) => {
      const ch = channels.get(m.slug);
      const index = cfg.channels.findIndex((c) => c.slug === m.slug);
      if (!ch || index < 0) return;
      // Its inputs open in the lane it goes to before it stops here: read on from the cut.
      await host.warm(cfg.channels[index]!, m.lane);
      const output = await stopChannel(ch, true);
      const rtp = ch.rtpState();
      const carriedRtp = output || !rtp ? undefined : { ssrc: rtp.ssrc, seq: rtp.nextSeq };
      const moved = build(cfg.channels[index]!, index, carriedRtp, output ?? undefined, m.lane);
      if (!moved && output) await host.drop(cfg.channels[index]!);
      if (moved) channels.set(m.slug, moved);
      else channels.delete(m.slug);
    });
    await Promise.all(moves);
  };

  let cluster: ClusterRun | null = null;
  const apply = async (
    next: HeadendSpec,
    text: string,
    trigger: string,
    placement?: {
      owned: ReadonlySet<string> | null;
      continueFrom: ReadonlyMap<string, OutputSi>;
    },
  ): Promise<ReloadResult> => {
    const before = config.channels.filter(runs);
    if (placement) [owned, takeover] = [placement.owned, placement.continueFrom];
    const d = diffChannels(before, next.channels.filter(runs));
    const result: ReloadResult = {
      ok: true,
      errors: [],
      added: d.added.map((c) => c.slug),
      removed: d.removed.map((c) => c.slug),
      restarted: d.restarted.map(([, n]) => n.slug),
      updated: d.updated.map(([, n]) => n.slug),
      unchanged: d.unchanged.map(([, n]) => n.slug),
      restartRequired: restartRequired(config, next),
    };
    // A rebuilt channel whose output is made and sent as before takes the running output over
    // (output-key.ts keepsOutput: remuxer, socket, RTP stream, RTSP destinations; spliced to
    // its new source); one whose output changed continues its RTP stream (SSRC, sequence)
    // where the old one stops.
    const rtpCarry = new Map<string, { ssrc: number; seq: number }>();
    const outputCarry = new Map<string, CarriedOutput>();
    // Stop what goes away first: a restarted channel may reuse its output group and port.
    const going = [...d.removed, ...d.restarted.map(([o]) => o)];
    await Promise.all(
      going.map(async (o) => {
        const ch = channels.get(o.slug);
        if (!ch) return;
        const next = d.restarted.find(([old]) => old === o)?.[1];
        const keep = next !== undefined && keepsOutput(o, next);
        const output = await stopChannel(ch, keep);
        if (output && next) outputCarry.set(next.slug, output);
        const rtp = ch.rtpState();
        if (rtp && next && !output) rtpCarry.set(next.slug, { ssrc: rtp.ssrc, seq: rtp.nextSeq });
        if (d.removed.includes(o)) log.log('info', 'channel-removed', { channel: channelLabel(o) });
      }),
    );
    const index = new Map(next.channels.map((c, i) => [c.slug, i]));
    const nextChannels = new Map<string, ChannelHandle>();
    const applied: (void | Promise<void>)[] = [];
    for (const [o, n] of [...d.unchanged, ...d.updated]) {
      const ch = channels.get(o.slug);
      if (!ch) continue; // it failed to build before; it is in neither list
      if (d.updated.some(([u]) => u === o)) {
        const kinds = updateKinds(o, n);
        if (kinds.identity) applied.push(ch.updateIdentity(n));
        if (kinds.mux) applied.push(ch.updateMux(n));
        if (kinds.programme) applied.push(ch.updateSchedule(n));
      }
      nextChannels.set(n.slug, ch);
    }
    // Channel workers apply them in their own time: the reload is over once they have.
    await Promise.all(applied);
    for (const [o, n] of d.restarted) {
      const ch = build(n, index.get(n.slug) ?? 0, rtpCarry.get(n.slug), outputCarry.get(n.slug));
      // A kept output whose new channel could not be built goes off the air like a removed one.
      if (!ch && outputCarry.has(n.slug)) await host.drop(n);
      if (ch) nextChannels.set(n.slug, ch);
      log.log('info', 'channel-restarted', {
        channel: channelLabel(n),
        ...(o.slug !== n.slug ? { from: channelLabel(o) } : {}),
      });
    }
    for (const n of d.added) {
      const ch = build(n, index.get(n.slug) ?? 0);
      if (ch) nextChannels.set(n.slug, ch);
      log.log('info', 'channel-added', { channel: channelLabel(n) });
    }
    takeover = new Map();
    // A fence during the reload: what it built meanwhile goes too.
    for (const c of next.channels)
      if (!runs(c) && nextChannels.has(c.slug)) {
        await stopChannel(nextChannels.get(c.slug)!);
        nextChannels.delete(c.slug);
      }
    // Keep the file's order.
    channels = new Map(
      next.channels
        .filter((c) => nextChannels.has(c.slug))
        .map((c) => [c.slug, nextChannels.get(c.slug)!]),
    );
    await balance(next);
    // The line-up's NIT follows the channels and the network's name at once (its id, zone and
    // country wait for a restart: restartRequired).
    network = { ...network, name: next.network.name };
    if (lineup.update(network, next.channels)) {
      for (const ch of channels.values()) ch.setNit(lineup.sections);
      noteLineup(next.channels);
    }
    if (next.watch !== config.watch) setWatch(next.watch);
    // Zones, card, token and serial input as the new file says; alerts on stay on.
    alerts.reconfigure(next.alert);
    if (next.epgRefreshMs !== config.epgRefreshMs) {
      clearInterval(guideTimer);
      guideTimer = setInterval(loadGuide, next.epgRefreshMs);
      guideTimer.unref();
    }
    const changed = text !== configText;
    config = next;
    configText = text;
    if (placement) {
      log.log('info', 'cluster-run', {
        added: result.added,
        removed: result.removed,
        channels: channels.size,
      });
      for (const s of services) s.reloaded?.();
      return result;
    }
    if (changed || trigger !== ETCD_CONFIG_TRIGGER) cluster?.reloaded(text, trigger);
    // Every reload reads the guides again (new sources, or a fresher file).
    guide.setSources(next.epg, dirname(file)).catch(guideFailed);
    if (result.restartRequired!.length > 0)
      log.log('warn', 'restart-required', {
        message: `changed settings take effect after a restart: ${result.restartRequired!.join(', ')}`,
      });
    log.log('info', 'reload', { trigger, ...result });
    for (const s of services) s.reloaded?.();
    return result;
  };

  const reloadOnce = async (trigger: string): Promise<ReloadResult> => {
    const rejected = (errors: string[]): ReloadResult => {
      for (const message of errors) log.log('error', 'config-error', { message });
      log.log('error', 'reload-rejected', { trigger, errors: errors.length, config: file });
      return {
        ok: false,
        errors,
        added: [],
        removed: [],
        restarted: [],
        updated: [],
        unchanged: [],
      };
    };
    if (stopping) return rejected(['the daemon is stopping']);
    const text = await readFile(file, 'utf8').catch(() => null);
    const loaded = await loadConfigFile(file);
    if ('errors' in loaded) return rejected(loaded.errors.map(formatConfigError));
    log.log('info', 'reload-start', { trigger, config: file });
    try {
      return await apply(loaded.config, text ?? '', trigger);
    } catch (err) {
      log.log('error', 'reload-failed', { trigger, message: message(err) });
      return { ...rejected([`reload failed: ${message(err)}`]) };
    }
  };

  let queue: Promise<unknown> = Promise.resolve();
  const reload = (trigger = 'api'): Promise<ReloadResult> => {
    const p = queue.then(() => reloadOnce(trigger));
    queue = p.catch(() => undefined);
    return p;
  };

  function setWatch(on: boolean): void {
    watcher?.close();
    watcher = null;
    if (!on) return;
    watcher = watchConfigFile(file as string, {
      log,
      onChange: async () => {
        // Editors touch files without changing them: reload only on new content.
        const text = await readFile(file as string, 'utf8').catch(() => null);
        if (text === null || text === configText) return;
        await reload('watch');
      },
    });
  }
  setWatch(config.watch);

  /** Runs what the cluster gives this node, in turn with reloads. */
  const runOwned = (
    o: ReadonlySet<string> | null,
    continueFrom: ReadonlyMap<string, OutputSi>,
  ): Promise<void> => {
    // Decided before a fence that came while it waited its turn: nothing runs while fenced.
    const fenced = (): boolean => o !== null && cluster?.coordinator.active === false;
    const p = queue.then(() =>
      stopping
        ? undefined
        : apply(config, configText, 'cluster', {
            owned: fenced() ? new Set() : o,
            continueFrom,
          }),
    );
    queue = p.catch(() => undefined);
    return p.then(() => undefined);
  };
  /** Fenced: every channel off now, not in turn (a reload under way builds nothing more). */
  const fence = async (): Promise<void> => {
    owned = new Set();
    const all = [...channels.values()];
    channels = new Map();
    await Promise.all(all.map((c) => stopChannel(c)));
    log.log('warn', 'cluster-fence-stopped', { channels: all.length });
    for (const s of services) s.reloaded?.();
  };
  if (config.cluster)
    cluster = startCluster({
      spec: config.cluster,
      log,
      file,
      text: () => configText,
      channels: () => config.channels,
      running: () => channels,
      run: runOwned,
      fence,
      runAll: () => runOwned(null, new Map()),
      reload,
      licence: licence!,
    });

  /** What the stop under way has not finished, in the order it stops them. */
  const stopPending = new Set<string>();
  const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } finally {
      stopPending.delete(what);
    }
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.log('info', 'stopping');
      clearInterval(guideTimer);
      watcher?.close();
      watcher = null;
      const rank = (s: DaemonService): number => {
        const i = STOP_FIRST.indexOf(s.name);
        return i < 0 ? STOP_FIRST.length : i;
      };
      const order = services
        .map((s, i) => ({ s, i }))
        .sort((a, b) => rank(a.s) - rank(b.s) || b.i - a.i)
        .map(({ s }) => s);
      const pids = daemon.ffmpegPids();
      const sources = `sources${pids.length > 0 ? ` (ffmpeg pid ${pids.join(', ')})` : ''}`;
      for (const what of [
        'a reload under way',
        ...order.map((s) => `service ${s.name}`),
        ...[...channels.values()].map((c) => `channel ${channelLabel(c.config)}`),
        sources,
        'pacer',
      ])
        stopPending.add(what);
      await step('a reload under way', () => queue);
      for (const s of order) {
        try {
          await step(`service ${s.name}`, () => s.stop());
          log.log('info', 'service-stopped', { service: s.name });
        } catch (err) {
          log.log('error', 'service-error', { service: s.name, message: `stop: ${message(err)}` });
        }
      }
      await Promise.allSettled(
        [...channels.values()].map((c) =>
          step(`channel ${channelLabel(c.config)}`, () => stopChannel(c)),
        ),
      );
      // Its lease revoked once its channels are off: the other nodes take them over now.
      await cluster?.stop();
      await alerts.stop();
      await step(sources, () => hub.close());
      await step('pacer', () => host.close());
      stalls.stop();
      cpuLatency?.release();
      log.log('info', 'stopped');
    })();
    return stopping;
  };

  const daemon: RunningDaemon = {
    get config() {
      return config;
    },
    get channels() {
      return [...channels.values()];
    },
    services,
    guide,
    alerts,
    pacing: () => host.pacing(),
    ffmpegPids: () =>
      hub.keys().flatMap((k) => {
        const pid = hub.pidOf(k);
        return pid === undefined ? [] : [pid];
      }),
    tuners: () =>
      tunerReports(config.tuners, config.channels, (id) => {
        const t = config.tuners.find((x) => x.id === id);
        return t === undefined ? undefined : hub.state(sourceKey({ tuner: t }));
      }),
    reload: (trigger) => reload(trigger),
    cluster: cluster?.coordinator ?? null,
    stop,
    stopPending: () => [...stopPending],
  };

  if (opts.startServices) {
    try {
      services.push(...(await opts.startServices(daemon)));
    } catch (err) {
      log.log('error', 'service-error', { message: `start: ${message(err)}` });
      await stop();
      return null;
    }
  }
  log.log('info', 'ready', { config: file, channels: channels.size, name: config.name });
  return daemon;
}
