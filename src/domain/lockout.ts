/** The lockout policy and the password check it governs (SPEC issue 5; ZITADEL's order and errors). */
import { DomainError } from "./errors.js";
import type { UserEvent } from "./events.js";
import type { User } from "./user.js";

export interface LockoutPolicy {
  /** Wrong passwords in a row that lock the user; 0 means never. */
  maxPasswordAttempts: number;
  maxOtpAttempts: number;
  /** How long a lock by this policy lasts; undefined means until an administrator unlocks. */
  lockDurationSeconds?: number;
}

/** Where a policy came from: an organization's own, or the instance default. */
export type PolicyScope = { org: string } | "instance";

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxPasswordAttempts: 0, maxOtpAttempts: 0 };

export const userLocked = () => new DomainError("FailedPrecondition", "COMMAND-JLK35", "User is locked");

export interface PasswordCheck {
  /** Events to append whether or not the check passed. */
  events: UserEvent[];
  /** Set when the check failed: the error to answer after the events are stored. */
  error?: DomainError;
}

/**
 * Decides the outcome of a password check. A wrong password counts; the attempt that reaches
 * the policy's maximum also locks the user, in the same commit.
 */
export function decidePasswordCheck(user: User, passwordMatches: boolean, policy: LockoutPolicy, now: Date): PasswordCheck {
  if (user.flags.locked) return { events: [], error: userLocked() };
  if (!user.human?.passwordHash) {
    return { events: [], error: new DomainError("FailedPrecondition", "COMMAND-3nJ4t", "User has not set a password") };
  }
  if (passwordMatches) return { events: [{ type: "user.human.password.check.succeeded" }] };
  const failedAttempts = user.passwordFailures + 1;
  const events: UserEvent[] = [{ type: "user.human.password.check.failed" }];
  if (policy.maxPasswordAttempts > 0 && failedAttempts >= policy.maxPasswordAttempts) {
    const expiresAt =
      policy.lockDurationSeconds === undefined ? undefined : new Date(now.getTime() + policy.lockDurationSeconds * 1000).toISOString();
    events.push({ type: "user.locked", payload: { cause: "policy", expiresAt } });
  }
  return {
    events,
    error: new DomainError("InvalidArgument", "COMMAND-3M0fs", "Password is invalid", failedAttempts),
  };
}

/**
 * A lock whose time is up ends with an unlock by the system: the policy's timed locks and
 * administrators' locks given an end share this one mechanism; a lock without an end never expires.
 */
export function lockHasExpired(user: User, now: Date): boolean {
  const expiresAt = user.lock?.expiresAt;
  return user.flags.locked && expiresAt !== undefined && expiresAt.getTime() <= now.getTime();
}
