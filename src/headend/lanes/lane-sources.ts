// The sources of a lane's channels (lane-worker.ts): native UDP/RTP inputs are opened in the
// lane itself (its own SourceHub: recvmmsg on the thread that remuxes them, one socket per input
// shared by the lane's channels that read it); everything else (ffmpeg children, tuners) stays
// with the main thread's SourceHub, which the lane subscribes to by message (protocol.ts
// src-sub) and whose bytes and events come back as src-data, src-restarted, src-failed.

import { sourceKind } from '../sources/ffmpeg-args.js';
import { SourceHub } from '../sources/hub.js';
import type { SourceSpec, SourceStatus } from '../sources/types.js';
import type { Logger } from '../log.js';
import type {
  ChannelSourceSpec,
  SourceProvider,
  SourceSubscriber,
  Unsubscribe,
} from '../channel/types.js';
import type { FromLane } from './protocol.js';

/** Whether the lane opens this source itself (a network input without a tuner). */
export function laneOpens(spec: ChannelSourceSpec): boolean {
  return spec.tuner === undefined && sourceKind(spec as SourceSpec) === 'native';
}

export class LaneSources implements SourceProvider {
  private readonly local: SourceHub;
  private readonly subs = new Map<number, SourceSubscriber>();
  private nextSub = 1;
  /** The main thread's last word on the sources it serves, by key. */
  private remoteStates = new Map<string, SourceStatus>();

  constructor(
    private readonly post: (m: FromLane) => void,
    log: Logger,
  ) {
    this.local = new SourceHub({
      log: (e) => {
        const { level, event, ...rest } = e;
        log.log(level, `source-${event}`, rest);
      },
    });
  }

  subscribe(
    spec: ChannelSourceSpec,
    sub: SourceSubscriber,
    opts?: { stallMs?: number; from?: Uint8Array },
  ): Unsubscribe {
    if (laneOpens(spec)) return this.local.subscribe(spec as SourceSpec, sub, opts);
    const id = this.nextSub++;
    this.subs.set(id, sub);
    this.post({ t: 'src-sub', sub: id, spec, stallMs: opts?.stallMs, from: opts?.from });
    return (o) => {
      if (!this.subs.delete(id)) return;
      this.post({ t: 'src-unsub', sub: id, linger: o?.linger === true });
    };
  }

  state(key: string): SourceStatus | undefined {
    return this.local.state(key) ?? this.remoteStates.get(key);
  }

  /** src-data, src-restarted, src-failed: to the subscriber (gone already: dropped). */
  data(sub: number, chunk: Uint8Array): void {
    this.subs.get(sub)?.data(chunk);
  }

  restarted(sub: number): void {
    this.subs.get(sub)?.restarted();
  }

  failed(sub: number, reason: string, message?: string): void {
    this.subs.get(sub)?.failed(reason, message);
  }

  setRemoteStates(states: [string, SourceStatus][]): void {
    this.remoteStates = new Map(states);
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
