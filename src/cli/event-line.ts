/** One user event as one line of text, for `user history` and `events watch`. */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { LockCause, type UserEvent } from "../../gen/zus/user/v1/user_record_service_pb.js";

const iso = (ts: Timestamp | undefined) => (ts ? timestampDate(ts).toISOString() : "?");

/**
 * `TIME  #SEQUENCE  TYPE  by ACTOR`, and for a lock its cause, end (`until`, left out for a lock
 * that lasts until an administrator unlocks) and reason. The reason is quoted as JSON so that
 * whatever it holds (spaces, quotes, line breaks) stays on its line and reads back unambiguously.
 */
export function eventLine(event: UserEvent): string {
  const fields = [iso(event.creationDate), `#${event.sequence}`, event.type, `by ${event.actorId}`];
  if (event.lock) {
    const lock = [`cause=${LockCause[event.lock.cause]}`];
    if (event.lock.expiresAt) lock.push(`until=${iso(event.lock.expiresAt)}`);
    lock.push(`reason=${JSON.stringify(event.lock.reason)}`);
    fields.push(lock.join(" "));
  }
  return fields.join("  ");
}
