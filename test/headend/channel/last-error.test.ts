// A channel whose file source ffmpeg cannot read says why in its status: lastError carries
// the exit status and ffmpeg's last error line ("Invalid data found when processing input"),
// not just "exit". A real SourceHub and ffmpeg child on a file of garbage; the pacer sends
// nothing.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../../../src/headend/channel/channel.js';
import { createLogger } from '../../../src/headend/log.js';
import { SourceHub } from '../../../src/headend/sources/hub.js';
import { FFMPEG, waitFor } from '../sources/helpers.js';
import { channelConfig, nullPacer } from './fakes.js';

t.test("a file of garbage: the channel's lastError is ffmpeg's message", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headend-garbage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'garbage.ts');
  writeFileSync(file, 'this is not a media file\n'.repeat(400));
  const hub = new SourceHub({ ffmpegPath: FFMPEG, log: () => undefined });
  t.teardown(() => hub.close());
  const ch = new Channel(channelConfig([{ key: 'garbage', url: file }]), {
    hub,
    pacer: nullPacer,
    log: createLogger({ write: () => undefined }),
    staggerIndex: 0,
  });
  await ch.start();
  t.teardown(() => ch.stop());
  t.ok(await waitFor(() => ch.status().lastError !== undefined, 5000), 'the source failed');
  t.match(
    ch.status().lastError,
    /^\S+garbage\.ts: exit: ffmpeg exited with code 1: .*Invalid data found when processing input$/,
    'the source, the exit status and what ffmpeg said',
  );
});
