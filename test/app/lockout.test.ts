/** The lockout rule: wrong passwords count, and the one that reaches the policy's maximum locks the user. */
import { describe, expect, it } from "vitest";
import {
  given, humanAdded, locked, lockedByPolicy, lockout, ORG, OTHER_ORG, PASSWORD, passwordFailed, passwordSucceeded, signIn, times, unlocked,
  WRONG,
} from "../support/given.js";

const INVALID = ["InvalidArgument", "COMMAND-3M0fs"] as const;

describe("wrong passwords under a policy of 3", () => {
  it("counts a wrong password and answers the count so far", async () => {
    const then = await given(lockout(3), humanAdded(), passwordFailed()).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 2 });
    then.events(passwordFailed());
  });

  it("locks at the third, in the same commit, with the policy as the cause", async () => {
    const then = await given(lockout(3), humanAdded(), times(2, passwordFailed)).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 3 });
    then.events(passwordFailed(), lockedByPolicy());
    expect(then.commits).toBe(1);
  });

  it("refuses even the right password of a locked user, and records nothing", async () => {
    const then = await given(lockout(3), humanAdded(), times(3, passwordFailed), lockedByPolicy()).when(signIn(PASSWORD));
    then.error("FailedPrecondition", "COMMAND-JLK35");
    then.events();
  });

  it("refuses a user without a password, and records nothing", async () => {
    const then = await given(lockout(3), humanAdded({ password: false })).when(signIn(WRONG));
    then.error("FailedPrecondition", "COMMAND-3nJ4t");
    then.events();
  });

  it("resets the count with the right password", async () => {
    const right = await given(lockout(3), humanAdded(), times(2, passwordFailed)).when(signIn(PASSWORD));
    right.events(passwordSucceeded());
    expect(right.result.sessionId).toMatch(/^\d+$/);

    const wrongAfterRight = await given(lockout(3), humanAdded(), times(2, passwordFailed), passwordSucceeded()).when(signIn(WRONG));
    wrongAfterRight.error(...INVALID, { failedAttempts: 1 });
    wrongAfterRight.events(passwordFailed());
  });

  it("starts the count again after an unlock", async () => {
    const then = await given(lockout(3), humanAdded(), times(3, passwordFailed), lockedByPolicy(), unlocked()).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 1 });
    then.events(passwordFailed());
  });

  it("lets the right password in after an unlock", async () => {
    const then = await given(lockout(3), humanAdded(), times(3, passwordFailed), lockedByPolicy(), unlocked()).when(signIn(PASSWORD));
    then.events(passwordSucceeded());
  });

  it("refuses the right password of a user an administrator locked", async () => {
    const then = await given(lockout(3), humanAdded(), locked()).when(signIn(PASSWORD));
    then.error("FailedPrecondition", "COMMAND-JLK35");
    then.events();
  });
});

describe("lockout disabled", () => {
  it("with 0, counts but never locks", async () => {
    const then = await given(lockout(0), humanAdded(), times(10, passwordFailed)).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 11 });
    then.events(passwordFailed());
  });

  it("without any policy, counts but never locks", async () => {
    const then = await given(humanAdded(), times(10, passwordFailed)).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 11 });
    then.events(passwordFailed());
  });

  it("with 1, the first wrong password locks", async () => {
    const then = await given(lockout(1), humanAdded()).when(signIn(WRONG));
    then.error(...INVALID, { failedAttempts: 1 });
    then.events(passwordFailed(), lockedByPolicy());
  });
});

describe("an organization's policy over the instance's", () => {
  it("applies the organization's own maximum, not the instance's", async () => {
    const below = await given(lockout(2), lockout(4, { org: ORG }), humanAdded(), passwordFailed()).when(signIn(WRONG));
    below.events(passwordFailed());

    const at = await given(lockout(2), lockout(4, { org: ORG }), humanAdded(), times(3, passwordFailed)).when(signIn(WRONG));
    at.events(passwordFailed(), lockedByPolicy());
  });

  it("applies the organization's 0 (never) over the instance's maximum", async () => {
    const then = await given(lockout(2), lockout(0, { org: ORG }), humanAdded(), times(4, passwordFailed)).when(signIn(WRONG));
    then.events(passwordFailed());
  });

  it("falls back to the instance's policy in an organization without its own", async () => {
    const then = await given(lockout(2), lockout(4, { org: OTHER_ORG }), humanAdded(), passwordFailed()).when(signIn(WRONG));
    then.events(passwordFailed(), lockedByPolicy());
  });
});
