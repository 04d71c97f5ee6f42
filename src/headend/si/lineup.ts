// The line-up as TVs read it: one NIT actual (ETSI EN 300 468 §5.2.1) for the whole headend,
// carried by every output, so a TV that scans any one channel learns them all and sorts them
// by logical channel number (EACEM logical_channel_descriptor 0x83, visible flag set; numbers
// above 1023 do not fit its 10 bits and are listed without one); a channel with `hd_lcn` also
// gets an HD_simulcast_logical_channel_descriptor (0x88) entry.
//
// One transport stream entry per output (transport_stream_id, original_network_id = the
// network_id) with a service_list_descriptor (service_id = program_number, service_type from
// `service_type:`, else digital television 0x01) and the LCN. Channels sharing a
// transport_stream_id share one entry.
//
// version_number: the same in every output, and the same after a restart for the same line-up
// (a cluster of headends must agree too): derived from the content (CRC-32 of the section
// built with version 0, mod 32). A reload that changes the content but lands on the same
// number takes the next one, so a change is never announced with an unchanged version.

import { crc32Mpeg2 } from '../../mpegts/crc32.js';
import { serializeNit, type NitTransportStream } from '../../mpegts/psi/nit.js';
import type { ChannelSpec } from '../config/types.js';
import type { NetworkSpec } from '../config/network.js';

/** Largest logical channel number of the EACEM descriptor (10 bits). */
export const MAX_LCN = 1023;
/** service_type when a channel gives none: digital television service. */
const DEFAULT_SERVICE_TYPE = 0x01;

type LineupChannel = Pick<
  ChannelSpec,
  'number' | 'programNumber' | 'transportStreamId' | 'serviceType' | 'hdLcn'
>;

function transportStreams(
  network: NetworkSpec,
  channels: readonly LineupChannel[],
): NitTransportStream[] {
  const byTsid = new Map<number, NitTransportStream>();
  for (const ch of [...channels].sort((a, b) => a.number - b.number)) {
    let ts = byTsid.get(ch.transportStreamId);
    if (ts === undefined) {
      ts = {
        transportStreamId: ch.transportStreamId,
        originalNetworkId: network.networkId,
        services: [],
        logicalChannels: [],
        otherDescriptors: [],
      };
      byTsid.set(ch.transportStreamId, ts);
    }
    ts.services.push({
      serviceId: ch.programNumber,
      serviceType: ch.serviceType ?? DEFAULT_SERVICE_TYPE,
    });
    if (ch.number <= MAX_LCN)
      ts.logicalChannels.push({ serviceId: ch.programNumber, visible: true, lcn: ch.number });
    if (ch.hdLcn !== undefined)
      (ts.hdSimulcastChannels ??= []).push({
        serviceId: ch.programNumber,
        visible: true,
        lcn: ch.hdLcn,
      });
  }
  return [...byTsid.values()];
}

/** The NIT sections of a line-up with the given version. */
export function buildNit(
  network: NetworkSpec,
  channels: readonly LineupChannel[],
  version: number,
): Uint8Array[] {
  return serializeNit({
    networkId: network.networkId,
    version,
    networkName: network.name,
    networkDescriptors: [],
    transportStreams: transportStreams(network, channels),
  });
}

/** The version a content gets: CRC-32 of its version-0 sections (without their CRC), mod 32. */
export function contentVersion(sections: readonly Uint8Array[]): number {
  let h = 0;
  for (const s of sections) h = (h + crc32Mpeg2(s, 0, s.length - 4)) >>> 0;
  return h & 0x1f;
}

/** The NIT every output carries, kept across reloads. */
export class Lineup {
  private content = '';
  private current: Uint8Array[] = [];
  private currentVersion = -1;

  constructor(network: NetworkSpec, channels: readonly LineupChannel[]) {
    this.update(network, channels);
  }

  get sections(): readonly Uint8Array[] {
    return this.current;
  }

  get version(): number {
    return this.currentVersion;
  }

  /** Channels whose number has no LCN (above 1023). */
  static withoutLcn(channels: readonly LineupChannel[]): number[] {
    return channels.filter((c) => c.number > MAX_LCN).map((c) => c.number);
  }

  /** Rebuilds for a new line-up; true when the NIT changed (and with it its version). */
  update(network: NetworkSpec, channels: readonly LineupChannel[]): boolean {
    const probe = buildNit(network, channels, 0);
    const key = probe.map((s) => Buffer.from(s).toString('hex')).join('|');
    if (key === this.content) return false;
    let v = contentVersion(probe);
    if (v === this.currentVersion) v = (v + 1) & 0x1f;
    this.content = key;
    this.currentVersion = v;
    this.current = buildNit(network, channels, v);
    return true;
  }
}
