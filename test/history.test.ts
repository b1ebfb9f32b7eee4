/**
 * zus.user.v1.UserRecordService.ListUserEvents (EXTENSIONS.md §1, history) over each protocol and
 * REST against a real server: a user's events newest first with who caused them and what a lock
 * recorded, pages by token that stay put while events are added, NotFound for strangers, and
 * InvalidArgument naming the field for bad input.
 */
import { Code, createClient } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockCause, UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { PROTOCOLS, sessionClient, transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg, cli, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let orgId: string;
let owner: { userId: string; token: string };
beforeAll(async () => {
  server = await startServer();
  orgId = await addOrg(server);
  owner = await addMachine(server, orgId, "ORG_OWNER");
});
afterAll(() => server?.stop());

const records = (protocol: Protocol, token: string) => createClient(UserRecordService, transport(protocol, server.baseUrl, token));

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("lists a user's events newest first, with their actor, organization and lock details", async () => {
    const users = userClient(protocol, server.baseUrl, owner.token);
    const userId = await addHuman(users, { orgId });
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await users.deactivateUser({ userId });

    const { events, nextPageToken } = await records(protocol, owner.token).listUserEvents({ userId });
    expect(events.map((e) => [e.type, e.sequence])).toEqual([
      ["user.deactivated", 4n],
      ["user.unlocked", 3n],
      ["user.locked", 2n],
      ["user.human.added", 1n],
    ]);
    expect(nextPageToken).toBe("");
    for (const event of events) {
      expect(event.actorId).toBe(owner.userId);
      expect(event.resourceOwner).toBe(orgId);
      expect(Math.abs(timestampDate(event.creationDate!).getTime() - Date.now())).toBeLessThan(60_000);
    }
    expect(events[2]!.lock!.cause).toBe(LockCause.ADMIN);
    expect(events[2]!.lock!.expiresAt).toBeUndefined();
    expect(events.filter((e) => e.lock)).toHaveLength(1);
  });

  it("pages by token, and a page stays the same while newer events are added", async () => {
    const users = userClient(protocol, server.baseUrl, owner.token);
    const client = records(protocol, owner.token);
    const userId = await addHuman(users, { orgId });
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await users.lockUser({ userId });

    const first = await client.listUserEvents({ userId, pageSize: 2 });
    expect(first.events.map((e) => e.sequence)).toEqual([4n, 3n]);
    expect(first.nextPageToken).not.toBe("");
    await users.unlockUser({ userId });
    const second = await client.listUserEvents({ userId, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.events.map((e) => e.sequence)).toEqual([2n, 1n]);
    expect(second.nextPageToken).toBe("");
    expect((await client.listUserEvents({ userId, pageSize: 1 })).events.map((e) => e.type)).toEqual(["user.unlocked"]);
  });

  it("answers NotFound for a user of another organization and for no user, as GetUserByID does", async () => {
    const stranger = await addMachine(server, await addOrg(server), "ORG_OWNER");
    const userId = await addHuman(userClient(protocol, server.baseUrl, owner.token), { orgId });
    for (const id of [userId, "404404404"]) {
      await expectZitadelError(records(protocol, stranger.token).listUserEvents({ userId: id }), Code.NotFound, "QUERY-Dfbg2", "User could not be found");
    }
  });

  it("refuses a page size over 1000, a page token it did not give and an empty user id, naming the field", async () => {
    const client = records(protocol, owner.token);
    const userId = await addHuman(userClient(protocol, server.baseUrl, owner.token), { orgId });
    const cases = [
      [{ userId, pageSize: 1001 }, "invalid ListUserEventsRequest.PageSize: value must be less than or equal to 1000"],
      [{ userId, pageToken: "bm90LWEtdG9rZW4" }, "invalid ListUserEventsRequest.PageToken: not a page token this server gave"],
      [{ userId: "" }, "invalid ListUserEventsRequest.UserId: value length must be between 1 and 200 runes, inclusive"],
    ] as const;
    for (const [request, message] of cases) {
      const err = await expectCode(client.listUserEvents(request), Code.InvalidArgument);
      expect(err.rawMessage).toBe(message);
    }
    // A well-formed token beyond any sequence (on PostgreSQL past its integer column) is the first page.
    const beyond = Buffer.from("before:999999999999999").toString("base64url");
    expect((await client.listUserEvents({ userId, pageToken: beyond })).events.map((e) => e.sequence)).toEqual([1n]);
  });
});

describe("a lock by the lockout policy", () => {
  it("shows its cause and its end", async () => {
    const policy = await cli(server, "lockout", "set", "--org", orgId, "--max-password-attempts", "1", "--lock-duration", "10m");
    expect(policy.code).toBe(0);
    const userId = await addHuman(userClient("grpc", server.baseUrl, owner.token), { orgId });
    const checks = { user: { search: { case: "userId" as const, value: userId } }, password: { password: "not-the-Passw0rd!" } };
    await expectCode(sessionClient("grpc", server.baseUrl, server.adminToken).createSession({ checks }), Code.InvalidArgument);

    const [locked, failed] = (await records("grpc", owner.token).listUserEvents({ userId })).events;
    expect(failed!.type).toBe("user.human.password.check.failed");
    expect(locked!.type).toBe("user.locked");
    expect(locked!.lock!.cause).toBe(LockCause.LOCKOUT_POLICY);
    const end = timestampDate(locked!.lock!.expiresAt!).getTime() - timestampDate(locked!.creationDate!).getTime();
    // The end counts from the password check, a millisecond or so before the lock event's time.
    expect(Math.abs(end - 10 * 60 * 1000)).toBeLessThan(100);
    await cli(server, "lockout", "set", "--org", orgId, "--max-password-attempts", "0");
  });
});

describe("over REST", () => {
  const get = (path: string, token = owner.token) => fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it("GET /zus/v1/users/{user_id}/events with pageSize and pageToken as query parameters", async () => {
    const users = userClient("connect-json", server.baseUrl, owner.token);
    const userId = await addHuman(users, { orgId });
    await users.lockUser({ userId });
    const first = await get(`/zus/v1/users/${userId}/events?pageSize=1`);
    expect(first.status).toBe(200);
    const page = (await first.json()) as { events: { type: string; sequence: string; lock?: { cause: string } }[]; nextPageToken: string };
    expect(page.events).toEqual([expect.objectContaining({ type: "user.locked", sequence: "2", lock: { cause: "LOCK_CAUSE_ADMIN" } })]);
    const rest = (await (await get(`/zus/v1/users/${userId}/events?page_size=5&pageToken=${page.nextPageToken}`)).json()) as typeof page;
    expect(rest.events.map((e) => e.type)).toEqual(["user.human.added"]);
    expect(rest.nextPageToken ?? "").toBe("");
  });

  it("answers bad input and strangers in grpc-gateway's shape", async () => {
    const userId = await addHuman(userClient("connect-json", server.baseUrl, owner.token), { orgId });
    const tooMany = await get(`/zus/v1/users/${userId}/events?pageSize=1001`);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ code: 3, message: "invalid ListUserEventsRequest.PageSize: value must be less than or equal to 1000" });
    expect((await get(`/zus/v1/users/${userId}/events?pageSize=two`)).status).toBe(400);
    const stranger = await addMachine(server, await addOrg(server), "ORG_OWNER");
    const hidden = await get(`/zus/v1/users/${userId}/events`, stranger.token);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ code: 5, message: "User could not be found (QUERY-Dfbg2)" });
  });
});
