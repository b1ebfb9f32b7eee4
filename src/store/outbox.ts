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

/** What waits for one destination, for an administrator (EXTENSIONS.md §2: parked deliveries are visible). */
export interface DestinationState {
  destination: string;
  /** Deliveries not parked: due, backing off after a failure, or being sent. */
  waiting: number;
  parked: number;
  /** When the oldest waiting delivery was written; undefined when none waits. */
  oldestWaitingAt?: Date;
  /**
   * The error of the newest delivery that failed, waiting or parked (the outbox keeps no time of
   * a failure, and a newer delivery's failure is the likelier to say how the receiver is now).
   */
  lastError?: string;
}

/** Parked deliveries of one destination, or of all, from after `afterId` on (a page). */
export interface ParkedFilter {
  destination?: string;
  afterId?: number;
}

export interface OutboxStats {
  /** Deliveries waiting (not parked). */
  pending: number;
  parked: number;
  /** When the oldest waiting delivery was written; undefined when none waits. */
  oldestPendingAt?: Date;
}

/**
 * How many deliveries one lease may take: at most `limit` in all, and at most the room of each
 * destination, `perDestination` unless `rooms` says otherwise (0: none, e.g. a paused stream's).
 */
export interface LeaseRoom {
  limit: number;
  perDestination: number;
  rooms?: ReadonlyMap<string, number>;
}

export interface OutboxStore {
  /**
   * Leases deliveries that are due, each the first waiting one of its destination and user (so a
   * user's deliveries to a destination go out in order, one at a time), oldest first within the
   * room given, until `leaseUntil`; a lease that runs out (its sender died) makes the delivery
   * due again.
   */
  leaseDue(now: Date, leaseUntil: Date, room: LeaseRoom): Promise<LeasedDelivery[]>;
  /**
   * Still being sent: their leases now last until `leaseUntil`. Deliveries settled meanwhile
   * (sent, or failed and no longer leased) are left as they are.
   */
  renewLeases(ids: readonly number[], leaseUntil: Date): Promise<void>;
  /** Sent (or dropped): gone, all in one write. */
  delivered(ids: readonly number[]): Promise<void>;
  /** Not sent: tried again at `dueAt`, or parked (`dueAt` undefined) until an administrator retries it. */
  failed(id: number, failure: { error: string; dueAt?: Date }): Promise<void>;
  /** Parked deliveries, oldest first. */
  parkedDeliveries(limit: number, filter?: ParkedFilter): Promise<ParkedDelivery[]>;
  /** Parked deliveries due again now; returns how many there were. */
  retryParked(ids: number[], now: Date): Promise<number>;
  /** Every parked delivery of the destination due again now; returns how many there were. */
  retryParkedOf(destination: string, now: Date): Promise<number>;
  /** Every destination with a delivery waiting or parked, in the order of their names. */
  destinationStates(): Promise<DestinationState[]>;
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

/**
 * DestinationStates from a count per destination and parked flag (with the oldest creation time
 * among each group) and the last error of each destination that has one.
 */
export function destinationStatesOf(
  counts: { destination: string; parked: boolean; n: number; oldest: Date | null }[],
  errors: { destination: string; lastError: string | null }[],
): DestinationState[] {
  const states = new Map<string, DestinationState>();
  for (const { destination, parked, n, oldest } of counts) {
    const state = states.get(destination) ?? { destination, waiting: 0, parked: 0 };
    if (parked) state.parked = n;
    else Object.assign(state, { waiting: n, oldestWaitingAt: oldest ?? undefined });
    states.set(destination, state);
  }
  for (const { destination, lastError } of errors) {
    const state = states.get(destination);
    if (state && lastError !== null) state.lastError = lastError;
  }
  return [...states.values()].sort(byDestination);
}

/** Destinations in the order of their names, as code units compare (the same in every backend). */
export const byDestination = (a: { destination: string }, b: { destination: string }) =>
  a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0;
