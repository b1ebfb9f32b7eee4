/**
 * What the drill's receivers took, read as a receiver reads it: each SET checked with the
 * conformance plan's per-SET checks against the transmitter's JWKS (test/support/set-checks.ts)
 * and named by its jti; each Actions v2 request parsed and named by its event (aggregateID and
 * sequence, ZITADEL's identity of an event). A SET or request that fails its checks is a violation.
 */
import type { JSONWebKeySet } from "jose";
import type { ActionsCall } from "../test/support/actions-receiver.js";
import { checkSet } from "../test/support/set-checks.js";
import type { Taken } from "./delivery-receivers.js";

/** One arrival of one event's signal at one receiver. */
export interface Arrival {
  /** The id a receiver drops duplicates by: the SET's jti, or `aggregateID:sequence` for Actions. */
  key: string;
  userId: string;
  sequence: number;
  /** The SET's event type URI, or the Actions payload's event_type. */
  signal: string;
  at: number;
  /** Who sent it, where the request says: the Actions payload's instanceID. */
  sender?: string;
}

/** SETs, each verified; a SET is tied to its user event by `txn` (`USER_ID:SEQUENCE`, docs/events.md). */
export async function setArrivals(
  taken: readonly Taken[],
  jwks: JSONWebKeySet,
  expected: { issuer: string; audience: string },
  violations: string[],
): Promise<Arrival[]> {
  const arrivals: Arrival[] = [];
  for (const { at, body } of taken) {
    try {
      const { claims, type } = await checkSet(body, jwks, expected);
      const userId = String(claims.sub_id.sub);
      const [txnUser, txnSequence] = claims.txn.split(":");
      if (txnUser !== userId) violations.push(`SET ${claims.jti}: txn ${claims.txn} is not of its subject ${userId}`);
      arrivals.push({ key: claims.jti, userId, sequence: Number(txnSequence), signal: type, at });
    } catch (err) {
      violations.push(`a SET failed the receiver's checks: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return arrivals;
}

/** Actions v2 requests, each with its signature checked as it arrived (test/support/actions-receiver.ts). */
export function actionArrivals(received: readonly ActionsCall[], violations: string[]): Arrival[] {
  return received.map(({ at, body, signatureValid }) => {
    if (!signatureValid) violations.push(`an Actions request whose ZITADEL-Signature does not match: ${JSON.stringify(body)}`);
    return {
      key: `${String(body.aggregateID)}:${String(body.sequence)}`,
      userId: String(body.aggregateID),
      sequence: Number(body.sequence),
      signal: String(body.event_type),
      at,
      sender: String(body.instanceID),
    };
  });
}
