/** The write plan both backends execute: what a commit writes, decided without a database. */
import { describe, expect, it } from "vitest";
import { applyEvent, type RecordedUserEvent, type UserEvent } from "../src/domain/events.js";
import type { Session } from "../src/domain/sessions.js";
import { ConflictError } from "../src/store/store.js";
import { planUserCommit, sessionRowToStore } from "../src/store/write-plan.js";

const T0 = new Date("2025-01-02T03:04:05.678Z");
const T1 = new Date("2025-01-02T03:04:06.789Z");

const recorded = (sequence: number, event: UserEvent, createdAt = T0): RecordedUserEvent => ({
  ...event,
  userId: "u1",
  sequence,
  actor: "plan-test",
  createdAt,
});

const ADDED = { orgId: "o1", username: "robot", machine: { name: "R", description: "" } };
const added = recorded(1, { type: "user.machine.added", payload: ADDED });
const robot = applyEvent(undefined, added);

describe("planUserCommit", () => {
  it("a new user: the row is inserted, with its events, grants, token and one count", () => {
    const plan = planUserCommit(
      { events: [added], user: robot, grants: [{ role: "IAM_OWNER", orgId: null }], tokenHash: "h" },
      1,
    );
    expect(plan.update).toBeUndefined();
    expect(plan.user).toMatchObject({ id: "u1", orgId: "o1", username: "robot", usernameLower: "robot", state: "active", sequence: 1 });
    expect(plan.events).toEqual([
      { aggregateId: "u1", sequence: 1, type: "user.machine.added", payload: ADDED, actor: "plan-test", resourceOwner: "o1", createdAt: T0 },
    ]);
    expect(plan.grants).toEqual([{ userId: "u1", orgId: null, role: "IAM_OWNER" }]);
    expect(plan.token).toEqual({ hash: "h", userId: "u1", createdAt: robot.createdAt });
    expect(plan.counts).toEqual([{ orgId: "o1", state: "active", type: "machine", shard: 0, delta: 1 }]);
  });

  it("a lock: updates only the columns that changed, guarded by the previous sequence, and moves one count", () => {
    const lock = recorded(2, { type: "user.locked" }, T1);
    const plan = planUserCommit({ previous: robot, events: [lock], user: applyEvent(robot, lock), endSessions: true }, 16);
    expect(plan.update?.expectedSequence).toBe(1);
    expect([...plan.update!.columns].sort()).toEqual(["changedAt", "lockCause", "locked", "sequence", "state"]);
    expect(plan.endSessionsOf).toBe("u1");
    expect(plan.events.map((e) => [e.type, e.payload])).toEqual([["user.locked", null]]);
    // Both rows of the move in one order of states, on a shard chosen by the user id.
    expect(plan.counts.map((c) => [c.state, c.delta])).toEqual([
      ["active", -1],
      ["locked", 1],
    ]);
    expect(new Set(plan.counts.map((c) => c.shard)).size).toBe(1);
    expect(plan.counts[0]!.shard).toBeLessThan(16);
  });

  it("an equal date in another object is no change", () => {
    const failed = recorded(2, { type: "user.human.password.check.failed" }, T1);
    const previous = { ...robot, createdAt: new Date(robot.createdAt.getTime()) };
    const plan = planUserCommit({ previous, events: [failed], user: applyEvent(robot, failed) }, 1);
    expect(plan.update!.columns).not.toContain("createdAt");
    expect(plan.counts).toEqual([]);
  });
});

describe("sessionRowToStore", () => {
  const session: Session = { id: "s1", userId: "u1", orgId: "o1", sequence: 2, createdAt: T0, changedAt: T1, userCheckedAt: T0, terminated: false };

  it("keeps the stored token hash unless the write replaces it, and stores absent values as null", () => {
    expect(sessionRowToStore({ session, expectedSequence: 1 }, { sequence: 1, tokenHash: "old" })).toMatchObject({
      tokenHash: "old",
      passwordCheckedAt: null,
      expiresAt: null,
    });
    expect(sessionRowToStore({ session, expectedSequence: 1, tokenHash: "new" }, { sequence: 1, tokenHash: "old" }).tokenHash).toBe("new");
    expect(sessionRowToStore({ session: { ...session, sequence: 1 }, expectedSequence: 0, tokenHash: "t" }, undefined).tokenHash).toBe("t");
  });

  it("refuses a write decided on another version, or a creation over a stored session, as a session conflict", () => {
    const refusal = (expectedSequence: number, stored?: { sequence: number; tokenHash: string }) => {
      try {
        sessionRowToStore({ session, expectedSequence }, stored);
      } catch (err) {
        return err instanceof ConflictError ? err.reason : err;
      }
      return "stored";
    };
    expect(refusal(1, { sequence: 2, tokenHash: "x" })).toBe("session");
    expect(refusal(1)).toBe("session");
    expect(refusal(0, { sequence: 1, tokenHash: "x" })).toBe("session");
  });
});
