// `headend alert on [--zone Z] [--message TEXT] | off [--zone Z]`: turns the emergency override
// of the running daemon on or off (POST /api/alert with the bearer token), and prints the state.
// The token comes from --token, else HEADEND_ALERT_TOKEN, else the config file's
// headend.alert.token / token_file (the CLI runs on the headend's box); the daemon's URL from
// --url, else the config's http.listen. Exit 0 when the daemon took it, 1 otherwise.

import { isHeadendError } from '../errors.js';
import { findConfigFile, loadConfigFile } from '../config/index.js';
import { callDaemon, DEFAULT_DAEMON_URL } from './daemon-api.js';
import type { CommandIo } from './io.js';
import type { AlertState } from '../alert/alert-service.js';

export interface AlertCliOptions {
  state: 'on' | 'off';
  zone?: string;
  message?: string;
  url?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

export async function alertCommand(o: AlertCliOptions, io: CommandIo): Promise<number> {
  let token = o.token ?? process.env.HEADEND_ALERT_TOKEN;
  let url = o.url;
  if (token === undefined || url === undefined) {
    // The config says both; a file that cannot be read is fine when --token and --url were given.
    const file = findConfigFile(o.config);
    const loaded =
      typeof file === 'string' ? await loadConfigFile(file, { interfaces: null }) : null;
    if (loaded && 'config' in loaded) {
      token ??= loaded.config.alert?.token;
      const h = loaded.config.http;
      if (url === undefined && h)
        url = `http://${h.host === '0.0.0.0' || h.host === '' ? '127.0.0.1' : h.host}:${h.port}`;
    }
  }
  if (token === undefined) {
    io.out(
      'headend alert: no token: give --token, set HEADEND_ALERT_TOKEN, or set ' +
        'headend.alert.token in channels.yaml (-c)\n',
    );
    return 1;
  }
  const body: Record<string, string> = { state: o.state, via: 'cli' };
  if (o.zone !== undefined) body.zone = o.zone;
  if (o.message !== undefined) body.message = o.message;
  const r = await callDaemon(url ?? DEFAULT_DAEMON_URL, 'POST', 'api/alert', 10_000, {
    json: body,
    bearer: token,
  });
  if (isHeadendError(r)) {
    io.error(r);
    return 1;
  }
  if (r.status !== 200) {
    const e = r.body as { message?: string };
    io.out(`headend alert: refused (HTTP ${r.status}): ${e.message ?? JSON.stringify(r.body)}\n`);
    return 1;
  }
  if (o.json) {
    io.out(JSON.stringify(r.body) + '\n');
    return 0;
  }
  io.out(formatAlertState(r.body as AlertState & { changed: boolean }));
  return 0;
}

export function formatAlertState(s: AlertState & { changed?: boolean }): string {
  if (!s.on) return `alert off${s.changed === false ? ' (it was off)' : ''}\n`;
  const lines = s.alerts.map(
    (a) =>
      `  zone ${a.zone === '*' ? '* (all channels)' : a.zone}: "${a.message}" since ${a.since} (${a.trigger})\n`,
  );
  return `alert ON on ${s.channels.length} channel(s)\n${lines.join('')}`;
}
