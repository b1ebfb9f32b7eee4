/** The outbox's conditions and changes for an administrator's reads and retries, the same in every dialect. */
import { and, eq, gt, type Column, type SQL } from "drizzle-orm";
import type { ParkedFilter } from "./outbox.js";

interface OutboxColumns {
  id: Column;
  destination: Column;
  parked: Column;
}

/** Parked rows, of the filter's destination and after its id where it names them. */
export function parkedWhere(t: OutboxColumns, filter: ParkedFilter): SQL {
  const conditions = [eq(t.parked, true)];
  if (filter.destination !== undefined) conditions.push(eq(t.destination, filter.destination));
  if (filter.afterId !== undefined) conditions.push(gt(t.id, filter.afterId));
  return and(...conditions)!;
}

/** A parked delivery made due now, its lease (none should be left) cleared; its attempts and last error stay, for the record. */
export const retryChanges = (now: Date) => ({ parked: false, dueAt: now, leaseUntil: null });
