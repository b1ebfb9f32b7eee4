/**
 * A lock with an end, the policy's or an administrator's given one (UserApp.lockWithRecord), ends
 * when its time is up: the system records user.unlocked, when the user is next loaded or by the
 * sweep (UserApp.expireLocks). Other locks never expire.
 */
import { describe, expect, it } from "vitest";
import {
  ADMIN, after, at, given, humanAdded, locked, lockedByPolicy, lockedWithRecord, lockout, OTHER_USER, PASSWORD, passwordFailed, passwordSucceeded, signIn,
  SYSTEM, unlocked, USER, WRONG, type World,
} from "../support/given.js";

const getUser = (world: World) => world.users.getUser(USER, ADMIN);
const expireLocks = (world: World) => world.users.expireLocks();
const DAY = 24 * 3600;

describe("the lock the policy makes", () => {
  it("ends after the policy's lock duration, counted from the wrong password that locked", async () => {
    const then = await given(lockout(2, { lockDurationSeconds: 600 }), humanAdded(), passwordFailed(), after(100)).when(signIn(WRONG));
    then.events(passwordFailed(), lockedByPolicy({ until: at(700) }));
  });

  it("has no end without a lock duration", async () => {
    const then = await given(lockout(2), humanAdded(), passwordFailed()).when(signIn(WRONG));
    then.events(passwordFailed(), lockedByPolicy({ until: undefined }));
  });
});

describe("on load", () => {
  it("a policy lock still holds a second before its end", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(599)).when(getUser);
    then.events();
    expect(then.result.flags.locked).toBe(true);
  });

  it("a policy lock ends at its end, recorded as user.unlocked by the system", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(600)).when(getUser);
    then.events(unlocked({ by: SYSTEM }));
    expect(then.result.flags.locked).toBe(false);
  });

  it("a sign-in after the end is let in, and the count starts from zero", async () => {
    const right = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(601)).when(signIn(PASSWORD));
    right.events(unlocked({ by: SYSTEM }), passwordSucceeded());

    const wrong = await given(lockout(2), humanAdded(), passwordFailed(), lockedByPolicy({ until: at(600) }), after(601)).when(signIn(WRONG));
    wrong.error("InvalidArgument", "COMMAND-3M0fs", { failedAttempts: 1 });
    wrong.events(unlocked({ by: SYSTEM }), passwordFailed());
  });

  it("a sign-in before the end is refused", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(599)).when(signIn(PASSWORD));
    then.error("FailedPrecondition", "COMMAND-JLK35");
    then.events();
  });
});

describe("by the sweep", () => {
  it("ends the policy locks whose time is up, and only those", async () => {
    const then = await given(
      humanAdded(),
      lockedByPolicy({ until: at(600) }),
      humanAdded({ id: OTHER_USER }),
      lockedByPolicy({ of: OTHER_USER, until: at(900) }),
      after(600),
    ).when(expireLocks);
    expect(then.result).toBe(1);
    then.events(unlocked({ by: SYSTEM }));
  });

  it("finds nothing once a load has ended the lock", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(600)).when(async (world) => {
      await getUser(world);
      return expireLocks(world);
    });
    expect(then.result).toBe(0);
    then.events(unlocked({ by: SYSTEM }));
  });

  it("leaves the listed state LOCKED until it has run", async () => {
    const inStateLocked = { kind: "state", state: "locked" } as const;
    const list = (world: World) => world.users.listUsers({ filters: [inStateLocked], sort: "userName", asc: true, offset: 0, limit: 10 }, ADMIN);
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(600)).when(async (world) => {
      const before = (await list(world)).users.map((u) => u.id);
      await expireLocks(world);
      return { before, after: (await list(world)).users.map((u) => u.id) };
    });
    expect(then.result).toEqual({ before: [USER], after: [] });
  });
});

describe("an administrator's lock with an end", () => {
  const lockFor = (inSeconds: number) => (world: World) => world.users.lockWithRecord(USER, ADMIN, { reason: "phished", end: { inSeconds } });

  it("records its reason and its end, counted from the call", async () => {
    const then = await given(humanAdded(), after(100)).when(lockFor(3600));
    then.events(lockedWithRecord({ reason: "phished", until: at(3700) }));
  });

  it("ends at its end like the policy's, by the system, on load and by the sweep", async () => {
    const loaded = await given(humanAdded(), lockedWithRecord({ until: at(600) }), after(600)).when(getUser);
    loaded.events(unlocked({ by: SYSTEM }));
    const swept = await given(humanAdded(), lockedWithRecord({ until: at(600) }), after(599)).when(expireLocks);
    expect(swept.result).toBe(0);
    swept.events();
  });

  it("is refused with an end now or past, or over a year ahead, before the user is looked at", async () => {
    for (const seconds of [0, -1, 366 * DAY]) {
      const then = await given(humanAdded()).when(lockFor(seconds));
      then.error("InvalidArgument", undefined);
      then.events();
    }
  });
});

describe("locks that never expire", () => {
  it("an administrator's lock, whatever the policy's lock duration", async () => {
    const swept = await given(lockout(2, { lockDurationSeconds: 600 }), humanAdded(), locked(), after(10 * DAY)).when(expireLocks);
    expect(swept.result).toBe(0);
    swept.events();

    const loaded = await given(lockout(2, { lockDurationSeconds: 600 }), humanAdded(), locked(), after(10 * DAY)).when(getUser);
    loaded.events();
    expect(loaded.result.flags.locked).toBe(true);
  });

  it("an administrator's lock after an ended policy lock: it does not take the old end", async () => {
    const steps = [humanAdded(), lockedByPolicy({ until: at(600) }), unlocked(), locked(), after(3600)];
    const loaded = await given(steps).when(getUser);
    loaded.events();
    expect(loaded.result.flags.locked).toBe(true);
    expect((await given(steps).when(expireLocks)).result).toBe(0);
  });

  it("a policy lock without an end", async () => {
    const then = await given(humanAdded(), lockedByPolicy(), after(365 * DAY)).when(async (world) => [await expireLocks(world), await getUser(world)]);
    then.events();
    expect(then.result[0]).toBe(0);
    expect(then.result[1].flags.locked).toBe(true);
  });
});
