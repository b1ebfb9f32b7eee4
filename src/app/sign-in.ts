/**
 * The session part of the app: CreateSession, SetSession, GetSession, DeleteSession with
 * ZITADEL's user and password checks, and the lockout policy that wrong passwords trigger.
 */
import { DomainError, invalidArgument } from "../domain/errors.js";
import { decidePasswordCheck, DEFAULT_LOCKOUT } from "../domain/lockout.js";
import type { Principal } from "../domain/permissions.js";
import {
  checkUserForSignIn,
  requireLiveSession,
  requireSessionAccess,
  requireSessionPermission,
  sessionNotFound,
  type Session,
} from "../domain/sessions.js";
import type { User } from "../domain/user.js";
import { newId } from "../security/ids.js";
import { verifyPassword } from "../security/passwords.js";
import { hashToken, newToken } from "../security/tokens.js";
import type { SessionStore, SessionWrite, SettingsStore, UserStore } from "../store/store.js";
import type { ChangeDetails, UserEvents } from "./user-events.js";

export type UserRef = { userId: string } | { loginName: string };

export interface SessionChecks {
  user?: UserRef;
  password?: string;
  /** Seconds from now until the session expires. */
  lifetimeSeconds?: number;
}

export interface SessionView {
  session: Session;
  user: User;
}

export class SignInApp {
  constructor(
    private readonly store: SessionStore & Pick<SettingsStore, "getLockoutPolicy"> & Pick<UserStore, "userIdsByLoginName">,
    private readonly users: UserEvents,
  ) {}

  async createSession(checks: SessionChecks, caller: Principal): Promise<{ sessionId: string; sessionToken: string; details: ChangeDetails }> {
    requireSessionPermission(caller, "session.write");
    if (!checks.user) throw invalidArgument("invalid CreateSessionRequest.Checks.User: value is required");
    const now = this.users.now();
    const user = checkUserForSignIn(await this.findUser(checks.user));
    const session: Session = {
      id: newId(),
      userId: user.id,
      orgId: user.orgId,
      sequence: 1,
      createdAt: now,
      changedAt: now,
      userCheckedAt: now,
      expiresAt: expiry(now, checks.lifetimeSeconds),
      terminated: false,
    };
    return this.writeWithChecks(user, session, 0, checks.password, caller);
  }

  async setSession(sessionId: string, checks: SessionChecks, caller: Principal): Promise<{ sessionToken: string; details: ChangeDetails }> {
    requireSessionPermission(caller, "session.write");
    return this.users.retryOnConflict(async () => {
      const now = this.users.now();
      const current = requireLiveSession((await this.store.getSession(sessionId))?.session, now);
      const user = checkUserForSignIn(await this.users.load(current.userId));
      if (checks.user && !refersTo(checks.user, user)) {
        throw invalidArgument("invalid SetSessionRequest.Checks.User: the session belongs to another user");
      }
      const session: Session = {
        ...current,
        sequence: current.sequence + 1,
        changedAt: now,
        userCheckedAt: checks.user ? now : current.userCheckedAt,
        expiresAt: checks.lifetimeSeconds === undefined ? current.expiresAt : expiry(now, checks.lifetimeSeconds),
      };
      const { sessionToken, details } = await this.writeWithChecks(user, session, current.sequence, checks.password, caller);
      return { sessionToken, details };
    }, "session");
  }

  async getSession(sessionId: string, sessionToken: string | undefined, caller: Principal): Promise<SessionView> {
    const found = await this.store.getSession(sessionId);
    requireSessionAccess(caller, "session.read", tokenMatches(found?.tokenHash, sessionToken));
    const session = requireLiveSession(found?.session, this.users.now());
    const user = await this.users.load(session.userId);
    if (!user) throw sessionNotFound();
    return { session, user };
  }

  async deleteSession(sessionId: string, sessionToken: string | undefined, caller: Principal): Promise<ChangeDetails> {
    return this.users.retryOnConflict(async () => {
      const found = await this.store.getSession(sessionId);
      requireSessionAccess(caller, "session.delete", tokenMatches(found?.tokenHash, sessionToken));
      const now = this.users.now();
      const current = requireLiveSession(found?.session, now);
      const session = { ...current, sequence: current.sequence + 1, changedAt: now, terminated: true };
      await this.store.saveSession({ session, expectedSequence: current.sequence });
      return { sequence: session.sequence, changeDate: now, resourceOwner: session.orgId };
    }, "session");
  }

  /**
   * Stores the session (with a new token) after an optional password check. A wrong password
   * is recorded (and may lock the user) even though the call then fails.
   */
  private async writeWithChecks(
    user: User,
    session: Session,
    expectedSequence: number,
    password: string | undefined,
    caller: Principal,
  ): Promise<{ sessionId: string; sessionToken: string; details: ChangeDetails }> {
    const sessionToken = newToken();
    const write: SessionWrite = { session, expectedSequence, tokenHash: hashToken(sessionToken) };
    const details = { sequence: session.sequence, changeDate: session.changedAt, resourceOwner: session.orgId };
    if (password === undefined) {
      await this.store.saveSession(write);
      return { sessionId: session.id, sessionToken, details };
    }
    const matches = user.human?.passwordHash ? await verifyPassword(password, user.human.passwordHash) : false;
    const policy = (await this.store.getLockoutPolicy(user.orgId)) ?? DEFAULT_LOCKOUT;
    await this.users.retryOnConflict(async () => {
      // Decided on the latest user, so concurrent wrong passwords each count.
      const latest = checkUserForSignIn(await this.users.load(user.id));
      const check = decidePasswordCheck(latest, matches, policy, this.users.now());
      if (check.error) {
        if (check.events.length) await this.users.commit(latest, check.events, caller.userId);
        throw check.error;
      }
      write.session.passwordCheckedAt = session.changedAt;
      await this.users.commit(latest, check.events, caller.userId, { session: write });
    });
    return { sessionId: session.id, sessionToken, details };
  }

  private async findUser(ref: UserRef): Promise<User | undefined> {
    if ("userId" in ref) return this.users.load(ref.userId);
    const ids = await this.store.userIdsByLoginName(ref.loginName);
    if (ids.length > 1) {
      throw new DomainError("InvalidArgument", undefined, "login name is used in several organizations: check the user by user_id");
    }
    return ids[0] === undefined ? undefined : this.users.load(ids[0]);
  }
}

const refersTo = (ref: UserRef, user: User) => ("userId" in ref ? ref.userId === user.id : ref.loginName === user.username);

const expiry = (now: Date, lifetimeSeconds: number | undefined) =>
  lifetimeSeconds === undefined ? undefined : new Date(now.getTime() + lifetimeSeconds * 1000);

const tokenMatches = (storedHash: string | undefined, token: string | undefined) =>
  storedHash !== undefined && token !== undefined && token !== "" && hashToken(token) === storedHash;
