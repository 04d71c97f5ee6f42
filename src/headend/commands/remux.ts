// `headend remux <in.ts> <out.ts>`: runs the remuxer offline over a file and writes the result,
// then prints one summary line. Exit 0, or 2 when a file cannot be read or written or the
// input does not carry the program asked for.

import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Remuxer } from '../../mpegts/remux/remuxer.js';
import type { RemuxOptions, RemuxStats } from '../../mpegts/remux/types.js';
import { HeadendError, fromSystemError } from '../errors.js';
import { readFileChunks } from '../inputs/file-reader.js';
import { EXIT_OK, EXIT_USAGE, type CommandIo } from './io.js';

const BLOCK = 1 << 20;

export async function remuxCommand(
  inPath: string,
  outPath: string,
  options: RemuxOptions,
  io: CommandIo,
): Promise<number> {
  if (resolve(inPath) === resolve(outPath)) {
    io.error(new HeadendError('E_USAGE', `input and output are the same file: '${inPath}'`));
    return EXIT_USAGE;
  }
  let out: FileHandle;
  try {
    out = await open(outPath, 'w');
  } catch (err) {
    io.error(fromSystemError('E_IO', `cannot create '${outPath}'`, err));
    return EXIT_USAGE;
  }
  const writer = new BlockWriter();
  const remuxer = new Remuxer(options, (packets) => writer.put(packets));
  try {
    for await (const chunk of readFileChunks(inPath)) {
      remuxer.push(chunk);
      await writer.flushFull(out, outPath);
    }
    remuxer.end();
    await writer.flushAll(out, outPath);
  } catch (err) {
    io.error(fromSystemError('E_IO', `remux of '${inPath}' failed`, err));
    await out.close().catch(() => undefined);
    return EXIT_USAGE;
  }
  try {
    await out.close();
  } catch (err) {
    io.error(fromSystemError('E_IO', `cannot write '${outPath}'`, err));
    return EXIT_USAGE;
  }
  if (!remuxer.demux.program) {
    const pat = remuxer.demux.pat;
    const listed = pat
      ? pat.programs.filter((p) => p.programNumber !== 0).map((p) => p.programNumber)
      : [];
    const want = options.program === undefined ? 'a program' : `program ${options.program}`;
    const found = pat
      ? `the PAT lists ${listed.length ? listed.join(', ') : 'no program'}`
      : 'no PAT was found';
    io.error(new HeadendError('E_NO_PROGRAM', `'${inPath}' does not carry ${want}: ${found}`));
    return EXIT_USAGE;
  }
  io.out(summaryLine(remuxer.stats, outPath, writer.written) + '\n');
  return EXIT_OK;
}

export function summaryLine(s: RemuxStats, outPath: string, bytesOut: number): string {
  return (
    `remux: ${s.packetsIn} packets in, ${s.packetsOut} out ` +
    `(${s.psiPacketsOut} PSI, ${s.nullPacketsOut} null, ${s.pcrPacketsInserted} PCR-only), ` +
    `${s.packetsDropped} dropped, ${s.splices} splices, ${s.bytesSkipped} bytes skipped, ` +
    `${s.inputCcErrors} input CC errors; wrote ${bytesOut} bytes to ${outPath}`
  );
}

/**
 * Collects the remuxer's output (views valid only during the sink call) into 1 MiB blocks,
 * written between pushes so the sink itself stays synchronous.
 */
class BlockWriter {
  written = 0;
  private full: Uint8Array[] = [];
  private block = new Uint8Array(BLOCK);
  private used = 0;

  put(bytes: Uint8Array): void {
    let p = 0;
    while (p < bytes.length) {
      const n = Math.min(bytes.length - p, BLOCK - this.used);
      this.block.set(bytes.subarray(p, p + n), this.used);
      this.used += n;
      p += n;
      if (this.used === BLOCK) {
        this.full.push(this.block);
        this.block = new Uint8Array(BLOCK);
        this.used = 0;
      }
    }
  }

  async flushFull(out: FileHandle, path: string): Promise<void> {
    const blocks = this.full;
    this.full = [];
    for (const b of blocks) await this.write(out, path, b);
  }

  async flushAll(out: FileHandle, path: string): Promise<void> {
    await this.flushFull(out, path);
    if (this.used > 0) await this.write(out, path, this.block.subarray(0, this.used));
    this.used = 0;
  }

  private async write(out: FileHandle, path: string, b: Uint8Array): Promise<void> {
    try {
      for (let p = 0; p < b.length;) {
        p += (await out.write(b, p, b.length - p)).bytesWritten;
      }
    } catch (err) {
      throw fromSystemError('E_IO', `cannot write '${path}'`, err);
    }
    this.written += b.length;
  }
}
