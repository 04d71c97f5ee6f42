// Network safety guard for every test and benchmark that opens sockets: importing this module
// throws unless the process runs in a private network namespace whose only interface is lo
// (scripts/in-netns.sh makes one; `npm test` and `npm run bench` use it). Run outside it, a
// multicast send could follow the host's default route onto a real network.

import { networkInterfaces } from 'node:os';

const others = Object.keys(networkInterfaces()).filter((name) => name !== 'lo');
if (others.length > 0) {
  throw new Error(
    `refusing to open sockets outside a private network namespace (interfaces: ${others.join(', ')}); ` +
      'run through scripts/in-netns.sh, e.g. `bash scripts/in-netns.sh npx tap dist/test/…` or `npm test`',
  );
}
