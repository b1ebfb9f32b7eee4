/**
 * The state changes the user's page offers. `allowedFrom` mirrors the server's transitions so
 * that a button is disabled when it would surely fail; the server still decides, and a state
 * changed meanwhile shows its error.
 */
import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { UserClient } from "./api.js";

export interface UserAction {
  label: string;
  /** Past tense, for "User … locked." */
  done: string;
  /** What confirming means, said in the confirmation dialog. */
  consequence: string;
  allowedFrom: readonly UserState[];
  /** Deleting: the button is styled as dangerous, and the page leaves for the list afterwards. */
  removesUser: boolean;
  run(client: UserClient, userId: string): Promise<unknown>;
}

const { ACTIVE, INITIAL, LOCKED, INACTIVE } = UserState;

export const USER_ACTIONS: readonly UserAction[] = [
  {
    label: "Lock",
    done: "locked",
    consequence: "A locked user cannot sign in until it is unlocked.",
    allowedFrom: [ACTIVE, INITIAL],
    removesUser: false,
    run: (client, userId) => client.lockUser({ userId }),
  },
  {
    label: "Unlock",
    done: "unlocked",
    consequence: "The user returns to the state it had before the lock and can sign in again.",
    allowedFrom: [LOCKED],
    removesUser: false,
    run: (client, userId) => client.unlockUser({ userId }),
  },
  {
    label: "Deactivate",
    done: "deactivated",
    consequence: "An inactive user cannot sign in until it is reactivated.",
    allowedFrom: [ACTIVE, LOCKED],
    removesUser: false,
    run: (client, userId) => client.deactivateUser({ userId }),
  },
  {
    label: "Reactivate",
    done: "reactivated",
    consequence: "The user can sign in again (unless it was locked before).",
    allowedFrom: [INACTIVE],
    removesUser: false,
    run: (client, userId) => client.reactivateUser({ userId }),
  },
  {
    label: "Delete",
    done: "deleted",
    consequence: "The user is removed for good. This cannot be undone.",
    allowedFrom: [ACTIVE, INITIAL, LOCKED, INACTIVE],
    removesUser: true,
    run: (client, userId) => client.deleteUser({ userId }),
  },
];
