/**
 * The outbox on SQLite. A lease guards against sending a delivery twice, from this process or
 * from another worker of the cluster on the same file: leases are taken in an IMMEDIATE
 * transaction, so two processes never lease the same delivery. The writes here need no wait for
 * fdatasync: one lost in a crash means a delivery sent again, which the outbox allows (at least
 * once). On a full disk each write is refused as Unavailable (disk-full.ts), which the dispatcher
 * tries again until space returns, keeping the delivery leased meanwhile.
 */
import type Database from "better-sqlite3";
import { and, asc, count, eq, inArray, isNotNull, max, min, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { fromEventRow } from "../event-rows.js";
import { destinationStatesOf, failureChanges, outboxStatsOf } from "../outbox.js";
import type { DestinationState, LeasedDelivery, LeaseRoom, OutboxStats, OutboxStore, ParkedDelivery, ParkedFilter } from "../outbox.js";
import { parkedWhere, retryChanges } from "../outbox-sql.js";
import type { DiskSpell } from "./disk-full.js";
import * as schema from "./schema.js";

type Db = BetterSQLite3Database<typeof schema>;
const { outbox, events } = schema;

export class SqliteOutbox implements OutboxStore {
  private readonly destinations;
  private readonly due;
  private readonly lease;
  private readonly leased;
  private readonly remove;

  // The statements of every lease and delivery, prepared once (Drizzle builds its SQL on every call).
  constructor(
    private readonly sqlite: Database.Database,
    private readonly db: Db,
    /** Starting before any other process on the file sends: any lease left is from one that died. */
    freeLeases: boolean,
    private readonly spell: DiskSpell,
  ) {
    // The workers of a cluster leave them to run out (LEASE_MS): another worker may be sending.
    if (freeLeases) db.update(outbox).set({ leaseUntil: null }).run();
    // Each destination with a waiting delivery, one index seek apiece (outbox_pending).
    this.destinations = sqlite
      .prepare<[], string>(`
        with recursive d(destination) as (
          select min(destination) from outbox where parked = 0
          union all
          select (select min(o.destination) from outbox o where o.parked = 0 and o.destination > d.destination) from d where d.destination is not null)
        select destination from d where destination is not null`)
      .pluck();
    // A destination's oldest waiting deliveries that are due, not leased and the first of their
    // user: read in the order of outbox_pending, so only the head of its queue is looked at
    // (without statistics SQLite would pick outbox_due, and sort every due row of the destination).
    this.due = sqlite
      .prepare<{ destination: string; now: number; limit: number }, number>(`
        select o.id from outbox o indexed by outbox_pending
         where o.destination = :destination and o.parked = 0
           and o.due_at <= :now and (o.lease_until is null or o.lease_until <= :now)
           and not exists (select 1 from outbox p
                            where p.destination = o.destination and p.user_id = o.user_id and p.id < o.id and p.parked = 0)
         order by o.id limit :limit`)
      .pluck();
    this.lease = sqlite.prepare<[number, string]>("update outbox set lease_until = ? where id in (select value from json_each(?))");
    this.leased = db
      .select({ delivery: outbox, event: events })
      .from(outbox)
      .innerJoin(events, and(eq(events.aggregateId, outbox.userId), eq(events.sequence, outbox.sequence)))
      .where(sql`${outbox.id} in (select value from json_each(${sql.placeholder("ids")}))`)
      .orderBy(asc(outbox.id))
      .prepare();
    this.remove = sqlite.prepare<[string]>("delete from outbox where id in (select value from json_each(?))");
  }

  async leaseDue(now: Date, leaseUntil: Date, room: LeaseRoom): Promise<LeasedDelivery[]> {
    // The dispatcher looks after every commit; with nothing waiting it takes no write lock, which
    // the other workers of a cluster would wait for (bench/FINDINGS.md, "2026-12-06, every core").
    if (this.destinations.all().length === 0) return [];
    const leased = this.spell.write(this.sqlite.transaction(() => {
      const ids: number[] = [];
      for (const destination of this.destinations.all()) {
        const limit = Math.min(room.rooms?.get(destination) ?? room.perDestination, room.limit);
        if (limit > 0) ids.push(...this.due.all({ destination, now: now.getTime(), limit }));
      }
      if (ids.length === 0) return [];
      const oldest = JSON.stringify(ids.sort((a, b) => a - b).slice(0, room.limit));
      this.lease.run(leaseUntil.getTime(), oldest);
      return this.leased.all({ ids: oldest });
      // IMMEDIATE: the read above and the lease are one write, which another process waits for
      // (busy_timeout); a deferred transaction would be refused, not made to wait, on upgrading.
    }).immediate);
    return leased.map(({ delivery, event }) => ({
      id: delivery.id,
      destination: delivery.destination,
      txn: delivery.txn,
      attempts: delivery.attempts,
      createdAt: delivery.createdAt,
      event: fromEventRow(event),
      orgId: event.resourceOwner,
    }));
  }

  async renewLeases(ids: readonly number[], leaseUntil: Date): Promise<void> {
    if (ids.length === 0) return;
    this.spell.write(() =>
      this.db
        .update(outbox)
        .set({ leaseUntil })
        .where(and(inArray(outbox.id, [...ids]), isNotNull(outbox.leaseUntil)))
        .run(),
    );
  }

  async delivered(ids: readonly number[]): Promise<void> {
    if (ids.length > 0) this.spell.write(() => this.remove.run(JSON.stringify(ids)));
  }

  async failed(id: number, failure: { error: string; dueAt?: Date }): Promise<void> {
    this.spell.write(() =>
      this.db
        .update(outbox)
        .set({ attempts: sql`${outbox.attempts} + 1`, ...failureChanges(failure) })
        .where(eq(outbox.id, id))
        .run(),
    );
  }

  async parkedDeliveries(limit: number, filter: ParkedFilter = {}): Promise<ParkedDelivery[]> {
    const rows = this.db.select().from(outbox).where(parkedWhere(outbox, filter)).orderBy(asc(outbox.id)).limit(limit).all();
    return rows.map((row) => ({ ...row, lastError: row.lastError ?? "" }));
  }

  async retryParked(ids: number[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    return this.spell.write(() => this.db.update(outbox).set(retryChanges(now)).where(and(inArray(outbox.id, ids), eq(outbox.parked, true))).run()).changes;
  }

  async retryParkedOf(destination: string, now: Date): Promise<number> {
    return this.spell.write(() => this.db.update(outbox).set(retryChanges(now)).where(parkedWhere(outbox, { destination })).run()).changes;
  }

  async destinationStates(): Promise<DestinationState[]> {
    const counts = this.db
      .select({ destination: outbox.destination, parked: outbox.parked, n: count(), oldest: min(outbox.createdAt) })
      .from(outbox)
      .groupBy(outbox.destination, outbox.parked)
      .all();
    const newestFailed = this.db.select({ id: max(outbox.id) }).from(outbox).where(isNotNull(outbox.lastError)).groupBy(outbox.destination);
    const errors = this.db.select({ destination: outbox.destination, lastError: outbox.lastError }).from(outbox).where(inArray(outbox.id, newestFailed)).all();
    return destinationStatesOf(counts, errors);
  }

  async outboxStats(): Promise<OutboxStats> {
    const rows = this.db
      .select({ parked: outbox.parked, n: count(), oldest: min(outbox.createdAt) })
      .from(outbox)
      .groupBy(outbox.parked)
      .all();
    return outboxStatsOf(rows);
  }
}
