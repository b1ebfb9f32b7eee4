/** Sign-in sessions: who may see and change them, and the user check of ZITADEL's order. */
import { DomainError } from "./errors.js";
import { hasPermission, type Permission, type Principal } from "./permissions.js";
import { userLocked } from "./lockout.js";
import { userState, type User } from "./user.js";

export interface Session {
  id: string;
  userId: string;
  orgId: string;
  /** Changes of this session so far. */
  sequence: number;
  createdAt: Date;
  changedAt: Date;
  userCheckedAt: Date;
  passwordCheckedAt?: Date;
  expiresAt?: Date;
  terminated: boolean;
}

export const sessionNotFound = () => new DomainError("NotFound", "QUERY-SFeaa", "Session does not exist");

/** No organization has this id, so only instance-wide grants (IAM_LOGIN_CLIENT, IAM_OWNER) match it. */
const INSTANCE_ONLY = "";

export function requireSessionPermission(caller: Principal, permission: Permission): void {
  if (!hasPermission(caller, permission, INSTANCE_ONLY)) {
    throw new DomainError("PermissionDenied", "AUTH-AWfge", "No matching permissions found");
  }
}

/** GetSession and DeleteSession also accept the session's own token instead of the permission. */
export function requireSessionAccess(caller: Principal, permission: Permission, holdsSessionToken: boolean): void {
  if (!holdsSessionToken) requireSessionPermission(caller, permission);
}

/** A session that ended or expired is gone, as if it never existed. */
export function requireLiveSession(session: Session | undefined, now: Date): Session {
  if (!session || session.terminated || (session.expiresAt && session.expiresAt.getTime() <= now.getTime())) {
    throw sessionNotFound();
  }
  return session;
}

/** The user check: the user must exist and be able to sign in. */
export function checkUserForSignIn(user: User | undefined): User {
  if (!user || user.flags.removed) throw new DomainError("NotFound", "QUERY-Dfbg2", "User could not be found");
  const state = userState(user.flags);
  if (state === "locked") throw userLocked();
  if (state !== "active" && state !== "initial") {
    throw new DomainError("FailedPrecondition", "SESSION-Gj4ko", "User is not active");
  }
  return user;
}
