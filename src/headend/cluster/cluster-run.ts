// The daemon's side of cluster mode (headend.cluster): starts the coordinator on the daemon's
// hooks, and keeps channels.yaml the same on every node when `config: etcd` (the text in etcd
// is the cluster's; a node writes it to its own file and reloads, and a node's accepted
// reload stores its file there). With `config: file` the operator distributes the file; the
// coordinator compares hashes.

import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import type { ChannelSpec, ClusterSpec } from '../config/index.js';
import type { OutputSi } from '../../mpegts/remux/output-psi.js';
import type { ChannelHandle } from '../channel/handle.js';
import type { Logger } from '../log.js';
import type { ReloadResult } from '../services.js';
import { ClusterCoordinator } from './coordinator.js';

export interface ClusterRunOptions {
  spec: ClusterSpec;
  log: Logger;
  /** The config file and its text as running now. */
  file: string;
  text(): string;
  channels(): readonly ChannelSpec[];
  running(): ReadonlyMap<string, ChannelHandle>;
  run(owned: ReadonlySet<string>, continueFrom: ReadonlyMap<string, OutputSi>): Promise<void>;
  fence(): Promise<void>;
  /** Runs every channel (standalone_fallback). */
  runAll(): Promise<void>;
  reload(trigger: string): Promise<ReloadResult>;
  /** The pacing threads' send licence (PacerOptions.licence). */
  licence: SharedArrayBuffer;
}

export const configHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The cluster's trigger name of a reload that applies the text stored in etcd. */
export const ETCD_CONFIG_TRIGGER = 'cluster-config';

export interface ClusterRun {
  readonly coordinator: ClusterCoordinator;
  /** After an accepted reload: announce the new hash; store the text (config: etcd). */
  reloaded(text: string, trigger: string): void;
  stop(): Promise<void>;
}

export function startCluster(o: ClusterRunOptions): ClusterRun {
  const { spec, log } = o;
  const etcdConfig = spec.config === 'etcd';
  /** Writes the cluster's text to this node's file and reloads it. */
  const adopt = async (text: string): Promise<void> => {
    if (text === o.text()) return;
    const tmp = `${o.file}.cluster-${process.pid}`;
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, o.file);
    log.log('info', 'cluster-config', {
      node: spec.node,
      message: `the cluster's channels.yaml (sha256 ${configHash(text).slice(0, 12)}) written to ${o.file}; reloading`,
    });
    await o.reload(ETCD_CONFIG_TRIGGER);
  };
  const failed = (what: string) => (err: unknown) =>
    log.log('error', 'cluster-error', {
      message: `${what}: ${err instanceof Error ? err.message : String(err)}`,
    });
  const coordinator = new ClusterCoordinator(
    spec,
    log,
    {
      channels: o.channels,
      running: o.running,
      run: o.run,
      fence: o.fence,
      configChanged: etcdConfig
        ? (text) => void adopt(text).catch(failed('the stored config'))
        : undefined,
    },
    configHash(o.text()),
    new Float64Array(o.licence),
  );
  void coordinator.start().then(async (joined) => {
    if (!joined) {
      if (spec.standaloneFallback) {
        new Float64Array(o.licence)[0] = 0; // alone: no limit
        await o.runAll();
      }
      return;
    }
    if (!etcdConfig) return;
    // The first node stores its file; the others take what is stored.
    const stored = await coordinator.member.getConfig();
    if (stored === null) await coordinator.member.putConfig(o.text());
    else await adopt(stored);
  }, failed('joining'));
  return {
    coordinator,
    reloaded(text, trigger) {
      void coordinator.reloaded(configHash(text));
      if (etcdConfig && trigger !== ETCD_CONFIG_TRIGGER)
        void coordinator.member.putConfig(text).catch(failed('storing the config in etcd'));
    },
    stop: () => coordinator.stop(),
  };
}
