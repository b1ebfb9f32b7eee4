/** The user aggregate: a fold over its events. No I/O here. */

export type UserType = "human" | "machine";

export type UserState = "active" | "inactive" | "deleted" | "locked" | "initial";

export type Gender = "unspecified" | "female" | "male" | "diverse";

export interface HumanProfile {
  givenName: string;
  familyName: string;
  nickName?: string;
  displayName?: string;
  preferredLanguage?: string;
  gender?: Gender;
}

export interface HumanDetails {
  profile: HumanProfile;
  email: string;
  emailVerified: boolean;
  passwordHash?: string;
  passwordChangeRequired: boolean;
}

export interface MachineDetails {
  name: string;
  description: string;
}

/**
 * State is kept as independent flags so that each transition touches only its own
 * concern: a lock survives deactivation, and unlocking returns to whatever the user
 * was before (initial or active). `userState` derives the single public state.
 */
export interface StateFlags {
  initial: boolean;
  locked: boolean;
  inactive: boolean;
  removed: boolean;
}

/** Who locked a user: an administrator (LockUser), or the lockout policy after failed passwords. */
export type LockCause = "admin" | "policy";

export interface UserLock {
  cause: LockCause;
  /** When the lock ends by itself: a policy lock with a duration, or an administrator's lock given an end. */
  expiresAt?: Date;
}

export interface User {
  id: string;
  orgId: string;
  type: UserType;
  username: string;
  flags: StateFlags;
  human?: HumanDetails;
  machine?: MachineDetails;
  /** Set while locked. */
  lock?: UserLock;
  /** Wrong passwords since the last right one or the last unlock. */
  passwordFailures: number;
  /** Number of events of this user; the sequence of its latest event. */
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

export function userState(flags: StateFlags): UserState {
  if (flags.removed) return "deleted";
  if (flags.inactive) return "inactive";
  if (flags.locked) return "locked";
  if (flags.initial) return "initial";
  return "active";
}
