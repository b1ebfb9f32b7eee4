/**
 * The event log on SQLite: one writer commits transactions one after another and row ids only
 * grow (AUTOINCREMENT), so an event's id is its place in commit order and a position is an id.
 */
import { and, desc, eq, lt, max, sql } from "drizzle-orm";
import type Database from "better-sqlite3";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { RecordedUserEvent } from "../../domain/events.js";
import { positionInner, positionText, type EventLog, type EventMark, type EventPosition, type LoggedEvent, type PositionRules } from "../event-log.js";
import { fromEventRow } from "../event-rows.js";
import type { EventRow } from "../write-plan.js";
import * as schema from "./schema.js";

type Db = BetterSQLite3Database<typeof schema>;
/** A row of `events` as SQLite returns it. */
interface AfterRow {
  id: number;
  aggregate_id: string;
  sequence: number;
  type: string;
  payload: string | null;
  actor: string;
  resource_owner: string;
  created_at: number;
}
type Id = { id: number };

const position = (id: number) => ({ id }) as Id as unknown as EventPosition;
const idOf = (p: EventPosition | EventMark) => (p as unknown as Id).id;
const ID = /^[0-9]{1,15}$/;

export const sqlitePositions: PositionRules = {
  parse(text) {
    const inner = positionInner(text);
    return ID.test(inner) && Number.isSafeInteger(Number(inner)) ? position(Number(inner)) : undefined;
  },
  format: (p) => positionText(String(idOf(p))),
  covers: (p, mark) => idOf(mark) <= idOf(p),
  merge: (a, b) => (idOf(a) >= idOf(b) ? a : b),
  includes: (a, b) => idOf(a) >= idOf(b),
};

/**
 * Events this process committed lately, kept for the watch hub's read after each group commit:
 * it takes them from here instead of reading them back (a query, and each row's payload parsed)
 * while they follow on from where it is. Another process's commit (a cluster's worker, the CLI)
 * leaves a gap in the ids here, and the read goes to the file for it.
 */
const RECENT = 1_000;

export class SqliteEventLog implements EventLog {
  readonly positions = sqlitePositions;
  /** Ascending ids, this process's commits only. */
  private recent: { id: number; row: EventRow }[] = [];
  private readonly after;
  private readonly last;
  private readonly latestOfUser;
  private readonly belowOfUser;
  /** A history page and the position covering it, in one read transaction. */
  private readonly page;

  constructor(
    sqlite: Database.Database,
    db: Db,
    /** Resolves when what is committed now is durable (reads answer only with that). */
    private readonly durable: () => Promise<void>,
  ) {
    // The watch hub's read of every committed event, once per group commit while anyone watches:
    // plain rows mapped here, where Drizzle's prepared select mapped each row through its
    // column decoders (~4 µs an event at the maximum, bench/FINDINGS.md, round "2026-12-05, watch streams").
    const after = sqlite.prepare<[number, number], AfterRow>(
      "SELECT id, aggregate_id, sequence, type, payload, actor, resource_owner, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?",
    );
    this.after = (from: number, limit: number) => after.all(from, limit);
    this.last = db.select({ id: max(schema.events.id) }).from(schema.events).prepare();
    // A user's events newest first, from the latest or from below a sequence: both read the
    // unique index on (aggregate_id, sequence) backwards, as far as the limit. Prepared once:
    // building and preparing the query on every call was a third of a history call's CPU.
    const ofUser = (below: boolean) =>
      db
        .select()
        .from(schema.events)
        .where(and(eq(schema.events.aggregateId, sql.placeholder("userId")), below ? lt(schema.events.sequence, sql.placeholder("before")) : undefined))
        .orderBy(desc(schema.events.sequence))
        .limit(sql.placeholder("limit"))
        .prepare();
    this.latestOfUser = ofUser(false);
    this.belowOfUser = ofUser(true);
    // better-sqlite3's own transaction, whose BEGIN and COMMIT are prepared once (Drizzle's
    // prepares them on every call): the position covers exactly what the page could have shown.
    this.page = sqlite.transaction((userId: string, before: number | undefined, limit: number) => {
      const rows = before === undefined ? this.latestOfUser.all({ userId, limit }) : this.belowOfUser.all({ userId, before, limit });
      return { events: rows.map(fromEventRow), position: position(this.last.get()?.id ?? 0) };
    }).deferred;
  }

  async head(): Promise<EventPosition> {
    const head = position(this.last.get()?.id ?? 0);
    await this.durable();
    return head;
  }

  /** Events this process has just committed (right after the COMMIT, in commit order), with their row ids. */
  committed(rows: readonly EventRow[], ids: readonly number[]): void {
    for (let i = 0; i < rows.length; i++) this.recent.push({ id: ids[i]!, row: rows[i]! });
    if (this.recent.length > 2 * RECENT) this.recent = this.recent.slice(-RECENT);
  }

  async eventsAfter(from: EventPosition, limit: number): Promise<{ events: LoggedEvent[]; end: EventPosition }> {
    const fromId = idOf(from);
    // The columns as Drizzle's schema decodes them: payload as JSON, created_at in ms.
    const events =
      this.recentAfter(fromId, limit) ??
      this.after(fromId, limit).map((row) =>
        logged(row.id, {
          aggregateId: row.aggregate_id,
          sequence: row.sequence,
          type: row.type,
          payload: row.payload === null ? null : (JSON.parse(row.payload) as unknown),
          actor: row.actor,
          resourceOwner: row.resource_owner,
          createdAt: new Date(row.created_at),
        }),
      );
    await this.durable();
    return { events, end: events.length ? events[events.length - 1]!.after : from };
  }

  /** What this process committed after `fromId`, up to the first id it did not commit; undefined unless it committed `fromId + 1`. */
  private recentAfter(fromId: number, limit: number): LoggedEvent[] | undefined {
    const { recent } = this;
    let lo = 0;
    for (let hi = recent.length; lo < hi; ) {
      const mid = (lo + hi) >>> 1;
      if (recent[mid]!.id <= fromId) lo = mid + 1;
      else hi = mid;
    }
    if (recent[lo]?.id !== fromId + 1) return undefined;
    const events: LoggedEvent[] = [];
    for (let i = lo; i < recent.length && recent[i]!.id === fromId + 1 + events.length && events.length < limit; i++) {
      events.push(logged(recent[i]!.id, recent[i]!.row));
    }
    return events;
  }

  async userEvents(userId: string, before: number | undefined, limit: number): Promise<{ events: RecordedUserEvent[]; position: EventPosition }> {
    const read = this.page(userId, before, limit);
    await this.durable();
    return read;
  }
}

function logged(id: number, row: EventRow): LoggedEvent {
  const at = position(id);
  return { event: fromEventRow(row), orgId: row.resourceOwner, mark: at as unknown as EventMark, after: at };
}
