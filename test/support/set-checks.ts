/**
 * The per-SET checks of the OpenID conformance plan openid-ssf-transmitter-test-plan (its
 * conditions/events), as a receiver would make them: the signature verified with jose against
 * the transmitter's JWKS, `typ` secevent+jwt, `alg` RS256 with a key of 2048 bits or more, no
 * `sub` and no `exp`, `iat` not in the future, exactly one event whose value is an object, and
 * `iss`, `aud`, `jti`, `txn` and `sub_id` present.
 */
import { base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { expect } from "vitest";

export interface CheckedSet {
  header: Record<string, unknown>;
  claims: Record<string, unknown> & { jti: string; txn: string; iat: number; sub_id: Record<string, unknown>; events: Record<string, Record<string, unknown>> };
  /** The one event's type and object. */
  type: string;
  event: Record<string, unknown>;
}

export async function checkSet(set: string, jwks: JSONWebKeySet, expected: { issuer: string; audience: string }): Promise<CheckedSet> {
  const header = decodeProtectedHeader(set);
  expect(header.typ).toBe("secevent+jwt");
  expect(header.alg).toBe("RS256");
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  expect(jwk, `the JWKS publishes the key ${header.kid}`).toBeDefined();
  expect(base64url.decode(jwk!.n!).length * 8).toBeGreaterThanOrEqual(2048);
  const { payload } = await jwtVerify(set, createLocalJWKSet(jwks), {
    typ: "secevent+jwt",
    algorithms: ["RS256"],
    issuer: expected.issuer,
    audience: expected.audience,
  });
  expect(payload).not.toHaveProperty("sub");
  expect(payload).not.toHaveProperty("exp");
  expect(payload.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  for (const claim of ["iss", "aud", "jti", "txn", "sub_id", "events"]) expect(payload, claim).toHaveProperty(claim);
  expect(typeof payload.jti).toBe("string");
  expect(typeof payload.txn).toBe("string");
  const events = payload.events as Record<string, Record<string, unknown>>;
  expect(Object.keys(events)).toHaveLength(1);
  const [type, event] = Object.entries(events)[0]!;
  expect(event !== null && typeof event === "object" && !Array.isArray(event)).toBe(true);
  return { header, claims: payload as CheckedSet["claims"], type, event };
}
