// The services `headend run` starts once the channels run (DaemonOptions.startServices): the
// RTSP server, the SAP announcer, Prometheus metrics and the HTTP surface that serves them,
// wired to the running daemon. Each starts on its own: one that cannot (a port in use, an
// unknown interface) is logged as `service-error` and the channels keep streaming without it.

import { createMetrics } from './metrics/index.js';
import { startHttpServer } from './http.js';
import { startSapAnnouncer } from './sap.js';
import { startRtspServer, type RtspServer } from './rtsp/server.js';
import { rtspChannelSource } from './rtsp/channel-source.js';
import type { RunningDaemon } from './daemon.js';
import type { DaemonService } from './services.js';
import type { ChannelSpec, HeadendSpec } from './config/types.js';
import { AccessPolicy } from './access/policy.js';
import { AccessGuard } from './access/guard.js';
import { TsStreams } from './http/ts-stream.js';
import type { Logger } from './log.js';

export const VERSION = '0.1.0';

export async function startServices(d: RunningDaemon, log: Logger): Promise<DaemonService[]> {
  const config = d.config;
  const started: DaemonService[] = [];
  const attempt = async <T extends DaemonService>(
    name: string,
    start: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      const s = await start();
      started.push(s);
      return s;
    } catch (err) {
      log.log('error', 'service-error', {
        service: name,
        message: `${name} not started: ${err instanceof Error ? err.message : String(err)}`,
      });
      return undefined;
    }
  };

  // The access rules of the unicast surfaces, as the current config (a reload's) has them.
  let policyOf: HeadendSpec | undefined;
  let policy = new AccessPolicy(null);
  const guard = new AccessGuard(() => {
    if (policyOf !== d.config) {
      policyOf = d.config;
      policy = new AccessPolicy(d.config.access);
    }
    return policy;
  }, log);
  const streams = config.http
    ? new TsStreams(
        () => d.config.http ?? config.http!,
        () => d.channels,
        log,
      )
    : undefined;

  let rtsp: RtspServer | undefined;
  const rtspSpec = config.rtsp;
  if (rtspSpec) {
    const source = rtspChannelSource(d, rtspSpec, log);
    rtsp = await attempt('rtsp', async () => {
      const server = await startRtspServer({
        spec: rtspSpec,
        source,
        log,
        authorize: (client, channel) => guard.check(client, { channel }, 'rtsp'),
      });
      // Sessions of a channel that a reload rebuilt move to the new channel.
      return Object.assign(server, { reloaded: () => source.reattach() });
    });
  }

  const sapSpec = config.sap;
  if (sapSpec) {
    await attempt('sap', async () => {
      const sap = await startSapAnnouncer({
        spec: sapSpec,
        interface: config.interface,
        log,
        channels: () => d.config.channels,
      });
      // Announce the new line-up after a reload (deletions for what changed or went away).
      return { name: sap.name, stop: () => sap.stop(), reloaded: () => sap.update() };
    });
  }

  const metrics = createMetrics({
    log,
    channels: () =>
      d.channels.map((ch) => ({
        status: ch.status(),
        sourceUpSinceMs: ch.sourceUpSinceMs,
        pacingLateness: ch.pacingLateness(),
        psiIntervals: ch.monitor.psiIntervals(),
        siIntervals: ch.monitor.siIntervals(),
        pcrInterval: ch.monitor.pcrInterval(),
        rtspSessions: rtsp?.sessions(ch.config.slug),
      })),
    pacing: () => d.pacing(),
    ffmpegChildren: () => d.ffmpegPids(),
    tuners: () => d.tuners(),
    http: () => ({
      denied: guard.denied,
      streams: streams?.stats,
    }),
    alerts: () => {
      if (!d.alerts.alerts.configured) return undefined;
      const st = d.alerts.state();
      return {
        zones: st.alerts.map((a) => a.zone),
        channels: st.channels.length,
        changes: d.alerts.alerts.changes,
      };
    },
  });

  const httpSpec = config.http;
  if (httpSpec) {
    const startedAtMs = Date.now();
    await attempt('http', () =>
      startHttpServer({
        listen: httpSpec,
        log,
        headend: () => ({ name: d.config.name, startedAtMs, version: VERSION }),
        channels: () => {
          const specs = new Map(d.config.channels.map((c) => [c.slug, c]));
          return d.channels.flatMap((ch) => {
            const spec: ChannelSpec | undefined = specs.get(ch.config.slug);
            return spec ? [{ spec, status: ch.status() }] : [];
          });
        },
        rtsp: () => (rtsp ? { host: rtsp.address.host, port: rtsp.address.port } : null),
        tuners: () => d.tuners(),
        programmes: (id) => d.guide.programmes(id),
        metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
        reload: () => d.reload('api'),
        stream: streams && { handles: () => d.channels, streams, guard },
        guard,
        accessConfigured: () => d.config.access !== null,
        alert: {
          state: () => d.alerts.state(),
          token: () => d.alerts.token,
          on: (zone, message, trigger) => d.alerts.on(zone, message, trigger),
          off: (zone, trigger) => d.alerts.off(zone, trigger),
        },
      }),
    );
  }
  return started;
}
