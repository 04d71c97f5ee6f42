// Network Information Table: ETSI EN 300 468 §5.2.1, PID 0x0010, table_id 0x40 (actual).
//   long section header (table_id_extension = network_id, private bit = 1)
//   reserved_future_use(4) network_descriptors_length(12) | descriptors
//   reserved_future_use(4) transport_stream_loop_length(12)
//   { transport_stream_id(16) original_network_id(16)
//     reserved_future_use(4) transport_descriptors_length(12) descriptors }*
//   CRC_32
// network_name_descriptor 0x40 (§6.2.27): name text.
// service_list_descriptor 0x41 (§6.2.35): { service_id(16) service_type(8) }*
// EACEM logical_channel_descriptor 0x83, in the scope of private_data_specifier_descriptor
// 0x5F (§6.2.31) = 0x00000028: { service_id(16) visible_service_flag(1) reserved(5) LCN(10) }*
// EACEM HD_simulcast_logical_channel_descriptor 0x88, same scope and layout: the number an
// HD-capable receiver gives the service instead (an HD simulcast taking its SD twin's number).
//
// Splitting: the descriptor loops of a sub-table's sections concatenate, so the writer puts the
// network descriptors in section 0 only (empty loop in the others) and spreads the transport
// stream loop over as many sections as needed.
// Writer order in a TS loop: service_list_descriptor(s), other descriptors, then (when there are
// LCNs) an EACEM private_data_specifier followed by the 0x83 descriptor(s) and the 0x88 ones. The
// reader drops an EACEM private_data_specifier whose scope holds only 0x83/0x88 descriptors, so
// the round trip is exact.

import {
  orderedSections as ordered,
  buildLongSection,
  concatBytes,
  MAX_PSI_SECTION,
  packEntries,
  parseSectionHeader,
  sectionBody,
} from './section.js';
import {
  Descriptor,
  descriptorsLength,
  parseDescriptors,
  serializeDescriptors,
} from './descriptors.js';
import { decodeDvbText, encodeDvbText } from './dvb-text.js';

export const NIT_PID = 0x0010;
export const NIT_ACTUAL_TABLE_ID = 0x40;
export const NIT_OTHER_TABLE_ID = 0x41;
export const DESC_NETWORK_NAME = 0x40;
export const DESC_SERVICE_LIST = 0x41;
export const DESC_PRIVATE_DATA_SPECIFIER = 0x5f;
export const DESC_EACEM_LCN = 0x83;
export const DESC_EACEM_HD_SIMULCAST_LCN = 0x88;
export const PDS_EACEM = 0x00000028;

export interface NitService {
  serviceId: number;
  serviceType: number;
}

export interface LogicalChannel {
  serviceId: number;
  visible: boolean;
  /** 10-bit logical channel number. */
  lcn: number;
}

export interface NitTransportStream {
  transportStreamId: number;
  originalNetworkId: number;
  /** Entries of all service_list_descriptors, in order. */
  services: NitService[];
  /** Entries of all EACEM logical_channel_descriptors, in order. */
  logicalChannels: LogicalChannel[];
  /** Entries of all EACEM HD_simulcast_logical_channel_descriptors (absent: none). */
  hdSimulcastChannels?: LogicalChannel[];
  otherDescriptors: Descriptor[];
}

export interface Nit {
  /** 0x40 (actual, the default) or 0x41 (other). */
  tableId?: number;
  networkId: number;
  version: number;
  /** Text of the first network_name_descriptor; '' writes none. */
  networkName: string;
  /** Network descriptors other than that network_name_descriptor, raw. */
  networkDescriptors: Descriptor[];
  transportStreams: NitTransportStream[];
}

/** Header (8) + two 16-bit loop lengths (4) + CRC (4). */
const NIT_OVERHEAD = 8 + 4 + 4;

