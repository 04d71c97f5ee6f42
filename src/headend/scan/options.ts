// Command-line values of `headend scan` and `headend probe`: the --base output address (first
// multicast group and the port every written channel uses) and the --discover address (where
// HDHomeRun device-id discovery is sent, as a tuner's `discover:`).

import { destinationProblem } from '../config/values.js';
import { HeadendError } from '../errors.js';

/** `239.255.10.1:5000` → { group, port }; the group must be a usable multicast address. */
export function outputBase(text: string): { group: string; port: number } | HeadendError {
  const m = /^\s*(?:udp:\/\/)?(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\s*$/.exec(text);
  const bad = (why: string): HeadendError =>
    new HeadendError('E_BAD_URL', `bad --base '${text}': ${why}`);
  if (m === null) return bad('expected group:port, e.g. 239.255.10.1:5000');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return bad('port outside 1-65535');
  const first = Number(m[1].split('.')[0]);
  if (m[1].split('.').some((b) => Number(b) > 255)) return bad('not an IPv4 address');
  if (first < 224 || first > 239) return bad('the group is not a multicast address (224-239)');
  const why = destinationProblem(m[1]);
  if (why !== undefined) return bad(why);
  return { group: m[1], port };
}

/** `192.168.1.255` (a directed broadcast) or `192.168.1.20` (the device): an IPv4 address. */
export function discoverAddress(text: string): string | HeadendError {
  const t = text.trim();
  const m = /^\d{1,3}(?:\.\d{1,3}){3}$/.exec(t);
  if (m === null || t.split('.').some((b) => Number(b) > 255)) {
    return new HeadendError(
      'E_USAGE',
      `bad --discover '${text}': expected an IPv4 address (the device, or a broadcast address ` +
        `such as 192.168.1.255)`,
    );
  }
  return t;
}
