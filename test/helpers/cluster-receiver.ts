// The receivers of the cluster test, run in the hub namespace (netns-rig.ts): joins each group
// given as group:port on the hub's address, keeps every datagram with its arrival time and its
// sender's address, and prints one JSON line per change of sender on a group
// ({"group","from","at"}: nanoseconds of this machine's monotonic clock, as the test's). On
// SIGTERM it writes <dir>/<group>.bin: per datagram [u32 length][f64 ns][u32 sender][bytes].
// Not a test file: it opens sockets outside the lo-only namespace by design.

import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, iface, ...groups] = process.argv.slice(2);
if (!dir || !iface || groups.length === 0) {
  process.stderr.write('usage: cluster-receiver <dir> <interface address> <group:port>...\n');
  process.exit(2);
}
const now = (): number => Number(process.hrtime.bigint());
const ip = (a: string): number => a.split('.').reduce((s, x) => s * 256 + Number(x), 0);
const kept = new Map<string, Buffer[]>();
for (const gp of groups) {
  const [group, port] = gp.split(':') as [string, string];
  const chunks: Buffer[] = [];
  kept.set(group, chunks);
  let last = '';
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (data, rinfo) => {
    const at = now();
    const head = Buffer.alloc(16);
    head.writeUInt32LE(data.length, 0);
    head.writeDoubleLE(at, 4);
    head.writeUInt32LE(ip(rinfo.address), 12);
    chunks.push(head, data);
    if (rinfo.address !== last) {
      last = rinfo.address;
      process.stdout.write(JSON.stringify({ group, from: rinfo.address, at }) + '\n');
    }
  });
  s.bind(Number(port), group, () => {
    s.addMembership(group, iface);
    process.stdout.write(JSON.stringify({ group, joined: true }) + '\n');
  });
}
process.on('SIGTERM', () => {
  for (const [group, chunks] of kept)
    writeFileSync(join(dir, `${group}.bin`), Buffer.concat(chunks));
  process.exit(0);
});
