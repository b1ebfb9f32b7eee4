/** The embedded default: SQLite through Drizzle and better-sqlite3. */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { and, count, eq, getTableColumns, inArray, isNull, lte, sql } from "drizzle-orm";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import type { User } from "../../domain/user.js";
import type { UserListQuery } from "../../domain/user-query.js";
import type { LockoutPolicy, PolicyScope } from "../../domain/lockout.js";
import type { Session } from "../../domain/sessions.js";
import { MIGRATIONS } from "../migrations.js";
import { fromSessionRow, mostSpecificPolicy, scopeKeys, toPolicyRow } from "../session-rows.js";
import { ConflictError, type CommitCounts, type Organization, type SessionWrite, type Store, type StoredLockoutPolicy, type UserCommit } from "../store.js";
import * as schema from "./schema.js";
import { userQuerySql } from "../user-query-sql.js";
import { fromUserRow, toTokenOwner, type UserRow } from "../user-rows.js";
import { planUserCommit, sessionRowToStore, type WritePlan } from "../write-plan.js";
import { CachedStore, type CacheableStore, type ExpiringTokenOwner } from "./cached-store.js";
import { leaveCheckpointsToOwner, startCheckpointer } from "./checkpointer.js";
import { CountTally } from "./count-tally.js";
import { DiskSpell, type DiskSpellEvents } from "./disk-full.js";
import { GroupCommit } from "./group-commit.js";
import { walFlusher, WalSync } from "./wal-sync.js";
import { WalIndexPeek } from "./wal-index-peek.js";
import { SqliteEventLog } from "./sqlite-event-log.js";
import { SqliteOutbox } from "./sqlite-outbox.js";
import { SqliteSsfStore } from "./sqlite-ssf-store.js";
import { SqliteActions } from "./sqlite-actions.js";
import { SQLITE_TEXT } from "./sqlite-text.js";


type Db = BetterSQLite3Database<typeof schema>;

const userQuery = userQuerySql(schema.users, schema.userCounts, SQLITE_TEXT);

export interface SqliteOptions {
  /** Flushes the -wal file to stable storage; tests replace it to watch the ordering. */
  flushWal?: () => Promise<void>;
  /**
   * Whether this process runs the jobs that must run once per file (store/open.ts): frees the
   * leases of processes that died, and checkpoints. Default true: the only process on the file.
   */
  owner?: boolean;
  /** Hears when the disk fills under the file and when writes commit again (disk-full.ts). */
  diskFull?: DiskSpellEvents;
}

export function openSqliteStore(file: string, options: SqliteOptions = {}): Store {
  if (file !== ":memory:") {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Owner-only from the first byte: SQLite gives the -wal and -shm files the database file's mode.
    closeSync(openSync(file, "a", 0o600));
  }
  const sqlite = new Database(file);
  // In-memory databases, and files where SQLite cannot use WAL, keep another journal mode.
  const wal = sqlite.pragma("journal_mode = WAL", { simple: true }) === "wal";
  // With WAL, no fsync inside COMMIT: WalSync flushes the -wal file off the main thread before
  // a write is acknowledged, which keeps every acknowledged commit through a power loss.
  // Without it, SQLite's own fsync at every COMMIT does.
  sqlite.pragma(wal ? "synchronous = NORMAL" : "synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  // 32 MiB of page cache (the default is 2 MiB): at a million users the hot pages of the
  // indexes no longer fit the default, and every miss is a read.
  sqlite.pragma("cache_size = -32768");
  // Off by default in SQLite: deleting an Actions v2 target takes it out of its executions by cascade.
  sqlite.pragma("foreign_keys = ON");
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS.sqlite });
  const flusher = !wal
    ? { flush: async () => undefined, close: () => undefined }
    : options.flushWal
      ? { flush: options.flushWal, close: () => undefined }
      : walFlusher(`${file}-wal`);
  const owner = options.owner ?? true;
  const stopCheckpointer = !wal ? async () => undefined : owner ? startCheckpointer(sqlite, file) : leaveCheckpointsToOwner(sqlite);
  const walIndex = wal ? WalIndexPeek.open(file) : undefined;
  const closeFiles = async () => {
    await stopCheckpointer();
    flusher.close();
    walIndex?.close();
  };
  const spell = new DiskSpell(dirname(file), options.diskFull ?? { began: () => undefined, ended: () => undefined });
  return new CachedStore(new SqliteStore(sqlite, db, new WalSync(flusher.flush), closeFiles, owner, spell, walIndex));
}

