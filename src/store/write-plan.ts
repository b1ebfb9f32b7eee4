/**
 * What a user's commit writes, decided once for every backend as plain row values: each backend
 * only executes the plan its own way (SQLite: prepared statements inside its group commit;
 * PostgreSQL: statements in a transaction) and decides nothing about what is written.
 */
import type { UserState, UserType } from "../domain/user.js";
import { toSessionRow, type SessionRow } from "./session-rows.js";
import { ConflictError, type SessionWrite, type UserCommit } from "./store.js";
import { toUserRow, type UserRow } from "./user-rows.js";

export interface EventRow {
  aggregateId: string;
  sequence: number;
  type: string;
  payload: unknown;
  actor: string;
  resourceOwner: string;
  createdAt: Date;
}

interface RoleGrantRow {
  userId: string;
  /** Null for an instance-wide role. */
  orgId: string | null;
  role: string;
}

interface TokenRow {
  hash: string;
  userId: string;
  createdAt: Date;
}

export type UserColumn = keyof UserRow;

/** A change to one user_counts row: `delta` users more (or fewer) in that state. */
export interface CountChange {
  orgId: string;
  state: UserState;
  type: UserType;
  shard: number;
  delta: number;
}

/**
 * One commit's writes, in the order a backend runs them: the users row first (for a new user
 * its primary key and username index name the conflict; for a change the sequence guard does),
 * the counts last (only a write that can no longer fail counts, and on PostgreSQL the count rows,
 * which other users' changes also need, stay locked for the shortest time).
 */
export interface WritePlan {
  /** The users row as the commit leaves it. */
  user: UserRow;
  /**
   * Absent for a new user: insert the row. Otherwise update only `columns`, and only where the
   * row still has `expectedSequence` (else the change lost a race: a "sequence" conflict).
   */
  update?: { expectedSequence: number; columns: UserColumn[] };
  events: EventRow[];
  grants: RoleGrantRow[];
  token?: TokenRow;
  session?: SessionWrite;
  /** Ends every session of this user that is not ended yet. */
  endSessionsOf?: string;
  outbox: OutboxRow[];
  counts: CountChange[];
}

export interface OutboxRow {
  destination: string;
  userId: string;
  sequence: number;
  txn: string;
  dueAt: Date;
  createdAt: Date;
}

/**
 * `countShards`: how many rows each (organization, state, type) count is split over, which the
 * backend chooses (see countChanges).
 */
export function planUserCommit(commit: UserCommit, countShards: number): WritePlan {
  const { user, previous } = commit;
  const row = toUserRow(user);
  const previousRow = previous && toUserRow(previous);
  return {
    user: row,
    // The commit holds only while the stored row is `previous` (see UserCommit), so the columns
    // that differ from it are all an update has to set: SQLite rewrites every index over a column
    // in the SET list, changed or not, and at a million users each is a page to read and write.
    update: previousRow && { expectedSequence: previousRow.sequence, columns: changedColumns(previousRow, row) },
    events: commit.events.map((event) => ({
      aggregateId: event.userId,
      sequence: event.sequence,
      type: event.type,
      payload: "payload" in event ? event.payload : null,
      actor: event.actor,
      resourceOwner: user.orgId,
      createdAt: event.createdAt,
    })),
    grants: commit.grants?.map((grant) => ({ userId: user.id, orgId: grant.orgId, role: grant.role })) ?? [],
    token: commit.tokenHash ? { hash: commit.tokenHash, userId: user.id, createdAt: user.createdAt } : undefined,
    session: commit.session,
    endSessionsOf: commit.endSessions ? user.id : undefined,
    // Due at once: written with the event, sent after the commit.
    outbox: (commit.deliveries ?? []).map((d) => ({ ...d, userId: user.id, dueAt: user.changedAt, createdAt: user.changedAt })),
    counts: countChanges(previousRow?.state, row, countShards),
  };
}

const sameValue = (a: unknown, b: unknown): boolean =>
  a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());

/** The columns whose values differ between two rows of the same user (a lock changes five). */
function changedColumns(before: UserRow, after: UserRow): UserColumn[] {
  const columns: UserColumn[] = [];
  let name: UserColumn;
  for (name in after) if (!sameValue(before[name], after[name])) columns.push(name);
  return columns;
}

function shardOf(userId: string, shards: number): number {
  let hash = 0;
  for (let i = 0; i < userId.length; i++) hash = (hash * 31 + userId.charCodeAt(i)) >>> 0;
  return hash % shards;
}

/**
 * What a write does to the user_counts table: a new user counts once, a state change moves one
 * count. Each count is split over `shards` rows, chosen by user id; totals are the sum over them.
 */
function countChanges(previousState: UserState | undefined, row: UserRow, shards: number): CountChange[] {
  if (previousState === row.state) return [];
  const next = { orgId: row.orgId, state: row.state, type: row.type, shard: shardOf(row.id, shards), delta: 1 };
  if (previousState === undefined) return [next];
  // Always in the same order of states: on PostgreSQL each change locks both count rows, and a
  // lock taking (active, locked) while an unlock takes (locked, active) deadlocked.
  return [{ ...next, state: previousState, delta: -1 }, next].sort((a, b) => (a.state < b.state ? -1 : 1));
}

/**
 * The row a session write stores, given the stored session's sequence and token hash (absent
 * when there is none): refused with a "session" conflict unless the stored session is still at
 * the sequence the write was decided on. A write that does not replace the token keeps its hash.
 */
export function sessionRowToStore(write: SessionWrite, stored: { sequence: number; tokenHash: string } | undefined): SessionRow {
  if ((stored?.sequence ?? 0) !== write.expectedSequence) throw new ConflictError("session");
  return toSessionRow(write.session, write.tokenHash ?? stored?.tokenHash ?? "");
}
