/** Helpers for the AsyncIterable<Uint8Array> bodies of Connect-ES's universal handlers. */

export async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** A body of no chunks at all (where `once` would send one empty chunk). */
export async function* empty(): AsyncIterable<Uint8Array> {}

/** Reads a whole body; throws what `tooLarge` returns once more than `limit` bytes arrived. */
export async function readAll(body: AsyncIterable<Uint8Array>, limit = Infinity, tooLarge?: () => Error): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge?.() ?? new Error(`body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
