/**
 * The durable outbox (EXTENSIONS.md §2, DESIGN.md "Streams and delivery"): deliveries are rows
 * written with the events that cause them (write-plan.ts), leased by a dispatcher, deleted once
 * sent, retried later or parked when sending fails.
 */
import type { RecordedUserEvent } from "../domain/events.js";

/** One delivery to write with a commit: the commit's event `sequence` of the user, to `destination`. */
export interface DeliveryWrite {
  destination: string;
  sequence: number;
  /** The cause: every delivery of one commit shares it. */
  txn: string;
}

/** A delivery leased for sending, with the event it carries. */
export interface LeasedDelivery {
  id: number;
  destination: string;
  txn: string;
  /** Earlier attempts. */
  attempts: number;
  createdAt: Date;
  event: RecordedUserEvent;
  /** The user's organization. */
  orgId: string;
}

export interface ParkedDelivery {
  id: number;
  destination: string;
  userId: string;
  sequence: number;
  attempts: number;
  lastError: string;
  createdAt: Date;
}

export interface OutboxStats {
  /** Deliveries waiting (not parked). */
  pending: number;
  parked: number;
  /** When the oldest waiting delivery was written; undefined when none waits. */
  oldestPendingAt?: Date;
}

export interface OutboxStore {
  /**
   * Leases up to `limit` deliveries that are due, each the first waiting one of its destination
   * and user (so a user's deliveries to a destination go out in order, one at a time), until
   * `leaseUntil`; a lease that runs out (its sender died) makes the delivery due again. None
   * for the destinations in `skip` (those busy enough already).
   */
  leaseDue(now: Date, leaseUntil: Date, limit: number, skip: string[]): Promise<LeasedDelivery[]>;
  /**
   * Still being sent: their leases now last until `leaseUntil`. Deliveries settled meanwhile
   * (sent, or failed and no longer leased) are left as they are.
   */
  renewLeases(ids: readonly number[], leaseUntil: Date): Promise<void>;
  /** Sent: gone. */
  delivered(id: number): Promise<void>;
  /** Not sent: tried again at `dueAt`, or parked (`dueAt` undefined) until an administrator retries it. */
  failed(id: number, failure: { error: string; dueAt?: Date }): Promise<void>;
  parkedDeliveries(limit: number): Promise<ParkedDelivery[]>;
  /** Parked deliveries due again now; returns how many there were. */
  retryParked(ids: number[], now: Date): Promise<number>;
  outboxStats(): Promise<OutboxStats>;
}

/** The columns a failed send changes besides its attempt count: retried at `dueAt`, else parked. */
export function failureChanges(failure: { error: string; dueAt?: Date }) {
  return { lastError: failure.error, leaseUntil: null, ...(failure.dueAt ? { dueAt: failure.dueAt } : { parked: true }) };
}

/** OutboxStats from a count per parked flag and the oldest creation time among the waiting ones. */
export function outboxStatsOf(rows: { parked: boolean; n: number; oldest: Date | null }[]): OutboxStats {
  const pending = rows.find((row) => !row.parked);
  return { pending: pending?.n ?? 0, parked: rows.find((row) => row.parked)?.n ?? 0, oldestPendingAt: pending?.oldest ?? undefined };
}
