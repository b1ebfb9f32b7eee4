/** AddHumanUser: validate the new user and the caller's right to create it. */
import { DomainError, invalidArgument } from "./errors.js";
import type { UserEvent } from "./events.js";
import { hasPermission, type Principal } from "./permissions.js";
import { permissionDenied } from "./state-commands.js";
import type { HumanProfile } from "./user.js";

export interface NewHuman {
  orgId: string;
  /** Defaults to the email address, as in ZITADEL. */
  username?: string;
  profile: HumanProfile;
  email: string;
  emailVerified: boolean;
  /** Already hashed: hashing is slow and belongs outside the pure core. */
  passwordHash?: string;
  passwordChangeRequired: boolean;
}

const EMAIL = /^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+$/;

/** Input validation, then the caller's permission; run before the slow password hashing. */
export function checkAddHuman(input: NewHuman, caller: Principal): void {
  if (!input.email) throw new DomainError("InvalidArgument", "EMAIL-spblu", "Email is empty");
  if (!EMAIL.test(input.email)) throw new DomainError("InvalidArgument", "EMAIL-599BI", "Email is invalid");
  if (!input.profile.givenName.trim())
    throw new DomainError("InvalidArgument", "USER-UCej2", "Given name in profile is empty");
  if (!input.profile.familyName.trim())
    throw new DomainError("InvalidArgument", "USER-4hB7d", "Family name in profile is empty");
  if (input.username !== undefined && !input.username.trim()) throw invalidArgument("username must not be blank");
  if (!hasPermission(caller, "user.write", input.orgId)) throw permissionDenied();
}

export function humanAdded(input: NewHuman): UserEvent {
  return {
    type: "user.human.added",
    payload: {
      orgId: input.orgId,
      username: input.username ?? input.email,
      human: {
        profile: input.profile,
        email: input.email,
        emailVerified: input.emailVerified,
        passwordHash: input.passwordHash,
        passwordChangeRequired: input.passwordChangeRequired,
      },
    },
  };
}

export const organizationNotFound = () =>
  new DomainError("FailedPrecondition", "COMMAND-QXPGs", "Organisation not found");
