// Network guard for bench/shallow-sender.ts, imported before anything else: the sender runs only
// in the bench's private `snd` namespace (bench/netns.ts), whose interfaces are lo and s0 alone.
// test/helpers/private-network.ts (lo only) cannot serve there; bench/shallow.ts passed it in the
// namespace it started in before making this one as its child.
import { networkInterfaces } from 'node:os';
import { SND_IF } from './netns.js';

const names = Object.keys(networkInterfaces());
if (names.some((n) => n !== 'lo' && n !== SND_IF) || !names.includes(SND_IF)) {
  throw new Error(
    `refusing to send outside the bench's snd namespace (interfaces: ${names.join(', ')})`,
  );
}
