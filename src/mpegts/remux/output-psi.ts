// The PSI/SI of a channel's output: PAT (ISO/IEC 13818-1 §2.4.4.3), PMT (§2.4.4.8) and SDT
// actual (ETSI EN 300 468 §5.2.3), each kept as ready packets (PsiTable) whose version moves only
// when the content changes. The remuxer sends one block (PAT, PMT, SDT) per repetition, followed
// by the network tables (NIT, TDT/TOT: network-tables.ts) when they are due.

import type { ProgramInfo, ServiceInfo } from '../demux.js';
import { serializePat, PAT_PID } from '../psi/pat.js';
import { serializePmt } from '../psi/pmt.js';
import { serializeSdt, SDT_PID } from '../psi/sdt.js';
import { PsiTable, type PsiTableState } from './psi-table.js';
import {
  NetworkTables,
  type NetworkTablesOptions,
  type NetworkTablesState,
} from './network-tables.js';

export interface OutputPsiOptions {
  transportStreamId: number;
  programNumber: number;
  pmtPid: number;
  originalNetworkId: number;
  /** Send an SDT at all. */
  sdt: boolean;
  /** Configured names win over the input's; absent ones follow the input's SDT. */
  serviceName?: string;
  providerName?: string;
  /** service_type (EN 300 468 §6.2.33) to announce; absent: from the streams or the input SDT. */
  serviceType?: number;
  /** NIT and TDT/TOT repetition and local time (network-tables.ts). */
  network?: NetworkTablesOptions;
}

/** The parts of the output identity that can change while running (RemuxOptions names). */
export interface OutputIdentity {
  serviceName?: string;
  providerName?: string;
  programNumber?: number;
  transportStreamId?: number;
}

/** The output's PSI/SI as sent (OutputPsi.state): identity, program, tables with versions and counters. */
export interface OutputPsiState {
  identity: Required<Pick<OutputIdentity, 'programNumber' | 'transportStreamId'>> &
    Pick<OutputIdentity, 'serviceName' | 'providerName'>;
  names: { service: string; provider: string; type: number };
  flags: { eitPf: boolean; eitSchedule: boolean; passSdt: boolean };
  program: ProgramInfo | null;
  pids: readonly number[];
  pcrPid: number;
  inputService: ServiceInfo | null;
  pat: PsiTableState;
  pmt: PsiTableState;
  sdt: PsiTableState | null;
  network: NetworkTablesState;
}

/**
 * What of an output's PSI/SI another process goes on with (continueFrom): all but the network
 * tables' timing, which belongs to the timeline of the process that sent them.
 */
export type OutputSi = Omit<OutputPsiState, 'network'> & {
  network: Pick<NetworkTablesState, 'eitPf' | 'hasEit'>;
};

/** An output's SI to carry to another process: OutputSi of a state. */
export function outputSi(s: OutputPsiState): OutputSi {
  return { ...s, network: { eitPf: s.network.eitPf, hasEit: s.network.hasEit } };
}

export class OutputPsi {
  private readonly pat = new PsiTable(PAT_PID);
  private readonly pmt: PsiTable;
  private readonly sdt: PsiTable | null;
  private serviceName: string;
  private providerName: string;
  private serviceType = 0x01;
  /** EIT_present_following_flag / EIT_schedule_flag of the SDT entry (EN 300 468 §5.2.3). */
  private eitPf = false;
  /** The input SDT entry's other descriptors are carried (SDT passthrough). */
  private passSdt = false;
  private eitSchedule = false;
  /** The program as last set, so an identity change can rebuild the PMT around it. */
  private program: ProgramInfo | null = null;
  private pids: readonly number[] = [];
  private pcrPid = 0x1fff;
  /** The input's SDT entry last seen, for names that stop being configured. */
  private inputService: ServiceInfo | null = null;
  private readonly o: OutputPsiOptions;
  /** NIT, TDT and TOT: in the blocks of a walk when due. */
  readonly network: NetworkTables;

