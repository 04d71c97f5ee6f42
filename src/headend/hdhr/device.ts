// HDHomeRun emulation (headend.hdhomerun): the headend as Plex, Jellyfin and Emby see a
// SiliconDust network tuner, through the device's HTTP API:
//
//   /discover.json        {FriendlyName, Manufacturer, ModelNumber, FirmwareName,
//                          FirmwareVersion, DeviceID, DeviceAuth, BaseURL, LineupURL, TunerCount}
//   /lineup.json          [{GuideNumber, GuideName, URL, HD?}]: the channels the client may
//                         play (access rules), URL = our HTTP MPEG-TS /stream/<number>
//   /lineup_status.json   {ScanInProgress: 0, ScanPossible: 1, Source, SourceList}
//   /lineup.post          POST: a scan request (nothing to scan: the lineup is the config)
//   /device.xml           the UPnP device description (UPnP Device Architecture 1.0 §2.3)
//
// GuideName is the channel's name, GuideNumber its number, as in the playlist (tvg-chno,
// tvg-name) and /epg.xml, so guides match by number or name. The DeviceID is 8 hex digits
// with a valid check digit (libhdhomerun checks it), stable: derived from the headend's name
// and network id unless configured.

import { createHash } from 'node:crypto';
import type { ChannelSpec, HdhrSpec } from '../config/types.js';
import { hex8, validDeviceId } from '../tuners/hdhomerun/packet.js';

const T = [0xa, 0x5, 0xf, 0x6, 0x7, 0xc, 0x1, 0xb, 0x9, 0x2, 0x8, 0xd, 0x4, 0x3, 0xe, 0x0];

/**
 * A DeviceID from `seed`: seven nibbles of its SHA-256, and the last one chosen so that the
 * check (packet.ts validDeviceId: odd nibbles through the table, even ones as they are, all
 * xored to 0) holds.
 */
export function deriveDeviceId(seed: string): string {
  const h = createHash('sha256').update(seed, 'utf8').digest();
  for (let k = 0; ; k++) {
    let id = ((h.readUInt32BE(k % 28) >>> 4) << 4) >>> 0;
    let c = 0;
    for (let shift = 28; shift >= 4; shift -= 8)
      c ^= T[(id >>> shift) & 0xf]! ^ ((id >>> (shift - 4)) & 0xf);
    // The last nibble (shift 0) counts as it is; shift 4's went through the table above.
    id = (id | c) >>> 0;
    if (validDeviceId(id)) return hex8(id);
  }
}

/** service_type values of HD services (EN 300 468 §6.2.33): MPEG-2 HD, H.264 HD, HEVC. */
const HD_TYPES = new Set([0x11, 0x19, 0x1f, 0x20]);

export interface DeviceView {
  spec: HdhrSpec;
  deviceId: string;
  /** http://host:port of the HTTP surface as the client reached it. */
  base: string;
}

export function discoverJson(v: DeviceView): Record<string, unknown> {
  return {
    FriendlyName: v.spec.name,
    Manufacturer: 'Silicondust',
    ModelNumber: 'HDTC-2US',
    FirmwareName: 'hdhomeruntc_atsc',
    FirmwareVersion: '20200101',
    DeviceID: v.deviceId,
    DeviceAuth: 'headend',
    BaseURL: v.base,
    LineupURL: `${v.base}/lineup.json`,
    TunerCount: v.spec.tuners,
  };
}

export function lineupJson(
  base: string,
  channels: readonly Pick<ChannelSpec, 'number' | 'name' | 'serviceType'>[],
  token?: string,
): Record<string, unknown>[] {
  const q = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  return [...channels]
    .sort((a, b) => a.number - b.number)
    .map((c) => ({
      GuideNumber: String(c.number),
      GuideName: c.name,
      URL: `${base}/stream/${c.number}${q}`,
      ...(c.serviceType !== undefined && HD_TYPES.has(c.serviceType) ? { HD: 1 } : {}),
    }));
}

export function lineupStatusJson(): Record<string, unknown> {
  return { ScanInProgress: 0, ScanPossible: 1, Source: 'Cable', SourceList: ['Cable'] };
}

const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The UPnP UUID of the device, from its DeviceID (stable). */
export function deviceUuid(deviceId: string): string {
  const h = createHash('sha256').update(`hdhomerun:${deviceId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function deviceXml(v: DeviceView): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<root xmlns="urn:schemas-upnp-org:device-1-0">\n` +
    `  <specVersion><major>1</major><minor>0</minor></specVersion>\n` +
    `  <URLBase>${xml(v.base)}</URLBase>\n` +
    `  <device>\n` +
    `    <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\n` +
    `    <friendlyName>${xml(v.spec.name)}</friendlyName>\n` +
    `    <manufacturer>Silicondust</manufacturer>\n` +
    `    <modelName>HDTC-2US</modelName>\n` +
    `    <modelNumber>HDTC-2US</modelNumber>\n` +
    `    <serialNumber>${v.deviceId}</serialNumber>\n` +
    `    <UDN>uuid:${deviceUuid(v.deviceId)}</UDN>\n` +
    `  </device>\n` +
    `</root>\n`
  );
}
