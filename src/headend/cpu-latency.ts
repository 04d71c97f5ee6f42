// Holds a PM QoS CPU latency request (Linux Documentation/admin-guide/pm/cpuidle.rst, "Power
// Management Quality of Service for CPUs"): while /dev/cpu_dma_latency is open with a value
// written to it (a binary s32, µs), the cpuidle governor keeps every CPU out of idle states
// whose exit latency exceeds it; closing the file drops the request.
//
// Why a headend wants it (headend.pacing.cpu_dma_latency): the pacing thread sleeps between
// sends and must wake on time. On a virtual machine an idle vCPU halts and the host takes
// milliseconds to run it again (measured here: a SCHED_FIFO thread sleeping to deadlines woke
// up to 4.9 ms late, p99 0.64 ms; with the request at 0, p99 0.05 ms). On bare metal the deep
// C-states cost ~0.1-0.2 ms. The price is power: CPUs poll instead of sleeping.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from './log.js';

export const CPU_DMA_LATENCY = '/dev/cpu_dma_latency';

export interface CpuLatencyHold {
  readonly us: number;
  /** Drops the request (closes the file). Idempotent. */
  release(): void;
}

export type CpuLatencyResult =
  { ok: true; hold: CpuLatencyHold } | { ok: false; code: string; message: string };

/** Asks for at most `us` µs of CPU wake-up latency until release(). Never throws. */
export function holdCpuLatency(us: number, path = CPU_DMA_LATENCY): CpuLatencyResult {
  if (!(Number.isInteger(us) && us >= 0 && us <= 0x7fffffff)) {
    return { ok: false, code: 'ERANGE', message: `latency must be 0..2147483647 µs, got ${us}` };
  }
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, code: err.code ?? 'EIO', message: `${path}: ${err.message}` };
  }
  try {
    const value = Buffer.alloc(4);
    value.writeInt32LE(us, 0); // the kernel reads a native-endian s32 (x86, arm64: little)
    writeSync(fd, value);
  } catch (e) {
    closeSync(fd);
    const err = e as NodeJS.ErrnoException;
    return { ok: false, code: err.code ?? 'EIO', message: `${path}: ${err.message}` };
  }
  let open = true;
  return {
    ok: true,
    hold: {
      us,
      release() {
        if (!open) return;
        open = false;
        closeSync(fd);
      },
    },
  };
}

/** headend.pacing.cpu_dma_latency: holds the request while the daemon runs (null: not asked). */
export function holdPacingLatency(us: number | null, log: Logger): CpuLatencyHold | null {
  if (us === null) return null;
  const r = holdCpuLatency(us);
  if (r.ok) {
    log.log('info', 'cpu-latency', { us, file: CPU_DMA_LATENCY });
    return r.hold;
  }
  log.log('warn', 'cpu-latency-failed', {
    us,
    code: r.code,
    message: r.message,
    hint: 'needs root (the file is root-only); under systemd, tuned-adm profile latency-performance holds it for the whole machine',
  });
  return null;
}
