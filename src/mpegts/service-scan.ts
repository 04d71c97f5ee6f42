// What the services of one multiplex are, for `headend scan`: ProgramScanner's programs (PAT,
// PMTs, streams, bitrates) joined with the SDT actual (ETSI EN 300 468 §5.2.3: service name,
// provider, service_type, free_CA_mode, original_network_id) and the NIT actual (§5.2.1:
// network_id, network name, and per transport stream the logical channel numbers).
//
// Logical channel numbers (EACEM TR-030 §6.2.1, also IEC 62216-1), in a TS loop of the NIT,
// in the scope of private_data_specifier_descriptor 0x5F (§6.2.31) = 0x00000028 (EACEM):
//   logical_channel_descriptor            tag 0x83
//   HD_simulcast_logical_channel_descriptor tag 0x88 (the number an HD receiver shows)
//   each: { service_id(16) visible_service_flag(1) reserved(5) logical_channel_number(10) }*
// The UK DTG D-Book (PDS 0x0000233A) uses the same 0x83 layout; NorDig (PDS 0x00000029)
// version 1 has reserved(1) and a 14-bit number. A 0x83 with no PDS before it (common on
// cable) is read as EACEM's.
//
// Complete: PAT, every PMT of it and the SDT seen (ProgramScanner.complete), and the NIT
// actual seen, or `nitWaitMs` passed since the rest was complete (a multiplex may carry no
// NIT; EN 300 468 §5.1.4 repeats it at least every 10 s). Pure: time comes from `now`.

import { Framer, type PacketSink } from './framer.js';
import { getPid } from './packet.js';
import { ProgramScanner, type ScannedProgram, type ScanResult } from './program-scan.js';
import { SectionAssembler } from './psi/assembler.js';
import type { Descriptor } from './psi/descriptors.js';
import {
  DESC_EACEM_LCN,
  DESC_PRIVATE_DATA_SPECIFIER,
  NIT_ACTUAL_TABLE_ID,
  NIT_PID,
  parseNit,
  type Nit,
} from './psi/nit.js';
import { parsePat, PAT_PID, PAT_TABLE_ID } from './psi/pat.js';
import { parseSdt, SDT_ACTUAL_TABLE_ID, SDT_PID } from './psi/sdt.js';
import { TableCollector } from './psi/table-collector.js';

export { DESC_EACEM_HD_SIMULCAST_LCN } from './psi/nit.js';
export const PDS_DTG = 0x0000233a;
export const PDS_NORDIG = 0x00000029;

/** TV, radio, HD TV, or data (teletext, MHP, data broadcast, or no audio/video at all). */
export type ServiceKind = 'tv' | 'hd' | 'radio' | 'data';

/** service_type (EN 300 468 Table 87) → kind; types not listed are judged by their streams. */
const KIND_BY_TYPE: Record<number, ServiceKind> = {
  0x01: 'tv', // digital television service (MPEG-2 SD)
  0x02: 'radio', // digital radio sound service (MPEG-1 Layer 2)
  0x03: 'data', // teletext service
  0x07: 'radio', // FM radio service
  0x0a: 'radio', // advanced codec digital radio sound service
  0x0c: 'data', // data broadcast service
  0x10: 'data', // DVB MHP service
  0x11: 'hd', // MPEG-2 HD digital television service
  0x16: 'tv', // H.264/AVC SD digital television service
  0x19: 'hd', // H.264/AVC HD digital television service
  0x1c: 'hd', // H.264/AVC frame compatible plano-stereoscopic HD
  0x1f: 'hd', // HEVC digital television service
  0x20: 'hd', // HEVC UHD (HDR / HFR) digital television service
};

export interface LogicalChannelNumber {
  serviceId: number;
  lcn: number;
  visible: boolean;
}

/** One transport stream of the NIT actual's loop, with its numbers. */
export interface NitEntry {
  transportStreamId: number;
  originalNetworkId: number;
  /** logical_channel_descriptor (0x83) numbers. */
  lcns: LogicalChannelNumber[];
  /** HD_simulcast_logical_channel_descriptor (0x88) numbers. */
  hdLcns: LogicalChannelNumber[];
}

