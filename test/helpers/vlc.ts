// VLC (cvlc, Debian's vlc-bin) as a test client. VLC refuses to run as root, so it runs as
// nobody through runuser: that needs real root in a plain network namespace, which
// scripts/in-netns.sh gives when started as root (as CI does). As an ordinary user the
// namespace is a user namespace with no other user to become: VLC tests are skipped, saying so.
import './private-network.js'; // before any socket: only inside the private network namespace
import type { Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Why VLC cannot run here (a skip reason), or false when it can. */
export function vlcSkipReason(): string | false {
  if (spawnSync('cvlc', ['--version'], { stdio: 'ignore' }).error) {
    return 'cvlc is not installed (apt-get install vlc-bin vlc-plugin-base)';
  }
  const r = spawnSync('runuser', ['-u', 'nobody', '--', 'true'], { stdio: 'ignore' });
  if (r.status !== 0) {
    return 'VLC refuses root and runuser -u nobody is not possible here (run the tests as root)';
  }
  return false;
}

/** Runs `cvlc args` as nobody; the child and its collected stdout/stderr. */
export function vlc(
  t: Test,
  args: string[],
): { child: ChildProcess; out: () => string; err: () => string; done: Promise<void> } {
  const child = spawn('runuser', ['-u', 'nobody', '--', 'cvlc', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: killing runuser alone would leave VLC running.
    detached: true,
  });
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: already gone
    }
  };
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<void>((r) => child.on('close', () => r()));
  const guard = setTimeout(() => killGroup('SIGKILL'), 28_000);
  t.teardown(async () => {
    clearTimeout(guard);
    if (child.exitCode === null && child.signalCode === null) killGroup('SIGTERM');
    await done;
  });
  return { child, out: () => out, err: () => err, done };
}

/**
 * Plays `url` for 6 s in VLC with no output devices and its verbose log; resolves with what
 * it logged (stderr), where "using demux module" and "using … decoder module" tell it played.
 */
export async function vlcPlays(t: Test, url: string): Promise<string> {
  const v = vlc(t, [
    ...['-I', 'dummy', '--vout', 'dummy', '--aout', 'dummy'],
    ...['--run-time=6', '--play-and-exit', '-vv', url],
  ]);
  await v.done;
  return v.err();
}
