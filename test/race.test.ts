/**
 * Concurrent changes of one user: exactly one winner, a gapless event log, a read model that
 * agrees with it; concurrent wrong passwords each counted once.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsCheckErrorSchema, ErrorDetailSchema } from "../gen/zitadel/message_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { sessionClient, userClient, type Protocol } from "./support/clients.js";
import { query } from "./support/db.js";
import { addHuman, addMachine, addOrg, cli } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const N = 50;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

interface EventRow {
  sequence: number;
  type: string;
}

/** In the order they were appended (insertion id), not sorted by sequence: a gap or a duplicate shows. */
const eventsOf = (userId: string) =>
  query<EventRow>(server, "select sequence, type from events where aggregate_id = ? order by id", [userId]);

const lockedEventCount = async (userId: string) => {
  const [row] = await query<{ n: number | string }>(server, "select count(*) as n from events where aggregate_id = ? and type = 'user.locked'", [userId]);
  return Number(row!.n);
};

const userRow = async (userId: string) => {
  const [row] = await query<{ state: string; sequence: number; locked: number | boolean }>(server, "select state, sequence, locked from users where id = ?", [userId]);
  expect(row, `users row of ${userId}`).toBeDefined();
  return row!;
};

function expectGapless(events: EventRow[]) {
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
}

/** The error id carried in the ZITADEL ErrorDetail of a rejection. */
function errorId(reason: unknown): string | undefined {
  expect(reason).toBeInstanceOf(ConnectError);
  return (reason as ConnectError).findDetails(ErrorDetailSchema)[0]?.id;
}

describe.each<[Protocol, string]>([
  ["grpc", "one multiplexed HTTP/2 connection"],
  ["connect-json", "separate HTTP/1.1 requests"],
])("%s (%s)", (protocol) => {
  it(`${N} concurrent LockUser calls on one user: one success, ${N - 1} FailedPrecondition, one user.locked event`, async () => {
    const client = userClient(protocol, server.baseUrl, server.adminToken);
    const userId = await addHuman(client);

    const results = await Promise.allSettled(Array.from({ length: N }, () => client.lockUser({ userId })));

    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof client.lockUser>>> => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(N - 1);
    expect(won[0]!.value.details!.sequence).toBe(2n);
    for (const failure of lost) {
      const err = failure.reason as ConnectError;
      expect(Code[err.code]).toBe(Code[Code.FailedPrecondition]);
      expect(err.rawMessage).toBe("User is not active or initial (COMMAND-lgws8wtsqf)");
      expect(errorId(err)).toBe("COMMAND-lgws8wtsqf");
    }

    expect(await lockedEventCount(userId)).toBe(1);
    const events = await eventsOf(userId);
    expect(events).toHaveLength(2);
    expectGapless(events);
    expect(events.at(-1)!.type).toBe("user.locked");

    const row = await userRow(userId);
    expect(row.state).toBe("locked");
    expect(row.sequence).toBe(2);
    const read = await client.getUserByID({ userId });
    expect(read.user!.state).toBe(UserState.LOCKED);
    expect(read.details!.sequence).toBe(2n);
  });

  it(`${N} concurrent mixed LockUser/UnlockUser calls leave the read model consistent with the event log`, async () => {
    const client = userClient(protocol, server.baseUrl, server.adminToken);
    const userId = await addHuman(client);

    const calls = Array.from({ length: N }, (_, i) =>
      i % 2 === 0 ? client.lockUser({ userId }) : client.unlockUser({ userId }),
    );
    const results = await Promise.allSettled(calls);

    const successSequences: bigint[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") {
        successSequences.push(result.value.details!.sequence);
        return;
      }
      const err = result.reason as ConnectError;
      expect(Code[err.code]).toBe(Code[Code.FailedPrecondition]);
      expect(errorId(err)).toBe(i % 2 === 0 ? "COMMAND-lgws8wtsqf" : "COMMAND-olb9vb0oca");
    });
    expect(successSequences.length).toBeGreaterThanOrEqual(1);

    const events = await eventsOf(userId);
    expectGapless(events);
    // One event per success, on top of the creation event; each success reported its own event's sequence.
    expect(events).toHaveLength(successSequences.length + 1);
    expect([...successSequences].sort((a, b) => Number(a - b))).toEqual(events.slice(1).map((e) => BigInt(e.sequence)));
    // Lock and unlock strictly alternate in the log, starting with a lock.
    events.slice(1).forEach((event, i) => expect(event.type).toBe(i % 2 === 0 ? "user.locked" : "user.unlocked"));

    const row = await userRow(userId);
    const last = events.at(-1)!;
    expect(row.sequence).toBe(Math.max(...events.map((e) => e.sequence)));
    expect(row.sequence).toBe(last.sequence);
    const expectedState = last.type === "user.locked" ? "locked" : "active";
    expect(row.state).toBe(expectedState);
    expect(Boolean(row.locked)).toBe(expectedState === "locked");

    const read = await client.getUserByID({ userId });
    expect(read.user!.state).toBe(expectedState === "locked" ? UserState.LOCKED : UserState.ACTIVE);
    expect(read.details!.sequence).toBe(BigInt(last.sequence));
  });
});

describe("grpc (one multiplexed HTTP/2 connection)", () => {
  it("20 concurrent wrong passwords under a policy of 3: locked once, every failure counted once", async () => {
    const orgId = await addOrg(server);
    const policy = await cli(server, "lockout", "set", "--org", orgId, "--max-password-attempts", "3");
    expect(policy.code, policy.stderr).toBe(0);
    const login = await addMachine(server, orgId, "IAM_LOGIN_CLIENT");
    const userId = await addHuman(userClient("grpc", server.baseUrl, server.adminToken), { orgId });
    const sessions = sessionClient("grpc", server.baseUrl, login.token);
    const checks = { user: { search: { case: "userId" as const, value: userId } }, password: { password: "not-the-Passw0rd!" } };

    const results = await Promise.allSettled(Array.from({ length: 20 }, () => sessions.createSession({ checks })));

    const counted: number[] = [];
    for (const result of results) {
      expect(result.status, "no wrong password may succeed").toBe("rejected");
      const err = (result as PromiseRejectedResult).reason as ConnectError;
      if (err.code === Code.InvalidArgument) counted.push(err.findDetails(CredentialsCheckErrorSchema)[0]!.failedAttempts);
      else expect(errorId(err)).toBe("COMMAND-JLK35");
    }
    expect(counted.sort((a, b) => a - b)).toEqual([1, 2, 3]);
    const events = await eventsOf(userId);
    expectGapless(events);
    expect(events.map((e) => e.type)).toEqual([
      "user.human.added",
      "user.human.password.check.failed",
      "user.human.password.check.failed",
      "user.human.password.check.failed",
      "user.locked",
    ]);
  });
});
