// Hot reload (issue 5), on the real daemon with five light test-pattern channels, all five
// outputs recorded throughout:
//   1. SIGHUP with a file changing one channel's source → only that channel restarts; the four
//      others keep their ffmpeg and show zero continuity errors (TR 101 290 1.4) across it, and
//      so does the restarted one: its output (sent as before) is handed over to the rebuilt
//      channel and spliced to the new source, one stream going on (before: a new socket and a
//      new remuxer, a continuity error on every PID and a gap);
//   2. SIGHUP with an invalid file → `reload-rejected`, each error logged at file:line:column,
//      nothing restarted;
//   3. SIGHUP with a name-only change → `channel-updated`: the SDT carries the new name, the
//      channel's source is not restarted and its output has no continuity error;
//   4. `watch: true`: a file replaced by rename (as editors save) is reloaded without a signal.
import '../helpers/private-network.js';
import t from 'tap';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Demuxer } from '../../src/mpegts/demux.js';
import {
  analyzeRecording,
  check,
  failing,
  marker,
  maxGapMs,
  openRecorder,
  sleep,
  startDaemon,
  stopAndCheck,
  tempDir,
  timed,
} from './helpers.js';
import type { Datagram, LogEvent } from './helpers.js';

const CHANNELS = [1, 2, 3, 4, 5].map((i) => ({
  number: 50 + i,
  name: `Reload ${i}`,
  slug: `reload-${i}`,
  group: `239.255.25.${i}`,
  port: 6500 + i,
  text: marker(`rl${i}`),
}));

function configText(o: { change?: boolean; rename?: boolean; broken?: boolean; watch?: boolean }) {
  return (
    `headend:\n  interface: 127.0.0.1\n  ttl: 1\n  watch: ${o.watch === true}\nchannels:\n` +
    CHANNELS.map((c, i) => {
      const pattern = o.change && i === 2 ? 'testsrc' : 'smpte';
      const name = o.rename && i === 0 ? 'Reload Renamed' : c.name;
      return (
        `  - number: ${c.number}\n    name: ${name}\n    slug: ${c.slug}\n` +
        `    output: udp://${c.group}:${c.port}\n    psi_interval: 100ms\n` +
        `    source:\n      test: { pattern: ${pattern}, resolution: 320x180, rate: 15, ` +
        `bitrate: 150k, text: ${c.text} }\n` +
        (o.broken && i === 1 ? `    bitrate: lots\n` : '')
      );
    }).join('')
  );
}

/** Service names of the SDT in a recording, in order of change. */
function serviceNames(datagrams: Datagram[]): string[] {
  const names: string[] = [];
  const d = new Demuxer({}, { onService: (s) => names.push(s.serviceName) });
  for (const g of datagrams) d.processAligned(g.data);
  return names;
}

const startsOf = (events: LogEvent[], text: string): number =>
  events.filter((e) => e.event === 'source-start' && String(e.source).includes(text)).length;