export interface ScannedService extends ScannedProgram {
  /** service_id = program_number. */
  serviceId: number;
  kind: ServiceKind;
  /** free_CA_mode of the SDT: the service is scrambled. */
  scrambled: boolean;
  /** From the NIT actual's entry for this transport stream. */
  lcn?: number;
  visible?: boolean;
  hdLcn?: number;
}

export interface ServiceScanResult extends ScanResult {
  originalNetworkId?: number;
  networkId?: number;
  networkName?: string;
  nitSeen: boolean;
  /** The NIT actual's transport streams (other multiplexes of the network too). */
  network: NitEntry[];
  services: ScannedService[];
}

export interface ServiceScannerOptions {
  /** See ProgramScanner: 'wall' for live inputs, 'pcr' for files. */
  clock?: 'wall' | 'pcr';
  /** ms clock (default performance.now). */
  now?: () => number;
  /** How long to wait for a NIT once the rest is complete. Default 10 000 ms when the PAT
   *  announces a network PID (program 0), else 2000 ms. */
  nitWaitMs?: number;
}

export class ServiceScanner implements PacketSink {
  private readonly programs: ProgramScanner;
  private readonly framer = new Framer(this);
  private readonly assemblers = new Map<number, SectionAssembler>();
  private readonly tables = new TableCollector();
  private readonly now: () => number;
  private networkPid: number | undefined;
  private onid: number | undefined;
  private readonly scrambled = new Map<number, boolean>();
  private nit: Nit | undefined;
  private network: NitEntry[] = [];
  /** now() when PAT, PMTs and SDT were first all seen. */
  private restCompleteAt = -1;

  constructor(private readonly opts: ServiceScannerOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.programs = new ProgramScanner(opts.clock ?? 'wall', this.now);
    this.watch(PAT_PID);
    this.watch(SDT_PID);
    this.watch(NIT_PID);
  }

  push(chunk: Uint8Array): void {
    this.programs.push(chunk);
    this.framer.push(chunk);
    if (this.restCompleteAt < 0 && this.programs.complete) this.restCompleteAt = this.now();
  }

  packet(b: Uint8Array, o: number): void {
    this.assemblers.get(getPid(b, o))?.push(b, o);
  }

  get nitSeen(): boolean {
    return this.nit !== undefined;
  }

  /** PAT, every PMT, SDT, and the NIT (or the bounded wait for it is over). */
  get complete(): boolean {
    if (!this.programs.complete) return false;
    if (this.nit !== undefined) return true;
    const wait = this.opts.nitWaitMs ?? (this.networkPid !== undefined ? 10_000 : 2000);
    return this.restCompleteAt >= 0 && this.now() - this.restCompleteAt >= wait;
  }

  get packetCount(): number {
    return this.programs.packetCount;
  }

  result(): ServiceScanResult {
    const base = this.programs.result();
    const tsid = base.transportStreamId;
    const mine = this.network.find(
      (e) =>
        e.transportStreamId === tsid &&
        (this.onid === undefined || e.originalNetworkId === this.onid),
    );
    const services = base.programs.map((p): ScannedService => {
      const lcn = mine?.lcns.find((l) => l.serviceId === p.programNumber);
      const hd = mine?.hdLcns.find((l) => l.serviceId === p.programNumber);
      const s: ScannedService = {
        ...p,
        serviceId: p.programNumber,
        kind: serviceKind(p),
        scrambled: this.scrambled.get(p.programNumber) ?? false,
      };
      if (lcn !== undefined) {
        s.lcn = lcn.lcn;
        s.visible = lcn.visible;
      }
      if (hd !== undefined) s.hdLcn = hd.lcn;
      return s;
    });
    const r: ServiceScanResult = {
      ...base,
      nitSeen: this.nit !== undefined,
      network: this.network,
      services,
    };
    if (this.onid !== undefined) r.originalNetworkId = this.onid;
    if (this.nit !== undefined) {
      r.networkId = this.nit.networkId;
      r.networkName = this.nit.networkName;
    }
    return r;
  }

  private watch(pid: number): void {
    if (this.assemblers.has(pid)) return;
    this.assemblers.set(
      pid,
      new SectionAssembler(pid, { onSection: (s, p) => this.onSection(s, p) }),
    );
  }

