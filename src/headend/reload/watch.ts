// The `watch: true` trigger of hot reload: watches channels.yaml for changes. The directory is
// watched rather than the file, because editors save by writing a new file and renaming it over
// the old one (a watch on the file itself would stay on the old inode and go quiet). Events for
// the file's name are debounced: one call after the burst an editor's save makes.

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log.js';

export interface WatchOptions {
  log: Logger;
  onChange: () => void | Promise<void>;
  /** Quiet time after the last event before onChange (default 300 ms). */
  debounceMs?: number;
}

export function watchConfigFile(file: string, o: WatchOptions): { close(): void } {
  const name = basename(file);
  const debounce = o.debounceMs ?? 300;
  let timer: NodeJS.Timeout | null = null;
  let w: FSWatcher | null = null;
  try {
    w = watch(dirname(file), { persistent: false }, (_event, f) => {
      if (f !== null && f !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        Promise.resolve(o.onChange()).catch((err: unknown) =>
          o.log.log('error', 'watch-error', { config: file, message: String(err) }),
        );
      }, debounce);
    });
    w.on('error', (err) =>
      o.log.log('error', 'watch-error', { config: file, message: err.message }),
    );
    o.log.log('info', 'watch', { config: file });
  } catch (err) {
    o.log.log('error', 'watch-error', {
      config: file,
      message: err instanceof Error ? err.message : String(err),
    });
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      w?.close();
    },
  };
}
