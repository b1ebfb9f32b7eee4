/** A row of the events table (same columns in every dialect) as the event it records. */
import type { RecordedUserEvent } from "../domain/events.js";

interface StoredEventRow {
  aggregateId: string;
  sequence: number;
  type: string;
  payload: unknown;
  actor: string;
  createdAt: Date;
}

/** Events are written only from RecordedUserEvents (write-plan.ts), so type and payload belong together. */
export function fromEventRow(row: StoredEventRow): RecordedUserEvent {
  const event = { type: row.type, userId: row.aggregateId, sequence: row.sequence, actor: row.actor, createdAt: row.createdAt };
  return (row.payload === null || row.payload === undefined ? event : { ...event, payload: row.payload }) as RecordedUserEvent;
}
