/**
 * Reading and writing users as events, shared by the user, sign-in and settings parts of
 * the app: load (ending a policy lock whose time is up), record, fold, commit.
 */
import { applyEvent, SYSTEM_ACTOR, type RecordedUserEvent, type UserEvent } from "../domain/events.js";
import { lockHasExpired } from "../domain/lockout.js";
import { userState, type User } from "../domain/user.js";
import { ConflictError, type UserCommit, type UserStore } from "../store/store.js";

/** What a change reports back: ZITADEL's object.v2.Details. */
export interface ChangeDetails {
  sequence: number;
  changeDate: Date;
  resourceOwner: string;
}

/** A change decided as it would be, and recorded only when `dryRun` is not set. */
export interface DryRun {
  dryRun?: boolean;
}

/** Where each event type is to be delivered (EXTENSIONS.md §2): destinations as the outbox names them. */
export interface DeliveryRoutes {
  destinationsFor(eventType: string): readonly string[];
}

export interface CommitHooks {
  /** Called after each commit (the watch hub and the dispatcher look then). */
  committed?: () => void;
  /** Deliveries to write with each commit's events. */
  routes?: DeliveryRoutes;
}

const MAX_ATTEMPTS = 20;

export class UserEvents {
  constructor(
    private readonly store: Pick<UserStore, "getUser" | "commitUser">,
    readonly now: () => Date,
    private readonly hooks: CommitHooks = {},
  ) {}

  /** The user as it is now: a lock whose time is up is ended (and recorded, but on a dry run) first. */
  async load(userId: string, options: DryRun = {}): Promise<User | undefined> {
    return this.retryOnConflict(async () => {
      const user = await this.store.getUser(userId);
      if (!user || !lockHasExpired(user, this.now())) return user;
      return (await this.commit(user, [{ type: "user.unlocked" }], SYSTEM_ACTOR, options)).user;
    });
  }

  /** Runs `attempt` again when another change to the same user (or, with "session", session) won the race. */
  async retryOnConflict<T>(attempt: () => Promise<T>, on: ConflictError["reason"] = "sequence"): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof ConflictError && err.reason === on) || n === MAX_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Records the events with their sequence, time and actor and folds them into the user.
   * A user who can no longer sign in (locked, inactive, deleted) loses every session.
   */
  prepare(user: User | undefined, events: UserEvent[], actor: string, newUserId?: string): UserCommit {
    const createdAt = this.now();
    const userId = user?.id ?? newUserId!;
    const base = user?.sequence ?? 0;
    const recorded: RecordedUserEvent[] = events.map((event, i) => ({ ...event, userId, sequence: base + i + 1, actor, createdAt }));
    const next = recorded.reduce<User | undefined>(applyEvent, user)!;
    const state = userState(next.flags);
    // One cause per commit: its deliveries share the id of its first event.
    const txn = `${userId}:${base + 1}`;
    const deliveries = recorded.flatMap((event) =>
      (this.hooks.routes?.destinationsFor(event.type) ?? []).map((destination) => ({ destination, sequence: event.sequence, txn })),
    );
    return { previous: user, events: recorded, user: next, endSessions: state !== "active" && state !== "initial", deliveries };
  }

  /** Prepares and commits; a dry run stops short of the store, with the same user and details. */
  async commit(
    user: User | undefined,
    events: UserEvent[],
    actor: string,
    extras: Pick<UserCommit, "session"> & { newUserId?: string } & DryRun = {},
  ): Promise<{ user: User; details: ChangeDetails }> {
    const commit = { ...this.prepare(user, events, actor, extras.newUserId), session: extras.session };
    if (!extras.dryRun) {
      await this.store.commitUser(commit);
      this.hooks.committed?.();
    }
    const next = commit.user;
    return { user: next, details: { sequence: next.sequence, changeDate: next.changedAt, resourceOwner: next.orgId } };
  }
}
