/** The state machine of SPEC §3 as a pure function: every command from every state. */
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import { applyEvent, type RecordedUserEvent, type UserEvent } from "../../src/domain/events.js";
import type { Principal } from "../../src/domain/permissions.js";
import { decideStateChange, type StateCommand } from "../../src/domain/state-commands.js";
import { userState, type User, type UserState } from "../../src/domain/user.js";

const ORG = "100000000000000001";
const admin: Principal = { userId: "admin", orgId: ORG, grants: [{ role: "IAM_OWNER", orgId: null }] };

/** Replays commands on a new human user, as the app does: decide, then fold. */
function userAfter(commands: StateCommand[], options: { password: boolean }): User {
  let sequence = 0;
  const record = (event: UserEvent): RecordedUserEvent => ({
    ...event,
    userId: "u1",
    sequence: ++sequence,
    actor: admin.userId,
    createdAt: new Date(0),
  });
  let user = applyEvent(
    undefined,
    record({
      type: "user.human.added",
      payload: {
        orgId: ORG,
        username: "gigi",
        human: {
          profile: { givenName: "Gigi", familyName: "Giraffe" },
          email: "gigi@example.com",
          emailVerified: true,
          passwordHash: options.password ? "$scrypt$hash" : undefined,
          passwordChangeRequired: false,
        },
      },
    }),
  );
  for (const command of commands) user = applyEvent(user, record(decideStateChange(command, user, admin)));
  return user;
}

const ROUTES: Record<Exclude<UserState, "deleted">, { password: boolean; commands: StateCommand[] }> = {
  active: { password: true, commands: [] },
  initial: { password: false, commands: [] },
  locked: { password: true, commands: ["lock"] },
  inactive: { password: true, commands: ["deactivate"] },
};

type Outcome = UserState | string;
const EXPECTED: Record<StateCommand, Record<keyof typeof ROUTES, Outcome>> = {
  lock: { active: "locked", initial: "locked", locked: "COMMAND-lgws8wtsqf", inactive: "COMMAND-lgws8wtsqf" },
  unlock: { active: "COMMAND-olb9vb0oca", initial: "COMMAND-olb9vb0oca", locked: "active", inactive: "COMMAND-olb9vb0oca" },
  deactivate: { active: "inactive", initial: "COMMAND-gvx4kct9r2", locked: "inactive", inactive: "COMMAND-5gunjw0cd7" },
  reactivate: { active: "COMMAND-s5qqcz97hf", initial: "COMMAND-s5qqcz97hf", locked: "COMMAND-s5qqcz97hf", inactive: "active" },
  delete: { active: "deleted", initial: "deleted", locked: "deleted", inactive: "deleted" },
};

function outcome(command: StateCommand, from: keyof typeof ROUTES): Outcome {
  const route = ROUTES[from];
  try {
    return userState(userAfter([...route.commands, command], route).flags);
  } catch (err) {
    if (err instanceof DomainError) return err.id!;
    throw err;
  }
}

describe("state transitions", () => {
  for (const command of Object.keys(EXPECTED) as StateCommand[]) {
    for (const from of Object.keys(ROUTES) as (keyof typeof ROUTES)[]) {
      it(`${command} from ${from} → ${EXPECTED[command][from]}`, () => {
        expect(outcome(command, from)).toBe(EXPECTED[command][from]);
      });
    }
  }

  it("unlock returns an initial user to initial", () => {
    expect(userState(userAfter(["lock", "unlock"], { password: false }).flags)).toBe("initial");
  });

  it("deactivate and reactivate keep a lock", () => {
    const user = userAfter(["lock", "deactivate", "reactivate"], { password: true });
    expect(userState(user.flags)).toBe("locked");
    expect(userState(userAfter(["lock", "deactivate", "reactivate", "unlock"], { password: true }).flags)).toBe("active");
  });

  it("a deleted user is not found by any command", () => {
    const deleted = userAfter(["delete"], { password: true });
    for (const command of Object.keys(EXPECTED) as StateCommand[]) {
      expect(() => decideStateChange(command, deleted, admin)).toThrow(/User could not be found/);
    }
  });

  it("counts one event per change in the sequence", () => {
    expect(userAfter(["lock", "unlock", "deactivate"], { password: true }).sequence).toBe(4);
  });
});

describe("check order", () => {
  const locked = userAfter(["lock"], { password: true });
  const viewer = (orgId: string): Principal => ({ userId: "v", orgId, grants: [{ role: "ORG_OWNER_VIEWER", orgId }] });

  it("hides users of other organizations behind NotFound, before the state check", () => {
    expect(() => decideStateChange("lock", locked, viewer("other"))).toThrow(
      expect.objectContaining({ kind: "NotFound", id: "COMMAND-450yxuqrh1" }),
    );
  });

  it("checks the permission before the state", () => {
    expect(() => decideStateChange("lock", locked, viewer(ORG))).toThrow(
      expect.objectContaining({ kind: "PermissionDenied", id: "AUTH-AWfge" }),
    );
  });

  it("lets a caller lock itself without any permission", () => {
    const self = userAfter([], { password: true });
    const caller: Principal = { userId: self.id, orgId: ORG, grants: [] };
    expect(decideStateChange("lock", self, caller)).toEqual({ type: "user.locked" });
    expect(() => decideStateChange("unlock", userAfter(["lock"], { password: true }), caller)).toThrow(
      expect.objectContaining({ kind: "PermissionDenied" }),
    );
  });

  it("needs user.delete to delete", () => {
    const manager: Principal = { userId: "m", orgId: ORG, grants: [{ role: "ORG_USER_MANAGER", orgId: ORG }] };
    const user = userAfter([], { password: true });
    expect(decideStateChange("lock", user, manager)).toEqual({ type: "user.locked" });
    expect(() => decideStateChange("delete", user, manager)).toThrow(expect.objectContaining({ kind: "PermissionDenied" }));
  });
});
