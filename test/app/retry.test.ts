/**
 * A command decided on a user that another change overtook: the store refuses its commit, and
 * the command is decided again on the latest user.
 */
import { describe, expect, it } from "vitest";
import {
  ADMIN, after, at, deactivated, given, humanAdded, locked, lockedByPolicy, lockout, meanwhile, OTHER_ADMIN, passwordFailed, signIn,
  unlocked, USER, WRONG, type World,
} from "../support/given.js";

const lock = (world: World) => world.users.changeState("lock", USER, ADMIN);

describe("a command that loses the race to another change of the user", () => {
  it("is retried on the latest user and succeeds", async () => {
    const then = await given(humanAdded(), meanwhile(passwordFailed())).when(lock);
    then.events(locked());
    expect(then.result.sequence, "after the added user and the other change").toBe(3);
  });

  it("is decided again: a lock that lost to a lock is refused as ZITADEL refuses it", async () => {
    const then = await given(humanAdded(), meanwhile(locked({ by: OTHER_ADMIN }))).when(lock);
    then.error("FailedPrecondition", "COMMAND-lgws8wtsqf");
    then.events();
  });

  it("is decided again: a lock that lost to a deactivation is refused", async () => {
    const then = await given(humanAdded(), meanwhile(deactivated({ by: OTHER_ADMIN }))).when(lock);
    then.error("FailedPrecondition", "COMMAND-lgws8wtsqf");
    then.events();
  });

  it("counts the wrong password that won the race too: the second of two locks under a policy of 2", async () => {
    const then = await given(lockout(2), humanAdded(), meanwhile(passwordFailed())).when(signIn(WRONG));
    then.error("InvalidArgument", "COMMAND-3M0fs", { failedAttempts: 2 });
    then.events(passwordFailed(), lockedByPolicy());
  });

  it("does not end a policy lock an administrator ended meanwhile", async () => {
    const then = await given(humanAdded(), lockedByPolicy({ until: at(600) }), after(600), meanwhile(unlocked())).when((world) =>
      world.users.getUser(USER, ADMIN),
    );
    then.events();
    expect(then.result.flags.locked).toBe(false);
  });
});

describe("two commands at once on one user", () => {
  it("two locks: one succeeds, the other gets ZITADEL's FailedPrecondition", async () => {
    const then = await given(humanAdded()).when((world) => Promise.allSettled([lock(world), lock(world)]));
    then.events(locked());
    const [first, second] = then.result as PromiseSettledResult<unknown>[];
    const outcomes = [first!.status, second!.status].sort();
    expect(outcomes).toEqual(["fulfilled", "rejected"]);
    const refused = [first, second].find((r) => r!.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-lgws8wtsqf" });
  });
});