/**
 * One row per count: the shards are for PostgreSQL's row locks, and SQLite has one writer, which
 * adds up a transaction's changes before writing them (count-tally.ts). A database from before
 * keeps its other shards' rows, and a total is still their sum.
 */
const COUNT_SHARDS = 1;
/** Events a look reads at most; with more written since the last, the caches drop every entry. */
const MAX_EVENTS_READ = 1_000;
/** This process's own events kept to be told from others' before they are read past. */
const MAX_OWN_EVENT_IDS = 10_000;

class SqliteStore implements CacheableStore {
  readonly log: SqliteEventLog;
  readonly outbox: SqliteOutbox;
  readonly ssf: SqliteSsfStore;
  readonly actions: SqliteActions;
  private readonly commits: GroupCommit<Db>;
  private readonly statements: WriteStatements;
  /** What the writes of the running transaction did to user_counts, written before its COMMIT. */
  private readonly counts = new CountTally();
  // Prepared once: building and preparing these on every call was most of a call's CPU.
  private readonly userById;
  private readonly tokenOwnerByHash;
  private readonly grantsOfUser;
  /** SQLite's count of commits by other connections, as last read (see othersCommitted). */
  private readonly dataVersion;
  private seenDataVersion: unknown;
  private othersCommits = 0;
  /** The events of every writer on the file, read past lastEventId at each look (readEvents). */
  private readonly eventsSince;
  private readonly lastEventIdNow;
  private lastEventId: number;
  /** This process's events not yet read past: not another's change. */
  private readonly ownEventIds = new Set<number>();
  private changedByOthers: Set<string> | "all" = new Set();

  constructor(
    private readonly sqlite: Database.Database,
    private readonly db: Db,
    private readonly wal: WalSync,
    /** Stops what works on the files beside this connection (the checkpointer, the -wal flusher). */
    private readonly closeFiles: () => Promise<void>,
    /** Frees every lease at start, and expects no other writer: see SqliteOptions. */
    owner: boolean,
    private readonly spell: DiskSpell,
    /** Spares the looks at `PRAGMA data_version` while nothing committed (wal-index-peek.ts). */
    private readonly walIndex?: WalIndexPeek,
  ) {
    this.dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
    this.seenDataVersion = this.dataVersion.get();
    this.eventsSince = sqlite.prepare(`SELECT id, aggregate_id AS user FROM events WHERE id > ? ORDER BY id LIMIT ${MAX_EVENTS_READ + 1}`);
    this.lastEventIdNow = sqlite.prepare("SELECT coalesce(max(id), 0) FROM events").pluck();
    this.lastEventId = Number(this.lastEventIdNow.get());
    this.statements = writeStatements(db);
    this.log = new SqliteEventLog(sqlite, db, async () => this.durabilityOfRead());
    this.outbox = new SqliteOutbox(sqlite, db, owner, spell);
    this.ssf = new SqliteSsfStore(sqlite, db, wal, spell);
    // A process that does not own the file shares it with others that write (a cluster's workers).
    this.commits = new GroupCommit(sqlite, db, wal, { write: () => this.writeCounts(), discard: () => this.counts.discard() }, !owner, spell);
    this.actions = new SqliteActions(db, this.commits, async () => this.durabilityOfRead());
    this.userById = db.select().from(schema.users).where(eq(schema.users.id, sql.placeholder("id"))).prepare();
    this.tokenOwnerByHash = db
      .select({ user: schema.users, expiresAt: schema.tokens.expiresAt })
      .from(schema.tokens)
      .innerJoin(schema.users, eq(schema.users.id, schema.tokens.userId))
      .where(and(eq(schema.tokens.hash, sql.placeholder("hash")), isNull(schema.tokens.revokedAt)))
      .prepare();
    this.grantsOfUser = db
      .select({ role: schema.roleGrants.role, orgId: schema.roleGrants.orgId })
      .from(schema.roleGrants)
      .where(eq(schema.roleGrants.userId, sql.placeholder("userId")))
      .prepare();
  }

  readUser(id: string): User | undefined {
    const row = this.userById.get({ id });
    return row && fromUserRow(row);
  }

  /**
   * Answers only with what is on stable storage: a read can see a commit whose fdatasync is
   * still running, so it waits for that (and every earlier) commit to be durable.
   */
  private async onceDurable<T>(value: T): Promise<T> {
    await this.durabilityOfRead();
    return value;
  }

