// A run that is a UdpReceiver (udp:// or rtp://, unicast, multicast, SSM, RTP unwrapped): no
// ffmpeg in the path. The socket stays open through a stall, so the feed is taken again the
// moment it comes back.

import { UdpReceiver } from '../inputs/udp-receiver.js';
import type { NetworkInput } from '../inputs/url.js';
import type { RunContext, SourceRun } from './run.js';

/**
 * Datagrams are read in batches this far apart (inputs/receive-batching.ts): one wake-up of
 * the main thread per batch instead of one per datagram.
 */
export const UDP_BATCH_MS = 5;

export function startUdp(input: NetworkInput, ctx: RunContext): SourceRun {
  const rx = new UdpReceiver(input, { batchMs: UDP_BATCH_MS });
  let stopping = false;
  // RunContext.data: the view is valid during the call only (no copy of each batch).
  rx.listen((data) => {
    if (!stopping) ctx.data(data);
  }, true);
  const done = (async () => {
    const err = await rx.open();
    if (err !== undefined) {
      if (!stopping) ctx.ended('open', err.message);
      return;
    }
    if (stopping) {
      rx.close();
      return;
    }
    ctx.event(
      'info',
      'open',
      `listening on ${input.url}` +
        (rx.batching ? '' : ' (reading each datagram as it comes: no batching on this Node)'),
    );
    // Datagrams go to the listener; this ends when the socket closes or fails.
    for await (const d of rx) void d;
  })().catch((err: unknown) => {
    if (!stopping) ctx.ended('open', err instanceof Error ? err.message : String(err));
  });
  return {
    pid: undefined,
    persistent: true,
    async stop() {
      stopping = true;
      rx.close();
      // A bind still in progress may never call back once its socket is closed.
      await Promise.race([done, new Promise<void>((r) => setTimeout(r, 500).unref())]);
    },
  };
}
