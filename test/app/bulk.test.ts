/**
 * Bulk lock and unlock (app/bulk.ts): every user gets what its single call would answer alone, in
 * the order given, each change its own event and commit; a dry run answers the same and records
 * nothing; the end of a bulk lock is worked out once, before any user is looked at.
 */
import { describe, expect, it } from "vitest";
import { BulkChanges, type BulkOutcome, type BulkSelection } from "../../src/app/bulk.js";
import type { UserApp } from "../../src/app/user-app.js";
import { DomainError } from "../../src/domain/errors.js";
import type { LockEnd } from "../../src/domain/state-commands.js";
import type { Principal } from "../../src/domain/permissions.js";
import {
  ADMIN, after, at, given, humanAdded, locked, lockedByPolicy, lockedWithRecord, ORG, OTHER_ORG, OTHER_USER, SYSTEM, unlocked, USER,
  type World,
} from "../support/given.js";

const THIRD = "200000000000000003";
const FOREIGN = "200000000000000004";
const UNKNOWN = "299999999999999999";
const ORG_OWNER: Principal = { userId: "300000000000000010", orgId: ORG, grants: [{ role: "ORG_OWNER", orgId: ORG }] };
const VIEWER: Principal = { userId: "300000000000000011", orgId: ORG, grants: [{ role: "ORG_OWNER_VIEWER", orgId: ORG }] };

const bulkLock =
  (selection: BulkSelection, options: { by?: Principal; reason?: string; end?: LockEnd; dryRun?: boolean } = {}) =>
  (world: World) =>
    new BulkChanges(world.users).lock(selection, options.by ?? ORG_OWNER, { reason: options.reason ?? "", end: options.end }, { dryRun: options.dryRun });
const bulkUnlock =
  (selection: BulkSelection, options: { by?: Principal; dryRun?: boolean } = {}) =>
  (world: World) =>
    new BulkChanges(world.users).unlock(selection, options.by ?? ORG_OWNER, { dryRun: options.dryRun });

/** Each outcome as [user, sequence, organization] or [user, error kind, ZITADEL's id]. */
const summary = (outcomes: BulkOutcome[]) =>
  outcomes.map((o) => ("error" in o ? [o.userId, o.error.kind, o.error.id] : [o.userId, o.details.sequence, o.details.resourceOwner]));

/** Four users of ORG (THIRD locked, OTHER_USER with two events) and one of OTHER_ORG. */
const users = () => [
  humanAdded(),
  humanAdded({ id: OTHER_USER }),
  unlocked({ of: OTHER_USER }),
  humanAdded({ id: THIRD }),
  locked({ of: THIRD }),
  humanAdded({ id: FOREIGN, org: OTHER_ORG }),
];
const MIXED = { userIds: [UNKNOWN, USER, FOREIGN, THIRD, OTHER_USER] };

describe("a bulk lock", () => {
  it("answers each user as LockUser would alone, in the order given, and locks only those it may", async () => {
    const then = await given(users()).when(bulkLock(MIXED, { reason: "phished" }));
    expect(summary(then.result)).toEqual([
      [UNKNOWN, "NotFound", "COMMAND-450yxuqrh1"],
      [USER, 2, ORG],
      // The caller administers ORG only: a user of another organization does not exist for it.
      [FOREIGN, "NotFound", "COMMAND-450yxuqrh1"],
      [THIRD, "FailedPrecondition", "COMMAND-lgws8wtsqf"],
      [OTHER_USER, 3, ORG],
    ]);
    then.events(lockedWithRecord({ reason: "phished", by: ORG_OWNER }), lockedWithRecord({ of: OTHER_USER, reason: "phished", by: ORG_OWNER }));
    expect(then.commits, "each user's change commits on its own").toBe(2);
  });

  it("checks permissions per user: a viewer of the organization is denied, where it may lock itself", async () => {
    const then = await given(users(), humanAdded({ id: VIEWER.userId })).when(bulkLock({ userIds: [USER, VIEWER.userId] }, { by: VIEWER }));
    expect(summary(then.result)).toEqual([
      [USER, "PermissionDenied", "AUTH-AWfge"],
      [VIEWER.userId, 2, ORG],
    ]);
    then.events(lockedWithRecord({ of: VIEWER.userId, by: VIEWER }));
  });

  it("gives every user the same end, worked out once from the call however long the bulk takes", async () => {
    const then = await given(users()).when((world) => {
      // Every user's lock starts 10 s after the one before it.
      const lockUntil = world.users.lockUntil.bind(world.users);
      world.users.lockUntil = (...args) => (world.clock.advance(10), lockUntil(...args));
      return bulkLock({ userIds: [USER, OTHER_USER] }, { reason: "r", end: { inSeconds: 3600 } })(world);
    });
    then.events(lockedWithRecord({ reason: "r", until: at(3600), by: ORG_OWNER }), lockedWithRecord({ of: OTHER_USER, reason: "r", until: at(3600), by: ORG_OWNER }));
  });

  it("refuses an end in the past naming BulkLockUsersRequest's field, before any user is looked at", async () => {
    const refused = (end: LockEnd) => (world: World) => bulkLock({ userIds: [USER] }, { end })(world).catch((error: unknown) => error);
    for (const [end, field] of [[{ at: new Date(at(-1)) }, "ExpiresAt"], [{ inSeconds: 0 }, "Duration"]] as const) {
      const then = await given(users()).when(refused(end));
      expect(then.result).toBeInstanceOf(DomainError);
      expect(then.result).toMatchObject({ kind: "InvalidArgument", message: `invalid BulkLockUsersRequest.${field}: the lock must end in the future` });
      then.events();
    }
  });

  it("ends a lock whose time is up first, as LockUser does, then locks", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(600)).when(bulkLock({ userIds: [USER] }, { by: ADMIN }));
    expect(summary(then.result)).toEqual([[USER, 4, ORG]]);
    then.events(unlocked({ by: SYSTEM }), lockedWithRecord());
  });

  it("takes the users ListUsers answers the caller to a query, in its order", async () => {
    const query = { filters: [{ kind: "state", state: "active" } as const], sort: "userName" as const, asc: true, offset: 0, limit: 10 };
    const then = await given(users()).when(bulkLock({ query }));
    // By username; FOREIGN is active too, but not the caller's to read.
    expect(summary(then.result)).toEqual([
      [USER, 2, ORG],
      [OTHER_USER, 3, ORG],
    ]);
    then.events(lockedWithRecord({ by: ORG_OWNER }), lockedWithRecord({ of: OTHER_USER, by: ORG_OWNER }));
  });
});