  /** What a read just made waits for: it may show another connection's commit, see othersCommitted. */
  private durabilityOfRead(): Promise<void> | undefined {
    this.othersCommitted();
    return this.wal.pending();
  }

  pendingDurability(): Promise<void> | undefined {
    return this.wal.pending();
  }

  /**
   * `PRAGMA data_version` (a read transaction of its own: the locks' system calls, a few
   * microseconds) moves when another connection on the file committed: another worker of the
   * cluster, the CLI. What such a commit wrote may not be on disk yet (its writer answers once it
   * is, wal-sync.ts), and what this process reads now may show it: a flush of the -wal file is
   * asked for, which pendingDurability() then waits for, so that nothing not durable is answered
   * here either. It is this turn's group-commit flush if there is one, so two workers flush less
   * often for the same commits (bench/FINDINGS.md, "what the machine allows a second process").
   * So a read that may show such a commit looks after it (durabilityOfRead). While the -wal
   * file's index shows no commit at all since the last look, the look is spared (wal-index-peek.ts).
   */
  othersCommitted(): number {
    if (this.walIndex && !this.walIndex.changedSinceLastLook()) return this.othersCommits;
    const version = this.dataVersion.get();
    if (version !== this.seenDataVersion) {
      this.seenDataVersion = version;
      this.othersCommits++;
      this.readEvents();
      // A failure is reported by pending() to every reader, and makes the store unready (ping).
      this.wal.durableSoon().catch(() => undefined);
    }
    return this.othersCommits;
  }

  /**
   * The users of the events written since the last read, but for this process's own: whose
   * entries the caches drop (cached-store.ts). Every change of a user, its tokens or its grants
   * writes an event of that user in its transaction (writePlan), so these are all the users
   * another connection changed.
   */
  private readEvents(): void {
    const rows = this.eventsSince.all(this.lastEventId) as { id: number; user: string }[];
    if (rows.length > MAX_EVENTS_READ) {
      // Every entry goes, so the rest need not be read: on past all of them.
      this.changedByOthers = "all";
      this.ownEventIds.clear();
      this.lastEventId = Number(this.lastEventIdNow.get());
      return;
    }
    for (const row of rows) {
      if (this.ownEventIds.delete(row.id)) continue;
      if (this.changedByOthers !== "all") this.changedByOthers.add(row.user);
    }
    if (rows.length) this.lastEventId = rows[rows.length - 1]!.id;
  }

  /** Since the last call: the users another connection changed, or "all" past MAX_EVENTS_READ. */
  takeChangedByOthers(): Set<string> | "all" {
    const changed = this.changedByOthers;
    this.changedByOthers = new Set();
    return changed;
  }

  commitUser(commit: UserCommit, committed?: (row: UserRow) => void): Promise<void> {
    const plan = planUserCommit(commit, COUNT_SHARDS);
    let ids: number[] = [];
    return this.commits.write(
      (db) => (ids = writePlan(db, this.statements, this.counts, plan)),
      () => {
        this.log.committed(plan.events, ids);
        for (const id of ids) this.ownEventIds.add(id);
        // Alone on the file nothing moves data_version, which reads past them: read past them here.
        if (this.ownEventIds.size > MAX_OWN_EVENT_IDS) this.readEvents();
        committed?.(plan.user);
      },
    );
  }

  private writeCounts(): void {
    this.counts.write(({ orgId, state, type, shard, delta }) => this.statements.bumpCount.run({ orgId, state, type, shard, count: delta }));
  }

  async listUsers(query: UserListQuery): Promise<{ total: number; users: User[] }> {
    const where = userQuery.where(query);
    const found = this.db.transaction(
      (tx) => {
        const countsWhere = userQuery.countsWhere(query);
        const total = countsWhere
          ? Number(tx.select({ n: sql<number>`coalesce(sum(${schema.userCounts.count}), 0)` }).from(schema.userCounts).where(countsWhere).get()?.n ?? 0)
          : (tx.select({ n: count() }).from(schema.users).where(where).get()?.n ?? 0);
        const rows = tx
          .select()
          .from(schema.users)
          .where(where)
          .orderBy(...userQuery.orderBy(query))
          .limit(query.limit)
          .offset(query.offset)
          .all();
        return { total, users: rows.map(fromUserRow) };
      },
      { behavior: "deferred" },
    );
    return this.onceDurable(found);
  }

