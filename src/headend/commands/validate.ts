// `headend validate [-c FILE]`: checks channels.yaml without running it.
// Prints "OK: N channels" (exit 0) or every error as FILE:LINE:COLUMN: message (exit 1);
// exit 2 when no file is found or it cannot be read.

import { readFile } from 'node:fs/promises';
import { findConfigFile, formatConfigError, loadConfigText } from '../config/load.js';
import { EXIT_OK, EXIT_STREAM_ERRORS, EXIT_USAGE, type CommandIo } from './io.js';
import { HeadendError, fromSystemError } from '../errors.js';

/** Exit status of an invalid config (the same value as EXIT_STREAM_ERRORS). */
export const EXIT_INVALID = EXIT_STREAM_ERRORS;

export async function validateCommand(file: string | undefined, io: CommandIo): Promise<number> {
  const found = findConfigFile(file);
  if (typeof found !== 'string') {
    io.error(new HeadendError('E_IO', formatConfigError(found)));
    return EXIT_USAGE;
  }
  let text: string;
  try {
    text = await readFile(found, 'utf8');
  } catch (err) {
    io.error(fromSystemError('E_IO', `cannot read '${found}'`, err));
    return EXIT_USAGE;
  }
  const result = loadConfigText(text, found);
  if ('errors' in result) {
    io.out(result.errors.map((e) => formatConfigError(e) + '\n').join(''));
    return EXIT_INVALID;
  }
  const n = result.config.channels.length;
  io.out(`OK: ${n} channel${n === 1 ? '' : 's'}\n`);
  return EXIT_OK;
}
