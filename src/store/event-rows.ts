/** A row of the events table (same columns in every dialect) as the event it records. */
import type { RecordedUserEvent } from "../domain/events.js";
import type { EventRow } from "./write-plan.js";

/** Events are written only from RecordedUserEvents (write-plan.ts), so type and payload belong together. */
export function fromEventRow(row: EventRow): RecordedUserEvent {
  const event = { type: row.type, userId: row.aggregateId, sequence: row.sequence, actor: row.actor, createdAt: row.createdAt };
  return (row.payload === null || row.payload === undefined ? event : { ...event, payload: row.payload }) as RecordedUserEvent;
}
