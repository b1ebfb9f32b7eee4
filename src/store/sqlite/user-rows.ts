/** Conversion between the User aggregate and a row of the users table. */
import type { Gender, User } from "../../domain/user.js";
import { userState } from "../../domain/user.js";
import type { users } from "./schema.js";

type UserRow = typeof users.$inferSelect;

export function toUserRow(user: User): UserRow {
  const { human, machine } = user;
  return {
    id: user.id,
    orgId: user.orgId,
    type: user.type,
    username: user.username,
    usernameLower: user.username.toLowerCase(),
    state: userState(user.flags),
    ...user.flags,
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
      row.type === "machine"
        ? { name: row.machineName ?? "", description: row.machineDescription ?? "" }
        : undefined,
    sequence: row.sequence,
    createdAt: row.createdAt,
    changedAt: row.changedAt,
  };
}
