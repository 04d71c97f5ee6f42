// Steady-state allocation of one stage, measured in a process of its own so that no other
// instance, option set or earlier pass shapes the JIT state: `node dist/bench/alloc.js
// <remux-vbr|remux-cbr|analyzer> <chunk> <clip.ts> <cbr bit/s>`. One instance is fed the looped
// clip twice (warm-up, optimization), then a further stretch under V8's sampling heap profiler
// (collected objects included). Prints one JSON line: bytes per packet, and per function.

import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Analyzer } from '../src/mpegts/analyzer/index.js';
import { Remuxer } from '../src/mpegts/remux/remuxer.js';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { feed } from './measure.js';

interface ProfileNode {
  callFrame: { functionName: string };
  selfSize: number;
  children: ProfileNode[];
}

async function main(): Promise<void> {
  const [kind, chunkArg, file, cbrArg] = process.argv.slice(2);
  const chunk = Number(chunkArg);
  const data = new Uint8Array(readFileSync(file));
  const stage: { push(c: Uint8Array): void } =
    kind === 'analyzer'
      ? new Analyzer()
      : new Remuxer(kind === 'remux-cbr' ? { cbrBitrate: Number(cbrArg) } : {}, () => {});
  for (let k = 0; k < 2; k++) feed(data, chunk, (x) => stage.push(x));
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  feed(data, chunk, (x) => stage.push(x));
  const { profile } = (await s.post('HeapProfiler.stopSampling')) as {
    profile: { head: ProfileNode };
  };
  s.disconnect();
  const packets = data.length / TS_PACKET_SIZE;
  const bySite = new Map<string, number>();
  const stack = [profile.head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const name = n.callFrame.functionName || '(anonymous)';
    if (n.selfSize > 0) bySite.set(name, (bySite.get(name) ?? 0) + n.selfSize);
    stack.push(...n.children);
  }
  let total = 0;
  for (const v of bySite.values()) total += v;
  const top = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([site, bytes]) => ({ site, bytesPerPacket: bytes / packets }));
  process.stdout.write(JSON.stringify({ bytesPerPacket: total / packets, top }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
