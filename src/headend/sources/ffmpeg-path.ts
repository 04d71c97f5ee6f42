// Finding ffmpeg and what it can do, once per binary.
//
//   resolveFfmpeg(config)   config → FFMPEG_PATH → `ffmpeg` on PATH → the optional ffmpeg-static
//                           package → an error that says all of that
//   ffmpegCaps(path)        drawtext available? which font file to give it?
//   deathSignalWrapper()    ['setpriv', '--pdeathsig', 'KILL', '--'] when that works here, so a
//                           child dies with us even when we are SIGKILLed (Linux prctl
//                           PR_SET_PDEATHSIG, kept across exec)

import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join } from 'node:path';

export type FfmpegResolution =
  { path: string; from: 'config' | 'FFMPEG_PATH' | 'PATH' | 'ffmpeg-static' } | { error: string };

/**
 * Finds the ffmpeg binary: the configured path, then $FFMPEG_PATH, then `ffmpeg` on $PATH,
 * then the optional `ffmpeg-static` package. An explicit setting (config or FFMPEG_PATH) that
 * does not point at an executable is an error, not a reason to look elsewhere.
 */
export function resolveFfmpeg(
  configPath?: string,
  env: NodeJS.ProcessEnv = process.env,
): FfmpegResolution {
  if (configPath !== undefined && configPath !== '') {
    const p = findExecutable(configPath, env);
    return p !== undefined
      ? { path: p, from: 'config' }
      : { error: `ffmpeg '${configPath}' (from the config) is not an executable file` };
  }
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    const p = findExecutable(fromEnv, env);
    return p !== undefined
      ? { path: p, from: 'FFMPEG_PATH' }
      : { error: `FFMPEG_PATH='${fromEnv}' is not an executable file` };
  }
  const onPath = searchPath('ffmpeg', env);
  if (onPath !== undefined) return { path: onPath, from: 'PATH' };
  const fromPackage = ffmpegStatic();
  if (fromPackage !== undefined) return { path: fromPackage, from: 'ffmpeg-static' };
  return {
    error:
      'ffmpeg not found: set ffmpeg in channels.yaml or FFMPEG_PATH, install it ' +
      '(apt install ffmpeg), or npm install ffmpeg-static',
  };
}

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A path with a slash is taken as is; a bare name is looked up on PATH. */
function findExecutable(p: string, env: NodeJS.ProcessEnv): string | undefined {
  if (p.includes('/') || isAbsolute(p)) return isExecutableFile(p) ? p : undefined;
  return searchPath(p, env);
}

function searchPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/** ffmpeg-static exports the binary's path (or null on unsupported platforms); absent is fine. */
function ffmpegStatic(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const p: unknown = req('ffmpeg-static');
    return typeof p === 'string' && isExecutableFile(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

export interface FfmpegCaps {
  /** The drawtext filter exists in this build. */
  drawtext: boolean;
  /** A TrueType font to give drawtext; undefined: no text overlay. */
  fontFile?: string;
}

export const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/freefont/FreeSans.ttf',
];

const capsCache = new Map<string, FfmpegCaps>();

/** Asks the binary for its filter list (once per path; about 50 ms). */
export function ffmpegCaps(ffmpegPath: string): FfmpegCaps {
  const cached = capsCache.get(ffmpegPath);
  if (cached !== undefined) return cached;
  const r = spawnSync(ffmpegPath, ['-hide_banner', '-filters'], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const drawtext = r.status === 0 && /^\s*\S+\s+drawtext\s/m.test(r.stdout ?? '');
  const caps: FfmpegCaps = { drawtext };
  const font = FONT_CANDIDATES.find((f) => existsSync(f));
  if (drawtext && font !== undefined) caps.fontFile = font;
  capsCache.set(ffmpegPath, caps);
  return caps;
}

let wrapper: string[] | null | undefined;

/**
 * The command prefix that makes the kernel SIGKILL our children when we die (even by
 * SIGKILL): `setpriv --pdeathsig KILL --` from util-linux, if it exists and works here.
 * Empty on other systems: children are then killed on stop/close only (and ffmpeg also dies
 * of SIGPIPE at its next write once we are gone).
 */
export function deathSignalWrapper(env: NodeJS.ProcessEnv = process.env): string[] {
  if (wrapper !== undefined) return wrapper ?? [];
  wrapper = null;
  if (process.platform === 'linux') {
    const setpriv = searchPath('setpriv', env) ?? searchPath('setpriv', { PATH: '/usr/bin:/bin' });
    if (setpriv !== undefined) {
      const r = spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], {
        stdio: 'ignore',
        timeout: 5000,
      });
      if (r.status === 0) wrapper = [setpriv, '--pdeathsig', 'KILL', '--'];
    }
  }
  return wrapper ?? [];
}
