// The set-up the broadcast-input tests share (dvb, satip, hdhomerun): channels.yaml with one
// tuner entry and two or more channels taking services of its multiplex, each with a light
// test-pattern backup that they fail over to when the tuner goes, and the waits for each
// channel's source to come up.

import type { Daemon, LogEvent } from './helpers.js';

export interface TunerChannel {
  number: number;
  /** program_number taken from the multiplex. */
  service: number;
  group: string;
  port: number;
}

/**
 * channels.yaml: `tuner` is the tuner's entry under `tuners:` (YAML, starting `  - id: <id>`);
 * channel n is named `<label> <n>`, returns to its primary 1 s after it is healthy again.
 */
export function tunerConfig(
  tuner: string,
  id: string,
  label: string,
  channels: readonly TunerChannel[],
): string {
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\ntuners:\n${tuner}channels:\n` +
    channels
      .map(
        (c) =>
          `  - number: ${c.number}\n    name: ${label} ${c.number}\n    output: udp://${c.group}:${c.port}\n` +
          `    source: { tuner: ${id}, service: ${c.service} }\n` +
          `    backup: { test: { pattern: testsrc2, resolution: 192x108, rate: 25, bitrate: 100k } }\n` +
          `    return_after: 1s\n`,
      )
      .join('')
  );
}

/** Log lines of channel `c` (named as tunerConfig names it). */
export const ofChannel =
  (label: string, c: { number: number }) =>
  (e: LogEvent): boolean =>
    e.channel === `${c.number} ${label} ${c.number}`;

/** Waits until every channel's source `index` (0 primary, 1 backup) is up, from event `from`. */
export async function waitAllUp(
  d: Daemon,
  label: string,
  channels: readonly TunerChannel[],
  index: number,
  timeoutMs: number,
  from = 0,
): Promise<void> {
  for (const c of channels) {
    const is = ofChannel(label, c);
    await d.waitFor((e) => is(e) && e.event === 'source-up' && e.index === index, timeoutMs, from);
  }
}
