// Service Description Table: ETSI EN 300 468 §5.2.3, PID 0x0011.
// table_id 0x42 (actual TS), 0x46 (other TS).
//   long section header (table_id_extension = transport_stream_id, private bit = 1)
//   original_network_id(16) | reserved_future_use(8)
//   { service_id(16) reserved_future_use(6) EIT_schedule_flag(1) EIT_present_following_flag(1)
//     running_status(3) free_CA_mode(1) descriptors_loop_length(12) descriptors }*
//   CRC_32
// service_descriptor 0x48 (§6.2.33): service_type(8) provider_name_length(8) provider_name
//   service_name_length(8) service_name.
// The writer always emits one service_descriptor first in each service's loop, then the other
// descriptors; a service whose loop lacked one parses as serviceType 0 with empty names.

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
  writeDescriptors,
} from './descriptors.js';
import { decodeDvbText, encodeDvbText } from './dvb-text.js';

export const SDT_PID = 0x0011;
export const SDT_ACTUAL_TABLE_ID = 0x42;
export const SDT_OTHER_TABLE_ID = 0x46;
export const DESC_SERVICE = 0x48;

/** running_status (Table 6): 4 = running. */
export const RUNNING_STATUS_RUNNING = 4;

/** service_type values in common use (Table 87). */
export const SERVICE_TYPE_TV = 0x01;
export const SERVICE_TYPE_RADIO = 0x02;
export const SERVICE_TYPE_AVC_SD = 0x16;
export const SERVICE_TYPE_AVC_HD = 0x19;
export const SERVICE_TYPE_HEVC = 0x1f;

/** Table 87's sound services: digital radio (0x02), FM radio (0x07), advanced codec radio (0x0A). */
const RADIO_SERVICE_TYPES: ReadonlySet<number> = new Set([SERVICE_TYPE_RADIO, 0x07, 0x0a]);

/** Whether a service_type is a radio (sound-only) service (Table 87). */
export function isRadioServiceType(type: number | undefined): boolean {
  return type !== undefined && RADIO_SERVICE_TYPES.has(type);
}

export interface SdtService {
  serviceId: number;
  eitSchedule: boolean;
  eitPresentFollowing: boolean;
  runningStatus: number;
  freeCaMode: boolean;
  serviceType: number;
  providerName: string;
  serviceName: string;
  /** Descriptors other than the first service_descriptor, raw and in order. */
  otherDescriptors: Descriptor[];
}

export interface Sdt {
  /** 0x42 (actual, the default) or 0x46 (other). */
  tableId?: number;
  transportStreamId: number;
  originalNetworkId: number;
  version: number;
  services: SdtService[];
}

/** Header (8) + original_network_id and reserved byte (3) + CRC (4). */
const SDT_OVERHEAD = 8 + 3 + 4;

/** Parses the service_descriptor payload. */
export function parseServiceDescriptor(d: Uint8Array): {
  serviceType: number;
  providerName: string;
  serviceName: string;
} {
  const serviceType = d[0] ?? 0;
  const pLen = d[1] ?? 0;
  const provider = d.subarray(2, Math.min(2 + pLen, d.length));
  const sAt = 2 + pLen;
  const sLen = d[sAt] ?? 0;
  const service = d.subarray(sAt + 1, Math.min(sAt + 1 + sLen, d.length));
  return {
    serviceType,
    providerName: decodeDvbText(provider),
    serviceName: decodeDvbText(service),
  };
}

/** Builds a service_descriptor; names are cut so the descriptor fits 255 bytes. */
export function serviceDescriptor(
  serviceType: number,
  providerName: string,
  serviceName: string,
): Descriptor {
  const provider = encodeDvbText(providerName, 126);
  const service = encodeDvbText(serviceName, 253 - provider.length);
  const data = new Uint8Array(3 + provider.length + service.length);
  data[0] = serviceType;
  data[1] = provider.length;
  data.set(provider, 2);
  data[2 + provider.length] = service.length;
  data.set(service, 3 + provider.length);
  return { tag: DESC_SERVICE, data };
}

/** Parses all sections of one SDT sub-table (any order). */
export function parseSdt(sections: readonly Uint8Array[]): Sdt {
  const list = ordered(sections);
  const h = parseSectionHeader(list[0]);
  let originalNetworkId = 0;
  const services: SdtService[] = [];
  for (const s of list) {
    const b = sectionBody(s);
    if (b.length < 3) continue;
    originalNetworkId = (b[0] << 8) | b[1];
    let p = 3;
    while (p + 5 <= b.length) {
      const len = ((b[p + 3] & 0x0f) << 8) | b[p + 4];
      const end = Math.min(p + 5 + len, b.length);
      const all = parseDescriptors(b, p + 5, end);
      const sdIndex = all.findIndex((d) => d.tag === DESC_SERVICE);
      const sd =
        sdIndex >= 0
          ? parseServiceDescriptor(all[sdIndex].data)
          : { serviceType: 0, providerName: '', serviceName: '' };
      services.push({
        serviceId: (b[p] << 8) | b[p + 1],
        eitSchedule: (b[p + 2] & 0x02) !== 0,
        eitPresentFollowing: (b[p + 2] & 0x01) !== 0,
        runningStatus: b[p + 3] >> 5,
        freeCaMode: (b[p + 3] & 0x10) !== 0,
        ...sd,
        otherDescriptors: all.filter((_, i) => i !== sdIndex),
      });
      p += 5 + len;
    }
  }
  return {
    tableId: h.tableId,
    transportStreamId: h.tableIdExtension,
    originalNetworkId,
    version: h.version,
    services,
  };
}

function serviceEntry(s: SdtService): Uint8Array {
  const ds = [
    serviceDescriptor(s.serviceType, s.providerName, s.serviceName),
    ...s.otherDescriptors,
  ];
  const len = descriptorsLength(ds);
  if (len > 0xfff) throw new RangeError(`service ${s.serviceId} descriptors exceed 4095 bytes`);
  const e = new Uint8Array(5 + len);
  e[0] = s.serviceId >> 8;
  e[1] = s.serviceId & 0xff;
  e[2] = 0xfc | (s.eitSchedule ? 0x02 : 0) | (s.eitPresentFollowing ? 0x01 : 0);
  e[3] = ((s.runningStatus & 0x07) << 5) | (s.freeCaMode ? 0x10 : 0) | (len >> 8);
  e[4] = len & 0xff;
  writeDescriptors(e, 5, ds);
  return e;
}

/**
 * Serializes an SDT; a service loop longer than one 1024-byte section continues in further
 * sections (each repeats original_network_id). An empty SDT is one section with no services.
 */
export function serializeSdt(sdt: Sdt): Uint8Array[] {
  const chunks = packEntries(sdt.services.map(serviceEntry), MAX_PSI_SECTION - SDT_OVERHEAD);
  if (chunks.length > 256) throw new RangeError('SDT needs more than 256 sections');
  return chunks.map((c, i) => {
    const head = Uint8Array.of(sdt.originalNetworkId >> 8, sdt.originalNetworkId & 0xff, 0xff);
    return buildLongSection({
      tableId: sdt.tableId ?? SDT_ACTUAL_TABLE_ID,
      tableIdExtension: sdt.transportStreamId,
      version: sdt.version,
      sectionNumber: i,
      lastSectionNumber: chunks.length - 1,
      privateBit: true,
      body: concatBytes([head, ...c]),
    });
  });
}
