// Channel workers (lanes/channel-host.ts) with real threads and real multicast on lo, fed from
// a stand-in for the main thread's SourceHub (samples/sample.ts at its own rate): channels of
// one input share a lane, another goes to the least loaded one; each lane's output reaches a
// receiver; a lane whose thread is lost says so (worker-failed, its channels down, the other
// lane's channel streaming on) and its channels are rebuilt in a new thread (worker-restarted)
// with their RTP stream (SSRC) continued and their datagrams flowing again; a lane lost four
// times within a minute is given up, and new channels go to the lanes that run.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startChannelHost } from '../../../src/headend/lanes/channel-host.js';
import type { LaneChannel } from '../../../src/headend/lanes/lane-channel.js';
import type {
  ChannelConfig,
  SourceProvider,
  SourceSubscriber,
} from '../../../src/headend/channel/types.js';
import { logger, type Line } from '../../helpers/log-lines.js';

const SAMPLE = readFileSync(
  fileURLToPath(new URL('../../../../samples/sample.ts', import.meta.url)),
);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The main thread's hub, played by a loop over the sample at ~780 kbit/s. */
function sampleHub(): SourceProvider & { close(): void } {
  const timers = new Set<NodeJS.Timeout>();
  return {
    subscribe(_spec, sub: SourceSubscriber) {
      let off = 0;
      const chunk = 188 * 52; // 100 ms of the sample
      const timer = setInterval(() => {
        if (off + chunk > SAMPLE.length) off = 0;
        sub.data(SAMPLE.subarray(off, off + chunk));
        off += chunk;
      }, 100);
      timers.add(timer);
      return () => {
        clearInterval(timer);
        timers.delete(timer);
      };
    },
    state: () => undefined,
    close: () => timers.forEach((x) => clearInterval(x)),
  };
}

function channel(n: number, key: string): ChannelConfig {
  return {
    number: n,
    name: `Lane ${n}`,
    provider: 'p',
    slug: `lane-${n}`,
    output: {
      protocol: 'udp',
      group: `239.255.48.${n}`,
      port: 6480 + n,
      ttl: 1,
      tos: 0,
      interface: '127.0.0.1',
      packetsPerDatagram: 7,
    },
    sources: [{ key, url: `file:///${key}.ts` }],
    psiIntervalMs: 100,
    stallMs: 2000,
    returnAfterMs: 30_000,
    programNumber: n,
    transportStreamId: n,
    epg: `lane-${n}`,
  };
}

/** Counts datagrams arriving on a channel's group. */
async function receiver(c: ChannelConfig): Promise<{ count: () => number; close: () => void }> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  let n = 0;
  sock.on('message', () => n++);
  await new Promise<void>((r) => sock.bind(c.output.port, c.output.group, r));
  sock.addMembership(c.output.group, '127.0.0.1');
  return { count: () => n, close: () => sock.close() };
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

t.test('two lanes: placement, output, a lost thread rebuilt', async (t) => {
  const lines: Line[] = [];
  const hub = sampleHub();
  t.teardown(() => hub.close());
  const host = startChannelHost({
    workers: 2,
    pacing: {
      realtimePriority: 0,
      nice: -10,
      cpuDmaLatencyUs: null,
      mode: 'balanced',
      spinBudgetPercent: null,
      workers: 2,
    },
    hub,
    log: logger(lines),
    timezone: 'UTC',
    si: { originalNetworkId: 1, nit: [] },
    onStats: () => undefined,
  });
  const configs = [channel(1, 'a'), channel(2, 'a'), channel(3, 'b')];
  const chs = configs.map(
    (c, i) =>
      host.build(c, { staggerIndex: i, si: { originalNetworkId: 1, nit: [] } }) as LaneChannel,
  );
  t.equal(chs[0].lane, chs[1].lane, 'channels of one input share a lane');
  t.not(chs[2].lane, chs[0].lane, 'another input goes to the other lane');
  const rx = await Promise.all(configs.map((c) => receiver(c)));
  t.teardown(() => rx.forEach((r) => r.close()));
  for (const ch of chs) ch.start();

  // Two threads to start, each loading the daemon's modules and its pacer: slow on a
  // loaded 2-core box (CI runs two test files at once), so the wait is generous.
  t.ok(
    await until(() => rx.every((r) => r.count() > 20), 20_000),
    `every output reaches its receiver (${rx.map((r) => r.count()).join(', ')} datagrams)`,
  );
  t.ok(
    await until(() => chs.every((c) => c.status().state === 'running'), 10_000),
    `the reports say running (${chs.map((c) => c.status().state).join(', ')})`,
  );
  const ssrc = chs[0].rtpState()?.ssrc;
  t.type(ssrc, 'number', 'the report carries the RTP stream');

  // The thread of lane A goes away.
  const laneA = chs[0].lane;
  const lanes = (host as unknown as { lanes: { worker: { terminate(): Promise<number> } }[] })
    .lanes;
  await lanes[laneA].worker.terminate();
  t.ok(
    await until(() => lines.some((l) => l.event === 'worker-failed'), 5000),
    'the loss is logged',
  );
  const failed = lines.find((l) => l.event === 'worker-failed')!;
  t.equal(failed.fields.worker, laneA, '… naming the worker');
  t.same(failed.fields.channels, ['1 Lane 1', '2 Lane 2'], '… and its channels');
  t.equal(chs[0].status().state, 'down', 'its channels are down');
  t.match(chs[0].status().lastError, /exited/, '… saying why');
  const before = rx.map((r) => r.count());

  t.ok(
    await until(() => lines.some((l) => l.event === 'worker-restarted'), 15_000),
    'a new thread takes its channels',
  );
  t.ok(await until(() => rx[0].count() > before[0] + 20, 20_000), 'channel 1 sends again');
  t.ok(await until(() => rx[1].count() > before[1] + 20, 20_000), 'channel 2 sends again');
  t.ok(rx[2].count() > before[2] + 10, 'the other lane streamed on meanwhile');
  t.ok(
    await until(() => chs[0].status().state === 'running', 10_000),
    'the rebuilt channel reports running',
  );
  t.equal(chs[0].rtpState()?.ssrc, ssrc, 'its RTP stream goes on (same SSRC)');
  t.equal(chs[0].lane, laneA, 'in the same lane number');

  // Lost three times more within the minute: the fourth loss is not rebuilt.
  for (let k = 2; k <= 4; k++) {
    const restarts = lines.filter((l) => l.event === 'worker-restarted').length;
    await lanes[laneA].worker.terminate();
    if (k < 4)
      t.ok(
        await until(
          () => lines.filter((l) => l.event === 'worker-restarted').length > restarts,
          15_000,
        ),
        `loss ${k}: rebuilt`,
      );
  }
  t.ok(
    await until(() => lines.some((l) => l.event === 'worker-given-up'), 5000),
    'loss 4: given up, and said so',
  );
  await sleep(1500);
  t.equal(chs[0].status().state, 'down', 'its channels stay down');
  // A new channel of the same input would join that lane; it goes to the one that works.
  const late = host.build(channel(4, 'a'), {
    staggerIndex: 3,
    si: { originalNetworkId: 1, nit: [] },
  }) as LaneChannel;
  t.equal(late.lane, chs[2].lane, 'a channel built after goes to the lane that runs');

  await Promise.all([...chs, late].map((c) => c.stop()));
  await host.close();
  t.same(
    lines.filter(
      (l) => l.level === 'error' && l.event !== 'worker-failed' && l.event !== 'worker-given-up',
    ),
    [],
    'no other error',
  );
});
