/**
 * PostgreSQL through Drizzle, for installations with several server instances on one
 * database. Works with node-postgres (production) and PGlite (tests) alike.
 */
import { and, count, eq, inArray, lte, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import pg from "pg";
import { isUnavailable } from "../../domain/errors.js";
import type { User } from "../../domain/user.js";
import type { UserListQuery } from "../../domain/user-query.js";
import type { LockoutPolicy, PolicyScope } from "../../domain/lockout.js";
import type { Session } from "../../domain/sessions.js";
import { GatedBatcher } from "./gated-batcher.js";
import { CallReads } from "./call-reads.js";
import { MIGRATIONS } from "../migrations.js";
import { fromSessionRow, mostSpecificPolicy, scopeKeys, toPolicyRow } from "../session-rows.js";
import { ConflictError, type Organization, type SessionWrite, type Store, type StoredLockoutPolicy, type TokenOwner, type UserCommit } from "../store.js";
import { userQuerySql } from "../user-query-sql.js";
import { fromUserRow } from "../user-rows.js";
import { planUserCommit, sessionRowToStore, type WritePlan } from "../write-plan.js";
import { commitStatement, type Statement } from "./commit-statement.js";
import * as schema from "./schema.js";
import { guard } from "./guard.js";
import { PostgresEventLog } from "./postgres-event-log.js";
import { PostgresOutbox } from "./postgres-outbox.js";
import { PostgresSsfStore } from "./postgres-ssf-store.js";
import { PostgresActions } from "./postgres-actions.js";
import { POSTGRES_TEXT } from "./postgres-text.js";


/**
 * Each (organization, state, type) count is split over this many rows, chosen by user id: a
 * changed count row stays locked until the commit, and with one row per count every change in
 * an organization waited for the one before it.
 */
const COUNT_SHARDS = 16;

/**
 * Statements in flight at once for the calls' reads and for their commits (gated-batcher.ts):
 * what arrives meanwhile waits and joins the next. Chosen by measurement (bench/FINDINGS.md,
 * round "2026-12-06, PostgreSQL's reads a turn"); the pool has room for both and for the rest.
 */
const READS_IN_FLIGHT = 2;
const COMMITS_IN_FLIGHT = 4;

/** Taken while migrating, so instances that start together do not migrate at the same time. */
const MIGRATION_LOCK = 7_242_001;

export type PgDb = PgDatabase<PgQueryResultHKT, typeof schema>;

const userQuery = userQuerySql(schema.users, schema.userCounts, POSTGRES_TEXT);

/** What node-postgres's pool.query and PGlite's query both do with a statement: run it, answer its rows. */
export type RunStatement = (statement: Statement) => Promise<{ rows: unknown[] }>;

export interface PostgresOptions {
  poolSize: number;
  onIdleError(err: Error): void;
}

export async function openPostgresStore(url: string, options: PostgresOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize, connectionTimeoutMillis: 5000 });
  // A pooled connection that breaks while idle (database restart) must not crash the process.
  pool.on("error", options.onIdleError);
  try {
    const client = await pool.connect();
    try {
      await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS.postgres });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  return new PostgresStore(drizzle(pool, { schema }), () => pool.end(), (statement) => pool.query(statement));
}

export class PostgresStore implements Store {
  readonly log: PostgresEventLog;
  readonly outbox: PostgresOutbox;
  readonly ssf: PostgresSsfStore;
  readonly actions: PostgresActions;

  private readonly commits = new GatedBatcher<PendingCommit>(COMMITS_IN_FLIGHT, (pending) => this.commitTogether(pending));
  /** Every call's reads (its token's owner, its user, a creation's organization), one statement a turn for all (call-reads.ts). */
  private readonly callReads: CallReads;

