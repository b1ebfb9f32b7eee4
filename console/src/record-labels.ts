/** How the console words the lock record: event types (ZITADEL's names) and lock causes. */
import { LockCause } from "../../gen/zus/user/v1/user_record_service_pb.js";

const EVENT_LABELS: Record<string, string> = {
  "user.human.added": "Created",
  "user.machine.added": "Created",
  "user.locked": "Locked",
  "user.unlocked": "Unlocked",
  "user.deactivated": "Deactivated",
  "user.reactivated": "Reactivated",
  "user.removed": "Deleted",
  "user.human.password.check.failed": "Wrong password",
  "user.human.password.check.succeeded": "Password accepted",
};

/** A word for the event, or its type for one this console does not know yet. */
export const eventLabel = (type: string): string => EVENT_LABELS[type] ?? type;

const CAUSE_LABELS: Record<LockCause, string> = {
  [LockCause.UNSPECIFIED]: "Unknown",
  [LockCause.ADMIN]: "Administrator",
  [LockCause.LOCKOUT_POLICY]: "Lockout policy (too many wrong passwords)",
};

export const causeLabel = (cause: LockCause): string => CAUSE_LABELS[cause];