describe("a bulk unlock", () => {
  it("answers each user as UnlockUser would alone, and unlocks only the locked ones it may", async () => {
    const then = await given(users(), locked({ of: FOREIGN })).when(bulkUnlock(MIXED));
    expect(summary(then.result)).toEqual([
      [UNKNOWN, "NotFound", "COMMAND-x377t913pw"],
      [USER, "FailedPrecondition", "COMMAND-olb9vb0oca"],
      [FOREIGN, "NotFound", "COMMAND-x377t913pw"],
      [THIRD, 3, ORG],
      [OTHER_USER, "FailedPrecondition", "COMMAND-olb9vb0oca"],
    ]);
    then.events(unlocked({ of: THIRD, by: ORG_OWNER }));
  });
});

describe("a dry run", () => {
  it("answers exactly what the bulk would, but the dates, and records nothing", async () => {
    for (const command of [bulkLock, bulkUnlock]) {
      const real = await given(users()).when(command(MIXED));
      const dry = await given(users()).when(command(MIXED, { dryRun: true }));
      expect(summary(dry.result)).toEqual(summary(real.result));
      dry.events();
    }
  });

  it("counts the unlock that a lock whose time is up would get first, and records neither", async () => {
    const expired = [humanAdded(), lockedByPolicy({ until: at(600) }), after(600)];
    const dryLock = await given(expired).when(bulkLock({ userIds: [USER] }, { by: ADMIN, dryRun: true }));
    expect(summary(dryLock.result)).toEqual([[USER, 4, ORG]]);
    dryLock.events();
    const dryUnlock = await given(expired).when(bulkUnlock({ userIds: [USER] }, { by: ADMIN, dryRun: true }));
    expect(summary(dryUnlock.result)).toEqual([[USER, "FailedPrecondition", "COMMAND-olb9vb0oca"]]);
    dryUnlock.events();
  });
});

describe("running the changes", () => {
  /** A stand-in for UserApp whose unlocks take `delays[id]` ms and count how many run at once. */
  function timedApp(delays: Record<string, number>, fail?: { id: string; error: Error }) {
    const seen = { running: 0, most: 0, started: [] as string[] };
    const app = {
      async changeState(_command: string, userId: string) {
        seen.started.push(userId);
        seen.most = Math.max(seen.most, ++seen.running);
        await new Promise((resolve) => setTimeout(resolve, delays[userId]));
        seen.running--;
        if (fail?.id === userId) throw fail.error;
        return { sequence: delays[userId]!, changeDate: new Date(0), resourceOwner: ORG };
      },
    };
    return { app: app as unknown as UserApp, seen };
  }
  const ids = ["a", "b", "c", "d", "e", "f", "g"];
  const delays = { a: 30, b: 5, c: 20, d: 1, e: 10, f: 2, g: 15 };

  it("runs at most `concurrency` at once and answers in the order given, whatever order they finish in", async () => {
    const { app, seen } = timedApp(delays);
    const outcomes = await new BulkChanges(app, 3).unlock({ userIds: ids }, ADMIN);
    expect(seen.most).toBe(3);
    expect(outcomes.map((o) => ["details" in o && o.details.sequence, o.userId])).toEqual(ids.map((id) => [delays[id as keyof typeof delays], id]));
  });

  it("fails the whole call on an error that is not a user's answer, starting nothing after it", async () => {
    const broken = new Error("disk I/O error");
    const { app, seen } = timedApp(delays, { id: "b", error: broken });
    await expect(new BulkChanges(app, 2).unlock({ userIds: ids }, ADMIN)).rejects.toBe(broken);
    // b fails while a still runs: nothing starts after it, and the call ends only once a has.
    expect(seen.running).toBe(0);
    expect(seen.started).toEqual(["a", "b"]);
  });

  it("keeps a user's domain error as that user's answer", async () => {
    const { app } = timedApp(delays, { id: "c", error: new DomainError("NotFound", "COMMAND-x377t913pw", "User could not be found") });
    const outcomes = await new BulkChanges(app, 2).unlock({ userIds: ids }, ADMIN);
    expect(outcomes.map((o) => ("error" in o ? o.error.id : "ok"))).toEqual(["ok", "ok", "COMMAND-x377t913pw", "ok", "ok", "ok", "ok"]);
  });
});
