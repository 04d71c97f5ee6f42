// `headend reload [--url URL]`: asks the running daemon to re-read channels.yaml
// (POST /api/reload, which returns the ReloadResult: 200 when applied, 422 when the new file is
// invalid and the old configuration keeps running) and prints what happened.
// Exit 0 when applied, 1 when rejected or the daemon cannot be reached.

import { isHeadendError } from '../errors.js';
import type { ReloadResult } from '../services.js';
import { callDaemon } from './daemon-api.js';
import type { CommandIo } from './io.js';

export interface ReloadCliOptions {
  url: string;
  json?: boolean;
}

export async function reloadCommand(o: ReloadCliOptions, io: CommandIo): Promise<number> {
  const r = await callDaemon(o.url, 'POST', 'api/reload');
  if (isHeadendError(r)) {
    io.error(r);
    return 1;
  }
  const result = r.body as Partial<ReloadResult>;
  if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean') {
    io.out(`headend reload: unexpected answer (HTTP ${r.status}): ${JSON.stringify(r.body)}\n`);
    return 1;
  }
  if (o.json) {
    io.out(JSON.stringify(result) + '\n');
    return result.ok ? 0 : 1;
  }
  io.out(formatReload(result));
  return result.ok && r.status < 400 ? 0 : 1;
}

/** The result for people: rejected with each error, or one line per kind of change. */
export function formatReload(r: Partial<ReloadResult>): string {
  if (!r.ok) {
    const errs = r.errors ?? [];
    return (
      `reload rejected: the running configuration is unchanged (${errs.length} ` +
      `error${errs.length === 1 ? '' : 's'})\n` +
      errs.map((e) => `  ${e}\n`).join('')
    );
  }
  const line = (label: string, list: string[] | undefined): string =>
    list && list.length > 0 ? `  ${label.padEnd(10)} ${list.join(', ')}\n` : '';
  const restart = r.restartRequired ?? [];
  return (
    'reloaded\n' +
    line('added', r.added) +
    line('removed', r.removed) +
    line('restarted', r.restarted) +
    line('updated', r.updated) +
    `  ${'unchanged'.padEnd(10)} ${(r.unchanged ?? []).length} channel(s)\n` +
    (restart.length > 0
      ? `  note: restart the daemon to apply changed settings: ${restart.join(', ')}\n`
      : '')
  );
}
