// makeThreadRealtime: a worker thread puts itself under SCHED_FIFO with util-linux chrt, and
// only itself (the policy is per thread). Checked from the kernel's side: /proc/<pid>/task/<tid>/
// stat field 41 (policy: 0 SCHED_OTHER, 1 SCHED_FIFO) and field 40 (rt_priority), proc(5).
// Where this process may not use real-time scheduling (no root, CAP_SYS_NICE or RLIMIT_RTPRIO),
// the result must say so with chrt's reason, and the thread stays as it was. The same for the
// thread's nice value (setThreadNice, field 19).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  PACING_TIMER_SLACK_NS,
  makeThreadRealtime,
  setThreadNice,
  threadId,
  type NiceResult,
} from '../../src/scheduler/realtime.js';
import type { RealtimeResult } from '../../src/scheduler/protocol.js';

/** [policy, rt_priority] of one thread of this process. */
function policyOf(tid: number): [number, number] {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // field 3 onwards
  return [Number(fields[41 - 3]), Number(fields[40 - 3])];
}

const permitted = spawnSync('chrt', ['-f', '1', 'true']).status === 0;

/** Runs makeThreadRealtime(priority, chrt) in a fresh worker; its result once it stays alive. */
function inWorker(
  priority: number,
  chrt = 'chrt',
): Promise<{ result: RealtimeResult; worker: Worker }> {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.mod).then((m) => {
      parentPort.postMessage(m.makeThreadRealtime(workerData.priority, workerData.chrt));
      setInterval(() => {}, 1000); // stays alive until terminated
    });`;
  const mod = new URL('../../src/scheduler/realtime.js', import.meta.url).href;
  const worker = new Worker(src, { eval: true, workerData: { mod, priority, chrt } });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: RealtimeResult) => resolve({ result, worker }));
    worker.once('error', reject);
  });
}

t.test('threadId is this thread, not the process', async (t) => {
  const tid = threadId();
  t.equal(tid, process.pid, 'the main thread of a process has its pid as tid');
  const { result, worker } = await inWorker(0, '/nonexistent/chrt');
  t.teardown(() => worker.terminate());
  t.not(result.tid, process.pid, 'a worker has a tid of its own');
  t.ok(result.tid > 0);
});

t.test('a worker becomes SCHED_FIFO, the rest of the process does not', async (t) => {
  const { result, worker } = await inWorker(7);
  t.teardown(() => worker.terminate());
  if (!permitted) {
    t.equal(result.ok, false, 'not permitted here: refused');
    t.match(result.error, /chrt: .+/, `with chrt's reason: ${result.error}`);
    t.same(policyOf(result.tid), [0, 0], 'the thread stays SCHED_OTHER');
    return;
  }
  t.same(result, { ok: true, priority: 7, tid: result.tid });
  t.same(policyOf(result.tid), [1, 7], 'the worker: SCHED_FIFO, priority 7');
  t.same(policyOf(process.pid), [0, 0], 'the main thread: unchanged');
});

t.test('no chrt: a clear error, never a throw', async (t) => {
  const { result, worker } = await inWorker(5, '/nonexistent/chrt');
  t.teardown(() => worker.terminate());
  t.equal(result.ok, false);
  t.match(result.error, /\/nonexistent\/chrt: .*ENOENT/);
  t.same(policyOf(result.tid), [0, 0]);
});

t.test('an invalid priority is refused by chrt, the thread unchanged', async (t) => {
  const r = makeThreadRealtime(1000);
  t.equal(r.ok, false);
  t.match(r.error, /chrt: /);
  t.same(policyOf(process.pid), [0, 0]);
});

