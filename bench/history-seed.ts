/**
 * The history benchmark's data (issue 21): users with ten events each, written straight into a
 * stopped server's database (SQLite or PostgreSQL). Every event is decided by the domain's own functions on the user
 * as the commit before left it (humanAdded, decidePasswordCheck under a lockout policy, the
 * system's unlock at a lock's end, decideLock with a reason and an end, decideStateChange),
 * recorded by UserEvents.prepare, and turned into rows by the stores' one write plan
 * (planUserCommit): the rows are the ones the server would have written, call by call.
 *
 * The events of a user are not stored side by side: a server adds them over weeks, between
 * everyone else's, so each of a user's events goes in with the same event of the
 * CHUNK_USERS users around it, and every one of them lands on a page of its own.
 */
import { SYSTEM_ACTOR, type UserEvent } from "../src/domain/events.js";
import { decidePasswordCheck, lockHasExpired, type LockoutPolicy } from "../src/domain/lockout.js";
import type { Principal } from "../src/domain/permissions.js";
import { decideLock, decideStateChange } from "../src/domain/state-commands.js";
import type { User } from "../src/domain/user.js";
import { UserEvents } from "../src/app/user-events.js";
import { hashPassword } from "../src/security/passwords.js";
import type { Store, UserCommit } from "../src/store/store.js";
import * as pgSchema from "../src/store/postgres/schema.js";
import * as sqliteSchema from "../src/store/sqlite/schema.js";
import { planUserCommit } from "../src/store/write-plan.js";
import { columnsOf, humanAddedCommit, pgBulk, pushValues, SEED_PASSWORD, seeded, sqliteBulk, type Cols, type Instance, type SeedResult } from "./seed.js";

export const EVENTS_PER_USER = 10;

/** The policy the seeded sign-ins meet: the third wrong password in a row locks for 15 minutes. */
const POLICY: LockoutPolicy = { maxPasswordAttempts: 3, maxOtpAttempts: 0, lockDurationSeconds: 15 * 60 };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Users whose events are interleaved in one pass (and one transaction). */
const CHUNK_USERS = 20_000;

/**
 * User i's history, one commit per step, each decided on the user the step before left:
 * added; two wrong passwords, and a third that also locks (the policy's lock, in the same commit);
 * that lock's end, recorded by SYSTEM; a right password; an administrator's lock with a reason and
 * an end a day ahead, undone by hand a quarter of an hour later; and last a right password, or
 * for every tenth user an administrator's lock without an end (those users stay locked).
 */
function historyOf(i: number, instance: Instance, passwordHash: string, addedAt: number): { user: User; commits: UserCommit[] } {
  const admin: Principal = { userId: instance.adminId, orgId: instance.orgId, grants: [{ role: "IAM_OWNER", orgId: null }] };
  let at = addedAt;
  const events = new UserEvents(undefined as unknown as Store, () => new Date(at));
  const commits = [humanAddedCommit(events, instance, passwordHash, "history", i)];
  let user = commits[0]!.user;
  const step = (minute: number, decide: (user: User, now: Date) => UserEvent[], actor = admin.userId) => {
    at = addedAt + minute * MINUTE;
    const commit = events.prepare(user, decide(user, new Date(at)), actor);
    commits.push(commit);
    user = commit.user;
  };
  const password = (right: boolean) => (u: User, now: Date) => decidePasswordCheck(u, right, POLICY, now).events;
  step(1, password(false));
  step(2, password(false));
  step(3, password(false));
  step(3 + 15, (u, now) => {
    // As UserEvents.load records it when a lock's time is up.
    if (!lockHasExpired(u, now)) throw new Error("the policy lock should have ended here");
    return [{ type: "user.unlocked" }];
  }, SYSTEM_ACTOR);
  step(20, password(true));
  step(30, (u, now) => [decideLock(u, admin, { reason: "Sign-ins from an unknown country; asked the owner", expiresAt: new Date(now.getTime() + DAY) })]);
  step(45, (u) => [decideStateChange("unlock", u, admin)]);
  step(60, i % 10 === 0 ? (u) => [decideLock(u, admin, { reason: "Reported compromised by the owner" })] : password(true));
  const sequences = commits.flatMap((c) => c.events.map((e) => e.sequence));
  if (sequences.join() !== "1,2,3,4,5,6,7,8,9,10") throw new Error(`user ${i}: sequences ${sequences.join()}`);
  return { user, commits };
}

