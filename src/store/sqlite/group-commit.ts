/**
 * Group commit for SQLite: the writes that arrive in one turn of the event loop share one
 * transaction, each in a savepoint of its own (a write alone needs none), so one write's
 * failure rolls back only that write. Every caller is answered after the -wal file is
 * flushed past the COMMIT (WalSync), so nothing is acknowledged before it is on disk. The
 * transaction and its savepoints are better-sqlite3's own: their statements are prepared
 * once, where Drizzle's nested transactions prepare a SAVEPOINT and a RELEASE for every write.
 */
import type Database from "better-sqlite3";
import type { CommitCounts } from "../store.js";
import type { WalSync } from "./wal-sync.js";

/** What every transaction ends with, made from what its writes left (the user counts). */
export interface Epilogue<W> {
  /** Runs inside the transaction, after its writes, before the COMMIT. */
  write(writer: W): void;
  /** The transaction did not commit: forget what its writes left. */
  discard(): void;
}

interface Pending<W> {
  work: (writer: W) => void;
  committed?: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<W> {
  private pending: Pending<W>[] = [];
  /** Committed since start. */
  readonly counts: CommitCounts = { transactions: 0, writes: 0 };
  private readonly commitBatch: (batch: Pending<W>[]) => unknown[];

  /** `writer` is what each write's work gets to write with (a Drizzle database on `sqlite`). */
  constructor(
    sqlite: Database.Database,
    writer: W,
    private readonly wal: WalSync,
    private readonly epilogue?: Epilogue<W>,
  ) {
    // Called inside a transaction, a better-sqlite3 transaction function runs in a savepoint.
    const inSavepoint = sqlite.transaction((work: (writer: W) => void) => work(writer));
    const writeAll = (batch: Pending<W>[]): unknown[] => {
      // A write alone in its transaction needs no savepoint: if it fails, the rollback of
      // the transaction undoes only it, and flush() rejects it with its error.
      if (batch.length === 1) {
        batch[0]!.work(writer);
        return [undefined];
      }
      return batch.map(({ work }) => {
        try {
          inSavepoint(work);
          return undefined;
        } catch (err) {
          // Some errors (a full disk, an I/O error) make SQLite roll back the whole
          // transaction, not only the savepoint: then nothing of the batch is written.
          if (!sqlite.inTransaction) throw err;
          return err ?? new Error("write failed");
        }
      });
    };
    this.commitBatch = sqlite.transaction((batch: Pending<W>[]) => {
      const outcomes = writeAll(batch);
      // If the epilogue fails, the whole transaction rolls back and every write of it is refused.
      epilogue?.write(writer);
      return outcomes;
    }).immediate;
  }

  /** `committed` runs right after the COMMIT, before any other JavaScript, if this write is in it. */
  write(work: (writer: W) => void, committed?: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ work, committed, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let outcomes: unknown[];
    try {
      outcomes = this.commitBatch(batch);
    } catch (err) {
      this.epilogue?.discard();
      for (const { reject } of batch) reject(err);
      return;
    }
    const written: typeof batch = [];
    batch.forEach((entry, i) => (outcomes[i] === undefined ? written.push(entry) : entry.reject(outcomes[i])));
    this.counts.transactions++;
    this.counts.writes += written.length;
    if (!written.length) return;
    for (const { committed } of written) committed?.();
    this.wal.durable().then(
      () => written.forEach(({ resolve }) => resolve()),
      (err: unknown) => written.forEach(({ reject }) => reject(err)),
    );
  }
}
