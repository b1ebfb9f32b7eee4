/**
 * JSON request bodies: valid proto3 JSON with poisoned values spliced in (numbers no
 * decoder can hold, wrong types, invalid UTF-8, nesting 10,000+ deep), JSON broken as
 * text, random JSON and random bytes.
 */
import fc from "fast-check";
import type { DescMethod } from "@bufbuild/protobuf";
import { mutated, randomBytes } from "./fuzz-bytes.js";
import { encodedMessage } from "./fuzz-messages.js";

/** Bytes written into the JSON text as they are: what JSON.stringify cannot produce. */
class RawToken {
  constructor(readonly bytes: Buffer) {}
}

type Tree = null | boolean | number | string | RawToken | Tree[] | { [key: string]: Tree };

const raw = (text: string | Buffer) => new RawToken(Buffer.from(text));

const isObject = (node: Tree): node is { [key: string]: Tree } => node !== null && typeof node === "object" && !Array.isArray(node) && !(node instanceof RawToken);

function serialize(node: Tree): Buffer {
  if (node instanceof RawToken) return node.bytes;
  const join = (open: string, parts: Buffer[], close: string) => Buffer.concat([Buffer.from(open), ...parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from(","), part])), Buffer.from(close)]);
  if (Array.isArray(node)) return join("[", node.map(serialize), "]");
  if (isObject(node)) return join("{", Object.entries(node).map(([key, value]) => Buffer.concat([Buffer.from(`${JSON.stringify(key)}:`), serialize(value)])), "}");
  return Buffer.from(JSON.stringify(node));
}

const HUGE_NUMBERS = ["1e400", "-1e400", "1e-400", "18446744073709551616", "18446744073709551615", "9223372036854775808", "-9223372036854775809", "4294967296", "-1", "1.5", "-0", `1${"0".repeat(400)}`];
const WRONG_TYPES = ["null", "true", "[]", "{}", '""', "[null]", '{"":0}', '"18446744073709551616"', '"1e400"', '"NaN"', '"-Infinity"', '"0x10"', '"\\ud800"', '"\\u0000"', '"\\x"'];
const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];

/** Arrays or objects nested 10,000 to 60,000 deep (at most 300 KB, under the 1 MiB body limit). */
const deepNesting: fc.Arbitrary<Buffer> = fc
  .tuple(fc.integer({ min: 10_000, max: 60_000 }), fc.boolean())
  .map(([depth, arrays]) => Buffer.from(arrays ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}0${"}".repeat(depth)}`));

const poison: fc.Arbitrary<RawToken> = fc.oneof(
  fc.constantFrom(...HUGE_NUMBERS, ...WRONG_TYPES).map(raw),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...INVALID_UTF8)).map(([text, bad]) => raw(Buffer.concat([Buffer.from(`"${text}`), Buffer.from(bad), Buffer.from('"')]))),
  deepNesting.map(raw),
  fc.integer({ min: 1_000, max: 300_000 }).map((length) => raw(`"${"a".repeat(length)}"`)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => raw(JSON.stringify(value))),
);

/** Replaces node number `at` (pre-order, wrapping) with the poison, or with `key` adds it to that node if it is an object. */
interface Splice {
  at: number;
  poison: RawToken;
  key: string | undefined;
}

const splice: fc.Arbitrary<Splice> = fc.record({
  at: fc.nat(),
  poison,
  // Lone surrogates are written as \u escapes: valid JSON text, but no valid Unicode string.
  key: fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("userId", "user_id", "@type", "__proto__", "\ud800", "\udfff")), { nil: undefined }),
});

function countNodes(node: Tree): number {
  if (Array.isArray(node)) return 1 + node.reduce((sum: number, child) => sum + countNodes(child), 0);
  if (isObject(node)) return 1 + Object.values(node).reduce((sum: number, child) => sum + countNodes(child), 0);
  return 1;
}

function applySplice(tree: Tree, { at, poison: token, key }: Splice): Tree {
  const target = at % countNodes(tree);
  let index = 0;
  const visit = (node: Tree): Tree => {
    if (index++ === target) return key !== undefined && isObject(node) ? { ...node, [key]: token } : token;
    if (Array.isArray(node)) return node.map(visit);
    if (isObject(node)) return Object.fromEntries(Object.entries(node).map(([name, child]) => [name, visit(child)]));
    return node;
  };
  return visit(tree);
}

export function jsonBody(method: DescMethod, strings: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  const valid = encodedMessage(method.input, strings).map(({ json }) => json as Tree);
  const validText = valid.map(serialize);
  return fc.oneof(
    validText,
    fc.tuple(valid, fc.array(splice, { minLength: 1, maxLength: 3 })).map(([tree, splices]) => serialize(splices.reduce(applySplice, tree))),
    mutated(validText),
    fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
    deepNesting,
    randomBytes,
  );
}
