/**
 * Whether any connection may have committed to a SQLite file in WAL mode since the last look,
 * from the wal-index header at the start of its -shm file: one pread, no lock. SQLite's
 * wal-index format (https://www.sqlite.org/walformat.html) keeps two copies of a 48-byte header
 * there, which every commit and every restart of the -wal file rewrites (its change counter
 * moves with each commit), the second copy first. SQLite maps that file shared, so a read of it
 * sees what every connection's last commit wrote.
 *
 * The look it spares, `PRAGMA data_version`, is a read transaction of its own (its locks'
 * system calls); under a read-only load that look was a tenth of a GetUserByID's CPU (bench/
 * FINDINGS.md, "what a second process of our own server gains"). So: when both copies are equal
 * and equal to the header the last look was made after, nothing committed since it, and the
 * look is skipped; otherwise (a commit, or a read that met a commit being written) it is made.
 * The -shm file stays the same file while this process's connection is open: SQLite removes it
 * only when the file's last connection closes.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";

const HEADER_BYTES = 48;

export class WalIndexPeek {
  private readonly read = Buffer.alloc(HEADER_BYTES * 2);
  /** The header as read just before the last look, if its two copies agreed then. */
  private readonly lookedAfter = Buffer.alloc(HEADER_BYTES);
  private looked = false;

  private constructor(private readonly fd: number) {}

  /** Undefined where the file has no -shm (not in WAL mode, in memory): then every look is made. */
  static open(databaseFile: string): WalIndexPeek | undefined {
    const shm = `${databaseFile}-shm`;
    return existsSync(shm) ? new WalIndexPeek(openSync(shm, "r")) : undefined;
  }

  /** False only when nothing can have committed since the last call that answered true. */
  changedSinceLastLook(): boolean {
    const n = readSync(this.fd, this.read, 0, this.read.length, 0);
    const header = this.read.subarray(0, HEADER_BYTES);
    const settled = n === this.read.length && header.equals(this.read.subarray(HEADER_BYTES));
    if (settled && this.looked && header.equals(this.lookedAfter)) return false;
    this.looked = settled;
    if (settled) header.copy(this.lookedAfter);
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
