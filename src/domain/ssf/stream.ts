/** An event stream of the transmitter (SSF §8.1.1), as the app keeps it. */
import type { POLL, PUSH } from "./event-types.js";
import { EVENTS_SUPPORTED } from "./event-types.js";
import type { DefaultSubjects } from "./subjects.js";

/** SSF §8.1.2: enabled sends, paused holds and sends later, disabled drops. */
export type StreamStatus = "enabled" | "paused" | "disabled";
export const STREAM_STATUSES: readonly StreamStatus[] = ["enabled", "paused", "disabled"];

/** How SETs name their user: by id (`iss_sub`), or by email address where the user has one. */
export type SubjectFormat = "iss_sub" | "email";

/** Push to the receiver's URL (with its Authorization header, if it gave one), or poll from ours. */
export type Delivery = { method: typeof PUSH; endpointUrl: string; authorizationHeader?: string } | { method: typeof POLL };

/** What the receiver chooses: SSF's Receiver-Supplied properties, and our `format`. */
export interface ReceiverConfig {
  delivery: Delivery;
  /** Absent when the receiver never gave it, or left it out of a replacement. */
  eventsRequested?: string[];
  description?: string;
  format: SubjectFormat;
}

export interface SsfStream extends ReceiverConfig {
  id: string;
  /** The user who created the stream: the receiver, the only caller who may change it. */
  receiverId: string;
  /** The SETs' `aud`: the receiver's user id. */
  aud: string;
  eventsDelivered: string[];
  defaultSubjects: DefaultSubjects;
  status: StreamStatus;
  statusReason?: string;
  /** When the receiver last asked for a verification event (SSF §8.1.4.2, min_verification_interval). */
  lastVerificationAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** SSF §8.1.1: what we support of what the receiver asked for, in our order; nothing when it asked for nothing. */
export const eventsDeliveredFor = (requested: readonly string[] | undefined): string[] =>
  EVENTS_SUPPORTED.filter((type) => requested?.includes(type));
