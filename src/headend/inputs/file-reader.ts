// Reads a transport stream file as an async iterable of chunks (1 MiB by default).
// Each chunk is a fresh Uint8Array the consumer may keep. A failure to open or read is
// thrown as a HeadendError (E_IO) from the iterator.

import { open } from 'node:fs/promises';
import { fromSystemError } from '../errors.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

export async function* readFileChunks(
  path: string,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): AsyncGenerator<Uint8Array, void, undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fromSystemError('E_IO', `cannot open '${path}'`, err);
  }
  try {
    for (;;) {
      const buf = new Uint8Array(chunkSize);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buf, 0, chunkSize, null));
      } catch (err) {
        throw fromSystemError('E_IO', `cannot read '${path}'`, err);
      }
      if (bytesRead === 0) return;
      yield bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
