/**
 * The user part of the app, where the domain meets the store: load → decide → append + project.
 * Every method takes the authenticated caller and returns domain values.
 */
import { checkAddHuman, humanAdded, organizationNotFound, type NewHuman } from "../domain/add-human.js";
import { DomainError } from "../domain/errors.js";
import { SYSTEM_ACTOR, type RecordedUserEvent, type UserEvent } from "../domain/events.js";
import { canRead, isInstanceRole, readableOrgs, type Principal, type Role } from "../domain/permissions.js";
import { decideLock, decideStateChange, lockEndsAt, type LockEnd, type LockRecord, type StateCommand } from "../domain/state-commands.js";
import { userState, type LockCause, type User } from "../domain/user.js";
import type { UserFilter, UserSortField } from "../domain/user-query.js";
import { newId } from "../security/ids.js";
import { hashPassword } from "../security/passwords.js";
import { hashToken, newToken } from "../security/tokens.js";
import {
  ConflictError,
  type CredentialStore,
  type EventLogStore,
  type Organization,
  type OrganizationStore,
  type UserCommit,
  type UserStore,
} from "../store/store.js";
import type { EventPosition } from "../store/event-log.js";
import { UserEvents, type ChangeDetails, type CommitHooks, type DryRun } from "./user-events.js";

export interface ListUsersInput {
  filters: UserFilter[];
  sort: UserSortField;
  asc: boolean;
  offset: number;
  limit: number;
}

export type AddHumanInput = Omit<NewHuman, "passwordHash"> & {
  userId?: string;
  /** A password to hash, or a hash imported from another system (already checked to be bcrypt). */
  password?: { plain: string } | { hash: string };
};

export interface HistoryPage {
  /** Only events with a sequence below this one (the page after a page ending there). */
  before?: number;
  limit: number;
}

export interface UserHistory {
  /** The user's organization, the owner of every event. */
  orgId: string;
  events: RecordedUserEvent[];
  /** Where the next page starts (HistoryPage.before); absent on the last page. */
  nextBefore?: number;
  /** Covers every event committed when the page was read: a watch from here misses and repeats nothing. */
  position: EventPosition;
}

export type LockStatus =
  | { locked: false; failedPasswordAttempts: number }
  | {
      locked: true;
      failedPasswordAttempts: number;
      since: Date;
      actor: { id: string; name: string };
      cause: LockCause;
      reason: string;
      expiresAt?: Date;
    };

/** Events read at a time while looking for the one that locked a user (it is nearly always the newest). */
const LOCK_SEARCH_PAGE = 20;

/** How many locks whose end has come one sweep ends at most. */
const EXPIRY_BATCH = 100;

export class UserApp {
  readonly events: UserEvents;

  constructor(
    private readonly store: UserStore & EventLogStore & CredentialStore & OrganizationStore,
    now: () => Date = () => new Date(),
    hooks: CommitHooks = {},
  ) {
    this.events = new UserEvents(store, now, hooks);
  }

  /** Resolves a bearer token to its owner, who must be an active user. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new DomainError("Unauthenticated", undefined, "auth header missing");
    const match = /^Bearer (\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new DomainError("Unauthenticated", "AUTH-7fs1e", "invalid auth header");
    const owner = await this.store.findTokenOwner(hashToken(match[1]));
    if (!owner || userState(owner.user.flags) !== "active") {
      throw new DomainError("Unauthenticated", "AUTH-7fs1e", "Token is invalid");
    }
    return { userId: owner.user.id, orgId: owner.user.orgId, grants: owner.grants };
  }

  /** Lock, unlock, deactivate, reactivate or delete; retried when another change to the user won a race. */
  changeState(command: StateCommand, userId: string, caller: Principal, options: DryRun = {}): Promise<ChangeDetails> {
    return this.decideAndCommit(userId, caller, (user) => decideStateChange(command, user, caller), options);
  }

  /** Our own lock call: LockUser's rules, with a reason and an optional end (EXTENSIONS.md §1). */
  lockWithRecord(userId: string, caller: Principal, input: { reason: string; end?: LockEnd }): Promise<ChangeDetails> {
    // The end is input: checked before the user is looked at, as every request field is.
    const expiresAt = input.end && lockEndsAt(input.end, this.events.now());
    return this.lockUntil(userId, caller, { reason: input.reason, expiresAt });
  }

  /** lockWithRecord with the end already worked out (a bulk lock works it out once for all its users). */
  lockUntil(userId: string, caller: Principal, record: LockRecord, options: DryRun = {}): Promise<ChangeDetails> {
    return this.decideAndCommit(userId, caller, (user) => decideLock(user, caller, record), options);
  }

  /**
   * Load → decide → commit, decided again on the user as it then is when another change won the
   * race. A dry run decides the same way and answers what the commit would, recording nothing.
   */
  private decideAndCommit(userId: string, caller: Principal, decide: (user: User | undefined) => UserEvent, options: DryRun): Promise<ChangeDetails> {
    return this.events.retryOnConflict(async () => {
      const user = await this.events.load(userId, options);
      const event = decide(user);
      return (await this.events.commit(user, [event], caller.userId, options)).details;
    });
  }

