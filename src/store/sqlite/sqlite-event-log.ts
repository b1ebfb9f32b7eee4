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
};

export class SqliteEventLog implements EventLog {
  readonly positions = sqlitePositions;
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

  async eventsAfter(from: EventPosition, limit: number): Promise<{ events: LoggedEvent[]; end: EventPosition }> {
    const rows = this.after(idOf(from), limit);
    await this.durable();
    const events = rows.map((row) => {
      const at = position(row.id);
      // The columns as Drizzle's schema decodes them: payload as JSON, created_at in ms.
      const event = fromEventRow({
        aggregateId: row.aggregate_id,
        sequence: row.sequence,
        type: row.type,
        payload: row.payload === null ? null : (JSON.parse(row.payload) as unknown),
        actor: row.actor,
        resourceOwner: row.resource_owner,
        createdAt: new Date(row.created_at),
      });
      return { event, orgId: row.resource_owner, mark: at as unknown as EventMark, after: at };
    });
    return { events, end: events.length ? events[events.length - 1]!.after : from };
  }

  async userEvents(userId: string, before: number | undefined, limit: number): Promise<{ events: RecordedUserEvent[]; position: EventPosition }> {
    const read = this.page(userId, before, limit);
    await this.durable();
    return read;
  }
}