  constructor(o: OutputPsiOptions) {
    this.o = { ...o };
    this.network = new NetworkTables(o.network);
    this.pmt = new PsiTable(o.pmtPid);
    this.sdt = o.sdt ? new PsiTable(SDT_PID) : null;
    this.serviceName = o.serviceName ?? `Service ${o.programNumber}`;
    this.providerName = o.providerName ?? 'headend';
    if (o.serviceType !== undefined) this.serviceType = o.serviceType;
    this.updatePat();
    this.setProgram(null, [], 0x1fff);
    this.updateSdt();
  }

  /**
   * Changes the output identity in place (hot reload of a name/number-only change): PAT, PMT
   * and SDT are rebuilt around the same PIDs, and each table whose content changes gets the
   * next version_number (ISO/IEC 13818-1 §2.4.4.5, EN 300 468 §5.2.3); continuity counters
   * carry on. A name set to undefined follows the input's SDT again. Returns true on a change.
   */
  setIdentity(id: OutputIdentity): boolean {
    if (id.transportStreamId !== undefined) this.o.transportStreamId = id.transportStreamId;
    if (id.programNumber !== undefined) this.o.programNumber = id.programNumber;
    if ('serviceName' in id) this.o.serviceName = id.serviceName;
    if ('providerName' in id) this.o.providerName = id.providerName;
    this.serviceName =
      this.o.serviceName ?? (this.inputService?.serviceName || `Service ${this.o.programNumber}`);
    this.providerName = this.o.providerName ?? (this.inputService?.providerName || 'headend');
    const pat = this.updatePat();
    const rest = this.setProgram(this.program, this.pids, this.pcrPid);
    return pat || rest;
  }

  state(): OutputPsiState {
    const o = this.o;
    return {
      identity: {
        programNumber: o.programNumber,
        transportStreamId: o.transportStreamId,
        serviceName: o.serviceName,
        providerName: o.providerName,
      },
      names: { service: this.serviceName, provider: this.providerName, type: this.serviceType },
      flags: { eitPf: this.eitPf, eitSchedule: this.eitSchedule, passSdt: this.passSdt },
      program: this.program,
      pids: this.pids,
      pcrPid: this.pcrPid,
      inputService: this.inputService,
      pat: this.pat.state(),
      pmt: this.pmt.state(),
      sdt: this.sdt ? this.sdt.state() : null,
      network: this.network.state(),
    };
  }

  /**
   * Goes on from another OutputPsi's state (an output carried to another thread): what it sent,
   * with the same versions and continuity counters. A new identity is setIdentity's after this.
   */
  restore(s: OutputPsiState): void {
    Object.assign(this.o, s.identity);
    this.serviceName = s.names.service;
    this.providerName = s.names.provider;
    this.serviceType = s.names.type;
    this.eitPf = s.flags.eitPf;
    this.eitSchedule = s.flags.eitSchedule;
    this.passSdt = s.flags.passSdt;
    this.program = s.program;
    this.pids = s.pids;
    this.pcrPid = s.pcrPid;
    this.inputService = s.inputService;
    this.pat.restore(s.pat);
    this.pmt.restore(s.pmt);
    if (this.sdt && s.sdt) this.sdt.restore(s.sdt);
    this.network.restore(s.network);
  }

  /**
   * Takes up the SI of an output another process sent (a cluster takeover: the channel's new
   * node goes on with what receivers hold): the tables with their versions and counters, the
   * program and its PIDs, the EIT p/f. Not the NIT or the TDT/TOT timing, which belong to the
   * other process's timeline: they stay this output's own.
   */
  continueFrom(s: OutputSi): void {
    const own = this.network.state();
    this.restore({ ...s, network: own });
    this.network.restore({ ...own, eitPf: s.network.eitPf, hasEit: s.network.hasEit });
  }

  private updatePat(): boolean {
    return this.pat.update((version) =>
      serializePat({
        transportStreamId: this.o.transportStreamId,
        version,
        programs: [{ programNumber: this.o.programNumber, pid: this.o.pmtPid }],
      }),
    );
  }

