/**
 * The outbox on PostgreSQL, shared by every instance: a delivery is leased by one instance at a
 * time (FOR UPDATE SKIP LOCKED, then a lease time the sending instance renews while the send is
 * under way), and one whose instance died while sending becomes due again when its lease runs out.
 */
import { and, asc, count, eq, inArray, isNotNull, max, min, sql, type SQL } from "drizzle-orm";
import { destinationStatesOf, failureChanges, outboxStatsOf } from "../outbox.js";
import type { DestinationState, LeasedDelivery, LeaseRoom, OutboxStats, OutboxStore, ParkedDelivery, ParkedFilter } from "../outbox.js";
import { parkedWhere, retryChanges } from "../outbox-sql.js";
import { EVENT_COLUMNS, eventOf, type EventColumns } from "./event-columns.js";
import type { PgDb } from "./postgres-store.js";
import { outbox } from "./schema.js";

type Row = EventColumns & { deliveryId: number; destination: string; txn: string; attempts: number; deliveryAtMs: string };

export class PostgresOutbox implements OutboxStore {
  constructor(
    private readonly db: PgDb,
    private readonly execute: (query: SQL) => Promise<{ rows: unknown[] }>,
    private readonly guard: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  async leaseDue(now: Date, leaseUntil: Date, room: LeaseRoom): Promise<LeasedDelivery[]> {
    // Each destination with a waiting delivery (one index seek apiece, outbox_pending), then its
    // oldest waiting deliveries that are the first of their user, as many as its room; rows
    // another instance is leasing right now are skipped, and the ones behind them are not the first.
    const at = now.toISOString();
    const { rows } = await this.execute(sql`
      with recursive destinations(destination) as (
        select min(destination) from outbox where not parked
        union all
        select (select min(o.destination) from outbox o where not o.parked and o.destination > d.destination)
          from destinations d where d.destination is not null),
      rooms as (
        select d.destination, least(coalesce(r.value::int, ${room.perDestination}), ${room.limit}) as room
          from destinations d left join jsonb_each_text(${JSON.stringify(Object.fromEntries(room.rooms ?? []))}::jsonb) r on r.key = d.destination
         where d.destination is not null),
      due as (
        select c.id from rooms r cross join lateral (
          select o.id from outbox o
           where o.destination = r.destination and not o.parked
             and o.due_at <= ${at} and (o.lease_until is null or o.lease_until <= ${at})
             and not exists (select 1 from outbox p
                              where p.destination = o.destination and p.user_id = o.user_id and p.id < o.id and not p.parked)
           order by o.id limit r.room
           for update skip locked) c
         order by c.id limit ${room.limit}),
      leased as (
        update outbox set lease_until = ${leaseUntil.toISOString()} from due where outbox.id = due.id
        returning outbox.id, outbox.destination, outbox.txn, outbox.attempts, outbox.user_id, outbox.sequence, outbox.created_at)
      select l.id as "deliveryId", l.destination, l.txn, l.attempts,
             (extract(epoch from l.created_at) * 1000)::bigint::text as "deliveryAtMs", ${EVENT_COLUMNS}
        from leased l join events e on e.aggregate_id = l.user_id and e.sequence = l.sequence
       order by l.id`);
    return (rows as Row[]).map((row) => ({
      id: row.deliveryId,
      destination: row.destination,
      txn: row.txn,
      attempts: row.attempts,
      createdAt: new Date(Number(row.deliveryAtMs)),
      event: eventOf(row),
      orgId: row.resourceOwner,
    }));
  }

  renewLeases(ids: readonly number[], leaseUntil: Date): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.guard(async () => {
      await this.db
        .update(outbox)
        .set({ leaseUntil })
        .where(and(inArray(outbox.id, [...ids]), isNotNull(outbox.leaseUntil)));
    });
  }

  delivered(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.guard(async () => {
      await this.db.delete(outbox).where(inArray(outbox.id, [...ids]));
    });
  }

  failed(id: number, failure: { error: string; dueAt?: Date }): Promise<void> {
    return this.guard(async () => {
      await this.db
        .update(outbox)
        .set({ attempts: sql`${outbox.attempts} + 1`, ...failureChanges(failure) })
        .where(eq(outbox.id, id));
    });
  }

  parkedDeliveries(limit: number, filter: ParkedFilter = {}): Promise<ParkedDelivery[]> {
    return this.guard(async () => {
      const rows = await this.db.select().from(outbox).where(parkedWhere(outbox, filter)).orderBy(asc(outbox.id)).limit(limit);
      return rows.map((row) => ({ ...row, lastError: row.lastError ?? "" }));
    });
  }

  retryParked(ids: number[], now: Date): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.guard(async () => {
      const updated = await this.db
        .update(outbox)
        .set(retryChanges(now))
        .where(and(inArray(outbox.id, ids), eq(outbox.parked, true)))
        .returning({ id: outbox.id });
      return updated.length;
    });
  }

  retryParkedOf(destination: string, now: Date): Promise<number> {
    return this.guard(async () => {
      const updated = await this.db.update(outbox).set(retryChanges(now)).where(parkedWhere(outbox, { destination })).returning({ id: outbox.id });
      return updated.length;
    });
  }

  destinationStates(): Promise<DestinationState[]> {
    return this.guard(async () => {
      const counts = await this.db
        .select({ destination: outbox.destination, parked: outbox.parked, n: count(), oldest: min(outbox.createdAt) })
        .from(outbox)
        .groupBy(outbox.destination, outbox.parked);
      const newestFailed = this.db.select({ id: max(outbox.id) }).from(outbox).where(isNotNull(outbox.lastError)).groupBy(outbox.destination);
      const errors = await this.db.select({ destination: outbox.destination, lastError: outbox.lastError }).from(outbox).where(inArray(outbox.id, newestFailed));
      return destinationStatesOf(counts, errors);
    });
  }

  outboxStats(): Promise<OutboxStats> {
    return this.guard(async () => {
      const rows = await this.db.select({ parked: outbox.parked, n: count(), oldest: min(outbox.createdAt) }).from(outbox).groupBy(outbox.parked);
      return outboxStatsOf(rows);
    });
  }
}
