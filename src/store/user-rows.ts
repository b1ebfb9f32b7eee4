/** Conversion between the User aggregate and a row of the users table (same columns in every dialect). */
import { isRole, type RoleGrant } from "../domain/permissions.js";
import { userState, type Gender, type User, type UserState, type UserType } from "../domain/user.js";
import type { TokenOwner } from "./store.js";

export interface UserRow {
  id: string;
  orgId: string;
  type: UserType;
  username: string;
  /** Unicode lower case of the username, for ignore-case queries (SQLite's lower() folds ASCII only). */
  usernameLower: string;
  state: UserState;
  initial: boolean;
  locked: boolean;
  inactive: boolean;
  removed: boolean;
  givenName: string | null;
  familyName: string | null;
  nickName: string | null;
  displayName: string | null;
  preferredLanguage: string | null;
  gender: string | null;
  email: string | null;
  emailVerified: boolean | null;
  passwordHash: string | null;
  passwordChangeRequired: boolean | null;
  machineName: string | null;
  machineDescription: string | null;
  lockCause: string | null;
  lockExpiresAt: Date | null;
  passwordFailures: number;
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

export function toUserRow(user: User): UserRow {
  const { human, machine } = user;
  return {
    id: user.id,
    orgId: user.orgId,
    type: user.type,
    username: user.username,
    usernameLower: user.username.toLowerCase(),
    state: userState(user.flags),
    // Named, not spread: a spread in the middle of a literal makes V8 add every later property
    // one by one through its slow path, and this runs twice for every change.
    initial: user.flags.initial,
    locked: user.flags.locked,
    inactive: user.flags.inactive,
    removed: user.flags.removed,
    givenName: human?.profile.givenName ?? null,
    familyName: human?.profile.familyName ?? null,
    nickName: human?.profile.nickName ?? null,
    displayName: human?.profile.displayName ?? null,
    preferredLanguage: human?.profile.preferredLanguage ?? null,
    gender: human?.profile.gender ?? null,
    email: human?.email ?? null,
    emailVerified: human?.emailVerified ?? null,
    passwordHash: human?.passwordHash ?? null,
    passwordChangeRequired: human?.passwordChangeRequired ?? null,
    machineName: machine?.name ?? null,
    machineDescription: machine?.description ?? null,
    lockCause: user.lock?.cause ?? null,
    lockExpiresAt: user.lock?.expiresAt ?? null,
    passwordFailures: user.passwordFailures,
    sequence: user.sequence,
    createdAt: user.createdAt,
    changedAt: user.changedAt,
  };
}

const optional = <T>(value: T | null): T | undefined => value ?? undefined;

export function fromUserRow(row: UserRow): User {
  return {
    id: row.id,
    orgId: row.orgId,
    type: row.type,
    username: row.username,
    flags: { initial: row.initial, locked: row.locked, inactive: row.inactive, removed: row.removed },
    human:
      row.type === "human"
        ? {
            profile: {
              givenName: row.givenName ?? "",
              familyName: row.familyName ?? "",
              nickName: optional(row.nickName),
              displayName: optional(row.displayName),
              preferredLanguage: optional(row.preferredLanguage),
              gender: optional(row.gender) as Gender | undefined,
            },
            email: row.email ?? "",
            emailVerified: row.emailVerified ?? false,
            passwordHash: optional(row.passwordHash),
            passwordChangeRequired: row.passwordChangeRequired ?? false,
          }
        : undefined,
    machine:
      row.type === "machine" ? { name: row.machineName ?? "", description: row.machineDescription ?? "" } : undefined,
    lock: row.locked ? { cause: row.lockCause === "policy" ? "policy" : "admin", expiresAt: optional(row.lockExpiresAt) } : undefined,
    passwordFailures: row.passwordFailures,
    sequence: row.sequence,
    createdAt: row.createdAt,
    changedAt: row.changedAt,
  };
}

/** A token's owner from its users row and role grant rows: only the roles this version knows count. */
export function toTokenOwner(userRow: UserRow, grantRows: { role: string; orgId: string | null }[]): TokenOwner {
  return { user: fromUserRow(userRow), grants: grantRows.filter((g): g is RoleGrant => isRole(g.role)) };
}
