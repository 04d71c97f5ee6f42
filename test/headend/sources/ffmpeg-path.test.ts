import t from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deathSignalWrapper,
  ffmpegCaps,
  resolveFfmpeg,
} from '../../../src/headend/sources/ffmpeg-path.js';

function fakeBin(dir: string, name = 'ffmpeg'): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

t.test('resolveFfmpeg: config, then FFMPEG_PATH, then PATH, then a clear error', async (t) => {
  const dir = t.testdir({});
  const cfg = fakeBin(join(dir, 'cfg'));
  const envBin = fakeBin(join(dir, 'env'));
  const pathDir = join(dir, 'path');
  const onPath = fakeBin(pathDir);
  const env = { FFMPEG_PATH: envBin, PATH: `/nonexistent:${pathDir}` };

  t.same(resolveFfmpeg(cfg, env), { path: cfg, from: 'config' });
  t.same(resolveFfmpeg(undefined, env), { path: envBin, from: 'FFMPEG_PATH' });
  t.same(resolveFfmpeg('', env), { path: envBin, from: 'FFMPEG_PATH' }, 'empty config = unset');
  t.same(resolveFfmpeg(undefined, { PATH: env.PATH }), { path: onPath, from: 'PATH' });
  t.same(
    resolveFfmpeg('ffmpeg', { PATH: env.PATH }),
    { path: onPath, from: 'config' },
    'bare name',
  );

  const missing = resolveFfmpeg(join(dir, 'nope'), env);
  t.match(missing, { error: /nope.*from the config.*not an executable/ }, 'bad config is an error');
  t.match(resolveFfmpeg(undefined, { FFMPEG_PATH: '/no/ffmpeg', PATH: pathDir }), {
    error: /FFMPEG_PATH='\/no\/ffmpeg'/,
  });
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'not executable');
  t.match(resolveFfmpeg(plain, env), { error: /not an executable/ }, 'mode 644 is not enough');
  // Nothing anywhere (ffmpeg-static is not installed here): the message says what to do.
  const none = resolveFfmpeg(undefined, { PATH: join(dir, 'empty') });
  t.match(none, { error: /ffmpeg not found.*FFMPEG_PATH.*apt install ffmpeg.*ffmpeg-static/ });
});

t.test('resolveFfmpeg reads process.env by default', async (t) => {
  const dir = t.testdir({});
  const bin = fakeBin(dir);
  const saved = process.env.FFMPEG_PATH;
  t.teardown(() => {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
  });
  process.env.FFMPEG_PATH = bin;
  t.same(resolveFfmpeg(), { path: bin, from: 'FFMPEG_PATH' });
});

t.test('capabilities of the real ffmpeg, and the death-signal wrapper', async (t) => {
  const caps = ffmpegCaps('/usr/bin/ffmpeg');
  t.equal(caps.drawtext, true, 'Debian ffmpeg has drawtext');
  t.match(caps.fontFile ?? '', /DejaVuSans\.ttf$/);
  t.same(ffmpegCaps('/nonexistent/ffmpeg'), { drawtext: false }, 'no binary: no text');
  t.same(deathSignalWrapper(), ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']);
});
