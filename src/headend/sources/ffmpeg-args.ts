// The ffmpeg command line of a source: input options by kind, -c copy or a transcode
// profile, and MPEG-TS on stdout. Pure: the same spec and caps give the same list.
//
//   test pattern   -re -f lavfi -i testsrc2=size=640x360:rate=25
//                  -re -f lavfi -i sine=frequency=1000:sample_rate=48000   (or anullsrc)
//                  [-vf drawtext(name), drawtext(clock)]  libx264 veryfast/zerolatency, GOP 1 s
//   file           -stream_loop -1 -re -i path -c copy         (loop: false drops -stream_loop)
//   rtsp(s)        -analyzeduration 1000000 -rtsp_transport tcp -i url -c copy
//   http(s)/HLS,
//   srt, others    -analyzeduration 1000000 [-re] -i url -c copy
//                  (network inputs: 1 s of probing, not ffmpeg's 5 s, so a restarted or
//                  failed-over source gives picture again within ~1.5 s; `loop: true` on a
//                  URL means a recording, e.g. a finished HLS playlist: read it at its own
//                  pace (-re), and the source restarts it at its end)
//   device         -f v4l2 -i /dev/video0 (v4l2:, alsa:, pulse:, x11grab:, …) transcoded by default
//   service N      -map 0:p:N -mpegts_service_id N   (otherwise -map 0:v? -map 0:a?)

import type { FfmpegCaps } from './ffmpeg-path.js';
import type { SourceSpec, TestPatternSpec, TranscodeSpec } from './types.js';

/** lavfi video sources that take size= and rate=. */
export const TEST_PATTERNS = [
  'testsrc',
  'testsrc2',
  'smptebars',
  'smptehdbars',
  'pal75bars',
  'pal100bars',
  'rgbtestsrc',
  'yuvtestsrc',
  'colorspectrum',
] as const;

/** Formats that read a device: `v4l2:/dev/video0` → -f v4l2 -i /dev/video0. */
export const DEVICE_FORMATS = ['v4l2', 'alsa', 'pulse', 'x11grab', 'fbdev', 'decklink', 'jack'];

export type SourceKind = 'native' | 'test' | 'file' | 'device' | 'rtsp' | 'http' | 'srt' | 'url';

export const TEST_AUDIO_BITRATE = 96_000;
const MUX = ['-f', 'mpegts', '-mpegts_flags', '+resend_headers', '-muxdelay', '0.1'];
/** Network inputs: probe 1 s of stream (ffmpeg's default is 5 s of waiting on a live feed). */
const NETWORK_PROBE = ['-analyzeduration', '1000000'];
const HEAD = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+warning'];

/** What reads the spec: the native UDP/RTP receiver, or ffmpeg with this kind of input. */
export function sourceKind(spec: SourceSpec): SourceKind {
  if (spec.test !== undefined) return 'test';
  const url = spec.url ?? '';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return url.startsWith('/dev/') ? 'device' : 'file';
  if (scheme === 'udp' || scheme === 'rtp') return 'native';
  if (scheme === 'file') return 'file';
  if (scheme === 'rtsp' || scheme === 'rtsps') return 'rtsp';
  if (scheme === 'http' || scheme === 'https' || scheme === 'hls') return 'http';
  if (scheme === 'srt') return 'srt';
  if (DEVICE_FORMATS.includes(scheme)) return 'device';
  return 'url';
}

