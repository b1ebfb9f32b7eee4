/** An events row as raw statements (the event log's, the outbox's) select it, and the event it records. */
import { sql } from "drizzle-orm";
import type { RecordedUserEvent } from "../../domain/events.js";
import { fromEventRow } from "../event-rows.js";
import type { EventRow } from "../write-plan.js";

/** The columns EVENT_COLUMNS selects; null ones when an outer join found no event. */
export type EventColumns = Omit<EventRow, "createdAt"> & { id: number | null; tx: string | null; createdAtMs: string };

/**
 * The columns of the events row `e` as EventRow names them; the time in milliseconds, because raw
 * statements get timestamps as text in the driver's format (Drizzle parses them only for its own queries).
 */
export const EVENT_COLUMNS = sql.raw(
  `e.id, e.aggregate_id as "aggregateId", e.sequence, e.type, e.payload, e.actor, e.resource_owner as "resourceOwner",
   (extract(epoch from e.created_at) * 1000)::bigint::text as "createdAtMs", e.tx_id::text as tx`,
);

export const eventOf = (row: EventColumns): RecordedUserEvent => fromEventRow({ ...row, createdAt: new Date(Number(row.createdAtMs)) });
