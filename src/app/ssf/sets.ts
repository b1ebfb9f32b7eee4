/**
 * Security Event Tokens (RFC 8417 as SSF 1.0 §4 profiles it) for one stream: the SETs of a user
 * event, and a verification event. Each carries exactly one event, `iss`, `aud` (the stream's),
 * `iat`, `jti`, `txn` and `sub_id`, never `sub` or `exp`, and is signed RS256 with `typ`
 * secevent+jwt and the key's `kid`.
 *
 * `jti` is derived from the stream, the user event (user id and sequence) and the event type, so
 * a SET made again for a redelivery is the same SET to its receiver; `txn` is the outbox's cause
 * of the delivery (one per commit, app/user-events.ts), so the SETs of one cause (the
 * account-disabled and the session-revoked of a lock, and every SET of that commit) share it, on
 * every stream.
 */
import type { RecordedUserEvent } from "../../domain/events.js";
import { VERIFICATION } from "../../domain/ssf/event-types.js";
import type { SsfStream } from "../../domain/ssf/stream.js";
import { signalsOf } from "../../domain/ssf/user-signals.js";
import { derivedId } from "../../security/ids.js";
import type { SigningKey } from "../../security/set-signing.js";
import type { PendingVerification } from "../../store/ssf-store.js";
import type { Courier } from "../courier.js";

/** A user event as the delivery side hands it over. */
export interface UserEventSource {
  event: RecordedUserEvent;
  /** The delivery's cause (store/outbox.ts, LeasedDelivery.txn): the SETs' `txn`. */
  txn: string;
  /** The user's email address, if any: streams whose `format` is "email" name the user by it. */
  email?: string;
}

export interface SignedSet {
  jti: string;
  /** The URI of its one event. */
  type: string;
  /** The compact JWS. */
  set: string;
}

type StreamAddress = Pick<SsfStream, "id" | "aud" | "format" | "eventsDelivered">;

/** How SETs are signed: with the key that signs now, by a courier (app/courier.ts). */
export interface SetSigning {
  key: SigningKey;
  courier: Pick<Courier, "signSets">;
}

/** The SETs the user event causes on this stream, in order: those of its signals the stream delivers. */
export async function userEventSets(source: UserEventSource, stream: StreamAddress, signing: SetSigning, issuer: string, now: Date): Promise<SignedSet[]> {
  const { event } = source;
  const subId = stream.format === "email" && source.email ? { format: "email", email: source.email } : { format: "iss_sub", iss: issuer, sub: event.userId };
  const unsigned = signalsOf(event)
    .filter((signal) => stream.eventsDelivered.includes(signal.type))
    .map((signal) => {
      const jti = derivedId("jti", stream.id, event.userId, event.sequence, signal.type);
      return { jti, type: signal.type, claims: { iss: issuer, jti, iat: seconds(now), aud: stream.aud, txn: source.txn, sub_id: subId, events: { [signal.type]: signal.members } } };
    });
  return signAll(unsigned, signing);
}

/**
 * SSF §8.1.4.1: the verification event a receiver asked for, with its `state`; `sub_id` is the
 * stream itself (format opaque). Its jti and txn come from the request.
 */
export async function verificationSet(
  request: Pick<PendingVerification, "id" | "state">,
  stream: Pick<SsfStream, "id" | "aud">,
  signing: SetSigning,
  issuer: string,
  now: Date,
): Promise<SignedSet> {
  const jti = derivedId("jti", stream.id, "verification", request.id);
  const claims = {
    iss: issuer,
    jti,
    iat: seconds(now),
    aud: stream.aud,
    txn: derivedId("txn", stream.id, "verification", request.id),
    sub_id: { format: "opaque", id: stream.id },
    events: { [VERIFICATION]: request.state === undefined ? {} : { state: request.state } },
  };
  const [signed] = await signAll([{ jti, type: VERIFICATION, claims }], signing);
  return signed!;
}

/** One request to the courier for all of them (none when there are none). */
async function signAll(unsigned: { jti: string; type: string; claims: Record<string, unknown> }[], { key, courier }: SetSigning): Promise<SignedSet[]> {
  if (unsigned.length === 0) return [];
  const sets = await courier.signSets(unsigned.map(({ claims }) => claims), key);
  return unsigned.map(({ jti, type }, i) => ({ jti, type, set: sets[i]! }));
}

const seconds = (at: Date) => Math.floor(at.getTime() / 1000);
