// The emergency override in channels.yaml: what every channel (or a zone's channels) shows
// while an alert is on, and the triggers that turn it on and off (headend/alert/).
//
//   headend:
//     alert:
//       message: Fire alarm. Leave the building by the nearest exit.
//                                 the card's text (default: "Emergency alert. Please follow
//                                 the instructions of staff."); a trigger may give another
//       source: /srv/evacuate.ts  what channels show instead of the card: any <source> (a
//                                 looped file, a live feed) (default: the card: the message
//                                 on a plain picture with a 1 kHz tone, made by ffmpeg)
//       zones:                    zone → channel groups (`group:` of channels); a zone not
//         east-wing: [lobby, floor-1]   listed means the group of its name (default none)
//       token: s3cret             bearer token of POST /api/alert and `headend alert`; or
//       token_file: /etc/headend/alert.token   a file holding it (default: none, the HTTP
//                                 trigger is off). Never logged
//       serial:                   a fire panel on a serial port (off unless given)
//         device: /dev/ttyUSB0    the port (required); reopened when it comes back
//         baud: 9600              (default 9600)
//         on: '^ALARM ON(?:\s+(\S+))?$'    a line that turns the alert on; its first
//                                 capture group, when it matches, is the zone (default shown)
//         off: '^ALARM OFF(?:\s+(\S+))?$'  a line that turns it off (no zone: every zone)
//         contact: dcd            also a dry contact on a modem-status line (cts, dsr or dcd):
//                                 asserted = alert on in every zone (default none)

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { boolean, describe, integer, invalid, leaf, nonEmpty, text } from './values.js';

export const DEFAULT_ALERT_MESSAGE = 'Emergency alert. Please follow the instructions of staff.';
export const DEFAULT_SERIAL_ON = '^ALARM ON(?:\\s+(\\S+))?$';
export const DEFAULT_SERIAL_OFF = '^ALARM OFF(?:\\s+(\\S+))?$';

export interface SerialAlarmSpec {
  device: string;
  baud: number;
  /** Regular expressions (sources) of the on and off lines; group 1 is the zone. */
  on: string;
  off: string;
  /** Modem-status line read as a dry contact. */
  contact?: 'cts' | 'dsr' | 'dcd';
  /** The contact is normally closed: deasserted = alarm (default false: asserted = alarm). */
  contactInverted: boolean;
}

/** A regular expression given as text. */
function regex() {
  return leaf((v) => {
    if (typeof v !== 'string' || v === '')
      return invalid(`expected a regular expression, got ${describe(v)}`);
    try {
      new RegExp(v);
      return v;
    } catch (err) {
      return invalid(
        `not a regular expression: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });
}

export function alertSchema<S extends z.ZodType>(source: S) {
  return z.strictObject({
    message: text().optional(),
    source: source.optional(),
    zones: z
      .record(
        z.string(),
        z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(nonEmpty('a channel group'))),
      )
      .optional(),
    token: nonEmpty('a token').optional(),
    token_file: nonEmpty('a file path').optional(),
    serial: z
      .strictObject({
        device: nonEmpty('a serial device such as /dev/ttyUSB0'),
        baud: integer(50, 4_000_000).optional(),
        on: regex().optional(),
        off: regex().optional(),
        contact: z.enum(['cts', 'dsr', 'dcd'], { error: 'expected cts, dsr or dcd' }).optional(),
        contact_inverted: boolean().optional(),
      })
      .optional(),
  });
}

export const ALERT_KEYS = ['message', 'source', 'zones', 'token', 'token_file', 'serial'];
export const SERIAL_KEYS = ['device', 'baud', 'on', 'off', 'contact', 'contact_inverted'];

/** The token: given, or read from token_file (relative to the config's directory). */
export function alertToken(
  raw: { token?: string; token_file?: string },
  resolvePath: (p: string) => string,
  report: (key: 'token' | 'token_file', message: string) => void,
): string | undefined {
  if (raw.token !== undefined && raw.token_file !== undefined) {
    report('token_file', 'give token or token_file, not both');
    return undefined;
  }
  if (raw.token !== undefined) return raw.token;
  if (raw.token_file === undefined) return undefined;
  const path = resolvePath(raw.token_file);
  try {
    const t = readFileSync(path, 'utf8').trim();
    if (t === '') report('token_file', `${path} is empty`);
    return t === '' ? undefined : t;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    report('token_file', `cannot read ${path}${code ? ` (${code})` : ''}`);
    return undefined;
  }
}

export function serialSpec(raw: {
  device: string;
  baud?: number;
  on?: string;
  off?: string;
  contact?: 'cts' | 'dsr' | 'dcd';
  contact_inverted?: boolean;
}): SerialAlarmSpec {
  const s: SerialAlarmSpec = {
    device: raw.device,
    baud: raw.baud ?? 9600,
    on: raw.on ?? DEFAULT_SERIAL_ON,
    off: raw.off ?? DEFAULT_SERIAL_OFF,
    contactInverted: raw.contact_inverted ?? false,
  };
  if (raw.contact !== undefined) s.contact = raw.contact;
  return s;
}
