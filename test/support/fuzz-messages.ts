/**
 * Requests of the right shape for any message descriptor: random values of each field's
 * type (a oneof gets at most one case), encoded as proto3 JSON and as binary. They are
 * the valid starting points that the fuzz suite then mutates.
 */
import fc from "fast-check";
import { create, ScalarType, toBinary, toJson, type DescEnum, type DescField, type DescMessage, type JsonObject } from "@bufbuild/protobuf";

export interface EncodedMessage {
  json: JsonObject;
  binary: Uint8Array;
}

type Init = Record<string, unknown>;

/** How deep generated messages nest (the user queries are recursive). */
const MAX_NESTING = 3;

/** proto3 JSON can only write these within their ranges; other well-known types do not occur in the requests. */
const WELL_KNOWN: Record<string, fc.Arbitrary<Init>> = {
  "google.protobuf.Duration": fc.record({ seconds: fc.bigInt(-315_576_000_000n, 315_576_000_000n) }),
  "google.protobuf.Timestamp": fc.record({ seconds: fc.bigInt(-62_135_596_800n, 253_402_300_799n) }),
};

/** Strings for string fields: the ids and names given (so calls reach real users), and random text. */
export function requestStrings(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
    // Any code point, lone surrogates included.
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "1".repeat(201), "ä".repeat(200), "$2a$10$N9qo8uLOickgx2ZMRZoMye") },
  );
}

function scalarValue(type: ScalarType, strings: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return strings;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 16 });
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(0n, 2n ** 64n - 1n);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 0xffff_ffff });
    default:
      return fc.integer();
  }
}

const enumValue = (desc: DescEnum) => fc.constantFrom(...desc.values.map((value) => value.number));

/** An init object for `create(desc, …)`: every field optional, each oneof one case or none. */
function messageInit(desc: DescMessage, strings: fc.Arbitrary<string>, nesting = 0): fc.Arbitrary<Init> {
  const wellKnown = WELL_KNOWN[desc.typeName];
  if (wellKnown) return wellKnown;
  if (nesting > MAX_NESTING) return fc.constant({});
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of desc.members) {
    model[member.localName] =
      member.kind === "oneof"
        ? fc.oneof(...member.fields.map((field) => fieldValue(field, strings, nesting).map((value) => ({ case: field.localName, value }))))
        : fieldValue(member, strings, nesting);
  }
  return fc.record(model, { requiredKeys: [] });
}

/** One element of a list field, or the field's value for a singular field. */
export function elementValue(field: DescField, strings: fc.Arbitrary<string>, nesting = 0): fc.Arbitrary<unknown> {
  if (field.message) return messageInit(field.message, strings, nesting + 1);
  if (field.enum) return enumValue(field.enum);
  return scalarValue(field.scalar!, strings);
}

function fieldValue(field: DescField, strings: fc.Arbitrary<string>, nesting: number): fc.Arbitrary<unknown> {
  const element = elementValue(field, strings, nesting);
  if (field.fieldKind === "list") return fc.array(element, { maxLength: 3 });
  if (field.fieldKind === "map") return fc.dictionary(scalarValue(field.mapKey, strings).map(String), element, { maxKeys: 3 });
  return element;
}

/** Encodes an init object both ways; JSON keys are lowerCamelCase or, as clients may also send them, the proto names. */
export function encode(desc: DescMessage, init: Init, protoNames = false): EncodedMessage {
  const message = create(desc, init);
  return { json: toJson(desc, message, { useProtoFieldName: protoNames }) as JsonObject, binary: toBinary(desc, message) };
}

export function encodedMessage(desc: DescMessage, strings: fc.Arbitrary<string>): fc.Arbitrary<EncodedMessage> {
  return fc.tuple(messageInit(desc, strings), fc.boolean()).map(([init, protoNames]) => encode(desc, init, protoNames));
}