  readTokenOwner(tokenHash: string): ExpiringTokenOwner | undefined {
    const found = this.tokenOwnerByHash.get({ hash: tokenHash });
    if (!found) return undefined;
    return { ...toTokenOwner(found.user, this.grantsOfUser.all({ userId: found.user.id })), expiresAt: found.expiresAt };
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    return this.onceDurable(this.db.select().from(schema.organizations).where(eq(schema.organizations.id, id)).get());
  }

  async addOrganization(org: Organization): Promise<void> {
    this.spell.write(() => this.db.insert(schema.organizations).values(org).run());
    await this.wal.durable();
  }

  async userIdsByLoginName(loginName: string): Promise<string[]> {
    const rows = this.db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(and(eq(schema.users.username, loginName), eq(schema.users.removed, false)))
      .all();
    return this.onceDurable(rows.map((row) => row.id));
  }

  async getSession(id: string): Promise<{ session: Session; tokenHash: string } | undefined> {
    const row = this.db.select().from(schema.sessions).where(eq(schema.sessions.id, id)).get();
    return this.onceDurable(row && fromSessionRow(row));
  }

  saveSession(write: SessionWrite): Promise<void> {
    return this.commits.write((db) => writeSession(db, write));
  }

  async getLockoutPolicy(orgId: string | undefined): Promise<StoredLockoutPolicy | undefined> {
    const rows = this.db.select().from(schema.lockoutPolicies).where(inArray(schema.lockoutPolicies.scope, scopeKeys(orgId))).all();
    return this.onceDurable(mostSpecificPolicy(rows));
  }

  async setLockoutPolicy(scope: PolicyScope, policy: LockoutPolicy, at: Date): Promise<void> {
    const row = toPolicyRow(scope, policy, at);
    this.spell.write(() => this.db.insert(schema.lockoutPolicies).values(row).onConflictDoUpdate({ target: schema.lockoutPolicies.scope, set: row }).run());
    await this.wal.durable();
  }

  async usersWithExpiredLocks(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(and(eq(schema.users.locked, true), lte(schema.users.lockExpiresAt, now)))
      .limit(limit)
      .all();
    return rows.map((row) => row.id);
  }

  async initialize(org: Organization, firstUser: UserCommit): Promise<boolean> {
    let created: boolean;
    try {
      created = this.spell.write(() =>
        this.sqlite.transaction(() => {
          if (this.db.select({ id: schema.organizations.id }).from(schema.organizations).limit(1).get()) return false;
          this.db.insert(schema.organizations).values(org).run();
          writePlan(this.db, this.statements, this.counts, planUserCommit(firstUser, COUNT_SHARDS));
          this.writeCounts();
          return true;
        }).immediate(),
      );
    } catch (err) {
      this.counts.discard();
      throw err;
    }
    if (created) await this.wal.durable();
    return created;
  }

  commitCounts(): CommitCounts {
    return this.commits.counts;
  }

  async ping(): Promise<void> {
    if (this.wal.failed) throw this.wal.failed;
    this.spell.check();
    this.db.get(sql`select 1`);
  }

  async close(): Promise<void> {
    await this.wal.pending()?.catch(() => undefined);
    await this.closeFiles();
    this.sqlite.close();
  }
}

/**
 * `{ column: placeholder }` for every column of a table, to prepare a statement over a whole
 * row. The placeholders take driver values (see `driverValues`): Drizzle would otherwise encode
 * them itself, and its timestamp encoder fails on null.
 */
const rowPlaceholders = (table: SQLiteTable) =>
  Object.fromEntries(Object.keys(getTableColumns(table)).map((name) => [name, sql`${sql.placeholder(name)}`])) as never;

const columnsOf = new Map<SQLiteTable, [string, SQLiteColumn][]>();

function columnsOfTable(table: SQLiteTable): [string, SQLiteColumn][] {
  let columns = columnsOf.get(table);
  if (!columns) columnsOf.set(table, (columns = Object.entries(getTableColumns(table))));
  return columns;
}

const USER_COLUMNS = getTableColumns(schema.users);

const toDriver = (column: SQLiteColumn, value: unknown): unknown =>
  value === null || value === undefined ? null : column.mapToDriverValue(value);

function driverValues(table: SQLiteTable, row: object): Record<string, unknown> {
  const values = row as Record<string, unknown>;
  const driver: Record<string, unknown> = {};
  for (const [name, column] of columnsOfTable(table)) driver[name] = toDriver(column, values[name]);
  return driver;
}