  private onSection(section: Uint8Array, pid: number): void {
    const tableId = section[0];
    if (pid === PAT_PID && tableId === PAT_TABLE_ID) {
      const sections = this.tables.push(section, pid);
      if (!sections) return;
      const net = parsePat(sections).programs.find((p) => p.programNumber === 0);
      this.networkPid = net?.pid;
      if (net !== undefined) this.watch(net.pid);
    } else if (pid === SDT_PID && tableId === SDT_ACTUAL_TABLE_ID) {
      const sections = this.tables.push(section, pid);
      if (!sections) return;
      const sdt = parseSdt(sections);
      this.onid = sdt.originalNetworkId;
      for (const s of sdt.services) this.scrambled.set(s.serviceId, s.freeCaMode);
    } else if (tableId === NIT_ACTUAL_TABLE_ID && (pid === NIT_PID || pid === this.networkPid)) {
      const sections = this.tables.push(section, pid);
      if (!sections) return;
      this.nit = parseNit(sections);
      this.network = this.nit.transportStreams.map((ts) => ({
        transportStreamId: ts.transportStreamId,
        originalNetworkId: ts.originalNetworkId,
        ...numbersOf(ts.logicalChannels, ts.hdSimulcastChannels ?? [], ts.otherDescriptors),
      }));
    }
  }
}

/** The kind from service_type; a type the SDT leaves vague (or absent) from the streams. */
export function serviceKind(p: ScannedProgram): ServiceKind {
  const hasVideo = p.streams.some((s) => s.kind === 'video');
  const hasAudio = p.streams.some((s) => s.kind === 'audio');
  const byType = p.serviceType !== undefined ? KIND_BY_TYPE[p.serviceType] : undefined;
  // Muxers that write one service_type for all (ffmpeg: 0x01) call a radio service TV.
  if ((byType === undefined || byType === 'tv') && p.streams.length > 0 && !hasVideo) {
    return hasAudio ? 'radio' : 'data';
  }
  return byType ?? (hasVideo ? 'tv' : hasAudio ? 'radio' : 'data');
}

/** One descriptor's { service_id, visible, LCN } entries (4 bytes each). */
export function parseLcnEntries(data: Uint8Array, lcnBits: 10 | 14 = 10): LogicalChannelNumber[] {
  const out: LogicalChannelNumber[] = [];
  const mask = (1 << (lcnBits - 8)) - 1; // bits of the LCN in the third byte
  for (let p = 0; p + 4 <= data.length; p += 4) {
    out.push({
      serviceId: (data[p] << 8) | data[p + 1],
      visible: (data[p + 2] & 0x80) !== 0,
      lcn: ((data[p + 2] & mask) << 8) | data[p + 3],
    });
  }
  return out;
}

/**
 * The 0x83 and 0x88 numbers parseNit took (EACEM scope), plus those it left among the other
 * descriptors: 0x83 under the DTG or NorDig specifier or under none.
 */
function numbersOf(
  eacem: readonly { serviceId: number; visible: boolean; lcn: number }[],
  eacemHd: readonly { serviceId: number; visible: boolean; lcn: number }[],
  others: readonly Descriptor[],
): { lcns: LogicalChannelNumber[]; hdLcns: LogicalChannelNumber[] } {
  const lcns: LogicalChannelNumber[] = eacem.map((l) => ({ ...l }));
  const hdLcns: LogicalChannelNumber[] = eacemHd.map((l) => ({ ...l }));
  let pds = 0;
  for (const d of others) {
    if (d.tag === DESC_PRIVATE_DATA_SPECIFIER) {
      pds = d.data.length >= 4 ? new DataView(d.data.buffer, d.data.byteOffset).getUint32(0) : 0;
    } else if (d.tag === DESC_EACEM_LCN && (pds === 0 || pds === PDS_DTG)) {
      lcns.push(...parseLcnEntries(d.data));
    } else if (d.tag === DESC_EACEM_LCN && pds === PDS_NORDIG) {
      lcns.push(...parseLcnEntries(d.data, 14));
    }
  }
  return { lcns, hdLcns };
}
