/**
 * The changes of one SQLite transaction to user_counts, added up and written once before its
 * COMMIT: a batch of locks and unlocks in one organization moves the same two counts back and
 * forth, and writing each write's two changes was a large share of a lock's cost in the store
 * (bench/FINDINGS.md, "Earlier rounds", "Round of 2026-12-03, evening").
 */
import type { CountChange } from "../write-plan.js";

export class CountTally {
  private readonly net = new Map<string, CountChange>();

  /** Adds a write's changes; only once nothing of that write can fail any more. */
  add(changes: CountChange[]): void {
    for (const change of changes) {
      const key = `${change.orgId}\u0000${change.state}\u0000${change.type}\u0000${change.shard}`;
      const sum = this.net.get(key);
      if (sum) sum.delta += change.delta;
      else this.net.set(key, { ...change });
    }
  }

  /** Writes every count that changed on balance, with `bump`, and starts over. */
  write(bump: (change: CountChange) => void): void {
    const changes = [...this.net.values()];
    this.net.clear();
    for (const change of changes) if (change.delta !== 0) bump(change);
  }

  /** Forgets what was added: the transaction it was for did not commit. */
  discard(): void {
    this.net.clear();
  }
}
