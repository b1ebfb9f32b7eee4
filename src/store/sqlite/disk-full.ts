/**
 * A full disk under the SQLite file. SQLite rolls back the transaction whose write found no
 * space (SQLITE_FULL, or SQLITE_IOERR where the write that failed was a file's growth: better-
 * sqlite3 does not tell which, so the free space of the file's filesystem decides), and the file
 * stays whole: once space is freed the next write can commit, so the store refuses writes as
 * Unavailable meanwhile and needs no restart. That is unlike a failed fdatasync (wal-sync.ts),
 * after which the page cache cannot be trusted and only a restart helps.
 *
 * A spell begins at the first write refused for want of space and ends at the first commit once
 * the filesystem shows room; the operator hears of each once, not of every refused call. The
 * store is unready meanwhile, until the filesystem shows room again.
 */
import { statfsSync } from "node:fs";
import { DomainError } from "../../domain/errors.js";

/** Below this much free space a failed write is taken for want of space: a few WAL frames' worth. */
export const ROOM_BYTES = 256 * 1024;

export const DISK_FULL = "The database's disk is full; writes are refused until space is freed";

const codeOf = (err: unknown): string => String((err as { code?: unknown } | undefined)?.code ?? "");

/** Whether the filesystem of `dir` has less than ROOM_BYTES free (for this process, root or not). */
export function noRoom(dir: string): boolean {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize < ROOM_BYTES;
  } catch {
    return false;
  }
}

/** Whether `err`, thrown by SQLite writing a file in `dir`, came of a full disk. */
export function isDiskFull(err: unknown, dir: string): boolean {
  const code = codeOf(err);
  return code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && noRoom(dir));
}

export interface DiskSpellEvents {
  /** The first write refused for want of space since the last commit. */
  began(): void;
  /** A commit after a spell. */
  ended(): void;
}

export class DiskSpell {
  private full = false;

  constructor(
    private readonly dir: string,
    private readonly events: DiskSpellEvents,
  ) {}

  /** What a write's failure is answered with: Unavailable if the disk is full, else the error itself. */
  refused(err: unknown): unknown {
    if (!isDiskFull(err, this.dir)) return err;
    if (!this.full) {
      this.full = true;
      this.events.began();
    }
    return new DomainError("Unavailable", undefined, DISK_FULL);
  }

  /**
   * A write committed: the spell is over once the filesystem shows room. While it shows none a
   * commit can still succeed (SQLite writes the -wal file from its start again once a checkpoint
   * has copied all of it), and the next write fail: one spell, not one per such commit.
   */
  committed(): void {
    if (!this.full || noRoom(this.dir)) return;
    this.full = false;
    this.events.ended();
  }

  /** For readiness: throws while the spell lasts and the filesystem still shows no room. */
  check(): void {
    if (this.full && noRoom(this.dir)) throw new DomainError("Unavailable", undefined, DISK_FULL);
  }

  /** Runs a write outside the group commit under the same rules. */
  write<T>(work: () => T): T {
    let result: T;
    try {
      result = work();
    } catch (err) {
      throw this.refused(err);
    }
    this.committed();
    return result;
  }
}
