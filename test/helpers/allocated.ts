// Bytes a piece of code allocates on the JS heap, garbage included: V8's sampling heap profiler
// (inspector HeapProfiler, one sample per `intervalBytes` allocated on average), with the
// objects minor and major collections freed kept in the profile. A collection count says
// nothing until the young generation fills, and a test process's young generation grows to
// megabytes: 2 MB of garbage passed as "no collection" (pacing-garbage.test).

import { Session } from 'node:inspector/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = basename(fileURLToPath(import.meta.url));

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

export interface Allocated {
  bytes: number;
  /** The sites that allocated most, as `function file:line` with their bytes. */
  top: { site: string; bytes: number }[];
}

/** Runs `run` (synchronously) under the sampling heap profiler. */
export async function allocatedDuring(run: () => void, intervalBytes = 64): Promise<Allocated> {
  const s = new Session();
  s.connect();
  try {
    await s.post('HeapProfiler.startSampling', {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    run();
    const { profile } = (await s.post('HeapProfiler.stopSampling')) as {
      profile: { head: ProfileNode };
    };
    // Only what `run` allocated: the subtrees below this function's frames (the test runner's
    // own work between the profiler's start and stop is not counted), without the profiler's
    // own calls (the post that stops it).
    const bySite = new Map<string, number>();
    const stack: { n: ProfileNode; inRun: boolean }[] = [{ n: profile.head, inRun: false }];
    while (stack.length > 0) {
      const { n, inRun } = stack.pop()!;
      const f = n.callFrame;
      if (f.url.startsWith('node:inspector')) continue;
      const site = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
      if (inRun && n.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      const below = inRun || (f.functionName === 'allocatedDuring' && f.url.endsWith(HERE));
      for (const c of n.children) stack.push({ n: c, inRun: below });
    }
    let bytes = 0;
    for (const v of bySite.values()) bytes += v;
    const top = [...bySite]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([site, b]) => ({ site, bytes: b }));
    return { bytes, top };
  } finally {
    s.disconnect();
  }
}
