// HLS on the real daemon (issue 13), as phones and browsers play it: hls.js (npm) in Debian's
// headless Chromium, driven by playwright-core with the system browser (no browser download),
// plays a channel's /hls/<slug>/index.m3u8 for 30 s without a stall while the channel's source
// is killed and it fails over to its backup (the page reports currentTime advancing and no
// fatal error); ffprobe reads the playlist (video and audio); VLC plays it (when VLC can run
// here); the playlist is a live RFC 8216 one (target duration, media sequence moving, 6
// segments of about 2 s); the playlist format=hls lists it. A second channel has a ladder (240p
// and 180p rungs, one ffmpeg transcode) and AES-128: its master playlist names both rungs (not the channel itself), its
// playlists carry EXT-X-KEY, its key is 16 bytes, the rungs are aligned (the same media
// sequence numbers, and segment n of each starts with a keyframe of the same timestamp, as
// ffprobe reads the decrypted segments), ffprobe and hls.js play the master playlist. Without
// Chromium the browser part is skipped, saying so (.ci/run installs Debian's chromium).
import '../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { vlcPlays, vlcSkipReason } from '../helpers/vlc.js';
import { childPid, marker, probeKinds, sleep, startDaemon, stopAndCheck } from './helpers.js';

const HTTP = 18781;
const TEXTS = ['hlsA', 'hlsB', 'hlsC'].map((m) => marker(m));
const CHROMIUM = '/usr/bin/chromium';
const HLS_JS = fileURLToPath(
  new URL('../../../node_modules/hls.js/dist/hls.min.js', import.meta.url),
);

const CONFIG =
  `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  rtsp: false\n  http: { listen: 127.0.0.1:${HTTP} }\n` +
  `channels:\n  - number: 5\n    name: Phones\n    output: udp://239.255.81.1:6811\n` +
  `    hls: { segment: 2s }\n    stall_timeout: 1s\n` +
  `    source:\n      test: { pattern: smpte, resolution: 320x180, rate: 25, bitrate: 300k, text: ${TEXTS[0]} }\n` +
  `    backup:\n      - test: { pattern: testsrc, resolution: 320x180, rate: 25, bitrate: 300k, text: ${TEXTS[1]} }\n` +
  `  - number: 6\n    name: Ladder\n    output: udp://239.255.81.2:6812\n` +
  `    hls: { segment: 2s, ladder: [240p, 180p], encrypt: true }\n` +
  `    source:\n      test: { pattern: smpte, resolution: 480x270, rate: 25, bitrate: 500k, text: ${TEXTS[2]} }\n`;

const PAGE = `<!doctype html><html><body><video id="v" muted autoplay playsinline></video>
<script src="/hls.js"></script><script>
window.state = { fatal: [], times: [], errors: [] };
const v = document.getElementById('v');
const hls = new Hls({ liveSyncDurationCount: 2 });
hls.on(Hls.Events.ERROR, (e, d) => { window.state.errors.push(d.details); if (d.fatal) window.state.fatal.push(d.details); });
hls.loadSource(new URLSearchParams(location.search).get('src'));
hls.attachMedia(v);
setInterval(() => window.state.times.push([Date.now(), v.currentTime]), 250);
</script></body></html>`;

