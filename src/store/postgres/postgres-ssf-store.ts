/** The transmitter's tables on PostgreSQL, shared by every instance. */
import { and, asc, count, eq, inArray, isNull, notInArray, sql } from "drizzle-orm";
import type { ReceiverConfig, SsfStream, StreamStatus } from "../../domain/ssf/stream.js";
import { configColumns, fromKeyRow, fromStreamRow, publishedOrder, queueDepthsOf, toKeyRow, toStreamRow, verificationDue } from "../ssf-rows.js";
import type { PendingVerification, QueuedSet, SsfStore, StoredSigningKey } from "../ssf-store.js";
import { guard } from "./guard.js";
import type { PgDb } from "./postgres-store.js";
import * as schema from "./schema.js";

const { ssfPollSets } = schema;

export class PostgresSsfStore implements SsfStore {
  private readonly reads;

  constructor(private readonly db: PgDb) {
    this.reads = preparedReads(db);
  }

  publishedKeys(): Promise<StoredSigningKey[]> {
    return guard(async () => (await this.db.select().from(schema.ssfKeys)).sort(publishedOrder).map(fromKeyRow));
  }

  addFirstKey(key: StoredSigningKey): Promise<boolean> {
    // The partial unique index lets one current key in: instances starting together on an empty
    // table race here, and the others' keys are ignored.
    return guard(async () => {
      const inserted = await this.db.insert(schema.ssfKeys).values(toKeyRow(key, true)).onConflictDoNothing().returning({ kid: schema.ssfKeys.kid });
      return inserted.length > 0;
    });
  }

