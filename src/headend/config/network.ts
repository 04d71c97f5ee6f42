// The network every output belongs to, as TVs see it in the SI (ETSI EN 300 468): its NIT
// (network_id, network name), the original_network_id of every SDT, and the clock (TDT/TOT in
// `headend.timezone`, for TVs of `headend.country`). Also each channel's `service_type`.
//
//   headend:
//     network: Example Hotel TV     network name in the NIT (default: headend.name)
//     network_id: 65281             NIT network_id and every output's original_network_id,
//                                   1-65535 (default 0xFF01 = 65281: private temporary use)
//     timezone: Europe/Berlin       IANA zone of the TOT's local time, DST included (default:
//                                   this machine's zone)
//     country: DEU                  ISO 3166-1 alpha-3 country the TOT entry is for (default:
//                                   the timezone's country in the tz database; none for UTC:
//                                   then TDT only, no local offset)
//   channels:
//     - service_type: hd            tv (0x01), hd (0x19, H.264 HD), uhd (0x1F, HEVC), radio
//                                   (0x02) or a number 1-255 (EN 300 468 table 87); default:
//                                   from the streams in the SDT, tv in the NIT

import { isTimeZone } from '../../scheduler/timezone.js';
import { countryOfZone, isAlpha3 } from '../si/country.js';
import { describe, invalid, leaf } from './values.js';

/** `epg: passthrough`: a channel carries its broadcast source's own EIT instead of a guide. */
export const EPG_PASSTHROUGH = 'passthrough';

/** headend.epg_refresh default: the XMLTV guides are read again every 6 hours. */
export const DEFAULT_EPG_REFRESH_MS = 6 * 3_600_000;

/** network_id 0xFF01-0xFFFF: temporary private use (TS 101 162). */
export const DEFAULT_NETWORK_ID = 0xff01;

export const SERVICE_TYPES: Readonly<Record<string, number>> = {
  tv: 0x01,
  radio: 0x02,
  hd: 0x19,
  uhd: 0x1f,
};

export interface NetworkSpec {
  name: string;
  networkId: number;
  /** IANA zone. */
  timezone: string;
  /** ISO 3166-1 alpha-3, or null: no country known (TDT only). */
  country: string | null;
}

/** `timezone:` — an IANA zone this Node knows. */
export function timeZone() {
  return leaf((v) => {
    if (typeof v !== 'string' || v.trim() === '')
      return invalid(`expected an IANA time zone such as Europe/Berlin, got ${describe(v)}`);
    const z = v.trim();
    return isTimeZone(z)
      ? z
      : invalid(`unknown time zone '${z}' (IANA names: Europe/Berlin, America/New_York, UTC)`);
  });
}

/** `country:` — ISO 3166-1 alpha-3. */
export function countryCode() {
  return leaf((v) => {
    const c = typeof v === 'string' ? v.trim().toUpperCase() : '';
    return isAlpha3(c)
      ? c
      : invalid(
          `expected an ISO 3166-1 alpha-3 country code such as DEU or USA, got ${describe(v)}`,
        );
  });
}

/** `service_type:` — a name or a number 1-255. */
export function serviceType() {
  return leaf((v) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 255) return v;
    if (typeof v === 'string' && SERVICE_TYPES[v.trim().toLowerCase()] !== undefined)
      return SERVICE_TYPES[v.trim().toLowerCase()];
    return invalid(`expected tv, hd, uhd, radio or a number 1-255, got ${describe(v)}`);
  });
}

/** This machine's zone (TZ, /etc/localtime) as Node sees it; UTC when unknown. */
export function machineTimeZone(): string {
  const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return z && isTimeZone(z) ? z : 'UTC';
}

export function resolveNetwork(
  raw: { network?: string; network_id?: number; timezone?: string; country?: string } | undefined,
  headendName: string,
): NetworkSpec {
  const timezone = raw?.timezone ?? machineTimeZone();
  return {
    name: raw?.network ?? headendName,
    networkId: raw?.network_id ?? DEFAULT_NETWORK_ID,
    timezone,
    country: raw?.country ?? countryOfZone(timezone) ?? null,
  };
}
