/**
 * Requests that are deep or wide in the request types' own structure, found in the
 * descriptors: a cycle of message fields (a user query holding queries) nested from a few
 * levels to 20,000, and any repeated field filled with hundreds to 40,000 elements.
 */
import fc from "fast-check";
import type { DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describedAs } from "./fuzz-bytes.js";
import { elementValue, encode } from "./fuzz-messages.js";

export interface ShapedBody {
  json: Buffer;
  binary: Buffer;
}

/** Fields from the request type to where a cycle starts, and the fields that lead around it. */
interface Recursion {
  lead: DescField[];
  cycle: DescField[];
}

const messageFields = (desc: DescMessage) => desc.fields.filter((field) => field.message && field.fieldKind !== "map");

function findRecursion(path: DescField[], types: DescMessage[]): Recursion | undefined {
  for (const field of messageFields(types.at(-1)!)) {
    const seen = types.findIndex((type) => type.typeName === field.message!.typeName);
    if (seen >= 0) return { lead: path.slice(0, seen), cycle: [...path.slice(seen), field] };
    const found = findRecursion([...path, field], [...types, field.message!]);
    if (found) return found;
  }
  return undefined;
}

/** Paths to every repeated field within three levels (not through a type already on the path). */
function repeatedFields(path: DescField[], types: DescMessage[]): DescField[][] {
  const here = types.at(-1)!.fields.filter((field) => field.fieldKind === "list").map((field) => [...path, field]);
  if (path.length === 2) return here;
  const deeper = messageFields(types.at(-1)!)
    .filter((field) => !types.some((type) => type.typeName === field.message!.typeName))
    .flatMap((field) => repeatedFields([...path, field], [...types, field.message!]));
  return [...here, ...deeper];
}

const jsonOpen = (field: DescField) => `{${JSON.stringify(field.jsonName)}:${field.fieldKind === "list" ? "[" : ""}`;
const jsonClose = (field: DescField) => `${field.fieldKind === "list" ? "]" : ""}}`;

function wrapBinary(fields: DescField[], inner: Buffer): Buffer {
  return fields.reduceRight((bytes, field) => Buffer.from(new BinaryWriter().tag(field.number, WireType.LengthDelimited).bytes(bytes).finish()), inner);
}

/** Binary nesting costs quadratic copying; past the decoders' limit of 100, 3,000 levels say as much as 20,000. */
const MAX_BINARY_DEPTH = 3_000;

function deepBody({ lead, cycle }: Recursion, depth: number): ShapedBody {
  const open = lead.map(jsonOpen).join("") + cycle.map(jsonOpen).join("").repeat(depth);
  const close = cycle.map(jsonClose).reverse().join("").repeat(depth) + lead.map(jsonClose).reverse().join("");
  let binary: Buffer = Buffer.alloc(0);
  for (let level = 0; level < Math.min(depth, MAX_BINARY_DEPTH); level++) binary = wrapBinary(cycle, binary);
  const body = { json: Buffer.from(`${open}{}${close}`), binary: wrapBinary(lead, binary) };
  return describedAs(body, `${cycle.map((field) => field.name).join(".")} nested ${depth} deep`);
}

/** The init object that sets only the last field of the path, through oneofs where the path goes through one. */
function initAlong(path: DescField[], value: unknown): Record<string, unknown> {
  return path.reduceRight<unknown>((inner, field) => {
    const value = field.fieldKind === "list" && field !== path.at(-1) ? [inner] : inner;
    return field.oneof ? { [field.oneof.localName]: { case: field.localName, value } } : { [field.localName]: value };
  }, value) as Record<string, unknown>;
}

/**
 * Bodies end up to half again as large as the server's 1 MiB limit: both sides of it are
 * worth testing, ten times it is not (a long transfer that Node's http2 refuses by itself).
 */
const MAX_WIDE_JSON_BYTES = 1.5 * 1024 * 1024;

function wideBody(input: DescMessage, path: DescField[], element: unknown, count: number): ShapedBody {
  const encoded = (n: number) => encode(input, initAlong(path, Array<unknown>(n).fill(element)));
  const jsonBytes = (n: number) => Buffer.byteLength(JSON.stringify(encoded(n).json));
  const elements = Math.min(count, Math.floor(MAX_WIDE_JSON_BYTES / Math.max(1, jsonBytes(2) - jsonBytes(1))));
  const { json, binary } = encoded(elements);
  const body = { json: Buffer.from(JSON.stringify(json)), binary: Buffer.from(binary) };
  return describedAs(body, `${path.map((field) => field.name).join(".")} × ${elements} of ${JSON.stringify(element, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`);
}

/** Bodies nested along the request type's own cycle of fields; undefined when it has none. */
export function deepBodies(method: DescMethod): fc.Arbitrary<ShapedBody> | undefined {
  const recursion = findRecursion([], [method.input]);
  if (!recursion) return undefined;
  const depth = fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 90, max: 3_000 }), fc.integer({ min: 10_000, max: 20_000 }));
  return depth.map((d) => deepBody(recursion, d));
}

/** Bodies with one repeated field filled with 500 to 40,000 elements; undefined when the request type has none. */
export function wideBodies(method: DescMethod, strings: fc.Arbitrary<string>): fc.Arbitrary<ShapedBody> | undefined {
  const lists = repeatedFields([], [method.input]);
  if (lists.length === 0) return undefined;
  return fc
    .constantFrom(...lists)
    .chain((path) => fc.tuple(fc.constant(path), elementValue(path.at(-1)!, strings), fc.integer({ min: 500, max: 40_000 })))
    .map(([path, element, count]) => wideBody(method.input, path, element, count));
}
