import { randomInt } from "node:crypto";

const EPOCH_MS = Date.UTC(2024, 0, 1);
const RANDOM_BITS = 22n;

/**
 * Decimal ids shaped like ZITADEL's (18 digits until 2031): milliseconds since 2024
 * followed by 22 random bits, so ids from separate processes (server, CLI, other
 * instances) do not collide in practice; the primary key catches the rest.
 */
export function newId(now = Date.now()): string {
  const millis = BigInt(now - EPOCH_MS);
  return ((millis << RANDOM_BITS) | BigInt(randomInt(2 ** Number(RANDOM_BITS)))).toString();
}
