import type { HumanDetails, LockCause, MachineDetails, User } from "./user.js";

/** Events of the user aggregate, as the command side decides them. */
export type UserEvent =
  | { type: "user.human.added"; payload: { orgId: string; username: string; human: HumanDetails } }
  | { type: "user.machine.added"; payload: { orgId: string; username: string; machine: MachineDetails } }
  /**
   * No payload for ZITADEL's LockUser; the policy's lock says so and when it ends; our own lock
   * call records its reason and end (an ISO time) with cause "admin".
   */
  | { type: "user.locked"; payload?: { cause: LockCause; expiresAt?: string; reason?: string } }
  | { type: "user.unlocked" }
  | { type: "user.human.password.check.failed" }
  | { type: "user.human.password.check.succeeded" }
  | { type: "user.deactivated" }
  | { type: "user.reactivated" }
  | { type: "user.removed" };

const TYPES: Record<UserEvent["type"], true> = {
  "user.human.added": true,
  "user.machine.added": true,
  "user.locked": true,
  "user.unlocked": true,
  "user.human.password.check.failed": true,
  "user.human.password.check.succeeded": true,
  "user.deactivated": true,
  "user.reactivated": true,
  "user.removed": true,
};

/** Every user event type this server records. */
export const USER_EVENT_TYPES = Object.keys(TYPES) as UserEvent["type"][];

/** Whether `type` names a user event this server records. */
export const isUserEventType = (type: string): type is UserEvent["type"] => Object.hasOwn(TYPES, type);

/** The id of the system itself as the actor of events it records on its own (a lock's end). */
export const SYSTEM_ACTOR = "SYSTEM";

/** An event as stored: who did it, when, and its place in the user's history. */
export type RecordedUserEvent = UserEvent & {
  userId: string;
  sequence: number;
  actor: string;
  createdAt: Date;
};

/** Folds one event into the user. The first event of a user must be an "added" event. */
export function applyEvent(user: User | undefined, event: RecordedUserEvent): User {
  const touched = (changes: Partial<User["flags"]>, rest: Partial<User> = {}): User => {
    if (!user) throw new Error(`event ${event.type} before the user was added`);
    return {
      ...user,
      ...rest,
      flags: { ...user.flags, ...changes },
      sequence: event.sequence,
      changedAt: event.createdAt,
    };
  };
  switch (event.type) {
    case "user.human.added":
      return {
        id: event.userId,
        orgId: event.payload.orgId,
        type: "human",
        username: event.payload.username,
        // Like ZITADEL: a human who has no password yet has to finish set-up first.
        flags: { initial: event.payload.human.passwordHash === undefined, locked: false, inactive: false, removed: false },
        human: event.payload.human,
        passwordFailures: 0,
        sequence: event.sequence,
        createdAt: event.createdAt,
        changedAt: event.createdAt,
      };
    case "user.machine.added":
      return {
        id: event.userId,
        orgId: event.payload.orgId,
        type: "machine",
        username: event.payload.username,
        flags: { initial: false, locked: false, inactive: false, removed: false },
        machine: event.payload.machine,
        passwordFailures: 0,
        sequence: event.sequence,
        createdAt: event.createdAt,
        changedAt: event.createdAt,
      };
    case "user.locked": {
      const cause = event.payload?.cause ?? "admin";
      const expiresAt = event.payload?.expiresAt === undefined ? undefined : new Date(event.payload.expiresAt);
      return touched({ locked: true }, { lock: { cause, expiresAt } });
    }
    case "user.unlocked":
      // Unlocking also forgives earlier wrong passwords.
      return touched({ locked: false }, { lock: undefined, passwordFailures: 0 });
    case "user.human.password.check.failed":
      return touched({}, { passwordFailures: (user?.passwordFailures ?? 0) + 1 });
    case "user.human.password.check.succeeded":
      return touched({}, { passwordFailures: 0 });
    case "user.deactivated":
      return touched({ inactive: true });
    case "user.reactivated":
      return touched({ inactive: false });
    case "user.removed":
      return touched({ removed: true });
  }
}
