/**
 * Binary protobuf request bodies: valid ones, byte-level edits of them, valid ones with a
 * raw field appended (any number and wire type, invalid UTF-8, groups nested thousands
 * deep, varints that never end), and random bytes.
 */
import fc from "fast-check";
import type { DescMethod } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { mutated, randomBytes } from "./fuzz-bytes.js";
import { encodedMessage } from "./fuzz-messages.js";

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

const fieldNumber = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: MAX_FIELD_NUMBER }));

/** A field that decoders must either skip, refuse or choke on; never one they can take for granted. */
const rawField: fc.Arbitrary<Uint8Array> = fc.oneof(
  // Any tag (wire types 6 and 7 do not exist) followed by a few random bytes.
  fc.tuple(fieldNumber, fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 })).map(([no, wireType, rest]) =>
    Buffer.concat([new BinaryWriter().uint32(no * 8 + wireType).finish(), rest]),
  ),
  // A length-delimited field whose bytes are not UTF-8.
  fc.tuple(fieldNumber, fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82])).map(([no, bad]) =>
    new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(Uint8Array.from(bad)).finish(),
  ),
  // Groups nested far deeper than any decoder's recursion limit.
  fc.tuple(fieldNumber, fc.integer({ min: 100, max: 50_000 })).map(([no, depth]) => {
    const start = new BinaryWriter().tag(no, WireType.StartGroup).finish();
    const end = new BinaryWriter().tag(no, WireType.EndGroup).finish();
    return Buffer.concat([...Array<Uint8Array>(depth).fill(start), ...Array<Uint8Array>(depth).fill(end)]);
  }),
  // A varint of eleven or more bytes (at most ten are valid).
  fc.tuple(fieldNumber, fc.integer({ min: 11, max: 40 })).map(([no, length]) =>
    Buffer.concat([new BinaryWriter().tag(no, WireType.Varint).finish(), Buffer.alloc(length, 0xff)]),
  ),
);

export function protoBody(method: DescMethod, strings: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  const valid = encodedMessage(method.input, strings).map(({ binary }) => binary);
  return fc.oneof(valid, mutated(valid), fc.tuple(valid, rawField).map(([bytes, field]) => Buffer.concat([bytes, field])), randomBytes);
}
