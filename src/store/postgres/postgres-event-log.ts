/** The event log on PostgreSQL, read by snapshot positions (snapshot-position.ts). */
import { sql, type SQL } from "drizzle-orm";
import type { RecordedUserEvent } from "../../domain/events.js";
import { positionInner, positionText, type EventLog, type EventPosition, type LoggedEvent, type PositionRules } from "../event-log.js";
import { EVENT_COLUMNS, eventOf, type EventColumns } from "./event-columns.js";
import { events } from "./schema.js";
import {
  asMark,
  asPosition,
  below,
  covers,
  fromMark,
  fromPosition,
  includes,
  merge,
  parseSnapshot,
  parseSnapshotPosition,
  snapshotPositionText,
  snapshotText,
  union,
  type SnapshotPosition,
} from "./snapshot-position.js";

/** An events row and the statement's snapshot or horizon, from one statement. */
type Row = EventColumns & { at: string };

export const postgresPositions: PositionRules = {
  parse(text) {
    const position = parseSnapshotPosition(positionInner(text));
    return position && asPosition(position);
  },
  format: (p) => positionText(snapshotPositionText(fromPosition(p))),
  covers: (p, mark) => covers(fromPosition(p), fromMark(mark)),
  merge: (a, b) => asPosition(merge(fromPosition(a), fromPosition(b))),
  includes: (a, b) => includes(fromPosition(a), fromPosition(b)),
};


export class PostgresEventLog implements EventLog {
  readonly positions = postgresPositions;

  constructor(private readonly execute: (query: SQL) => Promise<{ rows: unknown[] }>) {}

  async head(): Promise<EventPosition> {
    const { rows } = await this.execute(sql`select pg_current_snapshot()::text as at`);
    return asPosition({ snapshot: parseSnapshot((rows[0] as { at: string }).at)! });
  }

  async eventsAfter(fromPos: EventPosition, limit: number): Promise<{ events: LoggedEvent[]; end: EventPosition }> {
    const from = fromPosition(fromPos);
    // Only below the oldest running transaction: nothing there can still commit. The horizon
    // comes from the statement's own snapshot, the one the rows are read in.
    const { rows } = await this.execute(sql`
      with s as (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
      select s.horizon::text as at, ${EVENT_COLUMNS}
        from s left join lateral (
          select * from ${events}
           where tx_id >= pg_snapshot_xmin(${snapshotText(from.snapshot)}::pg_snapshot)
             and tx_id < s.horizon
             and not pg_visible_in_snapshot(tx_id, ${snapshotText(from.snapshot)}::pg_snapshot)
             and not (tx_id = ${String(from.partial?.tx ?? 0n)}::xid8 and id <= ${from.partial?.id ?? 0})
           order by tx_id, id
           limit ${limit}) e on true`);
    const read = (rows as Row[]).filter((row) => row.id !== null);
    const horizon = BigInt((rows[0] as Row).at);
    const full = read.length === limit;
    const logged = read.map((row, i): LoggedEvent => {
      const tx = BigInt(row.tx!);
      const mark = { tx, id: row.id! };
      // Inside a transaction's events (or at the end of a full read, which may stop inside one),
      // the position covers the transactions before and this one up to the row.
      const inside = i + 1 < read.length ? read[i + 1]!.tx === row.tx : full;
      const after: SnapshotPosition = inside
        ? { snapshot: union(from.snapshot, below(tx)), partial: mark }
        : { snapshot: union(from.snapshot, below(tx + 1n)) };
      return { event: eventOf(row), orgId: row.resourceOwner, mark: asMark(mark), after: asPosition(after) };
    });
    const end = full ? logged[logged.length - 1]!.after : asPosition({ snapshot: union(from.snapshot, below(horizon)) });
    return { events: logged, end };
  }

  async userEvents(userId: string, before: number | undefined, limit: number): Promise<{ events: RecordedUserEvent[]; position: EventPosition }> {
    const { rows } = await this.execute(sql`
      with s as (select pg_current_snapshot()::text as at)
      select s.at, ${EVENT_COLUMNS}
        from s left join lateral (
          select * from ${events}
           where aggregate_id = ${userId} and sequence < ${before ?? 2 ** 31 - 1}
           order by sequence desc
           limit ${limit}) e on true`);
    const read = (rows as Row[]).filter((row) => row.id !== null);
    return { events: read.map(eventOf), position: asPosition({ snapshot: parseSnapshot((rows[0] as Row).at)! }) };
  }
}
