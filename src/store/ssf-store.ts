/**
 * What the OpenID Shared Signals transmitter keeps (EXTENSIONS.md §4): its signing keys, the
 * receivers' streams and their subjects, and the verification events receivers asked for.
 */
import type { SsfStream, StreamStatus, ReceiverConfig } from "../domain/ssf/stream.js";

/** A signing key as stored. The private key never leaves the transmitter (not logged, not served). */
export interface StoredSigningKey {
  kid: string;
  /** PKCS #8, PEM. */
  privateKeyPem: string;
  /** The public key as a JWK (kty, n, e). */
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  /** When a newer key replaced it for signing; absent for the key that signs now. */
  rotatedAt?: Date;
}

/** A verification event a receiver asked for (SSF §8.1.4.2), until the delivery side takes it. */
export interface PendingVerification {
  id: number;
  streamId: string;
  /** The receiver's `state`, echoed in the event. */
  state?: string;
  requestedAt: Date;
}

/** A SET in a poll stream's queue (RFC 8936), signed by key `kid`. */
export interface QueuedSet {
  jti: string;
  kid: string;
  set: string;
}

export interface SsfStore {
  /** The keys the JWKS publishes: the signing key first, then those rotated out and not yet retired. */
  publishedKeys(): Promise<StoredSigningKey[]>;
  /** Stores the first signing key; false (and nothing stored) when there is one already. */
  addFirstKey(key: StoredSigningKey): Promise<boolean>;
  /** In one transaction: the signing key is rotated out (still published), `key` signs from now. */
  rotateKey(key: StoredSigningKey, at: Date): Promise<void>;
  /**
   * Stops publishing a rotated-out key and deletes it. It stays when it is the signing key
   * ("current") or signed SETs that wait in a poll queue ("waiting": they must still verify).
   */
  retireKey(kid: string): Promise<"retired" | "current" | "waiting" | "unknown">;

  /** Throws ConflictError("receiver") when the receiver has a stream already (one each). */
  insertStream(stream: SsfStream): Promise<void>;
  getStream(id: string): Promise<SsfStream | undefined>;
  /** Every stream, or the receiver's, oldest first. */
  listStreams(receiverId?: string): Promise<SsfStream[]>;
  /** Replaces what the receiver chooses (and so what is delivered); false when the stream is gone. */
  updateStreamConfig(id: string, config: ReceiverConfig & { eventsDelivered: string[] }, at: Date): Promise<boolean>;
  setStreamStatus(id: string, status: StreamStatus, reason: string | undefined, at: Date): Promise<boolean>;
  /** Deletes the stream with its subjects, pending verifications and queued SETs; false when there was none. */
  deleteStream(id: string): Promise<boolean>;

  /** Records a subject (subjects.ts, subjectKey) as included or excluded, replacing what was recorded. */
  setSubject(streamId: string, subjectKey: string, included: boolean): Promise<void>;
  /** What the stream recorded about these subjects: included (true) or excluded (false); absent: nothing. */
  subjectEntries(streamId: string, subjectKeys: readonly string[]): Promise<Map<string, boolean>>;

  /**
   * Records a verification request and the stream's time of it, unless the stream's previous one
   * is later than `notAfter` (then false, and nothing is recorded): the check and the write are
   * one statement, so racing requests cannot both pass the minimum interval.
   */
  requestVerification(streamId: string, state: string | undefined, at: Date, notAfter: Date): Promise<boolean>;
  /** The oldest pending verification requests of streams not paused (a paused stream's wait until it is enabled). */
  pendingVerifications(limit: number): Promise<PendingVerification[]>;
  /** The delivery side sent it. */
  deleteVerification(id: number): Promise<void>;

  /** Queues a poll stream's SETs in order; one queued already (same jti: a redelivery) stays as it was. */
  queueSets(streamId: string, sets: readonly QueuedSet[], at: Date): Promise<void>;
  /** Up to `limit` queued SETs the receiver has not refused, oldest first. */
  queuedSets(streamId: string, limit: number): Promise<{ jti: string; set: string }[]>;
  /** The receiver acknowledged these: deleted. Unknown jtis are ignored. */
  ackSets(streamId: string, jtis: readonly string[]): Promise<void>;
  /** The receiver refused these (jti → its error, as text): kept with the error, never offered again. */
  refuseSets(streamId: string, errors: ReadonlyMap<string, string>): Promise<void>;
  /** Per stream: SETs queued and not refused, and those refused. */
  queueDepths(): Promise<Map<string, { queued: number; refused: number }>>;
}