  rotateKey(key: StoredSigningKey, at: Date): Promise<void> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        await tx.update(schema.ssfKeys).set({ current: false, rotatedAt: at }).where(eq(schema.ssfKeys.current, true));
        await tx.insert(schema.ssfKeys).values(toKeyRow(key, true));
      }),
    );
  }

  retireKey(kid: string): Promise<"retired" | "current" | "waiting" | "unknown"> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        // The key's row lock keeps a racing retire out while this one looks at the queues.
        const [row] = await tx.select({ current: schema.ssfKeys.current }).from(schema.ssfKeys).where(eq(schema.ssfKeys.kid, kid)).for("update");
        if (!row) return "unknown" as const;
        if (row.current) return "current" as const;
        const [waiting] = await tx
          .select({ id: ssfPollSets.id })
          .from(ssfPollSets)
          .where(and(eq(ssfPollSets.kid, kid), isNull(ssfPollSets.error)))
          .limit(1);
        if (waiting) return "waiting" as const;
        await tx.delete(schema.ssfKeys).where(eq(schema.ssfKeys.kid, kid));
        return "retired" as const;
      }),
    );
  }

  insertStream(stream: SsfStream): Promise<void> {
    return guard(async () => {
      await this.db.insert(schema.ssfStreams).values(toStreamRow(stream));
    });
  }

  getStream(id: string): Promise<SsfStream | undefined> {
    return guard(async () => {
      const [row] = await this.db.select().from(schema.ssfStreams).where(eq(schema.ssfStreams.id, id));
      return row && fromStreamRow(row);
    });
  }

  listStreams(receiverId?: string): Promise<SsfStream[]> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(schema.ssfStreams)
        .where(receiverId === undefined ? undefined : eq(schema.ssfStreams.receiverId, receiverId))
        .orderBy(asc(schema.ssfStreams.createdAt), asc(schema.ssfStreams.id));
      return rows.map(fromStreamRow);
    });
  }

  updateStreamConfig(id: string, config: ReceiverConfig & { eventsDelivered: string[] }, at: Date): Promise<boolean> {
    return guard(async () => {
      const updated = await this.db
        .update(schema.ssfStreams)
        .set({ ...configColumns(config), updatedAt: at })
        .where(eq(schema.ssfStreams.id, id))
        .returning({ id: schema.ssfStreams.id });
      return updated.length > 0;
    });
  }

  setStreamStatus(id: string, status: StreamStatus, reason: string | undefined, at: Date): Promise<boolean> {
    return guard(async () => {
      const updated = await this.db
        .update(schema.ssfStreams)
        .set({ status, statusReason: reason ?? null, updatedAt: at })
        .where(eq(schema.ssfStreams.id, id))
        .returning({ id: schema.ssfStreams.id });
      return updated.length > 0;
    });
  }

  deleteStream(id: string): Promise<boolean> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        await tx.delete(schema.ssfSubjects).where(eq(schema.ssfSubjects.streamId, id));
        await tx.delete(schema.ssfVerifications).where(eq(schema.ssfVerifications.streamId, id));
        await tx.delete(ssfPollSets).where(eq(ssfPollSets.streamId, id));
        const deleted = await tx.delete(schema.ssfStreams).where(eq(schema.ssfStreams.id, id)).returning({ id: schema.ssfStreams.id });
        return deleted.length > 0;
      }),
    );
  }

  setSubject(streamId: string, subjectKey: string, included: boolean): Promise<void> {
    return guard(async () => {
      await this.db
        .insert(schema.ssfSubjects)
        .values({ streamId, subjectKey, included })
        .onConflictDoUpdate({ target: [schema.ssfSubjects.streamId, schema.ssfSubjects.subjectKey], set: { included } });
    });
  }

  subjectEntries(streamId: string, subjectKeys: readonly string[]): Promise<Map<string, boolean>> {
    if (!subjectKeys.length) return Promise.resolve(new Map());
    return guard(async () => {
      const rows = await this.reads.subjectEntries.execute({ streamId, keys: [...subjectKeys] });
      return new Map(rows.map((row) => [row.key, row.included]));
    });
  }

  requestVerification(streamId: string, state: string | undefined, at: Date, notAfter: Date): Promise<boolean> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        // The row lock of the UPDATE makes a racing request wait and then find the new time.
        const updated = await tx
          .update(schema.ssfStreams)
          .set({ lastVerificationAt: at })
          .where(verificationDue(schema.ssfStreams, streamId, notAfter))
          .returning({ id: schema.ssfStreams.id });
        if (updated.length === 0) return false;
        await tx.insert(schema.ssfVerifications).values({ streamId, state: state ?? null, requestedAt: at });
        return true;
      }),
    );
  }

  /** A paused stream's verification requests wait until it is enabled (app/ssf/verifications.ts). */
  private pausedStreams() {
    return this.db.select({ id: schema.ssfStreams.id }).from(schema.ssfStreams).where(eq(schema.ssfStreams.status, "paused"));
  }

  pendingVerifications(limit: number): Promise<PendingVerification[]> {
    return guard(async () => {
      const rows = await this.db
        .select()
        .from(schema.ssfVerifications)
        .where(notInArray(schema.ssfVerifications.streamId, this.pausedStreams()))
        .orderBy(asc(schema.ssfVerifications.id))
        .limit(limit);
      return rows.map(({ state, ...row }) => (state === null ? row : { ...row, state }));
    });
  }

  deleteVerification(id: number): Promise<void> {
    return guard(async () => {
      await this.db.delete(schema.ssfVerifications).where(eq(schema.ssfVerifications.id, id));
    });
  }

  queueSets(streamId: string, sets: readonly QueuedSet[], at: Date): Promise<void> {
    if (sets.length === 0) return Promise.resolve();
    return guard(async () => {
      await this.db
        .insert(ssfPollSets)
        .values(sets.map((set) => ({ streamId, ...set, createdAt: at })))
        .onConflictDoNothing();
    });
  }

  queuedSets(streamId: string, limit: number): Promise<{ jti: string; set: string }[]> {
    return guard(() => this.reads.queuedSets.execute({ streamId, limit }));
  }

  ackSets(streamId: string, jtis: readonly string[]): Promise<void> {
    if (jtis.length === 0) return Promise.resolve();
    return guard(async () => {
      await this.db.delete(ssfPollSets).where(and(eq(ssfPollSets.streamId, streamId), inArray(ssfPollSets.jti, [...jtis])));
    });
  }

  refuseSets(streamId: string, errors: ReadonlyMap<string, string>): Promise<void> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        for (const [jti, error] of errors) {
          await tx
            .update(ssfPollSets)
            .set({ error })
            .where(and(eq(ssfPollSets.streamId, streamId), eq(ssfPollSets.jti, jti)));
        }
      }),
    );
  }

  queueDepths(): Promise<Map<string, { queued: number; refused: number }>> {
    const refused = sql<boolean>`${ssfPollSets.error} is not null`;
    return guard(async () => {
      const rows = await this.db.select({ streamId: ssfPollSets.streamId, refused, n: count() }).from(ssfPollSets).groupBy(ssfPollSets.streamId, refused);
      return queueDepthsOf(rows);
    });
  }
}

/**
 * The reads of every SSF delivery and poll, as named prepared statements on the pool, as
 * postgres-store.ts prepares the reads of every call.
 */
function preparedReads(db: PgDb) {
  const { ssfSubjects } = schema;
  return {
    subjectEntries: db
      .select({ key: ssfSubjects.subjectKey, included: ssfSubjects.included })
      .from(ssfSubjects)
      .where(and(eq(ssfSubjects.streamId, sql.placeholder("streamId")), sql`${ssfSubjects.subjectKey} = any(${sql.placeholder("keys")})`))
      .prepare("zus_ssf_subject_entries"),
    queuedSets: db
      .select({ jti: ssfPollSets.jti, set: ssfPollSets.set })
      .from(ssfPollSets)
      .where(and(eq(ssfPollSets.streamId, sql.placeholder("streamId")), isNull(ssfPollSets.error)))
      .orderBy(asc(ssfPollSets.id))
      .limit(sql.placeholder("limit"))
      .prepare("zus_ssf_queued_sets"),
  };
}
