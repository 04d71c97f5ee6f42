// Several hosts on one machine for the cluster tests: network namespaces, each held by a
// `sleep` started with `unshare -n` (no names under /run/netns, nothing left on the machine
// when the holders die), joined by veth pairs to a bridge in a hub namespace. The test process
// stays in its own lo-only namespace (private-network.ts) and runs programs in the others with
// nsenter. Every namespace is private: nothing here can reach a real interface.
//
//   hub:   br0 10.99.0.1/24 (receivers, feeders) + 10.99.0.2-4 (etcd members); 224/4 → br0,
//          multicast snooping off so the bridge floods every group to every port
//   node:  eth0 10.99.0.(11+i)/24; 224/4 → eth0

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

export const HUB_ADDRESS = '10.99.0.1';
export const ETCD_ADDRESSES = ['10.99.0.2', '10.99.0.3', '10.99.0.4'];

export interface Host {
  name: string;
  /** The holder's pid: nsenter -t pid -n enters the namespace. */
  pid: number;
  address: string;
}

const netns = (pid: number | 'self'): string => readlinkSync(`/proc/${pid}/ns/net`);

/** A namespace held by `unshare -n sleep infinity`; resolves once the holder is in it. */
async function holder(t: Test, name: string, address: string): Promise<Host> {
  const p = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
  t.teardown(() => void p.kill('SIGKILL'));
  const mine = netns('self');
  for (let i = 0; i < 200; i++) {
    try {
      if (p.pid !== undefined && netns(p.pid) !== mine) return { name, pid: p.pid, address };
    } catch {
      // /proc/<pid> not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the namespace of ${name} did not come up`);
}

/** Runs a shell script in a host's namespace; throws with its stderr when it fails. */
export function sh(h: Host, script: string): string {
  const r = spawnSync('nsenter', ['-t', String(h.pid), '-n', 'sh', '-ec', script], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${h.name}: ${script}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Starts a program in a host's namespace (killed with SIGKILL at teardown if still running). */
export function spawnIn(
  t: Test,
  h: Host,
  cmd: string,
  args: string[],
  o: SpawnOptions = {},
): ChildProcess {
  const p = spawn('nsenter', ['-t', String(h.pid), '-n', cmd, ...args], o);
  t.teardown(() => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  return p;
}

export interface Rig {
  hub: Host;
  nodes: Host[];
  /** Drops this node's traffic to every etcd member (a blackhole route), or lets it through. */
  partition(node: Host, on: boolean): void;
}

export async function makeRig(t: Test, nodeNames: string[]): Promise<Rig> {
  const hub = await holder(t, 'hub', HUB_ADDRESS);
  sh(
    hub,
    [
      'ip link set lo up',
      'ip link add br0 type bridge mcast_snooping 0',
      `ip addr add ${HUB_ADDRESS}/24 dev br0`,
      ...ETCD_ADDRESSES.map((a) => `ip addr add ${a}/24 dev br0`),
      'ip link set br0 up',
      'ip route add 224.0.0.0/4 dev br0',
    ].join('\n'),
  );
  const nodes: Host[] = [];
  for (const [i, name] of nodeNames.entries()) {
    const n = await holder(t, name, `10.99.0.${11 + i}`);
    sh(
      hub,
      `ip link add v${i} type veth peer name eth0 netns ${n.pid}\nip link set v${i} master br0 up`,
    );
    sh(
      n,
      [
        'ip link set lo up',
        `ip addr add ${n.address}/24 dev eth0`,
        'ip link set eth0 up',
        'ip route add 224.0.0.0/4 dev eth0',
      ].join('\n'),
    );
    nodes.push(n);
  }
  return {
    hub,
    nodes,
    partition(node, on) {
      const op = on ? 'add' : 'del';
      sh(node, ETCD_ADDRESSES.map((a) => `ip route ${op} blackhole ${a}/32`).join('\n'));
    },
  };
}

/** Starts etcd's members on the hub (data under `dir`); resolves once every one is healthy. */
export async function startEtcd(t: Test, hub: Host, dir: string): Promise<boolean> {
  const peers = ETCD_ADDRESSES.map((a, i) => `e${i}=http://${a}:2380`).join(',');
  ETCD_ADDRESSES.forEach((a, i) => {
    spawnIn(
      t,
      hub,
      'etcd',
      [
        `--name=e${i}`,
        `--data-dir=${join(dir, `etcd${i}`)}`,
        `--listen-client-urls=http://${a}:2379`,
        `--advertise-client-urls=http://${a}:2379`,
        `--listen-peer-urls=http://${a}:2380`,
        `--initial-advertise-peer-urls=http://${a}:2380`,
        `--initial-cluster=${peers}`,
        '--initial-cluster-state=new',
        '--heartbeat-interval=100',
        '--election-timeout=1000',
      ],
      { stdio: 'ignore' },
    );
  });
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(
      'nsenter',
      [
        '-t',
        String(hub.pid),
        '-n',
        'etcdctl',
        `--endpoints=${ETCD_URLS.join(',')}`,
        'endpoint',
        'health',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    if (r.status === 0) return true;
    await new Promise((res) => setTimeout(res, 200));
  }
  return false;
}

export const ETCD_URLS = ETCD_ADDRESSES.map((a) => `http://${a}:2379`);

/** A change of sender on a group, as the receivers saw it (ns: this machine's monotonic clock). */
export interface SenderChange {
  group: string;
  from: string;
  at: number;
}

/** One datagram of a recording. */
export interface Received {
  ns: number;
  from: string;
  data: Buffer;
}

export interface Receivers {
  changes: SenderChange[];
  /** The last sender seen on a group. */
  senderOf(group: string): string | undefined;
  /** Stops them; then read() has their recordings. */
  stop(): Promise<void>;
  read(group: string): Received[];
}

const RECEIVER = fileURLToPath(new URL('./cluster-receiver.js', import.meta.url));

/** The receivers (cluster-receiver.ts) on the hub, joined to each group:port. */
export function startReceivers(t: Test, hub: Host, dir: string, groups: string[]): Receivers {
  mkdirSync(dir, { recursive: true });
  const changes: SenderChange[] = [];
  const p = spawnIn(t, hub, process.execPath, [RECEIVER, dir, HUB_ADDRESS, ...groups], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let tail = '';
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (s: string) => {
    tail += s;
    let nl: number;
    while ((nl = tail.indexOf('\n')) >= 0) {
      const o = JSON.parse(tail.slice(0, nl)) as Partial<SenderChange>;
      tail = tail.slice(nl + 1);
      if (o.from && o.group && o.at) changes.push(o as SenderChange);
    }
  });
  return {
    changes,
    senderOf: (group) => changes.filter((c) => c.group === group).at(-1)?.from,
    stop: async () => {
      if (p.exitCode !== null) return;
      p.kill('SIGTERM');
      await new Promise((res) => p.once('exit', res));
    },
    read: (group) => readRecording(join(dir, `${group}.bin`)),
  };
}

function readRecording(file: string): Received[] {
  if (!existsSync(file)) return [];
  const b = readFileSync(file);
  const out: Received[] = [];
  for (let o = 0; o + 16 <= b.length;) {
    const len = b.readUInt32LE(o);
    const ns = b.readDoubleLE(o + 4);
    const ip = b.readUInt32LE(o + 12);
    const from = [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.');
    out.push({ ns, from, data: b.subarray(o + 16, o + 16 + len) });
    o += 16 + len;
  }
  return out;
}

/** The runs of one sender after another in a recording. */
export function runsOf(rec: Received[]): { from: string; count: number }[] {
  const runs: { from: string; count: number }[] = [];
  for (const d of rec) {
    const last = runs.at(-1);
    if (last && last.from === d.from) last.count++;
    else runs.push({ from: d.from, count: 1 });
  }
  return runs;
}
