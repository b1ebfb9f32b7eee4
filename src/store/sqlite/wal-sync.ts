/**
 * Durability of SQLite commits without blocking the event loop.
 *
 * SQLite runs with `synchronous = NORMAL` in WAL mode: a COMMIT writes its frames to the
 * -wal file (the operating system's cache) and returns without fsync. Before a write is
 * acknowledged, this flushes the -wal file with an fdatasync on libuv's thread pool, so
 * the main thread keeps serving calls while the disk works. Every commit waits for an
 * fdatasync that started after its COMMIT returned; one fdatasync covers every commit
 * written before it started, so concurrent writers share it.
 *
 * Why this keeps every acknowledged commit through a power loss: fsync applies to the file,
 * not the descriptor, so flushing our own descriptor of the -wal file persists the frames
 * SQLite wrote through its own; recovery replays every frame up to the last intact commit.
 * The -wal file keeps its inode while the server's connection is open (SQLite deletes it
 * only when the last connection closes).
 *
 * A failed fdatasync is final: after it the kernel may have dropped the unwritten pages, so
 * what SQLite sees is no longer known to be on disk. Every later write is refused and the
 * store reports itself unready until the server restarts and SQLite recovers from the file.
 */
import { close, fdatasync, openSync } from "node:fs";

export class WalSync {
  /** The fdatasync running now; it covers only commits written before it started. */
  private running: Promise<void> | undefined;
  /** The fdatasync that starts when `running` ends, for commits written since it started. */
  private next: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Asked for by durableSoon(): the next durable() call's flush, or one of its own a turn later. */
  private soon: { promise: Promise<void>; settle: (flushed: Promise<void>) => void } | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  /** Resolves once everything committed before this call is on stable storage. */
  durable(): Promise<void> {
    const flushed = this.failure ? Promise.reject(this.failure) : this.flushFromNow();
    this.soon?.settle(flushed);
    this.soon = undefined;
    return flushed;
  }

  private flushFromNow(): Promise<void> {
    if (!this.running) return (this.running = this.start());
    return (this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    ));
  }

  /**
   * Like durable(), for commits of other connections that a read has just seen: the flush may wait
   * for the group commit of this turn (whose flush covers them too, having started after them)
   * instead of starting one of its own now; if this turn commits nothing, it starts in the next.
   */
  durableSoon(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.soon) return this.soon.promise;
    let settle!: (flushed: Promise<void>) => void;
    const promise = new Promise<void>((resolve, reject) => (settle = (flushed) => flushed.then(resolve, reject)));
    const soon = (this.soon = { promise, settle });
    // The group commit's flush runs in this turn's check phase (setImmediate); this runs after it.
    setImmediate(() => setImmediate(() => this.soon === soon && this.durable().catch(() => undefined)));
    return promise;
  }

  /** What is committed but not yet durable, if anything: readers wait for it (see the store). */
  pending(): Promise<void> | undefined {
    // A flush asked for by durableSoon() starts after any running one ends: it covers them all.
    return this.soon?.promise ?? this.next ?? this.running;
  }

  /** Set once an fdatasync failed. */
  get failed(): Error | undefined {
    return this.failure;
  }

  private startNext(): Promise<void> {
    this.next = undefined;
    // After a failure a later fdatasync can succeed although pages were dropped: never trust it.
    if (this.failure) return Promise.reject(this.failure);
    return (this.running = this.start());
  }

  private start(): Promise<void> {
    const flushing = this.flush();
    const done = () => {
      if (this.running === flushing) this.running = undefined;
    };
    flushing.then(done, (err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error("fdatasync failed");
      done();
    });
    return flushing;
  }
}

/** fdatasync of `file` (the -wal file) through a descriptor of our own, off the main thread. */
export function walFlusher(file: string): { flush: () => Promise<void>; close: () => void } {
  const fd = openSync(file, "r");
  return {
    flush: () => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    close: () => close(fd, () => undefined),
  };
}
