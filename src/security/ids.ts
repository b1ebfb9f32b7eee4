import { createHash, randomInt } from "node:crypto";

const EPOCH_MS = Date.UTC(2024, 0, 1);
const LOW_BITS = 22;
const LOW_VALUES = 2 ** LOW_BITS;

/**
 * The low bits of the next id: a random start per process, then one more per id. Ids of one
 * process never repeat (two ids in the same millisecond differ here). Random bits alone let two
 * ids of a busy server collide: the crowd benchmark met one, an AddHumanUser answered
 * AlreadyExists for a user its caller never created.
 */
let nextLow = randomInt(LOW_VALUES);

/**
 * Decimal ids shaped like ZITADEL's (18 digits until 2031): milliseconds since 2024 followed
 * by 22 bits that count from a random start, so ids from separate processes (server, CLI,
 * other instances) do not collide in practice; the primary key catches the rest.
 */
export function newId(now = Date.now()): string {
  const low = nextLow;
  nextLow = (nextLow + 1) % LOW_VALUES;
  return ((BigInt(now - EPOCH_MS) << BigInt(LOW_BITS)) | BigInt(low)).toString();
}

/**
 * An id that is the same each time it is derived from the same parts (128 bits of their SHA-256,
 * base64url): a SET sent again keeps its `jti`, and the SETs of one cause share their `txn`.
 */
export function derivedId(...parts: (string | number)[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest().subarray(0, 16).toString("base64url");
}
