/**
 * Bulk seeding for the benchmark: users are written straight into the database (the server is
 * stopped meanwhile) through the project's own code — the domain's "user.human.added" event
 * (humanAdded), UserEvents.prepare/applyEvent to fold it into the user, the stores' write plan
 * (planUserCommit) for the rows and the drizzle schemas' own column mappers for the driver values — in large
 * transactions of prepared multi-row INSERTs. Not one RPC per user.
 *
 * SQLite: during seeding only, the journal is off and synchronous=OFF (the server is not
 * running; a crash mid-seed just means a new seed), then WAL is restored and the file fsynced.
 */
import Database from "better-sqlite3";
import { getTableColumns, type Column, type Table } from "drizzle-orm";
import pg from "pg";
import { humanAdded } from "../src/domain/add-human.js";
import { newId } from "../src/security/ids.js";
import { hashPassword } from "../src/security/passwords.js";
import type { Store, UserCommit } from "../src/store/store.js";
import * as pgSchema from "../src/store/postgres/schema.js";
import * as sqliteSchema from "../src/store/sqlite/schema.js";
import { planUserCommit } from "../src/store/write-plan.js";
import { UserEvents } from "../src/app/user-events.js";

export const SEED_PASSWORD = "Secr3t-Passw0rd!";

export interface Instance {
  orgId: string;
  adminId: string;
}

export interface SeedResult {
  users: number;
  seconds: number;
  usersPerS: number;
  ids: string[];
  method: string;
}

/** What a seed reports: `ids` are the seeded users', in order; it began at `t0` (performance.now()). */
export function seeded(t0: number, ids: string[], method: string): SeedResult {
  const seconds = (performance.now() - t0) / 1000;
  return { users: ids.length, seconds, usersPerS: ids.length / seconds, ids, method };
}

/** A table's insertable columns (JS key, SQL name, drizzle column), without autoincrement ids. */
export function columnsOf(table: Table, skip: string[] = []) {
  return Object.entries(getTableColumns(table))
    .filter(([key]) => !skip.includes(key))
    .map(([key, column]) => ({ key, name: column.name, column: column as Column }));
}

export type Cols = ReturnType<typeof columnsOf>;

/** Pushes one row's driver values (drizzle's own mapToDriverValue, as its insert builder does). */
export function pushValues(out: unknown[], cols: Cols, row: Record<string, unknown>): void {
  for (const { key, column } of cols) {
    const value = row[key];
    out.push(value === null || value === undefined ? null : column.mapToDriverValue(value));
  }
}

/** The users and events rows of users [from, to) as one flat list of driver values each; records their ids. */
function batchBuilder(build: ReturnType<typeof makeBuilder>, ids: string[], userCols: Cols, eventCols: Cols) {
  return (from: number, to: number) => {
    const u: unknown[] = [];
    const e: unknown[] = [];
    for (let i = from; i < to; i++) {
      const b = build(i);
      ids[i] = b.id;
      pushValues(u, userCols, b.userRow);
      pushValues(e, eventCols, b.eventRow);
    }
    return { u, e };
  };
}

/**
 * Seeded user i's AddHumanUser as the app records it, made by the instance's admin at the
 * events' clock: `name` ("bench") makes its username (bench-17), names and email.
 */
export function humanAddedCommit(events: UserEvents, instance: Instance, passwordHash: string, name: string, i: number): UserCommit {
  const added = humanAdded({
    orgId: instance.orgId,
    username: `${name}-${i}`,
    profile: { givenName: name[0]!.toUpperCase() + name.slice(1), familyName: `User ${i}` },
    email: `${name}-${i}@example.com`,
    emailVerified: true,
    passwordHash,
    passwordChangeRequired: false,
  });
  return events.prepare(undefined, [added], instance.adminId, newId(events.now().getTime()));
}

/**
 * Builds users i in [from, to) exactly the way the app records an AddHumanUser: the added event,
 * folded by applyEvent into the user, written as the stores' write plan says, with distinct
 * creation times (1 ms apart) and ids.
 */