function chromiumSkip(): string | false {
  if (spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore' }).status !== 0)
    return `${CHROMIUM} is not installed (apt-get install chromium)`;
  return false;
}

t.test(
  'HLS: hls.js in Chromium plays 30 s across a failover; ffprobe and VLC read it',
  async (t) => {
    const d = startDaemon(t, { text: CONFIG });
    await d.waitFor((e) => e.event === 'hls-start', 20_000);
    await d.waitFor((e) => e.event === 'source-up', 20_000);
    const url = `http://127.0.0.1:${HTTP}/hls/phones/index.m3u8`;
    // The first segments (about 2 s each).
    let text = '';
    for (let i = 0; i < 40; i++) {
      const r = await fetch(url);
      text = await r.text();
      if (r.status === 200 && (text.match(/#EXTINF/g) ?? []).length >= 3) break;
      await sleep(500);
    }
    t.match(
      text,
      /^#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:\d+\n#EXT-X-MEDIA-SEQUENCE:\d+\n/,
    );
    const durations = [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    t.ok(
      durations.length >= 3 && durations.every((x) => x > 0.9 && x < 4.5),
      `segments of ${durations.join(', ')} s`,
    );
    const seg = /\n(\d+\.ts)\n/.exec(text)![1]!;
    const segRes = await fetch(url.replace('index.m3u8', seg));
    t.equal(segRes.headers.get('content-type'), 'video/mp2t');
    t.equal(segRes.headers.get('access-control-allow-origin'), '*', 'CORS for web players');
    const bytes = Buffer.from(await segRes.arrayBuffer());
    t.ok(
      bytes[0] === 0x47 && (bytes[1]! & 0x1f) === 0 && bytes[2] === 0,
      'a segment starts with the PAT',
    );
    const list = await (await fetch(`http://127.0.0.1:${HTTP}/playlist.m3u?format=hls`)).text();
    t.match(
      list,
      new RegExp(`\\n${url.replace(/[.?]/g, '\\$&')}\\n`),
      'the playlist (format=hls) lists it',
    );

    const kinds = await probeKinds(url);
    t.match(kinds, /video/, 'ffprobe reads the HLS: video');
    t.match(kinds, /audio/, 'and audio');

    // The ladder and AES-128.
    const lbase = `http://127.0.0.1:${HTTP}/hls/ladder`;
    let rungText = '';
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${lbase}/180p/index.m3u8`);
      rungText = await r.text();
      if (r.status === 200 && (rungText.match(/#EXTINF/g) ?? []).length >= 2) break;
      await sleep(500);
    }
    t.match(rungText, /#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/key"/, 'the rung: encrypted, AES-128');
    const masterText = await (await fetch(`${lbase}/master.m3u8`)).text();
    t.notMatch(masterText, /^index\.m3u8/m, 'master: not the channel itself (not aligned)');
    t.match(
      masterText,
      /#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=320x180\n180p\/index\.m3u8\n/,
      'and the 180p rung',
    );
    t.match(
      masterText,
      /#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=426x240\n240p\/index\.m3u8\n/,
      'and the 240p rung',
    );
    const key = Buffer.from(await (await fetch(`${lbase}/key`)).arrayBuffer());
    t.equal(key.length, 16, 'the key: 16 bytes');
    await rungsAligned(t, lbase, ['240p', '180p'], key);
    const lkinds = await probeKinds(`${lbase}/master.m3u8`, 40_000);
    t.match(lkinds, /video/, 'ffprobe reads the encrypted ladder: video');
    t.match(lkinds, /audio/, 'and audio');

    const vskip = vlcSkipReason();
    if (vskip) t.comment(`VLC: skipped: ${vskip}`);
    else {
      const err = await vlcPlays(t, url);
      t.match(err, /using demux module "ts"/, 'VLC: the segments through its TS demux');
      t.match(err, /using video decoder module/, 'VLC: a video decoder');
    }

    const skip = chromiumSkip();
    if (skip) {
      t.comment(`hls.js in Chromium: skipped: ${skip}`);
    } else {
      const page = createServer((req, res) => {
        if (req.url === '/hls.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' });
          res.end(readFileSync(HLS_JS));
        } else {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(PAGE);
        }
      });
      await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
      t.teardown(() => page.close());
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
      });
      t.teardown(() => browser.close());
      const tab = await browser.newPage();
      const port = (page.address() as AddressInfo).port;
      await tab.goto(`http://127.0.0.1:${port}/?src=${encodeURIComponent(url)}`);
      type State = { fatal: string[]; times: [number, number][]; errors: string[] };
      const state = (): Promise<State> => tab.evaluate('window.state') as Promise<State>;
      // Playing, then 30 s during which the primary source is killed (failover to the backup).
      for (let i = 0; i < 60 && !(await state()).times.some(([, c]) => c > 0.5); i++)
        await sleep(500);
      const from = Date.now();
      await sleep(8000);
      process.kill(await childPid(TEXTS[0]!), 'SIGKILL');
      await d.waitFor((e) => e.event === 'failover', 15_000);
      await sleep(Math.max(0, 30_000 - (Date.now() - from)));
      const s = await state();
      const during = s.times.filter(([at]) => at >= from);
      let longest = 0;
      let still = 0;
      for (let i = 1; i < during.length; i++) {
        if (during[i]![1] <= during[i - 1]![1]) still += during[i]![0] - during[i - 1]![0];
        else still = 0;
        longest = Math.max(longest, still);
      }
      const advanced = during[during.length - 1]![1] - during[0]![1];
      t.same(
        s.fatal,
        [],
        `hls.js: no fatal error (non-fatal: ${[...new Set(s.errors)].join(', ') || 'none'})`,
      );
      t.ok(advanced > 25, `currentTime advanced ${advanced.toFixed(1)} s in 30 s`);
      t.ok(longest < 1500, `no stall: the longest still stretch ${longest} ms`);

      // The encrypted ladder in the browser.
      const tab2 = await browser.newPage();
      await tab2.goto(
        `http://127.0.0.1:${port}/?src=${encodeURIComponent(`${lbase}/master.m3u8`)}`,
      );
      await sleep(10_000);
      const s2 = (await tab2.evaluate('window.state')) as State;
      t.same(s2.fatal, [], 'hls.js: the encrypted ladder, no fatal error');
      const t2 = s2.times.map(([, c]) => c);
      t.ok(t2[t2.length - 1]! > 3, `and it plays (currentTime ${t2[t2.length - 1]!.toFixed(1)} s)`);
    }
    await stopAndCheck(t, d, TEXTS);
  },
);

/**
 * The ladder's rungs are cut alike: their playlists hold the same media sequence numbers, and
 * in two segments of each (decrypted: AES-128-CBC, the IV the sequence number) the first video
 * packet is a keyframe with the same timestamp in every rung (ffprobe), and every rung's segment
 * holds as many pictures.
 */
async function rungsAligned(t: Test, base: string, rungs: string[], key: Buffer): Promise<void> {
  const lists = await Promise.all(
    rungs.map(async (r) => (await (await fetch(`${base}/${r}/index.m3u8`)).text()).split('\n')),
  );
  const seqs = lists.map((l) => {
    const first = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(l.join('\n'))?.[1]);
    const n = l.filter((x) => x.startsWith('#EXTINF')).length;
    return Array.from({ length: n }, (_, i) => first + i);
  });
  const common = seqs[0]!.filter((q) => seqs.every((s) => s.includes(q)));
  t.ok(common.length >= 2, `the rungs list the same segments (${common.join(', ')})`);
  const dir = t.testdir();
  for (const seq of common.slice(-2)) {
    const firsts: string[] = [];
    const pictures: number[] = [];
    for (const r of rungs) {
      const enc = Buffer.from(await (await fetch(`${base}/${r}/${seq}.ts`)).arrayBuffer());
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64BE(BigInt(seq), 8);
      const d = createDecipheriv('aes-128-cbc', key, iv);
      const file = join(dir, `${r}-${seq}.ts`);
      writeFileSync(file, Buffer.concat([d.update(enc), d.final()]));
      const p = spawnSync('ffprobe', [
        ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts,flags'],
        ...['-of', 'csv=p=0', file],
      ]);
      const packets = p.stdout
        .toString()
        .split('\n')
        .filter((l) => l !== '');
      firsts.push(packets[0] ?? '');
      pictures.push(packets.length);
    }
    t.match(firsts[0], /^\d+,K/, `segment ${seq} of ${rungs[0]} starts with a keyframe`);
    t.same(
      new Set(firsts).size,
      1,
      `segment ${seq}: the same first picture in every rung (${firsts.join(' | ')})`,
    );
    t.same(
      new Set(pictures).size,
      1,
      `segment ${seq}: as many pictures in every rung (${pictures.join(', ')})`,
    );
  }
}
