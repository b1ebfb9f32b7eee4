/**
 * Which Shared Signals a user event causes (EXTENSIONS.md §4), with the CAEP members that say
 * when, who and why. Pure: the SETs that carry them are made in app/ssf/sets.ts.
 */
import { SYSTEM_ACTOR, type RecordedUserEvent, type UserEvent } from "../events.js";
import { ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PURGED, CREDENTIAL_CHANGE, SESSION_REVOKED } from "./event-types.js";

/** CAEP 1.0 §2: who caused the event. */
export type InitiatingEntity = "admin" | "user" | "policy" | "system";

/** One event of one SET: its type URI and the members of its object in `events`. */
export interface Signal {
  type: string;
  members: Record<string, unknown>;
}

/**
 * The signals of one user event, in the order they are to be sent; none for events no receiver
 * acts on (password checks, a machine user added). A change that ends the user's sessions (lock,
 * deactivation, deletion) also revokes them at the receivers, with a `session-revoked` after the
 * account event. Every signal has `event_timestamp` and `initiating_entity`; `reason_admin` is
 * the reason an administrator recorded with the lock, and CAEP events, whose interoperability
 * profile wants a non-empty `reason_admin`, say what happened when none was recorded.
 */
export function signalsOf(event: RecordedUserEvent): Signal[] {
  const common = { event_timestamp: Math.floor(event.createdAt.getTime() / 1000), initiating_entity: initiatingEntity(event) };
  const reasonAdmin = (text: string) => ({ reason_admin: { en: text } });
  switch (event.type) {
    case "user.locked": {
      const reason = event.payload?.reason || undefined;
      const byPolicy = event.payload?.cause === "policy";
      return [
        { type: ACCOUNT_DISABLED, members: { ...common, ...(reason && reasonAdmin(reason)) } },
        {
          type: SESSION_REVOKED,
          members: { ...common, ...reasonAdmin(reason ?? (byPolicy ? "account locked after too many wrong passwords" : "account locked by an administrator")) },
        },
      ];
    }
    case "user.unlocked":
    case "user.reactivated":
      return [{ type: ACCOUNT_ENABLED, members: common }];
    case "user.deactivated":
      return [
        { type: ACCOUNT_DISABLED, members: common },
        { type: SESSION_REVOKED, members: { ...common, ...reasonAdmin("account deactivated") } },
      ];
    case "user.removed":
      return [
        { type: ACCOUNT_PURGED, members: common },
        { type: SESSION_REVOKED, members: { ...common, ...reasonAdmin("account deleted") } },
      ];
    case "user.human.added":
      if (event.payload.human.passwordHash === undefined) return [];
      return [
        {
          type: CREDENTIAL_CHANGE,
          members: { credential_type: "password", change_type: "create", ...common, ...reasonAdmin("password set when the account was created") },
        },
      ];
    default:
      return [];
  }
}

/**
 * The signal types an event of each type may cause (signalsOf gives those of one event): the
 * delivery side routes an event to the streams that deliver any of them, at commit, without
 * looking at its payload.
 */
export const SIGNAL_TYPES: Readonly<Record<UserEvent["type"], readonly string[]>> = {
  "user.human.added": [CREDENTIAL_CHANGE],
  "user.machine.added": [],
  "user.locked": [ACCOUNT_DISABLED, SESSION_REVOKED],
  "user.unlocked": [ACCOUNT_ENABLED],
  "user.deactivated": [ACCOUNT_DISABLED, SESSION_REVOKED],
  "user.reactivated": [ACCOUNT_ENABLED],
  "user.removed": [ACCOUNT_PURGED, SESSION_REVOKED],
  "user.human.password.check.failed": [],
  "user.human.password.check.succeeded": [],
};

/** The lockout policy's lock; the system's own changes (a lock's end); the user's own; else an administrator's. */
function initiatingEntity(event: RecordedUserEvent): InitiatingEntity {
  if (event.type === "user.locked" && event.payload?.cause === "policy") return "policy";
  if (event.actor === SYSTEM_ACTOR) return "system";
  if (event.actor === event.userId) return "user";
  return "admin";
}