/** The SET values of an update of the users row: the plan's changed columns, as driver values. */
function updateValues(row: UserRow, { expectedSequence, columns }: NonNullable<WritePlan["update"]>): Record<string, unknown> {
  const values: Record<string, unknown> = { id: row.id, expectedSequence };
  for (const name of columns) values[name] = toDriver(USER_COLUMNS[name], row[name]);
  return values;
}

/** The statements every change runs, prepared once per connection. */
function writeStatements(db: Db) {
  return {
    idTaken: db.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.id, sql.placeholder("id"))).prepare(),
    usernameTaken: db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(
        and(
          eq(schema.users.orgId, sql.placeholder("orgId")),
          eq(schema.users.username, sql.placeholder("username")),
          eq(schema.users.removed, false),
        ),
      )
      .prepare(),
    insertEvent: db.insert(schema.events).values(rowPlaceholders(schema.events)).prepare(),
    insertUser: db.insert(schema.users).values(rowPlaceholders(schema.users)).prepare(),
    insertOutbox: db.insert(schema.outbox).values(rowPlaceholders(schema.outbox)).prepare(),
    updateUser: userUpdates(db),
    bumpCount: db
      .insert(schema.userCounts)
      .values(rowPlaceholders(schema.userCounts))
      .onConflictDoUpdate({
        target: [schema.userCounts.orgId, schema.userCounts.state, schema.userCounts.type, schema.userCounts.shard],
        set: { count: sql`${schema.userCounts.count} + excluded.count` },
      })
      .prepare(),
    endSessions: db
      .update(schema.sessions)
      .set({ terminated: true })
      .where(and(eq(schema.sessions.userId, sql.placeholder("userId")), eq(schema.sessions.terminated, false)))
      .prepare(),
  };
}

type WriteStatements = ReturnType<typeof writeStatements>;

/**
 * The UPDATE of the users row for one set of changed columns (why only those: planUserCommit),
 * where the row still has the sequence the change was decided on; prepared once per set.
 */
function userUpdates(db: Db) {
  const prepared = new Map<string, { run(values: Record<string, unknown>): { changes: number } }>();
  return (columns: string[]) => {
    const key = columns.join(",");
    let statement = prepared.get(key);
    if (!statement) {
      const set = Object.fromEntries(columns.map((name) => [name, sql`${sql.placeholder(name)}`]));
      statement = db
        .update(schema.users)
        .set(set)
        .where(and(eq(schema.users.id, sql.placeholder("id")), eq(schema.users.sequence, sql.placeholder("expectedSequence"))))
        .prepare();
      prepared.set(key, statement);
    }
    return statement;
  };
}

/**
 * Runs inside an immediate transaction, so the checks and the writes are atomic. The change to
 * the user counts goes to `counts`, which the transaction writes before its COMMIT.
 */
/** Returns the row ids of the plan's events. */
function writePlan(db: Db, statements: WriteStatements, counts: CountTally, plan: WritePlan): number[] {
  const { user } = plan;
  if (plan.update) {
    const { changes } = statements.updateUser(plan.update.columns).run(updateValues(user, plan.update));
    if (changes === 0) throw new ConflictError("sequence");
  } else {
    if (statements.idTaken.get({ id: user.id })) throw new ConflictError("userId");
    if (statements.usernameTaken.get({ orgId: user.orgId, username: user.username })) throw new ConflictError("username");
    statements.insertUser.run(driverValues(schema.users, user));
  }
  const ids = plan.events.map((event) => Number(statements.insertEvent.run(driverValues(schema.events, event)).lastInsertRowid));
  for (const row of plan.outbox) statements.insertOutbox.run(driverValues(schema.outbox, { ...row, parked: false, attempts: 0 }));
  if (plan.grants.length) db.insert(schema.roleGrants).values(plan.grants).run();
  if (plan.token) db.insert(schema.tokens).values(plan.token).run();
  if (plan.session) writeSession(db, plan.session);
  if (plan.endSessionsOf) statements.endSessions.run({ userId: plan.endSessionsOf });
  counts.add(plan.counts);
  return ids;
}

/** With one writer, reading the stored session inside the transaction is enough to guard it. */
function writeSession(db: Db, write: SessionWrite): void {
  const stored = db
    .select({ sequence: schema.sessions.sequence, tokenHash: schema.sessions.tokenHash })
    .from(schema.sessions)
    .where(eq(schema.sessions.id, write.session.id))
    .get();
  const row = sessionRowToStore(write, stored);
  db.insert(schema.sessions).values(row).onConflictDoUpdate({ target: schema.sessions.id, set: row }).run();
}