function u32(d: Uint8Array): number {
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

function isEacemPds(d: Descriptor): boolean {
  return d.tag === DESC_PRIVATE_DATA_SPECIFIER && d.data.length >= 4 && u32(d.data) === PDS_EACEM;
}

function parseTransportDescriptors(ts: NitTransportStream, all: Descriptor[]): void {
  let pds = 0;
  for (let i = 0; i < all.length; i++) {
    const d = all[i];
    if (d.tag === DESC_PRIVATE_DATA_SPECIFIER) {
      pds = d.data.length >= 4 ? u32(d.data) : 0;
      if (isEacemPds(d)) {
        let j = i + 1;
        while (
          j < all.length &&
          (all[j].tag === DESC_EACEM_LCN || all[j].tag === DESC_EACEM_HD_SIMULCAST_LCN)
        )
          j++;
        const scopeEnd = j === all.length || all[j].tag === DESC_PRIVATE_DATA_SPECIFIER;
        if (j > i + 1 && scopeEnd) continue; // scope holds only LCN descriptors: implied
      }
      ts.otherDescriptors.push(d);
    } else if (d.tag === DESC_SERVICE_LIST) {
      for (let p = 0; p + 3 <= d.data.length; p += 3)
        ts.services.push({
          serviceId: (d.data[p] << 8) | d.data[p + 1],
          serviceType: d.data[p + 2],
        });
    } else if (
      (d.tag === DESC_EACEM_LCN || d.tag === DESC_EACEM_HD_SIMULCAST_LCN) &&
      pds === PDS_EACEM
    ) {
      const list = d.tag === DESC_EACEM_LCN ? ts.logicalChannels : (ts.hdSimulcastChannels ??= []);
      for (let p = 0; p + 4 <= d.data.length; p += 4)
        list.push({
          serviceId: (d.data[p] << 8) | d.data[p + 1],
          visible: (d.data[p + 2] & 0x80) !== 0,
          lcn: ((d.data[p + 2] & 0x03) << 8) | d.data[p + 3],
        });
    } else ts.otherDescriptors.push(d);
  }
}

/** Parses all sections of one NIT sub-table (any order). */
export function parseNit(sections: readonly Uint8Array[]): Nit {
  const list = ordered(sections);
  const h = parseSectionHeader(list[0]);
  const netDescs: Descriptor[] = [];
  const transportStreams: NitTransportStream[] = [];
  for (const s of list) {
    const b = sectionBody(s);
    if (b.length < 2) continue;
    const ndEnd = Math.min(2 + (((b[0] & 0x0f) << 8) | b[1]), b.length);
    netDescs.push(...parseDescriptors(b, 2, ndEnd));
    if (ndEnd + 2 > b.length) continue;
    const loopEnd = Math.min(ndEnd + 2 + (((b[ndEnd] & 0x0f) << 8) | b[ndEnd + 1]), b.length);
    let p = ndEnd + 2;
    while (p + 6 <= loopEnd) {
      const len = ((b[p + 4] & 0x0f) << 8) | b[p + 5];
      const ts: NitTransportStream = {
        transportStreamId: (b[p] << 8) | b[p + 1],
        originalNetworkId: (b[p + 2] << 8) | b[p + 3],
        services: [],
        logicalChannels: [],
        otherDescriptors: [],
      };
      parseTransportDescriptors(ts, parseDescriptors(b, p + 6, Math.min(p + 6 + len, loopEnd)));
      transportStreams.push(ts);
      p += 6 + len;
    }
  }
  const nameIndex = netDescs.findIndex((d) => d.tag === DESC_NETWORK_NAME);
  return {
    tableId: h.tableId,
    networkId: h.tableIdExtension,
    version: h.version,
    networkName: nameIndex >= 0 ? decodeDvbText(netDescs[nameIndex].data) : '',
    networkDescriptors: netDescs.filter((_, i) => i !== nameIndex),
    transportStreams,
  };
}

/** Splits fixed-size entries into descriptors of at most 255 bytes each. */
function chunkedDescriptors(tag: number, entries: Uint8Array[]): Descriptor[] {
  if (entries.length === 0) return [];
  const per = Math.floor(255 / entries[0].length);
  const out: Descriptor[] = [];
  for (let i = 0; i < entries.length; i += per)
    out.push({ tag, data: concatBytes(entries.slice(i, i + per)) });
  return out;
}

/** The descriptors the writer puts in a TS loop, in order. */
export function transportDescriptors(ts: NitTransportStream): Descriptor[] {
  const services = chunkedDescriptors(
    DESC_SERVICE_LIST,
    ts.services.map((s) => Uint8Array.of(s.serviceId >> 8, s.serviceId & 0xff, s.serviceType)),
  );
  const entry = (l: LogicalChannel): Uint8Array =>
    Uint8Array.of(
      l.serviceId >> 8,
      l.serviceId & 0xff,
      (l.visible ? 0x80 : 0) | 0x7c | ((l.lcn >> 8) & 0x03),
      l.lcn & 0xff,
    );
  const lcns = [
    ...chunkedDescriptors(DESC_EACEM_LCN, ts.logicalChannels.map(entry)),
    ...chunkedDescriptors(DESC_EACEM_HD_SIMULCAST_LCN, (ts.hdSimulcastChannels ?? []).map(entry)),
  ];
  const pds: Descriptor[] =
    lcns.length > 0
      ? [{ tag: DESC_PRIVATE_DATA_SPECIFIER, data: Uint8Array.of(0, 0, 0, 0x28) }]
      : [];
  return [...services, ...ts.otherDescriptors, ...pds, ...lcns];
}

function transportEntry(ts: NitTransportStream): Uint8Array {
  const ds = transportDescriptors(ts);
  const len = descriptorsLength(ds);
  if (len > 0xfff) throw new RangeError(`TS ${ts.transportStreamId} descriptors exceed 4095`);
  const e = new Uint8Array(6 + len);
  e[0] = ts.transportStreamId >> 8;
  e[1] = ts.transportStreamId & 0xff;
  e[2] = ts.originalNetworkId >> 8;
  e[3] = ts.originalNetworkId & 0xff;
  e[4] = 0xf0 | (len >> 8);
  e[5] = len & 0xff;
  e.set(serializeDescriptors(ds), 6);
  return e;
}

function loopLength(n: number): Uint8Array {
  return Uint8Array.of(0xf0 | ((n >> 8) & 0x0f), n & 0xff);
}

/**
 * Serializes a NIT. Network descriptors go in section 0; the transport stream loop continues
 * in further sections when it does not fit one 1024-byte section.
 */
export function serializeNit(nit: Nit): Uint8Array[] {
  const net: Descriptor[] = [...nit.networkDescriptors];
  if (nit.networkName !== '')
    net.unshift({ tag: DESC_NETWORK_NAME, data: encodeDvbText(nit.networkName, 255) });
  const netBytes = serializeDescriptors(net);
  // The network descriptors ride as a pseudo-entry at the head of chunk 0.
  const chunks = packEntries(
    [netBytes, ...nit.transportStreams.map(transportEntry)],
    MAX_PSI_SECTION - NIT_OVERHEAD,
  );
  if (chunks.length > 256) throw new RangeError('NIT needs more than 256 sections');
  return chunks.map((c, i) => {
    const nd = i === 0 ? c[0] : new Uint8Array(0);
    const entries = i === 0 ? c.slice(1) : c;
    const tsLoop = concatBytes(entries);
    return buildLongSection({
      tableId: nit.tableId ?? NIT_ACTUAL_TABLE_ID,
      tableIdExtension: nit.networkId,
      version: nit.version,
      sectionNumber: i,
      lastSectionNumber: chunks.length - 1,
      privateBit: true,
      body: concatBytes([loopLength(nd.length), nd, loopLength(tsLoop.length), tsLoop]),
    });
  });
}
