/**
 * Group commit for SQLite: the writes that arrive in one turn of the event loop share one
 * transaction, each in a savepoint of its own (a write alone needs none), so one write's
 * failure rolls back only that write. Every caller is answered after the -wal file is
 * flushed past the COMMIT (WalSync), so nothing is acknowledged before it is on disk. The
 * transaction and its savepoints are better-sqlite3's own: their statements are prepared
 * once, where Drizzle's nested transactions prepare a SAVEPOINT and a RELEASE for every write.
 *
 * With other processes writing to the file (the workers of a cluster), another may hold SQLite's
 * write lock. SQLite's busy_timeout would wait for it sleeping on this thread, and the process
 * would serve nobody meanwhile; so there the BEGIN IMMEDIATE is tried without it, and a batch that
 * finds the lock taken is tried again a millisecond later, with the writes that arrived meanwhile,
 * while the event loop goes on. After as long as busy_timeout the batch is refused with its
 * SQLITE_BUSY (answered as Unavailable, rpc/errors.ts).
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

/** What a failed transaction is answered with, and what hears of the commits (disk-full.ts). */
export interface Refusals {
  /** The answer to a write that `err` kept from committing. */
  refused(err: unknown): unknown;
  committed(): void;
}

const asIs: Refusals = { refused: (err) => err, committed: () => undefined };

interface Pending<W> {
  work: (writer: W) => void;
  committed?: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How long a batch that found the write lock taken waits before it tries again. */
const BUSY_RETRY_MS = 1;

const isBusy = (err: unknown): boolean => /^SQLITE_BUSY/.test(String((err as { code?: unknown } | undefined)?.code ?? ""));

export class GroupCommit<W> {
  private pending: Pending<W>[] = [];
  /** Committed since start. */
  readonly counts: CommitCounts = { transactions: 0, writes: 0 };
  private readonly commitBatch: (batch: Pending<W>[]) => unknown[];
  /** Runs a batch's transaction: at once, or where others write, without sleeping for the lock. */
  private readonly begin: (batch: Pending<W>[]) => unknown[];
  /** The connection's busy_timeout (ms): how long a batch may wait for the write lock in all. */
  private readonly busyTimeoutMs: number;
  /** When the batch now waiting for the write lock first found it taken. */
  private busySince?: number;

  /** `writer` is what each write's work gets to write with (a Drizzle database on `sqlite`). */
  constructor(
    sqlite: Database.Database,
    writer: W,
    private readonly wal: WalSync,
    private readonly epilogue?: Epilogue<W>,
    /** Other processes write to the file too: wait for the write lock without blocking. */
    shared = false,
    private readonly refusals: Refusals = asIs,
  ) {
    this.busyTimeoutMs = Number(sqlite.pragma("busy_timeout", { simple: true }));
    // A PRAGMA that sets takes effect when prepared, so these are prepared each time (~16 µs a batch).
    this.begin = !shared
      ? (batch) => this.commitBatch(batch)
      : (batch) => {
          sqlite.pragma("busy_timeout = 0");
          try {
            return this.commitBatch(batch);
          } finally {
            sqlite.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
          }
        };
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
      outcomes = this.begin(batch);
    } catch (err) {
      this.epilogue?.discard();
      const now = Date.now();
      if (isBusy(err) && now - (this.busySince ??= now) < this.busyTimeoutMs) {
        // First in line again, ahead of what arrived since; those join the next try.
        this.pending = [...batch, ...this.pending];
        setTimeout(() => this.flush(), BUSY_RETRY_MS);
        return;
      }
      this.busySince = undefined;
      // Rolled back whole: every write of the batch gets the same answer, and the next batch starts afresh.
      const answer = this.refusals.refused(err);
      for (const { reject } of batch) reject(answer);
      return;
    }
    this.busySince = undefined;
    this.refusals.committed();
    const written: typeof batch = [];
    batch.forEach((entry, i) => (outcomes[i] === undefined ? written.push(entry) : entry.reject(this.refusals.refused(outcomes[i]))));
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
