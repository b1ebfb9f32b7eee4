/**
 * LockUser, UnlockUser, DeactivateUser, ReactivateUser and DeleteUser: given the user
 * and the caller, decide the one event to append or the error to answer.
 * Check order (SPEC §6): visible → permitted → state precondition.
 */
import { DomainError, invalidArgument } from "./errors.js";
import type { UserEvent } from "./events.js";
import { canRead, hasPermission, type Permission, type Principal } from "./permissions.js";
import { userState, type User, type UserState } from "./user.js";

export type StateCommand = "lock" | "unlock" | "deactivate" | "reactivate" | "delete";

interface Rule {
  event: UserEvent;
  permission: Permission;
  notFoundId: string;
  /** Returns the refusal for a state the command does not apply to, or undefined. */
  refuse(state: UserState): DomainError | undefined;
}

const precondition = (id: string, text: string) => new DomainError("FailedPrecondition", id, text);

const RULES: Record<StateCommand, Rule> = {
  lock: {
    event: { type: "user.locked" },
    permission: "user.write",
    notFoundId: "COMMAND-450yxuqrh1",
    refuse: (state) =>
      state === "active" || state === "initial"
        ? undefined
        : precondition("COMMAND-lgws8wtsqf", "User is not active or initial"),
  },
  unlock: {
    event: { type: "user.unlocked" },
    permission: "user.write",
    notFoundId: "COMMAND-x377t913pw",
    refuse: (state) => (state === "locked" ? undefined : precondition("COMMAND-olb9vb0oca", "User is not locked")),
  },
  deactivate: {
    event: { type: "user.deactivated" },
    permission: "user.write",
    notFoundId: "COMMAND-5gp2p62iin",
    refuse: (state) => {
      if (state === "initial")
        return precondition("COMMAND-gvx4kct9r2", "User with state initial can only be deleted not deactivated");
      if (state === "inactive") return precondition("COMMAND-5gunjw0cd7", "User already inactive");
      return undefined;
    },
  },
  reactivate: {
    event: { type: "user.reactivated" },
    permission: "user.write",
    notFoundId: "COMMAND-9hy5kzbuk6",
    refuse: (state) => (state === "inactive" ? undefined : precondition("COMMAND-s5qqcz97hf", "User is not inactive")),
  },
  delete: {
    event: { type: "user.removed" },
    permission: "user.delete",
    notFoundId: "COMMAND-bd4ir1mblj",
    refuse: () => undefined,
  },
};

export function decideStateChange(command: StateCommand, user: User | undefined, caller: Principal): UserEvent {
  const rule = RULES[command];
  if (!user || user.flags.removed || !canRead(caller, user)) {
    throw new DomainError("NotFound", rule.notFoundId, "User could not be found");
  }
  const selfLock = command === "lock" && caller.userId === user.id;
  if (!selfLock && !hasPermission(caller, rule.permission, user.orgId)) {
    throw permissionDenied();
  }
  const refusal = rule.refuse(userState(user.flags));
  if (refusal) throw refusal;
  return rule.event;
}

/** Our own lock call: ZITADEL's LockUser, with what it records. */
export interface LockRecord {
  reason: string;
  /** When the lock ends by itself; already checked to lie ahead. */
  expiresAt?: Date;
}

/** How a lock's end is given: a time, or a number of seconds from now. */
export type LockEnd = { at: Date } | { inSeconds: number };

const MAX_LOCK_SECONDS = 365 * 24 * 60 * 60;

/** The time a lock given `end` ends, checked: after now, at most a year ahead (`request` names the message in errors). */
export function lockEndsAt(end: LockEnd, now: Date, request = "LockUserRequest"): Date {
  const [field, seconds] = "at" in end ? ["ExpiresAt", (end.at.getTime() - now.getTime()) / 1000] : ["Duration", end.inSeconds];
  if (!(seconds > 0)) throw invalidArgument(`invalid ${request}.${field}: the lock must end in the future`);
  if (seconds > MAX_LOCK_SECONDS) throw invalidArgument(`invalid ${request}.${field}: the lock must end within a year`);
  return "at" in end ? end.at : new Date(now.getTime() + seconds * 1000);
}

/** Decides a lock as LockUser does (same checks and errors), recording the reason and the end. */
export function decideLock(user: User | undefined, caller: Principal, record: LockRecord): UserEvent {
  decideStateChange("lock", user, caller);
  const expiresAt = record.expiresAt?.toISOString();
  return { type: "user.locked", payload: { cause: "admin", ...(record.reason ? { reason: record.reason } : {}), ...(expiresAt ? { expiresAt } : {}) } };
}

export const permissionDenied = () =>
  new DomainError("PermissionDenied", "AUTH-AWfge", "No matching permissions found");