  constructor(
    private readonly db: PgDb,
    private readonly end: () => Promise<void>,
    /** Runs a statement made without Drizzle's builder (commit-statement.ts) on the pool. */
    private readonly run: RunStatement,
  ) {
    this.callReads = new CallReads((statement) => guard(() => run(statement)), READS_IN_FLIGHT);
    this.actions = new PostgresActions(db);
    // node-postgres and PGlite both answer a raw statement with its rows.
    const execute = (query: SQL) => guard(async () => (await db.execute(query)) as unknown as { rows: unknown[] });
    this.log = new PostgresEventLog(execute);
    this.outbox = new PostgresOutbox(db, execute, guard);
    this.ssf = new PostgresSsfStore(db);
  }

  private async commitTogether(pending: PendingCommit[]): Promise<void> {
    try {
      await Promise.all(statementsOf(pending).map((group) => this.commitGroup(group)));
    } catch (err) {
      // Not expected (commitGroup answers each commit), but a commit must never be left waiting.
      for (const c of pending) c.reject(err);
    }
  }

  private async commitGroup(group: PendingCommit[]): Promise<void> {
    try {
      const { rows } = await guard(() => this.run(commitStatement(group.map((c) => c.plan))));
      const written = new Set((rows as { p: number }[]).map((row) => row.p));
      group.forEach((c, i) => (written.has(i) ? c.resolve() : c.reject(new ConflictError("sequence"))));
    } catch (err) {
      // One plan's unique violation fails the statement: alone, each plan gets its own answer.
      const unavailable = isUnavailable(err);
      if (group.length === 1 || unavailable) for (const c of group) c.reject(err);
      else await Promise.all(group.map((c) => this.commitGroup([c])));
    }
  }

  getUser(id: string): Promise<User | undefined> {
    return this.callReads.getUser(id);
  }

  commitUser(commit: UserCommit): Promise<void> {
    const plan = planUserCommit(commit, COUNT_SHARDS);
    if (plan.session) return guard(() => this.db.transaction((tx) => writePlan(tx, plan)));
    // The commits of one turn share a statement (commit-statement.ts): one round trip, one WAL flush.
    return new Promise((resolve, reject) => this.commits.add({ plan, resolve, reject }));
  }

  listUsers(query: UserListQuery): Promise<{ total: number; users: User[] }> {
    const where = userQuery.where(query);
    return guard(() =>
      this.db.transaction(
        async (tx) => {
          const countsWhere = userQuery.countsWhere(query);
          const [counted] = countsWhere
            ? await tx.select({ n: sql<number>`coalesce(sum(${schema.userCounts.count}), 0)::int` }).from(schema.userCounts).where(countsWhere)
            : await tx.select({ n: count() }).from(schema.users).where(where);
          const rows = await tx
            .select()
            .from(schema.users)
            .where(where)
            .orderBy(...userQuery.orderBy(query))
            .limit(query.limit)
            .offset(query.offset);
          return { total: Number(counted?.n ?? 0), users: rows.map(fromUserRow) };
        },
        { isolationLevel: "repeatable read", accessMode: "read only" },
      ),
    );
  }

  findTokenOwner(tokenHash: string): Promise<TokenOwner | undefined> {
    return this.callReads.findTokenOwner(tokenHash);
  }

  getOrganization(id: string): Promise<Organization | undefined> {
    return this.callReads.getOrganization(id);
  }

  addOrganization(org: Organization): Promise<void> {
    return guard(async () => {
      await this.db.insert(schema.organizations).values(org);
    });
  }

  userIdsByLoginName(loginName: string): Promise<string[]> {
    return guard(async () => {
      const rows = await this.db
        .select({ id: schema.users.id })
        .from(schema.users)
        .where(and(eq(schema.users.username, loginName), eq(schema.users.removed, false)));
      return rows.map((row) => row.id);
    });
  }

  getSession(id: string): Promise<{ session: Session; tokenHash: string } | undefined> {
    return guard(async () => {
      const [row] = await this.db.select().from(schema.sessions).where(eq(schema.sessions.id, id));
      return row && fromSessionRow(row);
    });
  }

  saveSession(write: SessionWrite): Promise<void> {
    return guard(() => this.db.transaction((tx) => writeSession(tx, write)));
  }

