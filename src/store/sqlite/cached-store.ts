/**
 * Users and token owners kept in memory in front of a SQLite store. An entry is replaced or
 * dropped right after each commit of its user here, and as soon as another process on the file
 * (another worker of the cluster, the CLI) is seen to have committed, the entries of the users
 * whose events it wrote are dropped (all of them past a thousand events): so an entry is what a
 * read of the rows would give. This rests on every change of a user, its tokens or grants
 * writing an event of that user in its transaction, as every writer here does (writePlan); a row
 * changed by hand without its event is not seen until the entry goes otherwise (why only those
 * entries: bench/FINDINGS.md, "what the machine allows a second process"). Authentication runs
 * on every call, and a lock or unlock then reads its user without SQLite (what that saves:
 * bench/FINDINGS.md, "Earlier rounds", "Two rounds before"). PostgreSQL has several instances on
 * one database and gets no such cache.
 *
 * Whether another process committed is looked at once per task of the event loop (a callback
 * from the loop with the promise jobs it starts), at the first use of an entry in it, not at
 * every use: the look costs a read transaction's system calls (bench/FINDINGS.md, "every core";
 * fewer where nothing committed, wal-index-peek.ts), and a call uses two or three entries. Why
 * that is enough: a request is read from its socket in a task (an I/O callback) of its own or
 * together with others, before any of them is served. A client that sends it after the answer
 * to another process's commit sends it after that COMMIT returned, so the task that reads it
 * starts after the COMMIT, and the look of that task, or of any later task its call goes on in,
 * sees the commit. A look of an earlier task is never used in a later one: the mark is cleared
 * once the task's promise jobs have all run, before the loop runs the next callback. So a lock
 * committed by another worker refuses its user's token from the next request on, as issue 23
 * asks; code that commits on another connection and reads here in the same task (only a test
 * does) sees the commit from its next task.
 */
import type { User } from "../../domain/user.js";
import type { UserListQuery } from "../../domain/user-query.js";
import type { LockoutPolicy, PolicyScope } from "../../domain/lockout.js";
import type { Session } from "../../domain/sessions.js";
import { ConflictError, type ActionStore, type CommitCounts, type Organization, type SessionWrite, type Store, type StoredLockoutPolicy, type TokenOwner, type UserCommit } from "../store.js";
import { fromUserRow, type UserRow } from "../user-rows.js";
import type { EventLog } from "../event-log.js";
import type { OutboxStore } from "../outbox.js";
import type { SsfStore } from "../ssf-store.js";

/** A token's owner with the token's expiry, which the cache checks on every use. */
export interface ExpiringTokenOwner extends TokenOwner {
  expiresAt: Date | null;
}

/** What the store behind the cache offers it: reads that answer at once, and word of each commit. */
export interface CacheableStore extends Omit<Store, "getUser" | "findTokenOwner" | "commitCounts"> {
  commitCounts(): CommitCounts;
  /** The user as stored now, without waiting for what is not yet durable. */
  readUser(id: string): User | undefined;
  /** A token's owner as stored now, expired or not; undefined for an unknown or revoked token. */
  readTokenOwner(tokenHash: string): ExpiringTokenOwner | undefined;
  /**
   * What is committed but not yet durable, if anything: an answer from memory waits for it too.
   * It knows of another process's commits from the last look (othersCommitted) only.
   */
  pendingDurability(): Promise<void> | undefined;
  /** Grows each time another connection on the file is seen to have committed since the last look. */
  othersCommitted(): number;
  /** The users another connection changed since the last call, or "all". */
  takeChangedByOthers(): Set<string> | "all";
  /**
   * Calls `committed` with the user's row right after the COMMIT that holds the commit, before
   * any other JavaScript runs and before the wait for durability: a change that starts meanwhile
   * must already read the committed user, or it would be refused as a conflict and retried.
   */
  commitUser(commit: UserCommit, committed?: (row: UserRow) => void): Promise<void>;
}

/** Entries kept at most; more and a cache starts over. */
const MAX_CACHED_TOKENS = 10_000;
const MAX_CACHED_USERS = 10_000;

const isLive = (owner: ExpiringTokenOwner): boolean => !owner.expiresAt || owner.expiresAt.getTime() > Date.now();

export class CachedStore implements Store {
  private readonly tokenOwners = new Map<string, ExpiringTokenOwner>();
  private readonly tokensOfUser = new Map<string, Set<string>>();
  private readonly users = new Map<string, User>();
  /** othersCommitted() when the entries were last known to be current. */
  private othersCommits: number;
  /** Set while the task that looked last runs: its look stands for the whole task (see above). */
  private lookedThisTask = false;
  private readonly endTask = (): void => {
    this.lookedThisTask = false;
  };
  private readonly committed = (row: UserRow): void => {
    this.forgetTokensOf(row.id);
    // As a read of the row would give it: what the row does not store is not kept.
    this.cacheUser(fromUserRow(row));
  };

