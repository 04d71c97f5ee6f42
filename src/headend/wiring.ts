// The services `headend run` starts once the channels run (DaemonOptions.startServices): the
// RTSP server, the SAP announcer, Prometheus metrics and the HTTP surface that serves them,
// wired to the running daemon. Each starts on its own: one that cannot (a port in use, an
// unknown interface) is logged as `service-error` and the channels keep streaming without it.

import { createMetrics } from './metrics/index.js';
import { startHttpServer, type HttpServer } from './http.js';
import { deriveDeviceId } from './hdhr/device.js';
import { startDiscovery } from './hdhr/discovery.js';
import { localIPv4, machineInterfaces } from './config/interfaces.js';
import { startSapAnnouncer } from './sap.js';
import { startRtspServer, type RtspServer } from './rtsp/server.js';
import { rtspChannelSource } from './rtsp/channel-source.js';
import type { RunningDaemon } from './daemon.js';
import type { DaemonService } from './services.js';
import type { ChannelSpec, HeadendSpec } from './config/types.js';
import { AccessPolicy } from './access/policy.js';
import { AccessGuard } from './access/guard.js';
import { TsStreams } from './http/ts-stream.js';
import { Relay } from './http/relay.js';
import { HlsService } from './hls/hls-service.js';
import { deathSignalWrapper, resolveFfmpeg } from './sources/index.js';
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
  const hls = config.http
    ? new HlsService(
        () => d.config.channels,
        () => d.channels,
        log,
        () => {
          const f = resolveFfmpeg(d.config.ffmpeg);
          return 'error' in f ? null : [...deathSignalWrapper(), f.path];
        },
      )
    : undefined;
  hls?.sync();
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
    cluster: () => d.cluster?.status(),
    http: () => ({
      denied: guard.denied,
      streams: streams?.stats,
      channels: d.channels.map((ch) => ch.config.slug),
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

  const hdhrSpec = config.hdhomerun;
  const hdhrId = hdhrSpec?.deviceId ?? deriveDeviceId(`${config.name}/${config.network.networkId}`);
  const httpSpec = config.http;
  let http: HttpServer | undefined;
  if (httpSpec) {
    const startedAtMs = Date.now();
    http = await attempt('http', () =>
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
        cluster: () => d.cluster?.status() ?? null,
        programmes: (id) => d.guide.programmes(id),
        metrics: async (names) => {
          const unknown = names?.find((n) => !metrics.has(n));
          if (unknown !== undefined) return { unknown };
          return { contentType: metrics.contentType, body: await metrics.render(names) };
        },
        reload: () => d.reload('api'),
        stream: streams && {
          handles: () => d.channels,
          streams,
          guard,
          relay:
            httpSpec.relay.length > 0
              ? new Relay({
                  allow: httpSpec.relay,
                  interfaceAddress: () => ifaceAddress(d.config.interface),
                  log,
                })
              : undefined,
        },
        hls: hls && { hls, guard },
        guard,
        accessConfigured: () => d.config.access !== null,
        hdhomerun: hdhrSpec ? { spec: () => d.config.hdhomerun, deviceId: hdhrId } : undefined,
        alert: {
          state: () => d.alerts.state(),
          token: () => d.alerts.token,
          on: (zone, message, trigger) => d.alerts.on(zone, message, trigger),
          off: (zone, trigger) => d.alerts.off(zone, trigger),
        },
      }),
    );
  }
  if (hdhrSpec && http) {
    const address = hdhrAddress(hdhrSpec.address, http.address.host, config.interface);
    const port = http.address.port;
    await attempt('hdhomerun', async () => {
      const discovery = await startDiscovery({
        deviceId: hdhrId,
        tuners: hdhrSpec.tuners,
        base: `http://${address}:${port}`,
        interfaceAddress: ifaceAddress(config.interface),
        ttl: config.ttl,
        log,
        version: VERSION,
        ...testPorts(),
      });
      return { name: 'hdhomerun', stop: () => discovery.stop() };
    });
  }
  return started;
}

/**
 * HEADEND_HDHOMERUN_PORTS="<discovery>,<ssdp>": other ports than 65001 and 1900, for tests
 * that run beside a stand-in HDHomeRun (clients only ever use the standard ones).
 */
function testPorts(): { discoverPort?: number; ssdpPort?: number } {
  const [a, b] = (process.env.HEADEND_HDHOMERUN_PORTS ?? '').split(',').map(Number);
  return a && b ? { discoverPort: a, ssdpPort: b } : {};
}

/** The address discovery answers name: configured, else http's (not a wildcard), else the interface's. */
function hdhrAddress(configured: string | undefined, listen: string, iface: string): string {
  if (configured !== undefined) return configured;
  if (listen !== '0.0.0.0' && listen !== '::' && !listen.includes(':')) return listen;
  return ifaceAddress(iface);
}

function ifaceAddress(iface: string): string {
  const a = localIPv4(iface, machineInterfaces());
  return typeof a === 'string' ? a : '127.0.0.1';
}