/** What the seed needs of a backend's bulk connection (seed.ts: sqliteBulk, pgBulk). */
interface Bulk {
  rowsPerInsert: number;
  exec(sql: string): unknown;
  insert(table: string, cols: Cols, rows: number, values: unknown[]): unknown;
  finish(): unknown;
}

const BACKENDS = {
  sqlite: {
    schema: sqliteSchema,
    open: async (url: string): Promise<Bulk> => sqliteBulk(url),
    method: "better-sqlite3, journal_mode=OFF + synchronous=OFF while seeding, then WAL + ANALYZE",
  },
  postgres: {
    schema: pgSchema,
    open: (url: string): Promise<Bulk> => pgBulk(url),
    method: "node-postgres, named INSERTs, synchronous_commit=off for the seeding session, then ANALYZE",
  },
};

/**
 * Seeds `n` users with EVENTS_PER_USER events each into the database of a stopped server whose
 * first start made `instance`; returns how long it took and the users' ids, in order.
 */
export async function seedHistory(backend: keyof typeof BACKENDS, url: string, instance: Instance, n: number): Promise<SeedResult> {
  const t0 = performance.now();
  const { schema, open, method } = BACKENDS[backend];
  // Each wrong password is decided with its error to answer, a DomainError: capturing a stack
  // for each of three million of them took a tenth of the seeding's time.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const passwordHash = await hashPassword(SEED_PASSWORD); // once: every seeded user shares it
  // Users added a millisecond apart, the last of them two days ago: every end in their histories
  // passed long ago (or was cancelled), and none falls due while the benchmark runs.
  const firstAddedAt = Date.now() - n - 2 * DAY;
  const userCols = columnsOf(schema.users);
  // id (and on PostgreSQL tx_id, the writing transaction, for the log's order) are filled by their defaults.
  const eventCols = columnsOf(schema.events, ["id", "txId"]);
  const bulk = await open(url);
  const ids: string[] = new Array(n);
  /** Inserts the rows of one table, `values` holding them in order, in statements of bulk.rowsPerInsert rows. */
  const insertAll = async (table: string, cols: Cols, values: unknown[]) => {
    const per = bulk.rowsPerInsert * cols.length;
    for (let from = 0; from < values.length; from += per) {
      const part = values.slice(from, from + per);
      await bulk.insert(table, cols, part.length / cols.length, part);
    }
  };
  /** Users [from, to) in one transaction: their rows, then each sequence's events of all of them. */
  const chunk = async (from: number, to: number) => {
    const users: unknown[] = [];
    // bySequence[s - 1]: the driver values of every event with sequence s of these users.
    const bySequence: unknown[][] = Array.from({ length: EVENTS_PER_USER }, () => []);
    for (let i = from; i < to; i++) {
      const { user, commits } = historyOf(i, instance, passwordHash, firstAddedAt + i);
      ids[i] = user.id;
      let row: Record<string, unknown> = {};
      for (const commit of commits) {
        const plan = planUserCommit(commit, 1);
        for (const event of plan.events) pushValues(bySequence[event.sequence - 1]!, eventCols, event as unknown as Record<string, unknown>);
        row = plan.user as unknown as Record<string, unknown>;
      }
      pushValues(users, userCols, row); // the read model as the last commit left it
    }
    await bulk.exec("begin");
    await insertAll("users", userCols, users);
    for (const values of bySequence) await insertAll("events", eventCols, values);
    await bulk.exec("commit");
  };
  try {
    for (let from = 0; from < n; from += CHUNK_USERS) await chunk(from, Math.min(n, from + CHUNK_USERS));
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  await bulk.finish();
  return seeded(t0, ids, `${EVENTS_PER_USER} events a user decided by the domain and planned by planUserCommit; ${bulk.rowsPerInsert}-row prepared INSERTs, ${CHUNK_USERS} users per transaction with their events interleaved; ${method}`);
}
