/** zus.user.v1 messages ↔ domain values, shared by the lock record, bulk and watch methods. */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import { LockCause as ProtoLockCause, UserEventSchema, type UserEvent as ProtoUserEvent } from "../../gen/zus/user/v1/user_record_service_pb.js";
import type { RecordedUserEvent } from "../domain/events.js";
import type { LockEnd } from "../domain/state-commands.js";
import type { LockCause } from "../domain/user.js";
import { requireLength } from "./from-proto.js";

const MAX_REASON_LENGTH = 500;

export const PROTO_CAUSE: Record<LockCause, ProtoLockCause> = { admin: ProtoLockCause.ADMIN, policy: ProtoLockCause.LOCKOUT_POLICY };

/** A lock request's reason and end, as every lock of ours takes them (`message` names the request in errors). */
export function lockInput(
  req: { reason: string; end: { case: "expiresAt"; value: Timestamp } | { case: "duration"; value: Duration } | { case: undefined; value?: undefined } },
  message: string,
): { reason: string; end?: LockEnd } {
  const reason = requireLength(req.reason, message, "Reason", 0, MAX_REASON_LENGTH);
  const { end } = req;
  if (end.case === "expiresAt") return { reason, end: { at: timestampDate(end.value) } };
  if (end.case === "duration") return { reason, end: { inSeconds: Number(end.value.seconds) + end.value.nanos / 1e9 } };
  return { reason };
}

export function toProtoEvent(event: RecordedUserEvent, orgId: string): ProtoUserEvent {
  const lock =
    event.type === "user.locked"
      ? {
          cause: PROTO_CAUSE[event.payload?.cause ?? "admin"],
          expiresAt: event.payload?.expiresAt === undefined ? undefined : timestampFromDate(new Date(event.payload.expiresAt)),
          reason: event.payload?.reason ?? "",
        }
      : undefined;
  return create(UserEventSchema, {
    type: event.type,
    sequence: BigInt(event.sequence),
    creationDate: timestampFromDate(event.createdAt),
    actorId: event.actor,
    resourceOwner: orgId,
    lock,
    userId: event.userId,
  });
}
