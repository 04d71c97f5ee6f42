// The source layer: feeds in, TS bytes and health out. See hub.ts.

export { SourceHub } from './hub.js';
export type { SourceHubOptions } from './hub.js';
export { resolveFfmpeg, ffmpegCaps, deathSignalWrapper } from './ffmpeg-path.js';
export type { FfmpegCaps, FfmpegResolution } from './ffmpeg-path.js';
export { ffmpegArgs, sourceKind, TEST_PATTERNS, DEVICE_FORMATS } from './ffmpeg-args.js';
export type { SourceKind } from './ffmpeg-args.js';
export { Backoff } from './backoff.js';
export type {
  SourceSpec,
  TestPatternSpec,
  TranscodeSpec,
  SourceState,
  SourceEvent,
  SourceSubscriber,
  SourceStatus,
  FailureReason,
} from './types.js';