  readonly log: EventLog;
  readonly outbox: OutboxStore;
  /** Not cached: read on each use. */
  readonly ssf: SsfStore;
  /** Actions v2 targets and executions: not cached, passed through. */
  readonly actions: ActionStore;

  constructor(private readonly inner: CacheableStore) {
    this.log = inner.log;
    this.outbox = inner.outbox;
    this.ssf = inner.ssf;
    this.actions = inner.actions;
    this.othersCommits = inner.othersCommitted();
  }

  /** Before an entry is used: none may predate a commit of another process seen in this task. */
  private dropIfOthersCommitted(): void {
    if (this.lookedThisTask) return;
    this.lookedThisTask = true;
    // A tick queued from a promise job runs once every promise job of the task has run: the
    // mark holds for the call's awaits that resolve at once, and ends before the next callback.
    queueMicrotask(() => process.nextTick(this.endTask));
    this.look();
  }

  /**
   * Also right after a read from SQLite: it may show another process's commit made since this
   * task's look, not yet durable, and looking starts the flush that the call's waits include.
   */
  private look(): void {
    const commits = this.inner.othersCommitted();
    if (commits === this.othersCommits) return;
    this.othersCommits = commits;
    const changed = this.inner.takeChangedByOthers();
    if (changed !== "all") {
      for (const id of changed) {
        this.users.delete(id);
        this.forgetTokensOf(id);
      }
      return;
    }
    this.users.clear();
    this.tokenOwners.clear();
    this.tokensOfUser.clear();
  }

  async getUser(id: string): Promise<User | undefined> {
    this.dropIfOthersCommitted();
    let user = this.users.get(id);
    if (!user) {
      user = this.inner.readUser(id);
      this.look();
      // Kept at once: a commit of this user while the read waits for durability replaces it.
      if (user) this.cacheUser(user);
    }
    await this.inner.pendingDurability();
    return user;
  }

  async commitUser(commit: UserCommit): Promise<void> {
    try {
      await this.inner.commitUser(commit, this.committed);
    } catch (err) {
      // The row is not what this commit expected: read it again on the retry.
      if (err instanceof ConflictError) this.users.delete(commit.user.id);
      throw err;
    }
  }

  private cacheUser(user: User): void {
    if (this.users.size >= MAX_CACHED_USERS) this.users.clear();
    this.users.set(user.id, user);
  }

  async findTokenOwner(tokenHash: string): Promise<TokenOwner | undefined> {
    this.dropIfOthersCommitted();
    let owner = this.tokenOwners.get(tokenHash);
    if (!owner) {
      owner = this.inner.readTokenOwner(tokenHash);
      this.look();
      if (!owner) return undefined;
      this.remember(tokenHash, owner);
    }
    return isLive(owner) ? { user: owner.user, grants: owner.grants } : undefined;
  }

  private remember(tokenHash: string, owner: ExpiringTokenOwner): void {
    if (this.tokenOwners.size >= MAX_CACHED_TOKENS) {
      this.tokenOwners.clear();
      this.tokensOfUser.clear();
    }
    this.tokenOwners.set(tokenHash, owner);
    const hashes = this.tokensOfUser.get(owner.user.id) ?? new Set<string>();
    hashes.add(tokenHash);
    this.tokensOfUser.set(owner.user.id, hashes);
  }

  private forgetTokensOf(userId: string): void {
    for (const hash of this.tokensOfUser.get(userId) ?? []) this.tokenOwners.delete(hash);
    this.tokensOfUser.delete(userId);
  }

  // Nothing else is cached.
  listUsers(query: UserListQuery): Promise<{ total: number; users: User[] }> {
    return this.inner.listUsers(query);
  }
  userIdsByLoginName(loginName: string): Promise<string[]> {
    return this.inner.userIdsByLoginName(loginName);
  }
  usersWithExpiredLocks(now: Date, limit: number): Promise<string[]> {
    return this.inner.usersWithExpiredLocks(now, limit);
  }
  getSession(id: string): Promise<{ session: Session; tokenHash: string } | undefined> {
    return this.inner.getSession(id);
  }
  saveSession(write: SessionWrite): Promise<void> {
    return this.inner.saveSession(write);
  }
  getOrganization(id: string): Promise<Organization | undefined> {
    return this.inner.getOrganization(id);
  }
  addOrganization(org: Organization): Promise<void> {
    return this.inner.addOrganization(org);
  }
  /** Nothing to replace: a user or token not found is not remembered. */
  initialize(org: Organization, firstUser: UserCommit): Promise<boolean> {
    return this.inner.initialize(org, firstUser);
  }
  getLockoutPolicy(orgId: string | undefined): Promise<StoredLockoutPolicy | undefined> {
    return this.inner.getLockoutPolicy(orgId);
  }
  setLockoutPolicy(scope: PolicyScope, policy: LockoutPolicy, at: Date): Promise<void> {
    return this.inner.setLockoutPolicy(scope, policy, at);
  }
  commitCounts(): CommitCounts {
    return this.inner.commitCounts();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
