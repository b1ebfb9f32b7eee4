/** Raw bytes for the fuzz suite: random ones, byte-level edits of valid ones, and short previews for reports. */
import fc from "fast-check";

type Edit =
  | { op: "set"; at: number; byte: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; at: number; length: number }
  | { op: "truncate"; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
);

/** Applies one edit; positions wrap around the input's length, so every edit lands somewhere. */
function applyEdit(bytes: Buffer, e: Edit): Buffer {
  const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
  switch (e.op) {
    case "set": {
      if (bytes.length === 0) return Buffer.from([e.byte]);
      const copy = Buffer.from(bytes);
      copy[e.at % bytes.length] = e.byte;
      return copy;
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
    case "duplicate":
      return Buffer.concat([bytes.subarray(0, at + e.length), bytes.subarray(at)]);
    case "truncate":
      return bytes.subarray(0, at);
  }
}

/** One to four byte-level edits of what `source` generates. */
export function mutated(source: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc.tuple(source, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => edits.reduce(applyEdit, Buffer.from(bytes)));
}

export const randomBytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 512 });

/** A short, printable account of some bytes: for assertion messages, never the whole of a 1 MiB body. */
export function preview(bytes: Uint8Array, max = 96): string {
  const head = Buffer.from(bytes.subarray(0, max));
  const text = /^[\x20-\x7e\r\n\t]*$/.test(head.toString("latin1")) ? JSON.stringify(head.toString("latin1")) : `hex ${head.toString("hex")}`;
  return `${bytes.length} bytes: ${text}${bytes.length > max ? "…" : ""}`;
}

/** The value, printed by fast-check in a counterexample as `text` instead of all its (maybe 1 MiB of) bytes. */
export function describedAs<T extends object>(value: T, text: string): T {
  return Object.assign(value, { [fc.toStringMethod]: () => text });
}

export interface Payload {
  bytes: Uint8Array;
}

export const payload = (bytes: Uint8Array): Payload => describedAs({ bytes }, `Payload(${preview(bytes)})`);