t.test("a refusal names chrt once, with chrt's own words", async (t) => {
  // A stand-in for chrt as an unprivileged user sees it (util-linux prints its own name).
  const dir = mkdtempSync(join(tmpdir(), 'chrt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'chrt');
  writeFileSync(
    fake,
    `#!/bin/sh\necho "chrt: failed to set pid $4's policy: Operation not permitted" >&2\nexit 1\n`,
    { mode: 0o755 },
  );
  const r = makeThreadRealtime(10, fake);
  t.equal(r.ok, false);
  t.match(r.error, /^chrt: failed to set pid \d+'s policy: Operation not permitted$/);
  // Words that do not name it get its name (the path given) before them.
  writeFileSync(fake, '#!/bin/sh\necho "no such policy" >&2\nexit 1\n', { mode: 0o755 });
  t.equal(makeThreadRealtime(10, fake).error, `${fake}: no such policy`);
});

t.test('setThreadTimerSlack: the calling thread only, no privilege needed', async (t) => {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    import(workerData.mod).then((m) => {
      const r = m.setThreadTimerSlack(workerData.ns);
      const tid = m.threadId();
      parentPort.postMessage({ r, tid, slack: readFileSync('/proc/' + tid + '/timerslack_ns', 'utf8').trim() });
    });`;
  const mod = new URL('../../src/scheduler/realtime.js', import.meta.url).href;
  const mainBefore = readFileSync(`/proc/${process.pid}/timerslack_ns`, 'utf8').trim();
  const worker = new Worker(src, { eval: true, workerData: { mod, ns: PACING_TIMER_SLACK_NS } });
  t.teardown(() => worker.terminate());
  const got = await new Promise<{ r: { ok: boolean }; tid: number; slack: string }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  t.same(got.r, { ok: true });
  t.equal(got.slack, String(PACING_TIMER_SLACK_NS), 'the worker sleeps with 1 µs of slack');
  t.not(got.tid, process.pid);
  t.equal(
    readFileSync(`/proc/${process.pid}/timerslack_ns`, 'utf8').trim(),
    mainBefore,
    'the main thread keeps its own',
  );
});

/** A thread's nice value from the kernel's side: /proc/<pid>/task/<tid>/stat field 19, proc(5). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
}

t.test(
  'setThreadNice: the calling thread only; refused: the reason, the thread as it was',
  async (t) => {
    const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.mod).then((m) => {
      parentPort.postMessage(m.setThreadNice(workerData.nice));
      setInterval(() => {}, 1000); // stays alive until terminated
    });`;
    const mod = new URL('../../src/scheduler/realtime.js', import.meta.url).href;
    const mainBefore = niceOf(process.pid);
    // Raising a nice value is always allowed; lowering it needs a privilege (root here, in CI).
    for (const nice of [5, -10]) {
      const worker = new Worker(src, { eval: true, workerData: { mod, nice } });
      t.teardown(() => worker.terminate());
      const r = await new Promise<NiceResult>((res, rej) => {
        worker.once('message', res);
        worker.once('error', rej);
      });
      t.not(r.tid, process.pid, 'a worker has a tid of its own');
      if (r.ok) {
        t.same(r, { ok: true, asked: nice, nice, tid: r.tid }, `nice ${nice}`);
        t.equal(niceOf(r.tid), nice, 'as the kernel has it');
      } else {
        t.equal(nice < 0, true, `only lowering may be refused: ${r.error}`);
        t.match(r.error, /not permitted \(EACCES\)|not permitted \(EPERM\)/);
        t.equal(r.nice, mainBefore, 'the thread keeps the nice value it started with');
        t.equal(niceOf(r.tid), mainBefore);
      }
    }
    t.equal(niceOf(process.pid), mainBefore, 'the main thread keeps its own');

    // Refused (an unprivileged user: setpriority fails EACCES): said, never thrown.
    const eacces = Object.assign(
      new Error('A system error occurred: uv_os_setpriority returned EACCES'),
      {
        code: 'ERR_SYSTEM_ERROR',
        info: { code: 'EACCES' },
      },
    );
    const refused = setThreadNice(
      -10,
      () => {
        throw eacces;
      },
      () => 0,
    );
    t.same(refused, {
      ok: false,
      asked: -10,
      nice: 0,
      tid: process.pid,
      error: `setpriority(${process.pid}, -10): not permitted (EACCES)`,
    });
    t.equal(niceOf(process.pid), mainBefore);
  },
);

t.test("nameThread: the calling thread only, cut to the kernel's 15 bytes", async (t) => {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.mod).then((m) => {
      parentPort.postMessage({ r: m.nameThread(workerData.name), tid: m.threadId() });
      setInterval(() => {}, 1000); // stays alive until terminated
    });`;
  const mod = new URL('../../src/scheduler/realtime.js', import.meta.url).href;
  const comm = (tid: number): string =>
    readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim();
  const mainBefore = comm(process.pid);
  const worker = new Worker(src, {
    eval: true,
    workerData: { mod, name: 'headend-lane12-and-more' },
  });
  t.teardown(() => worker.terminate());
  const got = await new Promise<{ r: { ok: boolean }; tid: number }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  t.same(got.r, { ok: true });
  t.equal(comm(got.tid), 'headend-lane12-', 'as ps -L shows it: 15 bytes');
  t.equal(comm(process.pid), mainBefore, 'the main thread keeps its name');
});
