// A multi-program transport stream made by Debian's ffmpeg, for the broadcast-input tests
// (a multiplex as a tuner delivers it): each program a small H.264 picture of its own
// pattern and size plus an AAC tone, its service name in the SDT (ffmpeg's program title),
// PCR on the video PID.

import { spawnSync } from 'node:child_process';

export interface MptsProgram {
  /** program_number (service_id). */
  service: number;
  /** Service name in the SDT. */
  name: string;
  size: [number, number];
  pattern: string;
  /** Radio: an audio stream only. */
  radio?: boolean;
}

/** PIDs of each program of a TS file (ffprobe): its PMT, PCR and elementary PIDs. */
export function programPids(file: string): Map<number, number[]> {
  const r = spawnSync('/usr/bin/ffprobe', ['-v', 'error', '-show_programs', '-of', 'json', file], {
    encoding: 'utf8',
  });
  const j = JSON.parse(r.stdout) as {
    programs: { program_id: number; pmt_pid: number; pcr_pid: number; streams: { id: string }[] }[];
  };
  return new Map(
    j.programs.map((p) => [
      p.program_id,
      [p.pmt_pid, p.pcr_pid, ...p.streams.map((s) => Number.parseInt(s.id, 16))],
    ]),
  );
}

/** What a tuner's PID filter should pass for `services` of the file: SI + their PIDs, sorted. */
export function filterFor(file: string, services: number[]): number[] {
  const pids = programPids(file);
  return [
    ...new Set([0, 1, 0x10, 0x11, 0x12, 0x14, ...services.flatMap((s) => pids.get(s) ?? [])]),
  ].sort((a, b) => a - b);
}

/**
 * Writes the MPTS to `file` (seconds long) with ffmpeg; throws with ffmpeg's words on failure.
 * With `muxrate` (bit/s) the multiplex is CBR, as a broadcast one is: a stand-in that sends
 * it at a fixed byte rate then keeps to its PCRs.
 */
export function makeMpts(
  file: string,
  programs: readonly MptsProgram[],
  seconds: number,
  muxrate?: number,
): void {
  const inputs: string[] = [];
  const maps: string[] = [];
  const progs: string[] = [];
  let input = 0;
  let stream = 0;
  programs.forEach((p, i) => {
    const st: number[] = [];
    if (p.radio !== true) {
      inputs.push('-f', 'lavfi', '-i', `${p.pattern}=size=${p.size.join('x')}:rate=25`);
      maps.push('-map', `${input++}:v`);
      st.push(stream++);
    }
    inputs.push('-f', 'lavfi', '-i', `sine=frequency=${330 + 110 * i}:sample_rate=48000`);
    maps.push('-map', `${input++}:a`);
    st.push(stream++);
    progs.push(
      '-program',
      `title=${p.name}:program_num=${p.service}:${st.map((s) => `st=${s}`).join(':')}`,
    );
  });
  const r = spawnSync(
    '/usr/bin/ffmpeg',
    [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...inputs,
      ...['-t', String(seconds), ...maps],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'],
      ...['-b:v', '150k', '-maxrate', '150k', '-bufsize', '150k', '-c:a', 'aac', '-b:a', '48k'],
      ...progs,
      ...(muxrate !== undefined ? ['-muxrate', String(muxrate)] : []),
      ...['-f', 'mpegts', file],
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not make the MPTS: ${r.stderr}`);
}
