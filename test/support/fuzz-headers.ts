/**
 * Header blocks from hostile to ordinary: one value of 16 to 256 KiB, up to 3,000 headers,
 * one header repeated up to 500 times, or a small odd block.
 */
import fc from "fast-check";
import { describedAs } from "./fuzz-bytes.js";

export interface HeaderLoad {
  headers: Record<string, string | string[]>;
  /** Past the limits servers commonly set (8 KiB, 100 fields): refusing at the connection level is then fair. */
  large: boolean;
}

/** Names HTTP/2 allows (no connection-specific ones) and that do not change which protocol is spoken. */
const NAMES = ["x-fuzz", "user-agent", "cookie", "x-request-id", "accept", "grpc-timeout", "connect-timeout-ms", "x-forwarded-for"];
/** Of those, the ones node:http2 lets a request repeat. */
const REPEATABLE = ["x-fuzz", "cookie", "x-request-id", "accept", "x-forwarded-for"];

const LARGE_BYTES = 8 * 1024;
const LARGE_COUNT = 100;

function load(headers: Record<string, string | string[]>): HeaderLoad {
  const entries = Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]));
  const bytes = entries.reduce((sum, [name, value]) => sum + name!.length + value!.length, 0);
  const large = bytes > LARGE_BYTES || entries.length > LARGE_COUNT;
  return describedAs({ headers, large }, `HeaderLoad(${entries.length} headers, ${bytes} bytes)`);
}

const value = (length: number) => "a".repeat(length);

export const headerLoad: fc.Arbitrary<HeaderLoad> = fc.oneof(
  fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 16 * 1024, max: 256 * 1024 })).map(([name, length]) => load({ [name]: value(length) })),
  fc.integer({ min: 16 * 1024, max: 256 * 1024 }).map((length) => load({ authorization: `Bearer ${value(length)}` })),
  fc.integer({ min: 101, max: 3_000 }).map((count) => load(Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-fuzz-${i}`, "v"])))),
  fc.tuple(fc.constantFrom(...REPEATABLE), fc.integer({ min: 2, max: 500 })).map(([name, count]) => load({ [name]: Array<string>(count).fill(value(64)) })),
  // Small enough that a normal answer is due: odd but ordinary header blocks.
  fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ maxLength: 200 }).map((s) => s.replace(/[^\x21-\x7e]/g, "")), { maxKeys: 20 }).map(load),
);