  getLockoutPolicy(orgId: string | undefined): Promise<StoredLockoutPolicy | undefined> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(schema.lockoutPolicies)
        .where(inArray(schema.lockoutPolicies.scope, scopeKeys(orgId)));
      return mostSpecificPolicy(rows);
    });
  }

  setLockoutPolicy(scope: PolicyScope, policy: LockoutPolicy, at: Date): Promise<void> {
    const row = toPolicyRow(scope, policy, at);
    return guard(async () => {
      await this.db.insert(schema.lockoutPolicies).values(row).onConflictDoUpdate({ target: schema.lockoutPolicies.scope, set: row });
    });
  }

  usersWithExpiredLocks(now: Date, limit: number): Promise<string[]> {
    return guard(async () => {
      const rows = await this.db
        .select({ id: schema.users.id })
        .from(schema.users)
        .where(and(eq(schema.users.locked, true), lte(schema.users.lockExpiresAt, now)))
        .limit(limit);
      return rows.map((row) => row.id);
    });
  }

  initialize(org: Organization, firstUser: UserCommit): Promise<boolean> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        // Serializes first starts of several instances on an empty database.
        await tx.execute(sql`lock table ${schema.organizations} in exclusive mode`);
        const [existing] = await tx.select({ id: schema.organizations.id }).from(schema.organizations).limit(1);
        if (existing) return false;
        await tx.insert(schema.organizations).values(org);
        await writePlan(tx, planUserCommit(firstUser, COUNT_SHARDS));
        return true;
      }),
    );
  }

  ping(): Promise<void> {
    return guard(async () => {
      await this.db.execute(sql`select 1`);
    });
  }

  close(): Promise<void> {
    return this.end();
  }
}

/** The plan's writes in a transaction: its session's first (it reads the stored session), then the rest as one statement. */
async function writePlan(tx: PgDb, plan: WritePlan): Promise<void> {
  if (plan.session) await writeSession(tx, plan.session);
  const { rows } = (await tx.execute(asSql(commitStatement([plan])))) as unknown as { rows: unknown[] };
  if (rows.length === 0) throw new ConflictError("sequence");
}

interface PendingCommit {
  plan: WritePlan;
  resolve(): void;
  reject(err: unknown): void;
}

/** Most plans one statement carries. */
const MAX_PLANS = 64;

/** The statements a turn's commits take: at most MAX_PLANS each, and a user at most once in each. */
function statementsOf(pending: readonly PendingCommit[]): PendingCommit[][] {
  const groups: { commits: PendingCommit[]; users: Set<string> }[] = [];
  for (const commit of pending) {
    const id = commit.plan.user.id;
    let group = groups.find((g) => g.commits.length < MAX_PLANS && !g.users.has(id));
    if (!group) groups.push((group = { commits: [], users: new Set() }));
    group.commits.push(commit);
    group.users.add(id);
  }
  return groups.map((g) => g.commits);
}

/**
 * A statement as Drizzle's SQL, for a transaction's execute: each numbered placeholder (always
 * followed by its cast, in order) becomes a parameter, passed as it is (Drizzle would spread an
 * array into a list).
 */
function asSql({ text, values }: Statement): SQL {
  const parts = text.split(/\$\d+(?=::)/);
  return sql.join(parts.flatMap((part, i) => (i === 0 ? [sql.raw(part)] : [sql.param(values[i - 1]), sql.raw(part)])));
}

/**
 * A new session is inserted without a read: a session created meanwhile under the same id fails
 * on the primary key, which guard() turns into the same "session" conflict. A change reads the
 * stored session with its row lock, so no other change passes the check until this one commits.
 */
async function writeSession(tx: PgDb, write: SessionWrite): Promise<void> {
  if (write.expectedSequence === 0) {
    await tx.insert(schema.sessions).values(sessionRowToStore(write, undefined));
    return;
  }
  const [stored] = await tx
    .select({ sequence: schema.sessions.sequence, tokenHash: schema.sessions.tokenHash })
    .from(schema.sessions)
    .where(eq(schema.sessions.id, write.session.id))
    .for("update");
  await tx.update(schema.sessions).set(sessionRowToStore(write, stored)).where(eq(schema.sessions.id, write.session.id));
}
