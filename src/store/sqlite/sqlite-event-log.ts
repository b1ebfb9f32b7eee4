/**
 * The event log on SQLite: one writer commits transactions one after another and row ids only
 * grow (AUTOINCREMENT), so an event's id is its place in commit order and a position is an id.
 */
import { and, desc, eq, gt, lt, max, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { RecordedUserEvent } from "../../domain/events.js";
import { positionInner, positionText, type EventLog, type EventMark, type EventPosition, type LoggedEvent, type PositionRules } from "../event-log.js";
import { fromEventRow } from "../event-rows.js";
import * as schema from "./schema.js";

type Db = BetterSQLite3Database<typeof schema>;
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

  constructor(
    private readonly db: Db,
    /** Resolves when what is committed now is durable (reads answer only with that). */
    private readonly durable: () => Promise<void>,
  ) {
    this.after = db
      .select()
      .from(schema.events)
      .where(gt(schema.events.id, sql.placeholder("from")))
      .orderBy(schema.events.id)
      .limit(sql.placeholder("limit"))
      .prepare();
    this.last = db.select({ id: max(schema.events.id) }).from(schema.events).prepare();
  }

  async head(): Promise<EventPosition> {
    const head = position(this.last.get()?.id ?? 0);
    await this.durable();
    return head;
  }

  async eventsAfter(from: EventPosition, limit: number): Promise<{ events: LoggedEvent[]; end: EventPosition }> {
    const rows = this.after.all({ from: idOf(from), limit });
    await this.durable();
    const events = rows.map((row) => {
      const at = position(row.id);
      return { event: fromEventRow(row), orgId: row.resourceOwner, mark: at as unknown as EventMark, after: at };
    });
    return { events, end: events.length ? events[events.length - 1]!.after : from };
  }

  async userEvents(userId: string, before: number | undefined, limit: number): Promise<{ events: RecordedUserEvent[]; position: EventPosition }> {
    // One read transaction: the position covers exactly what the page could have shown.
    const read = this.db.transaction(
      (tx) => {
        const rows = tx
          .select()
          .from(schema.events)
          .where(and(eq(schema.events.aggregateId, userId), before === undefined ? undefined : lt(schema.events.sequence, before)))
          .orderBy(desc(schema.events.sequence))
          .limit(limit)
          .all();
        const head = tx.select({ id: max(schema.events.id) }).from(schema.events).get()?.id ?? 0;
        return { events: rows.map(fromEventRow), position: position(head) };
      },
      { behavior: "deferred" },
    );
    await this.durable();
    return read;
  }
}
