/**
 * zus.user.v1.UserRecordService.LockUser (EXTENSIONS.md §1, lock with a reason and an end) over
 * each protocol and REST against a real server: what it records, that the server ends the lock
 * itself within a second of its end (actor SYSTEM), also across a restart, that an unlock by hand
 * ends it first, and InvalidArgument naming the field for bad input, with nothing changed.
 */
import { Code, createClient } from "@connectrpc/connect";
import { durationFromMs, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { LockCause, UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { PROTOCOLS, transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

const records = (protocol: Protocol, token = server.adminToken) => createClient(UserRecordService, transport(protocol, server.baseUrl, token));
const users = (protocol: Protocol, token = server.adminToken) => userClient(protocol, server.baseUrl, token);
const HOUR_MS = 3_600_000;

/** The user's newest events as [type, actor]. */
async function latest(protocol: Protocol, userId: string, count: number) {
  const { events } = await records(protocol).listUserEvents({ userId, pageSize: count });
  return events;
}

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("locks with a reason and an end, answers as LockUser does, and records both", async () => {
    const userId = await addHuman(users(protocol));
    const end = timestampFromDate(new Date(Date.now() + HOUR_MS));
    const { details } = await records(protocol).lockUser({ userId, reason: "phished, see ticket 42", end: { case: "expiresAt", value: end } });
    expect(details!.sequence).toBe(2n);
    expect((await users(protocol).getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
    const [locked] = await latest(protocol, userId, 1);
    expect(locked!.type).toBe("user.locked");
    expect(locked!.lock!.cause).toBe(LockCause.ADMIN);
    expect(locked!.lock!.reason).toBe("phished, see ticket 42");
    expect(timestampDate(locked!.lock!.expiresAt!)).toEqual(timestampDate(end));
    await expectZitadelError(records(protocol).lockUser({ userId, reason: "again" }), Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial");
  });

  it("takes the end as a duration, or none; an unlock by hand ends the lock before its end", async () => {
    const userId = await addHuman(users(protocol));
    await records(protocol).lockUser({ userId, end: { case: "duration", value: durationFromMs(HOUR_MS) } });
    const [timed] = await latest(protocol, userId, 1);
    const lasts = timestampDate(timed!.lock!.expiresAt!).getTime() - timestampDate(timed!.creationDate!).getTime();
    // The end is counted from when the call was checked, a few milliseconds before the event's time.
    expect(Math.abs(lasts - HOUR_MS)).toBeLessThan(100);
    expect(timed!.lock!.reason).toBe("");
    await users(protocol).unlockUser({ userId });
    await records(protocol).lockUser({ userId, reason: "until further notice" });
    const [open] = await latest(protocol, userId, 1);
    expect(open!.lock!.expiresAt).toBeUndefined();
  });

  it("refuses a reason over 500 characters and an end in the past, now or over a year ahead, naming the field, and changes nothing", async () => {
    const userId = await addHuman(users(protocol));
    const cases = [
      [{ reason: "x".repeat(501) }, "invalid LockUserRequest.Reason: value length must be between 0 and 500 runes, inclusive"],
      [{ end: { case: "duration", value: durationFromMs(0) } }, "invalid LockUserRequest.Duration: the lock must end in the future"],
      [{ end: { case: "duration", value: durationFromMs(366 * 24 * HOUR_MS) } }, "invalid LockUserRequest.Duration: the lock must end within a year"],
      [{ end: { case: "expiresAt", value: timestampFromDate(new Date(Date.now() - 1000)) } }, "invalid LockUserRequest.ExpiresAt: the lock must end in the future"],
    ] as const;
    for (const [fields, message] of cases) {
      const err = await expectCode(records(protocol).lockUser({ userId, ...fields }), Code.InvalidArgument);
      expect(err.rawMessage).toBe(message);
    }
    expect((await users(protocol).getUserByID({ userId })).details!.sequence).toBe(1n);
  });

  it("answers NotFound to a caller of another organization, as LockUser does", async () => {
    const stranger = await addMachine(server, await addOrg(server), "ORG_OWNER");
    const userId = await addHuman(users(protocol));
    await expectZitadelError(records(protocol, stranger.token).lockUser({ userId }), Code.NotFound, "COMMAND-450yxuqrh1", "User could not be found");
  });
});

describe("the end of a lock", () => {
  it("comes within a second of its time, by SYSTEM", async () => {
    const userId = await addHuman(users("grpc"));
    await records("grpc").lockUser({ userId, reason: "short", end: { case: "duration", value: durationFromMs(1500) } });
    const [locked] = await latest("grpc", userId, 1);
    const due = timestampDate(locked!.lock!.expiresAt!).getTime();
    // ListUsers reads the stored state and does not end a lock itself: only the sweep does.
    const state = async () =>
      (await users("grpc").listUsers({ queries: [{ query: { case: "inUserIdsQuery", value: { userIds: [userId] } } }] })).result[0]!.state;
    while ((await state()) === UserState.LOCKED && Date.now() < due + 5000) await new Promise((resolve) => setTimeout(resolve, 50));
    const [unlocked] = await latest("grpc", userId, 1);
    expect(unlocked!.type).toBe("user.unlocked");
    expect(unlocked!.actorId).toBe("SYSTEM");
    const late = timestampDate(unlocked!.creationDate!).getTime() - due;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1000);
  });

  it("that fell due while the server was down comes at start, before the first call is served", async () => {
    const userId = await addHuman(users("grpc"));
    await records("grpc").lockUser({ userId, end: { case: "duration", value: durationFromMs(1000) } });
    await server.restart(1500);
    const listed = await users("grpc").listUsers({ queries: [{ query: { case: "inUserIdsQuery", value: { userIds: [userId] } } }] });
    expect(listed.result[0]!.state).toBe(UserState.ACTIVE);
    const [unlocked] = await latest("grpc", userId, 1);
    expect([unlocked!.type, unlocked!.actorId]).toEqual(["user.unlocked", "SYSTEM"]);
  });
});

describe("over REST", () => {
  const post = (userId: string, body: unknown) =>
    fetch(`${server.baseUrl}/zus/v1/users/${userId}/lock`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("POST /zus/v1/users/{user_id}/lock takes the reason and the end in its body", async () => {
    const userId = await addHuman(users("connect-json"));
    const res = await post(userId, { reason: "from REST", duration: "3600s" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ details: { sequence: "2" } });
    const [locked] = await latest("connect-json", userId, 1);
    expect(locked!.lock!.reason).toBe("from REST");
    const again = await post(userId, {});
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 9, message: "User is not active or initial (COMMAND-lgws8wtsqf)" });
    const bad = await post(await addHuman(users("connect-json")), { duration: "-5s" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 3, message: "invalid LockUserRequest.Duration: the lock must end in the future" });
  });
});
