/**
 * The transmitter's tables on SQLite. Its writes are rare (a receiver changing its stream, a key
 * rotation) and short, so each runs in a transaction of its own, outside the group commit, and
 * is answered once the -wal file is flushed past it, as every write here is (wal-sync.ts). On a
 * full disk each is refused as Unavailable (disk-full.ts): a poll queue's SETs stay in the outbox,
 * whose dispatcher tries them again once space returns.
 */
import type Database from "better-sqlite3";
import { and, asc, count, eq, inArray, isNull, notInArray, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { ReceiverConfig, SsfStream, StreamStatus } from "../../domain/ssf/stream.js";
import { Batcher } from "../batcher.js";
import { configColumns, fromKeyRow, fromStreamRow, publishedOrder, queueDepthsOf, toKeyRow, toStreamRow, verificationDue } from "../ssf-rows.js";
import type { PendingVerification, QueuedSet, SsfStore, StoredSigningKey } from "../ssf-store.js";
import { ConflictError } from "../store.js";
import type { DiskSpell } from "./disk-full.js";
import * as schema from "./schema.js";
import type { WalSync } from "./wal-sync.js";

type Db = BetterSQLite3Database<typeof schema>;
const { ssfPollSets } = schema;

/** Whether a write failed on this unique column (Drizzle wraps the driver's error in its own). */
function isUniqueViolation(err: unknown, column: string): boolean {
  const cause = (err instanceof Error && err.cause instanceof Error ? err.cause : err) as { code?: string; message?: string };
  return cause.code === "SQLITE_CONSTRAINT_UNIQUE" && (cause.message ?? "").includes(column);
}

export class SqliteSsfStore implements SsfStore {
  /** The statements of every delivery and poll, prepared once (Drizzle builds its SQL on every call). */
  private readonly statements;
  /** The SETs queued for poll streams within one turn, written in one transaction (a commit each cost most of a delivery's writes). */
  private readonly queued = new Batcher<{ streamId: string; sets: readonly QueuedSet[]; at: Date }>(async (batches) => {
    this.spell.write(
      this.sqlite.transaction(() => {
        for (const { streamId, sets, at } of batches) {
          for (const { jti, kid, set } of sets) this.statements.queueSet.run(streamId, jti, kid, set, at.getTime());
        }
      }),
    );
  });

  constructor(
    private readonly sqlite: Database.Database,
    private readonly db: Db,
    private readonly wal: WalSync,
    private readonly spell: DiskSpell,
  ) {
    this.statements = {
      subjectEntries: sqlite.prepare<[string, string], { key: string; included: number }>(
        "select subject_key as key, included from ssf_subjects where stream_id = ? and subject_key in (select value from json_each(?))",
      ),
      queueSet: sqlite.prepare<[string, string, string, string, number]>(
        "insert into ssf_poll_sets (stream_id, jti, kid, \"set\", created_at) values (?, ?, ?, ?, ?) on conflict do nothing",
      ),
      queuedSets: sqlite.prepare<[string, number], { jti: string; set: string }>(
        "select jti, \"set\" from ssf_poll_sets where stream_id = ? and error is null order by id limit ?",
      ),
      ackSets: sqlite.prepare<[string, string]>("delete from ssf_poll_sets where stream_id = ? and jti in (select value from json_each(?))"),
    };
  }

  /** Answers only with what is on stable storage (see SqliteStore). */
  private async durable<T>(value: T): Promise<T> {
    await this.wal.pending();
    return value;
  }

  private async written<T>(value: T): Promise<T> {
    await this.wal.durable();
    return value;
  }

  async publishedKeys(): Promise<StoredSigningKey[]> {
    const rows = this.db.select().from(schema.ssfKeys).all();
    return this.durable(rows.sort(publishedOrder).map(fromKeyRow));
  }

  async addFirstKey(key: StoredSigningKey): Promise<boolean> {
    // The partial unique index lets one current key in; another is ignored.
    const { changes } = this.spell.write(() => this.db.insert(schema.ssfKeys).values(toKeyRow(key, true)).onConflictDoNothing().run());
    return changes > 0 ? this.written(true) : this.durable(false);
  }

  async rotateKey(key: StoredSigningKey, at: Date): Promise<void> {
    this.spell.write(
      this.sqlite.transaction(() => {
        this.db.update(schema.ssfKeys).set({ current: false, rotatedAt: at }).where(eq(schema.ssfKeys.current, true)).run();
        this.db.insert(schema.ssfKeys).values(toKeyRow(key, true)).run();
      }).immediate,
    );
    await this.wal.durable();
  }

  async retireKey(kid: string): Promise<"retired" | "current" | "waiting" | "unknown"> {
    const outcome = this.spell.write(this.sqlite.transaction(() => {
      const row = this.db.select({ current: schema.ssfKeys.current }).from(schema.ssfKeys).where(eq(schema.ssfKeys.kid, kid)).get();
      if (!row) return "unknown" as const;
      if (row.current) return "current" as const;
      if (this.db.select({ id: ssfPollSets.id }).from(ssfPollSets).where(and(eq(ssfPollSets.kid, kid), isNull(ssfPollSets.error))).limit(1).get()) {
        return "waiting" as const;
      }
      this.db.delete(schema.ssfKeys).where(eq(schema.ssfKeys.kid, kid)).run();
      return "retired" as const;
    }).immediate);
    return outcome === "retired" ? this.written(outcome) : this.durable(outcome);
  }

  async insertStream(stream: SsfStream): Promise<void> {
    try {
      this.spell.write(() => this.db.insert(schema.ssfStreams).values(toStreamRow(stream)).run());
    } catch (err) {
      if (isUniqueViolation(err, "ssf_streams.receiver_id")) throw new ConflictError("receiver");
      throw err;
    }
    await this.wal.durable();
  }

  async getStream(id: string): Promise<SsfStream | undefined> {
    const row = this.db.select().from(schema.ssfStreams).where(eq(schema.ssfStreams.id, id)).get();
    return this.durable(row && fromStreamRow(row));
  }

  async listStreams(receiverId?: string): Promise<SsfStream[]> {
    const rows = this.db
      .select()
      .from(schema.ssfStreams)
      .where(receiverId === undefined ? undefined : eq(schema.ssfStreams.receiverId, receiverId))
      .orderBy(asc(schema.ssfStreams.createdAt), asc(schema.ssfStreams.id))
      .all();
    return this.durable(rows.map(fromStreamRow));
  }

  async updateStreamConfig(id: string, config: ReceiverConfig & { eventsDelivered: string[] }, at: Date): Promise<boolean> {
    const { changes } = this.spell.write(() =>
      this.db
        .update(schema.ssfStreams)
        .set({ ...configColumns(config), updatedAt: at })
        .where(eq(schema.ssfStreams.id, id))
        .run(),
    );
    return this.written(changes > 0);
  }

  async setStreamStatus(id: string, status: StreamStatus, reason: string | undefined, at: Date): Promise<boolean> {
    const { changes } = this.spell.write(() =>
      this.db
        .update(schema.ssfStreams)
        .set({ status, statusReason: reason ?? null, updatedAt: at })
        .where(eq(schema.ssfStreams.id, id))
        .run(),
    );
    return this.written(changes > 0);
  }

  async deleteStream(id: string): Promise<boolean> {
    const deleted = this.spell.write(this.sqlite.transaction(() => {
      this.db.delete(schema.ssfSubjects).where(eq(schema.ssfSubjects.streamId, id)).run();
      this.db.delete(schema.ssfVerifications).where(eq(schema.ssfVerifications.streamId, id)).run();
      this.db.delete(ssfPollSets).where(eq(ssfPollSets.streamId, id)).run();
      return this.db.delete(schema.ssfStreams).where(eq(schema.ssfStreams.id, id)).run().changes > 0;
    }).immediate);
    return this.written(deleted);
  }

  async setSubject(streamId: string, subjectKey: string, included: boolean): Promise<void> {
    this.spell.write(() =>
      this.db
        .insert(schema.ssfSubjects)
        .values({ streamId, subjectKey, included })
        .onConflictDoUpdate({ target: [schema.ssfSubjects.streamId, schema.ssfSubjects.subjectKey], set: { included } })
        .run(),
    );
    await this.wal.durable();
  }

  async subjectEntries(streamId: string, subjectKeys: readonly string[]): Promise<Map<string, boolean>> {
    const rows = subjectKeys.length ? this.statements.subjectEntries.all(streamId, JSON.stringify(subjectKeys)) : [];
    return this.durable(new Map(rows.map((row) => [row.key, row.included === 1])));
  }

  async requestVerification(streamId: string, state: string | undefined, at: Date, notAfter: Date): Promise<boolean> {
    const recorded = this.spell.write(this.sqlite.transaction(() => {
      const { changes } = this.db
        .update(schema.ssfStreams)
        .set({ lastVerificationAt: at })
        .where(verificationDue(schema.ssfStreams, streamId, notAfter))
        .run();
      if (changes === 0) return false;
      this.db.insert(schema.ssfVerifications).values({ streamId, state: state ?? null, requestedAt: at }).run();
      return true;
    }).immediate);
    return recorded ? this.written(true) : this.durable(false);
  }

  /** A paused stream's verification requests wait until it is enabled (app/ssf/verifications.ts). */
  private pausedStreams() {
    return this.db.select({ id: schema.ssfStreams.id }).from(schema.ssfStreams).where(eq(schema.ssfStreams.status, "paused"));
  }

  async pendingVerifications(limit: number): Promise<PendingVerification[]> {
    const rows = this.db
        .select()
        .from(schema.ssfVerifications)
        .where(notInArray(schema.ssfVerifications.streamId, this.pausedStreams()))
        .orderBy(asc(schema.ssfVerifications.id))
        .limit(limit).all();
    return this.durable(rows.map(({ state, ...row }) => (state === null ? row : { ...row, state })));
  }

  async deleteVerification(id: number): Promise<void> {
    this.spell.write(() => this.db.delete(schema.ssfVerifications).where(eq(schema.ssfVerifications.id, id)).run());
    await this.wal.durable();
  }

  // The poll queue's writes wait for no fdatasync, as the outbox's do (sqlite-outbox.ts): one
  // lost in a crash is followed in the log by the outbox's, so the SET is queued or acknowledged again.

  async queueSets(streamId: string, sets: readonly QueuedSet[], at: Date): Promise<void> {
    if (sets.length > 0) await this.queued.add({ streamId, sets, at });
  }

  async queuedSets(streamId: string, limit: number): Promise<{ jti: string; set: string }[]> {
    return this.statements.queuedSets.all(streamId, limit);
  }

  async ackSets(streamId: string, jtis: readonly string[]): Promise<void> {
    if (jtis.length > 0) this.spell.write(() => this.statements.ackSets.run(streamId, JSON.stringify(jtis)));
  }

  async refuseSets(streamId: string, errors: ReadonlyMap<string, string>): Promise<void> {
    this.spell.write(
      this.sqlite.transaction(() => {
        for (const [jti, error] of errors) {
          this.db
            .update(ssfPollSets)
            .set({ error })
            .where(and(eq(ssfPollSets.streamId, streamId), eq(ssfPollSets.jti, jti)))
            .run();
        }
      }),
    );
  }

  async queueDepths(): Promise<Map<string, { queued: number; refused: number }>> {
    const rows = this.db
      .select({ streamId: ssfPollSets.streamId, refused: sql<number>`${ssfPollSets.error} is not null`, n: count() })
      .from(ssfPollSets)
      .groupBy(ssfPollSets.streamId, sql`${ssfPollSets.error} is not null`)
      .all();
    return queueDepthsOf(rows.map((row) => ({ ...row, refused: Boolean(row.refused) })));
  }
}
