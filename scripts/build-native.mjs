#!/usr/bin/env node
// `npm install` runs this: builds the native UDP addon (native/udp.c, sendmmsg/recvmmsg) and
// the pacing thread's scheduling slice (native/sched.c, sched_setattr) with node-gyp. Where it cannot be built (not Linux, no make or C compiler), it says so and
// succeeds: the headend then sends and receives with node:dgram, at a higher CPU cost per
// datagram, and logs `native-udp` with the reason at start.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
if (process.platform !== 'linux') {
  console.log(`native UDP addon: not built (Linux only; this is ${process.platform})`);
  process.exit(0);
}
// npm puts its bundled node-gyp on PATH for install scripts.
const r = spawnSync('node-gyp', ['rebuild'], { cwd: dir, stdio: 'inherit' });
if (r.status !== 0) {
  console.warn(
    'native UDP addon: not built (node-gyp failed: it needs python3, make and a C compiler, ' +
      'e.g. `apt-get install build-essential python3`). The headend works without it, using ' +
      'more CPU per datagram.',
  );
}
