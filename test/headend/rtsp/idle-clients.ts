// Child process of abuse.test.ts: opens `n` idle TCP connections to the RTSP server on
// 127.0.0.1:`port` (argv), sends nothing, prints {"open":k,"failed":f} once each has connected
// or failed, and exits (closing them all) when its stdin ends. In its own process so that the
// server's process holds only its own side of each connection (fd limit: see abuse.test.ts).
import '../../helpers/private-network.js';
import { connect, type Socket } from 'node:net';

const [port, n] = process.argv.slice(2).map(Number);
const sockets: Socket[] = [];
let open = 0;
for (let i = 0; i < n; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, n - i) }, () => {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => undefined);
      return new Promise<void>((resolve) => {
        s.once('connect', () => {
          open++;
          resolve();
        });
        s.once('close', () => resolve());
      });
    }),
  );
}
process.stdout.write(JSON.stringify({ open, failed: n - open }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