  /** Packets of PAT + PMT + SDT. */
  private get ownPackets(): number {
    return this.pat.packetCount + this.pmt.packetCount + (this.sdt ? this.sdt.packetCount : 0);
  }

  /**
   * A walk starting at output time t0 begins: the network tables due then join its blocks.
   * Returns the packets in each of its blocks.
   */
  beginWalk(t0: number): number {
    return this.ownPackets + this.network.beginWalk(t0);
  }

  /** A block starts at output time t (the TDT/TOT in it is stamped with that time). */
  blockStart(t: number): void {
    this.network.blockStart(t);
  }

  /** Writes packet i of a repetition at dst[at], with its table's continuity counter. */
  writePacket(i: number, dst: Uint8Array, at: number): void {
    const np = this.pat.packetCount;
    const nm = this.pmt.packetCount;
    const ns = this.sdt ? this.sdt.packetCount : 0;
    if (i < np) this.pat.writePacket(i, dst, at);
    else if (i < np + nm) this.pmt.writePacket(i - np, dst, at);
    else if (i < np + nm + ns) this.sdt!.writePacket(i - np - nm, dst, at);
    else this.network.writePacket(i - np - nm - ns, dst, at);
  }

  /**
   * The program as it leaves: input streams with their output PIDs (-1: dropped) and the output
   * PCR PID. Also derives the SDT service_type from the streams. Returns true on any change.
   */
  setProgram(p: ProgramInfo | null, pids: readonly number[], pcrPid: number): boolean {
    this.program = p;
    this.pids = pids;
    this.pcrPid = pcrPid;
    const streams = p
      ? p.streams
          .map((s, i) => ({ streamType: s.streamType, pid: pids[i], descriptors: s.descriptors }))
          .filter((s) => s.pid >= 0)
      : [];
    const pmtChanged = this.pmt.update((version) => [
      serializePmt({
        programNumber: this.o.programNumber,
        version,
        pcrPid,
        programInfo: p ? p.programInfo : [],
        streams,
      }),
    ]);
    if (p && this.o.serviceType === undefined) {
      const video = p.streams.find((s) => s.kind === 'video');
      this.serviceType = !video ? 0x02 : video.codec === 'hevc' ? 0x1f : 0x01;
    }
    return this.updateSdt() || pmtChanged;
  }

  /** The input's SDT entry for the program: names unless configured, and its service_type. */
  setInputService(s: ServiceInfo): boolean {
    this.inputService = s;
    if (this.o.serviceName === undefined) this.serviceName = s.serviceName || this.serviceName;
    if (this.o.providerName === undefined) this.providerName = s.providerName || this.providerName;
    if (s.serviceType && this.o.serviceType === undefined) this.serviceType = s.serviceType;
    return this.updateSdt();
  }

  /** SDT passthrough (`epg: passthrough`): the input entry's other descriptors ride along. */
  setSdtPassthrough(on: boolean): boolean {
    if (on === this.passSdt) return false;
    this.passSdt = on;
    return this.updateSdt();
  }

  /** Whether the output carries EIT p/f and schedule for the service (the SDT says so). */
  setEitFlags(presentFollowing: boolean, schedule: boolean): boolean {
    this.eitPf = presentFollowing;
    this.eitSchedule = schedule;
    return this.updateSdt();
  }

  private updateSdt(): boolean {
    if (!this.sdt) return false;
    return this.sdt.update((version) =>
      serializeSdt({
        transportStreamId: this.o.transportStreamId,
        originalNetworkId: this.o.originalNetworkId,
        version,
        services: [
          {
            serviceId: this.o.programNumber,
            eitSchedule: this.eitSchedule,
            eitPresentFollowing: this.eitPf,
            runningStatus: 4,
            freeCaMode: false,
            serviceType: this.serviceType,
            providerName: this.providerName,
            serviceName: this.serviceName,
            // EIT/SDT passthrough: the input's other descriptors of the service (CA
            // identifier, linkage, …); the service_descriptor stays the output's own.
            otherDescriptors: this.passSdt ? (this.inputService?.otherDescriptors ?? []) : [],
          },
        ],
      }),
    );
  }
}
