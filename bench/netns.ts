// A shallow-buffer switch port made of network namespaces, for bench/shallow.ts:
//
//   snd (s0 10.99.0.1/24) ── veth ── b0 ┐
//                                       mid: bridge br0 (multicast snooping off: groups flood)
//   rcv (r0 10.99.0.2/24) ── veth ── b1 ┘  egress b1: tbf rate R burst B limit L (the shallow buffer)
//
// Each namespace is a child of the namespace this process runs in (a private one: the caller
// imports test/helpers/private-network.ts first), held open by a `cat` that exits when our end of
// its stdin closes — so the namespaces, and the veths with them, vanish even if we are killed.
// The veths are created straight inside `snd`/`rcv` with their peer in `mid`: no veth end ever
// exists, even for a moment, in the namespace we started in. Commands run in a namespace through
// `nsenter --net=/proc/<holder>/ns/net` (named namespaces would need a private /run/netns mount).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export type Ns = 'snd' | 'mid' | 'rcv';

export const SND_ADDR = '10.99.0.1';
export const RCV_ADDR = '10.99.0.2';
/** The sender's only interface besides lo (shallow-sender.ts checks it runs beside it alone). */
export const SND_IF = 's0';

export interface ShaperOptions {
  rateBps: number;
  burstBytes: number;
  limitBytes: number;
}

/** tbf's counters on b1 (qdisc_pkt_len: Ethernet frames, 14-byte header included). */
export interface ShaperStats {
  packets: number;
  bytes: number;
  dropped: number;
  overlimits: number;
}

/** A namespace's UDP MIB (/proc/net/snmp, read inside it). */
export interface UdpMib {
  OutDatagrams: number;
  InDatagrams: number;
  RcvbufErrors: number;
  SndbufErrors: number;
}

function check(r: ReturnType<typeof spawnSync>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}: ${String(r.stderr).trim()}`);
  return String(r.stdout);
}

export class SwitchPort {
  private readonly children = new Set<ChildProcess>();
  private closed = false;

  private constructor(private readonly holders: Map<Ns, ChildProcess>) {}

  /** Builds the three namespaces, the veths, the bridge and the shaper; all gone on failure. */
  static async create(shaper: ShaperOptions): Promise<SwitchPort> {
    const holders = new Map<Ns, ChildProcess>();
    const port = new SwitchPort(holders);
    try {
      for (const ns of ['snd', 'mid', 'rcv'] as const) holders.set(ns, await hold());
      const mid = port.pid('mid');
      port.run('snd', 'ip', [
        'link',
        'add',
        SND_IF,
        'type',
        'veth',
        'peer',
        'name',
        'b0',
        'netns',
        mid,
      ]);
      port.run('rcv', 'ip', [
        'link',
        'add',
        'r0',
        'type',
        'veth',
        'peer',
        'name',
        'b1',
        'netns',
        mid,
      ]);
      port.run('mid', 'ip', ['link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
      for (const p of ['b0', 'b1']) port.run('mid', 'ip', ['link', 'set', p, 'master', 'br0']);
      for (const l of ['lo', 'b0', 'b1', 'br0']) port.run('mid', 'ip', ['link', 'set', l, 'up']);
      for (const [ns, dev, addr] of [
        ['snd', SND_IF, SND_ADDR],
        ['rcv', 'r0', RCV_ADDR],
      ] as const) {
        port.run(ns, 'ip', ['link', 'set', 'lo', 'up']);
        port.run(ns, 'ip', ['addr', 'add', `${addr}/24`, 'dev', dev]);
        port.run(ns, 'ip', ['link', 'set', dev, 'up']);
        port.run(ns, 'ip', ['route', 'add', '224.0.0.0/4', 'dev', dev]);
      }
      port.setShaper(shaper);
      return port;
    } catch (e) {
      port.close();
      throw e;
    }
  }

  private pid(ns: Ns): string {
    const p = this.holders.get(ns)?.pid;
    if (p === undefined || this.closed) throw new Error(`namespace ${ns} is not open`);
    return String(p);
  }

  private nsenter(ns: Ns): string[] {
    return [`--net=/proc/${this.pid(ns)}/ns/net`];
  }

  /** Runs a command to completion inside `ns`; its stdout. Throws on failure. */
  run(ns: Ns, cmd: string, args: string[]): string {
    const r = spawnSync('nsenter', [...this.nsenter(ns), cmd, ...args], { encoding: 'utf8' });
    return check(r, `${ns}: ${cmd} ${args.join(' ')}`);
  }

  /** Starts a process inside `ns` (nsenter execs it: same pid); killed by close() if still up. */
  spawn(ns: Ns, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const p = spawn('nsenter', [...this.nsenter(ns), cmd, ...args], opts);
    this.children.add(p);
    p.once('exit', () => this.children.delete(p));
    return p;
  }

  /** (Re)installs the tbf on b1, which also zeroes its counters and fills its bucket. */
  setShaper(s: ShaperOptions): void {
    spawnSync('nsenter', [...this.nsenter('mid'), 'tc', 'qdisc', 'del', 'dev', 'b1', 'root']);
    this.run('mid', 'tc', [
      ...['qdisc', 'add', 'dev', 'b1', 'root', 'tbf', 'rate', `${Math.round(s.rateBps)}bit`],
      ...['burst', String(s.burstBytes), 'limit', String(s.limitBytes)],
    ]);
  }

  shaperStats(): ShaperStats {
    const list = JSON.parse(this.run('mid', 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', 'b1'])) as {
      kind: string;
      packets: number;
      bytes: number;
      drops: number;
      overlimits: number;
    }[];
    const q = list.find((x) => x.kind === 'tbf');
    if (!q) throw new Error('no tbf on b1');
    return { packets: q.packets, bytes: q.bytes, dropped: q.drops, overlimits: q.overlimits };
  }

  udp(ns: Ns): UdpMib {
    const lines = this.run(ns, 'cat', ['/proc/net/snmp'])
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const keys = lines[0].split(/\s+/).slice(1);
    const vals = lines[1].split(/\s+/).slice(1).map(Number);
    const m = Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
    return {
      OutDatagrams: m.OutDatagrams,
      InDatagrams: m.InDatagrams,
      RcvbufErrors: m.RcvbufErrors,
      SndbufErrors: m.SndbufErrors,
    };
  }

  /** Kills what we started inside and the holders: the namespaces go with them. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.children) if (p.exitCode === null) p.kill('SIGKILL');
    for (const h of this.holders.values()) {
      h.stdin?.destroy();
      if (h.exitCode === null) h.kill('SIGKILL');
    }
  }
}

/** A process in a new network namespace (a child of ours) that lives until its stdin closes. */
async function hold(): Promise<ChildProcess> {
  const p = spawn('unshare', ['-n', 'sh', '-c', 'echo up; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    p.once('error', reject);
    p.once('exit', (c) => reject(new Error(`unshare -n exited ${c}`)));
    p.stdout!.once('data', () => resolve());
  });
  p.removeAllListeners('exit');
  p.removeAllListeners('error');
  return p;
}
