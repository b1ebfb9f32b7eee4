/** Rows of the transmitter's tables (same columns in every dialect) and what they record. */
import { and, eq, isNull, lte, or, type Column } from "drizzle-orm";
import { POLL, PUSH } from "../domain/ssf/event-types.js";
import type { DefaultSubjects } from "../domain/ssf/subjects.js";
import type { Delivery, ReceiverConfig, SsfStream, StreamStatus, SubjectFormat } from "../domain/ssf/stream.js";
import type { StoredSigningKey } from "./ssf-store.js";

export interface SigningKeyRow {
  kid: string;
  privateKeyPem: string;
  publicJwk: Record<string, unknown>;
  current: boolean;
  createdAt: Date;
  rotatedAt: Date | null;
}

export interface StreamRow {
  id: string;
  receiverId: string;
  aud: string;
  deliveryMethod: string;
  endpointUrl: string | null;
  authorizationHeader: string | null;
  eventsRequested: string[] | null;
  eventsDelivered: string[];
  description: string | null;
  format: string;
  defaultSubjects: string;
  status: string;
  statusReason: string | null;
  lastVerificationAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const toKeyRow = (key: StoredSigningKey, current: boolean): SigningKeyRow => ({
  kid: key.kid,
  privateKeyPem: key.privateKeyPem,
  publicJwk: key.publicJwk,
  current,
  createdAt: key.createdAt,
  rotatedAt: key.rotatedAt ?? null,
});

export function fromKeyRow(row: SigningKeyRow): StoredSigningKey {
  const key: StoredSigningKey = { kid: row.kid, privateKeyPem: row.privateKeyPem, publicJwk: row.publicJwk, createdAt: row.createdAt };
  if (row.rotatedAt) key.rotatedAt = row.rotatedAt;
  return key;
}

/** The signing key first, then the rotated-out keys, newest first. */
export const publishedOrder = (a: SigningKeyRow, b: SigningKeyRow): number =>
  Number(b.current) - Number(a.current) || b.createdAt.getTime() - a.createdAt.getTime();

/** The columns of the receiver's choices, as updateStreamConfig writes them. */
export function configColumns(config: ReceiverConfig & { eventsDelivered: string[] }) {
  const push = config.delivery.method === PUSH ? config.delivery : undefined;
  return {
    deliveryMethod: config.delivery.method,
    endpointUrl: push?.endpointUrl ?? null,
    authorizationHeader: push?.authorizationHeader ?? null,
    eventsRequested: config.eventsRequested ?? null,
    eventsDelivered: config.eventsDelivered,
    description: config.description ?? null,
    format: config.format,
  };
}

export const toStreamRow = (stream: SsfStream): StreamRow => ({
  id: stream.id,
  receiverId: stream.receiverId,
  aud: stream.aud,
  ...configColumns(stream),
  defaultSubjects: stream.defaultSubjects,
  status: stream.status,
  statusReason: stream.statusReason ?? null,
  lastVerificationAt: stream.lastVerificationAt ?? null,
  createdAt: stream.createdAt,
  updatedAt: stream.updatedAt,
});

/** The store writes only what the app gave it, so the text columns hold the app's values. */
export function fromStreamRow(row: StreamRow): SsfStream {
  const delivery: Delivery =
    row.deliveryMethod === PUSH
      ? { method: PUSH, endpointUrl: row.endpointUrl!, ...(row.authorizationHeader !== null && { authorizationHeader: row.authorizationHeader }) }
      : { method: POLL };
  const stream: SsfStream = {
    id: row.id,
    receiverId: row.receiverId,
    aud: row.aud,
    delivery,
    eventsDelivered: row.eventsDelivered,
    format: row.format as SubjectFormat,
    defaultSubjects: row.defaultSubjects as DefaultSubjects,
    status: row.status as StreamStatus,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.eventsRequested !== null) stream.eventsRequested = row.eventsRequested;
  if (row.description !== null) stream.description = row.description;
  if (row.statusReason !== null) stream.statusReason = row.statusReason;
  if (row.lastVerificationAt !== null) stream.lastVerificationAt = row.lastVerificationAt;
  return stream;
}

/** The stream, if its previous verification request is not later than `notAfter` (or it has none). */
export const verificationDue = (streams: { id: Column; lastVerificationAt: Column }, streamId: string, notAfter: Date) =>
  and(eq(streams.id, streamId), or(isNull(streams.lastVerificationAt), lte(streams.lastVerificationAt, notAfter)));

/** SsfStore.queueDepths from a count per stream and refused flag. */
export function queueDepthsOf(rows: { streamId: string; refused: boolean; n: number }[]): Map<string, { queued: number; refused: number }> {
  const depths = new Map<string, { queued: number; refused: number }>();
  for (const row of rows) {
    const depth = depths.get(row.streamId) ?? { queued: 0, refused: 0 };
    depth[row.refused ? "refused" : "queued"] += row.n;
    depths.set(row.streamId, depth);
  }
  return depths;
}