function makeBuilder(instance: Instance, passwordHash: string, baseMs: number) {
  let clock = baseMs;
  const events = new UserEvents(undefined as unknown as Store, () => new Date(clock));
  return (i: number) => {
    clock = baseMs + i;
    const plan = planUserCommit(humanAddedCommit(events, instance, passwordHash, "bench", i), 1);
    return { id: plan.user.id, userRow: plan.user as unknown as Record<string, unknown>, eventRow: plan.events[0] as unknown as Record<string, unknown> };
  };
}

// ---------------------------------------------------------------- instance (org + admin)

export async function readInstance(backend: "sqlite" | "postgres", url: string): Promise<Instance> {
  if (backend === "sqlite") {
    const db = new Database(url, { readonly: true, fileMustExist: true });
    try {
      const org = db.prepare("select id from organizations order by created_at limit 1").get() as { id: string };
      const admin = db.prepare("select id from users where username = 'admin' limit 1").get() as { id: string };
      return { orgId: org.id, adminId: admin.id };
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const org = await client.query("select id from organizations order by created_at limit 1");
    const admin = await client.query("select id from users where username = 'admin' limit 1");
    return { orgId: org.rows[0].id, adminId: admin.rows[0].id };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- SQLite

/** ListUsers' totals (user_counts) rebuilt from the users table. */
const RECOUNT =
  "DELETE FROM user_counts; INSERT INTO user_counts (org_id, state, type, count) SELECT org_id, state, type, count(*) FROM users GROUP BY org_id, state, type";

const SQLITE_ROWS_PER_INSERT = 500; // 28 columns × 500 = 14,000 variables (limit 32,766)
const SQLITE_ROWS_PER_TX = 250_000;

/**
 * A SQLite file opened for a bulk load: the journal off and synchronous=OFF while it lasts (the
 * server is not running; a crash mid-seed just means a new seed), rows written by `insert` as
 * prepared multi-row INSERTs. `finish` recounts user_counts, restores WAL, gathers the
 * planner's statistics and closes (which fsyncs the file).
 */
export function sqliteBulk(file: string) {
  const db = new Database(file);
  // better-sqlite3 opens in SQLite's defensive mode, which refuses journal_mode=OFF without a
  // word (the mode stayed WAL, and every transaction went through the -wal file): off meanwhile.
  db.unsafeMode(true);
  if (db.pragma("journal_mode = OFF", { simple: true }) !== "off") throw new Error("the seed could not turn the journal off");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144"); // 256 MiB page cache while seeding
  db.pragma("temp_store = MEMORY");
  const cache = new Map<string, Database.Statement>();
  const stmt = (table: string, cols: Cols, rows: number) => {
    const key = `${table}:${rows}`;
    let s = cache.get(key);
    if (!s) {
      const one = `(${cols.map(() => "?").join(",")})`;
      const sql = `insert into "${table}" (${cols.map((c) => `"${c.name}"`).join(",")}) values ${Array(rows).fill(one).join(",")}`;
      cache.set(key, (s = db.prepare(sql)));
    }
    return s;
  };
  return {
    db,
    rowsPerInsert: SQLITE_ROWS_PER_INSERT,
    exec: (sql: string) => db.exec(sql),
    /** Inserts `rows` rows whose driver values are `values`, flat, in the order of `cols`. */
    insert: (table: string, cols: Cols, rows: number, values: unknown[]) => stmt(table, cols, rows).run(values),
    finish() {
      db.exec(RECOUNT); // the server keeps user_counts with every change; a bulk load recounts once
      db.pragma("journal_mode = WAL"); // back to the server's setting
      db.unsafeMode(false);
      db.pragma("synchronous = FULL");
      db.exec("analyze"); // nothing else would gather statistics for the planner
      db.close(); // closing fsyncs the database file
    },
  };
}

export async function seedSqlite(file: string, instance: Instance, n: number): Promise<SeedResult> {
  const t0 = performance.now();
  const passwordHash = await hashPassword(SEED_PASSWORD); // once: every seeded user shares it
  const build = makeBuilder(instance, passwordHash, Date.now() - n - 1000);
  const userCols = columnsOf(sqliteSchema.users);
  const eventCols = columnsOf(sqliteSchema.events, ["id"]);
  const bulk = sqliteBulk(file);
  const ids: string[] = new Array(n);
  const batch = batchBuilder(build, ids, userCols, eventCols);
  const chunk = bulk.db.transaction((from: number, to: number) => {
    for (let start = from; start < to; start += SQLITE_ROWS_PER_INSERT) {
      const end = Math.min(to, start + SQLITE_ROWS_PER_INSERT);
      const { u, e } = batch(start, end);
      bulk.insert("users", userCols, end - start, u);
      bulk.insert("events", eventCols, end - start, e);
    }
  });
  for (let from = 0; from < n; from += SQLITE_ROWS_PER_TX) chunk(from, Math.min(n, from + SQLITE_ROWS_PER_TX));
  bulk.finish();
  return seeded(t0, ids, `better-sqlite3: ${SQLITE_ROWS_PER_INSERT}-row prepared INSERTs, ${SQLITE_ROWS_PER_TX} rows per transaction, journal_mode=OFF + synchronous=OFF while seeding, then WAL + ANALYZE`);
}

// ---------------------------------------------------------------- PostgreSQL

const PG_ROWS_PER_INSERT = 2000; // 28 × 2000 = 56,000 parameters (limit 65,535)
const PG_ROWS_PER_TX = 50_000;

/**
 * A PostgreSQL connection for a bulk load: synchronous_commit off for this session, rows written
 * by `insert` as multi-row INSERTs, named and so prepared once per row count. `finish` recounts
 * user_counts, gathers the planner's statistics and closes.
 */
export async function pgBulk(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const insertSql = (table: string, cols: Cols, rows: number) => {
    const parts: string[] = [];
    let p = 1;
    for (let r = 0; r < rows; r++) parts.push(`(${cols.map(() => `$${p++}`).join(",")})`);
    return `insert into "${table}" (${cols.map((c) => `"${c.name}"`).join(",")}) values ${parts.join(",")}`;
  };
  try {
    await client.query("set synchronous_commit = off");
  } catch (err) {
    await client.end();
    throw err;
  }
  return {
    rowsPerInsert: PG_ROWS_PER_INSERT,
    exec: (sql: string) => client.query(sql),
    /** Inserts `rows` rows whose driver values are `values`, flat, in the order of `cols`. */
    insert: (table: string, cols: Cols, rows: number, values: unknown[]) =>
      client.query({ name: `seed_${table}_${rows}`, text: insertSql(table, cols, rows), values }),
    async finish() {
      await client.query(RECOUNT); // the server keeps user_counts with every change; a bulk load recounts once
      await client.query("analyze users");
      await client.query("analyze events");
      await client.end();
    },
    /** Closes without finishing, after a failure. */
    abandon: () => client.end(),
  };
}

export async function seedPostgres(url: string, instance: Instance, n: number): Promise<SeedResult> {
  const t0 = performance.now();
  const passwordHash = await hashPassword(SEED_PASSWORD);
  const build = makeBuilder(instance, passwordHash, Date.now() - n - 1000);
  const userCols = columnsOf(pgSchema.users);
  // id and tx_id (the writing transaction, for the log's order) are filled by their defaults.
  const eventCols = columnsOf(pgSchema.events, ["id", "txId"]);
  const bulk = await pgBulk(url);
  const ids: string[] = new Array(n);
  const batch = batchBuilder(build, ids, userCols, eventCols);
  try {
    for (let from = 0; from < n; from += PG_ROWS_PER_TX) {
      const to = Math.min(n, from + PG_ROWS_PER_TX);
      await bulk.exec("begin");
      for (let start = from; start < to; start += PG_ROWS_PER_INSERT) {
        const end = Math.min(to, start + PG_ROWS_PER_INSERT);
        const { u, e } = batch(start, end);
        await bulk.insert("users", userCols, end - start, u);
        await bulk.insert("events", eventCols, end - start, e);
      }
      await bulk.exec("commit");
    }
  } catch (err) {
    await bulk.abandon();
    throw err;
  }
  await bulk.finish();
  return seeded(t0, ids, `node-postgres: ${PG_ROWS_PER_INSERT}-row named prepared INSERTs, ${PG_ROWS_PER_TX} rows per transaction, synchronous_commit=off for the seeding session, then ANALYZE`);
}
