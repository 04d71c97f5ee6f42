// The clients of bench/http-clients.ts, in a process of their own (niced by the bench, so that
// they do not preempt the daemon they load): N HTTP MPEG-TS readers of /stream/<slug> and M
// HLS players of /hls/<slug>/index.m3u8 (each reloads the playlist every target duration and
// fetches the segments it has not had, as players do), for `seconds`. Prints one JSON line:
// bytes per client of each kind, and failures.
//
//   node dist/bench/http-load.js <base url> <slug> <ts clients> <hls clients> <seconds>
import { request } from 'node:http';

const [base, slug, nTs, nHls, secs] = process.argv.slice(2);
const until = Date.now() + Number(secs) * 1000;
const failures: string[] = [];

function tsClient(): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    const req = request(`${base}/stream/${slug}`, (res) => {
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('close', () => resolve(bytes));
      setTimeout(() => res.destroy(), until - Date.now());
    });
    req.on('error', (e) => {
      failures.push(`ts: ${e.message}`);
      resolve(bytes);
    });
    req.end();
  });
}

async function get(url: string): Promise<Buffer | null> {
  try {
    const r = await fetch(url);
    if (r.status !== 200) return null;
    return Buffer.from(await r.arrayBuffer());
  } catch (e) {
    const c = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    failures.push(`hls: ${(e as Error).message} (${c?.code ?? c?.message ?? '?'})`);
    return null;
  }
}

async function hlsClient(): Promise<number> {
  let bytes = 0;
  const had = new Set<string>();
  while (Date.now() < until) {
    const list = await get(`${base}/hls/${slug}/index.m3u8`);
    const text = list?.toString() ?? '';
    const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 2);
    const segs = text.split('\n').filter((l) => l.endsWith('.ts'));
    // Start near the live edge (the last 3), as players do.
    for (const s of had.size === 0 ? segs.slice(-3) : segs) {
      if (had.has(s) || Date.now() >= until) continue;
      had.add(s);
      const b = await get(`${base}/hls/${slug}/${s}`);
      bytes += b?.length ?? 0;
    }
    await new Promise((r) => setTimeout(r, target * 1000));
  }
  return bytes;
}

const [ts, hls] = await Promise.all([
  Promise.all(Array.from({ length: Number(nTs) }, tsClient)),
  Promise.all(Array.from({ length: Number(nHls) }, hlsClient)),
]);
process.stdout.write(
  JSON.stringify({ ts, hls, failures: failures.slice(0, 20), failed: failures.length }) + '\n',
);
