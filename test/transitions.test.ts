/**
 * Every row of SPEC §3's transition table through the real server:
 * the resulting state, details.sequence (+1 per change), and exactly one event row in the
 * database per successful call (none for a refused one), recorded with the admin as actor.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient, type UserClient } from "./support/clients.js";
import { eventsOf as storedEventsOf, query, type EventRow } from "./support/db.js";
import { addHuman, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

type Command = "lock" | "unlock" | "deactivate" | "reactivate" | "delete";

let server: TestServer;
let adminId: string;

beforeAll(async () => {
  server = await startServer();
  const admin = await query<{ id: string }>(server, "SELECT id FROM users WHERE username = ?", ["admin"]);
  expect(admin).toHaveLength(1);
  adminId = admin[0]!.id;
});
afterAll(async () => {
  await server?.stop();
});

const eventsOf = (userId: string): Promise<EventRow[]> => storedEventsOf(server, userId);

const EVENT_OF: Record<Command, string> = {
  lock: "user.locked",
  unlock: "user.unlocked",
  deactivate: "user.deactivated",
  reactivate: "user.reactivated",
  delete: "user.removed",
};

const NOT_FOUND_ID: Record<Command, string> = {
  lock: "COMMAND-450yxuqrh1",
  unlock: "COMMAND-x377t913pw",
  deactivate: "COMMAND-5gp2p62iin",
  reactivate: "COMMAND-9hy5kzbuk6",
  delete: "COMMAND-bd4ir1mblj",
};

const COMMANDS = Object.keys(EVENT_OF) as Command[];

function call(client: UserClient, command: Command, userId: string) {
  switch (command) {
    case "lock":
      return client.lockUser({ userId });
    case "unlock":
      return client.unlockUser({ userId });
    case "deactivate":
      return client.deactivateUser({ userId });
    case "reactivate":
      return client.reactivateUser({ userId });
    case "delete":
      return client.deleteUser({ userId });
  }
}

/** Starting points: how to get a user into each state, and the public state that results. */
const SETUPS = {
  ACTIVE: { password: true, steps: [], state: UserState.ACTIVE },
  INITIAL: { password: false, steps: [], state: UserState.INITIAL },
  LOCKED: { password: true, steps: ["lock"], state: UserState.LOCKED },
  "LOCKED (was INITIAL)": { password: false, steps: ["lock"], state: UserState.LOCKED },
  INACTIVE: { password: true, steps: ["deactivate"], state: UserState.INACTIVE },
  "INACTIVE (was LOCKED)": { password: true, steps: ["lock", "deactivate"], state: UserState.INACTIVE },
} satisfies Record<string, { password: boolean; steps: Command[]; state: UserState }>;
type Setup = keyof typeof SETUPS;
const ALL_SETUPS = Object.keys(SETUPS) as Setup[];

const SUCCESSES: [Command, Setup, UserState | "deleted"][] = [
  ["lock", "ACTIVE", UserState.LOCKED],
  ["lock", "INITIAL", UserState.LOCKED],
  ["unlock", "LOCKED", UserState.ACTIVE],
  ["unlock", "LOCKED (was INITIAL)", UserState.INITIAL],
  ["deactivate", "ACTIVE", UserState.INACTIVE],
  ["deactivate", "LOCKED", UserState.INACTIVE],
  ["deactivate", "LOCKED (was INITIAL)", UserState.INACTIVE],
  ["reactivate", "INACTIVE", UserState.ACTIVE],
  ["reactivate", "INACTIVE (was LOCKED)", UserState.LOCKED],
  ...ALL_SETUPS.map((setup): [Command, Setup, "deleted"] => ["delete", setup, "deleted"]),
];

const NOT_ACTIVE_OR_INITIAL = ["COMMAND-lgws8wtsqf", "User is not active or initial"] as const;
const NOT_LOCKED = ["COMMAND-olb9vb0oca", "User is not locked"] as const;
const INITIAL_NO_DEACTIVATE = ["COMMAND-gvx4kct9r2", "User with state initial can only be deleted not deactivated"] as const;
const ALREADY_INACTIVE = ["COMMAND-5gunjw0cd7", "User already inactive"] as const;
const NOT_INACTIVE = ["COMMAND-s5qqcz97hf", "User is not inactive"] as const;