  async addHuman(input: AddHumanInput, caller: Principal): Promise<{ userId: string; details: ChangeDetails }> {
    checkAddHuman(input, caller);
    if (!(await this.store.getOrganization(input.orgId))) throw organizationNotFound();
    const { password } = input;
    const passwordHash = password === undefined ? undefined : "hash" in password ? password.hash : await hashPassword(password.plain);
    const userId = input.userId ?? newId();
    try {
      const { details } = await this.events.commit(undefined, [humanAdded({ ...input, passwordHash })], caller.userId, {
        newUserId: userId,
      });
      return { userId, details };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "userId")
        throw new DomainError("AlreadyExists", "COMMAND-7yiox1isql", "User already exists");
      if (err instanceof ConflictError && err.reason === "username")
        throw new DomainError("AlreadyExists", "V3-DKcYh", "User already exists");
      throw err;
    }
  }

  async getUser(userId: string, caller: Principal): Promise<User> {
    const user = await this.events.load(userId);
    if (!user || user.flags.removed || !canRead(caller, user)) {
      throw new DomainError("NotFound", "QUERY-Dfbg2", "User could not be found");
    }
    return user;
  }

  /**
   * Whether the user is locked and, while it is, the lock as recorded: its event (since when, by
   * whom, why) and the user (cause, end). Readable as the user is (getUser, which also ends a lock
   * whose time is up first).
   */
  async lockStatus(userId: string, caller: Principal): Promise<LockStatus> {
    const user = await this.getUser(userId, caller);
    const failedPasswordAttempts = user.passwordFailures;
    if (!user.flags.locked || !user.lock) return { locked: false, failedPasswordAttempts };
    const event = await this.latestLock(userId);
    const actorName = event.actor === SYSTEM_ACTOR ? SYSTEM_ACTOR : ((await this.store.getUser(event.actor))?.username ?? "");
    return {
      locked: true,
      failedPasswordAttempts,
      since: event.createdAt,
      actor: { id: event.actor, name: actorName },
      cause: user.lock.cause,
      reason: event.payload?.reason ?? "",
      expiresAt: user.lock.expiresAt,
    };
  }

  /** The event that locked a locked user: its latest user.locked. */
  private async latestLock(userId: string): Promise<Extract<RecordedUserEvent, { type: "user.locked" }>> {
    for (let before: number | undefined; ; ) {
      const { events: page } = await this.store.log.userEvents(userId, before, LOCK_SEARCH_PAGE);
      for (const event of page) if (event.type === "user.locked") return event;
      if (page.length < LOCK_SEARCH_PAGE) throw new Error(`user ${userId} is locked without a user.locked event`);
      before = page[page.length - 1]!.sequence;
    }
  }

  /**
   * A page of the user's events, newest first, and the sequence the next page starts below
   * (absent on the last page). Whoever may read the user may read its history; for anyone
   * else it does not exist, as in getUser. Pages by sequence stay stable while events are added.
   */
  async history(userId: string, caller: Principal, page: HistoryPage): Promise<UserHistory> {
    const { orgId } = await this.getUser(userId, caller);
    const { events, position } = await this.store.log.userEvents(userId, page.before, page.limit + 1);
    if (events.length <= page.limit) return { orgId, events, position };
    const shown = events.slice(0, page.limit);
    return { orgId, events: shown, nextBefore: shown[shown.length - 1]!.sequence, position };
  }

  listUsers(input: ListUsersInput, caller: Principal): Promise<{ total: number; users: User[] }> {
    return this.store.listUsers({ ...input, visibleOrgs: readableOrgs(caller), callerId: caller.userId });
  }

  /** Ends the locks whose time is up (loading a user does it too); returns how many. */
  async expireLocks(): Promise<number> {
    const ids = await this.store.usersWithExpiredLocks(this.events.now(), EXPIRY_BATCH);
    for (const id of ids) await this.events.load(id);
    return ids.length;
  }

  /** Administration (CLI and first start): not reachable through the API. */
  async addOrganization(name: string): Promise<Organization> {
    const org = { id: newId(), name, createdAt: this.events.now() };
    await this.store.addOrganization(org);
    return org;
  }

  async addMachineUser(orgId: string, username: string, role: Role): Promise<{ userId: string; token: string }> {
    if (!(await this.store.getOrganization(orgId))) throw organizationNotFound();
    const { commit, token } = this.newMachineUser(orgId, username, role);
    try {
      await this.store.commitUser(commit);
    } catch (err) {
      if (err instanceof ConflictError) throw new DomainError("AlreadyExists", "V3-DKcYh", "User already exists");
      throw err;
    }
    return { userId: commit.user.id, token };
  }

  /** On an empty database: the first organization and its IAM_OWNER machine user. Returns its token, or undefined if already set up. */
  async initialize(orgName: string, adminUsername: string): Promise<string | undefined> {
    const org = { id: newId(), name: orgName, createdAt: this.events.now() };
    const { commit, token } = this.newMachineUser(org.id, adminUsername, "IAM_OWNER");
    return (await this.store.initialize(org, commit)) ? token : undefined;
  }

  /** A machine user with one role and an access token; the token is returned only here. */
  private newMachineUser(orgId: string, username: string, role: Role): { commit: UserCommit; token: string } {
    const added: UserEvent = {
      type: "user.machine.added",
      payload: { orgId, username, machine: { name: username, description: "" } },
    };
    const token = newToken();
    const commit = this.events.prepare(undefined, [added], SYSTEM_ACTOR, newId());
    commit.grants = [{ role, orgId: isInstanceRole(role) ? null : orgId }];
    commit.tokenHash = hashToken(token);
    return { commit, token };
  }
}
