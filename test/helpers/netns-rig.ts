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
import { readlinkSync } from 'node:fs';
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
