/**
 * Bulk lock and unlock (EXTENSIONS.md §1): many users, each changed exactly as its single call
 * would change it alone (UserApp.lockUntil, UserApp.changeState) — its own permission check, its
 * own event, its own commit — so one user's failure changes nobody else. A dry run takes the
 * same path with nothing recorded.
 */
import { DomainError } from "../domain/errors.js";
import type { Principal } from "../domain/permissions.js";
import { lockEndsAt, type LockEnd } from "../domain/state-commands.js";
import type { ListUsersInput, UserApp } from "./user-app.js";
import type { ChangeDetails, DryRun } from "./user-events.js";

/** The users to change: ids as given, or those ListUsers would answer the caller. */
export type BulkSelection = { userIds: string[] } | { query: ListUsersInput };

/** What one user's single call would have answered: the change made (or, on a dry run, to be made), or its error. */
export type BulkOutcome = { userId: string } & ({ details: ChangeDetails } | { error: DomainError });

/**
 * Changes in flight at once. SQLite's group commit writes the commits that arrive in one turn of
 * the event loop in one transaction with one fdatasync, so the bulk's cost is about
 * ids / concurrency of those; PostgreSQL's pool queues what it cannot take. bench/README.md
 * (Bulk lock) has the figures this was chosen from.
 */
export const BULK_CONCURRENCY = 64;

export class BulkChanges {
  constructor(
    private readonly users: UserApp,
    private readonly concurrency = BULK_CONCURRENCY,
  ) {}

  async lock(selection: BulkSelection, caller: Principal, input: { reason: string; end?: LockEnd }, options: DryRun = {}): Promise<BulkOutcome[]> {
    // Checked before any user is looked at, and worked out once: every user's lock ends at the same time.
    const expiresAt = input.end && lockEndsAt(input.end, this.users.events.now(), "BulkLockUsersRequest");
    const record = { reason: input.reason, expiresAt };
    return this.each(await this.userIds(selection, caller), (userId) => this.users.lockUntil(userId, caller, record, options));
  }

  async unlock(selection: BulkSelection, caller: Principal, options: DryRun = {}): Promise<BulkOutcome[]> {
    return this.each(await this.userIds(selection, caller), (userId) => this.users.changeState("unlock", userId, caller, options));
  }

  private async userIds(selection: BulkSelection, caller: Principal): Promise<string[]> {
    if ("userIds" in selection) return selection.userIds;
    return (await this.users.listUsers(selection.query, caller)).users.map((user) => user.id);
  }

  /**
   * `change` for every id, `concurrency` at a time; the outcomes in the order of the ids. A
   * DomainError is that user's answer; anything else (the store failing) stops the bulk and fails
   * the call, as it fails a single call, once the changes under way have settled.
   */
  private async each(ids: string[], change: (userId: string) => Promise<ChangeDetails>): Promise<BulkOutcome[]> {
    const outcomes: BulkOutcome[] = new Array(ids.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (next < ids.length && !failure) {
        const userId = ids[next]!;
        const i = next++;
        try {
          outcomes[i] = { userId, details: await change(userId) };
        } catch (error) {
          if (error instanceof DomainError) outcomes[i] = { userId, error };
          else failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    if (failure) throw failure.error;
    return outcomes;
  }
}
