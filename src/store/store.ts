/**
 * The persistence boundary, split by concern so that each part of the app sees only what it
 * uses; async so that SQLite and PostgreSQL can both implement it. What a commit writes is
 * decided once in write-plan.ts; each backend executes that plan its own way.
 */
import type { Execution, Target } from "../domain/actions.js";
import type { ExecutionListQuery, TargetListQuery } from "../domain/action-query.js";
import type { RecordedUserEvent } from "../domain/events.js";
import type { EventLog } from "./event-log.js";
import type { DeliveryWrite, OutboxStore } from "./outbox.js";
import type { SsfStore } from "./ssf-store.js";
import type { LockoutPolicy, PolicyScope } from "../domain/lockout.js";
import type { Session } from "../domain/sessions.js";
import type { RoleGrant } from "../domain/permissions.js";
import type { User } from "../domain/user.js";
import type { UserListQuery } from "../domain/user-query.js";

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
}

/** Events of one user to append, with the user as they leave it, in one transaction. */
export interface UserCommit {
  /**
   * The user as the events were decided on, absent for a user being created. The commit holds
   * only while the stored user is still at this one's sequence: every change of a user moves
   * it, so the stored row is then exactly this user, and the stores need not read it first.
   */
  previous?: User;
  events: RecordedUserEvent[];
  user: User;
  /** Roles and an access token for a user being created (machine users). */
  grants?: RoleGrant[];
  tokenHash?: string;
  /** A session created or changed by the same sign-in step. */
  session?: SessionWrite;
  /** Ends every session of the user (it was locked, deactivated or deleted). */
  endSessions?: boolean;
  /** Deliveries of the commit's events (EXTENSIONS.md §2), written in the same transaction. */
  deliveries?: DeliveryWrite[];
}

/** A session as it should be stored; `expectedSequence` 0 creates it. */
export interface SessionWrite {
  session: Session;
  expectedSequence: number;
  /** Set when the session is created or its token replaced. */
  tokenHash?: string;
}

export interface StoredLockoutPolicy extends LockoutPolicy {
  scope: PolicyScope;
}

/** The owner of a token, as authentication needs it. */
export interface TokenOwner {
  user: User;
  grants: RoleGrant[];
}

/** Users: their read model, and their changes as events. */
export interface UserStore {
  getUser(id: string): Promise<User | undefined>;
  /** Throws ConflictError when another change won the race or an id/username is taken. */
  commitUser(commit: UserCommit): Promise<void>;
  listUsers(query: UserListQuery): Promise<{ total: number; users: User[] }>;
  /** Ids of the users (not deleted) whose login name (username) this is, in any organization. */
  userIdsByLoginName(loginName: string): Promise<string[]>;
  /** Users whose lock ended at or before `now`. */
  usersWithExpiredLocks(now: Date, limit: number): Promise<string[]>;
}

/** The log of every user event, by position (event-log.ts). */
export interface EventLogStore {
  readonly log: EventLog;
}

/** Access tokens, for authentication. */
export interface CredentialStore {
  findTokenOwner(tokenHash: string): Promise<TokenOwner | undefined>;
}

/** Sign-in sessions. */
export interface SessionStore {
  getSession(id: string): Promise<{ session: Session; tokenHash: string } | undefined>;
  /** Throws ConflictError("session") when the session changed since it was read. */
  saveSession(write: SessionWrite): Promise<void>;
}

/** Organizations, and the first start of an empty database. */
export interface OrganizationStore {
  getOrganization(id: string): Promise<Organization | undefined>;
  addOrganization(org: Organization): Promise<void>;
  /** Creates the first organization and its first user only if there is no organization yet. */
  initialize(org: Organization, firstUser: UserCommit): Promise<boolean>;
}

/** Lockout settings, per organization or for the instance. */
export interface SettingsStore {
  /** The organization's policy, else the instance default, else undefined. */
  getLockoutPolicy(orgId: string | undefined): Promise<StoredLockoutPolicy | undefined>;
  setLockoutPolicy(scope: PolicyScope, policy: LockoutPolicy, at: Date): Promise<void>;
}

/** The Shared Signals transmitter's keys, streams and verification requests (ssf-store.ts). */
export interface SsfStoreAccess {
  readonly ssf: SsfStore;
}

/** Actions v2 targets and executions (EXTENSIONS.md §3). */
export interface ActionStore {
  /** Throws ConflictError("targetName") when another target has this name. */
  addTarget(target: Target): Promise<void>;
  /** Writes the target over the stored one with its id; false when there is none. Throws ConflictError("targetName"). */
  updateTarget(target: Target): Promise<boolean>;
  /** Deletes the target and takes it out of every execution (one left without targets is gone); false when there was none. */
  deleteTarget(id: string): Promise<boolean>;
  getTarget(id: string): Promise<Target | undefined>;
  listTargets(query: TargetListQuery): Promise<{ total: number; targets: Target[] }>;
  /**
   * Gives the execution of this condition these targets, in this order (a new one is created at
   * `at`, an existing one keeps its creation date), or removes it when there are none. False, with
   * nothing changed, when one of the targets does not exist.
   */
  setExecution(conditionId: string, targetIds: string[], at: Date): Promise<boolean>;
  listExecutions(query: ExecutionListQuery): Promise<{ total: number; executions: Execution[] }>;
  /** For each of these conditions that has an execution, its targets in call order. */
  executionTargets(conditionIds: string[]): Promise<{ conditionId: string; targets: Target[] }[]>;
}

export interface StoreLifecycle {
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  /**
   * Where writes share transactions (SQLite's group commit): the transactions committed since
   * start and the writes they held, whose ratio a write's cost depends on (bench/FINDINGS.md,
   * round "2026-12-05, watchers at the maximum"). Absent where each write is its own transaction.
   */
  commitCounts?(): CommitCounts;
  close(): Promise<void>;
}

export interface CommitCounts {
  transactions: number;
  writes: number;
}

/** A whole backend, as opened: what main and the CLI hold; each part of the app takes only the parts above it uses. */
/** The deliveries waiting to be sent (outbox.ts). */
export interface OutboxHolder {
  readonly outbox: OutboxStore;
}

/** Actions v2 targets and executions. */
export interface ActionHolder {
  readonly actions: ActionStore;
}

export interface Store
  extends UserStore,
    EventLogStore,
    OutboxHolder,
    ActionHolder,
    CredentialStore,
    SessionStore,
    OrganizationStore,
    SettingsStore,
    SsfStoreAccess,
    StoreLifecycle {}

/**
 * "sequence": the user changed since it was read; "session": the session did; "targetName": another
 * target has the name; "receiver": it has a stream already.
 */
export type ConflictReason = "sequence" | "session" | "userId" | "username" | "targetName" | "receiver";

export class ConflictError extends Error {
  constructor(readonly reason: ConflictReason) {
    super(`conflict on ${reason}`);
    this.name = "ConflictError";
  }
}