/** The argument list (without the binary) of the ffmpeg child that reads `spec`. */
export function ffmpegArgs(spec: SourceSpec, caps: FfmpegCaps = { drawtext: false }): string[] {
  const kind = sourceKind(spec);
  if (kind === 'test') return testArgs(spec.test as TestPatternSpec, caps);
  const url = spec.url ?? '';
  const args = [...HEAD];
  let transcode = spec.transcode;
  switch (kind) {
    case 'file': {
      if (spec.loop !== false) args.push('-stream_loop', '-1');
      const path = url.replace(/^file:\/\//i, '');
      args.push('-re', '-i', path);
      break;
    }
    case 'device': {
      const m = /^([a-z0-9]+):(?:\/\/)?(.*)$/i.exec(url);
      const [fmt, target] = m !== null ? [m[1].toLowerCase(), m[2]] : ['v4l2', url];
      args.push('-f', fmt, '-i', target);
      // Raw frames cannot be copied into MPEG-TS.
      transcode ??= { video: 'h264', audio: 'aac' };
      break;
    }
    case 'rtsp':
      args.push(...NETWORK_PROBE, '-rtsp_transport', 'tcp', '-i', url);
      break;
    case 'http':
      args.push(...NETWORK_PROBE, ...(spec.loop === true ? ['-re'] : []));
      args.push('-i', url.replace(/^hls:\/\//i, 'http://'));
      break;
    default:
      args.push(...NETWORK_PROBE, ...(spec.loop === true ? ['-re'] : []), '-i', url);
  }
  if (spec.service !== undefined) {
    args.push('-map', `0:p:${spec.service}`);
  } else {
    args.push('-map', '0:v?', '-map', '0:a?');
  }
  args.push(...codecArgs(transcode));
  if (spec.service !== undefined) args.push('-mpegts_service_id', String(spec.service));
  args.push(...MUX, 'pipe:1');
  return args;
}

function codecArgs(t: TranscodeSpec | undefined): string[] {
  if (t === undefined) return ['-c', 'copy'];
  const out: string[] = [];
  const venc = videoEncoder(t.video ?? (t.videoBitrate !== undefined || t.size ? 'h264' : 'copy'));
  out.push('-c:v', venc);
  if (venc !== 'copy') {
    if (venc === 'libx264' || venc === 'libx265') {
      out.push('-preset', 'veryfast', '-tune', 'zerolatency');
    }
    out.push('-pix_fmt', 'yuv420p', '-force_key_frames', 'expr:gte(t,n_forced*1)');
    if (t.size !== undefined) out.push('-s', t.size);
    if (t.videoBitrate !== undefined) out.push(...rateArgs(t.videoBitrate));
  }
  const aenc = audioEncoder(t.audio ?? (t.audioBitrate !== undefined ? 'aac' : 'copy'));
  out.push('-c:a', aenc);
  if (aenc !== 'copy') out.push('-b:a', String(t.audioBitrate ?? 128_000), '-ac', '2');
  return out;
}

function videoEncoder(name: string): string {
  const aliases: Record<string, string> = {
    h264: 'libx264',
    avc: 'libx264',
    hevc: 'libx265',
    h265: 'libx265',
    mpeg2: 'mpeg2video',
  };
  return aliases[name.toLowerCase()] ?? name;
}

function audioEncoder(name: string): string {
  return name.toLowerCase() === 'mpeg1' ? 'mp2' : name;
}

function rateArgs(bitrate: number): string[] {
  const b = String(Math.round(bitrate));
  return ['-b:v', b, '-maxrate', b, '-bufsize', b];
}

function testArgs(t: TestPatternSpec, caps: FfmpegCaps): string[] {
  const rate = t.rate;
  const gop = String(Math.max(1, Math.round((rate * (t.gopMs ?? 1000)) / 1000)));
  const height = Number(/x(\d+)$/.exec(t.resolution)?.[1] ?? 360);
  const audio =
    t.tone !== undefined
      ? `sine=frequency=${t.tone}:sample_rate=48000`
      : 'anullsrc=channel_layout=stereo:sample_rate=48000';
  const args = [
    ...HEAD,
    '-re',
    '-f',
    'lavfi',
    '-i',
    `${t.pattern}=size=${t.resolution}:rate=${rate}`,
    '-re',
    '-f',
    'lavfi',
    '-i',
    audio,
  ];
  const vf = overlay(t.text, height, caps);
  if (vf !== undefined) args.push('-vf', vf);
  args.push(
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    gop,
    '-keyint_min',
    gop,
    ...rateArgs(t.bitrate),
    '-c:a',
    'aac',
    '-b:a',
    String(TEST_AUDIO_BITRATE),
    '-ac',
    '2',
  );
  if (t.text !== undefined) args.push('-metadata', `service_name=${t.text}`);
  args.push(...MUX, 'pipe:1');
  return args;
}

/** The name in large type at the top left and a running clock under it, when drawtext can. */
function overlay(text: string | undefined, height: number, caps: FfmpegCaps): string | undefined {
  if (!caps.drawtext || caps.fontFile === undefined) return undefined;
  const big = Math.max(12, Math.round(height / 10));
  const small = Math.max(10, Math.round(height / 16));
  const common = `fontfile=${quoteOption(caps.fontFile)}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=${Math.round(big / 4)}`;
  const filters: string[] = [];
  if (text !== undefined && text !== '') {
    filters.push(
      `drawtext=${common}:fontsize=${big}:x=${big}:y=${big}:text=${quoteOption(drawtextLiteral(text))}`,
    );
  }
  filters.push(
    `drawtext=${common}:fontsize=${small}:x=${big}:y=h-${2 * small}-${big}:text=${quoteOption('%{localtime:%T}')}`,
  );
  return filters.map(escapeGraph).join(',');
}

/** drawtext's own expansion: a backslash makes the next character literal (%, \). */
export function drawtextLiteral(s: string): string {
  return s.replace(/[\\%]/g, (c) => `\\${c}`);
}

/** Option level (av_get_token): single quotes keep everything but a quote; a quote is '\''. */
export function quoteOption(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** Filtergraph level: the whole filter's argument text is unescaped once more. */
export function escapeGraph(filter: string): string {
  const eq = filter.indexOf('=');
  const name = filter.slice(0, eq + 1);
  return name + filter.slice(eq + 1).replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}