const REFUSALS: [Command, Setup, readonly [string, string]][] = [
  ["lock", "LOCKED", NOT_ACTIVE_OR_INITIAL],
  ["lock", "LOCKED (was INITIAL)", NOT_ACTIVE_OR_INITIAL],
  ["lock", "INACTIVE", NOT_ACTIVE_OR_INITIAL],
  ["lock", "INACTIVE (was LOCKED)", NOT_ACTIVE_OR_INITIAL],
  ["unlock", "ACTIVE", NOT_LOCKED],
  ["unlock", "INITIAL", NOT_LOCKED],
  ["unlock", "INACTIVE", NOT_LOCKED],
  ["unlock", "INACTIVE (was LOCKED)", NOT_LOCKED],
  ["deactivate", "INITIAL", INITIAL_NO_DEACTIVATE],
  ["deactivate", "INACTIVE", ALREADY_INACTIVE],
  ["deactivate", "INACTIVE (was LOCKED)", ALREADY_INACTIVE],
  ["reactivate", "ACTIVE", NOT_INACTIVE],
  ["reactivate", "INITIAL", NOT_INACTIVE],
  ["reactivate", "LOCKED", NOT_INACTIVE],
  ["reactivate", "LOCKED (was INITIAL)", NOT_INACTIVE],
];

/**
 * The table once, over gRPC: the rules are the app's and the protocols answer them alike. Each
 * protocol's own calls, details and errors: test/lifecycle.test.ts.
 */
describe("over grpc", () => {
  const client = () => userClient("grpc", server.baseUrl, server.adminToken);

  /** Creates a user in the given starting state and checks how it got there. */
  async function userIn(setup: Setup): Promise<{ userId: string; orgId: string; sequence: bigint }> {
    const c = client();
    const { password, steps, state } = SETUPS[setup];
    const userId = await addHuman(c, { password });
    for (const step of steps) await call(c, step, userId);
    const read = await c.getUserByID({ userId });
    expect(UserState[read.user!.state]).toBe(UserState[state]);
    expect(read.details!.sequence).toBe(BigInt(1 + steps.length));
    expect((await eventsOf(userId)).map((e) => e.type)).toEqual(["user.human.added", ...steps.map((s) => EVENT_OF[s])]);
    return { userId, orgId: read.details!.resourceOwner, sequence: read.details!.sequence };
  }

  it.each(SUCCESSES)("%s from %s → %s", async (command, setup, expected) => {
    const c = client();
    const { userId, orgId, sequence } = await userIn(setup);
    const before = await eventsOf(userId);

    const res = await call(c, command, userId);
    expect(res.details!.sequence).toBe(sequence + 1n);
    expect(res.details!.resourceOwner).toBe(orgId);
    expect(res.details!.changeDate).toEqual(res.details!.creationDate);

    const after = await eventsOf(userId);
    expect(after).toHaveLength(before.length + 1);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.at(-1)).toEqual({
      sequence: Number(sequence + 1n),
      type: EVENT_OF[command],
      actor: adminId,
      resourceOwner: orgId,
    });

    if (expected === "deleted") {
      await expectCode(c.getUserByID({ userId }), Code.NotFound);
    } else {
      const read = await c.getUserByID({ userId });
      expect(UserState[read.user!.state]).toBe(UserState[expected]);
      expect(read.details!.sequence).toBe(sequence + 1n);
    }
  });

  it.each(REFUSALS)("%s from %s is refused", async (command, setup, [id, text]) => {
    const c = client();
    const { userId, sequence } = await userIn(setup);
    const before = await eventsOf(userId);

    await expectZitadelError(call(c, command, userId), Code.FailedPrecondition, id, text);

    expect(await eventsOf(userId)).toEqual(before);
    const read = await c.getUserByID({ userId });
    expect(UserState[read.user!.state]).toBe(UserState[SETUPS[setup].state]);
    expect(read.details!.sequence).toBe(sequence);
  });

  it.each(ALL_SETUPS)("a user deleted from %s is invisible and NotFound for every call", async (setup) => {
    const c = client();
    const { userId, orgId, sequence } = await userIn(setup);
    const { username } = (await c.getUserByID({ userId })).user!;
    const deleted = await c.deleteUser({ userId });
    expect(deleted.details!.sequence).toBe(sequence + 1n);
    const events = await eventsOf(userId);
    expect(events.filter((e) => e.type === "user.removed")).toHaveLength(1);

    await expectCode(c.getUserByID({ userId }), Code.NotFound);
    const byId = await c.listUsers({ queries: [{ query: { case: "inUserIdsQuery", value: { userIds: [userId] } } }] });
    expect(byId.result).toEqual([]);
    expect(byId.details!.totalResult).toBe(0n);
    const byName = await c.listUsers({
      queries: [
        { query: { case: "organizationIdQuery", value: { organizationId: orgId } } },
        { query: { case: "userNameQuery", value: { userName: username } } },
      ],
    });
    expect(byName.result).toEqual([]);
    expect(byName.details!.totalResult).toBe(0n);

    for (const command of COMMANDS) {
      await expectZitadelError(call(c, command, userId), Code.NotFound, NOT_FOUND_ID[command], "User could not be found");
    }
    expect(await eventsOf(userId)).toEqual(events);
  });
});
