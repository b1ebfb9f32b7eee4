/**
 * The state changes the user's page offers. `allowedFrom` mirrors the server's transitions so
 * that a button is disabled when it would surely fail; the server still decides, and a state
 * changed meanwhile shows its error.
 *
 * Lock always calls our zus.user.v1 LockUser, also without a reason or end: it checks and
 * answers exactly as ZITADEL's LockUser does, so one call covers both and every lock made here
 * records what the dialog was given (an empty reason too).
 */
import type { Details } from "../../gen/zitadel/object/v2/object_pb.js";
import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { Clients } from "./api.js";
import { lockRequestFields, type LockInput } from "./lock-fields.js";

export interface UserAction {
  label: string;
  /** Past tense, for "User … locked." */
  done: string;
  /** What confirming means, said in the confirmation dialog. */
  consequence: string;
  allowedFrom: readonly UserState[];
  /** Deleting: the button is styled as dangerous, and the page leaves for the list afterwards. */
  removesUser: boolean;
  /** Asks for a reason and a duration (the lock dialog) instead of a plain confirmation. */
  takesLockInput: boolean;
  /** `lock` is what the lock dialog was given; the other actions take none. */
  run(clients: Clients, userId: string, lock?: LockInput): Promise<{ details?: Details }>;
}

const { ACTIVE, INITIAL, LOCKED, INACTIVE } = UserState;

export const USER_ACTIONS: readonly UserAction[] = [
  {
    label: "Lock",
    done: "locked",
    consequence: "A locked user cannot sign in until it is unlocked.",
    allowedFrom: [ACTIVE, INITIAL],
    removesUser: false,
    takesLockInput: true,
    run: (clients, userId, lock = { reason: "" }) => clients.records.lockUser({ userId, ...lockRequestFields(lock) }),
  },
  {
    label: "Unlock",
    done: "unlocked",
    consequence: "The user returns to the state it had before the lock and can sign in again.",
    allowedFrom: [LOCKED],
    removesUser: false,
    takesLockInput: false,
    run: (clients, userId) => clients.users.unlockUser({ userId }),
  },
  {
    label: "Deactivate",
    done: "deactivated",
    consequence: "An inactive user cannot sign in until it is reactivated.",
    allowedFrom: [ACTIVE, LOCKED],
    removesUser: false,
    takesLockInput: false,
    run: (clients, userId) => clients.users.deactivateUser({ userId }),
  },
  {
    label: "Reactivate",
    done: "reactivated",
    consequence: "The user can sign in again (unless it was locked before).",
    allowedFrom: [INACTIVE],
    removesUser: false,
    takesLockInput: false,
    run: (clients, userId) => clients.users.reactivateUser({ userId }),
  },
  {
    label: "Delete",
    done: "deleted",
    consequence: "The user is removed for good. This cannot be undone.",
    allowedFrom: [ACTIVE, INITIAL, LOCKED, INACTIVE],
    removesUser: true,
    takesLockInput: false,
    run: (clients, userId) => clients.users.deleteUser({ userId }),
  },
];
