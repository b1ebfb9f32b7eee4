/** Rows of the sessions and lockout_policies tables (same columns in every dialect). */
import type { LockoutPolicy, PolicyScope } from "../domain/lockout.js";
import type { Session } from "../domain/sessions.js";
import type { StoredLockoutPolicy } from "./store.js";

/** A session as stored: with its token's hash, and null where the session has no value. */
export interface SessionRow extends Omit<Session, "passwordCheckedAt" | "expiresAt"> {
  tokenHash: string;
  passwordCheckedAt: Date | null;
  expiresAt: Date | null;
}

export function toSessionRow(session: Session, tokenHash: string): SessionRow {
  return {
    ...session,
    tokenHash,
    passwordCheckedAt: session.passwordCheckedAt ?? null,
    expiresAt: session.expiresAt ?? null,
  };
}

export function fromSessionRow({ tokenHash, ...row }: SessionRow): { session: Session; tokenHash: string } {
  return {
    session: { ...row, passwordCheckedAt: row.passwordCheckedAt ?? undefined, expiresAt: row.expiresAt ?? undefined },
    tokenHash,
  };
}

export interface LockoutPolicyRow {
  scope: string;
  maxPasswordAttempts: number;
  maxOtpAttempts: number;
  lockDurationSeconds: number | null;
  changedAt: Date;
}

const INSTANCE_SCOPE = "instance";

const scopeKey = (scope: PolicyScope) => (scope === "instance" ? INSTANCE_SCOPE : scope.org);

/** The organization's own row wins over the instance's. */
export function scopeKeys(orgId: string | undefined): string[] {
  return orgId === undefined ? [INSTANCE_SCOPE] : [orgId, INSTANCE_SCOPE];
}

export function toPolicyRow(scope: PolicyScope, policy: LockoutPolicy, at: Date): LockoutPolicyRow {
  return {
    scope: scopeKey(scope),
    maxPasswordAttempts: policy.maxPasswordAttempts,
    maxOtpAttempts: policy.maxOtpAttempts,
    lockDurationSeconds: policy.lockDurationSeconds ?? null,
    changedAt: at,
  };
}

/** Picks the most specific of the rows found for `scopeKeys(orgId)`. */
export function mostSpecificPolicy(rows: LockoutPolicyRow[]): StoredLockoutPolicy | undefined {
  const row = rows.find((r) => r.scope !== INSTANCE_SCOPE) ?? rows[0];
  if (!row) return undefined;
  return {
    scope: row.scope === INSTANCE_SCOPE ? "instance" : { org: row.scope },
    maxPasswordAttempts: row.maxPasswordAttempts,
    maxOtpAttempts: row.maxOtpAttempts,
    lockDurationSeconds: row.lockDurationSeconds ?? undefined,
  };
}
