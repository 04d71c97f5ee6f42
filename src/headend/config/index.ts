// channels.yaml: load, validate, and the typed config the daemon is built from.
// File format: schema.ts. Types: types.ts. Defaults: defaults.ts.

export type {
  ChannelSpec,
  ScheduleSpec,
  ConfigError,
  ConfigResult,
  HeadendSpec,
  OutputSpec,
  SourceSpec,
  TestPattern,
  TestSourceSpec,
  TranscodeSpec,
} from './types.js';
export { PATTERN_ALIASES, TEST_PATTERNS } from './types.js';
export { CONFIG_SEARCH_PATHS, DEFAULTS } from './defaults.js';
export { findConfigFile, formatConfigError, loadConfigFile, loadConfigText } from './load.js';
export type { LoadOptions } from './load.js';
export type { ClusterSpec } from './cluster.js';
export { localIPv4, machineInterfaces } from './interfaces.js';
export type { InterfaceLookup, InterfaceTable } from './interfaces.js';
export { slugify, sourceKey } from './resolve.js';
