// The transponders a `headend scan` / `headend probe` of a tuner target opens: target.ts's plan,
// or for hdhomerun://host with no channel, one multiplex per channel of the device's lineup
// (copy-protected channels left out: the device will not stream them). The device is found as
// the HDHomeRun backend finds it (tuners/hdhomerun/discover.ts: a device id through discovery,
// broadcast or the --discover address; a host through its /discover.json), and its lineup read
// with fetchLineup (tuners/hdhomerun/lineup.ts) from the LineupURL or BaseURL it gives: a real
// device serves its HTTP API on port 80, the stream on 5004.

import { findConfigFile, formatConfigError } from '../config/load.js';
import { HeadendError, isHeadendError } from '../errors.js';
import { fetchLineup, type LineupEntry as Lineup } from '../tuners/hdhomerun/lineup.js';
import { defaultDirectory, type DiscoverOptions } from '../tuners/hdhomerun/discover.js';
import {
  hdhrEntry,
  resolveEntry,
  resolveTarget,
  transponderLabel,
  tunerIdFor,
  type ScanPlan,
  type Transponder,
} from './target.js';

export interface PlanOptions {
  /** -c FILE; when absent the default lookup (./channels.yaml, /etc/headend/…) is tried. */
  config?: string;
  transponders: readonly string[];
  /** --discover: where HDHomeRun device-id discovery is sent instead of the broadcast. */
  discover?: string;
  /** More discovery options (the UDP port of a stand-in, in tests). */
  discovery?: DiscoverOptions;
}

/** A lineup entry not scanned, and why. */
export interface SkippedEntry {
  guideNumber: string;
  guideName: string;
  reason: string;
}

export interface Plan extends ScanPlan {
  /** The device's lineup, when the target was hdhomerun://host. */
  lineup?: Lineup[];
  /** Lineup entries not scanned (copy-protected, or a guide number no URL can name). */
  skipped?: SkippedEntry[];
  /** HDHomeRun discovery for the tuning (--discover), for the SourceHub's hdhomerun options. */
  discovery?: DiscoverOptions;
}

/** --discover ADDRESS: that address asked, no broadcast (as a tuner's `discover:`). */
export function discoveryOptions(
  discover: string | undefined,
  more?: DiscoverOptions,
): DiscoverOptions | undefined {
  if (discover === undefined) return more;
  return { ...more, broadcast: false, targets: [discover, ...(more?.targets ?? [])] };
}

/** The config file to read tuner ids from: -c FILE (must be readable), or the default lookup. */
export function configFor(explicit: string | undefined): string | undefined | HeadendError {
  const found = findConfigFile(explicit);
  if (typeof found === 'string') return found;
  return explicit !== undefined ? new HeadendError('E_IO', formatConfigError(found)) : undefined;
}

export async function planScan(target: string, o: PlanOptions): Promise<Plan | HeadendError> {
  const configFile = configFor(o.config);
  if (isHeadendError(configFile)) return configFile;
  const r = resolveTarget(target, {
    configFile,
    transponders: o.transponders,
    ...(o.discover !== undefined ? { discover: o.discover } : {}),
  });
  if (isHeadendError(r)) return r;
  const discovery = discoveryOptions(o.discover, o.discovery);
  if ('transponders' in r) return discovery !== undefined ? { ...r, discovery } : r;
  const device = await defaultDirectory.resolve(r.lineupHost, {
    ...discovery,
    streamPort: r.port ?? 5004,
  });
  if (isHeadendError(device)) return device;
  const lineup = await fetchLineup(device);
  if (isHeadendError(lineup)) return lineup;
  const transponders: Transponder[] = [];
  const skipped: SkippedEntry[] = [];
  for (const l of lineup) {
    const skip = (reason: string): void => {
      skipped.push({ guideNumber: l.guideNumber, guideName: l.guideName, reason });
    };
    if (l.drm) {
      skip('DRM: copy-protected, the HDHomeRun streams it to its own apps only');
      continue;
    }
    const url = `hdhomerun://${r.lineupHost}${r.port !== undefined ? `:${r.port}` : ''}/${l.guideNumber}`;
    const entry = hdhrEntry('hdhr', url, r.lineupHost, r.discover);
    const spec = resolveEntry(entry, url);
    if (isHeadendError(spec)) {
      skip(`guide number cannot be tuned as ${url}: ${spec.message}`);
      continue;
    }
    const id = tunerIdFor(`hdhr-${r.lineupHost}`, spec);
    transponders.push({
      label: `${transponderLabel(spec)} ${l.guideName}`.trim(),
      tuner: { ...spec, id },
      entry: { ...entry, id },
    });
  }
  const plan: Plan = { transponders, lineup };
  if (skipped.length > 0) plan.skipped = skipped;
  if (discovery !== undefined) plan.discovery = discovery;
  return plan;
}

/** The lineup as a table: GUIDE, NAME, HD, DRM. */
export function formatLineup(host: string, lineup: readonly Lineup[]): string {
  const rows = [['CH', 'NAME', 'HD', 'DRM']].concat(
    lineup.map((l) => [l.guideNumber, l.guideName, l.hd ? 'HD' : '', l.drm ? 'DRM' : '']),
  );
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) =>
    row
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd(),
  );
  return `hdhomerun://${host}: ${lineup.length} channel(s)\n${lines.join('\n')}\n`;
}