t.test('reload: one channel restarts, the others stream on; invalid and rename', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'channels.yaml');
  writeFileSync(file, configText({}));
  const d = startDaemon(t, { file });
  await d.waitFor((e) => e.event === 'ready', 15_000);
  for (const c of CHANNELS)
    await d.waitFor(
      (e) => e.event === 'source-up' && e.channel === `${c.number} ${c.name}`,
      20_000,
    );
  const recs = await Promise.all(CHANNELS.map((c) => openRecorder(t, c.group, c.port)));
  await sleep(1500);

  // 1. One channel's source changes.
  let from = d.events.length;
  writeFileSync(file, configText({ change: true }));
  d.proc.kill('SIGHUP');
  const r1 = await d.waitFor((e) => e.event === 'reload', 15_000, from);
  t.same(r1.restarted, ['reload-3'], 'the changed channel restarts');
  t.same(r1.unchanged, ['reload-1', 'reload-2', 'reload-4', 'reload-5'], 'the others do not');
  t.same([r1.added, r1.removed, r1.updated], [[], [], []]);
  t.ok(
    d.events
      .slice(from)
      .some((e) => e.event === 'channel-restarted' && e.channel === '53 Reload 3'),
    'channel-restarted logged',
  );
  await d.waitFor((e) => e.event === 'source-up' && e.channel === '53 Reload 3', 20_000, from);
  await sleep(1500);

  // 2. An invalid file: rejected, errors at file:line:column, nothing touched.
  from = d.events.length;
  writeFileSync(file, configText({ change: true, broken: true }));
  d.proc.kill('SIGHUP');
  await d.waitFor((e) => e.event === 'reload-rejected', 15_000, from);
  const errors = d.events.slice(from).filter((e) => e.event === 'config-error');
  t.ok(errors.length >= 1, 'the error is logged');
  for (const e of errors)
    t.match(
      String(e.message),
      /channels\.yaml:\d+:\d+: /,
      `file:line:column: ${String(e.message)}`,
    );
  t.notOk(
    d.events
      .slice(from)
      .some((e) => /^(reload|channel-(restarted|stop|start|updated))$/.test(e.event)),
    'no channel touched',
  );
  await sleep(1000);

  // 3. A name-only change: SI updated in place.
  from = d.events.length;
  writeFileSync(file, configText({ change: true, rename: true }));
  d.proc.kill('SIGHUP');
  const r3 = await d.waitFor((e) => e.event === 'reload', 15_000, from);
  t.same(r3.updated, ['reload-1'], 'the renamed channel is updated');
  t.same(r3.restarted, [], 'nothing restarts');
  t.ok(
    d.events
      .slice(from)
      .some((e) => e.event === 'channel-updated' && e.channel === '51 Reload Renamed'),
    'channel-updated logged under the new name',
  );
  await sleep(1500);

  // 4. watch: true (applied by a SIGHUP), then a save by rename reloads with no signal.
  from = d.events.length;
  writeFileSync(file, configText({ change: true, rename: true, watch: true }));
  d.proc.kill('SIGHUP');
  await d.waitFor((e) => e.event === 'reload' && e.trigger === 'SIGHUP', 15_000, from);
  t.ok(
    d.events.slice(from).some((e) => e.event === 'watch'),
    'the watch starts',
  );
  from = d.events.length;
  writeFileSync(
    join(dir, 'channels.yaml.tmp'),
    configText({ change: false, rename: true, watch: true }),
  );
  renameSync(join(dir, 'channels.yaml.tmp'), file);
  const r4 = await d.waitFor((e) => e.event === 'reload', 15_000, from);
  t.equal(r4.trigger, 'watch', 'reloaded by the watch');
  t.same(r4.restarted, ['reload-3'], 'the watched change is applied');
  await sleep(1000);

  const recorded = await Promise.all(recs.map((r) => r.close()));
  CHANNELS.forEach((c, i) => {
    if (i === 2) return;
    const rep = analyzeRecording(recs[i]);
    t.equal(
      check(rep, '1.4').errors,
      0,
      `${c.slug}: zero CC errors across the reloads (${failing(rep)})`,
    );
    t.equal(startsOf(d.events, c.text), 1, `${c.slug}: its source started once`);
  });
  t.equal(startsOf(d.events, CHANNELS[2].text), 3, 'reload-3: a new source per change');
  const rep3 = analyzeRecording(recs[2]);
  t.equal(check(rep3, '1.4').errors, 0, `reload-3: zero CC errors across its restarts`);
  t.equal(rep3.priority1Errors, 0, `reload-3: no priority-1 error (${failing(rep3)})`);
  t.equal(check(rep3, '2.3a').errors, 0, `reload-3: PCR every ≤ 40 ms across (${failing(rep3)})`);
  const gap3 = maxGapMs(timed(recs[2]).map((g) => g.ns));
  t.ok(gap3 < 100, `reload-3: largest gap between datagrams ${gap3.toFixed(1)} ms < 100 ms`);
  t.equal(
    d.events.filter((e) => e.event === 'channel-stop' && e.output === 'kept').length,
    2,
    'reload-3: its output was kept at both restarts',
  );
  const names = serviceNames(recorded[0]);
  t.equal(names[0], 'Reload 1', 'SDT before the rename');
  t.equal(names.at(-1), 'Reload Renamed', 'SDT after the rename');
  t.ok(
    serviceNames(recorded[1]).every((n) => n === 'Reload 2'),
    'the other channels keep their names',
  );
  await stopAndCheck(
    t,
    d,
    CHANNELS.map((c) => c.text),
  );
});
