/**
 * The seeded user ids as the load generators hold them: one latin1 buffer of fixed-length ids
 * instead of an array of strings, so that a million users do not put a million strings on the
 * generator's heap (whose garbage-collection pauses would be measured as server latency).
 */
import { readFileSync } from "node:fs";

export interface UserIds {
  count: number;
  /** Every id has this many characters (ZITADEL-style 18-digit ids). */
  length: number;
  buffer: Buffer;
  at(i: number): string;
}

export function readUserIds(file: string): UserIds {
  const text = readFileSync(file);
  const length = text.indexOf(0x0a);
  if (length <= 0) throw new Error(`${file}: no user ids`);
  const count = Math.floor(text.length / (length + 1));
  const buffer = Buffer.alloc(count * length);
  for (let i = 0; i < count; i++) {
    const from = i * (length + 1);
    if (text[from + length] !== 0x0a) throw new Error(`${file}: user ids must all have ${length} characters`);
    text.copy(buffer, i * length, from, from + length);
  }
  return { count, length, buffer, at: (i) => buffer.toString("latin1", i * length, (i + 1) * length) };
}
